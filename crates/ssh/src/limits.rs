//! What one SSH client may hold: connections per address and in all, a
//! deadline to authenticate, channels per connection.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Channels (each may run one git process) per connection.
pub const MAX_CHANNELS: usize = 10;

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_per_ip: usize,
    pub max_total: usize,
    /// From the TCP connection to a successful public-key sign-in.
    pub auth_timeout: Duration,
}

impl Limits {
    /// Sized to the open-files limit: a quarter of it for SSH, each
    /// connection counted with its channels' git pipes.
    pub fn for_fd_limit(fd_limit: u64, max_per_ip: usize) -> Limits {
        let per_connection = 1 + 3 * MAX_CHANNELS as u64;
        let total = fd_limit.saturating_sub(256) / 4 / per_connection;
        Limits {
            max_per_ip: max_per_ip.max(1),
            max_total: usize::try_from(total).unwrap_or(usize::MAX).max(8),
            auth_timeout: Duration::from_secs(30),
        }
    }
}

/// Open connections per address; a `Slot` gives its place back when dropped.
#[derive(Clone, Default)]
pub struct Counter {
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

pub struct Slot {
    counter: Counter,
    ip: IpAddr,
}

impl Counter {
    /// A place for one more connection from `ip`, if the limits allow it.
    pub fn take(&self, ip: IpAddr, limits: &Limits) -> Option<Slot> {
        let mut open = self.open.lock().ok()?;
        let total: usize = open.values().sum();
        let mine = open.get(&ip).copied().unwrap_or(0);
        if total >= limits.max_total || mine >= limits.max_per_ip {
            return None;
        }
        open.insert(ip, mine + 1);
        metrics::gauge!(twostep_auth::metrics::SSH_SESSIONS).increment(1.0);
        Some(Slot {
            counter: self.clone(),
            ip,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        metrics::gauge!(twostep_auth::metrics::SSH_SESSIONS).decrement(1.0);
        if let Ok(mut open) = self.counter.open.lock() {
            if let Some(n) = open.get_mut(&self.ip) {
                *n -= 1;
                if *n == 0 {
                    open.remove(&self.ip);
                }
            }
        }
    }
}

/// Connections in a stage before they hold a slot (a trusted proxy's
/// header being read); a `WaitingSlot` leaves the stage when dropped.
#[derive(Clone, Default)]
pub struct Waiting(Arc<std::sync::atomic::AtomicUsize>);

pub struct WaitingSlot(Arc<std::sync::atomic::AtomicUsize>);

impl Waiting {
    pub fn take(&self, max: usize) -> Option<WaitingSlot> {
        use std::sync::atomic::Ordering;
        let n = self.0.fetch_add(1, Ordering::SeqCst);
        if n >= max {
            self.0.fetch_sub(1, Ordering::SeqCst);
            return None;
        }
        Some(WaitingSlot(self.0.clone()))
    }
}

impl Drop for WaitingSlot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_per_address_and_in_all() {
        let limits = Limits {
            max_per_ip: 2,
            max_total: 3,
            auth_timeout: Duration::from_secs(1),
        };
        let c = Counter::default();
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let a1 = c.take(a, &limits).unwrap();
        let _a2 = c.take(a, &limits).unwrap();
        assert!(c.take(a, &limits).is_none());
        let _b1 = c.take(b, &limits).unwrap();
        assert!(c.take(b, &limits).is_none(), "total reached");
        drop(a1);
        assert!(c.take(b, &limits).is_some());
        assert_eq!(Limits::for_fd_limit(20_000, 20).max_total, 159);
    }
}
