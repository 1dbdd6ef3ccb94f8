//! What the fuzz targets share: the byte format of their structured inputs, and the checks
//! that bytes an encoder produced parse back as exactly what was asked for.
//!
//! Structured inputs are fields separated by [`SEP`] (0xFF), a header field being a name and a
//! value separated by [`NV`] (0xFE): neither byte ever occurs in UTF-8, so every string the
//! API takes can be written, and the seeds stay readable (`printf 'GET\xff/x\xfftcp'`). The
//! targets that read a head take the bytes after it (the tail) as such fields.

// The reference head scanner has one home, in the proto tests; the fuzz targets use it from
// there.
#[path = "../../crates/hijack-proto/tests/proto/reference.rs"]
mod reference;
pub use reference::reference_scan;

use hijack_proto::client::parse_response;
use hijack_proto::{DEFAULT_MAX_HEADERS, HeadScanner, Header, ProtoError, ResponseHead};

/// Separates the fields of a structured input.
pub const SEP: u8 = 0xFF;
/// Separates a header field's name from its value.
pub const NV: u8 = 0xFE;

/// The fields of a structured input (an empty input is one empty field).
pub fn fields(data: &[u8]) -> Vec<&[u8]> {
    data.split(|&b| b == SEP).collect()
}

/// Text from fuzzer bytes (they are UTF-8 unless the fuzzer put 0x80.. bytes in a field).
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A header field from `name NV value` (no `NV`: an empty value).
pub fn header(field: &[u8]) -> Header {
    match field.iter().position(|&b| b == NV) {
        Some(i) => Header::new(text(&field[..i]), field[i + 1..].to_vec()),
        None => Header::new(text(field), Vec::new()),
    }
}

/// Header fields from the fields of a structured input.
pub fn headers(fields: &[&[u8]]) -> Vec<Header> {
    fields.iter().map(|f| header(f)).collect()
}

/// Where a head ends in `buf`, with no cap: what a peer reading it would take as the head.
pub fn head_end(buf: &[u8]) -> Option<usize> {
    HeadScanner::new(usize::MAX).scan(buf).expect("no cap")
}

/// A field cap no head in `bytes` can exceed: one field per line at most. (Parsing with
/// `MAX_HEADERS_CAP` would allocate its 10,000 slots on every run.)
pub fn lines(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| b == b'\n').count() + 1
}

/// A value as httparse gives it back: surrounding SP and HTAB trimmed.
pub fn trimmed(value: &[u8]) -> &[u8] {
    let is_ws = |b: &u8| *b == b' ' || *b == b'\t';
    let start = value.iter().position(|b| !is_ws(b)).unwrap_or(value.len());
    let end = value
        .iter()
        .rposition(|b| !is_ws(b))
        .map_or(start, |i| i + 1);
    &value[start..end]
}

/// `got` holds exactly the fields of `want`, in order: same names, values as the parser
/// returns them. One field more or less means a CR or LF got through.
pub fn assert_fields(got: &[Header], want: &[Header]) {
    let want: Vec<Header> = want
        .iter()
        .map(|h| Header::new(h.name.clone(), trimmed(&h.value)))
        .collect();
    assert_eq!(got, want.as_slice(), "fields parsed back");
}

/// Encoded responses one after another (a `100 Continue` then the answer), then `rest`: each
/// head ends where the scanner says, parses, and nothing follows the last but `rest`.
pub fn parse_responses(mut bytes: &[u8], count: usize, rest: &[u8]) -> Vec<ResponseHead> {
    let mut heads = Vec::new();
    for _ in 0..count {
        let end = head_end(bytes).expect("an encoded head is complete");
        let head =
            parse_response(&bytes[..end], lines(&bytes[..end])).expect("an encoded head parses");
        heads.push(head);
        bytes = &bytes[end..];
    }
    assert_eq!(bytes, rest, "bytes after the encoded heads");
    heads
}

/// One encoded response, then `rest`.
pub fn parse_response_then(bytes: &[u8], rest: &[u8]) -> ResponseHead {
    parse_responses(bytes, 1, rest).remove(0)
}

/// A field every check expects: `Name: value` as the encoder writes it.
pub fn field(name: &str, value: impl Into<Vec<u8>>) -> Header {
    Header::new(name, value)
}

/// Whether a value is what `validate::is_field_value` should accept, written independently:
/// HTAB, SP, VCHAR and obs-text (RFC 9110 §5.5), nothing else.
pub fn clean_value(value: &[u8]) -> bool {
    value
        .iter()
        .all(|&b| b == b'\t' || b == b' ' || (0x21..=0x7e).contains(&b) || b >= 0x80)
}

