//! The proxy: accept, then a task per request.

use std::net::SocketAddr;
use std::process::ExitCode;

use hijack_guest_p3::client::{self, Request};
use hijack_guest_p3::server::Incoming;
use hijack_guest_p3::types::{Error, Header, Hijacked, ResponseHead};
use hijack_guest_p3::{
    connect, default_options, describe, join, monotonic_clock, select, send, serve_forever,
};

const USAGE: &str = "usage: connect-proxy-p3 --listen IP:PORT [--via HOST:PORT]";

/// Run the proxy until the listener fails.
pub async fn main() -> ExitCode {
    let (listen, via) = match args(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(why) => {
            eprintln!("connect-proxy-p3: {why}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    serve_forever("connect-proxy-p3", listen, move |incoming, request| {
        serve(incoming, request.connect_target, via.clone())
    })
    .await
}

/// `--listen IP:PORT [--via HOST:PORT]`.
fn args(mut it: impl Iterator<Item = String>) -> Result<(SocketAddr, Option<String>), String> {
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

/// Answer one request: a CONNECT is dialed and tunneled, anything else refused.
async fn serve(incoming: Incoming, target: Option<String>, via: Option<String>) {
    let Some(target) = target else {
        let allow = vec![Header {
            name: "Allow".into(),
            value: b"CONNECT".to_vec(),
        }];
        let body = "only CONNECT is served\n";
        answer(&incoming, 405, "Method Not Allowed", allow, body).await;
        return;
    };
    let result = match via {
        Some(via) => through(&incoming, &via, &target).await,
        None => direct(&incoming, &target).await,
    };
    if let Err(why) = result {
        eprintln!("connect-proxy-p3: tunnel closed: {why}");
    }
}

/// A tunnel to `target` over a TCP connection of the proxy's own.
async fn direct(incoming: &Incoming, target: &str) -> Result<(), String> {
    let timeout = monotonic_clock::wait_for(10_000_000_000);
    let dialed = select(connect(target), timeout).await;
    let socket = match dialed {
        Some(Ok(socket)) => socket,
        Some(Err(why)) => return refuse(incoming, 502, "Bad Gateway", &why).await,
        None => return timed_out(incoming).await,
    };
    let client = incoming
        .tunnel(Vec::new())
        .await
        .map_err(|e| describe(&e))?;
    let (receive, _received) = socket.receive();
    let up = send(&socket, client.buffered, client.receive);
    let down = client.connection.send(Vec::new(), receive);
    let (up, down) = join(up, down).await;
    up.and(down).map_err(|e| hijack_guest_p3::name(&e))
}

/// A tunnel to `target` through the next proxy's: the component's client asks it.
async fn through(incoming: &Incoming, via: &str, target: &str) -> Result<(), String> {
    let request = Request {
        method: "CONNECT".into(),
        target: target.into(),
        upgrade: String::new(),
        headers: Vec::new(),
        body: None,
    };
    let options = client::Options {
        connect_timeout_ms: Some(10_000),
        ..default_options()
    };
    let upstream = match client::dial(via.to_owned(), request, options).await {
        Ok((_, upstream)) => upstream,
        Err(Error::Timeout) => return timed_out(incoming).await,
        Err(Error::NotSwitched(r)) => {
            let why = format!(
                "the next proxy answered {} {}",
                r.head.status, r.head.reason
            );
            return refuse(incoming, 502, "Bad Gateway", &why).await;
        }
        Err(e) => {
            let why = format!("the next proxy: {}", describe(&e));
            return refuse(incoming, 502, "Bad Gateway", &why).await;
        }
    };
    let client = incoming
        .tunnel(Vec::new())
        .await
        .map_err(|e| describe(&e))?;
    splice(client, upstream).await
}

/// Both directions of two connections handed over, each with the bytes that came early.
async fn splice(a: Hijacked, b: Hijacked) -> Result<(), String> {
    let up = b.connection.send(a.buffered, a.receive);
    let down = a.connection.send(b.buffered, b.receive);
    let (up, down) = join(up, down).await;
    up.and(down).map_err(|e| hijack_guest_p3::name(&e))
}

async fn timed_out(incoming: &Incoming) -> Result<(), String> {
    let why = "the target did not answer in time";
    refuse(incoming, 504, "Gateway Timeout", why).await
}

async fn refuse(incoming: &Incoming, status: u16, reason: &str, why: &str) -> Result<(), String> {
    answer(incoming, status, reason, Vec::new(), &format!("{why}\n")).await;
    Ok(())
}

async fn answer(incoming: &Incoming, status: u16, reason: &str, headers: Vec<Header>, body: &str) {
    let head = ResponseHead {
        version: 1,
        status,
        reason: reason.into(),
        headers,
    };
    if let Err(e) = incoming.respond(head, body.as_bytes().to_vec()).await {
        eprintln!("connect-proxy-p3: answering {status}: {}", describe(&e));
    }
}
