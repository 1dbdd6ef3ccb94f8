//! A request body read before the answer (Go's handler reading `r.Body` before `Hijack`,
//! dockerd reading an exec's JSON config before it switches), without I/O: bytes in, the body
//! out, and where it ends — the bytes after it stay the connection's.
//!
//! The framing is the one [`decide`](crate::server::decide) already validated (RFC 9112 §6):
//! `Content-Length`, or `chunked` last among the transfer codings (de-chunked here; other
//! codings, e.g. `gzip`, are left in the bytes), or none (no body). Chunked is read strictly:
//! hex sizes of at most 16 digits, chunk extensions skipped, CRLF line ends only (a bare LF is
//! a smuggling shape), trailer fields read and dropped, at most [`MAX_LINE`] bytes a line.

use crate::error::ProtoError;
use crate::message::{RequestHead, header_list, header_values};
use alloc::vec::Vec;

/// Default cap on a body read before the answer (1 MiB): it is held in memory whole.
pub const DEFAULT_MAX_BODY_BYTES: u64 = 1 << 20;
/// Largest cap a caller may ask for (1 GiB).
pub const MAX_BODY_BYTES_CAP: u64 = 1 << 30;
/// Longest chunk-size line or trailer line.
pub const MAX_LINE: usize = 4096;

/// How a request's body is framed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    /// No body (neither `Content-Length` nor `Transfer-Encoding`).
    None,
    /// `Content-Length: n`.
    Length(u64),
    /// `Transfer-Encoding: ..., chunked`.
    Chunked,
}

impl Framing {
    /// The framing of a request head that [`decide`](crate::server::decide) accepted.
    pub fn of(head: &RequestHead) -> Self {
        if header_values(&head.headers, "transfer-encoding")
            .next()
            .is_some()
        {
            return Self::Chunked;
        }
        // decide() saw to it that every value is plain digits and all agree.
        header_list(&head.headers, "content-length")
            .next()
            .and_then(|v| core::str::from_utf8(v).ok()?.trim().parse().ok())
            .map_or(Self::None, Self::Length)
    }
}

/// The cap a caller asked for, or the default; above [`MAX_BODY_BYTES_CAP`] is invalid input.
pub fn max_body_bytes(asked: Option<u64>) -> Result<u64, ProtoError> {
    match asked {
        None => Ok(DEFAULT_MAX_BODY_BYTES),
        Some(n) if n <= MAX_BODY_BYTES_CAP => Ok(n),
        Some(_) => Err(ProtoError::invalid("max-body-bytes is above 1073741824")),
    }
}

/// Where a chunked body's reader is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Chunked {
    /// In a chunk-size line; `digits` hex digits so far, `ext` once past them.
    Size { size: u64, digits: u8, ext: bool },
    /// The CR of a chunk-size line was seen: LF next.
    SizeLf { size: u64 },
    /// Inside a chunk's data, `left` bytes to go.
    Data { left: u64 },
    /// After a chunk's data: CR next.
    DataCr,
    /// After a chunk's data and CR: LF next.
    DataLf,
    /// In the trailer section, at the start of a line (`cr`: its CR was seen).
    TrailerStart { cr: bool },
    /// Inside a trailer line (`cr`: its CR was seen).
    Trailer { cr: bool },
}

/// A body being read: feed it the connection's bytes until it says the body is complete.
#[derive(Clone, Debug)]
pub struct BodyReader {
    state: State,
    max: u64,
    /// Bytes of the current line (chunk-size or trailer), to bound it.
    line: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Length(u64),
    Chunked(Chunked),
    Done,
}

impl BodyReader {
    /// A reader for a body framed by `framing`, refusing one over `max` bytes.
    pub fn new(framing: Framing, max: u64) -> Self {
        let state = match framing {
            Framing::None | Framing::Length(0) => State::Done,
            Framing::Length(n) => State::Length(n),
            Framing::Chunked => State::Chunked(Chunked::Size {
                size: 0,
                digits: 0,
                ext: false,
            }),
        };
        Self {
            state,
            max,
            line: 0,
        }
    }

