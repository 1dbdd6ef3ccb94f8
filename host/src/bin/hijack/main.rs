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
mod ws_echo;

use std::process::ExitCode;

/// Exit status when the peer answered but did not switch protocols.
const EXIT_NOT_SWITCHED: u8 = 1;
/// Exit status for any other failure, usage errors included.
const EXIT_FAILURE: u8 = 2;

/// The runtime, with the compiled component cached between runs (`$HIJACK_CACHE_DIR`, else
/// `$XDG_CACHE_HOME/hijack` or `~/.cache/hijack`; `HIJACK_CACHE_DIR=` turns it off).
fn runtime() -> Result<hijack_host::Runtime, hijack_host::Error> {
    match hijack_host::default_cache_dir() {
        Some(dir) => hijack_host::Runtime::cached(&dir),
        None => hijack_host::Runtime::new(),
    }
}

fn main() -> ExitCode {
    // Help, the version and usage errors are answered here, by clap (exit 0, 0 and 2).
    let command = args::parse();
    // One thread for all the async work: the instance is one task, and each handed-over
    // connection's task would otherwise be woken across threads, so futex wake-ups and task
    // switches would lead `hijack serve`'s profile under load; blocking copies get threads of
    // their own. (`bash scripts/bench` compares both against Go's Hijacker server.)
    let rt = match tokio::runtime::Builder::new_current_thread()
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
            args::Command::Dial(d) => dial::run(*d).await,
            args::Command::Serve(s) => serve::run(s).await.map(|()| 0),
            args::Command::Demo => demo::run().await.map(|()| 0),
        }
    });
    // Leave at once: a blocking read of stdin must not keep the process alive.
    let code = match code {
        Ok(code) => code,
        Err(e) => {
            // Display only: every error here is one line that already names its cause
            // (`hijack_host::Error` keeps the runtime's chain as its source, not in the text).
            eprintln!("hijack: error: {e}");
            EXIT_FAILURE
        }
    };
    rt.shutdown_background();
    ExitCode::from(code)
}
