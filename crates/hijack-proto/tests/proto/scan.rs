//! The scanner and the parsers on the table of heads (`support::cases`):
//!
//! - the table: where the scanner ends each head, what the parser makes of it, and that
//!   httparse agrees on the end;
//! - every prefix is incomplete: every strict prefix of a head is incomplete, for a fresh
//!   scanner and for one growing scanner, and `reset` starts a new buffer;
//! - head and tail in one buffer: the scanner ends at the head, whatever bytes follow it;
//! - the head cap: a head at the cap is accepted, one byte over is refused, and a read loop
//!   bounded by `room` always ends in a decision.

use hijack_proto::client::parse_response;
use hijack_proto::server::parse_request;
use hijack_proto::{DEFAULT_MAX_HEAD_BYTES, DEFAULT_MAX_HEADERS, HeadScanner, ProtoError};

use crate::support::{
    cases, head_with_fields, httparse_end, malformed, parse, scan_once, valid_cases,
};

// ---------------------------------------------------------------------------------------------
// The table
// ---------------------------------------------------------------------------------------------

#[test]
fn table_scan_end_and_parse_outcome() {
    for case in cases() {
        let name = case.name;
        assert_eq!(
            scan_once(&case.head),
            Ok(Some(case.head.len())),
            "{name}: scanner end"
        );
        assert_eq!(parse(case.kind, &case.head), case.expect, "{name}: parse");
        if case.expect.is_ok() {
            assert_eq!(
                httparse_end(case.kind, &case.head),
                Some(case.head.len()),
                "{name}: httparse disagrees on the end"
            );
        }
    }
}

#[test]
fn table_errors_display_and_are_std_errors() {
    for case in cases() {
        if let Err(e) = case.expect {
            let shown = e.to_string();
            assert!(!shown.is_empty(), "{}", case.name);
            let _: &dyn std::error::Error = &e;
        }
    }
    assert_eq!(ProtoError::HeadTooLarge.to_string(), "head too large");
    assert_eq!(ProtoError::TooManyHeaders.to_string(), "too many headers");
}

#[test]
fn parse_refuses_an_incomplete_head() {
    assert_eq!(
        parse_response(b"HTTP/1.1 200 OK\r\nServer: x\r\n", DEFAULT_MAX_HEADERS),
        Err(malformed("incomplete head"))
    );
    assert_eq!(
        parse_request(b"GET / HTTP/1.1\r\n", DEFAULT_MAX_HEADERS),
        Err(malformed("incomplete head"))
    );
    assert_eq!(
        parse_response(b"", DEFAULT_MAX_HEADERS),
        Err(malformed("incomplete head"))
    );
}

#[test]
fn max_headers_is_the_callers_choice() {
    let head = head_with_fields("HTTP/1.1 200 OK", 3);
    assert_eq!(parse_response(&head, 3).map(|h| h.headers.len()), Ok(3));
    assert_eq!(parse_response(&head, 2), Err(ProtoError::TooManyHeaders));
    let head = head_with_fields("GET / HTTP/1.1", 3);
    assert_eq!(parse_request(&head, 3).map(|h| h.headers.len()), Ok(3));
    assert_eq!(parse_request(&head, 2), Err(ProtoError::TooManyHeaders));
    assert_eq!(
        parse_request(b"GET / HTTP/1.1\r\n\r\n", 0).map(|h| h.headers.len()),
        Ok(0)
    );
}

// ---------------------------------------------------------------------------------------------
// Every prefix is incomplete
// ---------------------------------------------------------------------------------------------

#[test]
fn every_strict_prefix_is_incomplete_for_a_fresh_scanner() {
    for case in cases() {
        for n in 0..case.head.len() {
            let prefix = &case.head[..n];
            assert_eq!(scan_once(prefix), Ok(None), "{}: prefix {n}", case.name);
            if case.expect.is_ok() {
                assert_eq!(
                    parse(case.kind, prefix),
                    Err(malformed("incomplete head")),
                    "{}: parse of prefix {n}",
                    case.name
                );
            }
        }
    }
}

