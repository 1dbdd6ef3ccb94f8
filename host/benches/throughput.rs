//! After the handoff, how fast do bytes move? Side by side in one run, on loopback, against
//! one native sender: the `hijack dial` process vs a native client process doing the same job
//! (the same request, then the stream to a file), and the library's `HijackedStream` vs a plain
//! tokio `TcpStream` (read to nothing). Medians of several runs, and their ratios.
//!
//! `bash scripts/bench` (or `cargo bench -p hijack-host --bench throughput`); the size in MiB
//! is `HIJACK_BENCH_MIB` (default 1024; quick 128), the runs `HIJACK_BENCH_RUNS` (default 5;
//! quick 3).

mod common;

use common::{Better, Goal, Row};
use hijack_host::{ClientRequest, NetPolicy, Runtime};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};
use tokio::io::AsyncReadExt;

const SWITCH: &[u8] =
    b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n";
const REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n";

/// A native sender: one connection, reads the head, answers 101, then `mib` MiB, then closes.
fn sender(mib: usize) -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = l.local_addr().expect("addr");
    thread::spawn(move || {
        let (mut s, _) = l.accept().expect("accept");
        let mut head = Vec::new();
        let mut b = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") && s.read(&mut b).unwrap_or(0) == 1 {
            head.push(b[0]);
        }
        s.write_all(SWITCH).expect("101");
        let chunk = vec![0x5au8; 1 << 20];
        for _ in 0..mib {
            if s.write_all(&chunk).is_err() {
                return;
            }
        }
    });
    addr
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn gib_per_s(mib: usize, d: Duration) -> f64 {
    mib as f64 / 1024.0 / d.as_secs_f64()
}

/// `hijack dial URL > file`, as a user runs it.
fn cli_dial(mib: usize, out: &std::path::Path) -> Duration {
    dial_process(mib, out, |addr| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_hijack"));
        cmd.args(["dial", &format!("http://{addr}/")]);
        cmd
    })
}

/// `hijack-go dial URL > file`: Go's Transport as the upgrade client, `io.Copy` to stdout.
fn go_dial(go: &std::path::Path, mib: usize, out: &std::path::Path) -> Duration {
    dial_process(mib, out, |addr| {
        let mut cmd = Command::new(go);
        cmd.args(["dial", &format!("http://{addr}/")]);
        cmd
    })
}

/// The same job natively, as a process of its own like `hijack dial` (this bench run again
/// with `NATIVE_DIAL` set): connect, send the request, skip the 101, the rest to stdout.
fn native_dial(mib: usize, out: &std::path::Path) -> Duration {
    dial_process(mib, out, |addr| {
        let mut cmd = Command::new(std::env::current_exe().expect("this bench"));
        cmd.env(NATIVE_DIAL, addr.to_string());
        cmd
    })
}

/// A client process made by `client` for a fresh sender's address, stdout to `out` (opened
/// before the clock starts, as a shell opens `> file`); how long the process took.
fn dial_process(
    mib: usize,
    out: &std::path::Path,
    client: impl FnOnce(SocketAddr) -> Command,
) -> Duration {
    let addr = sender(mib);
    let file = std::fs::File::create(out).expect("out file");
    let mut cmd = client(addr);
    let started = Instant::now();
    // stderr is not read: `hijack dial` prints the 101 there.
    let status = cmd
        .stdin(Stdio::null())
        .stdout(file)
        .stderr(Stdio::null())
        .status()
        .expect("run the client process");
    let took = started.elapsed();
    assert!(status.success());
    assert_eq!(
        std::fs::metadata(out).expect("out").len(),
        (mib << 20) as u64
    );
    took
}

/// Set (to the sender's address) when this bench runs as the native client.
const NATIVE_DIAL: &str = "HIJACK_BENCH_NATIVE_DIAL";

/// The native client's process: plain blocking reads into a 256 KiB buffer, each written
/// straight to the stdout descriptor.
fn native_client(addr: &str) {
    use std::os::fd::AsFd;
    let mut s = std::net::TcpStream::connect(addr).expect("connect");
    s.write_all(REQUEST).expect("request");
    let fd = std::io::stdout()
        .as_fd()
        .try_clone_to_owned()
        .expect("stdout");
    let mut stdout = std::fs::File::from(fd);
    let mut buf = vec![0u8; 256 * 1024];
    let mut head = 0usize;
    loop {
        let n = s.read(&mut buf).expect("read");
        if n == 0 {
            break;
        }
        let skip = (SWITCH.len() - head).min(n);
        head += skip;
        stdout.write_all(&buf[skip..n]).expect("write");
    }
}

/// The library: `HijackedStream` read to nothing.
async fn library(runtime: &Runtime, mib: usize) -> Duration {
    let addr = sender(mib);
    let mut instance = runtime
        .instantiate(NetPolicy::new().allow_connect(addr))
        .await
        .expect("instance");
    let started = Instant::now();
    let (_, mut conn) = instance
        .dial(
            &addr.to_string(),
            ClientRequest::new("GET", "/", "tcp"),
            Default::default(),
        )
        .await
        .expect("dial");
    let mut buf = vec![0u8; 256 * 1024];
    let mut total = 0usize;
    loop {
        let n = conn.read(&mut buf).await.expect("read");
        if n == 0 {
            break;
        }
        total += n;
    }
    let took = started.elapsed();
    assert_eq!(total, mib << 20);
    took
}

