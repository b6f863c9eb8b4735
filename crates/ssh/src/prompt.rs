//! Reading what a person types (or pipes) on an SSH channel, line by line.
//! Nothing is echoed back, so a password typed on a pty stays hidden; piped
//! input may bring several lines in one packet, which are kept for the next
//! question.

use crate::handler::Job;
use crate::io::Io;

const MAX_LINE: usize = 1024;

#[derive(Default)]
pub struct Lines {
    buf: Vec<u8>,
    ended: bool,
    /// A `\r` ended the last line: a `\n` right after it belongs to it.
    skip_lf: bool,
}

impl Lines {
    /// The next line: ends at Enter (`\r` on a pty, `\n` otherwise) or at
    /// EOF; `None` at EOF with nothing typed, or on Ctrl-C / Ctrl-D on a pty.
    pub async fn next<I: Io>(&mut self, job: &mut Job<I>) -> Option<String> {
        loop {
            if self.skip_lf && !self.buf.is_empty() {
                if self.buf[0] == b'\n' {
                    self.buf.remove(0);
                }
                self.skip_lf = false;
            }
            if let Some(end) = self.buf.iter().position(|b| matches!(b, b'\r' | b'\n')) {
                let line: Vec<u8> = self.buf.drain(..=end).collect();
                self.skip_lf = line[end] == b'\r';
                return Some(String::from_utf8_lossy(&line[..end]).into_owned());
            }
            if self.ended {
                return (!self.buf.is_empty())
                    .then(|| String::from_utf8_lossy(&std::mem::take(&mut self.buf)).into_owned());
            }
            match job.channel.read().await {
                Some(data) => {
                    for &b in data.iter() {
                        match b {
                            3 | 4 if job.pty => return None, // Ctrl-C, Ctrl-D
                            0x7f | 0x08 if job.pty => {
                                self.buf.pop();
                            }
                            // A line longer than this is cut; the rest is dropped.
                            b'\r' | b'\n' => self.buf.push(b),
                            _ if self.current_line_len() < MAX_LINE => self.buf.push(b),
                            _ => {}
                        }
                    }
                }
                None => self.ended = true,
            }
        }
    }

    fn current_line_len(&self) -> usize {
        self.buf
            .iter()
            .rev()
            .take_while(|b| !matches!(b, b'\r' | b'\n'))
            .count()
    }
}
