//! The HTTP server loop, with the limits `axum::serve` does not offer: a
//! cap on open connections (the rest wait in the listen backlog), a deadline
//! for every request head (idle keep-alive connections included; over TLS,
//! for the handshake too), and TCP_NODELAY so small answers leave at once.
//! Plain HTTP/1.1, or HTTPS with HTTP/1.1 and HTTP/2 chosen by ALPN.

use std::future::Future;
use std::net::{IpAddr, SocketAddr};

use axum::http::HeaderMap;
use std::sync::Arc;
use std::time::Duration;
use twostep_core::client_address::TrustedProxies;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulConnection;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Connections served at once.
    pub max_connections: usize,
    /// A client has this long to send a request head, from the moment the
    /// connection is ready for one.
    pub header_timeout: Duration,
}

impl Limits {
    /// Sized to the open-files limit: half of it for HTTP connections.
    pub fn for_fd_limit(fd_limit: u64) -> Limits {
        let budget = fd_limit.saturating_sub(256) / 2;
        Limits {
            max_connections: usize::try_from(budget)
                .unwrap_or(usize::MAX)
                .clamp(32, 50_000),
            header_timeout: Duration::from_secs(10),
        }
    }
}

/// Serves `app` until `shutdown` resolves, then lets open requests finish
/// (for at most 10 seconds).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    proxies: TrustedProxies,
    tls: Option<TlsAcceptor>,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let proxies = Arc::new(proxies);
    let mut h2 = hyper::server::conn::http2::Builder::new(TokioExecutor::new());
    h2.timer(TokioTimer::new())
        .max_concurrent_streams(MAX_STREAMS)
        .max_header_list_size(64 * 1024)
        .keep_alive_interval(Some(Duration::from_secs(30)))
        .keep_alive_timeout(Duration::from_secs(20));
    let (stop, stopping) = tokio::sync::watch::channel(false);
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(64 * 1024);
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            p = permits.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
            _ = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    // Out of descriptors or similar: wait rather than spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let activity = Arc::new(Activity::new());
        let (app, proxies, act) = (app.clone(), proxies.clone(), activity.clone());
        let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
            let client = client_behind(&proxies, peer, req.headers());
            req.extensions_mut().insert(ConnectInfo::<SocketAddr>(peer));
            req.extensions_mut().insert(ClientAddr(client));
            let answer = app.clone().oneshot(req.map(axum::body::Body::new));
            let busy = act.begin();
            async move {
                let r = answer.await;
                drop(busy);
                r
            }
        });
        let stopping = stopping.clone();
        let Some(acceptor) = &tls else {
            let conn = http.serve_connection(TokioIo::new(stream), service);
            tokio::spawn(async move {
                drive(conn, stopping, None, peer).await;
                drop(permit);
            });
            continue;
        };
        let (acceptor, http, h2) = (acceptor.clone(), http.clone(), h2.clone());
        tokio::spawn(async move {
            let stream =
                match tokio::time::timeout(limits.header_timeout, acceptor.accept(stream)).await {
                    Ok(Ok(s)) => s,
                    Ok(Err(e)) => {
                        tracing::debug!(error = %e, %peer, "TLS handshake failed");
                        return;
                    }
                    Err(_) => return,
                };
            // The protocol is the one ALPN chose, never guessed from bytes
            // that may never come.
            match stream.get_ref().1.alpn_protocol() {
                // An ACME server checking the TLS-ALPN-01 challenge: the
                // handshake was the whole answer.
                Some(ACME_TLS_ALPN) => {
                    tracing::info!(%peer, "answered an ACME tls-alpn-01 validation");
                }
                Some(b"h2") => {
                    let conn = h2.serve_connection(TokioIo::new(stream), service);
                    drive(
                        conn,
                        stopping,
                        Some((activity, limits.header_timeout)),
                        peer,
                    )
                    .await;
                }
                _ => {
                    let conn = http.serve_connection(TokioIo::new(stream), service);
                    drive(conn, stopping, None, peer).await;
                }
            }
            drop(permit);
        });
    }
    let _ = stop.send(true);
    let everyone = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    // Every connection gives its permit back once it has closed.
    let finished = permits.acquire_many(everyone);
    if tokio::time::timeout(Duration::from_secs(10), finished)
        .await
        .is_err()
    {
        tracing::warn!("some requests were still running at shutdown");
    }
    Ok(())
}

