//! Docker's stdcopy framing, taken apart: the multiplexed stdout/stderr a Docker daemon sends on
//! a hijacked `attach` or `exec` connection when the container has no TTY.
//!
//! Each frame is an 8-byte header, then its payload:
//!
//! ```text
//! byte 0      stream: 0 stdin, 1 stdout, 2 stderr, 3 systemerr
//! bytes 1..4  zero
//! bytes 4..8  payload length, big-endian u32
//! ```
//!
//! [`Demux`] is the sans-IO decoder: the caller feeds it bytes as they arrive, split anywhere
//! (inside a header too), and gets back payload pieces tagged with their [`Stream`], borrowed
//! from its own input. A frame is never buffered whole: a payload is handed out in whatever
//! pieces the input brings, so [`Demux::max_frame`] only bounds the length a header may declare
//! (to reject garbage early), not memory. [`demux`] drives the decoder over an async reader and
//! copies the streams to two writers.
//!
//! This module decodes the framing only: it never looks inside a payload, never parses HTTP, and
//! never closes the writers it is given.

use std::io;
use std::iter::FusedIterator;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// The length of a frame header.
pub const HEADER_LEN: usize = 8;

/// The default cap on a frame's declared payload length: 1 MiB.
///
/// Docker writes its streams in pieces of at most 32 KiB, so real frames stay far below this;
/// a larger length is almost surely a stream that is not stdcopy at all (a TTY stream, or an
/// HTTP body). Payloads are never buffered whole, so a larger cap costs no memory.
pub const DEFAULT_MAX_FRAME: u32 = 1 << 20;

/// The read buffer of [`demux`].
const BUF_LEN: usize = 64 * 1024;

/// Which stream a frame belongs to (byte 0 of its header).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stream {
    /// 0: the container's stdin (Docker echoes it in some modes).
    Stdin,
    /// 1: the container's stdout.
    Stdout,
    /// 2: the container's stderr.
    Stderr,
    /// 3: an error from the daemon itself, not from the container.
    SystemErr,
}

impl Stream {
    /// The stream a header's type byte names, if it names one.
    pub fn from_byte(byte: u8) -> Option<Self> {
        match byte {
            0 => Some(Self::Stdin),
            1 => Some(Self::Stdout),
            2 => Some(Self::Stderr),
            3 => Some(Self::SystemErr),
            _ => None,
        }
    }

    /// The type byte that names this stream in a header.
    pub fn as_byte(self) -> u8 {
        match self {
            Self::Stdin => 0,
            Self::Stdout => 1,
            Self::Stderr => 2,
            Self::SystemErr => 3,
        }
    }
}

/// A piece of one frame's payload, borrowed from the input it arrived in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Payload<'a> {
    /// The stream the frame belongs to.
    pub stream: Stream,
    /// The bytes; never empty.
    pub data: &'a [u8],
}

/// Why the framing could not be decoded, or [`demux`] could not copy it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StdcopyError {
    /// A header's type byte is not 0..=3.
    #[error("not stdcopy framing: unknown stream type {0}")]
    UnknownStream(u8),
    /// Bytes 1..4 of a header are not zero.
    #[error("not stdcopy framing: a header's padding bytes are not zero")]
    NonZeroPadding,
    /// A header declares a payload longer than the cap.
    #[error("stdcopy frame of {len} bytes exceeds the limit of {max}")]
    FrameTooLarge {
        /// The declared payload length.
        len: u32,
        /// The cap in force.
        max: u32,
    },
    /// The input ended inside a frame: `missing` more bytes were due (inside a header, the rest
    /// of the header; its payload is not counted, as its length is not known).
    #[error("the input ended inside a stdcopy frame, {missing} bytes short")]
    Truncated {
        /// How many more bytes the frame needed, at least.
        missing: u32,
    },
    /// Reading the input or writing a stream failed.
    #[error("i/o error: {0}")]
    Io(#[from] io::Error),
}

/// A decoding error, kept by a failed [`Demux`] so that it can be reported again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    UnknownStream(u8),
    NonZeroPadding,
    FrameTooLarge { len: u32, max: u32 },
}

