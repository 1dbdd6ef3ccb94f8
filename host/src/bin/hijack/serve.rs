//! `hijack serve`: the accept loop runs in the component; each request offering an accepted
//! protocol is answered `101` and hijacked, then echoed or wired to a child process.
//!
//! It reads no HTTP itself (the component hands over parsed heads) and owns what happens after
//! the handoff: the log line, the echo or the child process, and its end.

use crate::args::{Action, Serve};
use crate::runtime;
use hijack_host::{
    CopyError, Header, HijackedReader, HijackedStream, Instance, Limits, Listener, NetPolicy,
    ResponseHead, TlsServerConfig,
};
use hijack_proto::AcceptBackoff;
use hijack_proto::escape::escape;
use std::io::Write;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::unix::pipe;

/// One line on stderr in one `write`: `eprintln!` writes each piece of its format on its own
/// (stderr is unbuffered), several system calls for every connection logged, and lines from
/// concurrent connections could interleave.
macro_rules! log {
    ($($arg:tt)*) => {{
        let mut line = format!($($arg)*);
        line.push('\n');
        let _ = std::io::stderr().write_all(line.as_bytes());
    }};
}

/// Run until killed (or until a listener fails): one component instance per thread
/// (`--threads`, default one per core), each on its own current-thread runtime with its own
/// listener on the one address (`SO_REUSEPORT`, set by the host: the kernel spreads the
/// connections). Nothing is shared between the threads but the compiled component: a
/// connection lives on the thread that accepted it, so the byte path takes no lock and scales
/// with the cores.
pub async fn run(s: Serve) -> anyhow::Result<()> {
    let threads = s.threads.map_or_else(
        || std::thread::available_parallelism().map_or(1, |n| n.get()),
        |n| n.get(),
    );
    let mut policy = NetPolicy::new()
        .allow_listen(s.listen)
        .reuse_port(threads > 1);
    if let (Some(cert), Some(key)) = (&s.tls_cert, &s.tls_key) {
        policy = policy.tls_server(TlsServerConfig::from_pem_files(cert, key)?);
    }
    let runtime = runtime()?;
    let limits = Limits {
        head_timeout_ms: s.head_timeout_ms,
        max_head_bytes: s.max_head_bytes,
        max_headers: None,
    };
    // The first instance binds (port 0 becomes a real port); the others bind that address.
    let mut instance = runtime.instantiate(policy.clone()).await?;
    let listener = instance.listen(s.listen, limits).await?;
    let addr = listener.local_addr;
    let s = Arc::new(s);
    // `listening on` is printed once every instance listens: a client may connect at once.
    let (ready_tx, ready) = std::sync::mpsc::channel::<anyhow::Result<()>>();
    for n in 1..threads {
        let (runtime, policy, s) = (runtime.clone(), policy.clone(), Arc::clone(&s));
        let ready_tx = ready_tx.clone();
        std::thread::Builder::new()
            .name(format!("hijack-serve-{n}"))
            .spawn(move || {
                let served = (|| -> anyhow::Result<()> {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()?;
                    rt.block_on(async {
                        let listening = async {
                            let mut instance = runtime.instantiate(policy).await?;
                            let listener = instance.listen(addr, limits).await?;
                            anyhow::Ok((instance, listener))
                        };
                        let (instance, listener) = match listening.await {
                            Ok(up) => {
                                let _ = ready_tx.send(Ok(()));
                                up
                            }
                            Err(e) => {
                                let _ = ready_tx.send(Err(e));
                                return Ok(());
                            }
                        };
                        serve_on(instance, listener, &s).await
                    })
                })();
                // A thread that stops serving ends the process, as the first one would.
                if let Err(e) = served {
                    log!("hijack: error: {e}");
                    std::process::exit(2);
                }
            })?;
    }
    drop(ready_tx);
    for _ in 1..threads {
        ready.recv()??;
    }
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "listening on {addr}")?;
        out.flush()?;
    }
    serve_on(instance, listener, &s).await
}

