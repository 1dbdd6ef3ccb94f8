//! Every core (issue 17): whole server processes — `hijack serve --echo`, Go's net/http
//! `Hijacker` echoing with `io.Copy` (`benches/go/hijack.go echo`), and a hyper 1.x upgrade
//! server (this binary again, `HIJACK_BENCH_CORES_SERVE=current|multi`) — each answering
//! `Upgrade: tcp` with a `101` and then echoing every byte and half-closing at the client's
//! EOF. Two loads, each in rounds that alternate the servers (the rate is the median of the
//! rounds'; CPU per unit is the server's CPU over all rounds):
//!
//! - **handshakes**: fresh connections, 64 at once, each upgrades, sends one byte, reads it
//!   back and closes;
//! - **bulk echo**: 32 connections at once, each upgrades, writes 32 MiB (a known pattern) and
//!   reads every byte back, checked, until the server's half-close.
//!
//! And two placements, on the machine's first core and the rest:
//!
//! - **pinned**: every server on core 0 (`taskset -c 0`: `hijack serve` and Go size themselves
//!   to it, so one thread each; hyper on its current-thread runtime), the load generator's thread
//!   on the other cores;
//! - **every core**: nothing pinned; `hijack serve` with its default threads (one per core),
//!   Go as it is, hyper's multi-thread runtime; the load generator on a multi-thread runtime.
//!
//! Server CPU is the sum over the process's threads (`/proc/PID/task/*/schedstat`); a thread
//! that did a tenth of the round's work or more counts as busy. The load generator's own CPU
//! per MiB is noted too: on one machine a server that splices (Go) keeps the client's pages
//! in flight, and the client pays for it.
//!
//! Sizes: `HIJACK_BENCH_CORES_HANDSHAKES` per round (5000 / quick 500),
//! `HIJACK_BENCH_CORES_CONNS` bulk connections (32 / 8), `HIJACK_BENCH_CORES_MIB` per
//! connection (32 / 4), `HIJACK_BENCH_CORES_ROUNDS` (5 / 2). `HIJACK_BENCH_CORES_ONLY=pinned` or
//! `=every` runs one placement (for a profiler's view of it).

mod common;

use common::{Better, Goal, Row, ServerProcess, bounded};
use hyper_util::rt::TokioIo;
use std::io::Write as _;
use std::net::SocketAddr;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Set in a child of this binary: run the hyper server (`current` or `multi` thread runtime).
const SERVE: &str = "HIJACK_BENCH_CORES_SERVE";

/// Bytes per read and write, on every side: the echo servers' buffer and the clients'.
const CHUNK: usize = 64 * 1024;

// ---- the hyper peer, in a process of its own ------------------------------------------------

/// The hyper server: `with_upgrades`, `hyper::upgrade::on`, the upgraded connection taken
/// back to its `TcpStream` (`downcast`) and echoed with the same loop as `hijack serve`'s,
/// the strongest hyper echo we know how to write.
fn hyper_process(flavour: &str) {
    let rt = match flavour {
        "current" => tokio::runtime::Builder::new_current_thread(),
        _ => tokio::runtime::Builder::new_multi_thread(),
    }
    .enable_all()
    .build()
    .expect("tokio runtime");
    rt.block_on(async {
        let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let mut out = std::io::stdout().lock();
        writeln!(out, "listening on {}", l.local_addr().expect("addr")).expect("stdout");
        out.flush().expect("stdout");
        drop(out);
        loop {
            let Ok((s, _)) = l.accept().await else {
                continue;
            };
            tokio::spawn(common::serve_upgrades(s, |upgraded| async move {
                let Ok(parts) = upgraded.downcast::<TokioIo<TcpStream>>() else {
                    return;
                };
                let (mut rd, mut wr) = parts.io.into_inner().into_split();
                let _ = async {
                    wr.write_all(&parts.read_buf).await?;
                    pump(&mut rd, &mut wr).await?;
                    wr.shutdown().await
                }
                .await;
            }));
        }
    });
}

/// `rd` into `wr` through one [`CHUNK`] buffer until `rd` ends.
async fn pump<R, W>(rd: &mut R, wr: &mut W) -> std::io::Result<()>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = rd.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        wr.write_all(&buf[..n]).await?;
    }
}

// ---- placing threads ------------------------------------------------------------------------

/// Pin thread (or process) `id` to `cpus` (a `taskset` list such as `0` or `1-3`).
fn pin(id: u32, cpus: &str) {
    let status = Command::new("taskset")
        .args(["-p", "-c", cpus, &id.to_string()])
        .stdout(std::process::Stdio::null())
        .status()
        .expect("taskset (util-linux)");
    assert!(status.success(), "taskset -p -c {cpus} {id} failed");
}

