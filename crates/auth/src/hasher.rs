//! Password hashing as the service sees it (`PasswordHasher`), and the one
//! the server runs: Argon2id off the async runtime, bounded. One worker thread per core hashes
//! in its own 19 MiB buffer, kept and reused, so a flood of sign-ins costs a
//! queue, not memory; a worker that had nothing to do for `IDLE` lets its
//! buffer go, so a quiet server is small again. Workers take the next job
//! as soon as one is done: a short queue (one waiting job per worker) keeps
//! them busy back to back. A caller waits for a place in that queue at most
//! `QUEUE_WAIT`; past that the server is busy (503 with Retry-After).

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{oneshot, Semaphore};
use twostep_core::password::{self, Memory};

use crate::Failure;
use crate::{rng, AuthError, Result};

const QUEUE_WAIT: Duration = Duration::from_secs(10);
/// A worker with no job for this long drops its buffer.
const IDLE: Duration = Duration::from_secs(15);

type Job = Box<dyn FnOnce(&mut Memory) + Send>;

/// A hash or a check on its way.
pub type Hashing<'a, T> = Pin<Box<dyn Future<Output = Result<T>> + Send + 'a>>;

/// How the service hashes and checks passwords: [`Argon2Workers`] in the
/// server; tests of the service's rules may give it cheaper parameters.
pub trait PasswordHasher: Send + Sync {
    /// A PHC string for `password`.
    fn hash<'a>(&'a self, password: &'a str) -> Hashing<'a, String>;
    /// False for a missing hash too, after the same work (timing does not
    /// tell whether the account exists).
    fn verify<'a>(&'a self, password: &'a str, phc: Option<&'a str>) -> Hashing<'a, bool>;
    /// True once after hashing memory was let go (the caller may then hand
    /// it back to the system).
    fn release_if_idle(&self) -> bool {
        false
    }
}

pub struct Argon2Workers {
    /// Places in the queue: jobs running or waiting for a worker.
    places: Semaphore,
    jobs: flume::Sender<Job>,
    /// Set by a worker that let its buffer go, until the next `release_if_idle`.
    released: Arc<AtomicBool>,
}

impl Argon2Workers {
    pub fn new(workers: usize, idle: Duration) -> Argon2Workers {
        let workers = workers.max(1);
        let (jobs, queue) = flume::unbounded::<Job>();
        let released = Arc::new(AtomicBool::new(false));
        for i in 0..workers {
            let (queue, released) = (queue.clone(), released.clone());
            let spawned = std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || work(queue, released, idle));
            if let Err(e) = spawned {
                tracing::error!(error = %e, "cannot start a password-hashing thread");
            }
        }
        Argon2Workers {
            places: Semaphore::new(2 * workers),
            jobs,
            released,
        }
    }

    /// A worker per core, each letting its buffer go after 15 s idle.
    pub fn sized_to_cores() -> Argon2Workers {
        Argon2Workers::new(
            std::thread::available_parallelism().map_or(2, |n| n.get()),
            IDLE,
        )
    }

    async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce(&mut Memory) -> T + Send + 'static,
    ) -> Result<T> {
        let queue = ::metrics::gauge!(crate::metrics::HASH_QUEUE);
        queue.increment(1.0);
        let waited = tokio::time::timeout(QUEUE_WAIT, self.places.acquire()).await;
        queue.decrement(1.0);
        let _place = waited
            .map_err(|_| {
                ::metrics::counter!(crate::metrics::HASH_BUSY).increment(1);
                AuthError::Busy
            })?
            .map_err(|_| Failure::Hashing("the queue is closed"))?;
        let (reply, answer) = oneshot::channel();
        let job: Job = Box::new(move |mem| {
            // Nobody waits for it any more (the request went away).
            if reply.is_closed() {
                return;
            }
            let started = Instant::now();
            let out = job(mem);
            tracing::debug!(micros = started.elapsed().as_micros() as u64, "argon2id");
            let _ = reply.send(out);
        });
        self.jobs
            .send(job)
            .map_err(|_| Failure::Hashing("no password-hashing thread"))?;
        answer
            .await
            .map_err(|_| Failure::Hashing("a password-hashing thread stopped").into())
    }

    async fn hash_password(&self, pw: &str) -> Result<String> {
        let pw = pw.to_string();
        self.run(move |mem| password::hash_in(&pw, &mut rng(), mem))
            .await
    }

    async fn verify_password(&self, pw: &str, phc: Option<&str>) -> Result<bool> {
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

impl PasswordHasher for Argon2Workers {
    fn hash<'a>(&'a self, password: &'a str) -> Hashing<'a, String> {
        Box::pin(self.hash_password(password))
    }

    fn verify<'a>(&'a self, password: &'a str, phc: Option<&'a str>) -> Hashing<'a, bool> {
        Box::pin(self.verify_password(password, phc))
    }

    fn release_if_idle(&self) -> bool {
        self.released.swap(false, Ordering::AcqRel)
    }
}

/// One worker: jobs in order, in a buffer made on the first and dropped after
/// `idle` without one; ends when the `Hasher` is dropped.
fn work(queue: flume::Receiver<Job>, released: Arc<AtomicBool>, idle: Duration) {
    let mut mem: Option<Memory> = None;
    loop {
        match queue.recv_timeout(idle) {
            Ok(job) => job(mem.get_or_insert_with(Memory::new)),
            Err(flume::RecvTimeoutError::Timeout) => {
                if mem.take().is_some() {
                    released.store(true, Ordering::Release);
                }
            }
            Err(flume::RecvTimeoutError::Disconnected) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn many_callers_share_a_few_workers() {
        let h = std::sync::Arc::new(Argon2Workers::new(2, IDLE));
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
        assert!(!h.verify("anything", None).await.unwrap());
    }

    #[tokio::test]
    async fn buffers_are_let_go_once_quiet() {
        let h = Argon2Workers::new(1, Duration::from_millis(200));
        assert!(!h.release_if_idle(), "nothing made yet");
        for round in 0..2 {
            // A buffer is made for the hash (again in the second round)...
            h.hash("correct horse battery").await.unwrap();
            // ...and let go 200 ms after it, reported once.
            let mut waited = 0;
            while !h.release_if_idle() {
                assert!(waited < 300, "round {round}: the buffer was never let go");
                tokio::time::sleep(Duration::from_millis(50)).await;
                waited += 1;
            }
            assert!(!h.release_if_idle(), "reported once");
        }
    }
}
