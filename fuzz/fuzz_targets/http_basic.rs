//! `Authorization: Basic …` as anyone may send it: never a panic, and what
//! comes out carries no control characters.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Some((user, secret)) = twostep_web::parse::basic_credentials(text) {
        assert!(!user.contains(':'));
        assert!(!user.chars().chain(secret.chars()).any(char::is_control));
    }
});