impl From<Fault> for StdcopyError {
    fn from(fault: Fault) -> Self {
        match fault {
            Fault::UnknownStream(b) => Self::UnknownStream(b),
            Fault::NonZeroPadding => Self::NonZeroPadding,
            Fault::FrameTooLarge { len, max } => Self::FrameTooLarge { len, max },
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Inside a header: `have` (0..8) of its bytes are in `bytes`, each already checked.
    Header {
        bytes: [u8; HEADER_LEN],
        have: usize,
    },
    /// Inside a payload: `remaining` (> 0) bytes of it are still due.
    Payload { stream: Stream, remaining: u32 },
    /// A header was malformed; nothing more is decoded.
    Failed(Fault),
}

const FRAME_START: State = State::Header {
    bytes: [0; HEADER_LEN],
    have: 0,
};

/// The sans-IO stdcopy decoder: feed it bytes, get payload pieces.
///
/// Input may be split anywhere. Each header byte is checked as it arrives, so garbage is
/// refused at its first wrong byte; after an error the decoder stays failed and reports the
/// same error again. At the end of the input, [`Demux::finish`] says whether it ended between
/// frames.
///
/// ```
/// use hijack_host::stdcopy::{Demux, Stream};
/// let mut demux = Demux::new();
/// let mut out = Vec::new();
/// for chunk in [&b"\x01\0\0\0\0\0"[..], b"\0\x05hel", b"lo"] {
///     for piece in demux.feed(chunk) {
///         let piece = piece?;
///         assert_eq!(piece.stream, Stream::Stdout);
///         out.extend_from_slice(piece.data);
///     }
/// }
/// demux.finish()?;
/// assert_eq!(out, b"hello");
/// # Ok::<(), hijack_host::stdcopy::StdcopyError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Demux {
    max_frame: u32,
    state: State,
}

impl Default for Demux {
    fn default() -> Self {
        Self::new()
    }
}

impl Demux {
    /// A decoder with the [`DEFAULT_MAX_FRAME`] cap.
    pub fn new() -> Self {
        Self::with_max_frame(DEFAULT_MAX_FRAME)
    }

    /// A decoder that refuses headers declaring more than `max_frame` payload bytes (a frame
    /// of exactly `max_frame` bytes is accepted).
    pub fn with_max_frame(max_frame: u32) -> Self {
        Self {
            max_frame,
            state: FRAME_START,
        }
    }

    /// The cap on a frame's declared payload length.
    pub fn max_frame(&self) -> u32 {
        self.max_frame
    }

    /// One step: decodes from the start of `input` and returns how many bytes it consumed and
    /// the payload piece it found, if any.
    ///
    /// A step consumes header bytes up to the end of the header (then returns no piece), or
    /// payload bytes up to the end of the payload (then returns them as one piece). On
    /// non-empty input it consumes at least one byte; the caller calls again with the rest.
    /// Empty payloads yield no piece. [`Demux::feed`] runs the steps for a whole input.
    pub fn decode<'a>(
        &mut self,
        input: &'a [u8],
    ) -> Result<(usize, Option<Payload<'a>>), StdcopyError> {
        match self.state {
            State::Failed(fault) => Err(fault.into()),
            State::Payload { stream, remaining } => {
                let take = usize::try_from(remaining).map_or(input.len(), |r| r.min(input.len()));
                if take == 0 {
                    return Ok((0, None));
                }
                let (data, _) = input.split_at(take);
                // `take` <= `remaining`, a u32, so this neither truncates nor underflows.
                let left = remaining - take as u32;
                self.state = if left == 0 {
                    FRAME_START
                } else {
                    State::Payload {
                        stream,
                        remaining: left,
                    }
                };
                Ok((take, Some(Payload { stream, data })))
            }
            State::Header {
                mut bytes,
                mut have,
            } => {
                let mut used = 0;
                for &byte in input {
                    let fault = match have {
                        0 if Stream::from_byte(byte).is_none() => Some(Fault::UnknownStream(byte)),
                        1..=3 if byte != 0 => Some(Fault::NonZeroPadding),
                        _ => None,
                    };
                    if let Some(fault) = fault {
                        return Err(self.fail(fault));
                    }
                    bytes[have] = byte;
                    have += 1;
                    used += 1;
                    if have == HEADER_LEN {
                        return self.start_payload(bytes).map(|()| (used, None));
                    }
                }
                self.state = State::Header { bytes, have };
                Ok((used, None))
            }
        }
    }

