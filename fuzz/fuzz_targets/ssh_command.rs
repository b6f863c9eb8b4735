//! The command line an SSH client asks to run: never a panic; a git command
//! names one owner and one repository, without control characters, and an
//! unknown command is echoed back with its control characters escaped.
#![no_main]
use libfuzzer_sys::fuzz_target;
use twostep_ssh::{parse_command, Command};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    match parse_command(&text) {
        Command::Git { owner, repo, .. } => {
            assert!(!owner.is_empty() && !owner.contains('/'));
            assert!(!repo.contains('/'));
            assert!(!owner.chars().chain(repo.chars()).any(char::is_control));
        }
        Command::Unknown(echo) => assert!(!echo.chars().any(char::is_control)),
        Command::RecoveryCodes => {}
    }
});
