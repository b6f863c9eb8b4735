//! The front-ends see views, never the store's rows: web and ssh do not
//! depend on the store crate (so they cannot name a store type), and the
//! auth service neither re-exports a store type nor names one in a public
//! function's signature or a public field. Read from the sources.

use std::path::{Path, PathBuf};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn web_and_ssh_do_not_depend_on_the_store() {
    for front in ["../web/Cargo.toml", "../ssh/Cargo.toml"] {
        let manifest = std::fs::read_to_string(root().join(front)).unwrap();
        assert!(
            manifest.contains("twostep-auth"),
            "{front} was read (it depends on auth)"
        );
        assert!(
            !manifest.contains("twostep-store"),
            "{front} depends on the store"
        );
    }
}

/// The names a file imports from the store: types, and modules (`users::`).
fn store_names(source: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = source;
    while let Some(at) = rest.find("use twostep_store::") {
        let stmt = &rest[at + "use twostep_store::".len()..];
        let end = stmt.find(';').unwrap_or(stmt.len());
        let list = &stmt[..end];
        let words = list.split(|c: char| !(c.is_alphanumeric() || c == '_'));
        for w in words.filter(|w| !w.is_empty()) {
            if w == "as" || w == "self" {
                continue;
            }
            // Aliases too (`oauth::{self as store}`): a module as `store::`.
            if w.starts_with(char::is_uppercase) {
                names.push(w.to_string());
            } else {
                names.push(format!("{w}::"));
            }
        }
        rest = &stmt[end..];
    }
    // Constructing the service takes the store; nothing else from it is public.
    names.retain(|n| !matches!(n.as_str(), "Store" | "Conn" | "Tx" | "StoreError"));
    names
}

fn mentions(text: &str, name: &str) -> bool {
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    text.match_indices(name).any(|(i, _)| {
        let before_ok = text[..i].chars().next_back().is_none_or(|c| !ident(c));
        let after = text[i + name.len()..].chars().next();
        let after_ok = name.ends_with("::") || after.is_none_or(|c| !ident(c));
        before_ok && after_ok
    })
}

/// Public signatures (`pub fn … {`) and public fields (`pub name: Type,`).
fn public_surface(source: &str) -> Vec<String> {
    let code = source.split("#[cfg(test)]").next().unwrap_or(source);
    let mut out = Vec::new();
    for (i, line) in code.lines().enumerate() {
        let t = line.trim_start();
        if t.starts_with("pub fn ") || t.starts_with("pub async fn ") {
            let from: usize = code.lines().take(i).map(|l| l.len() + 1).sum();
            let sig = &code[from..];
            let end = sig.find(['{', ';']).unwrap_or(sig.len());
            out.push(sig[..end].to_string());
        } else if t.starts_with("pub ") && !t.starts_with("pub(") && t.contains(": ") {
            let is_item = [
                "pub struct",
                "pub enum",
                "pub const",
                "pub static",
                "pub type",
            ]
            .iter()
            .any(|k| t.starts_with(k));
            if !is_item {
                out.push(t.to_string());
            }
        }
    }
    out
}

#[test]
fn no_store_type_crosses_the_auth_boundary() {
    let mut files = Vec::new();
    rust_files(&root().join("src"), &mut files);
    assert!(files.len() > 40, "the sources were found");
    let mut leaks = Vec::new();
    for f in &files {
        let source = std::fs::read_to_string(f).unwrap();
        if source.contains("pub use twostep_store") {
            leaks.push(format!("{}: re-exports a store item", f.display()));
        }
        let names = store_names(&source);
        for item in public_surface(&source) {
            for n in names.iter().filter(|n| mentions(&item, n)) {
                let first = item.lines().next().unwrap_or_default().trim();
                leaks.push(format!("{}: {n} in `{first}`", f.display()));
            }
        }
    }
    assert!(
        leaks.is_empty(),
        "store types in auth's public API:\n{}",
        leaks.join("\n")
    );
}

#[test]
fn the_check_sees_a_leak() {
    let source = "use twostep_store::users::{self, User};\n\
                  pub struct V {\n    pub owner: User,\n}\n\
                  impl X {\n    pub async fn get(&self) -> Result<users::Row> {\n    }\n}\n";
    let names = store_names(source);
    let surface = public_surface(source);
    assert_eq!(surface.len(), 2, "{surface:?}");
    assert!(mentions(&surface[0], "User"));
    assert!(names.iter().any(|n| mentions(&surface[1], n)));
    assert!(!mentions("pub owner: UserView,", "User"));
}
