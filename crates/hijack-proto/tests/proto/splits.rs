//! Property tests: read splits. A generated head with an arbitrary tail, or arbitrary bytes
//! under an arbitrary cap, read in arbitrary chunks by one growing scanner: every answer is
//! that of a fresh scanner on the same bytes, of httparse, and of a reference scanner written
//! independently of the core.

use std::iter;

use hijack_proto::client::parse_response;
use hijack_proto::server::parse_request;
use hijack_proto::{DEFAULT_MAX_HEAD_BYTES, DEFAULT_MAX_HEADERS, HeadScanner, Header, ProtoError};
use proptest::prelude::*;
use proptest::sample::{Index, select};

use crate::reference::reference_scan;
use crate::support::{Kind, httparse_end, scan_once};

/// Ascending, distinct read boundaries inside `0..=len`.
fn boundaries(cuts: &[Index], len: usize) -> Vec<usize> {
    let mut cuts: Vec<usize> = cuts.iter().map(|i| i.index(len + 1)).collect();
    cuts.sort_unstable();
    cuts.dedup();
    cuts
}

/// Feeds one scanner a buffer growing to each boundary and then to its full length; every
/// answer must be what a fresh scanner says about the same bytes at once. Returns the first
/// answer that is not `Ok(None)`.
fn scan_growing(
    buf: &[u8],
    max: usize,
    cuts: &[usize],
) -> Result<Result<Option<usize>, ProtoError>, TestCaseError> {
    let mut scanner = HeadScanner::new(max);
    for &cut in cuts.iter().chain(iter::once(&buf.len())) {
        let got = scanner.scan(&buf[..cut]);
        let whole = HeadScanner::new(max).scan(&buf[..cut]);
        prop_assert_eq!(&got, &whole, "boundary {} of {:?}", cut, cuts);
        if got != Ok(None) {
            return Ok(got);
        }
    }
    Ok(Ok(None))
}

const TCHARS: &[u8] =
    b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-.^_`|~";
const VCHARS: &[u8] = b"abcXYZ019!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~\x80\xa0\xc3\xa9\xff";
const TARGET_CHARS: &[u8] = b"abcXYZ019/?=&-._~%:@";

fn token(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(select(TCHARS), 1..max).prop_map(|b| String::from_utf8(b).expect("ASCII"))
}

/// A field value with no whitespace at its ends (httparse trims it), maybe with obs-text.
fn field_value() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(prop::collection::vec(select(VCHARS), 1..6), 0..4)
        .prop_map(|words| words.join(&b' '))
}

fn line_end() -> impl Strategy<Value = &'static [u8]> {
    prop_oneof![Just(&b"\r\n"[..]), Just(&b"\n"[..])]
}

/// A valid head (request or response) with random fields, line endings and leading empty
/// lines, with what it must parse to.
fn valid_head() -> impl Strategy<Value = (Kind, Vec<u8>, Vec<Header>)> {
    let start = prop_oneof![
        (100u16..=599, prop::collection::vec(token(8), 0..3), 0u8..=1).prop_map(
            |(status, reason, minor)| (
                Kind::Response,
                format!("HTTP/1.{minor} {status} {}", reason.join(" "))
            )
        ),
        (
            token(8),
            prop::collection::vec(select(TARGET_CHARS), 0..16),
            0u8..=1
        )
            .prop_map(|(method, target, minor)| (
                Kind::Request,
                format!(
                    "{method} /{} HTTP/1.{minor}",
                    String::from_utf8(target).expect("ASCII")
                )
            )),
    ];
    (
        prop::collection::vec(line_end(), 0..3),
        start,
        line_end(),
        prop::collection::vec((token(12), field_value(), line_end()), 0..8),
        line_end(),
    )
        .prop_map(|(leading, (kind, start), start_end, fields, blank)| {
            let mut head = leading.concat();
            head.extend_from_slice(start.as_bytes());
            head.extend_from_slice(start_end);
            let mut expected = Vec::new();
            for (name, value, end) in fields {
                head.extend_from_slice(name.as_bytes());
                head.extend_from_slice(b": ");
                head.extend_from_slice(&value);
                head.extend_from_slice(end);
                expected.push(Header::new(name, value));
            }
            head.extend_from_slice(blank);
            (kind, head, expected)
        })
}

/// Arbitrary bytes, with CR and LF (and whole terminators) much more likely than chance.
fn noisy_bytes(max_len: usize) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop_oneof![
            3 => any::<u8>(),
            2 => Just(b'\r'),
            2 => Just(b'\n'),
            1 => Just(b':'),
            1 => Just(b'A'),
        ],
        0..max_len,
    )
}

fn config() -> ProptestConfig {
    ProptestConfig {
        // Failures print their minimal input; no regression files in the source tree.
        failure_persistence: None,
        ..ProptestConfig::with_cases(2000)
    }
}

proptest! {
    #![proptest_config(config())]

    /// A generated head plus arbitrary tail bytes, read in several chunks: one growing scanner
    /// ends exactly where the whole buffer ends, which is where httparse ends, and the bytes
    /// after the end are exactly the tail.
    #[test]
    fn split_reads_end_where_the_whole_buffer_ends(
        (kind, head, fields) in valid_head(),
        tail in noisy_bytes(64),
        cuts in prop::collection::vec(any::<Index>(), 0..8),
    ) {
        let mut buf = head.clone();
        buf.extend_from_slice(&tail);
        let whole = scan_once(&buf);
        prop_assert_eq!(&whole, &Ok(Some(head.len())));
        prop_assert_eq!(httparse_end(kind, &buf), Some(head.len()));
        let cuts = boundaries(&cuts, buf.len());
        let split = scan_growing(&buf, DEFAULT_MAX_HEAD_BYTES, &cuts)?;
        prop_assert_eq!(&split, &whole);
        prop_assert_eq!(&buf[head.len()..], &tail[..]);
        let parsed_fields = match kind {
            Kind::Response => parse_response(&buf[..head.len()], DEFAULT_MAX_HEADERS)
                .map(|h| h.headers),
            Kind::Request => parse_request(&buf[..head.len()], DEFAULT_MAX_HEADERS)
                .map(|h| h.headers),
        };
        prop_assert_eq!(parsed_fields, Ok(fields));
    }

    /// Any bytes at all, any cap, any split: each answer of a growing scanner is that of the
    /// reference on the same prefix.
    #[test]
    fn split_reads_match_the_reference_on_noise(
        buf in noisy_bytes(160),
        max in 0usize..200,
        cuts in prop::collection::vec(any::<Index>(), 0..8),
    ) {
        let cuts = boundaries(&cuts, buf.len());
        let mut scanner = HeadScanner::new(max);
        for &cut in cuts.iter().chain(iter::once(&buf.len())) {
            let got = scanner.scan(&buf[..cut]);
            prop_assert_eq!(&got, &reference_scan(&buf[..cut], max), "boundary {}", cut);
            if got != Ok(None) {
                break;
            }
        }
        prop_assert_eq!(scan_growing(&buf, max, &cuts)?, reference_scan(&buf, max));
    }
}