#[test]
fn every_strict_prefix_is_incomplete_for_one_growing_scanner() {
    for case in cases() {
        let mut scanner = HeadScanner::new(DEFAULT_MAX_HEAD_BYTES);
        for n in 0..case.head.len() {
            assert_eq!(
                scanner.scan(&case.head[..n]),
                Ok(None),
                "{}: prefix {n}",
                case.name
            );
        }
        assert_eq!(
            scanner.scan(&case.head),
            Ok(Some(case.head.len())),
            "{}: whole head",
            case.name
        );
    }
}

#[test]
fn growing_scanner_with_repeated_and_empty_calls() {
    // The same length twice, and empty buffers first, change nothing.
    for case in valid_cases() {
        let mut scanner = HeadScanner::new(DEFAULT_MAX_HEAD_BYTES);
        assert_eq!(scanner.scan(b""), Ok(None));
        assert_eq!(scanner.scan(b""), Ok(None));
        for n in 0..case.head.len() {
            assert_eq!(scanner.scan(&case.head[..n]), Ok(None), "{}", case.name);
            assert_eq!(scanner.scan(&case.head[..n]), Ok(None), "{}", case.name);
        }
        assert_eq!(scanner.scan(&case.head), Ok(Some(case.head.len())));
        assert_eq!(scanner.scan(&case.head), Ok(Some(case.head.len())));
    }
}

#[test]
fn reset_starts_a_new_buffer() {
    let long = b"HTTP/1.1 200 OK\r\nX-Padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    let short = b"HTTP/1.1 200 OK\r\n\r\n";
    let mut scanner = HeadScanner::new(DEFAULT_MAX_HEAD_BYTES);
    assert_eq!(scanner.scan(long), Ok(None));
    scanner.reset();
    assert_eq!(scanner.scan(short), Ok(Some(short.len())));
    // After reset the new buffer is scanned from its start, even when it is shorter than
    // what was scanned before.
    let mut scanner = HeadScanner::new(DEFAULT_MAX_HEAD_BYTES);
    assert_eq!(scanner.scan(long), Ok(None));
    scanner.reset();
    for n in 0..short.len() {
        assert_eq!(scanner.scan(&short[..n]), Ok(None));
    }
    assert_eq!(scanner.scan(short), Ok(Some(short.len())));
    // Leading empty lines of the old buffer are forgotten too.
    let mut scanner = HeadScanner::new(DEFAULT_MAX_HEAD_BYTES);
    let blank = b"\r\n".repeat(20);
    assert_eq!(scanner.scan(&blank), Ok(None));
    scanner.reset();
    let tiny = b"HTTP/1.1 204 X\n\n";
    assert_eq!(scanner.scan(tiny), Ok(Some(tiny.len())));
}

// ---------------------------------------------------------------------------------------------
// Head and tail in one buffer
// ---------------------------------------------------------------------------------------------

/// Tails that look like heads or terminators themselves.
const TAILS: &[&[u8]] = &[
    b"",
    b"\r\n\r\n",
    b"\n\n",
    b"\n",
    b"\r\n",
    b"\r",
    b"\n\r\n",
    b"HTTP/1.1 200 OK\r\n\r\n",
    b"GET /pipelined HTTP/1.1\r\nHost: a\r\n\r\nmore",
    b"hello from the new protocol",
    b"\x00\x01\x02\x03\xff\xfe\r\n\r\n\x81\x7e",
    b"\x81\x05Hello",
];

