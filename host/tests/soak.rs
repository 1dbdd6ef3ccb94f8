//! `hijack serve` as a process under a long run of hijacks: its descriptors come back to the
//! same count and its memory stays flat after warm-up (no per-connection leak in the host, the
//! component's linear memory or the runtime's tables). Every wait is bounded.

use std::io::Write;
use std::net::SocketAddr;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::support;

use support::{LIMIT, blocking, listening};

/// One client: upgrade, echo `payload`, half-close, read to the end.
fn hijack_once(addr: SocketAddr, payload: &[u8]) {
    let mut s = blocking::connect(addr, LIMIT);
    s.write_all(b"POST /exec HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n")
        .expect("request");
    assert!(blocking::read_head(&mut s, LIMIT).starts_with(b"HTTP/1.1 101 "));
    s.write_all(payload).expect("payload");
    s.shutdown(std::net::Shutdown::Write).expect("half-close");
    assert_eq!(blocking::read_to_end(&mut s, LIMIT), payload);
}

/// (open descriptors, resident KiB) of process `pid`, from /proc.
fn usage(pid: u32) -> (usize, u64) {
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("/proc fd")
        .count();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
    let rss = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS");
    (fds, rss)
}

/// The server's descriptor count once it has closed the connections it is done with: the
/// count once it has not changed for 200 ms (a client sees EOF a moment before the server's
/// close returns), bounded by [`LIMIT`].
fn settled_fds(pid: u32) -> usize {
    let start = Instant::now();
    let (mut last, mut since) = (usage(pid).0, Instant::now());
    while since.elapsed() < Duration::from_millis(200) && start.elapsed() < LIMIT {
        std::thread::sleep(Duration::from_millis(20));
        let (fds, _) = usage(pid);
        if fds != last {
            (last, since) = (fds, Instant::now());
        }
    }
    last
}

#[test]
fn serve_keeps_descriptors_and_memory_flat_over_thousands_of_hijacks() {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hijack"));
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--echo"]);
    let (server, addr) = listening(cmd, LIMIT);
    let pid = server.id();
    let payload: Vec<u8> = (0..4096u32).map(|i| (i * 7) as u8).collect();
    for _ in 0..500 {
        hijack_once(addr, &payload);
    }
    let fds_warm = settled_fds(pid);
    let (_, rss_warm) = usage(pid);
    for _ in 0..2500 {
        hijack_once(addr, &payload);
    }
    let fds_end = settled_fds(pid);
    let (_, rss_end) = usage(pid);
    eprintln!("fds {fds_warm} -> {fds_end}; RSS {rss_warm} KiB -> {rss_end} KiB");
    assert_eq!(fds_end, fds_warm, "descriptors leaked");
    // 2,500 more hijacks: a leak of even 1 KiB each would add 2.4 MiB.
    assert!(
        rss_end <= rss_warm + 1024,
        "RSS grew from {rss_warm} KiB to {rss_end} KiB"
    );
}
