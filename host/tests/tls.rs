//! Client TLS (`https`, `wss`): the component's exchange over the host's wasi:tls against
//! peers that are not ours — Python's `ssl` and `websockets` servers, a Python CONNECT proxy
//! (`tests/peers/`) — with certificates made for each test (`support::tls`). The bytes on
//! both sides are asserted exactly: the request head the server got, the `101`, the bytes
//! decrypted past it, the echo, the `close_notify` each way; and each way a handshake fails has
//! its kind. Last, the `hijack` CLI's `https://` dial. Every wait is bounded.

use crate::support::tls::{CLIENT_CN, Pki, events_of, pki, python_peer, wait_event};
use crate::support::{
    LIMIT, Proc, accept_tcp, bounded, join, listener, read_exact, read_to_end, run_bounded,
};
use hijack_host::{
    ClientOptions, ClientRequest, Header, HijackError, HijackedStream, NetPolicy, ResponseHead,
    TlsConfig, TlsFailure, TlsOptions,
};
use std::net::SocketAddr;
use std::process::Command;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The `101` head `tls_switch.py` answers with.
const SWITCH: &str =
    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: tcp\r\nConnection: Upgrade\r\n\r\n";

/// Trust the test's server CA only.
fn trusting(pki: &Pki) -> TlsConfig {
    TlsConfig::builder()
        .without_system_roots()
        .add_ca_file(&pki.ca)
        .expect("CA file")
        .build()
        .expect("TLS config")
}

/// A name lookup and a connect to `addr` (what `localhost:PORT` resolves to that listens), with
/// `tls` as the trust.
fn to_localhost(addr: SocketAddr, tls: TlsConfig) -> NetPolicy {
    NetPolicy::new()
        .allow_name_lookup(true)
        .allow_connect(addr)
        .tls(tls)
}

/// No proxy, the authority's host as the server name.
fn direct() -> TlsOptions {
    TlsOptions {
        server_name: None,
        proxy: None,
        proxy_headers: Vec::new(),
    }
}

/// `tls_switch.py` with the test's server certificate and `args`.
fn switch_server(pki: &Pki, args: &[&str]) -> (Proc, SocketAddr) {
    let mut all = vec![
        "--cert".to_string(),
        pki.server_cert.display().to_string(),
        "--key".to_string(),
        pki.server_key.display().to_string(),
    ];
    all.extend(args.iter().map(|s| s.to_string()));
    python_peer("tls_switch.py", &all)
}

/// The request head the component sends for `GET /x` with `Upgrade: tcp` to `localhost:port`.
fn get_x_head(port: u16) -> String {
    format!(
        "GET /x HTTP/1.1\r\nHost: localhost:{port}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n"
    )
}

/// `GET /x` asking for `tcp`, over TLS to `localhost:port`, bounded.
async fn dial_x(
    instance: &mut hijack_host::Instance,
    port: u16,
    tls: TlsOptions,
) -> Result<(ResponseHead, HijackedStream), hijack_host::Error> {
    let request = ClientRequest::new("GET", "/x", "tcp");
    bounded(instance.dial_tls(
        &format!("localhost:{port}"),
        request,
        ClientOptions::default(),
        tls,
    ))
    .await
}

/// A head's fields as text pairs, in order.
fn fields(head: &ResponseHead) -> Vec<(String, String)> {
    head.headers
        .iter()
        .map(|h| {
            (
                h.name.clone(),
                String::from_utf8_lossy(&h.value).into_owned(),
            )
        })
        .collect()
}

/// The fields of [`SWITCH`].
fn switch_fields() -> Vec<(String, String)> {
    vec![
        ("Upgrade".into(), "tcp".into()),
        ("Connection".into(), "Upgrade".into()),
    ]
}

