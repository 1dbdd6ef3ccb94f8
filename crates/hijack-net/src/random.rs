//! Randomness from wasi:random (the WebSocket key's nonce, RFC 6455 §4.1).

/// 16 bytes from the runtime's cryptographically secure source.
pub fn nonce16() -> [u8; 16] {
    let bytes = wasip2::random::random::get_random_bytes(16);
    let mut out = [0u8; 16];
    // The runtime returns exactly the length asked for; a short answer leaves zeros, never a
    // trap.
    let n = bytes.len().min(16);
    out[..n].copy_from_slice(&bytes[..n]);
    out
}
