//! `connect-proxy --listen ADDR [--via HOST:PORT]`: an HTTP CONNECT proxy (RFC 9110 §9.3.6) as
//! a WebAssembly command that imports the hijack component's `server` and `client` (composed
//! with it by `wac plug`).
//!
//! It accepts with the server's `try-accept`, dials the tunnel's target (directly with
//! wasi:sockets, or through another CONNECT proxy with the client's `start-dial` when
//! `--via` is given), answers `200` with `tunnel` once the target is reached (`502`/`504`
//! when it is not), and moves bytes both ways with `output-stream.splice` — bytes that came
//! early first, each half-close passed on. Everything — accepts, dials, every tunnel — waits
//! in one `wasi:io/poll.poll` in one thread, so a stalled tunnel holds up no other.
//!
//! The first line on stdout is `listening on IP:PORT`.

#![deny(missing_docs)]

#[cfg(target_arch = "wasm32")]
mod app;
#[cfg(target_arch = "wasm32")]
mod dial;
#[cfg(target_arch = "wasm32")]
mod pipe;

fn main() -> std::process::ExitCode {
    #[cfg(target_arch = "wasm32")]
    return app::main();
    #[cfg(not(target_arch = "wasm32"))]
    {
        eprintln!(
            "connect-proxy: build me for wasm32-wasip2 and compose me with the hijack component"
        );
        std::process::ExitCode::from(2)
    }
}
