//! An operator's breached-password file: the SHA-1 download of Have I Been
//! Pwned's Pwned Passwords (`HASH:COUNT` lines, upper-case hex, sorted by
//! hash). Looked up by binary search with positioned reads: a lookup reads a
//! few hundred bytes per step (about 30 steps for a billion lines) and never
//! loads the file.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;

use sha1::{Digest, Sha1};

const HASH_HEX: usize = 40;
/// Longer than any line of the format (hash, colon, count, CR LF).
const CHUNK: usize = 128;

pub struct List {
    file: File,
    len: u64,
}

impl std::fmt::Debug for List {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "breached::List({} bytes)", self.len)
    }
}

impl List {
    /// Opens the file and checks that its first line has the format.
    pub fn open(path: &Path) -> io::Result<List> {
        let file = File::open(path)?;
        let len = file.metadata()?.len();
        let list = List { file, len };
        let (first, _) = list.line_at(0)?;
        let well_formed = first.len() > HASH_HEX
            && first[..HASH_HEX].iter().all(u8::is_ascii_hexdigit)
            && first[HASH_HEX] == b':';
        if !well_formed {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "not a Pwned Passwords SHA-1 file: lines must read HASH:COUNT, sorted by hash",
            ));
        }
        Ok(list)
    }

    /// Whether `password`'s SHA-1 is in the file.
    pub fn contains(&self, password: &str) -> io::Result<bool> {
        let digest = Sha1::digest(password.as_bytes());
        let hex = data_encoding::HEXUPPER.encode(&digest);
        self.contains_hash(hex.as_bytes())
    }

    fn contains_hash(&self, target: &[u8]) -> io::Result<bool> {
        // `lo` is always the start of a line; the answer, if any, is a line
        // starting in [lo, hi).
        let (mut lo, mut hi) = (0u64, self.len);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let start = self.line_start_at_or_after(mid)?;
            if start >= hi {
                hi = mid;
                continue;
            }
            let (line, next) = self.line_at(start)?;
            let key = &line[..line.len().min(HASH_HEX)];
            match key.to_ascii_uppercase().as_slice().cmp(target) {
                std::cmp::Ordering::Equal => return Ok(true),
                std::cmp::Ordering::Less => lo = next,
                std::cmp::Ordering::Greater => hi = start,
            }
        }
        Ok(false)
    }

    /// The first position at or after `pos` that starts a line (or the end).
    fn line_start_at_or_after(&self, pos: u64) -> io::Result<u64> {
        if pos == 0 {
            return Ok(0);
        }
        let mut at = pos - 1;
        let mut buf = [0u8; CHUNK];
        while at < self.len {
            let n = self.file.read_at(&mut buf, at)?;
            if n == 0 {
                break;
            }
            if let Some(i) = buf[..n].iter().position(|&b| b == b'\n') {
                return Ok(at + i as u64 + 1);
            }
            at += n as u64;
        }
        Ok(self.len)
    }

    /// The line starting at `start` without its CR LF (at most `CHUNK`
    /// bytes), and where the next line starts.
    fn line_at(&self, start: u64) -> io::Result<(Vec<u8>, u64)> {
        let mut buf = [0u8; CHUNK];
        let n = self.file.read_at(&mut buf, start)?;
        let line = &buf[..n];
        let next = match line.iter().position(|&b| b == b'\n') {
            Some(end) => start + end as u64 + 1,
            // A line longer than any of the format's: go on past it.
            None => self.line_start_at_or_after(start + 1)?,
        };
        let end = line.iter().position(|&b| b == b'\n').unwrap_or(n);
        let line = &line[..end];
        Ok((line.strip_suffix(b"\r").unwrap_or(line).to_vec(), next))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn sha1_hex(p: &str) -> String {
        data_encoding::HEXUPPER.encode(&Sha1::digest(p.as_bytes()))
    }

    fn file_of(lines: &[String]) -> (tempfile_path::Guard, List) {
        let guard = tempfile_path::Guard::new();
        let mut f = File::create(&guard.0).unwrap();
        for l in lines {
            write!(f, "{l}\r\n").unwrap();
        }
        drop(f);
        let list = List::open(&guard.0).unwrap();
        (guard, list)
    }

    /// A file in the temporary folder, removed when dropped.
    mod tempfile_path {
        pub struct Guard(pub std::path::PathBuf);
        impl Guard {
            pub fn new() -> Guard {
                use rand::Rng;
                let n: u64 = rand::thread_rng().gen();
                Guard(std::env::temp_dir().join(format!("breached-{n:x}.txt")))
            }
        }
        impl Drop for Guard {
            fn drop(&mut self) {
                let _ = std::fs::remove_file(&self.0);
            }
        }
    }

    #[test]
    fn finds_a_hash_by_binary_search() {
        let passwords: Vec<String> = (0..2000).map(|i| format!("breached-{i}")).collect();
        let mut lines: Vec<String> = passwords
            .iter()
            .enumerate()
            .map(|(i, p)| format!("{}:{}", sha1_hex(p), i * 7 + 1))
            .collect();
        lines.sort();
        let (_g, list) = file_of(&lines);
        for p in &passwords {
            assert!(list.contains(p).unwrap(), "{p}");
        }
        for p in ["breached-2000", "violet-harbour-2931", ""] {
            assert!(!list.contains(p).unwrap(), "{p}");
        }
        // The first and the last line, and a file of one line.
        let (_g1, one) = file_of(&lines[..1]);
        let first = passwords
            .iter()
            .find(|p| lines[0].starts_with(&sha1_hex(p)))
            .unwrap();
        assert!(one.contains(first).unwrap());
        assert!(!one.contains("breached-x").unwrap());
    }

    #[test]
    fn a_file_in_another_format_is_refused() {
        let g = tempfile_path::Guard::new();
        std::fs::write(&g.0, "password123\nqwerty\n").unwrap();
        let e = List::open(&g.0).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
    }
}
