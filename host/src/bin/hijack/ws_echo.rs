//! `hijack serve --upgrade websocket --echo`: after the handshake, a WebSocket echo (RFC 6455
//! §5) rather than raw bytes. Each data frame goes back as it arrives — same FIN and opcode,
//! unmasked, its payload streamed through (a fragmented message stays fragmented, and a large
//! one is never held whole); a ping gets its pong, a close its close (with the same code),
//! then the connection ends. A frame a client may not send is answered with close 1002. The
//! frame rules are hijack-proto's (`websocket::FrameHead`); this module moves the bytes.

use bytes::{Buf, BytesMut};
use hijack_host::{HijackedReader, HijackedStream, HijackedWriter};
use hijack_proto::websocket::{FrameHead, apply_mask, opcode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Bytes read from the client at a time.
const READ: usize = 64 * 1024;

/// Close code 1002: a protocol error (RFC 6455 §7.4.1).
const PROTOCOL_ERROR: u16 = 1002;

/// Echo frames until the client closes (or breaks the protocol).
pub async fn echo(stream: HijackedStream) -> anyhow::Result<()> {
    let (mut rd, mut wr) = stream.into_split();
    let mut buf = BytesMut::with_capacity(READ);
    loop {
        let head = loop {
            match FrameHead::parse(&buf, true) {
                Ok(Some((head, len))) => {
                    buf.advance(len);
                    break head;
                }
                Ok(None) => {
                    if !fill(&mut rd, &mut buf).await? {
                        // Gone without a close frame: end ours too.
                        wr.shutdown().await?;
                        return Ok(());
                    }
                }
                Err(e) => {
                    let mut reason = PROTOCOL_ERROR.to_be_bytes().to_vec();
                    reason.extend_from_slice(e.to_string().as_bytes());
                    send(&mut wr, opcode::CLOSE, &reason).await?;
                    wr.shutdown().await?;
                    anyhow::bail!("websocket: {e}");
                }
            }
        };
        let mask = head.mask.unwrap_or_default();
        if head.is_control() {
            // At most 125 bytes (the parser saw to it): read it whole.
            while (buf.len() as u64) < head.len {
                if !fill(&mut rd, &mut buf).await? {
                    return Ok(());
                }
            }
            let mut payload = buf.split_to(head.len as usize);
            apply_mask(mask, 0, &mut payload);
            match head.opcode {
                opcode::PING => send(&mut wr, opcode::PONG, &payload).await?,
                opcode::CLOSE => {
                    // The same code back, then the server closes the connection (§5.5.1).
                    let code = payload.get(..2).unwrap_or_default();
                    send(&mut wr, opcode::CLOSE, code).await?;
                    wr.shutdown().await?;
                    return Ok(());
                }
                _ => {} // an unsolicited pong
            }
            continue;
        }
        let mut out = Vec::with_capacity(14);
        FrameHead { mask: None, ..head }.encode(&mut out);
        wr.write_all(&out).await?;
        let mut offset = 0u64;
        while offset < head.len {
            if buf.is_empty() && !fill(&mut rd, &mut buf).await? {
                return Ok(());
            }
            let n = (head.len - offset).min(buf.len() as u64) as usize;
            let mut chunk = buf.split_to(n);
            apply_mask(mask, offset, &mut chunk);
            wr.write_all(&chunk).await?;
            offset += n as u64;
        }
    }
}

/// Read more from the client into `buf`; `false` at its end.
async fn fill(rd: &mut HijackedReader, buf: &mut BytesMut) -> std::io::Result<bool> {
    buf.reserve(READ);
    Ok(rd.read_buf(buf).await? > 0)
}

/// One unfragmented, unmasked frame.
async fn send(wr: &mut HijackedWriter, op: u8, payload: &[u8]) -> std::io::Result<()> {
    let mut out = Vec::with_capacity(payload.len() + 10);
    FrameHead {
        fin: true,
        opcode: op,
        mask: None,
        len: payload.len() as u64,
    }
    .encode(&mut out);
    out.extend_from_slice(payload);
    wr.write_all(&out).await
}
