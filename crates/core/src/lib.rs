//! Pure, synchronous domain logic of twostep.
//!
//! Nothing here does I/O or reads a clock: time comes in as a `UnixTime` and
//! randomness as a `rand::RngCore`, so every rule is deterministic under test.

pub mod app_password;
pub mod breached;
pub mod client_address;
pub mod code;
pub mod drift;
pub mod last_used;
pub mod lockout;
pub mod network;
pub mod oauth;
pub mod password;
pub mod policy;
pub mod proxy_protocol;
pub mod pskc;
pub mod recovery;
pub mod repo;
pub mod secretbox;
pub mod sk_signature;
pub mod ssh_certificate;
pub mod sshkey;
pub mod token;
pub mod totp;
pub mod two_person;
pub mod unix_time;
pub mod user_id;
pub mod validate;
pub mod words;
pub mod workspace;

pub use unix_time::UnixTime;
pub use user_id::UserId;
