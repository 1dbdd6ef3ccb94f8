//! The client hijack over TLS, side by side with a native tokio-rustls client in one run, on
//! loopback, against one native tokio-rustls server (on its own thread and current-thread
//! runtime) with a certificate made here by rcgen from a CA made here:
//!
//! - latency: TCP connect → TLS 1.3 handshake → `GET` with `Upgrade: tcp` → `101` → handoff.
//!   Ours is `Instance::dial_tls` (one `Runtime`, one `Instance` reused, trusting the bench's
//!   CA only); the peer is a `tokio_rustls::TlsConnector` with a `rustls::ClientConfig` built
//!   as `TlsConfig::build` builds the host's (ring, the same protocol versions, the same
//!   trust, rustls's default resumption), writing the same request bytes and reading the
//!   `101` head. Interleaved, the order alternating, so noise falls on both alike.
//!   `HIJACK_BENCH_TLS_N` exchanges each (default 2000; quick 200) after
//!   `HIJACK_BENCH_TLS_WARMUP` (default 50; quick 10). Median and p99, in µs.
//! - throughput: after the `101` the server writes `HIJACK_BENCH_TLS_MIB` MiB (default 512;
//!   quick 64) and closes with `close_notify`; each client reads to nothing (64 KiB buffer)
//!   until the end, timed from the handoff (the server waits for a byte from the client
//!   before it sends). Median of `HIJACK_BENCH_RUNS` (default 5; quick 3).
//! - the component's size in its two worlds (`target/component/hijack-tls.wasm` against
//!   `hijack.wasm`, as the host's build and `xtask component` leave them), when both exist.
//!
//! Every handshake is a full TLS 1.3 one: the server offers TLS 1.3 only and honours none of
//! the session tickets it issues (`server_config` says why it issues them at all), so neither
//! client (both keep rustls's default resumption, as the host's `TlsConfig` does) ever
//! resumes; the server counts the kinds it saw and the bench fails on any resumed one. Both
//! clients offer the same suites and groups (ring's defaults, in their order), so the server
//! negotiates the same for both; what it negotiated is in the rows' notes.
//!
//! `HIJACK_BENCH_TLS_ONLY=ours` (or `peer`) runs the latency part for one client alone and
//! writes no rows: for a profiler (`perf record -g`). `HIJACK_BENCH_TLS_QUICKACK=1` makes the
//! server acknowledge every segment at once (`TCP_QUICKACK`, re-armed before each read), so
//! no client ever waits for its delayed ACK: what is left is the TLS and HTTP work, to tell it
//! apart from a wait on the kernel's timer (the rows say when it was set).

mod common;

use common::{Better, Goal, Row, bounded};
use hijack_host::{
    ClientRequest, HijackedStream, Instance, NetPolicy, Runtime, TlsConfig, TlsOptions,
};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::{TlsAcceptor, TlsConnector};

const SWITCH: &[u8] =
    b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n";

/// The path that asks the server for the bulk data after the `101`; any other waits for the
/// client to close.
const BULK: &str = "/bulk";

/// What a client writes after its handoff for the bulk data: the data starts after the
/// handoff, not while either client is still taking over the connection (the clock starts
/// with this byte, so a head start in the socket buffers would be uncounted).
const GO: [u8; 1] = *b"g";

/// The read buffer of both clients in the throughput part.
const READ_BUF: usize = 64 * 1024;

/// rustls's crypto on ring, as the host's (`host/src/tls/config.rs`): the same suites, groups
/// and implementations on both sides of the comparison. ring's provider is deprecated in
/// rustls 0.23.48 for lacking post-quantum key exchange, which neither side uses here.
fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    #[allow(deprecated)]
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The bench's PKI, in memory: a CA (PEM, for `TlsConfig`; DER, for the peer's roots) and a
/// certificate for `127.0.0.1` and `localhost` it signed, with its key.
struct Pki {
    ca_pem: String,
    ca_der: CertificateDer<'static>,
    server_cert: CertificateDer<'static>,
    server_key: PrivateKeyDer<'static>,
}

