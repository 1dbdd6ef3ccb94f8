//! Moving bytes after the handoff: [`copy`] from a hijacked connection (or a pipe) into
//! another (or a pipe) until the source ends. Between plain descriptors — a TCP or unix
//! socket, a pipe — each step waits for the source to be readable, then reads up to 256 KiB
//! into a buffer taken from this thread's pool and writes it all, so an idle connection holds
//! no buffer and a busy one moves a quarter MiB per pair of system calls. Bytes the component
//! had buffered, and TLS sessions, go through a 64 KiB buffer of the copy's own.
//!
//! Why not `splice(2)`, as Go's `io.Copy` between two `TCPConn`s does: measured on loopback
//! (`host/benches/cores.rs`, echo server pinned to one core, the load on the other), splicing
//! cost the server least CPU per MiB (0.34-0.46x hyper's) but moved 0.51-1.04x hyper's bytes
//! from run to run: a spliced page stays the sender's until it leaves again, so the client
//! writes into fresh pages and runs out of CPU first. This loop moved 0.89-1.19x hyper's bytes
//! at 0.8-0.9x its CPU per MiB in the same conditions; 64 KiB reads moved 0.82x, 1 MiB 0.96x.
//!
//! This module moves bytes only; it knows nothing of HTTP.

use std::io;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::unix::pipe;

/// Bytes per read on the buffered path (TLS, and what the component had buffered).
const CHUNK: usize = 64 * 1024;

/// Bytes per read between plain descriptors.
const PLAIN: usize = 256 * 1024;

