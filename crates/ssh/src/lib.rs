//! The SSH front-end (russh): public-key sign-in against registered keys,
//! `git-upload-pack`/`git-receive-pack`/`git-upload-archive`, the
//! `recovery_codes` command, and a greeting instead of a shell. Thin: every
//! decision is the auth service's.

mod approval;
mod certificate;
mod command;
mod cut;
mod gate;
mod git;
mod handler;
mod host_key;
mod io;
mod limits;
mod password;
mod prompt;
mod proxied;
mod recover;
mod recovery;
mod serv;

use std::sync::Arc;
use std::time::Duration;

use std::sync::atomic::{AtomicBool, Ordering};
use twostep_auth::AuthService;
use twostep_core::client_address::TrustedProxies;

pub use command::{parse as parse_command, Command, GitService};
pub use gate::COMMANDS;
pub use host_key::{fingerprint, load_or_create as load_or_create_host_key};
pub use limits::Limits;
pub use russh::keys::PrivateKey as HostKey;
pub use serv::{serv, Request as ServRequest};

/// Serves SSH on `listener` until the future is dropped.
pub async fn serve(
    listener: tokio::net::TcpListener,
    auth: AuthService,
    host_key: russh::keys::PrivateKey,
    limits: Limits,
    proxies: TrustedProxies,
) -> std::io::Result<()> {
    let config = Arc::new(russh::server::Config {
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
    });
    let counter = limits::Counter::default();
    let reading = limits::Waiting::default();
    loop {
        let (socket, peer) = match listener.accept().await {
            Ok(x) => x,
            Err(e) => {
                tracing::warn!(error = %e, "ssh accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let _ = socket.set_nodelay(true);
        let start = Start {
            config: config.clone(),
            auth: auth.clone(),
            counter: counter.clone(),
            limits,
        };
        if proxies.trusts(peer.ip()) {
            // Connections waiting for their header count toward the total.
            let Some(waiting) = reading.take(limits.max_total) else {
                tracing::warn!(%peer, "ssh connection refused: too many waiting for a PROXY header");
                continue;
            };
            // The header is read in the connection's own task: a slow proxy
            // holds up nobody else.
            tokio::spawn(async move {
                let _waiting = waiting;
                let (mut read, write) = socket.into_split();
                let (mut start, began) = (start, std::time::Instant::now());
                let header = proxied::read_header(&mut read, peer);
                match tokio::time::timeout(limits.auth_timeout, header).await {
                    Ok(Ok((client, head))) => {
                        // The sign-in deadline runs from the connection, header included.
                        start.limits.auth_timeout =
                            limits.auth_timeout.saturating_sub(began.elapsed());
                        let read = proxied::Opening::after_header(read, head);
                        start.run(tokio::io::join(read, write), client)
                    }
                    Ok(Err(e)) => {
                        tracing::warn!(%peer, error = %e, "ssh connection from a trusted proxy refused: no valid PROXY header");
                    }
                    Err(_) => {
                        tracing::warn!(%peer, "ssh connection from a trusted proxy sent nothing")
                    }
                }
            });
        } else {
            let (read, write) = socket.into_split();
            let read = proxied::Opening::refusing_headers(read, peer);
            start.run(tokio::io::join(read, write), peer);
        }
    }
}

/// A client's connection: what it sends through `proxied::Opening`.
type Socket = tokio::io::Join<
    proxied::Opening<tokio::net::tcp::OwnedReadHalf>,
    tokio::net::tcp::OwnedWriteHalf,
>;

/// What a new connection needs once its client is known.
struct Start {
    config: Arc<russh::server::Config>,
    auth: AuthService,
    counter: limits::Counter,
    limits: Limits,
}

impl Start {
    fn run(self, socket: Socket, client: std::net::SocketAddr) {
        let Some(slot) = self.counter.take(client.ip(), &self.limits) else {
            tracing::warn!(ip = %client.ip(), "ssh connection refused: too many open connections");
            return;
        };
        let signed_in = Arc::new(AtomicBool::new(false));
        let handler = handler::Connection::new(self.auth, client, signed_in.clone());
        tokio::spawn(connection(
            self.config,
            socket,
            handler,
            signed_in,
            self.limits.auth_timeout,
            slot,
        ));
    }
}

/// One connection: it must sign in within `auth_timeout`, else it is cut:
/// the session's task ends and the socket closes before the slot is freed
/// (`_slot` drops last).
async fn connection(
    config: Arc<russh::server::Config>,
    socket: Socket,
    handler: handler::Connection,
    signed_in: Arc<AtomicBool>,
    auth_timeout: Duration,
    _slot: limits::Slot,
) {
    let (socket, cutter) = cut::cuttable(socket);
    let deadline = tokio::time::sleep(auth_timeout);
    tokio::pin!(deadline);
    let session = tokio::select! {
        s = russh::server::run_stream(config, socket, handler) => match s {
            Ok(s) => s,
            Err(e) => {
                tracing::debug!(error = %e, "ssh handshake failed");
                return;
            }
        },
        // The socket is dropped with the unfinished handshake.
        _ = &mut deadline => return,
    };
    let handle = session.handle();
    tokio::pin!(session);
    tokio::select! {
        _ = &mut session => return,
        _ = &mut deadline => {}
    }
    if !signed_in.load(Ordering::SeqCst) {
        let _ = tokio::time::timeout(
            Duration::from_secs(2),
            handle.disconnect(
                russh::Disconnect::ByApplication,
                "Authentication timed out.".into(),
                String::new(),
            ),
        )
        .await;
        if tokio::time::timeout(Duration::from_secs(2), &mut session)
            .await
            .is_err()
        {
            cutter.cut();
            let _ = session.await;
        }
        tracing::info!("ssh connection closed: no sign-in within the deadline");
        return;
    }
    let _ = session.await;
}
