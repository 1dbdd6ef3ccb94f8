//! Unix sockets as a host capability (`NetPolicy::connect_unix`, `hijack dial --unix-socket`):
//! the component dials TCP as always, the host sends that one address to a unix socket, and
//! the connection handed over is the native `UnixStream`. The peer is Python's
//! `socketserver.UnixStreamServer` (`tests/peers/unix_switch.py`); every byte is asserted
//! both ways. Every wait is bounded.

use crate::support::tls::{peer_script, scratch_dir};
use crate::support::{
    LIMIT, Proc, bounded, read_exact, read_to_end, run_bounded, runtime, typed_err,
};
use hijack_host::{ClientOptions, ClientRequest, ErrorCode, HijackError, NetPolicy};
use std::path::{Path, PathBuf};
use std::process::Command;
use tokio::io::AsyncWriteExt;

/// `unix_switch.py` listening at a fresh path (killed when the `Proc` is dropped).
fn unix_peer(test: &str) -> (Proc, PathBuf, PathBuf) {
    let dir = scratch_dir(test);
    let path = dir.join("peer.sock");
    let mut cmd = Command::new("python3");
    cmd.arg("-u").arg(peer_script("unix_switch.py")).arg(&path);
    let peer = Proc::spawn(cmd);
    let line = peer.first_line(LIMIT);
    assert_eq!(line, format!("listening on {}", path.display()));
    (peer, path, dir)
}

