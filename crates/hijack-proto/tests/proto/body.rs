//! Request bodies read before the answer: every framing, in every split, the bytes after the
//! body left alone, and the malformed and oversized shapes refused.

use hijack_proto::ProtoError;
use hijack_proto::RequestHead;
use hijack_proto::body::{BodyReader, DEFAULT_MAX_BODY_BYTES, Framing, max_body_bytes};
use hijack_proto::server::parse_request;

/// Feed `wire` in pieces of `step`; the body, and how many bytes of `wire` were the body's.
fn read(
    framing: Framing,
    max: u64,
    wire: &[u8],
    step: usize,
) -> Result<(Vec<u8>, usize), ProtoError> {
    let mut reader = BodyReader::new(framing, max);
    let mut body = Vec::new();
    let mut used = 0;
    for piece in wire.chunks(step.max(1)) {
        if reader.is_done() {
            break;
        }
        used += reader.feed(piece, &mut body)?;
    }
    assert!(reader.is_done(), "the body did not end");
    Ok((body, used))
}

fn head(text: &str) -> RequestHead {
    parse_request(text.as_bytes(), 100).unwrap()
}

#[test]
fn the_framing_comes_from_the_head() {
    let plain = head("POST / HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(Framing::of(&plain), Framing::None);
    let length = head("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 12\r\n\r\n");
    assert_eq!(Framing::of(&length), Framing::Length(12));
    let chunked = head("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n");
    assert_eq!(Framing::of(&chunked), Framing::Chunked);
}

#[test]
fn every_framing_in_every_split_stops_where_the_body_ends() {
    let json = br#"{"Detach":false,"Tty":false}"#;
    let after = b"stdin-bytes";
    let chunked = [
        &b"5;name=value\r\n{\"Det\r\n"[..],
        b"17 \r\nach\":false,\"Tty\":false}\r\n",
        b"0\r\nX-Trailer: 1\r\n\r\n",
    ]
    .concat();
    let cases = [
        (Framing::Length(json.len() as u64), json.to_vec()),
        (Framing::Chunked, chunked),
        (Framing::None, Vec::new()),
        (Framing::Length(0), Vec::new()),
    ];
    for (framing, framed) in cases {
        let wire = [&framed[..], after].concat();
        for step in [1, 2, 3, 5, 7, 64, wire.len()] {
            let (body, used) = read(framing, DEFAULT_MAX_BODY_BYTES, &wire, step).unwrap();
            let expected: &[u8] = if framing == Framing::None || framing == Framing::Length(0) {
                b""
            } else {
                json
            };
            assert_eq!(body, expected, "{framing:?} step {step}");
            assert_eq!(&wire[used..], after, "{framing:?} step {step}");
        }
    }
}

#[test]
fn malformed_chunked_bodies_are_refused() {
    for wire in [
        &b"5\n12345\r\n0\r\n\r\n"[..], // a bare LF after the size
        b"5\r\n12345\n0\r\n\r\n",      // a bare LF after the data
        b"5\r\n12345XX0\r\n\r\n",      // no CRLF after the data
        b"g\r\n",                      // not hex
        b"\r\n",                       // no size at all
        b"11111111111111111\r\n",      // 17 hex digits
        b"0\r\nX: y\nZ\r\n\r\n",       // a bare LF in the trailers
    ] {
        let mut reader = BodyReader::new(Framing::Chunked, DEFAULT_MAX_BODY_BYTES);
        let err = reader.feed(wire, &mut Vec::new()).unwrap_err();
        assert!(
            matches!(err, ProtoError::MalformedBody(_)),
            "{:?}: {err:?}",
            String::from_utf8_lossy(wire)
        );
    }
    let long = [&b"5;"[..], &[b'x'; 5000]].concat();
    let err = BodyReader::new(Framing::Chunked, DEFAULT_MAX_BODY_BYTES)
        .feed(&long, &mut Vec::new())
        .unwrap_err();
    assert!(matches!(err, ProtoError::MalformedBody(_)), "{err:?}");
}

#[test]
fn a_body_over_the_cap_is_refused_before_it_is_held() {
    let err = BodyReader::new(Framing::Length(11), 10)
        .feed(b"01234567890", &mut Vec::new())
        .unwrap_err();
    assert_eq!(err, ProtoError::BodyTooLarge);
    // A chunk announcing more than the cap is refused at its size line.
    let mut body = Vec::new();
    let err = BodyReader::new(Framing::Chunked, 10)
        .feed(b"ffffff\r\n", &mut body)
        .unwrap_err();
    assert_eq!((err, body.len()), (ProtoError::BodyTooLarge, 0));
    // Chunks that add up past it.
    let err = BodyReader::new(Framing::Chunked, 10)
        .feed(b"6\r\n123456\r\n6\r\n123456\r\n0\r\n\r\n", &mut Vec::new())
        .unwrap_err();
    assert_eq!(err, ProtoError::BodyTooLarge);
    assert_eq!(max_body_bytes(None).unwrap(), DEFAULT_MAX_BODY_BYTES);
    assert!(max_body_bytes(Some((1 << 30) + 1)).is_err());
}
