//! `attach URL`: Docker-attach style, as a WebAssembly command that imports the hijack
//! component's `client` (composed with it by `wac plug`). POST to URL with `Upgrade: tcp`,
//! then stdin goes to the connection (its EOF half-closes the sending side) and the connection
//! goes to stdout, bytes that came with the `101` first.
//!
//! One thread serves both directions: it waits on stdin and the connection together with
//! wasi:io/poll. Exit 0 when the peer closes; any failure (no switch, no network, a bad URL)
//! is one line on stderr and a non-zero exit (wasi:cli/exit carries only success or failure:
//! wasmtime reports 1).

#![deny(missing_docs)]

#[cfg(target_arch = "wasm32")]
mod app;

fn main() -> std::process::ExitCode {
    #[cfg(target_arch = "wasm32")]
    return app::main();
    #[cfg(not(target_arch = "wasm32"))]
    {
        eprintln!("attach: build me for wasm32-wasip2 and compose me with the hijack component");
        std::process::ExitCode::from(2)
    }
}
