//! Where a command talks to the person who ran it: an SSH channel of our own
//! server, or the standard streams of `twostep serv` behind OpenSSH. The
//! commands (`recovery_codes`, `password`, `recover`) are written once,
//! against this.

use std::future::Future;

use russh::server::Msg;
use russh::{Channel, ChannelMsg};

pub trait Io: Send {
    /// What the person typed or piped next; `None` at end of input.
    fn read(&mut self) -> impl Future<Output = Option<Vec<u8>>> + Send;
    /// Output (or, with `stderr`, messages) for the person.
    fn write(&mut self, stderr: bool, bytes: Vec<u8>) -> impl Future<Output = ()> + Send;
    /// The command is done: its exit status goes to the client.
    fn finish(self, status: u32) -> impl Future<Output = ()> + Send;
}

impl Io for Channel<Msg> {
    async fn read(&mut self) -> Option<Vec<u8>> {
        loop {
            match self.wait().await {
                Some(ChannelMsg::Data { data }) => return Some(data.to_vec()),
                Some(ChannelMsg::Eof | ChannelMsg::Close) | None => return None,
                Some(_) => {}
            }
        }
    }

    async fn write(&mut self, stderr: bool, bytes: Vec<u8>) {
        let _ = if stderr {
            self.extended_data_bytes(1, bytes).await
        } else {
            self.data_bytes(bytes).await
        };
    }

    async fn finish(self, status: u32) {
        let _ = self.exit_status(status).await;
        let _ = self.eof().await;
        let _ = self.close().await;
    }
}
