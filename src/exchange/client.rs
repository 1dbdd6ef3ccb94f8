//! The client exchange: dial, send the upgrade request, read responses until a final one,
//! and hand over only on a validated switch.
//!
//! [`PendingDial`] runs the exchange as steps that never wait (lookup, connect, write, read
//! the head, read a refusal's first body bytes); [`blocking_dial`] drives it, waiting on
//! its pollables in between, so the blocking and the pollable forms are one code path.

use super::error::Error;
use super::handoff::Hijacked;
use super::read::{READ_CHUNK, try_read_head};
use crate::net::{
    self, Conn, Connecting, Deadline, Pollable, Received, Resolving, blocking_wait_any, ready_now,
};
use crate::proto::client::{
    Ask, CONNECT, MAX_INFORMATIONAL, REFUSAL_BODY_MS, UpgradeRequest, Verdict, encode_request_with,
    judge, parse_response, refusal_body_len, websocket_fields,
};
use crate::proto::{
    HeadScanner, Header, Limits, ProtoError, ResponseHead, parse_authority, websocket,
};
use alloc::{borrow::ToOwned, string::String, vec, vec::Vec};

/// TLS to the origin (the `tls` feature), through an HTTP proxy's tunnel when asked.
#[derive(Clone, Debug)]
pub struct TlsPlan {
    /// SNI, and the name the certificate must be valid for; `None`: the authority's host.
    pub server_name: Option<String>,
    /// The proxy's authority and the header fields of the `CONNECT` asked of it.
    pub proxy: Option<(String, Vec<Header>)>,
}

/// How to dial, beyond the request itself.
#[derive(Clone, Copy, Debug)]
pub struct DialOptions {
    /// Limits on reading the response head.
    pub limits: Limits,
    /// Deadline for name lookup and connect together.
    pub connect_timeout_ms: u64,
    /// TCP keepalive period, if any.
    pub keepalive_ms: Option<u64>,
    /// Hijack a legacy `200` to an upgrade request.
    pub allow_200: bool,
}

/// Run the client exchange against `authority`, waiting until it is done.
pub fn blocking_dial(
    authority: &str,
    req: &UpgradeRequest<'_>,
    options: &DialOptions,
    tls: Option<TlsPlan>,
) -> Result<(ResponseHead, Hijacked), Error> {
    let mut pending = PendingDial::start(authority, req, options, tls)?;
    // The deadline's pollable is kept while the deadline stays the same (it is the clock's, not
    // a child of the connection): one fewer pollable to make and drop per wait.
    let mut timer: Option<(Deadline, Pollable)> = None;
    loop {
        if let Some(done) = pending.try_finish()? {
            return Ok(done);
        }
        let (Some(step), deadline) = pending.step() else {
            continue;
        };
        let clock = match timer.take() {
            Some((d, t)) if d == deadline => t,
            _ => deadline.subscribe(),
        };
        let mut set = vec![step, clock];
        blocking_wait_any(&set);
        // The step's pollable (a child of the connection) goes before the next step.
        if let Some(clock) = set.pop() {
            timer = Some((deadline, clock));
        }
    }
}

/// What the response must be for a switch: [`Ask`], owned.
struct Expect {
    connect: bool,
    protocol: String,
    websocket_accept: Option<String>,
    allow_200: bool,
}

impl Expect {
    fn ask(&self) -> Ask<'_> {
        if self.connect {
            return Ask::Connect;
        }
        Ask::Upgrade {
            protocol: &self.protocol,
            websocket_accept: self.websocket_accept.clone(),
            allow_200: self.allow_200,
        }
    }
}

