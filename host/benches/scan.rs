//! Head scanning: `hijack_proto::HeadScanner` (the sans-IO core, natively) fed a typical
//! 600-byte request head one byte per call — the buffer growing by a byte each time, as a
//! slow client delivers it — against the whole head in one call. Nanoseconds per byte each,
//! and their ratio (the scanner resumes where it stopped, so a byte at a time should cost
//! little more than all at once).
//!
//! `HIJACK_BENCH_SCAN_HEADS` heads per sample fed at once (default 200000; quick 20000), a
//! tenth of that fed a byte at a time; 9 samples each (quick 5), interleaved; medians.

mod common;

use common::{Better, Row};
use hijack_proto::{DEFAULT_MAX_HEAD_BYTES, HeadScanner};
use std::hint::black_box;
use std::time::Instant;

/// A Docker-CLI-like attach request, padded with a plausible header to exactly 600 bytes.
fn head() -> Vec<u8> {
    let mut h = String::from(
        "POST /v1.47/containers/4f3c9a0e8d7b6c5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b1a/attach?stream=1&stdin=1&stdout=1&stderr=1 HTTP/1.1\r\n\
         Host: api.moby.localhost\r\n\
         User-Agent: Docker-Client/27.3.1 (linux)\r\n\
         Content-Type: text/plain\r\n\
         Accept: */*\r\n\
         Accept-Encoding: gzip\r\n\
         Connection: Upgrade\r\n\
         Upgrade: tcp\r\n\
         Traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\n",
    );
    let pad = 600 - h.len() - "X-Request-Id: \r\n\r\n".len();
    h.push_str("X-Request-Id: ");
    h.extend(std::iter::repeat_n('a', pad));
    h.push_str("\r\n\r\n");
    assert_eq!(h.len(), 600);
    h.into_bytes()
}

/// ns per byte, scanning `heads` heads in one call each.
fn at_once(head: &[u8], heads: usize) -> f64 {
    let started = Instant::now();
    for _ in 0..heads {
        let mut scanner = HeadScanner::new(DEFAULT_MAX_HEAD_BYTES);
        let end = scanner.scan(black_box(head)).expect("scan");
        assert_eq!(black_box(end), Some(head.len()));
    }
    started.elapsed().as_nanos() as f64 / (heads * head.len()) as f64
}

/// ns per byte, scanning `heads` heads a byte per call (the buffer growing by one each time).
fn bytewise(head: &[u8], heads: usize) -> f64 {
    let started = Instant::now();
    for _ in 0..heads {
        let mut scanner = HeadScanner::new(DEFAULT_MAX_HEAD_BYTES);
        let mut end = None;
        for i in 1..=head.len() {
            end = scanner.scan(black_box(&head[..i])).expect("scan");
            if end.is_some() {
                break;
            }
        }
        assert_eq!(black_box(end), Some(head.len()));
    }
    started.elapsed().as_nanos() as f64 / (heads * head.len()) as f64
}

fn main() {
    common::watchdog("scan", std::time::Duration::from_secs(120));
    let heads = common::size("HIJACK_BENCH_SCAN_HEADS", 200_000, 20_000).max(10);
    let samples = if common::quick() { 5 } else { 9 };
    let head = head();
    at_once(&head, heads / 10);
    bytewise(&head, heads / 100);
    let (mut whole, mut byte) = (Vec::new(), Vec::new());
    for _ in 0..samples {
        whole.push(at_once(&head, heads));
        byte.push(bytewise(&head, heads / 10));
    }
    println!("head scanning: a 600-byte request head, median of {samples} samples");
    let row = Row::new(
        "head scanning, 600-byte request head, 1 byte per call vs all at once",
        "ns/byte",
        Better::Lower,
        common::median(&byte),
    )
    .ours_is("HeadScanner, 1 byte per call")
    .peer(
        "HeadScanner, whole head in one call",
        common::median(&whole),
    )
    // The goal this row had (≤ 2x) is retired (issue 17): a call costs more than two bytes
    // of scanning by nature, and slow clients are the accept bench's. The row stays, to show
    // a regression in either number.
    .note("no goal: a call costs more than two bytes of scanning by nature (retired in issue 17)");
    common::emit("scan", &[row]);
}