fn pki() -> Pki {
    let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "hijack bench CA");
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_key = KeyPair::generate().expect("CA key");
    let ca_cert = ca.self_signed(&ca_key).expect("CA certificate");
    let issuer = Issuer::new(ca, ca_key);
    let mut leaf = CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
        .expect("server params");
    leaf.distinguished_name
        .push(DnType::CommonName, "localhost");
    leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let key = KeyPair::generate().expect("server key");
    let cert = leaf.signed_by(&key, &issuer).expect("server certificate");
    Pki {
        ca_pem: ca_cert.pem(),
        ca_der: ca_cert.der().clone(),
        server_cert: cert.der().clone(),
        server_key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
    }
}

/// What the server saw of the handshakes: how many were full, how many not (resumed), and
/// the parameters negotiated (version, suite, group), as text.
#[derive(Default)]
struct Seen {
    full: AtomicUsize,
    not_full: AtomicUsize,
    params: Mutex<BTreeSet<String>>,
}

impl Seen {
    fn record(&self, conn: &rustls::ServerConnection) {
        match conn.handshake_kind() {
            Some(rustls::HandshakeKind::Full) => &self.full,
            _ => &self.not_full,
        }
        .fetch_add(1, Ordering::Relaxed);
        let params = format!(
            "{:?} {:?} {:?}",
            conn.protocol_version()
                .expect("a version after the handshake"),
            conn.negotiated_cipher_suite()
                .expect("a suite after the handshake")
                .suite(),
            conn.negotiated_key_exchange_group()
                .map(|g| g.name())
                .expect("a group after the handshake"),
        );
        self.params.lock().expect("params").insert(params);
    }

    fn params(&self) -> String {
        let seen = self.params.lock().expect("params");
        seen.iter().cloned().collect::<Vec<_>>().join("; ")
    }
}

/// A session store that takes every session and gives none back: the server issues a ticket
/// after each handshake, and every ticket a client offers later is refused.
#[derive(Debug)]
struct Forgetful;

impl rustls::server::StoresServerSessions for Forgetful {
    fn put(&self, _key: Vec<u8>, _value: Vec<u8>) -> bool {
        true
    }

    fn get(&self, _key: &[u8]) -> Option<Vec<u8>> {
        None
    }

    fn take(&self, _key: &[u8]) -> Option<Vec<u8>> {
        None
    }

    fn can_cache(&self) -> bool {
        true
    }
}

/// The server: TLS 1.3 only; one ticket after each handshake, none ever honoured, so every
/// handshake is a full one.
///
/// The ticket is there for TCP's sake, not resumption's: it answers the client's `Finished`,
/// and the ACK of the `Finished` rides on it. Without it the server would have nothing to
/// send, that ACK would wait for the delayed-ACK timer (40 ms on Linux), and the request, a
/// small write behind the unacknowledged `Finished`, would wait in Nagle's algorithm for it
/// (neither client sets `TCP_NODELAY`): both latencies would be the kernel's timer. A server
/// that resumes sessions sends tickets just so. Both clients keep rustls's default
/// resumption, so both offer the last ticket in each `ClientHello` and are refused alike.
fn server_config(pki: &Pki) -> Arc<rustls::ServerConfig> {
    let mut config = rustls::ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .expect("TLS 1.3 with ring")
        .with_no_client_auth()
        .with_single_cert(vec![pki.server_cert.clone()], pki.server_key.clone_key())
        .expect("server certificate and key");
    config.send_tls13_tickets = 1;
    config.session_storage = Arc::new(Forgetful);
    Arc::new(config)
}

