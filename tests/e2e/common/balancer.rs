//! A TCP load balancer for tests of several nodes: every new connection goes
//! to the node chosen last; switching closes the open ones, so a browser's
//! next request reaches the other node.

use std::io::copy;
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};

pub struct Balancer {
    pub port: u16,
    target: Arc<AtomicU16>,
    open: Arc<Mutex<Vec<TcpStream>>>,
}

impl Balancer {
    pub fn start(first: u16) -> Balancer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let target = Arc::new(AtomicU16::new(first));
        let open: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
        let (t, o) = (target.clone(), open.clone());
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let Ok(node) = TcpStream::connect(("127.0.0.1", t.load(Ordering::SeqCst))) else {
                    continue;
                };
                let _ = client.set_nodelay(true);
                let _ = node.set_nodelay(true);
                if let Ok(c) = client.try_clone() {
                    o.lock().unwrap().push(c);
                }
                pipe(&client, &node);
                pipe(&node, &client);
            }
        });
        Balancer { port, target, open }
    }

    /// New connections go to `port`; open ones are closed.
    pub fn send_to(&self, port: u16) {
        self.target.store(port, Ordering::SeqCst);
        for c in self.open.lock().unwrap().drain(..) {
            let _ = c.shutdown(Shutdown::Both);
        }
    }
}

fn pipe(from: &TcpStream, to: &TcpStream) {
    let (mut from, mut to) = (from.try_clone().unwrap(), to.try_clone().unwrap());
    std::thread::spawn(move || {
        let _ = copy(&mut from, &mut to);
        let _ = to.shutdown(Shutdown::Both);
        let _ = from.shutdown(Shutdown::Both);
    });
}
