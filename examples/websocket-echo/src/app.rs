//! The server's one thread: accept WebSocket handshakes, echo every client, wait on all of
//! them in one `poll`.

use crate::conn::Conn;
use hijack_guest::types::{Header, ResponseHead};
use hijack_guest::{Accepted, Acceptor, PollSet, describe};
use std::io::Write;
use std::process::ExitCode;
use tungstenite::protocol::Role;
use tungstenite::{Error as WsError, WebSocket};
use wasip2::io::poll::Pollable;

const USAGE: &str = "usage: websocket-echo --listen IP:PORT";

/// Run the server until its listener fails.
pub fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let listen = match args.as_slice() {
        [flag, addr] if flag == "--listen" => match addr.parse() {
            Ok(addr) => addr,
            Err(_) => {
                eprintln!("websocket-echo: not IP:PORT: {addr}\n{USAGE}");
                return ExitCode::from(2);
            }
        },
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let mut acceptor = match Acceptor::bind(listen) {
        Ok(a) => a,
        Err(e) => {
            eprintln!(
                "websocket-echo: cannot listen on {listen}: {}",
                describe(&e)
            );
            return ExitCode::FAILURE;
        }
    };
    match acceptor.local_address() {
        Ok(addr) => println!("listening on {addr}"),
        Err(e) => eprintln!(
            "websocket-echo: listening (address unknown: {})",
            describe(&e)
        ),
    }
    let _ = std::io::stdout().flush();
    let mut clients: Vec<Client> = Vec::new();
    loop {
        match acceptor.accept("websocket-echo") {
            Ok(ready) => clients.extend(ready.into_iter().filter_map(handshake)),
            Err(e) => {
                eprintln!("websocket-echo: accept failed: {}", describe(&e));
                return ExitCode::FAILURE;
            }
        }
        clients.retain_mut(Client::turn);
        let mut set = PollSet::new();
        set.add(None, acceptor.pollables());
        for (i, c) in clients.iter().enumerate() {
            set.add(Some(i), &c.waits);
        }
        for owner in set.wait() {
            match owner {
                None => acceptor.wake(),
                Some(i) => clients[i].woke = true,
            }
        }
    }
}

/// Switch a WebSocket request; answer anything else `426` and close.
fn handshake(Accepted { incoming, request }: Accepted) -> Option<Client> {
    let offered = request.upgrade_protocols;
    if !offered.iter().any(|p| p.eq_ignore_ascii_case("websocket")) {
        let head = ResponseHead {
            version: 1,
            status: 426,
            reason: "Upgrade Required".into(),
            headers: vec![Header {
                name: "Upgrade".into(),
                value: b"websocket".to_vec(),
            }],
        };
        let body = b"this server speaks WebSocket only\n";
        if let Err(e) = incoming.respond(&head, body) {
            eprintln!("websocket-echo: answering 426: {}", describe(&e));
        }
        return None;
    }
    match incoming.hijack("websocket", &[]) {
        Ok(hijacked) => {
            let (conn, early) = Conn::new(hijacked);
            let ws = WebSocket::from_partially_read(conn, early, Role::Server, None);
            Some(Client {
                waits: Vec::new(),
                woke: true,
                ws,
            })
        }
        Err(e) => {
            eprintln!("websocket-echo: handshake: {}", describe(&e));
            None
        }
    }
}

/// One client. Field order is drop order: the pollables before the connection.
struct Client {
    waits: Vec<Pollable>,
    woke: bool,
    ws: WebSocket<Conn>,
}

impl Client {
    /// If woken: write out what is queued, then read and echo until the input is empty or the
    /// output is full. `false` when the client is gone (closed cleanly, or failed).
    fn turn(&mut self) -> bool {
        if !self.woke {
            return true;
        }
        self.woke = false;
        self.waits.clear();
        match self.echo() {
            Ok(Wait::Input) => self.waits.push(self.ws.get_ref().readable()),
            Ok(Wait::Output) => self.waits.push(self.ws.get_ref().writable()),
            Err(WsError::ConnectionClosed) => return false,
            Err(e) => {
                eprintln!("websocket-echo: client dropped: {e}");
                return false;
            }
        }
        true
    }

    fn echo(&mut self) -> Result<Wait, WsError> {
        // Echoes still queued go first: a client that does not read is not read from.
        if blocked(self.ws.flush())? {
            return Ok(Wait::Output);
        }
        loop {
            let message = match self.ws.read() {
                Ok(message) => message,
                Err(WsError::Io(e)) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(e) => return Err(e),
            };
            // Pings, pongs and the close are tungstenite's: it queues the answers.
            if (message.is_text() || message.is_binary()) && blocked(self.ws.write(message))? {
                return Ok(Wait::Output);
            }
        }
        if blocked(self.ws.flush())? {
            return Ok(Wait::Output);
        }
        Ok(Wait::Input)
    }
}

/// What a client waits for.
enum Wait {
    Input,
    Output,
}

/// `true` when a write or flush stopped because the output is full (what it wrote is kept
/// and goes out on the next flush).
fn blocked(r: Result<(), WsError>) -> Result<bool, WsError> {
    match r {
        Ok(()) => Ok(false),
        Err(WsError::Io(e)) if e.kind() == std::io::ErrorKind::WouldBlock => Ok(true),
        Err(e) => Err(e),
    }
}
