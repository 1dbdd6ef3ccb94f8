//! The reference head scanner: where a head ends, written independently of the core's
//! `HeadScanner`, as RFC 9112 §2.2 reads. Its one home: the `splits` property tests here and
//! the fuzz targets (`fuzz/src/lib.rs` includes this file, `scan_splits` uses it) check the
//! scanner against it.

use hijack_proto::ProtoError;

/// Where a head ends in `buf` under the cap `max`: skip leading CR/LF, then the first LF
/// followed by LF or by CRLF; the cap applies to the end, or to the whole buffer when there is
/// none.
pub fn reference_scan(buf: &[u8], max: usize) -> Result<Option<usize>, ProtoError> {
    let lead = buf
        .iter()
        .position(|&b| b != b'\r' && b != b'\n')
        .unwrap_or(buf.len());
    let end = (lead..buf.len()).find_map(|i| match &buf[i..] {
        [b'\n', b'\n', ..] => Some(i + 2),
        [b'\n', b'\r', b'\n', ..] => Some(i + 3),
        _ => None,
    });
    match end {
        Some(end) if end <= max => Ok(Some(end)),
        Some(_) => Err(ProtoError::HeadTooLarge),
        None if buf.len() > max => Err(ProtoError::HeadTooLarge),
        None => Ok(None),
    }
}
