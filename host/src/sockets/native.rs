//! The native socket under a connection: TCP, or a unix socket the policy put in place of a
//! TCP endpoint (`NetPolicy::connect_unix`: Docker's `/var/run/docker.sock` behind an address
//! the component dials as TCP). The streams and the handoff move bytes through it alike; only
//! what exists for TCP alone (addresses, TCP options) differs, and fails as the kernel says.

use bytes::BytesMut;
use std::io;
use std::os::fd::{AsFd, BorrowedFd};
use std::task::{Context, Poll};
use tokio::net::{TcpStream, UnixStream};

/// A connected native socket.
#[derive(Debug)]
pub enum NativeStream {
    /// A TCP connection.
    Tcp(TcpStream),
    /// A unix-domain stream connection.
    Unix(UnixStream),
}

impl NativeStream {
    pub(crate) fn try_read_buf(&self, buf: &mut BytesMut) -> io::Result<usize> {
        match self {
            Self::Tcp(s) => s.try_read_buf(buf),
            Self::Unix(s) => s.try_read_buf(buf),
        }
    }

    pub(crate) fn try_write(&self, data: &[u8]) -> io::Result<usize> {
        match self {
            Self::Tcp(s) => s.try_write(data),
            Self::Unix(s) => s.try_write(data),
        }
    }

    pub(crate) async fn readable(&self) -> io::Result<()> {
        match self {
            Self::Tcp(s) => s.readable().await,
            Self::Unix(s) => s.readable().await,
        }
    }

    pub(crate) async fn writable(&self) -> io::Result<()> {
        match self {
            Self::Tcp(s) => s.writable().await,
            Self::Unix(s) => s.writable().await,
        }
    }

    pub(crate) fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self {
            Self::Tcp(s) => s.poll_write_ready(cx),
            Self::Unix(s) => s.poll_write_ready(cx),
        }
    }

    /// The socket's pending error (`SO_ERROR`): how a non-blocking connect ended.
    pub(crate) fn take_error(&self) -> io::Result<Option<io::Error>> {
        match self {
            Self::Tcp(s) => s.take_error(),
            Self::Unix(s) => s.take_error(),
        }
    }
}

impl AsFd for NativeStream {
    fn as_fd(&self) -> BorrowedFd<'_> {
        match self {
            Self::Tcp(s) => s.as_fd(),
            Self::Unix(s) => s.as_fd(),
        }
    }
}
