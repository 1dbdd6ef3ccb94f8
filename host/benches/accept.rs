//! Does a crowd of slow clients slow the server down? Sequential hijacks of a well-behaved
//! client through the library's server (accept, `101`, hand over), unloaded and then with
//! `HIJACK_BENCH_SLOW` (default 1000; quick 200) connections whose heads arrive one byte per
//! second; and the process's CPU while only the slow clients are there. One run, side by side.
//! `HIJACK_BENCH_HIJACKS` hijacks each way (default 2000; quick 300). The crowd needs two
//! descriptors a client: with a low `ulimit -n` it is made smaller (the row says so).
//!
//! `bash scripts/bench` (or `cargo bench -p hijack-host --bench accept`).

mod common;

use common::{Better, Goal, Row};
use hijack_host::{Limits, Runtime};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

const REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n";
const SWITCH_LEN: usize =
    b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n".len();

/// `n` sequential hijacks: connect, ask, read the whole 101, close. Hijacks per second.
fn hijacks_per_s(addr: SocketAddr, n: usize) -> f64 {
    let started = Instant::now();
    for _ in 0..n {
        let mut s = TcpStream::connect(addr).expect("connect");
        s.set_nodelay(true).expect("nodelay");
        s.set_read_timeout(Some(common::STEP)).expect("timeout");
        s.write_all(REQUEST).expect("request");
        let mut head = [0u8; SWITCH_LEN];
        s.read_exact(&mut head).expect("101");
    }
    n as f64 / started.elapsed().as_secs_f64()
}

fn main() {
    common::watchdog("accept", Duration::from_secs(240));
    let (wanted, n) = (
        common::size("HIJACK_BENCH_SLOW", 1000, 200),
        common::size("HIJACK_BENCH_HIJACKS", 2000, 300),
    );
    // Both ends of each slow connection live in this process; keep 100 descriptors spare.
    let limit = common::open_files_limit();
    let slow = wanted.min(limit.saturating_sub(100) / 2);
    let crowd_name = if slow < wanted {
        format!(
            "{} slow clients (scaled down from {}: ulimit -n is {limit})",
            common::thousands(slow),
            common::thousands(wanted)
        )
    } else {
        format!("{} slow clients", common::thousands(slow))
    };
    let (settle, window) = if common::quick() { (1, 2) } else { (2, 5) };
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let runtime = Runtime::new().expect("compile the component");
    let limits = Limits {
        head_timeout_ms: Some(600_000),
        ..Limits::default()
    };
    let (mut instance, listener) = rt.block_on(common::loopback_listener(&runtime, limits));
    let addr = listener.local_addr;
    rt.spawn(async move {
        loop {
            let Ok(incoming) = instance.accept(&listener).await else {
                return;
            };
            if let Ok(stream) = instance.hijack(incoming, "tcp", Vec::new()).await {
                drop(stream);
            }
        }
    });

    let unloaded = hijacks_per_s(addr, n);

    // The slow crowd: each sends its head one byte per second, from one thread.
    let stop = Arc::new(AtomicBool::new(false));
    let crowd: Vec<TcpStream> = (0..slow)
        .map(|_| TcpStream::connect(addr).expect("slow connect"))
        .collect();
    let dribbler = {
        let stop = Arc::clone(&stop);
        thread::spawn(move || {
            let mut crowd = crowd;
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                let started = Instant::now();
                for s in &mut crowd {
                    let _ = s.write_all(&REQUEST[i % 16..i % 16 + 1]);
                }
                i += 1;
                thread::sleep(Duration::from_secs(1).saturating_sub(started.elapsed()));
            }
        })
    };
    thread::sleep(Duration::from_secs(settle));
    let before = common::cpu_seconds();
    let idle_window = Duration::from_secs(window);
    thread::sleep(idle_window);
    let idle_cpu = (common::cpu_seconds() - before) / idle_window.as_secs_f64();
    let loaded = hijacks_per_s(addr, n);
    stop.store(true, Ordering::Relaxed);
    let _ = dribbler.join();

    println!(
        "accept under a slow crowd: {slow} clients at one byte per second, {n} hijacks each way"
    );
    println!("  unloaded                {unloaded:>9.0} hijacks/s");
    println!("  with the crowd          {loaded:>9.0} hijacks/s");
    println!(
        "  ratio (loaded/unloaded) {:>9.2}x   (goal >= 0.50x)",
        loaded / unloaded
    );
    println!(
        "  CPU with only the crowd {:>8.1}%   of a core (process, the crowd's own writes included; goal <= 10%)",
        idle_cpu * 100.0
    );
    let rows = [
        Row::new(
            format!(
                "accept under {crowd_name}: sequential hijacks ({} each way)",
                common::thousands(n)
            ),
            "hijacks/s",
            Better::Higher,
            loaded,
        )
        .ours_is("with the crowd")
        .peer("unloaded (same server)", unloaded)
        .goal(Goal::RatioAtLeast(0.5)),
        Row::new(
            format!("accept under {crowd_name}: process CPU with only the crowd"),
            "% of a core",
            Better::Lower,
            idle_cpu * 100.0,
        )
        .ours_is("the whole bench process, the crowd's writes included")
        .goal(Goal::OursAtMost(10.0)),
    ];
    common::emit("accept", &rows);
}
