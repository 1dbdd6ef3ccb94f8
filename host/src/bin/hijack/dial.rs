//! `hijack dial`: the exchange runs in the component; then stdout gets the buffered bytes and
//! the connection, stdin feeds it, and stdin's EOF half-closes it (as `docker attach` does).
//!
//! It reads no HTTP itself: the head it shows comes back from the component, parsed and
//! validated, and the peer's text in it is escaped before it reaches the terminal.

use crate::EXIT_NOT_SWITCHED;
use crate::args::Dial;
use crate::runtime;
use hijack_host::{
    ClientOptions, ClientRequest, Header, HijackError, HijackedStream, Limits, NetPolicy,
    TlsConfig, TlsOptions, stdcopy,
};
use hijack_proto::Authority;
use hijack_proto::escape::{escape, escape_multiline};
use std::io::{Read, Write};
use std::os::fd::AsFd;
use tokio::io::AsyncWriteExt;

/// Run `dial`; the exit code on success or refusal. A reader that goes away (stdout closed:
/// `| head -c 100`) ends it quietly, exit 0, as it ends `cat` and `docker logs` without a word.
pub async fn run(d: Dial) -> anyhow::Result<u8> {
    match exchange(d).await {
        Err(e) if stdout_closed(&e) => Ok(0),
        done => done,
    }
}

/// Whether `e` is a write to a closed pipe: in `dial` only stdout and stderr are written
/// after the handoff (writes to the connection are stdin's task, whose errors end it alone).
fn stdout_closed(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

async fn exchange(d: Dial) -> anyhow::Result<u8> {
    if !d.url.tls && (d.proxy.is_some() || d.cacert.is_some() || d.cert.is_some()) {
        anyhow::bail!(
            "--proxy, --cacert and --cert are for https:// and wss:// URLs (a plain tunnel \
             through a proxy is --connect)"
        );
    }
    if d.url.tls && d.unix_socket.is_some() {
        anyhow::bail!(
            "--unix-socket is for http:// and ws:// URLs (TLS over a unix socket is not supported)"
        );
    }
    // Through a proxy, the only address dialled is the proxy's; to a unix socket, a loopback
    // address the host sends there (the component dials TCP and never names a path).
    let (mut policy, authority) = match (&d.unix_socket, &d.proxy) {
        (Some(path), _) => {
            check_unix_socket(path)?;
            let stand_in = std::net::SocketAddr::from(([127, 0, 0, 1], d.url.port));
            (
                NetPolicy::new().connect_unix(stand_in, path),
                stand_in.to_string(),
            )
        }
        (None, Some(proxy)) => (policy_for(&proxy.host, proxy.port).await?, d.authority()),
        (None, None) => (policy_for(&d.url.host, d.url.port).await?, d.authority()),
    };
    if d.url.tls {
        policy = policy.tls(tls_config(&d)?);
    }
    let runtime = runtime()?;
    let mut instance = runtime.instantiate(policy).await?;
    let mut fields = d.header_fields();
    if d.unix_socket.is_some() && !fields.iter().any(|(n, _)| n.eq_ignore_ascii_case("host")) {
        // The URL's authority, as curl sends it over a unix socket, not the stand-in's.
        fields.insert(0, ("Host".to_string(), d.authority()));
    }
    let request = ClientRequest {
        method: d.method().to_string(),
        target: d.target().to_string(),
        upgrade: d.upgrade().to_string(),
        headers: fields
            .iter()
            .map(|(n, v)| Header::new(n, v.as_bytes()))
            .collect(),
        body: d.body().map(|s| s.as_bytes().to_vec()),
    };
    let options = ClientOptions {
        limits: Limits {
            head_timeout_ms: d.head_timeout_ms,
            max_head_bytes: d.max_head_bytes,
            max_headers: None,
        },
        connect_timeout_ms: d.connect_timeout_ms,
        keepalive_ms: d.keepalive_ms,
        allow_200: d.allow_200,
    };
    let dialled = if d.url.tls {
        let tls = TlsOptions {
            server_name: None,
            proxy: d.proxy.as_ref().map(|p| p.authority()),
            proxy_headers: d
                .proxy
                .iter()
                .filter_map(|p| p.credentials.as_ref())
                .map(|c| Header::new("Proxy-Authorization", c.0.as_bytes()))
                .collect(),
        };
        instance.dial_tls(&authority, request, options, tls).await
    } else {
        instance.dial(&authority, request, options).await
    };
    let (head, stream) = match dialled {
        Ok(ok) => ok,
        Err(e) => return refusal(e),
    };
    eprint!(
        "{}",
        render_head(head.version, head.status, &head.reason, &head.headers)
    );
    if d.stdcopy {
        let (from_peer, mut to_peer) = stream.into_split();
        // stdin → connection, then half-close; it may never end, so it is not awaited.
        tokio::spawn(async move {
            let mut stdin = tokio::io::stdin();
            let _ = tokio::io::copy(&mut stdin, &mut to_peer).await;
            let _ = to_peer.shutdown().await;
        });
        let mut stdout = tokio::io::stdout();
        let stderr = tokio::io::stderr();
        stdcopy::demux(from_peer, &mut stdout, stderr, stdcopy::DEFAULT_MAX_FRAME).await?;
        stdout.flush().await?;
        return Ok(0);
    }
    // Raw bytes: the socket itself, in plain blocking reads and writes on threads of their
    // own, as a native client would move them. Over TLS, the session's own async stream.
    let (buffered, socket) = match stream.into_parts() {
        Ok(parts) => parts,
        Err(stream) => return copy_async(stream).await,
    };
    let socket = socket.into_std()?;
    socket.set_nonblocking(false)?;
    let to_peer = socket.try_clone()?;
    // stdin → connection, then half-close; it may never end, so it is not joined.
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut std::io::stdin().lock(), &mut &to_peer);
        let _ = to_peer.shutdown(std::net::Shutdown::Write);
    });
    match tokio::task::spawn_blocking(move || copy_to_stdout(&buffered, socket)).await {
        Ok(result) => result?,
        Err(_) => return Err(anyhow::anyhow!("the stdout copy failed")),
    };
    Ok(0)
}