/// Which side of a [`copy`] failed: the bytes read so far were written, except the failed
/// write's.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    /// Reading the source failed (a reset, for a socket).
    #[error("reading: {0}")]
    Read(#[source] io::Error),
    /// Writing the destination failed (the peer or the child no longer takes bytes).
    #[error("writing: {0}")]
    Write(#[source] io::Error),
}

impl From<CopyError> for io::Error {
    fn from(e: CopyError) -> Self {
        match e {
            CopyError::Read(e) | CopyError::Write(e) => e,
        }
    }
}

pub(crate) mod sealed {
    /// A plain descriptor, with the runtime's readiness for it.
    pub enum End<'a> {
        Tcp(&'a tokio::net::TcpStream),
        Unix(&'a tokio::net::UnixStream),
        PipeIn(&'a tokio::net::unix::pipe::Receiver),
        PipeOut(&'a tokio::net::unix::pipe::Sender),
    }

    /// What [`super::copy`] asks of its ends.
    pub trait PlainEnd {
        /// The plain descriptor under this end, when its bytes may be read or written on it
        /// directly: `None` while bytes wait in a buffer of ours, and for a TLS session.
        fn end(&self) -> Option<End<'_>>;
    }
}

/// Where [`copy`] reads: a [`crate::HijackedReader`], or a pipe's read end (a child's stdout).
pub trait CopySource: AsyncRead + Unpin + sealed::PlainEnd {}

/// Where [`copy`] writes: a [`crate::HijackedWriter`], or a pipe's write end (a child's stdin).
pub trait CopySink: AsyncWrite + Unpin + sealed::PlainEnd {}

impl CopySource for crate::HijackedReader {}
impl CopySink for crate::HijackedWriter {}
impl CopySource for pipe::Receiver {}
impl CopySink for pipe::Sender {}

impl sealed::PlainEnd for pipe::Receiver {
    fn end(&self) -> Option<sealed::End<'_>> {
        Some(sealed::End::PipeIn(self))
    }
}

impl sealed::PlainEnd for pipe::Sender {
    fn end(&self) -> Option<sealed::End<'_>> {
        Some(sealed::End::PipeOut(self))
    }
}

/// Everything `from` yields, into `to`, until `from` ends; the bytes moved. `to` is neither
/// flushed further nor shut down: half-close it when the copy returns, if that is what the
/// protocol wants (as `docker exec` half-closes at the child's EOF).
///
/// A child's pipes take part as tokio's `pipe::Receiver` and `pipe::Sender`
/// (`pipe::Sender::from_owned_fd(child_stdin.into_owned_fd()?)`).
///
/// ```no_run
/// # async fn demo(stream: hijack_host::HijackedStream) -> std::io::Result<()> {
/// use tokio::io::AsyncWriteExt;
/// // An echo: every byte back, then half-close.
/// let (mut rd, mut wr) = stream.into_split();
/// hijack_host::copy(&mut rd, &mut wr).await?;
/// wr.shutdown().await
/// # }
/// ```
pub async fn copy<R: CopySource, W: CopySink>(from: &mut R, to: &mut W) -> Result<u64, CopyError> {
    let mut total = 0u64;
    let mut buf = Vec::new();
    loop {
        if let (Some(src), Some(dst)) = (from.end(), to.end()) {
            match plain::once(&src, &dst).await? {
                0 => return Ok(total),
                n => {
                    total += n as u64;
                    continue;
                }
            }
        }
        if buf.is_empty() {
            buf = vec![0u8; CHUNK];
        }
        let n = from.read(&mut buf).await.map_err(CopyError::Read)?;
        if n == 0 {
            return Ok(total);
        }
        to.write_all(&buf[..n]).await.map_err(CopyError::Write)?;
        total += n as u64;
    }
}

mod plain {
    use super::{CopyError, PLAIN, sealed::End};
    use rustix::net::SendFlags;
    use std::cell::RefCell;
    use std::io;
    use std::os::fd::{AsFd, BorrowedFd};
    use tokio::io::Interest;

    /// Buffers kept for the next step on this thread (at most 16 MiB): a step holds one
    /// only from a read that got bytes to the end of their write, so this many connections
    /// can be writing at once before a buffer is made anew.
    const POOL: usize = 64;

    thread_local! {
        static BUFFERS: RefCell<Vec<Box<[u8]>>> = const { RefCell::new(Vec::new()) };
    }

    /// A buffer from this thread's pool (made when the pool is empty), given back on drop.
    struct Pooled(Box<[u8]>);

    impl Pooled {
        fn take() -> Self {
            let buf = BUFFERS.with_borrow_mut(Vec::pop);
            Self(buf.unwrap_or_else(|| vec![0u8; PLAIN].into_boxed_slice()))
        }
    }

    impl Drop for Pooled {
        fn drop(&mut self) {
            let buf = std::mem::take(&mut self.0);
            BUFFERS.with_borrow_mut(|pool| {
                if pool.len() < POOL {
                    pool.push(buf);
                }
            });
        }
    }

    impl End<'_> {
        fn fd(&self) -> BorrowedFd<'_> {
            match self {
                End::Tcp(s) => s.as_fd(),
                End::Unix(s) => s.as_fd(),
                End::PipeIn(p) => p.as_fd(),
                End::PipeOut(p) => p.as_fd(),
            }
        }

        /// `f` once the descriptor is ready for `interest`, again after each `WouldBlock`.
        async fn io<T>(
            &self,
            interest: Interest,
            mut f: impl FnMut() -> io::Result<T>,
        ) -> io::Result<T> {
            match self {
                End::Tcp(s) => s.async_io(interest, f).await,
                End::Unix(s) => s.async_io(interest, f).await,
                End::PipeIn(p) => loop {
                    p.readable().await?;
                    match p.try_io(&mut f) {
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                        done => return done,
                    }
                },
                End::PipeOut(p) => loop {
                    p.writable().await?;
                    match p.try_io(&mut f) {
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                        done => return done,
                    }
                },
            }
        }

        /// Write some of `bytes`: a socket's peer that is gone is `EPIPE`, never a `SIGPIPE`
        /// (an embedding host may not ignore the signal, as Rust's own `main` does).
        fn write_some(&self, bytes: &[u8]) -> io::Result<usize> {
            Ok(match self {
                End::Tcp(_) | End::Unix(_) => {
                    rustix::net::send(self.fd(), bytes, SendFlags::NOSIGNAL)?
                }
                End::PipeIn(_) | End::PipeOut(_) => rustix::io::write(self.fd(), bytes)?,
            })
        }
    }

    /// Once `src` is readable, one read into a pooled buffer and all of it written to `dst`;
    /// the bytes moved (0: `src` ended).
    pub(super) async fn once(src: &End<'_>, dst: &End<'_>) -> Result<usize, CopyError> {
        // Held from a read that got bytes to the end of their write: a connection with
        // nothing to say holds none, even while its readiness is stale.
        let mut buf: Option<Pooled> = None;
        let n = src
            .io(Interest::READABLE, || {
                let mut taken = Pooled::take();
                let n = rustix::io::read(src.fd(), &mut taken.0[..])?;
                buf = Some(taken);
                Ok(n)
            })
            .await
            .map_err(CopyError::Read)?;
        let Some(buf) = buf.filter(|_| n > 0) else {
            return Ok(0);
        };
        let mut done = 0;
        while done < n {
            let m = dst
                .io(Interest::WRITABLE, || dst.write_some(&buf.0[done..n]))
                .await
                .map_err(CopyError::Write)?;
            if m == 0 {
                return Err(CopyError::Write(io::ErrorKind::WriteZero.into()));
            }
            done += m;
        }
        Ok(n)
    }
}
