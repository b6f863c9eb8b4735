//! Git operations in flight on this node, so that a shutdown (SIGTERM) lets
//! them finish, for a bounded time, instead of cutting a push in half.

use super::Repos;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

#[derive(Default)]
pub(crate) struct InFlight {
    count: AtomicUsize,
    idle: tokio::sync::Notify,
}

/// Held for as long as one git operation runs; counted (with its duration)
/// in the metrics when dropped, as failed unless `succeeded` was called.
#[must_use]
pub struct GitOperation(Arc<InFlight>, crate::metrics::GitTimer);

impl GitOperation {
    pub fn succeeded(&mut self) {
        self.1.ok = true;
    }
}

impl Drop for GitOperation {
    fn drop(&mut self) {
        if self.0.count.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

impl Repos<'_> {
    /// Marks a git operation (`transport`: ssh or https; `service`: e.g.
    /// git-upload-pack) as running until the guard is dropped.
    pub fn git_operation(&self, transport: &'static str, service: &'static str) -> GitOperation {
        let f = self.inner.git_operations.clone();
        f.count.fetch_add(1, Ordering::AcqRel);
        GitOperation(f, crate::metrics::GitTimer::start(transport, service))
    }

    /// Waits until no git operation runs, or `limit` passes; returns how
    /// many were still running.
    pub async fn finish_git_operations(&self, limit: Duration) -> usize {
        let f = self.inner.git_operations.clone();
        let wait = async {
            loop {
                let idle = f.idle.notified();
                if f.count.load(Ordering::Acquire) == 0 {
                    return;
                }
                idle.await;
            }
        };
        let _ = tokio::time::timeout(limit, wait).await;
        f.count.load(Ordering::Acquire)
    }
}
