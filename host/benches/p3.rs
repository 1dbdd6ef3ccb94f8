//! The WASI 0.3 component against the WASI 0.2 one, where an application sees them: the CONNECT
//! proxy example on each (`target/composed/connect-proxy-p3.wasm` and `connect-proxy.wasm`,
//! left by `scripts/examples`, each under `wasmtime run -S inherit-network`, the wasmtime CLI
//! of scripts/tools), and a native proxy a tokio user would write (accept, read the head,
//! connect, `200`, `tokio::io::copy_bidirectional`) on a thread of the bench, one run:
//!
//! - throughput through a tunnel, each way: the target writes `HIJACK_BENCH_P3_MIB` MiB
//!   (default 256; quick 32) that the client reads to the end (down), or reads the client's
//!   to the end (up), timed at the client from its first byte to the last; median of
//!   `HIJACK_BENCH_RUNS` (5; quick 3), the proxies in turn. Down is the component's
//!   `connection.send` (0.3) or `splice` (0.2); up, the example's own copy into its socket
//!   (0.3) or `splice` again (0.2).
//! - tunnel setup: connect to the proxy, `CONNECT`, read the `200` — an accept, a head read,
//!   a TCP connect and an answer; and the same through a next proxy (`--via`, a native
//!   responder), which adds the component's client `dial`. Median of `HIJACK_BENCH_P3_N`
//!   (default 500; quick 100), interleaved.

mod common;

use common::{Better, Goal, Row, ServerProcess, median};
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

/// A wait longer than any step of a run may take.
const LIMIT: Duration = Duration::from_secs(60);

/// What the client asks of the target: its bytes (`d`), or to take the client's (`u`).
const DOWN: u8 = b'd';
const UP: u8 = b'u';

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace")
        .to_path_buf()
}

/// `wasmtime run -S inherit-network target/composed/EXAMPLE --listen 127.0.0.1:0 EXTRA...`.
fn wasm_proxy(example: &str, extra: &[&str]) -> ServerProcess {
    let root = root();
    let wasmtime = root.join("tools/bin/wasmtime");
    let wasmtime = if wasmtime.exists() {
        wasmtime
    } else {
        "wasmtime".into()
    };
    let mut cmd = Command::new(wasmtime);
    cmd.args(["run", "-S", "inherit-network"])
        .arg(root.join("target/composed").join(example))
        .args(["--listen", "127.0.0.1:0"])
        .args(extra);
    ServerProcess::start(cmd)
}

/// The target: each connection's first byte says what it wants.
fn target(mib: usize) -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = l.local_addr().expect("addr");
    thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            thread::spawn(move || {
                let mut ask = [0u8; 1];
                if s.read_exact(&mut ask).is_err() {
                    return;
                }
                let chunk = vec![0x5au8; 64 * 1024];
                match ask[0] {
                    DOWN => {
                        for _ in 0..mib * 16 {
                            if s.write_all(&chunk).is_err() {
                                return;
                            }
                        }
                    }
                    UP => {
                        let n = std::io::copy(&mut s, &mut std::io::sink()).unwrap_or(0);
                        let _ = s.write_all(&n.to_be_bytes());
                    }
                    // A setup probe: nothing to move.
                    _ => {}
                }
                let _ = s.shutdown(Shutdown::Write);
            });
        }
    });
    addr
}

/// A native CONNECT proxy, as a tokio user writes one: tokio's multi-thread runtime (the
/// wasmtime CLI runs its host I/O on one too), a task per tunnel.
fn native_proxy() -> SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let l = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            tx.send(l.local_addr().expect("addr")).expect("address");
            loop {
                let Ok((client, _)) = l.accept().await else {
                    continue;
                };
                tokio::spawn(native_tunnel(client));
            }
        });
    });
    rx.recv_timeout(LIMIT).expect("the native proxy's address")
}

async fn native_tunnel(mut client: tokio::net::TcpStream) {
    use tokio::io::AsyncWriteExt;
    let Ok((head, _)) = common::read_head(&mut client).await else {
        return;
    };
    let head = String::from_utf8_lossy(&head);
    let Some(target) = head.split(' ').nth(1) else {
        return;
    };
    let Ok(mut upstream) = tokio::net::TcpStream::connect(target).await else {
        return;
    };
    let answer = b"HTTP/1.1 200 Connection Established\r\n\r\n";
    if client.write_all(answer).await.is_ok() {
        let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
    }
}

/// A next proxy that answers every CONNECT `200` at once and then holds the tunnel until
/// the client closes it (nothing passes: the setup bench moves no bytes).
fn responder() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = l.local_addr().expect("addr");
    thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            thread::spawn(move || {
                if read_head(&mut s).is_none() {
                    return;
                }
                let _ = s.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n");
                let _ = s.read(&mut [0u8; 1]);
            });
        }
    });
    addr
}

/// Read up to the end of a head; `None` if the peer closed first.
fn read_head(s: &mut TcpStream) -> Option<Vec<u8>> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if s.read(&mut byte).ok()? == 0 {
            return None;
        }
        head.push(byte[0]);
    }
    Some(head)
}

/// A tunnel to `target` through `proxy`, its `200` read.
fn tunnel(proxy: SocketAddr, target: SocketAddr) -> TcpStream {
    let mut s = TcpStream::connect(proxy).expect("connect to the proxy");
    s.set_read_timeout(Some(LIMIT)).expect("timeout");
    s.set_nodelay(true).expect("nodelay");
    write!(s, "CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n").expect("CONNECT");
    let head = read_head(&mut s).expect("the proxy's answer");
    assert!(
        head.starts_with(b"HTTP/1.1 200 "),
        "{}",
        String::from_utf8_lossy(&head)
    );
    s
}