/// tokio's `TcpStream` read to nothing, after the same exchange done by hand.
async fn tokio_native(mib: usize) -> Duration {
    let addr = sender(mib);
    let started = Instant::now();
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    tokio::io::AsyncWriteExt::write_all(&mut s, REQUEST)
        .await
        .expect("request");
    let mut buf = vec![0u8; 256 * 1024];
    let mut total = 0usize;
    loop {
        let n = s.read(&mut buf).await.expect("read");
        if n == 0 {
            break;
        }
        total += n;
    }
    let took = started.elapsed();
    assert_eq!(total, (mib << 20) + SWITCH.len());
    took
}

fn main() {
    if let Ok(addr) = std::env::var(NATIVE_DIAL) {
        native_client(&addr);
        return;
    }
    common::watchdog("throughput", Duration::from_secs(480));
    let (mib, runs) = (
        common::size("HIJACK_BENCH_MIB", 1024, 128),
        common::size("HIJACK_BENCH_RUNS", 5, 3),
    );
    let out = std::env::temp_dir().join(format!("hijack-bench-{}.bin", std::process::id()));
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let runtime = Runtime::new().expect("compile the component");
    let go_peers = common::go_peers();
    let (mut cli, mut native, mut lib, mut tok) = (vec![], vec![], vec![], vec![]);
    let mut go = vec![];
    // The processes writing the file take turns at going first: the one after a writer
    // meets the page cache's write-back of the last gigabyte.
    let writers = if go_peers.is_some() { 3 } else { 2 };
    for run in 0..runs {
        for k in 0..writers {
            match (run + k) % writers {
                0 => cli.push(cli_dial(mib, &out)),
                1 => native.push(native_dial(mib, &out)),
                _ => {
                    if let Some(peers) = &go_peers {
                        go.push(go_dial(peers, mib, &out));
                    }
                }
            }
        }
        lib.push(rt.block_on(library(&runtime, mib)));
        tok.push(rt.block_on(tokio_native(mib)));
    }
    let _ = std::fs::remove_file(&out);
    let (cli, native, lib, tok) = (median(cli), median(native), median(lib), median(tok));
    println!("throughput after the handoff: {mib} MiB, median of {runs} runs, loopback");
    println!(
        "  hijack dial > file      {:>7.3} s  {:>5.2} GiB/s",
        cli.as_secs_f64(),
        gib_per_s(mib, cli)
    );
    println!(
        "  native client > file    {:>7.3} s  {:>5.2} GiB/s",
        native.as_secs_f64(),
        gib_per_s(mib, native)
    );
    println!(
        "  HijackedStream          {:>7.3} s  {:>5.2} GiB/s",
        lib.as_secs_f64(),
        gib_per_s(mib, lib)
    );
    println!(
        "  tokio TcpStream         {:>7.3} s  {:>5.2} GiB/s",
        tok.as_secs_f64(),
        gib_per_s(mib, tok)
    );
    println!(
        "ratios (ours / native, higher is better): dial {:.2}x, HijackedStream {:.2}x",
        native.as_secs_f64() / cli.as_secs_f64(),
        tok.as_secs_f64() / lib.as_secs_f64()
    );
    let what = format!("{} MiB, median of {runs}", common::thousands(mib));
    let mut rows = vec![
        Row::new(
            format!("post-hijack throughput, library read to nothing ({what})"),
            "GiB/s",
            Better::Higher,
            gib_per_s(mib, lib),
        )
        .ours_is("HijackedStream")
        .peer("tokio TcpStream", gib_per_s(mib, tok))
        .goal(Goal::RatioAtLeast(0.9)),
        Row::new(
            format!("post-hijack throughput, CLI dial > file ({what})"),
            "GiB/s",
            Better::Higher,
            gib_per_s(mib, cli),
        )
        .ours_is("hijack dial URL > file (whole process)")
        .peer(
            "native client > file (whole process)",
            gib_per_s(mib, native),
        )
        .goal(Goal::RatioAtLeast(1.0)),
    ];
    if !go.is_empty() {
        let go = median(go);
        println!(
            "  Go client > file        {:>7.3} s  {:>5.2} GiB/s  (dial {:.2}x Go)",
            go.as_secs_f64(),
            gib_per_s(mib, go),
            go.as_secs_f64() / cli.as_secs_f64()
        );
        rows.push(
            Row::new(
                format!("post-hijack throughput, CLI dial > file vs Go ({what})"),
                "GiB/s",
                Better::Higher,
                gib_per_s(mib, cli),
            )
            .ours_is("hijack dial URL > file (whole process)")
            .peer(
                "Go Transport upgrade client, io.Copy > file (whole process)",
                gib_per_s(mib, go),
            )
            .goal(Goal::RatioAtLeast(1.0)),
        );
    }
    common::emit("throughput", &rows);
}
