//! What a person types into a code field: never a panic, and what is
//! accepted is six digits or a 12-character recovery code.
#![no_main]
use libfuzzer_sys::fuzz_target;
use twostep_core::code::{parse_second_factor, SecondFactorInput};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match parse_second_factor(text) {
        Ok(SecondFactorInput::Totp(c)) => {
            assert!(c.len() == 6 && c.bytes().all(|b| b.is_ascii_digit()))
        }
        Ok(SecondFactorInput::Recovery(c)) => {
            assert!(c.len() == 12 && c.bytes().all(|b| b.is_ascii_alphanumeric()))
        }
        Err(_) => {}
    }
});