/// RFC 9110 §5.6.2 `token`, written independently of `validate::is_token`.
pub fn rfc_token(s: &str) -> bool {
    const TCHAR: &[u8] = b"!#$%&'*+-.^_`|~";
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_alphabetic() || TCHAR.contains(&b))
}

/// Field names the rules look at (and one they do not), for heads built from a spec.
pub const NAMES: &[&str] = &[
    "Host",
    "Connection",
    "Upgrade",
    "Content-Length",
    "Transfer-Encoding",
    "Expect",
    "Sec-WebSocket-Key",
    "Sec-WebSocket-Version",
    "Sec-WebSocket-Accept",
    "X-Other",
    "connection",
    "content-length",
];

/// Values that hit the rules' edges, for heads built from a spec.
pub const VALUES: &[&str] = &[
    "a",
    "Upgrade",
    "keep-alive, upgrade",
    "close",
    "tcp",
    "TCP",
    "websocket",
    "websocket, tcp",
    "tcp/1",
    ",tcp,",
    "",
    "0",
    "5",
    "5, 5",
    "5, 6",
    "5,",
    "+5",
    "18446744073709551616",
    "chunked",
    "gzip, chunked",
    "chunked, gzip",
    "chunked, chunked",
    "identity",
    "100-continue",
    "100-Continue",
    "foo",
    "dGhlIHNhbXBsZSBub25jZQ==",
    "dGhlIHNhbXBsZSBub25jZR==",
    "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
    "13",
    "8",
    "13, 13",
    "13, 8",
    "example.com:443",
];

/// Header lines built from a spec: each pair of bytes picks a name and a value. Reaches the
/// combinations the rules are about (`Transfer-Encoding` with `Content-Length`, two
/// `Sec-WebSocket-Version`s…) far sooner than byte mutations do.
pub fn built_fields(spec: &[u8]) -> String {
    spec.chunks_exact(2)
        .map(|p| {
            let name = NAMES[usize::from(p[0]) % NAMES.len()];
            let value = VALUES[usize::from(p[1]) % VALUES.len()];
            format!("{name}: {value}\r\n")
        })
        .collect()
}

/// The input of a target that reads a head: raw bytes, or — when the first byte is 0, which
/// no head starts with — a head built from the spec up to the first [`SEP`] by `build`, then
/// the rest as the tail. Returns the head's bytes and the tail.
pub fn head_and_tail(data: &[u8], build: impl FnOnce(&[u8]) -> String) -> Option<(Vec<u8>, &[u8])> {
    if let [0, rest @ ..] = data {
        let (spec, tail) = match rest.iter().position(|&b| b == SEP) {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (rest, &[][..]),
        };
        return Some((build(spec).into_bytes(), tail));
    }
    let end = head_end(data)?;
    Some((data[..end].to_vec(), &data[end..]))
}

/// How the component uses a head parser — scan for the end, parse exactly `data[..end]`, hand
/// the rest over — checked against `parse` on the whole of `data` (`whole`) and against
/// httparse's own end (`httparse_end`): the same end, the same head from the head alone, the
/// field cap exact (`fields` counts a head's fields), and a refusal that is about the head, not
/// about bytes past it.
pub fn check_head_use<T: PartialEq + std::fmt::Debug>(
    data: &[u8],
    whole: &Result<T, ProtoError>,
    httparse_end: Option<usize>,
    parse: impl Fn(&[u8], usize) -> Result<T, ProtoError>,
    fields: impl Fn(&T) -> usize,
) {
    match (whole, head_end(data)) {
        (Ok(head), Some(end)) => {
            assert_eq!(httparse_end, Some(end), "httparse's end vs the scanner's");
            assert_eq!(parse(&data[..end], DEFAULT_MAX_HEADERS).as_ref(), Ok(head));
            // Exactly as many fields as the head has is enough; one fewer is not.
            let n = fields(head);
            assert_eq!(parse(&data[..end], n).as_ref(), Ok(head));
            if n > 0 {
                assert_eq!(parse(&data[..end], n - 1), Err(ProtoError::TooManyHeaders));
            }
        }
        (Ok(_), None) => panic!("httparse found a complete head the scanner did not"),
        (Err(_), Some(end)) => {
            let alone = parse(&data[..end], DEFAULT_MAX_HEADERS);
            assert!(alone.is_err(), "the head alone parses: {alone:?}");
            assert_ne!(alone, Err(ProtoError::Malformed("incomplete head")));
        }
        (Err(_), None) => {}
    }
}
