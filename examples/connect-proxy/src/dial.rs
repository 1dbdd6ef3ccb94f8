//! Reaching a tunnel's target: directly (the component's own lookup-then-connect machine,
//! `hijack_net`'s [`Resolving`] and [`Connecting`], every step without waiting), or through
//! another CONNECT proxy with the hijack component's `start-dial`.

use hijack_guest::client::PendingDial;
use hijack_guest::net::{Conn, Connecting, Deadline, NetError, Parts, Resolving, ready_now};
use hijack_guest::proto::Authority;
use hijack_guest::types::Error;
use wasip2::io::poll::Pollable;
use wasip2::io::streams::{InputStream, OutputStream};
use wasip2::sockets::tcp::TcpSocket;

/// How long a direct dial (lookup and connect) may take, in milliseconds.
const CONNECT_TIMEOUT_MS: u64 = 10_000;

/// A connection to the target: socket, streams, and bytes already read from it.
pub struct Upstream {
    pub socket: TcpSocket,
    pub input: InputStream,
    pub output: OutputStream,
    pub early: Vec<u8>,
}

/// Why the target could not be reached, as the proxy answers it.
pub enum Failure {
    /// `502 Bad Gateway`, with a line saying why.
    BadGateway(String),
    /// `504 Gateway Timeout`.
    Timeout,
}

/// A dial in progress.
pub enum Dial {
    /// Looking up the target's name, then connecting to `port`.
    Resolving {
        lookup: Resolving,
        port: u16,
        deadline: Deadline,
    },
    /// Connecting to the target's addresses in turn.
    Connecting {
        connect: Connecting,
        deadline: Deadline,
    },
    /// Through another proxy: the hijack component runs the CONNECT exchange.
    Via(PendingDial),
}

/// What a dial may do now.
pub enum Progress {
    /// Wait on these pollables (children of the dial's handles; drop them before `advance`).
    Wait(Vec<Pollable>),
    Connected(Upstream),
    Failed(Failure),
}

impl Dial {
    /// Start dialing `authority` directly.
    pub fn direct(authority: Authority<'_>) -> Result<Self, Failure> {
        let deadline = Deadline::after_ms(CONNECT_TIMEOUT_MS);
        if let Some(ip) = authority.ip() {
            let connect =
                Connecting::start(vec![hijack_guest::net::ip_address(ip)], authority.port);
            return Ok(Self::Connecting { connect, deadline });
        }
        let lookup = Resolving::start(authority.host).map_err(failure)?;
        Ok(Self::Resolving {
            lookup,
            port: authority.port,
            deadline,
        })
    }

    /// Go as far as possible without waiting.
    pub fn advance(&mut self) -> Progress {
        loop {
            match self {
                Self::Resolving {
                    lookup,
                    port,
                    deadline,
                } => match lookup.try_finish() {
                    Ok(Some(addrs)) => {
                        let connect = Connecting::start(addrs, *port);
                        *self = Self::Connecting {
                            connect,
                            deadline: *deadline,
                        };
                    }
                    Ok(None) => return wait(Some(lookup.subscribe()), *deadline),
                    Err(e) => return Progress::Failed(failure(e)),
                },
                Self::Connecting { connect, deadline } => {
                    return match connect.try_finish() {
                        Ok(Some(conn)) => Progress::Connected(upstream(conn)),
                        Ok(None) => wait(connect.subscribe(), *deadline),
                        Err(e) => Progress::Failed(failure(e)),
                    };
                }
                Self::Via(pending) => {
                    return match pending.finish() {
                        Ok((_, h)) => Progress::Connected(Upstream {
                            socket: h.socket,
                            input: h.input,
                            output: h.output,
                            early: h.buffered,
                        }),
                        Err(Error::WouldBlock) => Progress::Wait(pending.subscribe()),
                        Err(Error::Timeout) => Progress::Failed(Failure::Timeout),
                        Err(Error::NotSwitched(r)) => {
                            Progress::Failed(Failure::BadGateway(format!(
                                "the next proxy answered {} {}",
                                r.head.status, r.head.reason
                            )))
                        }
                        Err(e) => Progress::Failed(Failure::BadGateway(format!(
                            "the next proxy: {}",
                            hijack_guest::describe(&e)
                        ))),
                    };
                }
            }
        }
    }
}

/// Wait on `step` (or at once, when the step has no pollable yet), or fail once `deadline`
/// has passed (its clock pollable wakes the proxy then).
fn wait(step: Option<Pollable>, deadline: Deadline) -> Progress {
    if deadline.passed() {
        return Progress::Failed(Failure::Timeout);
    }
    Progress::Wait(vec![step.unwrap_or_else(ready_now), deadline.subscribe()])
}

fn upstream(conn: Conn) -> Upstream {
    // A plain TCP connection: `tls` is `None`.
    let Parts {
        input,
        output,
        socket,
        ..
    } = conn.into_parts();
    Upstream {
        socket,
        input,
        output,
        early: Vec::new(),
    }
}

/// The proxy's answer to a failed lookup or connect.
fn failure(e: NetError) -> Failure {
    match e {
        NetError::Dns(code) => Failure::BadGateway(format!("name lookup failed: {}", code.name())),
        NetError::Connect(code) => Failure::BadGateway(format!("connect failed: {}", code.name())),
        NetError::Socket(code) => Failure::BadGateway(format!("socket error: {}", code.name())),
        NetError::Io(why) => Failure::BadGateway(format!("i/o error: {why}")),
        NetError::Tls(why) => Failure::BadGateway(format!("tls: {why}")),
        NetError::Timeout => Failure::Timeout,
    }
}
