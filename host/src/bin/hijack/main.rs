//! `hijack`: HTTP/1.1 connection hijack with the exchange running in a WebAssembly component.
//!
//! - `hijack dial URL ...`: ask a server to switch protocols (as `docker attach` does), then
//!   wire the connection to stdin/stdout.
//! - `hijack serve --listen ADDR ...`: accept, switch, and echo or run a command on each
//!   connection (as `docker exec` does).
//! - `hijack demo`: both at once, in one process, on loopback.
//!
//! The HTTP exchange happens inside the component; this binary moves bytes after the handoff.

mod args;
mod demo;
mod dial;
mod serve;

use std::process::ExitCode;

/// Exit status when the peer answered but did not switch protocols.
const EXIT_NOT_SWITCHED: u8 = 1;
/// Exit status for any other failure, usage errors included.
const EXIT_FAILURE: u8 = 2;

const USAGE: &str = "\
usage:
  hijack dial URL [--method M] [-H 'Name: value']... [--data STRING] [--upgrade PROTO]
              [--head-timeout MS] [--max-head-bytes N]
  hijack serve --listen ADDR [--upgrade PROTO]... (--echo | --exec CMD [ARGS...])
  hijack demo

dial: the response head goes to stderr; the bytes that arrived with it, then the connection,
      go to stdout; stdin goes to the connection (EOF half-closes it); exit 0 when the peer
      closes, 1 if it did not switch, 2 on any other failure.
serve: prints 'listening on IP:PORT' first; answers 101 to requests offering an accepted
      protocol (default tcp) and 426 to others.";

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let command = match args::parse(&argv) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("hijack: {e}\n\n{USAGE}");
            return ExitCode::from(EXIT_FAILURE);
        }
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("hijack: error: cannot start the async runtime: {e}");
            return ExitCode::from(EXIT_FAILURE);
        }
    };
    let code = rt.block_on(async move {
        match command {
            args::Command::Help => {
                println!("{USAGE}");
                Ok(0)
            }
            args::Command::Dial(d) => dial::run(d).await,
            args::Command::Serve(s) => serve::run(s).await.map(|()| 0),
            args::Command::Demo => demo::run().await.map(|()| 0),
        }
    });
    // Leave at once: a blocking read of stdin must not keep the process alive.
    let code = match code {
        Ok(code) => code,
        Err(e) => {
            eprintln!("hijack: error: {}", first_line(&format!("{e:#}")));
            EXIT_FAILURE
        }
    };
    rt.shutdown_background();
    ExitCode::from(code)
}

/// The first line of an error, so no runtime backtrace reaches the user.
fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or(s)
}
