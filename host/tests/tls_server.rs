//! Server-side TLS, terminated by the host (`NetPolicy::tls_server`, `hijack serve
//! --tls-cert --tls-key`): the component's accept loop and hijack unchanged over it, against
//! clients that are not ours — Python's `ssl` (`tests/peers/tls_client.py`) and curl — and
//! our own `hijack dial https://`. The bytes are asserted exactly both ways: the head the
//! component read, the `101` the client got, the early bytes, the echo, the `close_notify`
//! each way. A client that does not speak TLS is dropped before its head, and the server goes
//! on. Every wait is bounded.

use crate::support::tls::{Pki, peer_script, pki};
use crate::support::{LIMIT, bounded, read_exact, read_to_end, run_bounded, runtime};
use hijack_host::{Limits, NetPolicy, TlsServerConfig};
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use tokio::io::AsyncWriteExt;

/// The `101` the component answers `Upgrade: tcp` with.
const SWITCH: &str =
    "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n";

/// `tls_client.py` against `127.0.0.1:port`, trusting the test's CA: its one JSON line.
fn python_client(ca: &Path, port: u16, extra: &[&str]) -> serde_json::Value {
    let mut cmd = Command::new("python3");
    cmd.arg("-u")
        .arg(peer_script("tls_client.py"))
        .args(["--port", &port.to_string(), "--ca"])
        .arg(ca)
        .args(extra);
    let out = run_bounded(cmd, b"", LIMIT);
    let stdout = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
        panic!(
            "tls_client.py: {e}: {stdout:?} {}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn server_tls(pki: &Pki) -> TlsServerConfig {
    TlsServerConfig::from_pem_files(&pki.server_cert, &pki.server_key).expect("server identity")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tls_hijack_hands_over_a_tls_session_to_python_ssl() -> anyhow::Result<()> {
    let pki = pki("server-hijack");
    let any: SocketAddr = "127.0.0.1:0".parse()?;
    let policy = NetPolicy::new()
        .allow_listen(any)
        .tls_server(server_tls(&pki));
    let mut instance = bounded(runtime().instantiate(policy)).await?;
    let listener = bounded(instance.listen(any, Limits::default())).await?;
    let port = listener.local_addr.port();
    let baseline = instance.open_handles();
    let (client, done) = std::sync::mpsc::channel();
    let ca = pki.ca.clone();
    std::thread::spawn(move || {
        let _ = client.send(python_client(&ca, port, &[]));
    });

    // The component read the head through the host's TLS: plaintext, exactly as sent.
    let incoming = bounded(instance.accept(&listener)).await?;
    assert_eq!(incoming.head.method, "GET");
    assert_eq!(incoming.head.target, "/tls");
    assert_eq!(incoming.protocols, ["tcp"]);
    let mut stream = bounded(instance.hijack(incoming, "tcp", vec![])).await?;
    assert!(stream.is_tls());
    // The early bytes came in the same TLS write as the head: buffered, or on the session;
    // either way once, in order.
    assert_eq!(bounded(read_exact(&mut stream, 5)).await, b"early");
    bounded(stream.write_all(b"early")).await?;
    assert_eq!(bounded(read_exact(&mut stream, 4)).await, b"then");
    bounded(stream.write_all(b"then")).await?;
    // The client's close_notify is the end of the stream; ours answers it.
    assert_eq!(bounded(read_to_end(&mut stream)).await, b"");
    bounded(stream.shutdown()).await?;

    let got = tokio::task::spawn_blocking(move || done.recv_timeout(LIMIT)).await??;
    assert_eq!(got["error"], serde_json::Value::Null, "{got}");
    assert_eq!(got["head"], SWITCH);
    assert_eq!(got["echo"], "earlythen");
    assert_eq!(got["eof"], "close_notify");
    // Nothing of the connection is left in the component.
    drop(stream);
    bounded(instance.release_dropped()).await?;
    assert_eq!(instance.open_handles(), baseline);
    Ok(())
}

/// `hijack serve ARGS` started, its `listening on` address read (bounded).
fn serve(args: &[&str]) -> (crate::support::Proc, SocketAddr) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hijack"));
    cmd.arg("serve").args(args);
    crate::support::listening(cmd, LIMIT)
}

#[test]
fn hijack_serve_tls_against_python_curl_and_hijack_dial() {
    let pki = pki("serve-tls");
    let cert = pki.server_cert.display().to_string();
    let key = pki.server_key.display().to_string();
    let ca = pki.ca.display().to_string();
    let (server, addr) = serve(&[
        "--listen",
        "127.0.0.1:0",
        "--tls-cert",
        &cert,
        "--tls-key",
        &key,
        "--echo",
    ]);

    // A client that speaks plain HTTP to it gets no HTTP answer: the handshake fails and the
    // connection is closed.
    let mut plain = std::net::TcpStream::connect(addr).expect("connect");
    plain.set_read_timeout(Some(LIMIT)).expect("timeout");
    plain
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n")
        .expect("write");
    let mut answer = Vec::new();
    let _ = plain.read_to_end(&mut answer);
    assert!(!answer.starts_with(b"HTTP/"), "{answer:?}");

    // Python's ssl: the switch, the early bytes and the echo, close_notify both ways.
    let got = python_client(
        &pki.ca,
        addr.port(),
        &["--early", "first", "--then", "second"],
    );
    assert_eq!(got["error"], serde_json::Value::Null, "{got}");
    assert_eq!(got["head"], SWITCH);
    assert_eq!(got["echo"], "firstsecond");
    assert_eq!(got["eof"], "close_notify");

    // curl without an upgrade: the 426 and its body over TLS.
    let url = format!("https://localhost:{}/plain", addr.port());
    let mut cmd = Command::new("curl");
    cmd.args(["-sS", "-i", "--max-time", "10", "--cacert", &ca, &url]);
    let out = run_bounded(cmd, b"", LIMIT);
    let got = String::from_utf8_lossy(&out.stdout);
    assert!(
        got.starts_with("HTTP/1.1 426 Upgrade Required\r\n"),
        "{got}"
    );
    assert!(got.ends_with("this server switches to: tcp\n"), "{got}");

    // Our own client over TLS, stdin to the echo and back.
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hijack"));
    cmd.args([
        "dial",
        &format!("https://localhost:{}/x", addr.port()),
        "--cacert",
        &ca,
    ]);
    let out = run_bounded(cmd, b"hello over tls", LIMIT);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout, b"hello over tls");

    // An untrusting client is refused by its own side; the server goes on serving.
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hijack"));
    cmd.args(["dial", &format!("https://localhost:{}/x", addr.port())]);
    let out = run_bounded(cmd, b"", LIMIT);
    assert_eq!(out.status.code(), Some(2));
    let got = python_client(&pki.ca, addr.port(), &[]);
    assert_eq!(got["echo"], "earlythen", "{got}");
    let log = server.stderr();
    assert!(log.contains("switched to tcp"), "{log}");
}

#[test]
fn hijack_serve_refuses_a_bad_identity_without_printing_the_key() {
    let pki = pki("serve-bad-identity");
    let bad_key = pki.dir.join("bad-key.pem");
    std::fs::write(
        &bad_key,
        "-----BEGIN PRIVATE KEY-----\nSECRETSECRET\n-----END PRIVATE KEY-----\n",
    )
    .expect("bad key");
    let cert = pki.server_cert.display().to_string();
    for key in [
        bad_key.display().to_string(),
        pki.client_key.display().to_string(),
    ] {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_hijack"));
        cmd.args(["serve", "--listen", "127.0.0.1:0", "--echo"])
            .args(["--tls-cert", &cert, "--tls-key", &key]);
        let out = run_bounded(cmd, b"", LIMIT);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(!stderr.contains("SECRETSECRET"), "{stderr}");
        assert_eq!(out.stdout, b"", "nothing listened");
    }
    // --tls-cert without --tls-key is a usage error.
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hijack"));
    cmd.args([
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--echo",
        "--tls-cert",
        &cert,
    ]);
    let out = run_bounded(cmd, b"", LIMIT);
    assert_eq!(out.status.code(), Some(2));
}