#[test]
fn head_and_tail_in_one_buffer_split_exactly() {
    for case in cases() {
        for tail in TAILS {
            let mut buf = case.head.clone();
            buf.extend_from_slice(tail);
            let end = scan_once(&buf).unwrap().unwrap();
            assert_eq!(end, case.head.len(), "{}: tail {tail:?}", case.name);
            assert_eq!(&buf[end..], *tail, "{}", case.name);
            assert_eq!(parse(case.kind, &buf[..end]), case.expect, "{}", case.name);
            if case.expect.is_ok() {
                assert_eq!(httparse_end(case.kind, &buf), Some(end), "{}", case.name);
            }
            // One scanner: head prefixes first, then head and tail arriving together.
            let mut scanner = HeadScanner::new(DEFAULT_MAX_HEAD_BYTES);
            for n in 0..case.head.len() {
                assert_eq!(scanner.scan(&buf[..n]), Ok(None));
            }
            assert_eq!(scanner.scan(&buf), Ok(Some(end)), "{}", case.name);
        }
    }
}

#[test]
fn head_tail_split_across_every_single_boundary() {
    // Two reads, the boundary anywhere: the end is the same.
    for case in valid_cases() {
        let mut buf = case.head.clone();
        buf.extend_from_slice(b"\r\n\r\nTAIL\n\n");
        for cut in 0..=buf.len() {
            let mut scanner = HeadScanner::new(DEFAULT_MAX_HEAD_BYTES);
            let first = scanner.scan(&buf[..cut]).unwrap();
            let end = match first {
                Some(end) => end,
                None => scanner.scan(&buf).unwrap().unwrap(),
            };
            assert_eq!(end, case.head.len(), "{}: cut {cut}", case.name);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The head cap
// ---------------------------------------------------------------------------------------------

#[test]
fn head_exactly_at_the_cap_is_accepted_one_byte_over_is_refused() {
    for case in cases() {
        let len = case.head.len();
        assert_eq!(HeadScanner::new(len).scan(&case.head), Ok(Some(len)));
        // The end is found, but beyond the cap.
        assert_eq!(
            HeadScanner::new(len - 1).scan(&case.head),
            Err(ProtoError::HeadTooLarge),
            "{}",
            case.name
        );
        // Also with a tail after it, and when read a byte at a time.
        let mut buf = case.head.clone();
        buf.extend_from_slice(b"tail\r\n\r\n");
        assert_eq!(
            HeadScanner::new(len - 1).scan(&buf),
            Err(ProtoError::HeadTooLarge)
        );
        let mut scanner = HeadScanner::new(len - 1);
        let first_error = (0..=len).find(|&n| scanner.scan(&case.head[..n]).is_err());
        assert_eq!(first_error, Some(len), "{}", case.name);
    }
}

#[test]
fn buffer_over_the_cap_without_an_end_is_refused() {
    let partial = b"HTTP/1.1 200 OK\r\nX-Long: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    let max = 20;
    assert_eq!(HeadScanner::new(max).scan(&partial[..max]), Ok(None));
    assert_eq!(
        HeadScanner::new(max).scan(&partial[..=max]),
        Err(ProtoError::HeadTooLarge)
    );
    assert_eq!(
        HeadScanner::new(max).scan(partial),
        Err(ProtoError::HeadTooLarge)
    );
    // Growing a byte at a time: the first refusal is at `max + 1` bytes.
    let mut scanner = HeadScanner::new(max);
    for n in 0..=max {
        assert_eq!(scanner.scan(&partial[..n]), Ok(None));
    }
    assert_eq!(
        scanner.scan(&partial[..=max]),
        Err(ProtoError::HeadTooLarge)
    );
    // A zero cap refuses any byte.
    assert_eq!(HeadScanner::new(0).scan(b""), Ok(None));
    assert_eq!(
        HeadScanner::new(0).scan(b"H"),
        Err(ProtoError::HeadTooLarge)
    );
}

#[test]
fn leading_empty_lines_count_towards_the_cap() {
    let head = b"\r\n\r\n\r\nHTTP/1.1 200 OK\r\n\r\n";
    assert_eq!(
        HeadScanner::new(head.len()).scan(head),
        Ok(Some(head.len()))
    );
    assert_eq!(
        HeadScanner::new(head.len() - 1).scan(head),
        Err(ProtoError::HeadTooLarge)
    );
    // Nothing but empty lines: never a head, refused once over the cap.
    let blank = b"\r\n".repeat(20);
    assert_eq!(HeadScanner::new(40).scan(&blank), Ok(None));
    assert_eq!(
        HeadScanner::new(39).scan(&blank),
        Err(ProtoError::HeadTooLarge)
    );
}

#[test]
fn only_empty_lines_fed_a_byte_at_a_time_up_to_the_default_cap() {
    // Slowloris with empty lines: a byte per read until the cap. Must stay cheap.
    let blank = b"\r\n".repeat(DEFAULT_MAX_HEAD_BYTES / 2 + 1);
    let mut scanner = HeadScanner::new(DEFAULT_MAX_HEAD_BYTES);
    for n in 0..=DEFAULT_MAX_HEAD_BYTES {
        assert_eq!(scanner.scan(&blank[..n]), Ok(None));
    }
    assert_eq!(
        scanner.scan(&blank[..=DEFAULT_MAX_HEAD_BYTES]),
        Err(ProtoError::HeadTooLarge)
    );
}

#[test]
fn a_long_head_fed_a_byte_at_a_time_up_to_the_default_cap() {
    let head = head_with_fields("HTTP/1.1 200 OK", 4000);
    let mut scanner = HeadScanner::new(DEFAULT_MAX_HEAD_BYTES);
    let over = (0..=head.len())
        .find(|&n| scanner.scan(&head[..n]) != Ok(None))
        .expect("a decision");
    assert!(head.len() > DEFAULT_MAX_HEAD_BYTES);
    assert_eq!(over, DEFAULT_MAX_HEAD_BYTES + 1);
}

#[test]
fn room_is_what_is_left_before_a_decision() {
    let scanner = HeadScanner::new(10);
    assert_eq!(scanner.room(0), 11);
    assert_eq!(scanner.room(5), 6);
    assert_eq!(scanner.room(10), 1);
    assert_eq!(scanner.room(11), 0);
    assert_eq!(scanner.room(1000), 0);
    assert_eq!(HeadScanner::new(0).room(0), 1);
    assert_eq!(
        HeadScanner::new(DEFAULT_MAX_HEAD_BYTES).room(0),
        DEFAULT_MAX_HEAD_BYTES + 1
    );
    assert_eq!(HeadScanner::new(usize::MAX).room(0), usize::MAX);
}

#[test]
fn reading_no_more_than_room_always_ends_in_a_decision() {
    // A read loop that never asks for more than `room` ends with the head or with
    // `HeadTooLarge`, and never holds more than `max + 1` bytes.
    let mut inputs: Vec<Vec<u8>> = cases().into_iter().map(|c| c.head).collect();
    inputs.push(b"HTTP/1.1 200 OK\r\nX: no end in sight".repeat(10));
    for input in &inputs {
        let mut stream = input.clone();
        stream.extend_from_slice(&b"TAIL".repeat(20));
        for max in [0, 1, 7, 16, input.len() - 1, input.len(), input.len() + 10] {
            for chunk in [1, 3, 64] {
                let mut scanner = HeadScanner::new(max);
                let mut buf = Vec::new();
                let decision = loop {
                    let want = chunk.min(scanner.room(buf.len()));
                    assert!(want > 0, "no room left but no decision");
                    let from = buf.len();
                    let to = (from + want).min(stream.len());
                    assert!(to > from, "ran out of input");
                    buf.extend_from_slice(&stream[from..to]);
                    assert!(buf.len() <= max + 1);
                    match scanner.scan(&buf) {
                        Ok(None) => continue,
                        other => break other,
                    }
                };
                let expected = if input.ends_with(b"no end in sight") || input.len() > max {
                    Err(ProtoError::HeadTooLarge)
                } else {
                    Ok(Some(input.len()))
                };
                assert_eq!(decision, expected, "max {max}, chunk {chunk}");
            }
        }
    }
}