/// MiB/s of `mib` MiB through a tunnel, down or up.
fn throughput(proxy: SocketAddr, target: SocketAddr, mib: usize, way: u8) -> f64 {
    let mut s = tunnel(proxy, target);
    s.write_all(&[way]).expect("ask");
    let mut buf = vec![0u8; 64 * 1024];
    let total = (mib as u64) << 20;
    let start = Instant::now();
    if way == DOWN {
        let mut got = 0u64;
        while got < total {
            match s.read(&mut buf).expect("read") {
                0 => break,
                n => got += n as u64,
            }
        }
        assert_eq!(got, total, "the tunnel lost bytes");
    } else {
        for _ in 0..mib * 16 {
            s.write_all(&buf).expect("write");
        }
        s.shutdown(Shutdown::Write).expect("half-close");
        let mut count = [0u8; 8];
        s.read_exact(&mut count).expect("the target's count");
        assert_eq!(u64::from_be_bytes(count), total, "the tunnel lost bytes");
    }
    mib as f64 / start.elapsed().as_secs_f64()
}

/// Microseconds from connecting to the proxy to its `200`.
fn setup(proxy: SocketAddr, target: SocketAddr) -> f64 {
    let start = Instant::now();
    let s = tunnel(proxy, target);
    let us = start.elapsed().as_secs_f64() * 1e6;
    drop(s);
    us
}

fn main() {
    common::watchdog("p3", Duration::from_secs(600));
    let mib = common::size("HIJACK_BENCH_P3_MIB", 256, 32);
    let runs = common::size("HIJACK_BENCH_RUNS", 5, 3);
    let n = common::size("HIJACK_BENCH_P3_N", 500, 100);
    let composed = root().join("target/composed");
    for example in ["connect-proxy.wasm", "connect-proxy-p3.wasm"] {
        assert!(
            composed.join(example).exists(),
            "{example} is missing: run `bash scripts/examples` first"
        );
    }
    let target = target(mib);
    let next = responder();
    let p3 = wasm_proxy("connect-proxy-p3.wasm", &[]);
    let p2 = wasm_proxy("connect-proxy.wasm", &[]);
    let native = native_proxy();
    let via = next.to_string();
    let p3_via = wasm_proxy("connect-proxy-p3.wasm", &["--via", &via]);
    let p2_via = wasm_proxy("connect-proxy.wasm", &["--via", &via]);

    let mut rows = Vec::new();
    for (way, name) in [(DOWN, "down"), (UP, "up")] {
        let (mut ours, mut p2s, mut natives) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..runs {
            ours.push(throughput(p3.addr, target, mib, way));
            p2s.push(throughput(p2.addr, target, mib, way));
            natives.push(throughput(native, target, mib, way));
        }
        let (ours, p2s, natives) = (median(&ours), median(&p2s), median(&natives));
        let label = format!("CONNECT proxy example, {name} a tunnel ({mib} MiB, median of {runs})");
        rows.push(
            Row::new(
                format!("{label}: WASI 0.3 against 0.2"),
                "MiB/s",
                Better::Higher,
                ours,
            )
            .ours_is("connect-proxy-p3 (hijack-p3)")
            .peer("connect-proxy (hijack, WASI 0.2)", p2s)
            .goal(Goal::None),
        );
        rows.push(
            Row::new(
                format!("{label}: WASI 0.3 against native"),
                "MiB/s",
                Better::Higher,
                ours,
            )
            .ours_is("connect-proxy-p3 (hijack-p3)")
            .peer("tokio copy_bidirectional proxy", natives)
            .goal(Goal::None),
        );
    }

    let (mut ours, mut p2s, mut ours_via, mut p2s_via) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for i in 0..n {
        // Interleaved, the order alternating, so noise falls on both alike.
        let pairs = [
            (&mut ours, p3.addr),
            (&mut p2s, p2.addr),
            (&mut ours_via, p3_via.addr),
            (&mut p2s_via, p2_via.addr),
        ];
        let mut pairs: Vec<_> = pairs.into_iter().collect();
        if i % 2 == 1 {
            pairs.reverse();
        }
        for (samples, proxy) in pairs {
            samples.push(setup(proxy, target));
        }
    }
    rows.push(
        Row::new(
            format!("CONNECT proxy example, tunnel setup, median of {n}: WASI 0.3 against 0.2"),
            "µs",
            Better::Lower,
            median(&ours),
        )
        .ours_is("connect-proxy-p3: accept, head, connect, 200")
        .peer("connect-proxy (WASI 0.2)", median(&p2s))
        .goal(Goal::None),
    );
    rows.push(
        Row::new(
            format!(
                "CONNECT proxy example through a next proxy (the component's dial), median of {n}: WASI 0.3 against 0.2"
            ),
            "µs",
            Better::Lower,
            median(&ours_via),
        )
        .ours_is("connect-proxy-p3 --via: accept, head, dial, 200")
        .peer("connect-proxy --via (WASI 0.2)", median(&p2s_via))
        .goal(Goal::None),
    );
    let sizes = ["hijack.wasm", "hijack-p3.wasm"].map(|f| {
        std::fs::metadata(root().join("target/component").join(f)).map(|m| m.len() as f64)
    });
    if let [Ok(p2_size), Ok(p3_size)] = sizes {
        rows.push(
            Row::new(
                "component size, WASI 0.3 against 0.2",
                "bytes",
                Better::Lower,
                p3_size,
            )
            .ours_is("target/component/hijack-p3.wasm")
            .peer("target/component/hijack.wasm", p2_size),
        );
    }
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    for row in &mut rows {
        row.note = format!("wasmtime run (CLI 48); load at the end {}", load.trim());
    }
    common::emit("p3", &rows);
}
