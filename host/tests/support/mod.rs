//! Helpers shared by the host crate's test binaries that run processes.

// Each test binary compiles this module and uses only some of it.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// Run `cmd` with `stdin` fed and closed, its stdout and stderr drained as they come (so a
/// full pipe never stalls it); a run longer than `limit` is killed and fails the test.
pub fn run_bounded(cmd: Command, stdin: &[u8], limit: Duration) -> Output {
    run_bounded_stdin(cmd, stdin, true, limit)
}

/// [`run_bounded`], with stdin closed after `stdin` only if `close` (else it stays open until
/// the process exits: no EOF, no half-close).
pub fn run_bounded_stdin(mut cmd: Command, stdin: &[u8], close: bool, limit: Duration) -> Output {
    let what = format!("{cmd:?}");
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {what}: {e}"));
    let mut input = child.stdin.take().expect("stdin");
    let data = stdin.to_vec();
    let (done, exited) = std::sync::mpsc::channel::<()>();
    thread::spawn(move || {
        let _ = input.write_all(&data);
        if !close {
            // Held open until the process exits (the sender is dropped then).
            let _ = exited.recv();
        }
    });
    let drain = |mut r: Box<dyn Read + Send>| {
        thread::spawn(move || {
            let mut out = Vec::new();
            let _ = r.read_to_end(&mut out);
            out
        })
    };
    let stdout = drain(Box::new(child.stdout.take().expect("stdout")));
    let stderr = drain(Box::new(child.stderr.take().expect("stderr")));
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            let err = stderr.join().unwrap_or_default();
            panic!(
                "{what} did not exit within {limit:?}; stderr: {}",
                String::from_utf8_lossy(&err)
            );
        }
        thread::sleep(Duration::from_millis(20));
    };
    drop(done);
    Output {
        status,
        stdout: stdout.join().expect("stdout reader"),
        stderr: stderr.join().expect("stderr reader"),
    }
}

/// Read a head byte by byte, up to its blank line (or EOF); the socket's own timeout bounds it.
pub fn read_head(s: &mut TcpStream) -> Vec<u8> {
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && s.read(&mut b).unwrap_or(0) == 1 {
        head.push(b[0]);
    }
    head
}

/// A composed example (`target/composed/NAME`), which must exist: a missing one is a failure,
/// not a skip.
pub fn composed(name: &str) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../target/composed")
        .join(name);
    assert!(
        path.exists(),
        "{} is missing: run `bash scripts/examples` (the README's test command does)",
        path.display()
    );
    path
}

/// The wasmtime CLI that scripts/tools installs: the prebuilt one in `tools/bin`, else the
/// one `cargo install` left in `~/.cargo/bin`, else whatever `wasmtime` the PATH has.
pub fn wasmtime() -> PathBuf {
    let prebuilt = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tools/bin/wasmtime");
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    let built = home.join(".cargo/bin/wasmtime");
    [prebuilt, built]
        .into_iter()
        .find(|p| p.exists())
        .unwrap_or_else(|| PathBuf::from("wasmtime"))
}

/// A child process killed (and reaped) when the test ends, however it ends.
pub struct Killed(pub std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Start a server process and read its first stdout line, `listening on IP:PORT`, within
/// `limit`; the rest of its stdout is drained, its stderr goes to the test's. A process that
/// exits or stays silent fails the test.
pub fn listening(mut cmd: Command, limit: Duration) -> (Killed, std::net::SocketAddr) {
    use std::io::BufRead;
    let what = format!("{cmd:?}");
    let mut child = Killed(
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {what}: {e}")),
    );
    let stdout = child.0.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    thread::spawn(move || {
        let mut lines = std::io::BufReader::new(stdout);
        let mut line = String::new();
        let _ = lines.read_line(&mut line);
        let _ = tx.send(line);
        let _ = std::io::copy(&mut lines, &mut std::io::sink());
    });
    let line = rx
        .recv_timeout(limit)
        .unwrap_or_else(|_| panic!("{what} printed no line within {limit:?}"));
    let addr = line
        .trim_end()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("{what}: first line was {line:?}"))
        .parse()
        .expect("IP:PORT");
    (child, addr)
}

/// `node tools/jco/run.mjs`: jco on Node, which `scripts/tools` installs into tools/jco; give it a
/// component and its arguments. A missing install is a failure, not a skip.
pub fn jco() -> Command {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tools/jco");
    assert!(
        dir.join("node_modules/.bin/jco").exists(),
        "jco is not installed in {}: run `bash scripts/tools` (the README's test command does)",
        dir.display()
    );
    let mut cmd = Command::new("node");
    cmd.arg(dir.join("run.mjs"));
    cmd
}

/// Where a composed `wasi:cli/run` example runs.
#[derive(Clone, Copy, Debug)]
pub enum Runner {
    /// `wasmtime run -S inherit-network` (the wasmtime CLI that scripts/tools installs).
    Wasmtime,
    /// jco on Node (`tools/jco/run.mjs`), which grants the network by default.
    Jco,
}

impl Runner {
    /// The command that runs `target/composed/EXAMPLE` with the network granted.
    pub fn command(self, example: &str) -> Command {
        let mut cmd = match self {
            Self::Wasmtime => {
                let mut cmd = Command::new(wasmtime());
                cmd.args(["run", "-S", "inherit-network"]);
                cmd
            }
            Self::Jco => jco(),
        };
        cmd.arg(composed(example));
        cmd
    }

    /// The bound on each wait: jco transpiles and compiles the component at every start (2-3 s
    /// on 2 cores, more under load) and is slower per byte; the bound is generous, the waits
    /// it bounds are not sleeps.
    pub fn limit(self) -> Duration {
        match self {
            Self::Wasmtime => Duration::from_secs(30),
            Self::Jco => Duration::from_secs(60),
        }
    }
}

/// The body a [`http_server`] serves at `/big`: 4 MiB that no two offsets confuse.
pub fn big_body() -> Vec<u8> {
    (0..4 << 20)
        .map(|i: u32| (i ^ (i >> 8) ^ (i >> 16)) as u8)
        .collect()
}

/// A native HTTP/1.1 server: every connection gets one response to one request, then close.
/// `/big` is [`big_body`]; anything else is `hello`.
pub fn http_server(limit: Duration) -> std::net::SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = l.local_addr().expect("addr");
    thread::spawn(move || {
        let body = big_body();
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            let body = body.clone();
            thread::spawn(move || {
                s.set_read_timeout(Some(limit)).expect("timeout");
                let head = read_head(&mut s);
                let big = head.starts_with(b"GET /big ");
                let body: &[u8] = if big { &body } else { b"hello" };
                let _ = write!(
                    s,
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = s.write_all(body);
            });
        }
    });
    addr
}

/// `curl -p -x http://PROXY URL` (a CONNECT tunnel), bounded by `limit`; its stdout.
pub fn curl_through(proxy: std::net::SocketAddr, url: &str, limit: Duration) -> Vec<u8> {
    let mut cmd = Command::new("curl");
    cmd.args([
        "-sS",
        "--max-time",
        &(limit.as_secs() - 5).to_string(),
        "-p",
        "-x",
    ])
    .arg(format!("http://{proxy}"))
    .arg(url);
    let out = run_bounded(cmd, b"", limit);
    assert!(
        out.status.success(),
        "curl through the proxy: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}