/// `cmd`, run under `taskset -c cpus` when `cpus` is given.
fn placed(cmd: Command, cpus: Option<&str>) -> Command {
    let Some(cpus) = cpus else { return cmd };
    let mut pinned = Command::new("taskset");
    pinned.args(["-c", cpus]).arg(cmd.get_program());
    pinned.args(cmd.get_args());
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => pinned.env(k, v),
            None => pinned.env_remove(k),
        };
    }
    pinned
}

// ---- what a server process used ------------------------------------------------------------

/// Nanoseconds on a CPU so far, per thread of process `pid` (the scheduler's own count).
fn thread_cpu(pid: u32) -> Vec<(u32, u64)> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    tasks
        .flatten()
        .filter_map(|t| {
            let tid = t.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(t.path().join("schedstat")).ok()?;
            Some((tid, stat.split_whitespace().next()?.parse().ok()?))
        })
        .collect()
}

/// What a server used over one round: CPU nanoseconds, and the threads that did a tenth of
/// that work or more.
struct Used {
    cpu_ns: u64,
    busy_threads: usize,
}

fn used(pid: u32, before: &[(u32, u64)]) -> Used {
    let spent: Vec<u64> = thread_cpu(pid)
        .into_iter()
        .map(|(tid, now)| {
            let was = before
                .iter()
                .find(|(t, _)| *t == tid)
                .map_or(0, |(_, n)| *n);
            now.saturating_sub(was)
        })
        .collect();
    let cpu_ns: u64 = spent.iter().sum();
    Used {
        cpu_ns,
        busy_threads: spent.iter().filter(|&&n| n * 10 >= cpu_ns.max(1)).count(),
    }
}

// ---- the load ---------------------------------------------------------------------------------

/// What every bulk client writes, over and over: bytes that differ from their neighbours and
/// from a shifted copy, so a lost, doubled or reordered chunk shows.
fn pattern() -> Arc<[u8]> {
    (0..CHUNK)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_be_bytes()[0] ^ (i / 251) as u8)
        .collect::<Vec<u8>>()
        .into()
}

/// `conns` connections at once, each writing `bytes` of the pattern and reading every byte
/// back (checked) until the server half-closes; how long it took.
async fn bulk(addr: SocketAddr, conns: usize, bytes: usize, pattern: Arc<[u8]>) -> Duration {
    let request = common::request(addr);
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..conns {
        let (request, pattern) = (Arc::clone(&request), Arc::clone(&pattern));
        tasks.spawn(async move {
            let (mut rd, mut wr) = common::upgrade(addr, &request).await.into_split();
            let send = {
                let pattern = Arc::clone(&pattern);
                tokio::spawn(async move {
                    let mut left = bytes;
                    while left > 0 {
                        let n = left.min(CHUNK);
                        wr.write_all(&pattern[..n]).await.expect("send");
                        left -= n;
                    }
                    wr.shutdown().await.expect("half-close");
                })
            };
            let mut buf = vec![0u8; CHUNK];
            let mut got = 0usize;
            loop {
                let n = rd.read(&mut buf).await.expect("echo");
                if n == 0 {
                    break;
                }
                // The pattern repeats every CHUNK bytes: compare in at most two pieces.
                let mut done = 0;
                while done < n {
                    let at = (got + done) % CHUNK;
                    let take = (n - done).min(CHUNK - at);
                    assert!(
                        buf[done..done + take] == pattern[at..at + take],
                        "echoed bytes differ at offset {}",
                        got + done
                    );
                    done += take;
                }
                got += n;
            }
            assert_eq!(got, bytes, "echoed {got} of {bytes} bytes");
            send.await.expect("sender");
        });
    }
    bounded("bulk echo", async {
        while let Some(done) = tasks.join_next().await {
            done.expect("a client failed");
        }
    })
    .await;
    started.elapsed()
}

// ---- the runs -------------------------------------------------------------------------------

/// A server under test: its name in the rows, and its process.
struct Server {
    name: &'static str,
    process: ServerProcess,
}

/// One placement's results, per server (in `servers`' order).
#[derive(Default)]
struct Results {
    handshake_rates: Vec<Vec<f64>>,
    handshake_cpu_ns: Vec<u64>,
    handshakes: Vec<usize>,
    bulk_rates: Vec<Vec<f64>>,
    bulk_cpu_ns: Vec<u64>,
    /// The load generator's own CPU over the bulk rounds (this process).
    client_cpu_ns: Vec<u64>,
    bulk_mib: Vec<f64>,
    busy_threads: Vec<Vec<usize>>,
}

struct Sizes {
    handshakes: usize,
    conc: usize,
    conns: usize,
    bytes: usize,
    rounds: usize,
}