    /// Whether the body is complete: the bytes after it are not the body's.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Read the body's bytes from the start of `input` into `body`; how many bytes of
    /// `input` were the body's (framing included). Once [`BodyReader::is_done`], the rest of
    /// `input` follows the body.
    pub fn feed(&mut self, input: &[u8], body: &mut Vec<u8>) -> Result<usize, ProtoError> {
        let mut used = 0;
        while used < input.len() {
            match self.state {
                State::Done => break,
                State::Length(left) => {
                    let n = left.min((input.len() - used) as u64) as usize;
                    self.take(&input[used..used + n], body)?;
                    used += n;
                    let left = left - n as u64;
                    self.state = if left == 0 {
                        State::Done
                    } else {
                        State::Length(left)
                    };
                }
                State::Chunked(Chunked::Data { left }) => {
                    let n = left.min((input.len() - used) as u64) as usize;
                    self.take(&input[used..used + n], body)?;
                    used += n;
                    let left = left - n as u64;
                    self.state = State::Chunked(if left == 0 {
                        Chunked::DataCr
                    } else {
                        Chunked::Data { left }
                    });
                }
                State::Chunked(c) => {
                    self.state = self.chunked_byte(c, input[used])?;
                    used += 1;
                }
            }
        }
        Ok(used)
    }

    /// Append `bytes` to the body, within its cap.
    fn take(&self, bytes: &[u8], body: &mut Vec<u8>) -> Result<(), ProtoError> {
        if (body.len() + bytes.len()) as u64 > self.max {
            return Err(ProtoError::BodyTooLarge);
        }
        body.extend_from_slice(bytes);
        Ok(())
    }

    /// One byte of a chunked body's framing.
    fn chunked_byte(&mut self, c: Chunked, b: u8) -> Result<State, ProtoError> {
        use Chunked::*;
        let malformed = |why| Err(ProtoError::MalformedBody(why));
        self.line += 1;
        if self.line > MAX_LINE {
            return malformed("a chunk-size or trailer line is too long");
        }
        let next = match c {
            Size { size, digits, ext } => match b {
                b'\r' if digits > 0 => SizeLf { size },
                b'\n' => return malformed("a chunked body's line does not end in CRLF"),
                _ if ext => Size { size, digits, ext },
                b';' | b' ' | b'\t' if digits > 0 => Size {
                    size,
                    digits,
                    ext: true,
                },
                _ => match (b as char).to_digit(16) {
                    Some(d) if digits < 16 => Size {
                        size: size << 4 | u64::from(d),
                        digits: digits + 1,
                        ext: false,
                    },
                    Some(_) => return malformed("a chunk size over 16 hex digits"),
                    None => return malformed("a chunk size that is not hex"),
                },
            },
            SizeLf { size } if b == b'\n' => {
                self.line = 0;
                if size == 0 {
                    TrailerStart { cr: false }
                } else if size > self.max {
                    return Err(ProtoError::BodyTooLarge);
                } else {
                    Data { left: size }
                }
            }
            DataCr if b == b'\r' => DataLf,
            DataLf if b == b'\n' => {
                self.line = 0;
                Size {
                    size: 0,
                    digits: 0,
                    ext: false,
                }
            }
            TrailerStart { cr: false } if b == b'\r' => TrailerStart { cr: true },
            TrailerStart { cr: true } if b == b'\n' => return Ok(State::Done),
            TrailerStart { cr: false } | Trailer { cr: false } if b != b'\r' && b != b'\n' => {
                Trailer { cr: false }
            }
            Trailer { cr: false } if b == b'\r' => Trailer { cr: true },
            Trailer { cr: true } if b == b'\n' => {
                self.line = 0;
                TrailerStart { cr: false }
            }
            _ => return malformed("a chunked body's line does not end in CRLF"),
        };
        Ok(State::Chunked(next))
    }
}
