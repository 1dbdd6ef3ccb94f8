//! The handler: route the request, ask the hijack component to dial, then stream the upstream
//! back as the response body.

use wasip2::http::types::{
    Fields, IncomingRequest, Method, OutgoingBody, OutgoingResponse, ResponseOutparam,
};
use wasip2::io::streams::{InputStream, OutputStream, StreamError};
use wasip2::sockets::network::ErrorCode;
use wasip2::sockets::tcp::ShutdownType;

use crate::route::{self, Route, UPSTREAMS_VAR, Upstreams};

use hijack_guest::client;
use hijack_guest::types::{Error, Hijacked, ResponseHead};
use hijack_guest::{default_options, docker_attach, write_all};

/// `content-type` of the one-line answers.
const TEXT: (&str, &str) = ("content-type", "text/plain; charset=utf-8");

struct Edge;

wasip2::http::proxy::export!(Edge);

impl wasip2::exports::http::incoming_handler::Guest for Edge {
    fn handle(request: IncomingRequest, out: ResponseOutparam) {
        let is_get = matches!(request.method(), Method::Get);
        let path_with_query = request.path_with_query().unwrap_or_default();
        drop(request);
        match route::route(is_get, &path_with_query, &upstreams()) {
            Route::Attach { authority, target } => attach(&authority, target, out),
            Route::BadQuery(why) => reply(out, 400, &[TEXT], &why),
            Route::Forbidden(authority) => reply(
                out,
                403,
                &[TEXT],
                &format!("upstream {authority} is not allowed: it is not in {UPSTREAMS_VAR}"),
            ),
            Route::MethodNotAllowed => reply(
                out,
                405,
                &[TEXT, ("allow", "GET")],
                "/attach answers GET only",
            ),
            Route::NotFound => reply(
                out,
                404,
                &[TEXT],
                "not found: the one route is GET /attach?target=HOST:PORT&path=/p",
            ),
        }
    }
}

/// The upstreams this deployment allows, from the environment the runtime passes.
fn upstreams() -> Upstreams {
    match std::env::var(UPSTREAMS_VAR) {
        Ok(list) => Upstreams::from_list(&list),
        Err(std::env::VarError::NotPresent) => Upstreams::Any,
        // A list that cannot be read allows nothing rather than everything.
        Err(std::env::VarError::NotUnicode(_)) => Upstreams::Only(Vec::new()),
    }
}

/// Hijack `authority` with `POST target` and `Upgrade: tcp`, then stream the upstream back.
fn attach(authority: &str, target: String, out: ResponseOutparam) {
    let request = docker_attach(target);
    let options = default_options();
    match client::dial(authority, &request, options) {
        Ok((_head, conn)) => stream(conn, out),
        Err(e) => {
            let (status, text) = failure(authority, &e);
            reply(out, status, &[TEXT], &text);
        }
    }
}

/// The status and the one line that answer a failed hijack.
fn failure(authority: &str, e: &Error) -> (u16, String) {
    let upstream = format!("upstream {authority}");
    let text = match e {
        // Every value the component validates came from the query.
        Error::InvalidInput(why) => return (400, format!("invalid query: {why}")),
        Error::NotSwitched(refusal) => format!(
            "upstream answered {} instead of switching protocols",
            status_line(&refusal.head)
        ),
        Error::InvalidSwitch(head) => format!(
            "upstream answered {} but did not switch to tcp as HTTP/1.1 requires",
            status_line(head)
        ),
        Error::Connect(ErrorCode::AccessDenied) => format!(
            "connecting to {upstream} was denied: the runtime does not grant this address \
             (`wasmtime serve -S inherit-network`, Spin's allowed_outbound_hosts, or on \
             wasmCloud `wash host --allow-host-loopback` and the workload's \
             allowedHostLoopbackPorts for host.wasmcloud.internal)"
        ),
        Error::Connect(code) => format!("connecting to {upstream} failed: {}", code.name()),
        // wasmtime answers `permanent-resolver-failure` when it does not allow lookups.
        Error::Dns(code @ (ErrorCode::AccessDenied | ErrorCode::PermanentResolverFailure)) => {
            format!(
                "looking up {upstream} failed: {}: the runtime may not allow name lookups \
                 (`wasmtime serve -S allow-ip-name-lookup`)",
                code.name()
            )
        }
        Error::Dns(code) => format!("looking up {upstream} failed: {}", code.name()),
        // `transient` comes from accepting only; a client never sees it.
        Error::Socket(code) | Error::Transient(code) => {
            format!("a socket for {upstream} failed: {}", code.name())
        }
        Error::Io(why) => format!("talking to {upstream} failed: {why}"),
        // The edge world imports no wasi:tls; kept so the match names every case.
        Error::Tls(why) => format!("TLS with {upstream} failed: {why}"),
        Error::Timeout => format!("{upstream} did not connect or answer in time"),
        Error::ClosedBeforeHead => format!("{upstream} closed the connection without answering"),
        Error::ClosedInsideHead => {
            format!("{upstream} closed the connection in the middle of its answer's head")
        }
        Error::HeadTooLarge => format!("{upstream} answered with a head too large"),
        Error::TooManyHeaders => format!("{upstream} answered with too many header fields"),
        Error::MalformedHead(why) => format!("{upstream} answered with a malformed head: {why}"),
        // A server's request bodies; a client never sees these, kept so the match names them.
        Error::BodyTooLarge | Error::MalformedBody(_) => {
            format!("hijacking {upstream} failed: {}", hijack_guest::describe(e))
        }
        // Only the non-blocking calls return it; the blocking `dial` waits instead.
        Error::WouldBlock => format!("hijacking {upstream} did not complete"),
    };
    (502, text)
}

