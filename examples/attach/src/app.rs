//! The command itself: parse the URL, ask the hijack component to dial, then move bytes.

use std::process::ExitCode;
use wasip2::io::poll::poll;
use wasip2::io::streams::StreamError;
use wasip2::sockets::tcp::ShutdownType;

use hijack_guest::client::{self, Options};
use hijack_guest::proto::parse_authority_or;
use hijack_guest::types::{Error, Hijacked};
use hijack_guest::{default_options, describe, docker_attach, write_all};

/// Most bytes moved per read.
const CHUNK: u64 = 64 * 1024;

/// Run the command; the exit code says how it ended.
pub fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let Some((authority, target)) = args.get(1).and_then(|u| split_url(u)) else {
        eprintln!("usage: attach http://HOST:PORT[/PATH]");
        return ExitCode::from(2);
    };
    let request = docker_attach(target);
    // Docker's client probes a silent connection every 30 s.
    let options = Options {
        keepalive_ms: Some(30_000),
        ..default_options()
    };
    match client::dial(&authority, &request, options) {
        Ok((head, conn)) => {
            eprintln!("attach: {} {}", head.status, head.reason);
            match pump(conn) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("attach: {e}");
                    ExitCode::from(2)
                }
            }
        }
        Err(Error::NotSwitched(r)) => {
            eprintln!(
                "attach: the peer did not switch protocols: {}",
                r.head.status
            );
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("attach: {}", describe(&e));
            ExitCode::from(2)
        }
    }
}

/// `http://HOST[:PORT][/PATH]` into the authority (the core's rule: port 80 by default) and
/// the target (the component validates it).
fn split_url(url: &str) -> Option<(String, String)> {
    let rest = url.strip_prefix("http://")?;
    let (authority, target) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let authority = parse_authority_or(authority, 80).ok()?;
    Some((authority.to_string(), target.to_string()))
}

/// stdin → connection (EOF half-closes), connection → stdout, both in one thread.
fn pump(conn: Hijacked) -> Result<(), String> {
    let Hijacked {
        socket,
        input,
        mut output,
        buffered,
    } = conn;
    let stdin = wasip2::cli::stdin::get_stdin();
    let mut stdout = wasip2::cli::stdout::get_stdout();
    write_all(&mut stdout, &buffered)?;
    let mut stdin_open = true;
    loop {
        // Pollables are children of their streams: made per wait, dropped before the next.
        let from_peer = input.subscribe();
        let from_user = stdin_open.then(|| stdin.subscribe());
        let mut set = vec![&from_peer];
        set.extend(from_user.as_ref());
        let ready = poll(&set);
        if ready.contains(&0) {
            match input.read(CHUNK) {
                Ok(bytes) => write_all(&mut stdout, &bytes)?,
                Err(StreamError::Closed) => break,
                Err(e) => return Err(format!("reading the connection: {e:?}")),
            }
        }
        if ready.contains(&1) {
            match stdin.read(CHUNK) {
                Ok(bytes) => write_all(&mut output, &bytes)?,
                Err(_) => {
                    stdin_open = false;
                    let _ = socket.shutdown(ShutdownType::Send);
                }
            }
        }
    }
    drop((input, output));
    drop(socket);
    Ok(())
}
