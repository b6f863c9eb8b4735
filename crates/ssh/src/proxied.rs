//! The PROXY protocol on the SSH port: from a trusted proxy the header is
//! read and names the client; from anyone else a stream that begins with one
//! is cut (the client would otherwise pick its own address).

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncReadExt, ReadBuf};
use twostep_core::proxy_protocol::{self, Parsed};

/// Reads the header a trusted proxy must send first (a balancer that
/// forwards without one would pass on a header its client wrote). Returns
/// the client (the proxy itself when the header names nobody: a health
/// check's LOCAL) and the bytes read past the header.
pub async fn read_header<S: AsyncRead + Unpin>(
    stream: &mut S,
    peer: SocketAddr,
) -> io::Result<(SocketAddr, Vec<u8>)> {
    let mut buf = Vec::with_capacity(256);
    let mut chunk = [0u8; 512];
    loop {
        match proxy_protocol::parse(&buf) {
            Parsed::Incomplete => {}
            Parsed::NotProxy => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "no PROXY header (configure send-proxy-v2 or proxy_protocol on the balancer)",
                ))
            }
            Parsed::Header { len, source } => {
                return Ok((source.unwrap_or(peer), buf.split_off(len)));
            }
            Parsed::Invalid(why) => return Err(io::Error::new(io::ErrorKind::InvalidData, why)),
        }
        // Never past the longest header, so nothing after it is swallowed
        // beyond what `split_off` hands back.
        let room = proxy_protocol::V2_MAX
            .saturating_sub(buf.len())
            .min(chunk.len());
        let n = stream.read(&mut chunk[..room.max(1)]).await?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// The reading half of a connection: it first serves the bytes read past a
/// PROXY header, or (from an untrusted peer) fails as soon as one is
/// announced. `tokio::io::join` pairs it with the writing half.
pub struct Opening<S> {
    inner: S,
    head: Vec<u8>,
    served: usize,
    sniff: Option<Vec<u8>>,
    peer: Option<SocketAddr>,
}

impl<S> Opening<S> {
    /// After a trusted proxy's header: `head` is what followed it.
    pub fn after_header(inner: S, head: Vec<u8>) -> Opening<S> {
        Opening {
            inner,
            head,
            served: 0,
            sniff: None,
            peer: None,
        }
    }

    /// From a peer that is not a trusted proxy.
    pub fn refusing_headers(inner: S, peer: SocketAddr) -> Opening<S> {
        Opening {
            inner,
            head: Vec::new(),
            served: 0,
            sniff: Some(Vec::new()),
            peer: Some(peer),
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Opening<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if this.served < this.head.len() {
            let n = (this.head.len() - this.served).min(buf.remaining());
            buf.put_slice(&this.head[this.served..this.served + n]);
            this.served += n;
            if this.served == this.head.len() {
                this.head = Vec::new();
                this.served = 0;
            }
            return Poll::Ready(Ok(()));
        }
        let before = buf.filled().len();
        let ready = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let (Poll::Ready(Ok(())), Some(seen)) = (&ready, &mut this.sniff) {
            let new = &buf.filled()[before..];
            seen.extend_from_slice(&new[..new.len().min(16)]);
            match proxy_protocol::announces(seen) {
                Some(true) => {
                    tracing::warn!(peer = ?this.peer, "ssh connection cut: a PROXY header from an address that is not a trusted proxy");
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::PermissionDenied,
                        "a PROXY header from an address that is not a trusted proxy",
                    )));
                }
                Some(false) => this.sniff = None,
                None if new.is_empty() => this.sniff = None,
                None => {}
            }
        }
        ready
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    #[tokio::test]
    async fn a_trusted_header_names_the_client_and_keeps_what_follows() {
        let (mut a, mut b) = tokio::io::duplex(1024);
        a.write_all(b"PROXY TCP4 203.0.113.7 192.0.2.1 51234 22\r\nSSH-2.0-x\r\n")
            .await
            .unwrap();
        let peer: SocketAddr = "10.0.0.2:4000".parse().unwrap();
        let (client, head) = read_header(&mut b, peer).await.unwrap();
        assert_eq!(client, "203.0.113.7:51234".parse().unwrap());
        let mut rest = Opening::after_header(b, head);
        drop(a);
        let mut text = String::new();
        rest.read_to_string(&mut text).await.unwrap();
        assert_eq!(text, "SSH-2.0-x\r\n");
    }

    #[tokio::test]
    async fn a_trusted_peer_without_a_header_is_refused() {
        let (mut a, mut b) = tokio::io::duplex(1024);
        a.write_all(b"SSH-2.0-x\r\n").await.unwrap();
        let peer: SocketAddr = "10.0.0.2:4000".parse().unwrap();
        assert!(read_header(&mut b, peer).await.is_err());
    }

    #[tokio::test]
    async fn an_untrusted_peer_announcing_a_header_is_cut() {
        let (mut a, b) = tokio::io::duplex(1024);
        a.write_all(b"PROXY TCP4 203.0.113.7 192.0.2.1 51234 22\r\n")
            .await
            .unwrap();
        let mut s = Opening::refusing_headers(b, "203.0.113.1:1".parse().unwrap());
        let mut buf = [0u8; 64];
        assert!(s.read(&mut buf).await.is_err());

        let (mut a, b) = tokio::io::duplex(1024);
        a.write_all(b"SSH-2.0-x\r\n").await.unwrap();
        drop(a);
        let mut s = Opening::refusing_headers(b, "203.0.113.1:1".parse().unwrap());
        let mut text = String::new();
        s.read_to_string(&mut text).await.unwrap();
        assert_eq!(text, "SSH-2.0-x\r\n");
    }
}
