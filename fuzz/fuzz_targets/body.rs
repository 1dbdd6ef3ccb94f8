//! Request bodies (`hijack_proto::body::BodyReader`) on any bytes, split anywhere: reading
//! the input whole and in pieces at every split the input names gives the same outcome — the
//! same body, the same end, the same error — never more body than the cap, and a body that
//! ends uses no byte after its end.
//!
//! Input: byte 0 picks the framing (chunked, or a length from bytes 1-2), byte 3 the cap,
//! byte 4 a piece size; the rest is the wire.

#![no_main]

use hijack_proto::body::{BodyReader, Framing};
use libfuzzer_sys::fuzz_target;

/// Read `wire` in pieces of `step` until the body ends: the body, the bytes used, or the error.
fn read(framing: Framing, max: u64, wire: &[u8], step: usize) -> Result<(Vec<u8>, usize), String> {
    let mut reader = BodyReader::new(framing, max);
    let (mut body, mut used) = (Vec::new(), 0);
    for piece in wire.chunks(step.max(1)) {
        if reader.is_done() {
            break;
        }
        let n = reader.feed(piece, &mut body).map_err(|e| e.to_string())?;
        assert!(n <= piece.len());
        used += n;
        if n < piece.len() {
            assert!(reader.is_done(), "a reader stopped short without being done");
        }
    }
    if !reader.is_done() {
        return Err("incomplete".into());
    }
    Ok((body, used))
}

fuzz_target!(|data: &[u8]| {
    let [pick, a, b, cap, step, wire @ ..] = data else {
        return;
    };
    let framing = if pick & 1 == 0 {
        Framing::Chunked
    } else {
        Framing::Length(u64::from(u16::from_be_bytes([*a, *b])) % 512)
    };
    let max = u64::from(*cap) * 4;
    let whole = read(framing, max, wire, wire.len());
    let pieces = read(framing, max, wire, usize::from(*step));
    assert_eq!(whole, pieces);
    if let Ok((body, _)) = &whole {
        assert!(body.len() as u64 <= max);
    }
});
