//! `hijack serve --upgrade websocket --echo`: after the handshake, a WebSocket echo (RFC 6455
//! §5) rather than raw bytes. The frame rules and the answers are hijack-proto's
//! (`websocket::Echo`, shared with the WASI 0.3 example); this module moves the bytes.

use bytes::{Buf, BytesMut};
use hijack_host::HijackedStream;
use hijack_proto::websocket::{Echo, Flow};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Bytes read from the client at a time.
const READ: usize = 64 * 1024;

/// Echo frames until the client closes (or breaks the protocol).
pub async fn echo(stream: HijackedStream) -> anyhow::Result<()> {
    let (mut rd, mut wr) = stream.into_split();
    let mut echo = Echo::new();
    let mut buf = BytesMut::with_capacity(READ);
    let mut out = Vec::with_capacity(READ + 14);
    loop {
        let (used, flow) = echo.feed(&buf, &mut out);
        buf.advance(used);
        wr.write_all(&out).await?;
        out.clear();
        match flow {
            Flow::More => {}
            Flow::Close => break,
            Flow::Refused(e) => {
                wr.shutdown().await?;
                anyhow::bail!("websocket: {e}");
            }
        }
        buf.reserve(READ);
        // Gone without a close frame: end ours too.
        if rd.read_buf(&mut buf).await? == 0 {
            break;
        }
    }
    wr.shutdown().await?;
    Ok(())
}
