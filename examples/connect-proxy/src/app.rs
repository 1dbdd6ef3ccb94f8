//! The proxy's one thread: arguments, then a loop that waits on everything in one `poll` and
//! advances only what woke.

use crate::dial::{Dial, Failure, Progress, Upstream};
use crate::pipe::{Pipe, Turn};
use std::io::Write;
use std::process::ExitCode;
use wasip2::io::poll::Pollable;
use wasip2::io::streams::{InputStream, OutputStream};
use wasip2::sockets::tcp::TcpSocket;

use hijack_guest::client::{self, Options, Request};
use hijack_guest::proto::parse_authority;
use hijack_guest::server::Incoming;
use hijack_guest::types::{Header, Hijacked, ResponseHead};
use hijack_guest::{Accepted, Acceptor, PollSet, default_options, describe};

const USAGE: &str = "usage: connect-proxy --listen IP:PORT [--via HOST:PORT]";

/// Run the proxy until the listener fails.
pub fn main() -> ExitCode {
    let (listen, via) = match args(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(why) => {
            eprintln!("connect-proxy: {why}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let acceptor = match Acceptor::bind(listen) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("connect-proxy: cannot listen on {listen}: {}", describe(&e));
            return ExitCode::FAILURE;
        }
    };
    match acceptor.local_address() {
        Ok(addr) => println!("listening on {addr}"),
        Err(e) => eprintln!(
            "connect-proxy: listening (address unknown: {})",
            describe(&e)
        ),
    }
    let _ = std::io::stdout().flush();
    let mut proxy = Proxy {
        acceptor,
        via,
        dials: Vec::new(),
        tunnels: Vec::new(),
    };
    match proxy.run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(why) => {
            eprintln!("connect-proxy: {why}");
            ExitCode::FAILURE
        }
    }
}

/// `--listen IP:PORT [--via HOST:PORT]`.
fn args(
    mut it: impl Iterator<Item = String>,
) -> Result<(std::net::SocketAddr, Option<String>), String> {
    let (mut listen, mut via) = (None, None);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or(format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--listen" => {
                let addr = value.parse().map_err(|_| format!("not IP:PORT: {value}"))?;
                listen = Some(addr);
            }
            "--via" => via = Some(value),
            _ => return Err(format!("unknown argument: {flag}")),
        }
    }
    Ok((listen.ok_or("--listen is required")?, via))
}

/// Something the loop waits on, with the pollables it waits on now (children of its
/// handles: dropped before it is advanced or dropped).
struct Watch<T> {
    waits: Vec<Pollable>,
    woke: bool,
    item: T,
}

impl<T> Watch<T> {
    fn new(item: T) -> Self {
        Self {
            waits: Vec::new(),
            woke: true,
            item,
        }
    }
}

/// A CONNECT whose target is being dialed; answered once the dial ends.
struct Dialing {
    incoming: Incoming,
    dial: Dial,
}

/// A tunnel: the client's connection and the target's, and a pipe each way. Field order is
/// drop order: pollables (in the watches), streams, then sockets.
struct Tunnel {
    up: Watch<Pipe>,
    down: Watch<Pipe>,
    client_in: InputStream,
    client_out: OutputStream,
    target_in: InputStream,
    target_out: OutputStream,
    client_socket: TcpSocket,
    target_socket: TcpSocket,
}

/// Who owns a pollable in the set given to `poll`.
#[derive(Clone, Copy)]
enum Owner {
    Listener,
    Dial(usize),
    Up(usize),
    Down(usize),
}

struct Proxy {
    acceptor: Acceptor,
    via: Option<String>,
    dials: Vec<Watch<Dialing>>,
    tunnels: Vec<Tunnel>,
}

impl Proxy {
    fn run(&mut self) -> Result<(), String> {
        loop {
            let ready = self.acceptor.accept("connect-proxy");
            for accepted in ready.map_err(|e| format!("accept failed: {}", describe(&e)))? {
                self.start(accepted);
            }
            self.advance_dials();
            self.advance_tunnels();
            self.wait();
        }
    }

    /// Answer a request: dial a CONNECT's target, refuse anything else.
    fn start(&mut self, Accepted { incoming, request }: Accepted) {
        let Some(target) = request.connect_target else {
            let allow = vec![Header {
                name: "Allow".into(),
                value: b"CONNECT".to_vec(),
            }];
            answer(
                &incoming,
                405,
                "Method Not Allowed",
                allow,
                "only CONNECT is served\n",
            );
            return;
        };
        let dial = match &self.via {
            Some(via) => client::start_dial(via, &connect_request(&target), options())
                .map(Dial::Via)
                .map_err(|e| Failure::BadGateway(format!("the next proxy: {}", describe(&e)))),
            None => match parse_authority(&target) {
                Ok(authority) => Dial::direct(authority),
                Err(_) => Err(Failure::BadGateway(format!("bad target: {target}"))),
            },
        };
        match dial {
            Ok(dial) => self.dials.push(Watch::new(Dialing { incoming, dial })),
            Err(failure) => refuse(&incoming, failure),
        }
    }