/// Where the exchange is.
enum Stage {
    Resolving(Resolving, u16),
    Connecting(Connecting),
    /// The TLS handshake with the origin.
    #[cfg(feature = "tls")]
    Handshaking(net::Handshaking),
    /// Writing the request (or the proxy's `CONNECT`); `usize` bytes of it are written.
    Writing(Conn, usize),
    /// Reading response heads; `informational` interim ones were skipped.
    Reading {
        conn: Conn,
        buf: Vec<u8>,
        scanner: HeadScanner,
        informational: usize,
    },
    /// Reading the first bytes of a refusal's body, up to `want`.
    Refusal {
        conn: Conn,
        head: ResponseHead,
        body: Vec<u8>,
        want: usize,
        deadline: Deadline,
    },
    /// The outcome was returned (or an error closed the connection).
    Done,
}

/// A client exchange in progress. Dropping it closes the connection, if one was opened.
pub struct PendingDial {
    stage: Stage,
    request: Vec<u8>,
    /// The `CONNECT` to ask of a proxy first, while it is not answered.
    tunnel: Option<Vec<u8>>,
    /// The name to run TLS with once connected (through the tunnel, if any).
    tls_name: Option<String>,
    expect: Expect,
    limits: Limits,
    keepalive_ms: Option<u64>,
    connect_deadline: Deadline,
    /// Set when the request starts: the head deadline counts from before its first byte.
    head_deadline: Option<Deadline>,
}

impl PendingDial {
    /// Check every caller value and start: nothing is sent and no connection is opened when
    /// one is refused. The name lookup (if the host is not an IP literal) starts here.
    pub fn start(
        authority: &str,
        req: &UpgradeRequest<'_>,
        options: &DialOptions,
        tls: Option<TlsPlan>,
    ) -> Result<Self, Error> {
        let (owned, websocket_accept) = if !req.is_connect() && websocket::is_websocket(req.upgrade)
        {
            let key = websocket::key(net::nonce16());
            let accept = websocket::accept(key.as_bytes());
            (websocket_fields(&key).to_vec(), Some(accept))
        } else {
            (Vec::new(), None)
        };
        let request = encode_request_with(authority, req, &owned)?;
        let origin = parse_authority(authority)?;
        let proxy = tls.as_ref().and_then(|plan| plan.proxy.as_ref());
        // Through a proxy, the connection goes to it, and the origin is asked of it first.
        let (target, tunnel) = match proxy {
            None => (origin, None),
            Some((proxy, headers)) => {
                let connect = UpgradeRequest {
                    method: CONNECT,
                    target: authority,
                    upgrade: "",
                    headers,
                    body: None,
                };
                let tunnel = encode_request_with(authority, &connect, &[])?;
                (parse_authority(proxy)?, Some(tunnel))
            }
        };
        let tls_name = tls.as_ref().map(|plan| match &plan.server_name {
            Some(name) => name.clone(),
            None => origin.host.to_owned(),
        });
        if tls_name.as_deref() == Some("") {
            return Err(ProtoError::InvalidInput("the TLS server name is empty".into()).into());
        }
        if tls_name.is_some() && !cfg!(feature = "tls") {
            let e = "TLS needs the hijack-tls build of the component";
            return Err(ProtoError::InvalidInput(e.into()).into());
        }
        let stage = match target.ip() {
            Some(ip) => {
                Stage::Connecting(Connecting::start(vec![net::ip_address(ip)], target.port))
            }
            None => Stage::Resolving(Resolving::start(target.host)?, target.port),
        };
        Ok(Self {
            stage,
            request,
            tunnel,
            tls_name,
            expect: Expect {
                connect: req.is_connect(),
                protocol: req.upgrade.to_owned(),
                websocket_accept,
                allow_200: options.allow_200,
            },
            limits: options.limits,
            keepalive_ms: options.keepalive_ms,
            connect_deadline: Deadline::after_ms(options.connect_timeout_ms),
            head_deadline: None,
        })
    }

