//! Does a crowd of slow clients slow the server down? Sequential hijacks of a well-behaved
//! client through the library's server (accept, `101`, hand over), unloaded and then with
//! `HIJACK_BENCH_SLOW` (default 1000) connections whose heads arrive one byte per second; and
//! the process's CPU while only the slow clients are there. One run, side by side.
//!
//! `bash scripts/bench` (or `cargo bench -p hijack-host --bench accept`).

use hijack_host::{Limits, NetPolicy, Runtime};
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
        s.write_all(REQUEST).expect("request");
        let mut head = [0u8; SWITCH_LEN];
        s.read_exact(&mut head).expect("101");
    }
    n as f64 / started.elapsed().as_secs_f64()
}

/// CPU seconds this process has used (user + system), from /proc.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("/proc/self/stat");
    let after_name = &stat[stat.rfind(')').expect("comm") + 2..];
    let fields: Vec<&str> = after_name.split(' ').collect();
    let ticks: f64 =
        fields[11].parse::<f64>().expect("utime") + fields[12].parse::<f64>().expect("stime");
    ticks / 100.0
}

fn main() {
    let env = |k: &str, d: usize| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(d)
    };
    let (slow, n) = (
        env("HIJACK_BENCH_SLOW", 1000),
        env("HIJACK_BENCH_HIJACKS", 2000),
    );
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let runtime = Runtime::new().expect("compile the component");
    let any: SocketAddr = "127.0.0.1:0".parse().expect("addr");
    let (mut instance, listener) = rt.block_on(async {
        let mut instance = runtime
            .instantiate(NetPolicy::new().allow_listen(any))
            .await
            .expect("instance");
        let limits = Limits {
            head_timeout_ms: Some(600_000),
            ..Limits::default()
        };
        let listener = instance.listen(any, limits).await.expect("listen");
        (instance, listener)
    });
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
    thread::sleep(Duration::from_secs(2));
    let before = cpu_seconds();
    let idle_window = Duration::from_secs(5);
    thread::sleep(idle_window);
    let idle_cpu = (cpu_seconds() - before) / idle_window.as_secs_f64();
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
}
