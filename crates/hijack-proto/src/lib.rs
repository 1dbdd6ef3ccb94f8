//! hijack-proto: the sans-IO HTTP/1.1 core of wasi-hijack — everything the component knows
//! about HTTP, and nothing about I/O.
//!
//! It is fed bytes and returns decisions plus the offset where the head ends; the bytes after
//! that offset are what the component hands over. It never touches WASI, sockets or clocks, so
//! it builds and is tested natively (unit tables, property tests over read splits, fuzzing).
//! It is `no_std` + `alloc`, so every consumer can use it: the component (a `no_std` guest),
//! guests that use std, the native host and CLI, and the fuzz targets.
//!
//! - [`HeadScanner`]: incremental head-end scanning with a byte cap.
//! - [`client`]: request encoding, response parsing, and the one function that decides
//!   whether a response switched protocols.
//! - [`server`]: request parsing, offered protocols, and the encoding of answers.
//! - [`validate`]: checks on caller input, applied before any byte is sent.
//! - [`escape`]: untrusted text made safe for a terminal; [`credentials`]: a URL's userinfo
//!   as Basic credentials;
//! - [`parse_authority`]: `host:port` authorities; [`AcceptBackoff`]: Go's pause after a
//!   transient accept failure.
//!
//! ```
//! use hijack_proto::{HeadScanner, DEFAULT_MAX_HEAD_BYTES, DEFAULT_MAX_HEADERS};
//! use hijack_proto::client::{classify, parse_response, Verdict};
//!
//! // The 101 and the first bytes of the new protocol arrive in one read, split in two.
//! let wire = b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\nhello";
//! let mut scanner = HeadScanner::new(DEFAULT_MAX_HEAD_BYTES);
//! assert_eq!(scanner.scan(&wire[..20]).unwrap(), None);
//! let end = scanner.scan(wire).unwrap().expect("complete");
//! let head = parse_response(&wire[..end], DEFAULT_MAX_HEADERS).unwrap();
//! assert_eq!(classify(&head, "tcp"), Verdict::Switched);
//! assert_eq!(&wire[end..], b"hello"); // what the component hands over as `buffered`
//! ```

#![no_std]
#![deny(missing_docs)]
#![deny(unsafe_code)]

extern crate alloc;

mod authority;
mod backoff;
pub mod body;
pub mod client;
pub mod credentials;
mod error;
pub mod escape;
mod head;
mod limits;
mod message;
pub mod server;
mod text;
pub mod validate;
pub mod websocket;

pub use authority::{Authority, parse_authority, parse_authority_or};
pub use backoff::{ACCEPT_BACKOFF_MAX, ACCEPT_BACKOFF_MIN, AcceptBackoff};
pub use error::ProtoError;
pub use head::HeadScanner;
pub use limits::{
    DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_HEAD_TIMEOUT_MS, DEFAULT_MAX_HEAD_BYTES,
    DEFAULT_MAX_HEADERS, DEFAULT_MAX_PENDING_HEADS, Limits, MAX_HEAD_BYTES_CAP, MAX_HEADERS_CAP,
    MAX_PENDING_HEADS_CAP,
};
pub use message::{Header, RequestHead, ResponseHead, has_token, header_list, header_values};