    /// Advance as far as possible without waiting. `Ok(None)`: not done, wait on
    /// [`PendingDial::subscribe`]. Any other result is the outcome, once; an error closes the
    /// connection, and calls after the outcome are `invalid-input`.
    pub fn try_finish(&mut self) -> Result<Option<(ResponseHead, Hijacked)>, Error> {
        let stage = core::mem::replace(&mut self.stage, Stage::Done);
        match self.advance(stage) {
            Ok(Step::Wait(stage)) => {
                self.stage = stage;
                Ok(None)
            }
            Ok(Step::Done(head, hijacked)) => Ok(Some((head, hijacked))),
            Err(e) => Err(e),
        }
    }

    /// Fresh pollables, ready when [`PendingDial::try_finish`] may make progress: the
    /// current step's and its deadline's. Children of the exchange's socket and streams: the
    /// caller drops them before the next `try_finish`.
    pub fn subscribe(&self) -> Vec<Pollable> {
        let (step, deadline) = self.step();
        vec![step.unwrap_or_else(ready_now), deadline.subscribe()]
    }

    /// A fresh pollable for the current step (`None`: call again at once) and the step's
    /// deadline.
    fn step(&self) -> (Option<Pollable>, Deadline) {
        match &self.stage {
            Stage::Resolving(lookup, _) => (Some(lookup.subscribe()), self.connect_deadline),
            Stage::Connecting(connecting) => (connecting.subscribe(), self.connect_deadline),
            #[cfg(feature = "tls")]
            Stage::Handshaking(handshake) => (Some(handshake.subscribe()), self.connect_deadline),
            Stage::Writing(conn, _) => (Some(conn.writable()), self.head_deadline()),
            Stage::Reading { conn, .. } => (Some(conn.readable()), self.head_deadline()),
            Stage::Refusal { conn, deadline, .. } => (Some(conn.readable()), *deadline),
            // Done: call again to hear so.
            Stage::Done => (None, self.head_deadline()),
        }
    }

    fn head_deadline(&self) -> Deadline {
        self.head_deadline.unwrap_or(self.connect_deadline)
    }

