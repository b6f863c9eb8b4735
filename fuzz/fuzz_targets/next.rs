//! `next` after sign-in: whatever comes in, the browser lands on the public
//! origin, and the header value is one a browser cannot bend elsewhere.
#![no_main]
use libfuzzer_sys::fuzz_target;

const PUBLIC: &str = "https://git.example.org";

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let to = twostep_web::parse::resolve_next(PUBLIC, Some(text));
    assert!(to.starts_with('/') && !to.starts_with("//"), "{to:?}");
    assert!(!to.chars().any(|c| c.is_control() || c == '\\'), "{to:?}");
    let base = url::Url::parse(PUBLIC).unwrap();
    let landed = base.join(&to).unwrap();
    assert_eq!(landed.origin(), base.origin(), "{text:?} -> {to:?}");
});