/// Streams one HTTP/2 connection may run at once (each may be a git
/// process, as each SSH channel).
const MAX_STREAMS: u32 = 10;

/// Runs a connection until it ends; asks it to finish its requests and close
/// at shutdown, or (HTTP/2) once it has had no request for `idle`, as an
/// HTTP/1.1 keep-alive connection is closed after its header deadline.
async fn drive<C>(
    conn: C,
    mut stopping: tokio::sync::watch::Receiver<bool>,
    idle: Option<(Arc<Activity>, Duration)>,
    peer: SocketAddr,
) where
    C: GracefulConnection,
    C::Error: std::fmt::Display,
{
    tokio::pin!(conn);
    let mut closing = false;
    if *stopping.borrow() {
        conn.as_mut().graceful_shutdown();
        closing = true;
    }
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            r = conn.as_mut() => {
                if let Err(e) = r {
                    tracing::debug!(error = %e, %peer, "connection ended");
                }
                return;
            }
            _ = stopping.changed(), if !closing => {
                conn.as_mut().graceful_shutdown();
                closing = true;
            }
            _ = tick.tick(), if !closing && idle.is_some() => {
                let Some((activity, limit)) = &idle else {
                    continue;
                };
                if activity.idle_for() >= *limit {
                    if !activity.ever() {
                        // Not even a request (or not even the preface, which
                        // a graceful close would wait for): cut.
                        return;
                    }
                    conn.as_mut().graceful_shutdown();
                    closing = true;
                }
            }
        }
    }
}

/// Requests running on a connection, and when the last one began or ended.
struct Activity {
    running: std::sync::atomic::AtomicUsize,
    begun: std::sync::atomic::AtomicBool,
    since: std::sync::Mutex<std::time::Instant>,
}

struct Busy(Arc<Activity>);

impl Activity {
    fn new() -> Activity {
        Activity {
            running: Default::default(),
            begun: Default::default(),
            since: std::sync::Mutex::new(std::time::Instant::now()),
        }
    }

    fn touch(&self) {
        if let Ok(mut t) = self.since.lock() {
            *t = std::time::Instant::now();
        }
    }

    fn begin(self: &Arc<Self>) -> Busy {
        self.running
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.begun.store(true, std::sync::atomic::Ordering::SeqCst);
        self.touch();
        Busy(self.clone())
    }

    fn ever(&self) -> bool {
        self.begun.load(std::sync::atomic::Ordering::SeqCst)
    }

    fn idle_for(&self) -> Duration {
        if self.running.load(std::sync::atomic::Ordering::SeqCst) > 0 {
            return Duration::ZERO;
        }
        self.since.lock().map(|t| t.elapsed()).unwrap_or_default()
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.touch();
        self.0
            .running
            .fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// The app of a plain-HTTP listener beside HTTPS: every request is sent to
/// the same path and query under the https:// public URL (308 keeps the method).
pub fn https_redirect(public_url: &str) -> Router {
    let base: Arc<str> = public_url.trim_end_matches('/').into();
    Router::new().fallback(move |uri: axum::http::Uri| {
        let base = base.clone();
        async move {
            let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
            axum::response::Redirect::permanent(&format!("{base}{path}"))
        }
    })
}

/// The ALPN protocol of RFC 8737's challenge (offered by ACME servers only).
pub const ACME_TLS_ALPN: &[u8] = b"acme-tls/1";

/// The client's address: the peer's, or what trusted proxies say it is.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub IpAddr);

fn client_behind(proxies: &TrustedProxies, peer: SocketAddr, headers: &HeaderMap) -> IpAddr {
    if !proxies.trusts(peer.ip()) {
        return proxies.client(peer.ip(), &[]);
    }
    // A line that is not text stays as a hop that reads as no address: the
    // walk stops there instead of skipping it.
    let values: Vec<&str> = headers
        .get_all(proxies.header().name())
        .iter()
        .map(|v| v.to_str().unwrap_or("unreadable"))
        .collect();
    proxies.client(peer.ip(), &values)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_leave_room_for_other_descriptors() {
        assert_eq!(Limits::for_fd_limit(1024).max_connections, 384);
        assert_eq!(Limits::for_fd_limit(20_000).max_connections, 9_872);
        assert_eq!(Limits::for_fd_limit(100).max_connections, 32);
    }
}