/// The native server both clients talk to: TLS handshake, read the head, answer `101`; then
/// for [`BULK`] wait for the client's [`GO`] byte, write `mib` MiB and close with
/// `close_notify`, and for anything else nothing; either way, drain until the client closes.
/// On its own thread and current-thread runtime.
fn server(pki: &Pki, mib: usize, quickack: bool, seen: Arc<Seen>) -> SocketAddr {
    let acceptor = TlsAcceptor::from(server_config(pki));
    let (addr, _) = common::server_thread("tls-peer", move |tx| async move {
        let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        tx.send(l.local_addr().expect("addr")).expect("send addr");
        let chunk: Arc<[u8]> = vec![0x5au8; 1 << 20].into();
        loop {
            let (tcp, _) = l.accept().await.expect("accept");
            // As servers commonly do (Go sets it on every connection): its ticket and its
            // 101 leave at once, neither waiting on the client's delayed ACK of the other.
            tcp.set_nodelay(true).expect("TCP_NODELAY");
            let (acceptor, seen, chunk) = (acceptor.clone(), Arc::clone(&seen), Arc::clone(&chunk));
            tokio::spawn(async move {
                let answer = async {
                    let mut s = acceptor.accept(Acking { tcp, quickack }).await?;
                    seen.record(s.get_ref().1);
                    let (head, rest) = common::read_head(&mut s).await?;
                    assert!(rest.is_empty(), "nothing after the head before the 101");
                    s.write_all(SWITCH).await?;
                    // tokio-rustls buffers like a BufWriter: the 101 leaves on flush.
                    s.flush().await?;
                    if head.starts_with(format!("GET {BULK} ").as_bytes()) {
                        let mut go = [0u8; 1];
                        s.read_exact(&mut go).await?;
                        assert_eq!(go, GO, "the client's go");
                        for _ in 0..mib {
                            s.write_all(&chunk).await?;
                        }
                        // close_notify, then the socket's own half-close.
                        s.shutdown().await?;
                    }
                    let mut sink = [0u8; 64];
                    while s.read(&mut sink).await? != 0 {}
                    std::io::Result::Ok(())
                };
                // A client that drops its stream without close_notify ends the drain with
                // an error: that is how both clients leave in the latency part.
                let _ = tokio::time::timeout(common::STEP, answer).await;
            });
        }
    });
    addr
}

/// The server's socket, acknowledging every segment at once when `quickack` is set (Linux
/// clears `TCP_QUICKACK` by itself, so it is set again before every read); otherwise, and for
/// writes always, the `TcpStream` as it is.
struct Acking {
    tcp: TcpStream,
    quickack: bool,
}

impl AsyncRead for Acking {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        if this.quickack {
            socket2::SockRef::from(&this.tcp).set_tcp_quickack(true)?;
        }
        Pin::new(&mut this.tcp).poll_read(cx, buf)
    }
}

impl AsyncWrite for Acking {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().tcp).poll_write(cx, data)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().tcp).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.tcp.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_shutdown(cx)
    }
}