    /// Decodes all of `input`: an iterator over its payload pieces, in order. It ends at the
    /// end of the input, or after yielding the first error.
    pub fn feed<'d, 'a>(&'d mut self, input: &'a [u8]) -> Pieces<'d, 'a> {
        Pieces { demux: self, input }
    }

    /// Whether the decoder stands between frames (nothing of a frame is pending, and no error).
    pub fn is_between_frames(&self) -> bool {
        self.state == FRAME_START
    }

    /// Call at the end of the input: `Ok` if it ended between frames,
    /// [`StdcopyError::Truncated`] if inside one, or the error the decoder failed with.
    pub fn finish(&self) -> Result<(), StdcopyError> {
        match self.state {
            State::Failed(fault) => Err(fault.into()),
            State::Header { have: 0, .. } => Ok(()),
            State::Header { have, .. } => Err(StdcopyError::Truncated {
                // `have` is 1..8.
                missing: (HEADER_LEN - have) as u32,
            }),
            State::Payload { remaining, .. } => Err(StdcopyError::Truncated { missing: remaining }),
        }
    }

    /// A whole header is in: checks the length and moves on to the payload.
    fn start_payload(&mut self, header: [u8; HEADER_LEN]) -> Result<(), StdcopyError> {
        let [kind, _, _, _, l0, l1, l2, l3] = header;
        let Some(stream) = Stream::from_byte(kind) else {
            return Err(self.fail(Fault::UnknownStream(kind)));
        };
        let len = u32::from_be_bytes([l0, l1, l2, l3]);
        if len > self.max_frame {
            return Err(self.fail(Fault::FrameTooLarge {
                len,
                max: self.max_frame,
            }));
        }
        self.state = if len == 0 {
            FRAME_START
        } else {
            State::Payload {
                stream,
                remaining: len,
            }
        };
        Ok(())
    }

    fn fail(&mut self, fault: Fault) -> StdcopyError {
        self.state = State::Failed(fault);
        fault.into()
    }
}

/// The payload pieces of one input, from [`Demux::feed`].
#[derive(Debug)]
pub struct Pieces<'d, 'a> {
    demux: &'d mut Demux,
    input: &'a [u8],
}

impl<'a> Iterator for Pieces<'_, 'a> {
    type Item = Result<Payload<'a>, StdcopyError>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.input.is_empty() {
            match self.demux.decode(self.input) {
                Ok((_, Some(piece))) => {
                    self.input = self.input.get(piece.data.len()..).unwrap_or_default();
                    return Some(Ok(piece));
                }
                // No progress cannot happen on non-empty input; never spin if it did.
                Ok((0, None)) => self.input = &[],
                Ok((used, None)) => self.input = self.input.get(used..).unwrap_or_default(),
                Err(e) => {
                    self.input = &[];
                    return Some(Err(e));
                }
            }
        }
        None
    }
}

impl FusedIterator for Pieces<'_, '_> {}