/// The error of a dial on `instance` that must fail: nothing was handed over and the
/// component holds no handle; its `Display` is one line that starts with `prefix`.
#[track_caller]
fn tls_err<T>(
    instance: &mut hijack_host::Instance,
    result: Result<T, hijack_host::Error>,
    prefix: &str,
) -> hijack_host::Error {
    let e = match result {
        Ok(_) => panic!("the TLS dial succeeded"),
        Err(e) => e,
    };
    let line = e.to_string();
    assert!(line.starts_with(prefix), "{line}");
    assert!(!line.contains('\n'), "{line:?}");
    assert_eq!(instance.open_handles(), 0, "handles left after {line}");
    e
}

/// Write `bytes`, then read `unread` bytes the peer sent before and as many as `bytes` back (the
/// peer echoes), bounded.
async fn echo(conn: &mut HijackedStream, unread: usize, bytes: &[u8]) -> Vec<u8> {
    bounded(conn.write_all(bytes)).await.expect("write");
    bounded(conn.flush()).await.expect("flush");
    read_exact(conn, unread + bytes.len()).await
}

/// Send `close_notify` and half-close, then read to the peer's: nothing more comes.
async fn close_both_ways(conn: &mut HijackedStream) {
    bounded(conn.shutdown())
        .await
        .expect("shutdown (close_notify)");
    assert_eq!(read_to_end(conn).await, b"", "bytes after the echo");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn switch_over_tls_hands_over_the_session_with_its_early_bytes() -> anyhow::Result<()> {
    let pki = pki("switch");
    let (server, addr) = switch_server(&pki, &["--early", "early"]);
    let mut instance = runtime_instance(to_localhost(addr, trusting(&pki))).await?;
    let (head, mut conn) = dial_x(&mut instance, addr.port(), direct()).await?;

    // The request head, exactly as the component wrote it, decrypted by the server.
    let got = wait_event(&server, 0, "head");
    assert_eq!(got["head"], get_x_head(addr.port()));
    // The 101, and the bytes that came in its record, decrypted and handed over.
    assert_eq!(
        (head.status, head.reason.as_str()),
        (101, "Switching Protocols")
    );
    assert_eq!(fields(&head), switch_fields());
    assert!(conn.is_tls());
    assert_eq!(conn.buffered(), b"early");

    // Then the session itself, host-side: the early bytes first, then the echo.
    assert_eq!(echo(&mut conn, 5, b"hello").await, b"earlyhello");
    assert_eq!(echo(&mut conn, 0, b" again").await, b" again");
    close_both_ways(&mut conn).await;
    let end = wait_event(&server, 0, "eof");
    assert_eq!(end["eof"], "close_notify", "{end}");
    assert_eq!(end["echoed"], 11);
    // A TLS stream has no plaintext socket to give.
    assert!(conn.into_parts().is_err());
    Ok(())
}

/// Deterministic bytes of length `n` for `seed` (xorshift), starting with something that looks
/// like another HTTP head: none of it is the component's to parse.
fn payload(seed: u64, n: usize) -> Vec<u8> {
    let mut out = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n".to_vec();
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    while out.len() < n {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.push((x >> 24) as u8);
    }
    out.truncate(n);
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bytes_past_the_101_are_exact_across_tls_record_splits() -> anyhow::Result<()> {
    let pki = pki("splits");
    // (seed for the record sizes, or none: the 101 and the early bytes in one record; length)
    let cases: [(Option<u64>, usize); 6] = [
        (None, 5_000),
        (Some(1), 300),
        (Some(2), 20_000),
        (Some(3), 70_000),
        (Some(4), 4_000),
        (Some(5), 1),
    ];
    for (seed, len) in cases {
        let early = payload(seed.unwrap_or(0) + len as u64, len);
        let file = pki.dir.join(format!("early-{seed:?}-{len}.bin"));
        std::fs::write(&file, &early)?;
        let mut args = vec!["--early-file".to_string(), file.display().to_string()];
        if let Some(seed) = seed {
            args.extend(["--chunks".to_string(), seed.to_string()]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (server, addr) = switch_server(&pki, &args);
        let mut instance = runtime_instance(to_localhost(addr, trusting(&pki))).await?;
        let (head, mut conn) = dial_x(&mut instance, addr.port(), direct()).await?;
        assert_eq!(
            (head.status, fields(&head)),
            (101, switch_fields()),
            "{seed:?}"
        );
        let buffered = conn.buffered().to_vec();
        assert!(
            early.starts_with(&buffered),
            "seed {seed:?}: the {} buffered bytes are not the first sent",
            buffered.len()
        );
        if seed.is_none() {
            // One record: all of it was decrypted with the head.
            assert_eq!(buffered.len(), len, "one record");
        }
        // The buffered bytes, then the session: exactly what was sent, none lost, none twice.
        let got = read_exact(&mut conn, len).await;
        assert!(
            got == early,
            "seed {seed:?}, {len} bytes: not the bytes sent"
        );
        let sent = wait_event(&server, 0, "sent");
        assert_eq!(sent["sent"], SWITCH.len() + len);
        close_both_ways(&mut conn).await;
        let end = wait_event(&server, 0, "eof");
        assert_eq!(
            (&end["eof"], &end["echoed"]),
            (&"close_notify".into(), &0.into())
        );
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn split_halves_stream_a_mebibyte_both_ways_over_one_session() -> anyhow::Result<()> {
    let pki = pki("split");
    let (server, addr) = switch_server(&pki, &["--early", "early"]);
    let mut instance = runtime_instance(to_localhost(addr, trusting(&pki))).await?;
    let (_, conn) = dial_x(&mut instance, addr.port(), direct()).await?;
    let (mut reader, mut writer) = conn.into_split();
    assert_eq!(reader.buffered(), b"early");
    let data = payload(7, 1 << 20);
    // The writer and the reader at once (the echo sends back while we still send), sharing
    // the one TLS session; the writer's shutdown is the `close_notify`.
    let sent = data.clone();
    let writing = tokio::spawn(async move {
        for piece in sent.chunks(10_000) {
            writer.write_all(piece).await?;
        }
        writer.shutdown().await?;
        anyhow::Ok(())
    });
    let reading = tokio::spawn(async move {
        let mut got = Vec::new();
        while let Some(chunk) = reader.read_chunk(64 * 1024).await? {
            got.extend_from_slice(&chunk);
        }
        anyhow::Ok(got)
    });
    join(writing).await?;
    let got = join(reading).await?;
    assert_eq!(got.len(), 5 + data.len());
    assert!(
        got[..5] == *b"early" && got[5..] == data[..],
        "not the bytes sent"
    );
    let end = wait_event(&server, 0, "eof");
    assert_eq!(
        (&end["eof"], &end["echoed"]),
        (&"close_notify".into(), &data.len().into())
    );
    Ok(())
}

async fn runtime_instance(policy: NetPolicy) -> Result<hijack_host::Instance, hijack_host::Error> {
    crate::support::runtime().instantiate(policy).await
}

/// A masked client frame (RFC 6455 §5.3), FIN set, payload under 126 bytes.
fn masked(opcode: u8, payload: &[u8], mask: [u8; 4]) -> Vec<u8> {
    assert!(payload.len() < 126);
    let mut frame = vec![0x80 | opcode, 0x80 | payload.len() as u8];
    frame.extend_from_slice(&mask);
    frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    frame
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wss_handshake_and_echo_with_pythons_websockets() -> anyhow::Result<()> {
    let pki = pki("wss");
    let (server, addr) = python_peer("wss_echo.py", &[&pki.server_cert, &pki.server_key]);
    let mut instance = runtime_instance(to_localhost(addr, trusting(&pki))).await?;
    let request = ClientRequest::new("GET", "/chat", "websocket");
    let (head, mut conn) = bounded(instance.dial_tls(
        &format!("localhost:{}", addr.port()),
        request,
        ClientOptions::default(),
        direct(),
    ))
    .await?;
    // websockets checked our key and version; the component checked its accept.
    assert_eq!(head.status, 101);
    let names: Vec<String> = fields(&head)
        .into_iter()
        .map(|(n, _)| n.to_ascii_lowercase())
        .collect();
    assert!(
        names.iter().any(|n| n == "sec-websocket-accept"),
        "{names:?}"
    );
    assert_eq!(conn.buffered(), b"");
    server.wait_for("the path", LIMIT, |out, _| {
        String::from_utf8_lossy(out)
            .contains(r#"{"path": "/chat"}"#)
            .then_some(())
    });

    // A masked text frame out; the echo comes back unmasked (server frames are not masked).
    let text = b"hello over wss";
    let frame = masked(0x1, text, [0x37, 0xfa, 0x21, 0x3d]);
    bounded(conn.write_all(&frame)).await?;
    let mut expected = vec![0x81, text.len() as u8];
    expected.extend_from_slice(text);
    assert_eq!(read_exact(&mut conn, expected.len()).await, expected);

    // The close handshake: 1000 out, 1000 back.
    bounded(conn.write_all(&masked(0x8, &1000u16.to_be_bytes(), [1, 2, 3, 4]))).await?;
    assert_eq!(read_exact(&mut conn, 4).await, [0x88, 0x02, 0x03, 0xe8]);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_a_connect_proxy_the_proxy_sees_the_name_and_ciphertext_only() -> anyhow::Result<()>
{
    let pki = pki("proxy");
    let (server, origin) = switch_server(&pki, &["--early", "early"]);
    let record = pki.dir.join("record");
    std::fs::create_dir(&record)?;
    let (proxy, proxy_addr) = python_peer(
        "connect_proxy.py",
        &["--record".as_ref(), record.as_os_str()],
    );
    // The only address the component may reach is the proxy's: no name lookup either.
    let policy = NetPolicy::new()
        .allow_connect(proxy_addr)
        .tls(trusting(&pki));
    let mut instance = runtime_instance(policy).await?;
    let tls = TlsOptions {
        server_name: None,
        proxy: Some(proxy_addr.to_string()),
        proxy_headers: vec![Header::new("Proxy-Authorization", "Basic dGVzdDp0ZXN0")],
    };
    let (head, mut conn) = dial_x(&mut instance, origin.port(), tls).await?;
    assert_eq!((head.status, fields(&head)), (101, switch_fields()));
    assert_eq!(conn.buffered(), b"early");
    assert_eq!(
        echo(&mut conn, 5, b"secret hello").await,
        b"earlysecret hello"
    );
    close_both_ways(&mut conn).await;

    // The proxy was asked for the origin by name, with the proxy's header.
    let port = origin.port();
    let connect = wait_event(&proxy, 0, "head");
    assert_eq!(
        connect["head"],
        format!(
            "CONNECT localhost:{port} HTTP/1.1\r\nHost: localhost:{port}\r\nProxy-Authorization: Basic dGVzdDp0ZXN0\r\n\r\n"
        ),
        "{connect}"
    );
    // The origin got the request through the tunnel, decrypted only there.
    assert_eq!(wait_event(&server, 0, "head")["head"], get_x_head(port));
    let end = wait_event(&server, 0, "eof");
    assert_eq!(
        (&end["eof"], &end["echoed"]),
        (&"close_notify".into(), &12.into())
    );
    // What the proxy relayed towards the origin: TLS records, none of the plaintext.
    let relayed = wait_event(&proxy, 0, "up");
    let up = std::fs::read(record.join("up-0.bin"))?;
    assert_eq!(relayed["up"], up.len());
    assert_eq!(up.first(), Some(&0x16), "a TLS handshake record first");
    for plain in [&b"GET /x"[..], b"Upgrade", b"secret hello"] {
        assert!(
            !up.windows(plain.len()).any(|w| w == plain),
            "the proxy saw {:?} in clear",
            String::from_utf8_lossy(plain)
        );
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutual_tls_refused_without_a_client_certificate_and_accepted_with_one()
-> anyhow::Result<()> {
    let pki = pki("mtls");
    let client_ca = pki.client_ca.display().to_string();
    for tls12 in [false, true] {
        let mut args = vec!["--client-ca", &client_ca, "--early", "early"];
        if tls12 {
            args.push("--tls12");
        }
        let (server, addr) = switch_server(&pki, &args);

        // Without an identity: the server refuses. In TLS 1.3 its alert comes after the
        // client's handshake is done, while the component reads the response head (its `io`
        // error); in TLS 1.2 during the handshake (its `tls` error).
        let mut instance = runtime_instance(to_localhost(addr, trusting(&pki))).await?;
        // (In TLS 1.3 the one line is the `io` error's: `i/o error: tls: the peer refused: ...`.)
        let line = if tls12 {
            "tls: the peer refused: received fatal alert: HandshakeFailure"
        } else {
            "i/o error: tls: the peer refused: received fatal alert: CertificateRequired"
        };
        let dialled = dial_x(&mut instance, addr.port(), direct()).await;
        let e = tls_err(&mut instance, dialled, line);
        assert_eq!(e.to_string(), line);
        assert_eq!(
            e.tls_failure(),
            Some(TlsFailure::Refused),
            "tls12 {tls12}: {e}"
        );
        if tls12 {
            assert!(matches!(e.hijack(), Some(HijackError::Tls(_))), "{e:?}");
        } else {
            assert!(matches!(e.hijack(), Some(HijackError::Io(_))), "{e:?}");
        }
        let failed = wait_event(&server, 0, "error");
        assert!(
            events_of(&server, 0)
                .iter()
                .all(|e| e.get("head").is_none()),
            "the server read a request: {failed}"
        );

        // With one: the server names the client, and the switch goes as ever.
        let identity = TlsConfig::builder()
            .without_system_roots()
            .add_ca_file(&pki.ca)?
            .identity_files(&pki.client_cert, &pki.client_key)?
            .build()?;
        let mut instance = runtime_instance(to_localhost(addr, identity)).await?;
        let (head, mut conn) = dial_x(&mut instance, addr.port(), direct()).await?;
        assert_eq!(head.status, 101);
        assert_eq!(wait_event(&server, 1, "client_cn")["client_cn"], CLIENT_CN);
        assert_eq!(echo(&mut conn, 5, b"hi").await, b"earlyhi");
        close_both_ways(&mut conn).await;
        assert_eq!(wait_event(&server, 1, "eof")["eof"], "close_notify");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn untrusted_wrong_name_and_not_tls_each_fail_with_their_kind() -> anyhow::Result<()> {
    let pki = pki("failures");
    let (server, addr) = switch_server(&pki, &[]);

    // No CA of ours: neither with no roots at all, nor with the system's.
    let no_roots = TlsConfig::builder().without_system_roots().build()?;
    for (what, config) in [
        ("no roots", no_roots),
        ("system roots", TlsConfig::default()),
    ] {
        let mut instance = runtime_instance(to_localhost(addr, config)).await?;
        let dialled = dial_x(&mut instance, addr.port(), direct()).await;
        let e = tls_err(
            &mut instance,
            dialled,
            "tls: certificate not trusted: invalid peer certificate: UnknownIssuer",
        );
        assert_eq!(
            e.tls_failure(),
            Some(TlsFailure::UntrustedCertificate),
            "{what}: {e}"
        );
        assert!(
            matches!(e.hijack(), Some(HijackError::Tls(_))),
            "{what}: {e:?}"
        );
    }

    // Our CA, but a name the certificate is not for.
    let mut instance = runtime_instance(to_localhost(addr, trusting(&pki))).await?;
    let other = TlsOptions {
        server_name: Some("other.test".into()),
        ..direct()
    };
    let dialled = dial_x(&mut instance, addr.port(), other).await;
    let e = tls_err(
        &mut instance,
        dialled,
        "tls: certificate not valid for the name: invalid peer certificate: certificate not \
         valid for name \"other.test\"",
    );
    assert_eq!(e.tls_failure(), Some(TlsFailure::NameMismatch), "{e}");
    assert!(matches!(e.hijack(), Some(HijackError::Tls(_))), "{e:?}");
    // None of them got as far as a request.
    for conn in 0..3 {
        wait_event(&server, conn, "error");
        assert!(
            events_of(&server, conn)
                .iter()
                .all(|e| e.get("head").is_none())
        );
    }

    // A plaintext HTTP server: it reads the ClientHello, answers 400 and closes.
    let (plain, plain_addr) = listener().await;
    let peer = tokio::spawn(async move {
        let (mut s, _) = accept_tcp(&plain).await;
        let mut hello = [0u8; 5];
        bounded(s.read_exact(&mut hello)).await?;
        bounded(s.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n")).await?;
        bounded(s.shutdown()).await?;
        anyhow::Ok(hello)
    });
    let mut instance = runtime_instance(to_localhost(plain_addr, trusting(&pki))).await?;
    let dialled = dial_x(&mut instance, plain_addr.port(), direct()).await;
    let e = tls_err(
        &mut instance,
        dialled,
        "tls: the peer does not speak TLS: received corrupt message of type InvalidContentType",
    );
    assert_eq!(e.tls_failure(), Some(TlsFailure::NotTls), "{e}");
    assert!(matches!(e.hijack(), Some(HijackError::Tls(_))), "{e:?}");
    // What it got was a TLS handshake record.
    assert_eq!(join(peer).await?[0], 0x16);
    Ok(())
}

/// `hijack dial ARGS` with `stdin` fed and closed, bounded.
fn hijack_dial(args: &[&str], stdin: &[u8]) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hijack"));
    cmd.arg("dial").args(args);
    run_bounded(cmd, stdin, LIMIT)
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn cli_dials_https_with_cacert_identity_and_proxy() {
    let pki = pki("cli");
    let ca = pki.ca.display().to_string();
    let (server, addr) = switch_server(&pki, &["--early", "early"]);
    let url = format!("https://localhost:{}/x", addr.port());

    let out = hijack_dial(&[&url, "--cacert", &ca], b"hello");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(out.stdout, b"earlyhello");
    assert!(
        text(&out.stderr).starts_with(SWITCH),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(wait_event(&server, 0, "eof")["eof"], "close_notify");

    // Without the CA: one line, exit 2.
    let out = hijack_dial(&[&url], b"hello");
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("tls: certificate not trusted"), "{stderr}");
    assert_eq!(out.stdout, b"");

    // A key file that is not a key: its content is never printed back.
    let bad_key = pki.dir.join("bad-key.pem");
    std::fs::write(
        &bad_key,
        "-----BEGIN PRIVATE KEY-----\nSECRETSECRET\n-----END PRIVATE KEY-----\n",
    )
    .expect("bad key");
    let cert = pki.client_cert.display().to_string();
    let key = bad_key.display().to_string();
    let out = hijack_dial(
        &[&url, "--cacert", &ca, "--cert", &cert, "--key", &key],
        b"",
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(!stderr.contains("SECRETSECRET"), "{stderr}");
    assert!(!text(&out.stdout).contains("SECRETSECRET"));

    // Mutual TLS with --cert and --key, through a CONNECT proxy with -x.
    let client_ca = pki.client_ca.display().to_string();
    let (mtls, mtls_addr) = switch_server(&pki, &["--client-ca", &client_ca, "--early", "early"]);
    let (proxy, proxy_addr) = python_peer::<&str>("connect_proxy.py", &[]);
    let url = format!("https://localhost:{}/x", mtls_addr.port());
    let key = pki.client_key.display().to_string();
    let via = format!("http://{proxy_addr}");
    let out = hijack_dial(
        &[
            &url, "--cacert", &ca, "--cert", &cert, "--key", &key, "-x", &via,
        ],
        b"through",
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(out.stdout, b"earlythrough");
    assert_eq!(wait_event(&mtls, 0, "client_cn")["client_cn"], CLIENT_CN);
    let connect = wait_event(&proxy, 0, "head");
    let first = connect["head"]
        .as_str()
        .unwrap_or_default()
        .lines()
        .next()
        .map(str::to_string);
    assert_eq!(
        first.as_deref(),
        Some(&*format!("CONNECT localhost:{} HTTP/1.1", mtls_addr.port()))
    );
}
