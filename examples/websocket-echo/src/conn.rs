//! The handed-over connection as `std::io::Read` + `Write` that never wait: "not now" is
//! `WouldBlock`, which tungstenite resumes from.

use hijack_guest::types::Hijacked;
use std::io::{self, Read, Write};
use wasip2::io::poll::Pollable;
use wasip2::io::streams::{InputStream, OutputStream, StreamError};
use wasip2::sockets::tcp::TcpSocket;

/// A hijacked connection. Field order is drop order: the streams before their socket.
pub struct Conn {
    input: InputStream,
    output: OutputStream,
    _socket: TcpSocket,
}

impl Conn {
    /// The connection and the bytes the component read past the head.
    pub fn new(h: Hijacked) -> (Self, Vec<u8>) {
        let conn = Self {
            input: h.input,
            output: h.output,
            _socket: h.socket,
        };
        (conn, h.buffered)
    }

    /// Ready when there are bytes to read (or the peer closed).
    pub fn readable(&self) -> Pollable {
        self.input.subscribe()
    }

    /// Ready when the output takes bytes again.
    pub fn writable(&self) -> Pollable {
        self.output.subscribe()
    }
}

fn io_error(e: StreamError) -> io::Error {
    match e {
        StreamError::Closed => io::ErrorKind::BrokenPipe.into(),
        StreamError::LastOperationFailed(e) => io::Error::other(e.to_debug_string()),
    }
}

impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.input.read(buf.len() as u64) {
            Ok(bytes) if bytes.is_empty() && !buf.is_empty() => {
                Err(io::ErrorKind::WouldBlock.into())
            }
            Ok(bytes) => {
                buf[..bytes.len()].copy_from_slice(&bytes);
                Ok(bytes.len())
            }
            Err(StreamError::Closed) => Ok(0),
            Err(e) => Err(io_error(e)),
        }
    }
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let permit = self.output.check_write().map_err(io_error)?;
        if permit == 0 {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let n = buf.len().min(usize::try_from(permit).unwrap_or(usize::MAX));
        self.output.write(&buf[..n]).map_err(io_error)?;
        Ok(n)
    }

    /// Starts a flush and returns: the bytes go out without waiting here.
    fn flush(&mut self) -> io::Result<()> {
        self.output.flush().map_err(io_error)
    }
}