/// One instance's accept loop, on its own thread, until its listener fails.
async fn serve_on(mut instance: Instance, listener: Listener, s: &Serve) -> anyhow::Result<()> {
    // A transient accept error (out of descriptors or buffers) usually clears as other
    // connections close: the loop pauses by the core's rule and accepts again, and only another
    // error ends it. The error is logged once per burst: a line per retry would flood stderr
    // just when the process is short of resources.
    let mut backoff = AcceptBackoff::default();
    loop {
        let incoming = match instance.accept(&listener).await {
            Ok(incoming) => {
                if backoff.is_backing_off() {
                    log!("hijack: accepting again");
                }
                backoff.succeed();
                incoming
            }
            Err(e) if e.is_transient() => {
                if !backoff.is_backing_off() {
                    log!("hijack: accept: {e}; backing off and retrying");
                }
                tokio::time::sleep(backoff.fail()).await;
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        let remote = incoming
            .remote_addr
            .map_or_else(|| "unknown peer".to_string(), |a| a.to_string());
        // Peer-supplied text is escaped before it reaches a terminal or a log.
        let line = format!(
            "{} {}",
            escape(incoming.head.method.as_bytes()),
            escape(incoming.head.target.as_bytes())
        );
        let chosen = incoming
            .protocols
            .iter()
            .find(|p| s.upgrades.iter().any(|u| u.eq_ignore_ascii_case(p)))
            .cloned();
        // `--exec` reads the request's body first, as dockerd reads an exec's JSON config
        // before it switches: the child gets it in a file, apart from its stdin.
        let mut body = None;
        if chosen.is_some()
            && let Action::Exec(_) = s.action()
        {
            match instance.read_body(&incoming, None).await {
                Ok(bytes) if bytes.is_empty() => {}
                Ok(bytes) => match BodyFile::write(&bytes) {
                    Ok(file) => body = Some(file),
                    Err(e) => log!("hijack: {remote} {line}: keeping the body: {e}"),
                },
                Err(e) => {
                    log!("hijack: {remote} {line}: {e}; answered 400");
                    if let Err(e) = bad_body(&mut instance, incoming).await {
                        log!("hijack: {remote}: {e}");
                    }
                    continue;
                }
            }
        }
        match chosen {
            Some(protocol) => match instance.hijack(incoming, &protocol, Vec::new()).await {
                Ok(stream) => {
                    log!("hijack: {remote} {line}: switched to {protocol}");
                    let action = match s.action() {
                        Action::Echo => None,
                        Action::Exec(cmd) => Some(cmd.to_vec()),
                    };
                    let websocket = hijack_proto::websocket::is_websocket(&protocol);
                    let remote = remote.clone();
                    tokio::spawn(async move {
                        let result = match action {
                            // WebSocket speaks frames: its echo answers them as frames.
                            None if websocket => crate::ws_echo::echo(stream).await,
                            None => echo(stream).await,
                            Some(cmd) => exec(stream, &cmd, body).await,
                        };
                        if let Err(e) = result {
                            log!("hijack: {remote}: {e}");
                        }
                    });
                }
                Err(e) => log!("hijack: {remote} {line}: {e}"),
            },
            None if is_health_check(&incoming, s.health.as_deref()) => {
                if let Err(e) = healthy(&mut instance, incoming).await {
                    log!("hijack: {remote}: {e}");
                }
            }
            None => {
                log!("hijack: {remote} {line}: refused (426)");
                if let Err(e) = refuse(&mut instance, incoming, &s.upgrades).await {
                    log!("hijack: {remote}: {e}");
                }
            }
        }
    }
}

/// Whether `incoming` is a `GET` or `HEAD` of the health path (its query ignored).
fn is_health_check(incoming: &hijack_host::Incoming, health: Option<&str>) -> bool {
    let Some(health) = health else {
        return false;
    };
    let path = incoming.head.target.split('?').next().unwrap_or_default();
    matches!(incoming.head.method.as_str(), "GET" | "HEAD") && path == health
}

/// `200 OK` to a health check (not logged: a balancer asks every few seconds). A `HEAD` gets
/// the head alone.
async fn healthy(instance: &mut Instance, incoming: hijack_host::Incoming) -> anyhow::Result<()> {
    let body: &[u8] = if incoming.head.method == "HEAD" {
        b""
    } else {
        b"ok\n"
    };
    let head = ResponseHead {
        version: 1,
        status: 200,
        reason: "OK".into(),
        headers: vec![Header::new("Content-Type", "text/plain")],
    };
    instance.respond(incoming, head, body).await?;
    Ok(())
}

/// `426 Upgrade Required`, naming the protocols this server speaks (RFC 9110 §15.5.22).
async fn refuse(
    instance: &mut Instance,
    incoming: hijack_host::Incoming,
    upgrades: &[String],
) -> anyhow::Result<()> {
    let protocols = upgrades.join(", ");
    let head = ResponseHead {
        version: 1,
        status: 426,
        reason: "Upgrade Required".into(),
        headers: vec![
            Header::new("Upgrade", protocols.as_bytes()),
            Header::new("Content-Type", "text/plain"),
        ],
    };
    let body = format!("this server switches to: {protocols}\n");
    instance.respond(incoming, head, body.as_bytes()).await?;
    Ok(())
}

/// Send every byte back (the buffered ones first), then half-close ([`hijack_host::copy`]:
/// 256 KiB per read between plain sockets, from a per-thread pool of buffers).
pub async fn echo(stream: HijackedStream) -> anyhow::Result<()> {
    let (mut rd, mut wr) = stream.into_split();
    hijack_host::copy(&mut rd, &mut wr).await?;
    wr.shutdown().await?;
    Ok(())
}

/// How long a child may run on after its client is gone (reset, or no longer reading)
/// before it is killed.
const EXEC_GRACE: Duration = Duration::from_secs(2);

/// How the client's side of an `--exec` session ended.
enum ClientEnd {
    /// EOF: the child gets EOF on stdin and may go on writing (as `docker exec`).
    Eof,
    /// A reset or a read error: nobody will read what the child writes.
    Gone,
}

/// Connection → the child's stdin (EOF closes it); the child's stdout → the connection
/// (EOF half-closes it), as `docker exec` does. When the client is gone — its connection
/// reset, or it stopped reading — the child gets [`EXEC_GRACE`] to exit, then is killed, so no
/// orphan holds a descriptor.
async fn exec(
    stream: HijackedStream,
    cmd: &[String],
    body: Option<BodyFile>,
) -> anyhow::Result<()> {
    let mut command = tokio::process::Command::new(&cmd[0]);
    if let Some(body) = &body {
        command.env(BODY_ENV, &body.0);
    }
    let mut child = command
        .args(&cmd[1..])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| anyhow::anyhow!("cannot run {:?}: {e}", cmd[0]))?;
    // The child's pipes as tokio's own, so that the copy reads and writes them directly, a
    // quarter MiB at a time, as it does the socket.
    let stdin = child.stdin.take().expect("piped stdin").into_owned_fd()?;
    let stdin = pipe::Sender::from_owned_fd(stdin)?;
    let stdout = child.stdout.take().expect("piped stdout").into_owned_fd()?;
    let mut stdout = pipe::Receiver::from_owned_fd(stdout)?;
    let (rd, mut wr) = stream.into_split();
    let input = pump_input(rd, stdin);
    let output = async {
        let copied = hijack_host::copy(&mut stdout, &mut wr).await;
        let _ = wr.shutdown().await;
        copied
    };
    tokio::pin!(input, output);
    let (mut input_end, mut output_end) = (None, None);
    let gone = loop {
        tokio::select! {
            end = &mut input, if input_end.is_none() => input_end = Some(end),
            copied = &mut output, if output_end.is_none() => output_end = Some(copied.is_ok()),
        }
        match (&input_end, output_end) {
            (Some(ClientEnd::Gone), _) | (_, Some(false)) => break true,
            (Some(ClientEnd::Eof), Some(true)) => break false,
            _ => {}
        }
    };
    if gone {
        if tokio::time::timeout(EXEC_GRACE, child.wait())
            .await
            .is_err()
        {
            child.kill().await?;
        }
        return Ok(());
    }
    child.wait().await?;
    Ok(())
}

/// Client → the child's stdin until the client's EOF (then the child's stdin is closed) or
/// its reset. Bytes the child no longer takes are read and dropped, so a reset is still seen.
async fn pump_input(mut rd: HijackedReader, mut stdin: pipe::Sender) -> ClientEnd {
    match hijack_host::copy(&mut rd, &mut stdin).await {
        Ok(_) => return ClientEnd::Eof,
        Err(CopyError::Read(_)) => return ClientEnd::Gone,
        Err(CopyError::Write(_)) => drop(stdin),
    }
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match rd.read(&mut buf).await {
            Ok(0) => return ClientEnd::Eof,
            Ok(_) => {}
            Err(_) => return ClientEnd::Gone,
        }
    }
}

