//! `websocket-echo --listen ADDR`: a WebSocket echo server (RFC 6455) as a WebAssembly command
//! that imports the hijack component's `server` (composed with it by `wac plug`).
//!
//! The hijack component accepts, reads the request head and answers the handshake
//! (`hijack("websocket")` computes `Sec-WebSocket-Accept`); tungstenite then speaks the frames
//! over the handed-over streams, fed the bytes the component had already read
//! (`WebSocket::from_partially_read`). Every text and binary message comes back as it was
//! sent; pings are answered and the close handshake is completed. All clients are served in
//! one thread that waits on everything in one `wasi:io/poll.poll`; a client that does not read
//! its echoes is not read from until it does.
//!
//! The first line on stdout is `listening on IP:PORT`.

#![deny(missing_docs)]

#[cfg(target_arch = "wasm32")]
mod app;
#[cfg(target_arch = "wasm32")]
mod conn;

fn main() -> std::process::ExitCode {
    #[cfg(target_arch = "wasm32")]
    return app::main();
    #[cfg(not(target_arch = "wasm32"))]
    {
        eprintln!(
            "websocket-echo: build me for wasm32-wasip2 and compose me with the hijack component"
        );
        std::process::ExitCode::from(2)
    }
}
