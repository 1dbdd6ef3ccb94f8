//! Accepting in an event loop: `try-accept` until `would-block`, the listener's pollables kept
//! for the next `poll`, and Go's back-off after a transient failure.

use crate::guest::{default_limits, is_transient, to_std, to_wasi};
use crate::server::{Incoming, Listener};
use crate::types::Error;
use std::net::SocketAddr;
use wasip2::clocks::monotonic_clock;
use wasip2::io::poll::Pollable;

/// Back-off after a transient accept failure: 5 ms, doubling up to 1 s (Go's `http.Server`).
const BACKOFF_MIN_NS: u64 = 5_000_000;
const BACKOFF_MAX_NS: u64 = 1_000_000_000;

/// A listener driven by an event loop. Field order is drop order: the pollables (children of
/// the listener's sockets and streams) go first.
pub struct Acceptor {
    waits: Vec<Pollable>,
    /// After a transient failure: the timer that ends the pause, and the pause.
    backoff: Option<(Pollable, u64)>,
    woke: bool,
    listener: Listener,
}

impl Acceptor {
    /// Bind and listen on `addr` with the default limits.
    pub fn bind(addr: SocketAddr) -> Result<Self, Error> {
        Ok(Self {
            waits: Vec::new(),
            backoff: None,
            woke: true,
            listener: Listener::bind(to_wasi(addr), default_limits())?,
        })
    }

    /// The address the listener is bound to.
    pub fn local_address(&self) -> Result<SocketAddr, Error> {
        self.listener.local_address().map(to_std)
    }

    /// The pollables to wait on: the listener's, or the back-off timer during a pause.
    pub fn pollables(&self) -> impl Iterator<Item = &Pollable> {
        let backoff = self.backoff.as_ref().map(|(timer, _)| timer);
        let waits = backoff.is_none().then_some(&self.waits);
        backoff.into_iter().chain(waits.into_iter().flatten())
    }

    /// One of [`Acceptor::pollables`] is ready.
    pub fn wake(&mut self) {
        self.woke = true;
    }

    /// If woken: every connection whose head is complete now, in order. A transient failure
    /// pauses accepting (logged once per burst, prefixed with `program`); any other failure
    /// of the listener is returned.
    pub fn accept(&mut self, program: &str) -> Result<Vec<Incoming>, Error> {
        let mut ready = Vec::new();
        if !self.woke {
            return Ok(ready);
        }
        self.woke = false;
        // The listener may close pending connections: its pollables go first.
        self.waits.clear();
        loop {
            match self.listener.try_accept() {
                Ok(incoming) => ready.push(incoming),
                Err(Error::WouldBlock) => break,
                Err(e) if is_transient(&e) => {
                    let pause = match &self.backoff {
                        Some((_, pause)) => (pause * 2).min(BACKOFF_MAX_NS),
                        None => {
                            eprintln!("{program}: out of descriptors or buffers; backing off");
                            BACKOFF_MIN_NS
                        }
                    };
                    let timer = monotonic_clock::subscribe_duration(pause);
                    self.backoff = Some((timer, pause));
                    return Ok(ready);
                }
                Err(e) => return Err(e),
            }
        }
        self.backoff = None;
        self.waits = self.listener.subscribe();
        Ok(ready)
    }
}