    fn advance_dials(&mut self) {
        let mut i = 0;
        while i < self.dials.len() {
            let d = &mut self.dials[i];
            if !d.woke {
                i += 1;
                continue;
            }
            d.woke = false;
            d.waits.clear();
            match d.item.dial.advance() {
                Progress::Wait(waits) => {
                    d.waits = waits;
                    i += 1;
                }
                Progress::Connected(upstream) => {
                    let Dialing { incoming, .. } = self.dials.swap_remove(i).item;
                    match incoming.tunnel(&[]) {
                        Ok(client) => self.tunnels.push(Tunnel::new(client, upstream)),
                        Err(e) => eprintln!("connect-proxy: answering 200: {}", describe(&e)),
                    }
                }
                Progress::Failed(failure) => {
                    let Dialing { incoming, .. } = self.dials.swap_remove(i).item;
                    refuse(&incoming, failure);
                }
            }
        }
    }

    fn advance_tunnels(&mut self) {
        let mut i = 0;
        while i < self.tunnels.len() {
            let t = &mut self.tunnels[i];
            let result = t.turn();
            match result {
                Ok(true) => drop(self.tunnels.swap_remove(i)),
                Ok(false) => i += 1,
                Err(why) => {
                    eprintln!("connect-proxy: tunnel closed: {why}");
                    drop(self.tunnels.swap_remove(i));
                }
            }
        }
    }

    /// One `poll` over everything; mark what woke.
    fn wait(&mut self) {
        let mut set = PollSet::new();
        set.add(Owner::Listener, self.acceptor.pollables());
        for (i, d) in self.dials.iter().enumerate() {
            set.add(Owner::Dial(i), &d.waits);
        }
        for (i, t) in self.tunnels.iter().enumerate() {
            set.add(Owner::Up(i), &t.up.waits);
            set.add(Owner::Down(i), &t.down.waits);
        }
        for owner in set.wait() {
            match owner {
                Owner::Listener => self.acceptor.wake(),
                Owner::Dial(d) => self.dials[d].woke = true,
                Owner::Up(t) => self.tunnels[t].up.woke = true,
                Owner::Down(t) => self.tunnels[t].down.woke = true,
            }
        }
    }
}

impl Tunnel {
    fn new(client: Hijacked, target: Upstream) -> Self {
        Self {
            up: Watch::new(Pipe::new(client.buffered)),
            down: Watch::new(Pipe::new(target.early)),
            client_in: client.input,
            client_out: client.output,
            target_in: target.input,
            target_out: target.output,
            client_socket: client.socket,
            target_socket: target.socket,
        }
    }

    /// Turn the pipes that woke; `true` when both are done.
    fn turn(&mut self) -> Result<bool, String> {
        turn(
            &mut self.up,
            &self.client_in,
            &self.target_out,
            &self.target_socket,
        )?;
        turn(
            &mut self.down,
            &self.target_in,
            &self.client_out,
            &self.client_socket,
        )?;
        Ok(self.up.item.is_done() && self.down.item.is_done())
    }
}

fn turn(
    pipe: &mut Watch<Pipe>,
    from: &InputStream,
    to: &OutputStream,
    to_socket: &TcpSocket,
) -> Result<(), String> {
    if !pipe.woke {
        return Ok(());
    }
    pipe.woke = false;
    pipe.waits.clear();
    if let Turn::Wait(p) = pipe.item.turn(from, to, to_socket)? {
        pipe.waits.push(p);
    }
    Ok(())
}

/// The CONNECT request for the next proxy.
fn connect_request(target: &str) -> Request {
    Request {
        method: "CONNECT".into(),
        target: target.into(),
        upgrade: String::new(),
        headers: Vec::new(),
        body: None,
    }
}

fn options() -> Options {
    Options {
        connect_timeout_ms: Some(10_000),
        ..default_options()
    }
}

fn refuse(incoming: &Incoming, failure: Failure) {
    match failure {
        Failure::BadGateway(why) => {
            answer(
                incoming,
                502,
                "Bad Gateway",
                Vec::new(),
                &format!("{why}\n"),
            );
        }
        Failure::Timeout => {
            answer(
                incoming,
                504,
                "Gateway Timeout",
                Vec::new(),
                "the target did not answer in time\n",
            );
        }
    }
}

fn answer(incoming: &Incoming, status: u16, reason: &str, headers: Vec<Header>, body: &str) {
    let head = ResponseHead {
        version: 1,
        status,
        reason: reason.into(),
        headers,
    };
    if let Err(e) = incoming.respond(&head, body.as_bytes()) {
        eprintln!("connect-proxy: answering {status}: {}", describe(&e));
    }
}
