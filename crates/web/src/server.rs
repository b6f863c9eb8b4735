//! The HTTP/1.1 server loop, with the limits `axum::serve` does not offer: a
//! cap on open connections (the rest wait in the listen backlog), a deadline
//! for every request head (idle keep-alive connections included), and
//! TCP_NODELAY so small answers leave at once.

use std::future::Future;
use std::net::{IpAddr, SocketAddr};

use axum::http::HeaderMap;
use std::sync::Arc;
use std::time::Duration;
use twostep_core::client_address::TrustedProxies;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
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
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let proxies = Arc::new(proxies);
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
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
        let app = app.clone();
        let proxies = proxies.clone();
        let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
            let client = client_behind(&proxies, peer, req.headers());
            req.extensions_mut().insert(ConnectInfo::<SocketAddr>(peer));
            req.extensions_mut().insert(ClientAddr(client));
            app.clone().oneshot(req.map(axum::body::Body::new))
        });
        let conn = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, %peer, "connection ended");
            }
            drop(permit);
        });
    }
    if tokio::time::timeout(Duration::from_secs(10), graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("some requests were still running at shutdown");
    }
    Ok(())
}

/// The client's address: the peer's, or what trusted proxies say it is.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub IpAddr);

fn client_behind(proxies: &TrustedProxies, peer: SocketAddr, headers: &HeaderMap) -> IpAddr {
    if !proxies.trusts(peer.ip()) {
        return proxies.client(peer.ip(), &[]);
    }
    let values: Vec<&str> = headers
        .get_all(proxies.header().name())
        .iter()
        .filter_map(|v| v.to_str().ok())
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