/// The connection to stdout and stdin to the connection, async: for a TLS session, which
/// decrypts on read and encrypts on write. Each chunk goes out as it arrives.
async fn copy_async(stream: HijackedStream) -> anyhow::Result<u8> {
    let (mut from_peer, mut to_peer) = stream.into_split();
    // stdin → connection, then half-close (TLS close_notify); it may never end.
    tokio::spawn(async move {
        let mut stdin = tokio::io::stdin();
        let _ = tokio::io::copy(&mut stdin, &mut to_peer).await;
        let _ = to_peer.shutdown().await;
    });
    let mut stdout = tokio::io::stdout();
    while let Some(chunk) = from_peer.read_chunk(COPY_BUFFER).await? {
        stdout.write_all(&chunk).await?;
        stdout.flush().await?;
    }
    Ok(0)
}

/// The trust for a TLS dial: the system's roots, `--cacert`'s, and `--cert`/`--key`.
fn tls_config(d: &Dial) -> anyhow::Result<TlsConfig> {
    let mut builder = TlsConfig::builder();
    if let Some(ca) = &d.cacert {
        builder = builder.add_ca_file(ca)?;
    }
    if let (Some(cert), Some(key)) = (&d.cert, &d.key) {
        builder = builder.identity_files(cert, key)?;
    }
    Ok(builder.build()?)
}

/// Bytes per read of the socket: as large as the native client's (benches/throughput.rs).
const COPY_BUFFER: usize = 256 * 1024;

/// The buffered bytes, then the connection until the peer closes its side, to stdout: one
/// read into one buffer, one write of what it got, straight to the descriptor (std's `Stdout`
/// is line-buffered). Nothing is held back, so an interactive session sees every chunk.
/// Plain reads and writes rather than `splice(2)` through a pipe: splice wins only when stdout
/// is a file on tmpfs, and is slower and far less steady on a disk file system such as ext4.
fn copy_to_stdout(buffered: &[u8], mut socket: std::net::TcpStream) -> std::io::Result<u64> {
    let mut stdout = std::fs::File::from(std::io::stdout().as_fd().try_clone_to_owned()?);
    stdout.write_all(buffered)?;
    let mut total = buffered.len() as u64;
    let mut buf = vec![0u8; COPY_BUFFER];
    loop {
        let n = match socket.read(&mut buf) {
            Ok(0) => return Ok(total),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        stdout.write_all(&buf[..n])?;
        total += n as u64;
    }
}

/// A path that is a unix socket, or one line saying what it is instead.
fn check_unix_socket(path: &std::path::Path) -> anyhow::Result<()> {
    use std::os::unix::fs::FileTypeExt;
    let meta = std::fs::metadata(path)
        .map_err(|e| anyhow::anyhow!("unix socket {}: {e}", path.display()))?;
    if !meta.file_type().is_socket() {
        anyhow::bail!("unix socket {}: not a socket", path.display());
    }
    Ok(())
}

/// Least privilege: connect to exactly the addresses the host name stands for, and look
/// names up only when it is a name.
async fn policy_for(host: &str, port: u16) -> anyhow::Result<NetPolicy> {
    let is_name = Authority { host, port }.ip().is_none();
    let mut policy = NetPolicy::new().allow_name_lookup(is_name);
    let addrs = tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| anyhow::anyhow!("cannot resolve {host}: {e}"))?;
    for addr in addrs {
        policy = policy.allow_connect(addr);
    }
    Ok(policy)
}

/// A refusal shows the head and a little of the body on stderr (exit 1); anything else is one
/// line (exit 2, from main).
fn refusal(e: hijack_host::Error) -> anyhow::Result<u8> {
    match e.hijack() {
        Some(HijackError::NotSwitched(r)) => {
            let mut err = std::io::stderr().lock();
            let _ = err.write_all(
                render_head(
                    r.head.version,
                    r.head.status,
                    &r.head.reason,
                    &r.head.headers,
                )
                .as_bytes(),
            );
            // A hostile server must not drive the user's terminal: its text is escaped.
            let body = escape_multiline(&r.body);
            let _ = err.write_all(body.as_bytes());
            if !body.ends_with('\n') && !body.is_empty() {
                let _ = err.write_all(b"\n");
            }
            let _ = writeln!(
                err,
                "hijack: the peer did not switch protocols: {} {}",
                r.head.status,
                escape(r.head.reason.as_bytes())
            );
            Ok(EXIT_NOT_SWITCHED)
        }
        Some(HijackError::InvalidSwitch(h)) => {
            eprint!(
                "{}",
                render_head(h.version, h.status, &h.reason, &h.headers)
            );
            eprintln!("hijack: {e}");
            Ok(EXIT_NOT_SWITCHED)
        }
        _ => Err(e.into()),
    }
}

/// A head as text for the terminal: status line, then one line per field, then a blank line.
/// The peer's reason phrase and field values are escaped.
pub fn render_head(version: u8, status: u16, reason: &str, headers: &[Header]) -> String {
    let mut out = format!(
        "HTTP/1.{version} {status} {}\r\n",
        escape(reason.as_bytes())
    );
    for h in headers {
        out.push_str(&format!("{}: {}\r\n", h.name, escape(&h.value)));
    }
    out.push_str("\r\n");
    out
}