    /// Run `stage` forward until it must wait or the exchange ends.
    fn advance(&mut self, mut stage: Stage) -> Result<Step, Error> {
        loop {
            stage = match stage {
                Stage::Resolving(mut lookup, port) => match lookup.try_finish()? {
                    Some(addrs) => Stage::Connecting(Connecting::start(addrs, port)),
                    None => {
                        return self.wait(Stage::Resolving(lookup, port), self.connect_deadline);
                    }
                },
                Stage::Connecting(mut connecting) => match connecting.try_finish()? {
                    Some(conn) => {
                        if let Some(period_ms) = self.keepalive_ms {
                            conn.set_keepalive(period_ms)?;
                        }
                        if self.tunnel.is_some() {
                            Stage::Writing(conn, 0)
                        } else {
                            self.secure(conn)?
                        }
                    }
                    None => return self.wait(Stage::Connecting(connecting), self.connect_deadline),
                },
                #[cfg(feature = "tls")]
                Stage::Handshaking(handshake) => match handshake.try_finish()? {
                    Ok(conn) => self.begin_request(conn),
                    Err(handshake) => {
                        return self.wait(Stage::Handshaking(handshake), self.connect_deadline);
                    }
                },
                Stage::Writing(conn, mut written) => {
                    let request = self.tunnel.as_deref().unwrap_or(&self.request);
                    written += conn.write_some(&request[written..])?;
                    if written < request.len() {
                        return self.wait(Stage::Writing(conn, written), self.head_deadline());
                    }
                    // The flush finishes in the background; the response is read meanwhile.
                    conn.flush()?;
                    Stage::Reading {
                        conn,
                        buf: Vec::new(),
                        scanner: HeadScanner::new(self.limits.max_head_bytes),
                        informational: 0,
                    }
                }
                Stage::Reading {
                    conn,
                    mut buf,
                    mut scanner,
                    informational,
                } => {
                    let Some(end) = try_read_head(&conn, &mut buf, &mut scanner)? else {
                        let stage = Stage::Reading {
                            conn,
                            buf,
                            scanner,
                            informational,
                        };
                        return self.wait(stage, self.head_deadline());
                    };
                    let head = parse_response(&buf[..end], self.limits.max_headers)?;
                    let ask = match self.tunnel {
                        Some(_) => Ask::Connect,
                        None => self.expect.ask(),
                    };
                    match judge(&head, &ask) {
                        Verdict::Switched if self.tunnel.is_some() => {
                            // The proxy's tunnel is up: nothing may come through it before
                            // the client's first TLS bytes.
                            if buf.len() > end {
                                let e = "the proxy sent bytes through the tunnel before the TLS handshake";
                                return Err(ProtoError::Malformed(e).into());
                            }
                            self.tunnel = None;
                            self.secure(conn)?
                        }
                        Verdict::Switched => {
                            let buffered = buf.split_off(end);
                            return Ok(Step::Done(head, Hijacked { conn, buffered }));
                        }
                        Verdict::Informational if informational < MAX_INFORMATIONAL => {
                            buf.drain(..end);
                            Stage::Reading {
                                conn,
                                buf,
                                scanner: HeadScanner::new(self.limits.max_head_bytes),
                                informational: informational + 1,
                            }
                        }
                        Verdict::Informational => {
                            let e = ProtoError::Malformed("too many informational responses");
                            return Err(e.into());
                        }
                        Verdict::InvalidSwitch => return Err(Error::InvalidSwitch(head)),
                        Verdict::Refused(plan) => Stage::Refusal {
                            conn,
                            head,
                            want: refusal_body_len(plan, buf.len() - end),
                            body: buf.split_off(end),
                            deadline: self
                                .head_deadline()
                                .min(Deadline::after_ms(REFUSAL_BODY_MS)),
                        },
                    }
                }
                Stage::Refusal {
                    conn,
                    head,
                    mut body,
                    want,
                    deadline,
                } => {
                    // Best effort: what the framing says, until close, an error or the deadline.
                    let mut open = true;
                    while open && body.len() < want {
                        match conn.try_read((want - body.len()).min(READ_CHUNK)) {
                            Ok(Received::Data(bytes)) => body.extend_from_slice(&bytes),
                            Ok(Received::Empty) if !deadline.passed() => {
                                let stage = Stage::Refusal {
                                    conn,
                                    head,
                                    body,
                                    want,
                                    deadline,
                                };
                                return Ok(Step::Wait(stage));
                            }
                            _ => open = false,
                        }
                    }
                    body.truncate(want);
                    return Err(Error::NotSwitched(head, body));
                }
                Stage::Done => {
                    let e = ProtoError::InvalidInput("this exchange has already finished".into());
                    return Err(e.into());
                }
            };
        }
    }

    /// The stage after a connection to the origin is up: the TLS handshake when the exchange
    /// is over TLS, else the request.
    fn secure(&mut self, conn: Conn) -> Result<Stage, Error> {
        match self.tls_name.take() {
            #[cfg(feature = "tls")]
            Some(name) => Ok(Stage::Handshaking(net::Handshaking::start(conn, &name)?)),
            // Refused by `start` without the feature.
            #[cfg(not(feature = "tls"))]
            Some(_) => Err(ProtoError::InvalidInput("TLS is not built in".into()).into()),
            None => Ok(self.begin_request(conn)),
        }
    }

    /// Start writing the request: its head deadline counts from here.
    fn begin_request(&mut self, conn: Conn) -> Stage {
        self.head_deadline = Some(Deadline::after_ms(self.limits.head_timeout_ms));
        Stage::Writing(conn, 0)
    }

    /// Park `stage` to wait on it, unless `deadline` has passed.
    fn wait(&self, stage: Stage, deadline: Deadline) -> Result<Step, Error> {
        if deadline.passed() {
            return Err(net::NetError::Timeout.into());
        }
        Ok(Step::Wait(stage))
    }
}

/// What one call to `advance` ended with.
enum Step {
    Wait(Stage),
    Done(ResponseHead, Hijacked),
}
