//! WebSocket (RFC 6455): the opening handshake's one computation (§4.1–§4.2: the key a client
//! sends and the accept value a server answers with; SHA-1 and base64 come from well-kept
//! crates), and frame heads and masking (§5), sans-IO, for an application that speaks frames
//! after the handoff (`hijack serve --upgrade websocket --echo`).

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

/// A frame's opcode (RFC 6455 §5.2).
pub mod opcode {
    /// A continuation of a fragmented message.
    pub const CONTINUATION: u8 = 0x0;
    /// A text frame.
    pub const TEXT: u8 = 0x1;
    /// A binary frame.
    pub const BINARY: u8 = 0x2;
    /// The closing handshake.
    pub const CLOSE: u8 = 0x8;
    /// A ping.
    pub const PING: u8 = 0x9;
    /// A pong.
    pub const PONG: u8 = 0xA;
}

/// A frame's head (RFC 6455 §5.2): everything before its payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameHead {
    /// The last frame of its message.
    pub fin: bool,
    /// See [`opcode`].
    pub opcode: u8,
    /// The masking key (every frame a client sends has one, §5.3).
    pub mask: Option<[u8; 4]>,
    /// The payload's length in bytes.
    pub len: u64,
}

/// Why bytes are not a frame a peer may send: each is a protocol error (close code 1002).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameError {
    /// A reserved bit is set, and no extension was agreed (§5.2).
    ReservedBits,
    /// An opcode RFC 6455 does not define (§5.2).
    UnknownOpcode(u8),
    /// A control frame over 125 bytes or fragmented (§5.5).
    BadControlFrame,
    /// A 64-bit length with its top bit set, or a length not in its shortest form (§5.2).
    BadLength,
    /// A client frame without a mask, or a server frame with one (§5.1).
    Masking,
}

impl core::fmt::Display for FrameError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::ReservedBits => f.write_str("a reserved bit is set"),
            Self::UnknownOpcode(op) => write!(f, "unknown opcode {op:#x}"),
            Self::BadControlFrame => f.write_str("a control frame over 125 bytes or fragmented"),
            Self::BadLength => f.write_str("a payload length not in its shortest form"),
            Self::Masking => f.write_str("a frame masked the wrong way for its sender"),
        }
    }
}

impl FrameHead {
    /// Whether this is a control frame (close, ping, pong).
    pub fn is_control(&self) -> bool {
        self.opcode & 0x8 != 0
    }

    /// Parse the head at the start of `buf` sent by a client (`from_client`: masked) or a
    /// server (unmasked): the head and its length in bytes, `None` if `buf` holds only part
    /// of it.
    pub fn parse(buf: &[u8], from_client: bool) -> Result<Option<(Self, usize)>, FrameError> {
        let [b0, b1, ..] = *buf else {
            return Ok(None);
        };
        if b0 & 0x70 != 0 {
            return Err(FrameError::ReservedBits);
        }
        let (fin, opcode) = (b0 & 0x80 != 0, b0 & 0x0f);
        if !matches!(opcode, 0x0..=0x2 | 0x8..=0xA) {
            return Err(FrameError::UnknownOpcode(opcode));
        }
        let masked = b1 & 0x80 != 0;
        if masked != from_client {
            return Err(FrameError::Masking);
        }
        let (len, mut at) = match b1 & 0x7f {
            126 => {
                let Some(b) = buf.get(2..4) else {
                    return Ok(None);
                };
                let len = u64::from(u16::from_be_bytes([b[0], b[1]]));
                if len < 126 {
                    return Err(FrameError::BadLength);
                }
                (len, 4)
            }
            127 => {
                let Some(b) = buf.get(2..10) else {
                    return Ok(None);
                };
                let mut bytes = [0u8; 8];
                bytes.copy_from_slice(b);
                let len = u64::from_be_bytes(bytes);
                if len >> 63 != 0 || len <= 0xffff {
                    return Err(FrameError::BadLength);
                }
                (len, 10)
            }
            short => (u64::from(short), 2),
        };
        let head = Self {
            fin,
            opcode,
            mask: None,
            len,
        };
        if head.is_control() && (!fin || len > 125) {
            return Err(FrameError::BadControlFrame);
        }
        let mask = if masked {
            let Some(b) = buf.get(at..at + 4) else {
                return Ok(None);
            };
            at += 4;
            Some([b[0], b[1], b[2], b[3]])
        } else {
            None
        };
        Ok(Some((Self { mask, ..head }, at)))
    }

