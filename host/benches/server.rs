//! Server hijack rate: 64 concurrent clients, each exchange on a fresh connection — connect,
//! ask to switch to `tcp`, read the `101`, send one byte, read it back, close — against three
//! servers, each on its own thread and current-thread tokio runtime:
//!
//! - ours: one `Instance` (`listen`, then `accept` + `hijack` in a loop, as a host does), the
//!   byte echoed natively on the handed-over `HijackedStream` in a task of its own;
//! - hyper 1.x: `server::conn::http1`, `with_upgrades()`, `hyper::upgrade::on(request)`;
//! - the floor: tokio accept, read the head, write a fixed `101`, echo the byte.
//!
//! Then, as whole processes (the measurement): `hijack serve --echo` against Go's
//! net/http `Hijacker` server (`benches/go/hijack.go`, when `scripts/bench` could build it).
//!
//! One native load generator for all of them (tokio, one current-thread runtime, 64 tasks).
//! `HIJACK_BENCH_SERVER_N` exchanges per server (default 5000; quick 500), in
//! `HIJACK_BENCH_SERVER_ROUNDS` rounds that alternate the servers (default 10; quick 4), after
//! a warm-up of 200 each; `HIJACK_BENCH_SERVER_CONC` clients at once (default 64). The rate
//! is the median of the rounds' rates (a burst of noise on this machine lands in one round).

mod common;

use common::{Better, Goal, Row};
use hijack_host::{Limits, Runtime};
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;

const SWITCH: &[u8] =
    b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n";

/// After the handoff, on every server alike: one byte back, flushed, then close.
async fn echo_one<S: AsyncRead + AsyncWrite + Unpin>(mut s: S) -> std::io::Result<()> {
    let mut b = [0u8; 1];
    s.read_exact(&mut b).await?;
    s.write_all(&b).await?;
    s.flush().await?;
    Ok(())
}

/// Where a server's CPU time is read: the thread it runs on, or a process of its own.
#[derive(Clone, Copy)]
enum Cpu {
    Thread(u32),
    Process(u32),
}

impl Cpu {
    /// Nanoseconds on a CPU so far (the scheduler's own count, `schedstat`).
    fn nanos(self) -> u64 {
        let on_cpu = |path: &std::path::Path| -> u64 {
            std::fs::read_to_string(path)
                .ok()
                .and_then(|s| s.split_whitespace().next()?.parse().ok())
                .unwrap_or(0)
        };
        match self {
            Cpu::Thread(tid) => on_cpu(&std::path::PathBuf::from(format!(
                "/proc/self/task/{tid}/schedstat"
            ))),
            Cpu::Process(pid) => std::fs::read_dir(format!("/proc/{pid}/task"))
                .map(|tasks| {
                    tasks
                        .flatten()
                        .map(|t| on_cpu(&t.path().join("schedstat")))
                        .sum()
                })
                .unwrap_or(0),
        }
    }
}

/// `serve` on a named thread of its own (see `common::server_thread`), its CPU time read
/// from that thread.
fn on_thread<F, Fut>(name: &str, serve: F) -> (SocketAddr, Cpu)
where
    F: FnOnce(std::sync::mpsc::Sender<SocketAddr>) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()>,
{
    let (addr, tid) = common::server_thread(name, serve);
    (addr, Cpu::Thread(tid))
}

fn ours(runtime: Runtime) -> (SocketAddr, Cpu) {
    on_thread("ours", move |tx| async move {
        let (mut instance, listener) = common::loopback_listener(&runtime, Limits::default()).await;
        tx.send(listener.local_addr).expect("send addr");
        loop {
            let incoming = match instance.accept(&listener).await {
                Ok(incoming) => incoming,
                Err(e) => {
                    // The load generator's bounded wait then fails the bench.
                    eprintln!("ours: accept: {e}");
                    return;
                }
            };
            match instance.hijack(incoming, "tcp", Vec::new()).await {
                Ok(stream) => {
                    tokio::spawn(async move {
                        let _ = tokio::time::timeout(common::STEP, echo_one(stream)).await;
                    });
                }
                Err(e) => eprintln!("ours: hijack: {e}"),
            }
        }
    })
}

fn hyper_server() -> (SocketAddr, Cpu) {
    on_thread("hyper", |tx| async move {
        let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        tx.send(l.local_addr().expect("addr")).expect("send addr");
        loop {
            let (s, _) = l.accept().await.expect("accept");
            tokio::spawn(async move {
                let conn = common::serve_upgrades(s, |upgraded| async move {
                    let _ =
                        tokio::time::timeout(common::STEP, echo_one(TokioIo::new(upgraded))).await;
                });
                let _ = tokio::time::timeout(common::STEP, conn).await;
            });
        }
    })
}

