//! The SSH front-end (russh): public-key sign-in against registered keys,
//! `git-upload-pack`/`git-receive-pack`/`git-upload-archive`, the
//! `recovery_codes` command, and a greeting instead of a shell. Thin: every
//! decision is the auth service's.

mod command;
mod git;
mod handler;
mod host_key;
mod recovery;

use std::sync::Arc;
use std::time::Duration;

use russh::server::Server as _;
use twostep_auth::AuthService;

pub use host_key::{fingerprint, load_or_create as load_or_create_host_key};

/// Serves SSH on `listener` until the future is dropped.
pub async fn serve(
    listener: tokio::net::TcpListener,
    auth: AuthService,
    host_key: russh::keys::PrivateKey,
) -> std::io::Result<()> {
    let config = russh::server::Config {
        methods: russh::MethodSet::from(&[russh::MethodKind::PublicKey][..]),
        auth_rejection_time: Duration::from_millis(300),
        auth_rejection_time_initial: Some(Duration::from_millis(0)),
        inactivity_timeout: Some(Duration::from_secs(3600)),
        keepalive_interval: Some(Duration::from_secs(60)),
        // Large windows and packets keep big clones fast.
        window_size: 8 * 1024 * 1024,
        maximum_packet_size: 65535,
        channel_buffer_size: 256,
        event_buffer_size: 256,
        nodelay: true,
        keys: vec![host_key],
        ..Default::default()
    };
    let mut server = handler::Server { auth };
    server.run_on_socket(Arc::new(config), &listener).await
}