    /// The head's bytes, as a server sends it (no mask unless `mask` is set).
    pub fn encode(&self, out: &mut alloc::vec::Vec<u8>) {
        out.push(if self.fin { 0x80 } else { 0 } | (self.opcode & 0x0f));
        let mask_bit = if self.mask.is_some() { 0x80 } else { 0 };
        match self.len {
            0..=125 => out.push(mask_bit | self.len as u8),
            126..=0xffff => {
                out.push(mask_bit | 126);
                out.extend_from_slice(&(self.len as u16).to_be_bytes());
            }
            _ => {
                out.push(mask_bit | 127);
                out.extend_from_slice(&self.len.to_be_bytes());
            }
        }
        if let Some(mask) = self.mask {
            out.extend_from_slice(&mask);
        }
    }
}

/// XOR `data` with `mask` (RFC 6455 §5.3), `data` starting `offset` bytes into the payload:
/// masking and unmasking are the same, and a payload may come in pieces.
pub fn apply_mask(mask: [u8; 4], offset: u64, data: &mut [u8]) {
    for (i, b) in data.iter_mut().enumerate() {
        *b ^= mask[((offset + i as u64) % 4) as usize];
    }
}

/// Close code 1002: a protocol error (RFC 6455 §7.4.1).
pub const PROTOCOL_ERROR: u16 = 1002;

/// What an [`Echo`] wants after a call to [`Echo::feed`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    /// Write the answer, then feed more of the client's bytes.
    More,
    /// Write the answer (a close frame ends it), then end the connection: the client closed.
    Close,
    /// The client broke the protocol: write the answer (a close 1002 with the reason), then
    /// end the connection.
    Refused(FrameError),
}

/// The server side of a WebSocket echo (RFC 6455 §5), without I/O: the client's bytes in,
/// the answer's out. Each data frame goes back as it arrives — same FIN and opcode, unmasked,
/// its payload passed through as it comes (a fragmented message stays fragmented, a large one
/// is never held whole); a ping gets its pong, a close its close with the same code; a frame
/// a client may not send gets close 1002.
#[derive(Debug, Default)]
pub struct Echo {
    /// The data frame whose payload is passing through: its head, and how much of it passed.
    frame: Option<(FrameHead, u64)>,
}

impl Echo {
    /// An echo before the client's first frame.
    pub fn new() -> Self {
        Self::default()
    }

    /// Answer what of `input` can be answered now, appending the answer to `out`; how many
    /// bytes of `input` it used (the rest, a part of a head or of a control frame, comes again
    /// with more after it) and what to do next.
    pub fn feed(&mut self, input: &[u8], out: &mut alloc::vec::Vec<u8>) -> (usize, Flow) {
        let mut used = 0;
        loop {
            if let Some((head, passed)) = &mut self.frame {
                let n = (head.len - *passed).min((input.len() - used) as u64) as usize;
                let start = out.len();
                out.extend_from_slice(&input[used..used + n]);
                apply_mask(head.mask.unwrap_or_default(), *passed, &mut out[start..]);
                *passed += n as u64;
                used += n;
                if *passed < head.len {
                    return (used, Flow::More);
                }
                self.frame = None;
            }
            let (head, len) = match FrameHead::parse(&input[used..], true) {
                Ok(Some(parsed)) => parsed,
                Ok(None) => return (used, Flow::More),
                Err(e) => {
                    let mut reason = PROTOCOL_ERROR.to_be_bytes().to_vec();
                    reason.extend_from_slice(alloc::string::ToString::to_string(&e).as_bytes());
                    frame(out, opcode::CLOSE, &reason);
                    return (used, Flow::Refused(e));
                }
            };
            if !head.is_control() {
                used += len;
                FrameHead { mask: None, ..head }.encode(out);
                self.frame = Some((head, 0));
                continue;
            }
            // A control frame holds at most 125 bytes (the parser saw to it): take it whole.
            let Some(payload) = input.get(used + len..used + len + head.len as usize) else {
                return (used, Flow::More);
            };
            let mut payload = payload.to_vec();
            used += len + payload.len();
            apply_mask(head.mask.unwrap_or_default(), 0, &mut payload);
            match head.opcode {
                opcode::PING => frame(out, opcode::PONG, &payload),
                opcode::CLOSE => {
                    // The same code back; then the server ends the connection (§5.5.1).
                    frame(out, opcode::CLOSE, payload.get(..2).unwrap_or_default());
                    return (used, Flow::Close);
                }
                _ => {} // an unsolicited pong
            }
        }
    }
}

/// One unfragmented, unmasked frame.
fn frame(out: &mut alloc::vec::Vec<u8>, op: u8, payload: &[u8]) {
    FrameHead {
        fin: true,
        opcode: op,
        mask: None,
        len: payload.len() as u64,
    }
    .encode(out);
    out.extend_from_slice(payload);
}