fn raw_server() -> (SocketAddr, Cpu) {
    on_thread("raw", |tx| async move {
        let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        tx.send(l.local_addr().expect("addr")).expect("send addr");
        loop {
            let (mut s, _) = l.accept().await.expect("accept");
            tokio::spawn(async move {
                let run = async {
                    let (_head, rest) = common::read_head(&mut s).await?;
                    assert!(rest.is_empty(), "the client waits for the 101");
                    s.write_all(SWITCH).await?;
                    echo_one(s).await
                };
                let _ = tokio::time::timeout(common::STEP, run).await;
            });
        }
    })
}

fn main() {
    common::watchdog("server", Duration::from_secs(420));
    let total = common::size("HIJACK_BENCH_SERVER_N", 5000, 500);
    let rounds = common::size("HIJACK_BENCH_SERVER_ROUNDS", 10, 4).max(1);
    let conc = common::size("HIJACK_BENCH_SERVER_CONC", 64, 64);
    let runtime = Runtime::new().expect("compile the component");
    // In this process: ours (the library), hyper, the raw floor. In processes of their own:
    // `hijack serve --echo` and, when built, Go's net/http Hijacker.
    let mut processes = vec![common::ServerProcess::start({
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_hijack"));
        cmd.args(["serve", "--listen", "127.0.0.1:0", "--echo"]);
        cmd
    })];
    if let Some(go) = common::go_peers() {
        let mut cmd = std::process::Command::new(go);
        cmd.arg("server");
        processes.push(common::ServerProcess::start(cmd));
    }
    let mut servers = vec![ours(runtime), hyper_server(), raw_server()];
    servers.extend(processes.iter().map(|p| (p.addr, Cpu::Process(p.pid()))));
    let (servers, cpus): (Vec<SocketAddr>, Vec<Cpu>) = servers.into_iter().unzip();
    let n = servers.len();
    let rt = common::current_thread();
    let mut rates: Vec<Vec<f64>> = vec![Vec::new(); n];
    // CPU nanoseconds each server spent on the timed rounds, and the hijacks in them.
    let mut cpu_ns = vec![0u64; n];
    let mut done = vec![0usize; n];
    rt.block_on(async {
        for addr in &servers {
            common::handshakes(*addr, 200, conc).await;
        }
        for round in 0..rounds {
            let share = total / rounds + usize::from(round < total % rounds);
            for k in 0..n {
                let which = (round + k) % n;
                let before = cpus[which].nanos();
                let took = common::handshakes(servers[which], share, conc).await;
                cpu_ns[which] += cpus[which].nanos().saturating_sub(before);
                done[which] += share;
                rates[which].push(share as f64 / took.as_secs_f64());
            }
        }
    });
    drop(processes);
    let rate = |which: usize| common::median(&rates[which]);
    println!(
        "server hijack rate: {conc} concurrent clients, {total} upgrades + 1-byte echo per server, fresh connection each, {rounds} rounds"
    );
    let what = format!(
        "{conc} concurrent clients, {} upgrades + 1-byte echo",
        common::thousands(total)
    );
    let mut rows = vec![
        Row::new(
            format!("server hijack rate, {what}"),
            "hijacks/s",
            Better::Higher,
            rate(0),
        )
        .ours_is("Instance listen/accept/hijack, echo on the HijackedStream")
        .peer("hyper 1.x upgrade server", rate(1))
        .floor("raw tokio server", rate(2))
        .goal(Goal::RatioAtLeast(1.0)),
    ];
    // The rate is bounded by the one load generator on a small machine (when the raw floor is
    // no faster than the others, the generator is what was measured); the servers' own CPU
    // time per hijack tells them apart whatever the generator does.
    let per_hijack = |which: usize| cpu_ns[which] as f64 / 1e3 / done[which].max(1) as f64;
    rows.push(
        Row::new(
            format!("server CPU per hijack, {what}"),
            "µs",
            Better::Lower,
            per_hijack(0),
        )
        .ours_is("Instance listen/accept/hijack + echo (its thread)")
        .peer("hyper 1.x upgrade server (its thread)", per_hijack(1))
        .floor("raw tokio server (its thread)", per_hijack(2))
        .goal(Goal::RatioAtMost(1.0)),
    );
    let process = Row::new(
        format!("server hijack rate, whole processes, {what}"),
        "hijacks/s",
        Better::Higher,
        rate(3),
    )
    .ours_is("hijack serve --echo");
    rows.push(if n == 5 {
        process
            .peer("Go net/http Hijacker server", rate(4))
            .goal(Goal::RatioAtLeast(1.0))
            .note(format!(
                "CPU per hijack, whole process: hijack serve {:.1} µs, Go {:.1} µs",
                per_hijack(3),
                per_hijack(4)
            ))
    } else {
        process.note(format!(
            "Go peers not built (scripts/bench builds them when Go is installed); CPU per hijack, whole process: hijack serve {:.1} µs",
            per_hijack(3)
        ))
    });
    common::emit("server", &rows);
}
