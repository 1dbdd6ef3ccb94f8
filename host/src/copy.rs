//! Moving bytes after the handoff: [`copy`] from a hijacked connection (or a pipe) into
//! another (or a pipe) until the source ends. On Linux, between plain descriptors — a TCP or
//! unix socket, a pipe — the kernel moves the bytes itself (`splice(2)` through a pipe of our
//! own, as Go's `io.Copy` between two `TCPConn`s does), so they are never copied into this
//! process: about a third less CPU per byte than a read-and-write loop (`host/benches/cores.rs`).
//! Bytes the component had buffered, and TLS sessions, go through a 64 KiB buffer.
//!
//! This module moves bytes only; it knows nothing of HTTP.

use std::io;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::unix::pipe;

/// Bytes per read on the buffered path, and the size asked for the splice pipe.
const CHUNK: usize = 64 * 1024;

/// The pipe's size when the kernel grants it (`F_SETPIPE_SZ`): each socket buffer the kernel
/// moves takes a slot, so a bigger pipe than the default 64 KiB moves more per call, but the
/// pages in it stay the sender's until they leave: measured on loopback (`benches/cores.rs`,
/// server pinned), 256 KiB cost the server least (214 µs/MiB against 250 at 64 KiB and at
/// 1 MiB) and 1 MiB made the client's CPU per MiB half again as high.
#[cfg(target_os = "linux")]
const PIPE: usize = 256 * 1024;

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
    /// A descriptor the kernel can splice, with the runtime's readiness for it.
    pub enum End<'a> {
        Tcp(&'a tokio::net::TcpStream),
        Unix(&'a tokio::net::UnixStream),
        PipeIn(&'a tokio::net::unix::pipe::Receiver),
        PipeOut(&'a tokio::net::unix::pipe::Sender),
    }

    /// What [`super::copy`] asks of its ends.
    pub trait Spliceable {
        /// The plain descriptor under this end, when the kernel may move its bytes: `None`
        /// while bytes wait in a buffer of ours, and for a TLS session.
        fn end(&self) -> Option<End<'_>>;
    }
}

/// Where [`copy`] reads: a [`crate::HijackedReader`], or a pipe's read end (a child's stdout).
pub trait CopySource: AsyncRead + Unpin + sealed::Spliceable {}

/// Where [`copy`] writes: a [`crate::HijackedWriter`], or a pipe's write end (a child's stdin).
pub trait CopySink: AsyncWrite + Unpin + sealed::Spliceable {}

impl CopySource for crate::HijackedReader {}
impl CopySink for crate::HijackedWriter {}
impl CopySource for pipe::Receiver {}
impl CopySink for pipe::Sender {}

impl sealed::Spliceable for pipe::Receiver {
    fn end(&self) -> Option<sealed::End<'_>> {
        Some(sealed::End::PipeIn(self))
    }
}

impl sealed::Spliceable for pipe::Sender {
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
    #[cfg(target_os = "linux")]
    let mut splicer = splice::Splicer::default();
    loop {
        #[cfg(target_os = "linux")]
        if let (Some(src), Some(dst)) = (from.end(), to.end())
            && let Some(pipe) = splicer.pipe()
        {
            match splice::once(&src, &dst, pipe).await? {
                0 => {
                    splicer.done();
                    return Ok(total);
                }
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

#[cfg(target_os = "linux")]
mod splice {
    use super::{CHUNK, CopyError, PIPE, sealed::End};
    use rustix::pipe::{PipeFlags, SpliceFlags, fcntl_setpipe_size, pipe_with, splice};
    use std::cell::RefCell;
    use std::io;
    use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
    use tokio::io::Interest;

    /// Empty pipes kept for the next copy on this thread: making one is four system calls
    /// (pipe2, the size, two closes), as many as a whole upgrade-and-echo exchange makes
    /// otherwise. A copy returns its pipe only when it ended cleanly, hence empty.
    const POOL: usize = 64;

    thread_local! {
        static PIPES: RefCell<Vec<(OwnedFd, OwnedFd)>> = const { RefCell::new(Vec::new()) };
    }

    /// The pipe the bytes pass through, taken at the first splice (from this thread's pool,
    /// else made); `None` once making it failed (out of descriptors: the copy goes on through
    /// the buffer).
    #[derive(Default)]
    pub(super) struct Splicer {
        pipe: Option<(OwnedFd, OwnedFd)>,
        failed: bool,
    }

    impl Splicer {
        pub(super) fn pipe(&mut self) -> Option<&(OwnedFd, OwnedFd)> {
            if self.pipe.is_none() && !self.failed {
                self.pipe = PIPES.with_borrow_mut(Vec::pop).or_else(|| {
                    let (rd, wr) = pipe_with(PipeFlags::CLOEXEC | PipeFlags::NONBLOCK).ok()?;
                    // Not granted (over the limit): the default 64 KiB still works.
                    let _ = fcntl_setpipe_size(&wr, PIPE);
                    Some((rd, wr))
                });
                self.failed = self.pipe.is_none();
            }
            self.pipe.as_ref()
        }

        /// The copy ended at the source's end: the pipe is empty, and may serve another.
        pub(super) fn done(mut self) {
            if let Some(pipe) = self.pipe.take() {
                PIPES.with_borrow_mut(|pool| {
                    if pool.len() < POOL {
                        pool.push(pipe);
                    }
                });
            }
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
    }

    /// One splice from `src` into the pipe, then the pipe into `dst` until it is empty; the
    /// bytes moved (0: `src` ended). The pipe is empty between calls, so a source splice that
    /// would block means the source has nothing, and a destination one that `dst` is full.
    pub(super) async fn once(
        src: &End<'_>,
        dst: &End<'_>,
        (pipe_rd, pipe_wr): &(OwnedFd, OwnedFd),
    ) -> Result<usize, CopyError> {
        let flags = SpliceFlags::MOVE | SpliceFlags::NONBLOCK;
        let n = src
            .io(Interest::READABLE, || {
                Ok(splice(
                    src.fd(),
                    None,
                    pipe_wr,
                    None,
                    PIPE.max(CHUNK),
                    flags,
                )?)
            })
            .await
            .map_err(CopyError::Read)?;
        let mut left = n;
        while left > 0 {
            let m = dst
                .io(Interest::WRITABLE, || {
                    Ok(splice(pipe_rd, None, dst.fd(), None, left, flags)?)
                })
                .await
                .map_err(CopyError::Write)?;
            if m == 0 {
                return Err(CopyError::Write(io::ErrorKind::WriteZero.into()));
            }
            left -= m;
        }
        Ok(n)
    }
}
