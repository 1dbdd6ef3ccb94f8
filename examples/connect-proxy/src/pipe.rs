//! One direction of a tunnel: bytes that came early, then `splice` from one stream to the
//! other until the source ends, then a half-close of the destination's sending side.

use wasip2::io::poll::Pollable;
use wasip2::io::streams::{InputStream, OutputStream, StreamError};
use wasip2::sockets::tcp::{ShutdownType, TcpSocket};

/// Most bytes moved per `splice`, and per pipe in one turn (so one busy tunnel cannot starve
/// the others).
const CHUNK: u64 = 64 * 1024;
const TURN: u64 = 1024 * 1024;

/// Where a pipe is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// Waiting for the source to have bytes (or end).
    Reading,
    /// Waiting for the destination to take bytes.
    Writing,
    /// The source ended: waiting for the destination's flush before the half-close.
    Closing,
    /// Done: the destination's sending side is shut.
    Done,
}

/// What a pipe may do now.
pub enum Turn {
    /// Wait on this pollable (a child of one of the pipe's streams; drop it before the next
    /// turn).
    Wait(Pollable),
    /// Finished.
    Done,
}

/// Bytes from `from` to `to`.
pub struct Pipe {
    early: Vec<u8>,
    state: State,
}

impl Pipe {
    /// A pipe that first writes `early` (bytes already read from the source).
    pub fn new(early: Vec<u8>) -> Self {
        Self {
            early,
            state: State::Reading,
        }
    }

    /// Move what can move without waiting; `to_socket` is the destination's socket, shut for
    /// sending when the source ends. An error ends the whole tunnel.
    pub fn turn(
        &mut self,
        from: &InputStream,
        to: &OutputStream,
        to_socket: &TcpSocket,
    ) -> Result<Turn, String> {
        let mut moved = 0;
        loop {
            match self.state {
                State::Done => return Ok(Turn::Done),
                State::Closing => {
                    if to.check_write().map_err(|e| describe("flush", e))? == 0 {
                        return Ok(Turn::Wait(to.subscribe()));
                    }
                    // The peer may have gone already: the half-close is best effort.
                    let _ = to_socket.shutdown(ShutdownType::Send);
                    self.state = State::Done;
                }
                State::Reading | State::Writing => {
                    if moved >= TURN {
                        // Yield: a pollable that is ready now brings this pipe back next turn.
                        return Ok(Turn::Wait(to.subscribe()));
                    }
                    let permit = to.check_write().map_err(|e| describe("write", e))?;
                    if permit == 0 {
                        self.state = State::Writing;
                        return Ok(Turn::Wait(to.subscribe()));
                    }
                    if !self.early.is_empty() {
                        let n = self.early.len().min(permit as usize);
                        to.write(&self.early[..n])
                            .map_err(|e| describe("write", e))?;
                        self.early.drain(..n);
                        moved += n as u64;
                        continue;
                    }
                    match to.splice(from, permit.min(CHUNK)) {
                        Ok(0) => {
                            self.state = State::Reading;
                            return Ok(Turn::Wait(from.subscribe()));
                        }
                        Ok(n) => moved += n,
                        // The source ended (a closed destination fails the flush that follows).
                        Err(StreamError::Closed) => {
                            to.flush().map_err(|e| describe("flush", e))?;
                            self.state = State::Closing;
                        }
                        Err(e) => return Err(describe("splice", e)),
                    }
                }
            }
        }
    }

    /// Whether the pipe is finished.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }
}

fn describe(what: &str, e: StreamError) -> String {
    match e {
        StreamError::Closed => format!("{what}: closed"),
        StreamError::LastOperationFailed(e) => format!("{what}: {}", e.to_debug_string()),
    }
}