fn measure(rt: &tokio::runtime::Runtime, servers: &[Server], sizes: &Sizes) -> Results {
    let n = servers.len();
    let mut r = Results {
        handshake_rates: vec![Vec::new(); n],
        handshake_cpu_ns: vec![0; n],
        handshakes: vec![0; n],
        bulk_rates: vec![Vec::new(); n],
        bulk_cpu_ns: vec![0; n],
        client_cpu_ns: vec![0; n],
        bulk_mib: vec![0.0; n],
        busy_threads: vec![Vec::new(); n],
    };
    let pattern = pattern();
    let mib = sizes.bytes as f64 / (1 << 20) as f64 * sizes.conns as f64;
    rt.block_on(async {
        // Warm-up: every server's first connections, and its threads started.
        for s in servers {
            common::handshakes(s.process.addr, 200, sizes.conc).await;
            bulk(s.process.addr, 2, CHUNK * 16, Arc::clone(&pattern)).await;
        }
        for round in 0..sizes.rounds {
            for k in 0..n {
                let which = (round + k) % n;
                let (addr, pid) = (servers[which].process.addr, servers[which].process.pid());

                let before = thread_cpu(pid);
                let took = common::handshakes(addr, sizes.handshakes, sizes.conc).await;
                r.handshake_cpu_ns[which] += used(pid, &before).cpu_ns;
                r.handshakes[which] += sizes.handshakes;
                r.handshake_rates[which].push(sizes.handshakes as f64 / took.as_secs_f64());

                let before = thread_cpu(pid);
                let client_before = thread_cpu(std::process::id());
                let took = bulk(addr, sizes.conns, sizes.bytes, Arc::clone(&pattern)).await;
                let u = used(pid, &before);
                r.bulk_cpu_ns[which] += u.cpu_ns;
                r.client_cpu_ns[which] += used(std::process::id(), &client_before).cpu_ns;
                r.bulk_mib[which] += mib;
                r.bulk_rates[which].push(mib / took.as_secs_f64());
                r.busy_threads[which].push(u.busy_threads);
            }
        }
    });
    r
}

fn start(placement: Option<&str>, hyper_flavour: &str) -> Vec<Server> {
    // `HIJACK_BENCH_CORES_HIJACK`: another build of `hijack` to set against this one.
    let hijack = std::env::var_os("HIJACK_BENCH_CORES_HIJACK");
    let mut ours = Command::new(
        hijack
            .as_deref()
            .unwrap_or(env!("CARGO_BIN_EXE_hijack").as_ref()),
    );
    ours.args(["serve", "--listen", "127.0.0.1:0", "--echo"]);
    let mut hyper = Command::new(std::env::current_exe().expect("this binary"));
    hyper.env(SERVE, hyper_flavour);
    let mut servers = vec![
        Server {
            name: "hijack serve --echo",
            process: ServerProcess::start(placed(ours, placement)),
        },
        Server {
            name: if hyper_flavour == "current" {
                "hyper 1.x upgrade server, current-thread runtime"
            } else {
                "hyper 1.x upgrade server, multi-thread runtime"
            },
            process: ServerProcess::start(placed(hyper, placement)),
        },
    ];
    if let Some(go) = common::go_peers() {
        let mut cmd = Command::new(go);
        cmd.arg("echo");
        servers.push(Server {
            name: "Go net/http Hijacker, io.Copy echo",
            process: ServerProcess::start(placed(cmd, placement)),
        });
    }
    servers
}

