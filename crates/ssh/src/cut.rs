//! A TCP stream the accept loop can cut from outside. russh runs each session
//! in a task of its own that holds the socket; when a client never signs in,
//! cutting the stream makes that task's next read fail, so the task ends and
//! the socket closes: the connection's slot is given back only then.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

#[derive(Default)]
struct Switch {
    cut: AtomicBool,
    reader: Mutex<Option<Waker>>,
    writer: Mutex<Option<Waker>>,
}

impl Switch {
    fn park(slot: &Mutex<Option<Waker>>, cx: &Context<'_>) {
        if let Ok(mut w) = slot.lock() {
            *w = Some(cx.waker().clone());
        }
    }
}

/// Cuts the stream it was made with.
#[derive(Clone)]
pub struct Cutter(Arc<Switch>);

impl Cutter {
    pub fn cut(&self) {
        self.0.cut.store(true, Ordering::SeqCst);
        for slot in [&self.0.reader, &self.0.writer] {
            if let Some(w) = slot.lock().ok().and_then(|mut w| w.take()) {
                w.wake();
            }
        }
    }
}

pub struct CutStream<S> {
    inner: S,
    switch: Arc<Switch>,
}

pub fn cuttable<S>(inner: S) -> (CutStream<S>, Cutter) {
    let switch = Arc::new(Switch::default());
    (
        CutStream {
            inner,
            switch: switch.clone(),
        },
        Cutter(switch),
    )
}

fn cut_error() -> io::Error {
    io::Error::new(io::ErrorKind::ConnectionAborted, "cut by the server")
}

impl<S> CutStream<S> {
    fn is_cut(&self) -> bool {
        self.switch.cut.load(Ordering::SeqCst)
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for CutStream<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.is_cut() {
            return Poll::Ready(Err(cut_error()));
        }
        match Pin::new(&mut self.inner).poll_read(cx, buf) {
            // Waiting: be woken by a cut too (checked again after parking,
            // so a cut in between is not missed).
            Poll::Pending => {
                Switch::park(&self.switch.reader, cx);
                if self.is_cut() {
                    return Poll::Ready(Err(cut_error()));
                }
                Poll::Pending
            }
            ready => ready,
        }
    }
}

impl<S> CutStream<S> {
    fn pending_write(&self, cx: &Context<'_>) -> Poll<io::Result<usize>> {
        Switch::park(&self.switch.writer, cx);
        if self.is_cut() {
            return Poll::Ready(Err(cut_error()));
        }
        Poll::Pending
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for CutStream<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.is_cut() {
            return Poll::Ready(Err(cut_error()));
        }
        match Pin::new(&mut self.inner).poll_write(cx, buf) {
            Poll::Pending => self.pending_write(cx),
            ready => ready,
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        if self.is_cut() {
            return Poll::Ready(Err(cut_error()));
        }
        match Pin::new(&mut self.inner).poll_write_vectored(cx, bufs) {
            Poll::Pending => self.pending_write(cx),
            ready => ready,
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}
