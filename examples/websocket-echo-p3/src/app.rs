//! The server: accept, then a task per client.

use std::process::ExitCode;

use hijack_guest_p3::proto::websocket::{Echo, Flow};
use hijack_guest_p3::server::{Incoming, Request};
use hijack_guest_p3::types::{Header, Hijacked, ResponseHead};
use hijack_guest_p3::{describe, join, serve_forever, wit_stream};
use wit_bindgen::StreamResult;

const USAGE: &str = "usage: websocket-echo-p3 --listen IP:PORT";

/// Bytes read from a client at a time.
const READ: usize = 64 * 1024;

/// Run the server until its listener fails.
pub async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let listen = match args.as_slice() {
        [flag, addr] if flag == "--listen" => match addr.parse() {
            Ok(addr) => addr,
            Err(_) => {
                eprintln!("websocket-echo-p3: not IP:PORT: {addr}\n{USAGE}");
                return ExitCode::from(2);
            }
        },
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    serve_forever(
        "websocket-echo-p3",
        listen,
        |incoming, request| async move {
            if let Err(why) = serve(incoming, request).await {
                eprintln!("websocket-echo-p3: {why}");
            }
        },
    )
    .await
}

/// Switch a WebSocket request and echo it; answer anything else `426` and close.
async fn serve(incoming: Incoming, request: Request) -> Result<(), String> {
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
        let body = b"this server speaks WebSocket only\n".to_vec();
        return incoming
            .respond(head, body)
            .await
            .map_err(|e| format!("answering 426: {}", describe(&e)));
    }
    let client = incoming
        .hijack("websocket".into(), Vec::new())
        .await
        .map_err(|e| format!("handshake: {}", describe(&e)))?;
    echo(client).await
}

/// Echo frames until the client closes, breaks the protocol, or goes.
async fn echo(client: Hijacked) -> Result<(), String> {
    let Hijacked {
        connection,
        mut receive,
        buffered,
        ..
    } = client;
    let (mut to_client, outbound) = wit_stream::new::<u8>();
    let sending = connection.send(Vec::new(), outbound);
    let frames = async move {
        let mut echo = Echo::new();
        let (mut input, mut out) = (buffered, Vec::with_capacity(READ + 14));
        loop {
            let (used, flow) = echo.feed(&input, &mut out);
            input.drain(..used);
            out = to_client.write_all(out).await;
            if !out.is_empty() {
                return Err("the client is gone".to_owned());
            }
            match flow {
                Flow::More => {}
                Flow::Close => return Ok(()),
                Flow::Refused(e) => return Err(format!("websocket: {e}")),
            }
            input.reserve(READ);
            let (result, more) = receive.read(input).await;
            input = more;
            // Gone without a close frame: end ours too.
            if !matches!(result, StreamResult::Complete(_)) {
                return Ok(());
            }
        }
        // Dropping `to_client` here ends the stream: the connection's FIN.
    };
    let (echoed, sent) = join(frames, sending).await;
    echoed?;
    sent.map_err(|e| hijack_guest_p3::name(&e))
}