fn rows(where_: &str, pinned: bool, servers: &[Server], r: &Results, sizes: &Sizes) -> Vec<Row> {
    let rate = |v: &Vec<f64>| common::median(v);
    let per_handshake = |k: usize| r.handshake_cpu_ns[k] as f64 / 1e3 / r.handshakes[k] as f64;
    let per_mib = |k: usize| r.bulk_cpu_ns[k] as f64 / 1e3 / r.bulk_mib[k];
    let busy = |k: usize| {
        let mut b = r.busy_threads[k].clone();
        b.sort_unstable();
        b[b.len() / 2]
    };
    let go = servers.get(2).map(|s| s.name);
    let bulk_what = format!(
        "bulk echo, {where_}: {} connections at once, {} MiB each",
        sizes.conns,
        sizes.bytes >> 20
    );
    let shake_what = format!(
        "handshakes/s, {where_}: {} fresh connections, {} at once, upgrade + 1-byte echo",
        common::thousands(sizes.handshakes),
        sizes.conc
    );
    // The load generator's CPU per MiB shows what each server's way of sending costs its
    // client on this one machine (a server that splices, as Go's does, keeps the client's pages in flight).
    let client_per_mib = |k: usize| r.client_cpu_ns[k] as f64 / 1e3 / r.bulk_mib[k];
    let threads_note = || {
        let mut note = format!(
            "busy server threads (median of rounds): ours {}, hyper {}",
            busy(0),
            busy(1)
        );
        if go.is_some() {
            note += &format!(", Go {}", busy(2));
        }
        note += &format!(
            "; the load generator's CPU per MiB echoed: against ours {:.0} µs, hyper {:.0} µs",
            client_per_mib(0),
            client_per_mib(1)
        );
        if go.is_some() {
            note += &format!(", Go {:.0} µs", client_per_mib(2));
        }
        note
    };
    let go_note = |what: &str, value: f64| match go {
        Some(_) => format!("Go: {what} {value:.1}"),
        None => "Go not built (scripts/bench builds it when Go is installed)".to_string(),
    };
    let mut rows = vec![
        Row::new(&bulk_what, "MiB/s", Better::Higher, rate(&r.bulk_rates[0]))
            .ours_is(servers[0].name)
            .peer(servers[1].name, rate(&r.bulk_rates[1]))
            .goal(Goal::RatioAtLeast(1.0))
            .note(threads_note()),
    ];
    if let Some(go) = go {
        rows.push(
            Row::new(
                format!("{bulk_what}, against Go"),
                "MiB/s",
                Better::Higher,
                rate(&r.bulk_rates[0]),
            )
            .ours_is(servers[0].name)
            .peer(go, rate(&r.bulk_rates[2]))
            .goal(Goal::RatioAtLeast(1.0)),
        );
    }
    rows.push(
        Row::new(
            format!("server CPU per MiB echoed, {where_}"),
            "µs/MiB",
            Better::Lower,
            per_mib(0),
        )
        .ours_is(servers[0].name)
        .peer(servers[1].name, per_mib(1))
        .goal(if pinned {
            Goal::RatioAtMost(1.0)
        } else {
            Goal::None
        })
        .note(go_note(
            "µs/MiB",
            if go.is_some() { per_mib(2) } else { 0.0 },
        )),
    );
    let mut shakes = Row::new(
        &shake_what,
        "handshakes/s",
        Better::Higher,
        rate(&r.handshake_rates[0]),
    )
    .ours_is(servers[0].name)
    .peer(servers[1].name, rate(&r.handshake_rates[1]))
    .note(go_note(
        "handshakes/s",
        if go.is_some() {
            rate(&r.handshake_rates[2])
        } else {
            0.0
        },
    ));
    if pinned {
        shakes = shakes.goal(Goal::RatioAtLeast(1.0));
    }
    rows.push(shakes);
    rows.push(
        Row::new(
            format!("server CPU per handshake, {where_}"),
            "µs",
            Better::Lower,
            per_handshake(0),
        )
        .ours_is(servers[0].name)
        .peer(servers[1].name, per_handshake(1))
        .goal(if pinned {
            Goal::RatioAtMost(1.0)
        } else {
            Goal::None
        })
        .note(go_note(
            "µs",
            if go.is_some() { per_handshake(2) } else { 0.0 },
        )),
    );
    rows
}

fn main() {
    if let Ok(flavour) = std::env::var(SERVE) {
        hyper_process(&flavour);
        return;
    }
    common::watchdog("cores", Duration::from_secs(540));
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let sizes = Sizes {
        handshakes: common::size("HIJACK_BENCH_CORES_HANDSHAKES", 5000, 500),
        conc: 64,
        conns: common::size("HIJACK_BENCH_CORES_CONNS", 32, 8),
        bytes: common::size("HIJACK_BENCH_CORES_MIB", 32, 4) << 20,
        rounds: common::size("HIJACK_BENCH_CORES_ROUNDS", 5, 2).max(1),
    };
    let only = std::env::var("HIJACK_BENCH_CORES_ONLY").unwrap_or_default();
    let mut all = Vec::new();

    // Pinned: the servers on core 0, this thread (the load generator) on the others.
    if cores < 2 {
        eprintln!("cores: one core only: the pinned rows are left out");
    } else if only != "every" {
        let me = common::thread_id();
        let rest = format!("1-{}", cores - 1);
        pin(me, &rest);
        let servers = start(Some("0"), "current");
        let results = measure(&common::current_thread(), &servers, &sizes);
        all.extend(rows(
            "server pinned to one core",
            true,
            &servers,
            &results,
            &sizes,
        ));
        drop(servers);
        pin(me, &format!("0-{}", cores - 1));
    }

    // Every core: nothing pinned.
    if only == "pinned" {
        common::emit("cores", &all);
        return;
    }
    let servers = start(None, "multi");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let results = measure(&rt, &servers, &sizes);
    all.extend(rows(
        &format!("server on every core ({cores})"),
        false,
        &servers,
        &results,
        &sizes,
    ));
    drop(servers);
    common::emit("cores", &all);
}
