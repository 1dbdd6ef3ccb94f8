//! Client hijack latency: connect → request → `101` → handoff, against one native server on
//! loopback, side by side in one run (interleaved in blocks, so noise falls on all three
//! alike):
//!
//! - ours: the component in the embedded host, one `Runtime` and one `Instance` reused, as a
//!   real host would (`Instance::dial`; the handoff is the returned `HijackedStream`);
//! - hyper 1.x: `client::conn::http1::handshake`, the connection driven `with_upgrades()`,
//!   `hyper::upgrade::on(response)` (the handoff is the `Upgraded`);
//! - the floor: a raw tokio `TcpStream` writing the same request and reading the `101`.
//!
//! Every client runs on one current-thread tokio runtime; the server on another, in its own
//! thread. `HIJACK_BENCH_LATENCY_N` exchanges each (default 5000; quick 300), after
//! `HIJACK_BENCH_LATENCY_WARMUP` (default 100; quick 20), in blocks of
//! `HIJACK_BENCH_LATENCY_BLOCK` exchanges of one client (default 250; quick 30), the clients
//! taking turns block by block: a client that dials again and again, as a host reusing its
//! `Instance` does. Then N/5 exchanges each one by one, every exchange right after the other
//! two clients' ("cold" rows, no goal): the component's code and memory are then out of the
//! caches the peers just used, which costs it more than it costs them. Median and p99, in µs.
//! The clients close first, so each exchange leaves one of their ports in TIME_WAIT for a
//! minute: keep 3 × 1.2 × N well inside the ephemeral range
//! (`/proc/sys/net/ipv4/ip_local_port_range`, 28,232).
//! `HIJACK_BENCH_LATENCY_ONLY=ours` (or `hyper`, `raw`) runs one client alone and writes no
//! rows: for a profiler (`perf record -g`).

mod common;

use bytes::Bytes;
use common::{Better, Goal, Row, bounded};
use hijack_host::{ClientRequest, NetPolicy, Runtime};
use http_body_util::Empty;
use hyper::header::{CONNECTION, HOST, UPGRADE};
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const SWITCH: &[u8] =
    b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n";

