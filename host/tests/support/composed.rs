//! The composed examples (`target/composed/*.wasm`, left by `scripts/examples`) and the
//! runtimes that run them, and the native peers they are driven against.

use super::blocking::read_head;
use super::run_bounded;
use std::io::Write;
use std::path::PathBuf;
use std::process::Command;
use std::thread;
use std::time::Duration;

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
    pub const fn limit(self) -> Duration {
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
                s.set_write_timeout(Some(limit)).expect("timeout");
                let head = read_head(&mut s, limit);
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
