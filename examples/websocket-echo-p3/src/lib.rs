//! `websocket-echo-p3 --listen ADDR`: the WebSocket echo server of `examples/websocket-echo`,
//! on WASI 0.3. Same arguments, answers and output; a task per client, awaiting `accept`,
//! `hijack` and the streams. The handshake is the hijack component's; frames, ping/pong and
//! the close handshake are hijack-proto's sans-IO `websocket::Echo`.
//!
//! The first line on stdout is `listening on IP:PORT`.

#![deny(missing_docs)]

#[cfg(target_arch = "wasm32")]
mod app;

#[cfg(target_arch = "wasm32")]
hijack_guest_p3::run!(app::main);