/// Copies stdcopy-framed `reader` to `stdout` and `stderr` until its end, and returns how many
/// payload bytes were written.
///
/// Stdout frames go to `stdout`, stderr frames to `stderr`. Stdin frames go to `stdout`, as
/// Docker's own `StdCopy` does. Systemerr frames (the daemon's own errors) go to `stderr`
/// (Docker's `StdCopy` turns one into an error instead; here the message reaches the user and
/// the copy goes on). Within each stream, bytes are written in order and none is dropped:
/// everything decoded before an error is written before the error is returned. Both writers
/// are flushed after each read and at the end, never shut down.
///
/// `max_frame` caps a frame's declared length ([`DEFAULT_MAX_FRAME`] if in doubt); the copy
/// reads through a 64 KiB buffer whatever the frame sizes. Errors: the framing's
/// ([`StdcopyError::Truncated`] if the input ended inside a frame), or
/// [`StdcopyError::Io`] from the reader or a writer.
pub async fn demux<R, O, E>(
    mut reader: R,
    mut stdout: O,
    mut stderr: E,
    max_frame: u32,
) -> Result<u64, StdcopyError>
where
    R: AsyncRead + Unpin,
    O: AsyncWrite + Unpin,
    E: AsyncWrite + Unpin,
{
    let mut decoder = Demux::with_max_frame(max_frame);
    let mut buf = vec![0u8; BUF_LEN];
    let mut written: u64 = 0;
    loop {
        let n = reader.read(&mut buf).await?;
        let input = buf.get(..n).unwrap_or_default();
        if input.is_empty() {
            decoder.finish()?;
            return Ok(written);
        }
        let (mut out_dirty, mut err_dirty) = (false, false);
        let mut failure = None;
        for piece in decoder.feed(input) {
            let piece = match piece {
                Ok(piece) => piece,
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            };
            match piece.stream {
                Stream::Stdin | Stream::Stdout => {
                    stdout.write_all(piece.data).await?;
                    out_dirty = true;
                }
                Stream::Stderr | Stream::SystemErr => {
                    stderr.write_all(piece.data).await?;
                    err_dirty = true;
                }
            }
            written += piece.data.len() as u64;
        }
        if out_dirty {
            stdout.flush().await?;
        }
        if err_dirty {
            stderr.flush().await?;
        }
        if let Some(e) = failure {
            return Err(e);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::pin::Pin;
    use std::task::{Context, Poll};

    fn frame(stream: u8, payload: &[u8]) -> Vec<u8> {
        let len = u32::try_from(payload.len()).expect("test payloads are small");
        let mut out = vec![stream, 0, 0, 0];
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(payload);
        out
    }

    fn wire(frames: &[(u8, &[u8])]) -> Vec<u8> {
        frames.iter().flat_map(|(s, p)| frame(*s, p)).collect()
    }

    /// What a run decoded: the pieces with adjacent ones of a stream merged, and how it ended.
    #[derive(Debug, PartialEq, Eq)]
    struct Run {
        pieces: Vec<(Stream, Vec<u8>)>,
        end: Result<(), String>,
    }

    fn run(max: u32, chunks: &[&[u8]]) -> Run {
        let mut demux = Demux::with_max_frame(max);
        let mut pieces: Vec<(Stream, Vec<u8>)> = Vec::new();
        for chunk in chunks {
            for piece in demux.feed(chunk) {
                match piece {
                    Ok(p) => {
                        assert!(!p.data.is_empty(), "pieces are never empty");
                        match pieces.last_mut() {
                            Some((s, data)) if *s == p.stream => data.extend_from_slice(p.data),
                            _ => pieces.push((p.stream, p.data.to_vec())),
                        }
                    }
                    Err(e) => {
                        return Run {
                            pieces,
                            end: Err(e.to_string()),
                        };
                    }
                }
            }
        }
        Run {
            pieces,
            end: demux.finish().map_err(|e| e.to_string()),
        }
    }

    fn whole(input: &[u8]) -> Run {
        run(DEFAULT_MAX_FRAME, &[input])
    }

    fn sample() -> Vec<u8> {
        wire(&[
            (1, b"out one\n"),
            (2, b"err one\n"),
            (1, b""),
            (1, b"out two\n"),
            (0, b"in"),
            (3, b"daemon says no"),
            (2, b"e"),
        ])
    }

    fn expected_sample() -> Run {
        Run {
            pieces: vec![
                (Stream::Stdout, b"out one\n".to_vec()),
                (Stream::Stderr, b"err one\n".to_vec()),
                (Stream::Stdout, b"out two\n".to_vec()),
                (Stream::Stdin, b"in".to_vec()),
                (Stream::SystemErr, b"daemon says no".to_vec()),
                (Stream::Stderr, b"e".to_vec()),
            ],
            end: Ok(()),
        }
    }

    #[test]
    fn whole_input_decodes_in_order() {
        assert_eq!(whole(&sample()), expected_sample());
    }

    #[test]
    fn one_byte_at_a_time() {
        let input = sample();
        let chunks: Vec<&[u8]> = input.chunks(1).collect();
        assert_eq!(run(DEFAULT_MAX_FRAME, &chunks), expected_sample());
    }

    #[test]
    fn every_two_way_split() {
        let input = sample();
        for at in 0..=input.len() {
            let (a, b) = input.split_at(at);
            assert_eq!(
                run(DEFAULT_MAX_FRAME, &[a, b]),
                expected_sample(),
                "split at {at}"
            );
        }
    }

    #[test]
    fn every_three_way_split() {
        let input = wire(&[(1, b"ab"), (2, b""), (2, b"cd")]);
        for i in 0..=input.len() {
            for j in i..=input.len() {
                let chunks = [&input[..i], &input[i..j], &input[j..]];
                let got = run(DEFAULT_MAX_FRAME, &chunks);
                let want = Run {
                    pieces: vec![
                        (Stream::Stdout, b"ab".to_vec()),
                        (Stream::Stderr, b"cd".to_vec()),
                    ],
                    end: Ok(()),
                };
                assert_eq!(got, want, "splits at {i}, {j}");
            }
        }
    }

    #[test]
    fn pieces_borrow_from_the_input_as_it_arrives() {
        let input = frame(1, b"abcdef");
        let mut demux = Demux::new();
        let first: Vec<_> = demux.feed(&input[..10]).collect::<Result<_, _>>().unwrap();
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].data, b"ab");
        assert!(std::ptr::eq(first[0].data.as_ptr(), input[8..].as_ptr()));
        let rest: Vec<_> = demux.feed(&input[10..]).collect::<Result<_, _>>().unwrap();
        assert_eq!(
            rest,
            [Payload {
                stream: Stream::Stdout,
                data: b"cdef"
            }]
        );
        assert!(demux.is_between_frames());
    }

    #[test]
    fn decode_steps_stop_at_header_and_payload_ends() {
        let input = wire(&[(2, b"xy"), (1, b"z")]);
        let mut demux = Demux::new();
        assert_eq!(demux.decode(&input).unwrap(), (8, None));
        let piece = Payload {
            stream: Stream::Stderr,
            data: b"xy",
        };
        assert_eq!(demux.decode(&input[8..]).unwrap(), (2, Some(piece)));
        assert_eq!(demux.decode(&input[10..]).unwrap(), (8, None));
        assert_eq!(demux.decode(&[]).unwrap(), (0, None));
        let piece = Payload {
            stream: Stream::Stdout,
            data: b"z",
        };
        assert_eq!(demux.decode(&input[18..]).unwrap(), (1, Some(piece)));
        assert!(demux.finish().is_ok());
    }

    #[test]
    fn empty_payload_frames_yield_nothing() {
        let input = wire(&[(1, b""), (2, b""), (0, b""), (3, b"")]);
        for chunks in [vec![&input[..]], input.chunks(1).collect()] {
            let got = run(DEFAULT_MAX_FRAME, &chunks);
            assert_eq!(
                got,
                Run {
                    pieces: vec![],
                    end: Ok(())
                }
            );
        }
        assert_eq!(
            whole(&[]),
            Run {
                pieces: vec![],
                end: Ok(())
            }
        );
    }

    #[test]
    fn interleaved_stdout_stderr_keep_their_order() {
        let mut frames = Vec::new();
        let mut want = Vec::new();
        for i in 0..50u8 {
            let stream = if i % 3 == 0 { 2 } else { 1 };
            frames.extend(frame(stream, &[b'a' + i % 26; 3]));
            want.push((stream, [b'a' + i % 26; 3]));
        }
        let mut out = Vec::new();
        let mut err = Vec::new();
        let mut demux = Demux::new();
        for chunk in frames.chunks(5) {
            for piece in demux.feed(chunk) {
                let piece = piece.unwrap();
                match piece.stream {
                    Stream::Stdout => out.extend_from_slice(piece.data),
                    Stream::Stderr => err.extend_from_slice(piece.data),
                    other => panic!("unexpected {other:?}"),
                }
            }
        }
        demux.finish().unwrap();
        let want_out: Vec<u8> = want.iter().filter(|w| w.0 == 1).flat_map(|w| w.1).collect();
        let want_err: Vec<u8> = want.iter().filter(|w| w.0 == 2).flat_map(|w| w.1).collect();
        assert_eq!(out, want_out);
        assert_eq!(err, want_err);
    }

    #[test]
    fn unknown_stream_is_refused_at_its_first_byte() {
        for kind in [4u8, 5, 0x7f, 0xff, b'H'] {
            let mut demux = Demux::new();
            let err = demux.decode(&[kind]).unwrap_err();
            assert!(
                matches!(err, StdcopyError::UnknownStream(k) if k == kind),
                "{err:?}"
            );
            assert!(matches!(demux.finish(), Err(StdcopyError::UnknownStream(k)) if k == kind));
        }
        // A TTY stream or an HTTP body is not stdcopy.
        let got = whole(b"HTTP/1.1 200 OK\r\n");
        assert_eq!(
            got.end,
            Err("not stdcopy framing: unknown stream type 72".into())
        );
    }

    #[test]
    fn nonzero_padding_is_refused() {
        for at in 1..4 {
            let mut header = frame(1, b"x");
            header[at] = 1;
            let got = whole(&header);
            assert_eq!(got.pieces, vec![]);
            let mut demux = Demux::new();
            let err = demux.feed(&header).find_map(Result::err).unwrap();
            assert!(
                matches!(err, StdcopyError::NonZeroPadding),
                "byte {at}: {err:?}"
            );
        }
    }

    #[test]
    fn frame_too_large_is_refused() {
        let mut demux = Demux::new();
        let header = [1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff];
        let err = demux.feed(&header).find_map(Result::err).unwrap();
        assert!(matches!(
            err,
            StdcopyError::FrameTooLarge {
                len: u32::MAX,
                max: DEFAULT_MAX_FRAME
            }
        ));
    }

    #[test]
    fn cap_exactly_at_the_limit_passes_and_one_over_fails() {
        let max = 16;
        let at_limit = frame(2, &[7; 16]);
        let got = run(max, &[&at_limit]);
        assert_eq!(got.pieces, vec![(Stream::Stderr, vec![7; 16])]);
        assert_eq!(got.end, Ok(()));

        let over = frame(2, &[7; 17]);
        let mut demux = Demux::with_max_frame(max);
        let err = demux.feed(&over).find_map(Result::err).unwrap();
        assert!(
            matches!(err, StdcopyError::FrameTooLarge { len: 17, max: 16 }),
            "{err:?}"
        );

        // The default cap, at the limit and over it (headers only: payloads stream).
        let mut demux = Demux::new();
        let len = DEFAULT_MAX_FRAME.to_be_bytes();
        let header = [1, 0, 0, 0, len[0], len[1], len[2], len[3]];
        assert_eq!(demux.decode(&header).unwrap(), (8, None));
        let len = (DEFAULT_MAX_FRAME + 1).to_be_bytes();
        let header = [1, 0, 0, 0, len[0], len[1], len[2], len[3]];
        assert!(matches!(
            Demux::new().decode(&header),
            Err(StdcopyError::FrameTooLarge { len, max }) if len == DEFAULT_MAX_FRAME + 1 && max == DEFAULT_MAX_FRAME
        ));
    }

    #[test]
    fn a_zero_cap_allows_only_empty_frames() {
        let got = run(0, &[&wire(&[(1, b""), (2, b"")])]);
        assert_eq!(
            got,
            Run {
                pieces: vec![],
                end: Ok(())
            }
        );
        let got = run(0, &[&frame(1, b"x")]);
        assert_eq!(
            got.end,
            Err("stdcopy frame of 1 bytes exceeds the limit of 0".into())
        );
    }

    #[test]
    fn truncated_inside_a_header() {
        let input = frame(1, b"abc");
        for have in 1..HEADER_LEN {
            let mut demux = Demux::new();
            assert_eq!(demux.feed(&input[..have]).count(), 0);
            let missing = (HEADER_LEN - have) as u32;
            assert!(
                matches!(demux.finish(), Err(StdcopyError::Truncated { missing: m }) if m == missing),
                "after {have} header bytes"
            );
        }
    }

    #[test]
    fn truncated_inside_a_payload() {
        let input = frame(2, b"abcdef");
        let got = whole(&input[..10]);
        assert_eq!(got.pieces, vec![(Stream::Stderr, b"ab".to_vec())]);
        assert_eq!(
            got.end,
            Err("the input ended inside a stdcopy frame, 4 bytes short".into())
        );
        let mut demux = Demux::new();
        demux.feed(&input[..13]).for_each(drop);
        assert!(matches!(
            demux.finish(),
            Err(StdcopyError::Truncated { missing: 1 })
        ));
    }

    #[test]
    fn errors_are_sticky() {
        let mut demux = Demux::new();
        let mut input = frame(1, b"ok");
        input.extend([9, 0, 0, 0]);
        input.extend(frame(1, b"never"));
        let results: Vec<_> = demux.feed(&input).collect();
        assert_eq!(results.len(), 2);
        assert!(matches!(results[0], Ok(Payload { data: b"ok", .. })));
        assert!(matches!(results[1], Err(StdcopyError::UnknownStream(9))));
        assert!(matches!(
            demux.decode(&frame(1, b"x")),
            Err(StdcopyError::UnknownStream(9))
        ));
        assert!(!demux.is_between_frames());
        assert!(matches!(
            demux.finish(),
            Err(StdcopyError::UnknownStream(9))
        ));
    }

    #[test]
    fn stream_bytes_round_trip() {
        for b in 0..=255u8 {
            match Stream::from_byte(b) {
                Some(s) => assert_eq!(s.as_byte(), b),
                None => assert!(b > 3),
            }
        }
    }

    #[test]
    fn error_messages_are_one_line() {
        let errors = [
            StdcopyError::UnknownStream(9),
            StdcopyError::NonZeroPadding,
            StdcopyError::FrameTooLarge { len: 2, max: 1 },
            StdcopyError::Truncated { missing: 3 },
            StdcopyError::Io(io::ErrorKind::BrokenPipe.into()),
        ];
        for e in errors {
            let text = e.to_string();
            assert!(!text.is_empty() && !text.contains('\n'), "{text:?}");
        }
    }

    // The async copy.

    #[tokio::test]
    async fn demux_copies_a_slice() {
        let input = sample();
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let n = demux(&input[..], &mut out, &mut err, DEFAULT_MAX_FRAME)
            .await
            .unwrap();
        assert_eq!(out, b"out one\nout two\nin");
        assert_eq!(err, b"err one\ndaemon says noe");
        assert_eq!(n, (out.len() + err.len()) as u64);
    }

    #[tokio::test]
    async fn demux_over_a_duplex_with_small_reads() {
        let (mut tx, rx) = tokio::io::duplex(3);
        let input = sample();
        let writer = tokio::spawn(async move {
            for chunk in input.chunks(2) {
                tx.write_all(chunk).await.unwrap();
            }
            // Dropping `tx` ends the input.
        });
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let n = demux(rx, &mut out, &mut err, DEFAULT_MAX_FRAME)
            .await
            .unwrap();
        writer.await.unwrap();
        assert_eq!(out, b"out one\nout two\nin");
        assert_eq!(err, b"err one\ndaemon says noe");
        assert_eq!(n, 41);
    }

    #[tokio::test]
    async fn demux_streams_frames_larger_than_its_buffer() {
        let big: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        let input = wire(&[(1, &big), (2, b"tail")]);
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let n = demux(&input[..], &mut out, &mut err, DEFAULT_MAX_FRAME)
            .await
            .unwrap();
        assert_eq!(out, big);
        assert_eq!(err, b"tail");
        assert_eq!(n, 300_004);
    }

    #[tokio::test]
    async fn demux_writes_what_came_before_a_truncation() {
        let mut input = frame(1, b"whole");
        input.extend(&frame(2, b"partial")[..11]);
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let e = demux(&input[..], &mut out, &mut err, DEFAULT_MAX_FRAME)
            .await
            .unwrap_err();
        assert!(matches!(e, StdcopyError::Truncated { missing: 4 }), "{e:?}");
        assert_eq!(out, b"whole");
        assert_eq!(err, b"par");
    }

    #[tokio::test]
    async fn demux_writes_what_came_before_a_bad_header() {
        let mut input = frame(2, b"first");
        input.extend(frame(1, b"second"));
        input.extend([1, 0, 1, 0]);
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let e = demux(&input[..], &mut out, &mut err, DEFAULT_MAX_FRAME)
            .await
            .unwrap_err();
        assert!(matches!(e, StdcopyError::NonZeroPadding), "{e:?}");
        assert_eq!(out, b"second");
        assert_eq!(err, b"first");

        let input = frame(1, &[0; 9]);
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let e = demux(&input[..], &mut out, &mut err, 8).await.unwrap_err();
        assert!(
            matches!(e, StdcopyError::FrameTooLarge { len: 9, max: 8 }),
            "{e:?}"
        );
    }

    /// A writer that always fails.
    struct Broken;

    impl AsyncWrite for Broken {
        fn poll_write(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
            _: &[u8],
        ) -> Poll<io::Result<usize>> {
            Poll::Ready(Err(io::ErrorKind::BrokenPipe.into()))
        }
        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
        fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    #[tokio::test]
    async fn demux_reports_a_failed_write() {
        let input = wire(&[(1, b"fine"), (2, b"lost")]);
        let mut out = Vec::new();
        let e = demux(&input[..], &mut out, Broken, DEFAULT_MAX_FRAME)
            .await
            .unwrap_err();
        assert!(matches!(&e, StdcopyError::Io(io) if io.kind() == io::ErrorKind::BrokenPipe));
        assert_eq!(out, b"fine");
    }

    // Properties.

    fn frames_strategy() -> impl Strategy<Value = Vec<(u8, Vec<u8>)>> {
        prop::collection::vec((0u8..4, prop::collection::vec(any::<u8>(), 0..40)), 0..12)
    }

    fn split<'a>(input: &'a [u8], cuts: &[prop::sample::Index]) -> Vec<&'a [u8]> {
        let mut at: Vec<usize> = cuts.iter().map(|c| c.index(input.len() + 1)).collect();
        at.sort_unstable();
        let mut chunks = Vec::new();
        let mut start = 0;
        for cut in at {
            chunks.push(&input[start..cut]);
            start = cut;
        }
        chunks.push(&input[start..]);
        chunks
    }

    proptest! {
        #[test]
        fn random_frames_and_splits_demux_per_stream(
            frames in frames_strategy(),
            cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..10),
        ) {
            let input: Vec<u8> = frames.iter().flat_map(|(s, p)| frame(*s, p)).collect();
            let mut want: [Vec<u8>; 4] = Default::default();
            for (s, p) in &frames {
                want[usize::from(*s)].extend_from_slice(p);
            }
            let mut got: [Vec<u8>; 4] = Default::default();
            let mut demux = Demux::new();
            for chunk in split(&input, &cuts) {
                for piece in demux.feed(chunk) {
                    let piece = piece.unwrap();
                    prop_assert!(!piece.data.is_empty());
                    got[usize::from(piece.stream.as_byte())].extend_from_slice(piece.data);
                }
            }
            prop_assert!(demux.finish().is_ok());
            prop_assert_eq!(got, want);
        }

        #[test]
        fn any_input_decodes_the_same_however_split(
            input in prop::collection::vec(prop_oneof![0u8..4, Just(0u8), any::<u8>()], 0..64),
            cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..10),
            max in 0u32..8,
        ) {
            let once = run(max, &[&input]);
            let pieces = run(max, &split(&input, &cuts));
            prop_assert_eq!(once, pieces);
        }
    }
}