/// The environment variable that names the file holding the request's body, for `--exec`.
const BODY_ENV: &str = "HIJACK_BODY_FILE";

/// A request body in a file of its own (mode 0600) for the child; removed when dropped, once
/// the child is done.
struct BodyFile(std::path::PathBuf);

impl BodyFile {
    fn write(bytes: &[u8]) -> std::io::Result<Self> {
        use std::io::Write as _;
        use std::os::unix::fs::OpenOptionsExt as _;
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("hijack-body-{}-{n}", std::process::id()));
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)?;
        let file = BodyFile(path).with(file.write_all(bytes))?;
        Ok(file)
    }

    /// `self`, unless `result` failed (then the file is removed).
    fn with(self, result: std::io::Result<()>) -> std::io::Result<Self> {
        result.map(|()| self)
    }
}

impl Drop for BodyFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// `400 Bad Request` to a request whose body could not be read (too large, malformed, slow).
async fn bad_body(instance: &mut Instance, incoming: hijack_host::Incoming) -> anyhow::Result<()> {
    let head = ResponseHead {
        version: 1,
        status: 400,
        reason: "Bad Request".into(),
        headers: Vec::new(),
    };
    instance
        .respond(incoming, head, b"the request's body could not be read\n")
        .await?;
    Ok(())
}
