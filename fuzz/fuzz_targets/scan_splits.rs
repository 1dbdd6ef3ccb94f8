//! `HeadScanner` fed at fuzzer-chosen split points agrees with one scan of the whole buffer:
//! the same end offset or the same error, at every boundary; `room()` bounds a read loop that
//! always ends in a decision; `reset()` forgets everything. The reference scanner written
//! independently of the core (`fuzz_support::reference_scan`, shared with the proto tests) is
//! the oracle for all of it.
//!
//! Input: `[cap] [cap byte] [n] n × [u16 cut, big-endian] buffer…`. An even first byte takes
//! the default cap (64 KiB), an odd one the cap in the second byte (0..=255), so the cap's
//! edges are reached. Seed: `\0\0\0` then a head.

#![no_main]

use fuzz_support::reference_scan as reference;
use hijack_proto::{DEFAULT_MAX_HEAD_BYTES, HeadScanner};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let [mode, cap, n, rest @ ..] = data else {
        return;
    };
    let max = if mode & 1 == 0 {
        DEFAULT_MAX_HEAD_BYTES
    } else {
        usize::from(*cap)
    };
    let n = usize::from(n % 17).min(rest.len() / 2);
    let (cuts, buf) = rest.split_at(2 * n);
    let mut cuts: Vec<usize> = cuts
        .chunks_exact(2)
        .map(|c| usize::from(u16::from_be_bytes([c[0], c[1]])) % (buf.len() + 1))
        .collect();
    // Chunk sizes for the read loop below, before the cuts become boundaries.
    let chunks: Vec<usize> = cuts.iter().map(|&c| c % 97 + 1).collect();
    cuts.sort_unstable();
    cuts.dedup();

    // One scan of the whole buffer is what the reference says.
    let whole = HeadScanner::new(max).scan(buf);
    assert_eq!(whole, reference(buf, max), "one scan vs the reference");

    // One scanner over a buffer growing to each cut, then to its full length: every answer is
    // what a fresh scanner says about the same bytes, and the first decision is the whole's
    // decision on that prefix.
    let mut scanner = HeadScanner::new(max);
    let mut decided = None;
    for &cut in cuts.iter().chain(std::iter::once(&buf.len())) {
        let got = scanner.scan(&buf[..cut]);
        assert_eq!(got, HeadScanner::new(max).scan(&buf[..cut]), "cut {cut}");
        match got {
            Ok(None) => {
                assert!(cut <= max, "no decision over the cap ({cut} > {max})");
                assert_eq!(scanner.room(cut), max + 1 - cut, "room after {cut}");
                assert!(scanner.room(cut) > 0);
            }
            decision => {
                decided = Some((cut, decision));
                break;
            }
        }
    }
    match decided {
        // A decision on a prefix (a head ended, or the cap was passed, inside it) is the
        // whole buffer's decision.
        Some((cut, decision)) => assert_eq!(decision, whole, "decided at {cut}"),
        None => assert_eq!(whole, Ok(None)),
    }

    // `room` is the cap plus one, less what is buffered, never below zero.
    for len in [0, buf.len(), max, max.saturating_add(1), usize::MAX] {
        assert_eq!(scanner.room(len), max.saturating_add(1).saturating_sub(len));
    }

    // A read loop that asks for no more than `room` (chunks from the fuzzer) holds at most
    // `max + 1` bytes and ends in a decision before the input runs out, if it is long enough.
    let mut scanner = HeadScanner::new(max);
    let mut len = 0;
    let mut sizes = chunks.iter().copied().chain(std::iter::repeat(7));
    let looped = loop {
        let want = sizes.next().unwrap_or(1).min(scanner.room(len));
        assert!(want > 0, "no room left but no decision at {len}");
        let to = (len + want).min(buf.len());
        if to == len {
            break None;
        }
        len = to;
        assert!(len <= max + 1);
        match scanner.scan(&buf[..len]) {
            Ok(None) => {}
            decision => break Some(decision),
        }
    };
    match looped {
        Some(decision) => assert_eq!(decision, reference(&buf[..len], max)),
        None => {
            assert!(buf.len() <= max, "the loop ran out of input over the cap");
            assert_eq!(whole, Ok(None));
        }
    }

    // After `reset` the same scanner is a fresh one, on this buffer and on a shorter one.
    scanner.reset();
    assert_eq!(scanner.scan(buf), whole, "after reset");
    scanner.reset();
    let half = &buf[..buf.len() / 2];
    assert_eq!(
        scanner.scan(half),
        reference(half, max),
        "after reset, shorter"
    );
});