/// The request head the peer logged for connection `conn`.
fn head_of(peer: &Proc, conn: u64) -> String {
    peer.wait_for("a request head", LIMIT, |out, _| {
        String::from_utf8_lossy(out)
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .find(|e| e["conn"] == conn && e.get("head").is_some())
            .map(|e| e["head"].as_str().unwrap_or_default().to_string())
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connect_the_policy_sends_to_a_unix_socket_hands_over_the_unix_stream()
-> anyhow::Result<()> {
    let (peer, path, _dir) = unix_peer("unix-library");
    let stand_in = "127.0.0.1:2375".parse()?;
    let policy = NetPolicy::new().connect_unix(stand_in, &path);
    let mut instance = bounded(runtime().instantiate(policy)).await?;
    let request = ClientRequest::new("POST", "/containers/c1/attach?stream=1", "tcp");
    let (head, mut stream) =
        bounded(instance.dial("127.0.0.1:2375", request, ClientOptions::default())).await?;
    assert_eq!((head.status, head.reason.as_str()), (101, "UPGRADED"));
    assert!(stream.is_unix() && !stream.is_tls());
    assert_eq!(
        head_of(&peer, 0),
        "POST /containers/c1/attach?stream=1 HTTP/1.1\r\nHost: 127.0.0.1:2375\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n"
    );
    assert_eq!(bounded(read_exact(&mut stream, 6)).await, b"early:");
    bounded(stream.write_all(b"over a unix socket")).await?;
    // A half-close of the unix stream reaches the peer, whose echo then ends.
    bounded(stream.shutdown()).await?;
    assert_eq!(
        bounded(read_to_end(&mut stream)).await,
        b"OVER A UNIX SOCKET"
    );
    // No other address is granted; the socket is only behind the one given.
    let denied = bounded(instance.dial(
        "127.0.0.1:2376",
        ClientRequest::new("GET", "/", "tcp"),
        ClientOptions::default(),
    ))
    .await;
    assert!(matches!(
        typed_err(denied),
        HijackError::Connect(ErrorCode::AccessDenied)
    ));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_unix_socket_is_a_refused_connect() -> anyhow::Result<()> {
    let dir = scratch_dir("unix-missing");
    let stand_in = "127.0.0.1:2375".parse()?;
    let policy = NetPolicy::new().connect_unix(stand_in, dir.join("nobody.sock"));
    let mut instance = bounded(runtime().instantiate(policy)).await?;
    let got = bounded(instance.dial(
        "127.0.0.1:2375",
        ClientRequest::new("GET", "/", "tcp"),
        ClientOptions::default(),
    ))
    .await;
    assert!(matches!(
        typed_err(got),
        HijackError::Connect(ErrorCode::ConnectionRefused)
    ));
    Ok(())
}

fn hijack_dial(args: &[&str], stdin: &[u8]) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hijack"));
    cmd.arg("dial").args(args);
    run_bounded(cmd, stdin, LIMIT)
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn hijack_dial_unix_socket_as_curl_and_docker_do() {
    let (peer, path, dir) = unix_peer("unix-cli");
    let sock = path.display().to_string();
    // A host name that resolves nowhere: over a unix socket nothing is looked up.
    let out = hijack_dial(
        &[
            "--unix-socket",
            &sock,
            "-X",
            "POST",
            "http://docker/v1.41/containers/c1/attach?stream=1&stdin=1&stdout=1",
        ],
        b"hello",
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(out.stdout, b"early:HELLO");
    assert!(text(&out.stderr).starts_with("HTTP/1.1 101 UPGRADED\r\n"));
    assert_eq!(
        head_of(&peer, 0),
        "POST /v1.41/containers/c1/attach?stream=1&stdin=1&stdout=1 HTTP/1.1\r\nHost: docker:80\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n"
    );
    // A path that is no socket, or nothing at all: one line, exit 2.
    let missing = dir.join("missing.sock");
    for (p, why) in [
        (missing.as_path(), "No such file"),
        (Path::new(env!("CARGO_BIN_EXE_hijack")), "not a socket"),
    ] {
        let out = hijack_dial(
            &["--unix-socket", &p.display().to_string(), "http://x/"],
            b"",
        );
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(why), "{err}");
    }
    // TLS over a unix socket is refused up front.
    let out = hijack_dial(&["--unix-socket", &sock, "https://x/"], b"");
    assert_eq!(out.status.code(), Some(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_moves_a_unix_stream_to_and_from_pipes_exactly() -> anyhow::Result<()> {
    // `hijack_host::copy` between the handed-over unix stream and pipes: pipe → socket and
    // socket → pipe on the descriptors directly; the peer's `early:`, read with the 101, goes
    // first through the buffer. Every byte back is checked.
    let (_peer, path, _dir) = unix_peer("unix-copy");
    let stand_in = "127.0.0.1:2375".parse()?;
    let mut instance =
        bounded(runtime().instantiate(NetPolicy::new().connect_unix(stand_in, &path))).await?;
    let request = ClientRequest::new("POST", "/exec/e1/start", "tcp");
    let (_, stream) =
        bounded(instance.dial("127.0.0.1:2375", request, ClientOptions::default())).await?;
    let (mut reader, mut writer) = stream.into_split();
    let sent: Vec<u8> = (0..(2 << 20)).map(|i| b'a' + (i % 26) as u8).collect();
    let (mut to_socket_tx, mut to_socket_rx) = tokio::net::unix::pipe::pipe()?;
    let (mut from_socket_tx, mut from_socket_rx) = tokio::net::unix::pipe::pipe()?;
    let feed = {
        let sent = sent.clone();
        tokio::spawn(async move {
            to_socket_tx.write_all(&sent).await?;
            drop(to_socket_tx);
            anyhow::Ok(())
        })
    };
    let up = tokio::spawn(async move {
        let n = hijack_host::copy(&mut to_socket_rx, &mut writer).await?;
        writer.shutdown().await?;
        anyhow::Ok(n)
    });
    let down = tokio::spawn(async move {
        let n = hijack_host::copy(&mut reader, &mut from_socket_tx).await?;
        drop(from_socket_tx);
        anyhow::Ok(n)
    });
    let got = bounded(async {
        let mut got = Vec::new();
        tokio::io::AsyncReadExt::read_to_end(&mut from_socket_rx, &mut got).await?;
        anyhow::Ok(got)
    })
    .await?;
    bounded(feed).await??;
    assert_eq!(bounded(up).await??, sent.len() as u64);
    let mut want = b"early:".to_vec();
    want.extend(sent.iter().map(u8::to_ascii_uppercase));
    assert_eq!(bounded(down).await??, want.len() as u64);
    assert_eq!(got.len(), want.len());
    assert!(got == want, "the bytes through the pipes differ");
    Ok(())
}