/// The native server all three clients talk to: read the head, answer `101`, then wait for
/// the client to close. On its own thread and current-thread runtime.
fn server() -> SocketAddr {
    let (addr, _) = common::server_thread("peer", |tx| async move {
        let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        tx.send(l.local_addr().expect("addr")).expect("send addr");
        loop {
            let (mut s, _) = l.accept().await.expect("accept");
            tokio::spawn(async move {
                let answer = async {
                    let (_head, rest) = common::read_head(&mut s).await?;
                    assert!(rest.is_empty(), "nothing after the head before the 101");
                    s.write_all(SWITCH).await?;
                    let mut sink = [0u8; 64];
                    while s.read(&mut sink).await? != 0 {}
                    std::io::Result::Ok(())
                };
                let _ = tokio::time::timeout(common::STEP, answer).await;
            });
        }
    });
    addr
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

async fn ours(instance: &mut hijack_host::Instance, authority: &str) -> f64 {
    let started = Instant::now();
    let (head, conn) = bounded(
        "ours: dial",
        instance.dial(
            authority,
            ClientRequest::new("GET", "/", "tcp"),
            Default::default(),
        ),
    )
    .await
    .expect("ours: dial");
    let took = us(started.elapsed());
    assert_eq!(head.status, 101);
    drop(conn);
    took
}

async fn hyper_client(addr: SocketAddr, authority: &str) -> f64 {
    let started = Instant::now();
    let upgraded = bounded("hyper: exchange", async {
        let stream = TcpStream::connect(addr).await.expect("hyper: connect");
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .expect("hyper: handshake");
        tokio::spawn(async move {
            let _ = conn.with_upgrades().await;
        });
        let request = hyper::Request::builder()
            .method("GET")
            .uri("/")
            .header(HOST, authority)
            .header(CONNECTION, "Upgrade")
            .header(UPGRADE, "tcp")
            .body(Empty::<Bytes>::new())
            .expect("request");
        let response = sender.send_request(request).await.expect("hyper: send");
        assert_eq!(response.status(), hyper::StatusCode::SWITCHING_PROTOCOLS);
        hyper::upgrade::on(response).await.expect("hyper: upgrade")
    })
    .await;
    let took = us(started.elapsed());
    drop(upgraded);
    took
}

async fn raw(addr: SocketAddr, request: &[u8]) -> f64 {
    let started = Instant::now();
    let stream = bounded("raw: exchange", async {
        let mut s = TcpStream::connect(addr).await.expect("raw: connect");
        s.write_all(request).await.expect("raw: request");
        let (head, _) = common::read_head(&mut s).await.expect("raw: 101");
        assert!(head.starts_with(b"HTTP/1.1 101 "));
        s
    })
    .await;
    let took = us(started.elapsed());
    drop(stream);
    took
}

fn main() {
    common::watchdog("latency", Duration::from_secs(300));
    let n = common::size("HIJACK_BENCH_LATENCY_N", 5000, 300);
    let warmup = common::size("HIJACK_BENCH_LATENCY_WARMUP", 100, 20);
    let addr = server();
    let authority = addr.to_string();
    let request = format!(
        "GET / HTTP/1.1\r\nHost: {authority}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n"
    );
    let rt = common::current_thread();
    let runtime = Runtime::new().expect("compile the component");
    let only = std::env::var("HIJACK_BENCH_LATENCY_ONLY").ok();
    let run = |which: usize| {
        only.as_deref()
            .is_none_or(|o| o == ["ours", "hyper", "raw"][which])
    };
    let block = common::size("HIJACK_BENCH_LATENCY_BLOCK", 250, 30).max(1);
    let ((o, h, r), (co, ch, cr)) = rt.block_on(async {
        let mut instance = runtime
            .instantiate(NetPolicy::new().allow_connect(addr))
            .await
            .expect("instance");
        let mut one = async |which: usize| match which {
            0 => ours(&mut instance, &authority).await,
            1 => hyper_client(addr, &authority).await,
            _ => raw(addr, request.as_bytes()).await,
        };
        let mut pass = async |count: usize, warmup: usize, block: usize| {
            let mut times: [Vec<f64>; 3] = Default::default();
            let mut done = 0;
            while done < warmup + count {
                let len = block.min(warmup + count - done);
                // Rotate the order, so that none of the three always follows the same one.
                for k in 0..3 {
                    let which = (done / block + k) % 3;
                    if !run(which) {
                        continue;
                    }
                    for j in 0..len {
                        let t = one(which).await;
                        if done + j >= warmup {
                            times[which].push(t);
                        }
                        // Untimed: let the tasks the last client left behind run before the
                        // next one is timed (yielding, not sleeping: a sleep parks the thread,
                        // and every client would then pay for waking it).
                        for _ in 0..4 {
                            tokio::task::yield_now().await;
                        }
                    }
                }
                done += len;
            }
            times
        };
        let [o, h, r] = pass(n, warmup, block).await;
        let cold = if only.is_none() {
            pass((n / 5).max(1), 0, 1).await
        } else {
            Default::default()
        };
        let [co, ch, cr] = cold;
        ((o, h, r), (co, ch, cr))
    });
    if let Some(only) = only {
        let v = [&o, &h, &r][["ours", "hyper", "raw"]
            .iter()
            .position(|w| *w == only)
            .expect("HIJACK_BENCH_LATENCY_ONLY is ours, hyper or raw")];
        println!(
            "{only} alone: median {:.1} µs, p99 {:.1} µs (no rows written)",
            common::median(v),
            common::quantile(v, 0.99)
        );
        return;
    }
    println!(
        "client hijack latency: connect → request → 101 → handoff, {n} each, interleaved, loopback"
    );
    let row = |what: &str, q: Option<f64>, [o, h, r]: [&[f64]; 3]| {
        let pick = |v: &[f64]| match q {
            None => common::median(v),
            Some(q) => common::quantile(v, q),
        };
        Row::new(
            format!(
                "client hijack latency, {what} ({} exchanges)",
                common::thousands(o.len())
            ),
            "µs",
            Better::Lower,
            pick(o),
        )
        .ours_is("component in the embedded host (one Instance reused)")
        .peer("hyper 1.x client upgrade", pick(h))
        .floor("raw TCP client", pick(r))
    };
    let warm = [&o[..], &h, &r];
    let cold = [&co[..], &ch, &cr];
    let blocks = format!("blocks of {block} exchanges per client, the clients taking turns");
    let one_by_one =
        "one by one, each right after the other two clients' (no goal: see the bench's doc)";
    common::emit(
        "latency",
        &[
            row("median", None, warm)
                .goal(Goal::RatioAtMost(1.2))
                .note(&blocks),
            row("p99", Some(0.99), warm)
                .goal(Goal::RatioAtMost(1.2))
                .note(&blocks),
            row("median, cold", None, cold).note(one_by_one),
            row("p99, cold", Some(0.99), cold).note(one_by_one),
        ],
    );
}