/// `404 Not Found`, or `404` when the reason is empty.
fn status_line(head: &ResponseHead) -> String {
    format!("{} {}", head.status, head.reason)
        .trim_end()
        .to_string()
}

/// Half-close the upstream's sending side (nothing goes to it, as after `docker attach`'s
/// stdin EOF), then send `200` and stream `buffered`, then the upstream until it closes. A
/// stream that fails midway leaves the body unfinished, so the runtime cuts the response
/// short rather than ending it as if complete.
fn stream(conn: Hijacked, out: ResponseOutparam) {
    let Hijacked {
        socket,
        input,
        output,
        buffered,
    } = conn;
    if let Err(code) = socket.shutdown(ShutdownType::Send) {
        eprintln!(
            "edge-attach: half-closing the upstream failed: {}",
            code.name()
        );
    }
    let Some(body) = start(out, 200, &[("content-type", "application/octet-stream")]) else {
        return;
    };
    let copied = write_body(&body, |to_client| {
        write_all(to_client, &buffered)?;
        copy(&input, to_client)
    });
    // Children before their parent: the streams before the socket.
    drop((input, output));
    drop(socket);
    match copied {
        Ok(()) => finish(body),
        Err(e) => eprintln!("edge-attach: streaming the upstream stopped: {e}"),
    }
}

/// Answer `status` with `fields` and `text` as one line, and finish.
fn reply(out: ResponseOutparam, status: u16, fields: &[(&str, &str)], text: &str) {
    let Some(body) = start(out, status, fields) else {
        return;
    };
    let written = write_body(&body, |to_client| {
        write_all(to_client, route::line(text).as_bytes())
    });
    match written {
        Ok(()) => finish(body),
        Err(e) => eprintln!("edge-attach: answering {status} failed: {e}"),
    }
}

/// Send the response head and return its body (`None` if the runtime gave none: logged).
fn start(out: ResponseOutparam, status: u16, fields: &[(&str, &str)]) -> Option<OutgoingBody> {
    let headers = Fields::new();
    for (name, value) in fields {
        if let Err(e) = headers.append(name, value.as_bytes()) {
            eprintln!("edge-attach: header {name}: {e:?}");
        }
    }
    let response = OutgoingResponse::new(headers);
    if response.set_status_code(status).is_err() {
        eprintln!("edge-attach: status {status} refused");
    }
    let body = response.body();
    ResponseOutparam::set(out, Ok(response));
    body.map_err(|()| eprintln!("edge-attach: the response has no body"))
        .ok()
}

/// Write into `body` through its stream with `fill`, and drop the stream (so that [`finish`]
/// may follow). Every write is flushed before it returns.
fn write_body(
    body: &OutgoingBody,
    fill: impl FnOnce(&mut OutputStream) -> Result<(), String>,
) -> Result<(), String> {
    let mut to_client = body
        .write()
        .map_err(|()| "the response body has no stream".to_string())?;
    fill(&mut to_client)
}

/// `input` to `out` until `input` closes; `out` closing first is an error.
fn copy(input: &InputStream, out: &mut OutputStream) -> Result<(), String> {
    loop {
        match input.blocking_read(64 * 1024) {
            Ok(bytes) => write_all(out, &bytes)?,
            Err(StreamError::Closed) => return Ok(()),
            Err(e) => return Err(describe(e)),
        }
    }
}

fn describe(e: StreamError) -> String {
    match e {
        StreamError::Closed => "the stream closed".to_string(),
        StreamError::LastOperationFailed(e) => e.to_debug_string(),
    }
}

/// End a body whose stream is gone, so the runtime completes the response.
fn finish(body: OutgoingBody) {
    if let Err(e) = OutgoingBody::finish(body, None) {
        eprintln!("edge-attach: finishing the response failed: {e:?}");
    }
}
