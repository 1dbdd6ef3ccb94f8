//! `edge-attach`: Docker-attach at the edge, as a `wasi:http/proxy` component that imports the
//! hijack component's `client` (composed with it by `wac plug`).
//!
//! `GET /attach?target=HOST:PORT&path=/p` sends `POST /p` with `Connection: Upgrade` and
//! `Upgrade: tcp` to `HOST:PORT`, and on a validated `101` half-closes the upstream's sending
//! side and streams what the upstream sends (the bytes that came with the `101` first) back as
//! a `200` body of type `application/octet-stream`, until the upstream closes.
//!
//! Every other outcome is one line of `text/plain`: `502` when the upstream refuses to switch
//! (naming its status) or cannot be reached, `400` for a missing or invalid query, `403` for a
//! `target` the deployment does not list (`EDGE_ATTACH_UPSTREAMS`, when set), `405` for a method
//! other than `GET` on `/attach`, `404` for any other path.
//!
//! The routing and the query are plain Rust ([`route`]), tested natively; the handler itself
//! exists only on `wasm32`.

#![deny(missing_docs)]

pub mod route;

#[cfg(target_arch = "wasm32")]
mod app;