/// The request head both clients send: what the component writes for `GET path` asking for
/// `tcp` (its field order: Host, Connection, Upgrade).
fn request(authority: &str, path: &str) -> Vec<u8> {
    format!(
        "GET {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n"
    )
    .into_bytes()
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// Ours: `Instance::dial_tls` for `GET path`, the server name the authority's host.
async fn ours_dial(instance: &mut Instance, authority: &str, path: &str) -> HijackedStream {
    let tls = TlsOptions {
        server_name: None,
        proxy: None,
        proxy_headers: Vec::new(),
    };
    let (head, conn) = bounded(
        "ours: dial_tls",
        instance.dial_tls(
            authority,
            ClientRequest::new("GET", path, "tcp"),
            Default::default(),
            tls,
        ),
    )
    .await
    .expect("ours: dial_tls");
    assert_eq!(head.status, 101);
    assert!(conn.is_tls());
    conn
}

/// The peer: TCP connect, the TLS handshake, the request, the `101` head read; the stream and
/// the bytes read past the head.
async fn peer_dial(
    connector: &TlsConnector,
    addr: SocketAddr,
    name: &ServerName<'static>,
    request: &[u8],
) -> (tokio_rustls::client::TlsStream<TcpStream>, Vec<u8>) {
    bounded("peer: exchange", async {
        let tcp = TcpStream::connect(addr).await.expect("peer: connect");
        let mut s = connector
            .connect(name.clone(), tcp)
            .await
            .expect("peer: handshake");
        s.write_all(request).await.expect("peer: request");
        s.flush().await.expect("peer: flush");
        let (head, rest) = common::read_head(&mut s).await.expect("peer: 101");
        assert!(head.starts_with(b"HTTP/1.1 101 "));
        (s, rest)
    })
    .await
}

async fn ours_latency(instance: &mut Instance, authority: &str) -> f64 {
    let started = Instant::now();
    let conn = ours_dial(instance, authority, "/").await;
    let took = us(started.elapsed());
    drop(conn);
    took
}

async fn peer_latency(
    connector: &TlsConnector,
    addr: SocketAddr,
    name: &ServerName<'static>,
    request: &[u8],
) -> f64 {
    let started = Instant::now();
    let stream = peer_dial(connector, addr, name, request).await;
    let took = us(started.elapsed());
    drop(stream);
    took
}

/// Read `s` to nothing until its end; the bytes read.
async fn read_to_nothing<S: AsyncRead + Unpin>(what: &str, s: &mut S) -> usize {
    let mut buf = vec![0u8; READ_BUF];
    let mut total = 0;
    loop {
        let n = bounded(what, s.read(&mut buf)).await.expect(what);
        if n == 0 {
            return total;
        }
        total += n;
    }
}

async fn ours_bulk(instance: &mut Instance, authority: &str, mib: usize) -> Duration {
    let mut conn = ours_dial(instance, authority, BULK).await;
    let started = Instant::now();
    bounded("ours: go", conn.write_all(&GO))
        .await
        .expect("ours: go");
    bounded("ours: flush", conn.flush())
        .await
        .expect("ours: flush");
    let total = read_to_nothing("ours: read", &mut conn).await;
    let took = started.elapsed();
    assert_eq!(total, mib << 20);
    took
}

async fn peer_bulk(
    connector: &TlsConnector,
    addr: SocketAddr,
    name: &ServerName<'static>,
    request: &[u8],
    mib: usize,
) -> Duration {
    let (mut s, rest) = peer_dial(connector, addr, name, request).await;
    assert!(rest.is_empty(), "nothing before the go");
    let started = Instant::now();
    bounded("peer: go", s.write_all(&GO))
        .await
        .expect("peer: go");
    bounded("peer: flush", s.flush())
        .await
        .expect("peer: flush");
    let total = read_to_nothing("peer: read", &mut s).await;
    let took = started.elapsed();
    assert_eq!(total, mib << 20);
    took
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn gib_per_s(mib: usize, d: Duration) -> f64 {
    mib as f64 / 1024.0 / d.as_secs_f64()
}

/// The component in its two worlds as built last (`target/component/`): `hijack-tls` (the
/// one the host embeds) against `hijack`. `None`, with a line saying so, when either is
/// missing.
fn component_sizes() -> Option<Row> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/component");
    let (tls_path, plain_path) = (dir.join("hijack-tls.wasm"), dir.join("hijack.wasm"));
    let (tls, plain) = match (std::fs::metadata(&tls_path), std::fs::metadata(&plain_path)) {
        (Ok(tls), Ok(plain)) => (tls, plain),
        _ => {
            println!(
                "component sizes: no row, {} or {} is missing (`cargo run -q -p xtask --target-dir target/xtask -- component` builds both)",
                tls_path.display(),
                plain_path.display()
            );
            return None;
        }
    };
    let kib = |bytes: u64| bytes as f64 / 1024.0;
    let mut note = format!(
        "{:.1} KiB with TLS, {:.1} KiB without: +{:.1} KiB for tls-client over wasi:tls",
        kib(tls.len()),
        kib(plain.len()),
        kib(tls.len()) - kib(plain.len()),
    );
    // The two files are built by different commands (the host's build script makes
    // hijack-tls.wasm on every change; only `xtask component` remakes hijack.wasm), so one
    // can be of older sources than the other.
    if let (Ok(a), Ok(b)) = (tls.modified(), plain.modified()) {
        let apart = a
            .duration_since(b)
            .or_else(|_| b.duration_since(a))
            .unwrap_or_default();
        if apart > Duration::from_secs(600) {
            note.push_str(&format!(
                "; the files were built {} min apart, so they may be of different sources",
                apart.as_secs() / 60
            ));
        }
    }
    Some(
        Row::new(
            "component size, world hijack-tls against hijack",
            "bytes",
            Better::Lower,
            tls.len() as f64,
        )
        .ours_is("target/component/hijack-tls.wasm (embedded)")
        .peer("target/component/hijack.wasm (no TLS)", plain.len() as f64)
        .note(note),
    )
}

fn main() {
    common::watchdog("tls", Duration::from_secs(300));
    let n = common::size("HIJACK_BENCH_TLS_N", 2000, 200);
    let warmup = common::size("HIJACK_BENCH_TLS_WARMUP", 50, 10);
    let (mib, runs) = (
        common::size("HIJACK_BENCH_TLS_MIB", 512, 64),
        common::size("HIJACK_BENCH_RUNS", 5, 3),
    );
    let only = std::env::var("HIJACK_BENCH_TLS_ONLY").ok();
    if let Some(o) = &only {
        assert!(
            o == "ours" || o == "peer",
            "HIJACK_BENCH_TLS_ONLY is ours or peer"
        );
    }
    let quickack =
        std::env::var("HIJACK_BENCH_TLS_QUICKACK").is_ok_and(|v| !v.is_empty() && v != "0");
    let pki = pki();
    let seen = Arc::new(Seen::default());
    let addr = server(&pki, mib, quickack, Arc::clone(&seen));
    let authority = addr.to_string();
    let name = ServerName::from(addr.ip());

    // The peer's configuration, built as `TlsConfig::build` builds the host's.
    let mut roots = rustls::RootCertStore::empty();
    roots.add(pki.ca_der.clone()).expect("the bench CA");
    let peer_config = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .expect("ring's versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = TlsConnector::from(Arc::new(peer_config));
    let ours_trust = TlsConfig::builder()
        .without_system_roots()
        .add_ca_pem(pki.ca_pem.as_bytes(), "the bench CA")
        .expect("the bench CA")
        .build()
        .expect("TLS config");

    let rt = common::current_thread();
    let runtime = Runtime::new().expect("compile the component");
    let (request_101, request_bulk) = (request(&authority, "/"), request(&authority, BULK));
    let run = |which: usize| only.as_deref().is_none_or(|o| o == ["ours", "peer"][which]);
    let (o, p, bulk_o, bulk_p) = rt.block_on(async {
        let mut instance = runtime
            .instantiate(NetPolicy::new().allow_connect(addr).tls(ours_trust))
            .await
            .expect("instance");
        let (mut o, mut p) = (Vec::new(), Vec::new());
        for i in 0..warmup + n {
            // Alternate the order, so that neither always follows the other.
            let mut times = [0.0; 2];
            for k in 0..2 {
                let which = (i + k) % 2;
                if !run(which) {
                    continue;
                }
                times[which] = match which {
                    0 => ours_latency(&mut instance, &authority).await,
                    _ => peer_latency(&connector, addr, &name, &request_101).await,
                };
                // Untimed: let what the last client left behind run before the next is
                // timed (yielding, as latency.rs does, not sleeping).
                for _ in 0..4 {
                    tokio::task::yield_now().await;
                }
            }
            if i >= warmup {
                o.push(times[0]);
                p.push(times[1]);
            }
        }
        let (mut bulk_o, mut bulk_p) = (Vec::new(), Vec::new());
        if only.is_none() {
            for r in 0..runs {
                for k in 0..2 {
                    match (r + k) % 2 {
                        0 => bulk_o.push(ours_bulk(&mut instance, &authority, mib).await),
                        _ => bulk_p
                            .push(peer_bulk(&connector, addr, &name, &request_bulk, mib).await),
                    }
                }
            }
        }
        (o, p, bulk_o, bulk_p)
    });
    let resumed = seen.not_full.load(Ordering::Relaxed);
    assert_eq!(resumed, 0, "handshakes that were not full ones");
    let params = seen.params();
    // An exchange this long has waited for a delayed ACK (Linux's shortest is 40 ms): a wait
    // on the kernel's timer, not on TLS.
    let stalled = |v: &[f64]| {
        let waits = v.iter().filter(|t| **t >= 40_000.0).count();
        format!("{waits} of {}", v.len())
    };
    let server_acks = if quickack {
        "; the server acknowledging at once (HIJACK_BENCH_TLS_QUICKACK)"
    } else {
        ""
    };
    if let Some(only) = only {
        let v = if only == "ours" { &o } else { &p };
        println!(
            "{only} alone: median {:.1} µs, p99 {:.1} µs, {} over 40 ms ({params}{server_acks}; no rows written)",
            common::median(v),
            common::quantile(v, 0.99),
            stalled(v),
        );
        return;
    }

    println!(
        "TLS client hijack latency: connect → TLS 1.3 handshake → request → 101 → handoff, {n} each, interleaved, loopback"
    );
    let handshakes = format!(
        "server: {} full handshakes, none resumed; negotiated {params}{server_acks}",
        seen.full.load(Ordering::Relaxed)
    );
    let waits = format!(
        "exchanges over 40 ms (a delayed-ACK wait): ours {}, peer {}; {handshakes}",
        stalled(&o),
        stalled(&p)
    );
    let named = |name: String| {
        if quickack {
            format!("{name}, server acking at once")
        } else {
            name
        }
    };
    let latency = |what: &str, q: Option<f64>| {
        let pick = |v: &[f64]| match q {
            None => common::median(v),
            Some(q) => common::quantile(v, q),
        };
        Row::new(
            named(format!(
                "TLS client hijack latency, {what} ({} exchanges)",
                common::thousands(n)
            )),
            "µs",
            Better::Lower,
            pick(&o),
        )
        .ours_is("Instance::dial_tls, one Instance reused")
        .peer(
            "tokio-rustls client: connect + handshake + request + 101",
            pick(&p),
        )
        .goal(Goal::RatioAtMost(1.2))
        .note(waits.clone())
    };
    let (tput_o, tput_p) = (
        gib_per_s(mib, median(bulk_o)),
        gib_per_s(mib, median(bulk_p)),
    );
    println!(
        "throughput after the handoff over TLS: {mib} MiB, median of {runs} runs: ours {tput_o:.2} GiB/s, peer {tput_p:.2} GiB/s"
    );
    let mut rows = vec![
        latency("median", None),
        latency("p99", Some(0.99)),
        Row::new(
            named(format!(
                "post-hijack throughput over TLS, read to nothing ({} MiB, median of {runs})",
                common::thousands(mib)
            )),
            "GiB/s",
            Better::Higher,
            tput_o,
        )
        .ours_is("HijackedStream from dial_tls")
        .peer("tokio-rustls client stream", tput_p)
        .goal(Goal::RatioAtLeast(0.95))
        .note(format!(
            "timed from the handoff to close_notify, {} KiB reads; {handshakes}",
            READ_BUF / 1024
        )),
    ];
    rows.extend(component_sizes());
    common::emit("tls", &rows);
}
