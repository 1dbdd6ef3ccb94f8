//! Servers in processes of their own (`hijack serve`, the Go peers), for the benches that
//! compare whole processes.
//!
//! A process is started, its address read from its first line, and killed when dropped; what
//! the bench sends it is the bench's.

use std::io::BufRead as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The Go peers (`benches/go/hijack.go`), when `scripts/bench` could build them: the path in
/// `HIJACK_BENCH_GO`. Rows against Go are left out without it.
pub fn go_peers() -> Option<PathBuf> {
    let path = PathBuf::from(std::env::var_os("HIJACK_BENCH_GO")?);
    path.is_file().then_some(path)
}

/// How long a server process may take to print its address: it may compile the component
/// first.
const START: Duration = Duration::from_secs(60);

/// A server in a process of its own that prints `listening on ADDR` first (`hijack serve`,
/// the Go peer); killed when dropped. Its stdout is drained, so it never blocks on a full
/// pipe; its stderr is discarded.
pub struct ServerProcess {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
}

impl ServerProcess {
    pub fn start(mut cmd: Command) -> Self {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the server process");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = std::io::BufReader::new(stdout).lines();
            if let Some(Ok(first)) = lines.next() {
                let _ = tx.send(first);
            }
            for _ in lines {}
        });
        let first = match rx.recv_timeout(START) {
            Ok(line) => line,
            Err(_) => {
                let _ = child.kill();
                panic!("the server process printed no address in {START:?}");
            }
        };
        let addr = first
            .strip_prefix("listening on ")
            .and_then(|a| a.trim().parse().ok())
            .unwrap_or_else(|| panic!("not an address line: {first:?}"));
        Self { child, addr }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
