//! The WebSocket opening handshake's one computation (RFC 6455 §4.1–§4.2): the key a client
//! sends and the accept value a server answers with. SHA-1 and base64 come from well-kept
//! crates.

use alloc::string::String;
use base64ct::{Base64, Encoding};

/// The protocol name in `Upgrade` (compared case-insensitively).
pub const PROTOCOL: &str = "websocket";
/// The only version this core speaks (RFC 6455 §4.1: `Sec-WebSocket-Version: 13`).
pub const VERSION: &str = "13";
/// RFC 6455 §1.3: the GUID appended to the key before hashing.
const GUID: &[u8] = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// Whether `protocol` names WebSocket.
pub fn is_websocket(protocol: &str) -> bool {
    protocol.eq_ignore_ascii_case(PROTOCOL)
}

/// The `Sec-WebSocket-Key` for 16 random bytes (RFC 6455 §4.1: new for every connection).
pub fn key(nonce: [u8; 16]) -> String {
    Base64::encode_string(&nonce)
}

/// Whether a `Sec-WebSocket-Key` value is valid: base64 of exactly 16 bytes (RFC 6455 §4.2.1).
pub fn is_valid_key(value: &[u8]) -> bool {
    let mut decoded = [0u8; 16];
    value.len() == 24 && Base64::decode(value, &mut decoded).is_ok_and(|d| d.len() == 16)
}

/// `Sec-WebSocket-Accept` for a key: base64(SHA-1(key ++ GUID)) (RFC 6455 §4.2.2).
pub fn accept(key: &[u8]) -> String {
    let mut sha = sha1_smol::Sha1::new();
    sha.update(key);
    sha.update(GUID);
    Base64::encode_string(&sha.digest().bytes())
}
