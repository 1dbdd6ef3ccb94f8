//! The native peers' one piece of HTTP: reading a head through its blank line.
//!
//! It frames only (no parsing, no validation): the peers it serves are loopback benches
//! against our own component, not a general HTTP implementation.

use tokio::io::{AsyncRead, AsyncReadExt};

/// Read an HTTP head from `s` through its blank line; `(head, bytes read past it)`.
pub async fn read_head<S: AsyncRead + Unpin>(s: &mut S) -> std::io::Result<(Vec<u8>, Vec<u8>)> {
    let mut buf = Vec::with_capacity(256);
    let mut chunk = [0u8; 512];
    loop {
        if let Some(end) = find_blank_line(&buf) {
            let rest = buf.split_off(end);
            return Ok((buf, rest));
        }
        let n = s.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// Where the head ends: just past its first CRLF CRLF.
fn find_blank_line(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4)
}
