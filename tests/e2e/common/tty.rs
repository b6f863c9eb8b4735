//! A real terminal: tmux runs a command, we type into it and read the screen.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

pub struct Terminal {
    socket: String,
    target: String,
}

fn tmux(socket: &str, args: &[&str]) -> String {
    tmux_output(socket, args).0
}

fn tmux_output(socket: &str, args: &[&str]) -> (String, std::process::Output) {
    let out = Command::new("tmux")
        .arg("-S")
        .arg(socket)
        .args(args)
        .output()
        .expect("tmux is installed (the test script installs it)");
    (String::from_utf8_lossy(&out.stdout).into_owned(), out)
}

impl Terminal {
    /// Runs `command` in a fresh tmux server whose socket lives in `dir`; the
    /// pane stays open afterwards (`echo EXIT=$?; sleep`), so it can be read.
    pub fn run(dir: &Path, name: &str, command: &str) -> Terminal {
        let socket = dir.join(format!("tmux-{name}.sock")).display().to_string();
        let session = format!("t{name}");
        let wrapped = format!("{command}; echo EXIT=$?; sleep 120");
        let (_, started) = tmux_output(
            &socket,
            &[
                "new-session",
                "-d",
                "-s",
                &session,
                "-x",
                "160",
                "-y",
                "40",
                &wrapped,
            ],
        );
        assert!(
            started.status.success(),
            "tmux did not start {name}: {}",
            String::from_utf8_lossy(&started.stderr)
        );
        Terminal {
            socket,
            target: format!("{session}:0"),
        }
    }

    /// Waits until the screen shows `text`, and returns the screen.
    pub fn wait_for(&self, text: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let pane = tmux(
                &self.socket,
                &["capture-pane", "-p", "-J", "-t", &self.target],
            );
            if pane.contains(text) {
                return pane;
            }
            assert!(
                Instant::now() < deadline,
                "{text:?} never appeared:\n{pane}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Types `text` and Enter.
    pub fn type_line(&self, text: &str) {
        tmux(&self.socket, &["send-keys", "-t", &self.target, "-l", text]);
        tmux(&self.socket, &["send-keys", "-t", &self.target, "Enter"]);
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        tmux(&self.socket, &["kill-server"]);
    }
}
