//! The head `git http-backend` writes: never a panic, a bounded number of
//! header lines, and the body is what follows the blank line.
#![no_main]
use libfuzzer_sys::fuzz_target;
use twostep_web::parse::{CgiHead, MAX_CGI_LINES};

fuzz_target!(|data: &[u8]| {
    if let Ok((head, body)) = CgiHead::parse(data) {
        assert!(head.headers.len() < MAX_CGI_LINES);
        assert!(body.len() < data.len());
    }
});
