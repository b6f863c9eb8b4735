//! Argon2id off the async runtime, bounded. At most one hash per core runs at
//! a time, each in a 19 MiB buffer that is kept and reused, so a flood of
//! sign-ins costs a queue, not memory; once no hash has run for a while the
//! buffers are let go, so a quiet server is small again. A caller waits in
//! line at most `QUEUE_WAIT`; past that the server is busy (503 with
//! Retry-After).

use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;
use twostep_core::password::{self, Memory};

use crate::{rng, AuthError, Result};

const QUEUE_WAIT: Duration = Duration::from_secs(10);

pub(crate) struct Hasher {
    permits: Semaphore,
    buffers: Mutex<Vec<Memory>>,
    last_used: Mutex<Option<Instant>>,
}

impl Hasher {
    pub(crate) fn new(workers: usize) -> Hasher {
        Hasher {
            permits: Semaphore::new(workers.max(1)),
            buffers: Mutex::new(Vec::new()),
            last_used: Mutex::new(None),
        }
    }

    pub(crate) fn sized_to_cores() -> Hasher {
        Hasher::new(std::thread::available_parallelism().map_or(2, |n| n.get()))
    }

    async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce(&mut Memory) -> T + Send + 'static,
    ) -> Result<T> {
        let queue = ::metrics::gauge!(crate::metrics::HASH_QUEUE);
        queue.increment(1.0);
        let waited = tokio::time::timeout(QUEUE_WAIT, self.permits.acquire()).await;
        queue.decrement(1.0);
        let _permit = waited
            .map_err(|_| {
                ::metrics::counter!(crate::metrics::HASH_BUSY).increment(1);
                AuthError::Busy
            })?
            .map_err(|e| AuthError::Internal(e.to_string()))?;
        let taken = self.buffers.lock().ok().and_then(|mut b| b.pop());
        let (out, mem) = tokio::task::spawn_blocking(move || {
            let mut mem = taken.unwrap_or_default();
            let started = Instant::now();
            let out = job(&mut mem);
            tracing::debug!(micros = started.elapsed().as_micros() as u64, "argon2id");
            (out, mem)
        })
        .await
        .map_err(|e| AuthError::Internal(e.to_string()))?;
        if let Ok(mut b) = self.buffers.lock() {
            b.push(mem);
        }
        if let Ok(mut t) = self.last_used.lock() {
            *t = Some(Instant::now());
        }
        Ok(out)
    }

    /// Drops the kept buffers when no hash ran for `idle`; true if it did.
    pub(crate) fn release_if_idle(&self, idle: Duration) -> bool {
        let quiet = self
            .last_used
            .lock()
            .is_ok_and(|t| t.is_some_and(|t| t.elapsed() >= idle));
        if !quiet {
            return false;
        }
        let dropped = self.buffers.lock().map(|mut b| std::mem::take(&mut *b));
        matches!(dropped, Ok(b) if !b.is_empty())
    }

    pub(crate) async fn hash(&self, pw: &str) -> Result<String> {
        let pw = pw.to_string();
        self.run(move |mem| password::hash_in(&pw, &mut rng(), mem))
            .await
    }

    /// False for a missing hash too, after the same work (timing does not tell
    /// whether the account exists).
    pub(crate) async fn verify(&self, pw: &str, phc: Option<&str>) -> Result<bool> {
        let pw = pw.to_string();
        let (phc, real) = match phc {
            Some(p) => (p.to_string(), true),
            None => (password::dummy_hash().to_string(), false),
        };
        let ok = self
            .run(move |mem| password::verify_in(&pw, &phc, mem))
            .await?;
        Ok(ok && real)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn many_callers_share_a_few_buffers() {
        let h = std::sync::Arc::new(Hasher::new(2));
        let phc = h.hash("correct horse battery").await.unwrap();
        let mut tasks = Vec::new();
        for i in 0..8 {
            let (h, phc) = (h.clone(), phc.clone());
            tasks.push(tokio::spawn(async move {
                let pw = if i % 2 == 0 {
                    "correct horse battery"
                } else {
                    "wrong"
                };
                h.verify(pw, Some(&phc)).await.unwrap() == (i % 2 == 0)
            }));
        }
        for t in tasks {
            assert!(t.await.unwrap());
        }
        assert!(h.buffers.lock().unwrap().len() <= 2);
        assert!(!h.verify("anything", None).await.unwrap());
    }

    #[tokio::test]
    async fn buffers_are_let_go_once_quiet() {
        let h = Hasher::new(1);
        assert!(!h.release_if_idle(Duration::ZERO), "nothing kept yet");
        h.hash("correct horse battery").await.unwrap();
        assert!(
            !h.release_if_idle(Duration::from_secs(3600)),
            "used just now"
        );
        assert_eq!(h.buffers.lock().unwrap().len(), 1);
        assert!(h.release_if_idle(Duration::ZERO));
        assert!(h.buffers.lock().unwrap().is_empty());
        h.hash("correct horse battery").await.unwrap();
        assert_eq!(h.buffers.lock().unwrap().len(), 1, "made again when needed");
    }
}
