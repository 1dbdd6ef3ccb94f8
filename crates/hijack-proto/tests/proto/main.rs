//! Native tests of the sans-IO core, `hijack_proto`, in one test binary:
//!
//! - `support`: the shared helpers and the table of heads;
//! - `scan`: the table, every prefix of each head, head and tail in one buffer, the head cap;
//! - `splits`: read splits as property tests, against the reference scanner (`reference`,
//!   which the fuzz targets share);
//! - `classify`: the upgrade rules of `classify`, body plans, `parse_length`, canned answers;
//! - `request`: the exact bytes (and refusals) of `encode_request`, and authorities;
//! - `server`: `parse_request`, `upgrade_protocols`, `encode_switch` and `encode_response`;
//! - `decide`: the server's rules (framing, `Host`, `Expect`, `CONNECT`, WebSocket).
//!
//! No I/O here: the component and the host are tested in the host crate's `client` and
//! `server` test binaries (`host/tests/client/`, `host/tests/server.rs`).

mod body;
mod classify;
mod decide;
mod frames;
mod reference;
mod request;
mod scan;
mod server;
mod splits;
mod support;
