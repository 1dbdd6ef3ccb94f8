//! The WebSocket handshake's computations (RFC 6455 §4.1–§4.2) on any bytes: `key` of any
//! nonce is a valid key that decodes back to the nonce; `is_valid_key` accepts exactly the
//! canonical base64 of 16 bytes (decoded here independently); `accept` of any value is the
//! base64 of a 20-byte digest; the client's fields for a key pass the validator.
//!
//! And frame heads (§5.2) on the same bytes, as a client's and as a server's: a head that
//! parses encodes back to exactly the bytes it was read from (every length in its shortest
//! form), and no prefix of them parses.
//!
//! Input: a candidate `Sec-WebSocket-Key` value; its first 16 bytes (zero-padded) are also a
//! nonce.

#![no_main]

use libfuzzer_sys::fuzz_target;
use hijack_proto::client::websocket_fields;
use hijack_proto::validate;
use hijack_proto::websocket::{FrameHead, accept, is_valid_key, key};

const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard padded base64 (RFC 4648 §4), canonical only: unused bits must be zero.
fn decode(s: &[u8]) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(4) {
        return None;
    }
    let pad = s.iter().rev().take_while(|&&b| b == b'=').count();
    if pad > 2 {
        return None;
    }
    let sextets: Vec<u32> = s[..s.len() - pad]
        .iter()
        .map(|b| ALPHABET.iter().position(|a| a == b).map(|i| i as u32))
        .collect::<Option<_>>()?;
    let mut out = Vec::new();
    for chunk in sextets.chunks(4) {
        let mut n = 0u32;
        for (i, v) in chunk.iter().enumerate() {
            n |= v << (18 - 6 * i);
        }
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        let keep = chunk.len() * 6 / 8;
        if chunk.len() < 4 && n & ((1 << (24 - 8 * keep)) - 1) != 0 {
            return None;
        }
        out.extend_from_slice(&bytes[..keep]);
    }
    Some(out)
}

fuzz_target!(|data: &[u8]| {
    let mut nonce = [0u8; 16];
    let n = data.len().min(16);
    nonce[..n].copy_from_slice(&data[..n]);
    let k = key(nonce);
    assert_eq!(k.len(), 24);
    assert!(is_valid_key(k.as_bytes()), "{k:?}");
    assert_eq!(decode(k.as_bytes()).as_deref(), Some(&nonce[..]));
    assert!(validate::headers(&websocket_fields(&k), &[]).is_ok());

    let valid = decode(data).is_some_and(|d| d.len() == 16);
    assert_eq!(
        is_valid_key(data),
        valid,
        "{:?}",
        String::from_utf8_lossy(data)
    );

    let a = accept(data);
    assert_eq!(a.len(), 28);
    assert_eq!(decode(a.as_bytes()).map(|d| d.len()), Some(20), "{a:?}");
    assert_eq!(accept(data), a);
    if data == b"dGhlIHNhbXBsZSBub25jZQ==" {
        assert_eq!(a, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    }

    for from_client in [true, false] {
        if let Ok(Some((head, len))) = FrameHead::parse(data, from_client) {
            let mut bytes = Vec::new();
            head.encode(&mut bytes);
            assert_eq!(&bytes[..], &data[..len], "{head:?}");
            assert_eq!(head.mask.is_some(), from_client);
            for cut in 0..len {
                assert_eq!(FrameHead::parse(&data[..cut], from_client), Ok(None));
            }
        }
    }
});
