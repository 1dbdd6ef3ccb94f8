//! Limits on reading a head, and their defaults: the caller's choice, bounded and documented.

use super::error::ProtoError;
use super::text::{Decimal, join};

/// Default cap on the bytes of one head, status or request line included (64 KiB).
pub const DEFAULT_MAX_HEAD_BYTES: usize = 64 * 1024;
/// Default cap on the number of header fields in one head (hyper's default).
pub const DEFAULT_MAX_HEADERS: usize = 100;
/// Default deadline for a whole head, in milliseconds (hyper's header read timeout).
pub const DEFAULT_HEAD_TIMEOUT_MS: u64 = 30_000;
/// Default cap on the request heads a server reads at once; beyond it, new connections wait in
/// the kernel's backlog (Go and hyper bound this only by descriptors).
pub const DEFAULT_MAX_PENDING_HEADS: usize = 1024;
/// Default deadline for name lookup and connect together, in milliseconds.
pub const DEFAULT_CONNECT_TIMEOUT_MS: u64 = 30_000;

/// Limits on reading one head.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Most bytes of a head ([`DEFAULT_MAX_HEAD_BYTES`]).
    pub max_head_bytes: usize,
    /// Most header fields ([`DEFAULT_MAX_HEADERS`]).
    pub max_headers: usize,
    /// Deadline for the whole head in milliseconds ([`DEFAULT_HEAD_TIMEOUT_MS`]).
    pub head_timeout_ms: u64,
    /// Most request heads a server reads at once ([`DEFAULT_MAX_PENDING_HEADS`]).
    pub max_pending_heads: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_head_bytes: DEFAULT_MAX_HEAD_BYTES,
            max_headers: DEFAULT_MAX_HEADERS,
            head_timeout_ms: DEFAULT_HEAD_TIMEOUT_MS,
            max_pending_heads: DEFAULT_MAX_PENDING_HEADS,
        }
    }
}

/// Largest `max_head_bytes` a caller may ask for (16 MiB).
pub const MAX_HEAD_BYTES_CAP: usize = 16 << 20;
/// Largest `max_headers` a caller may ask for.
pub const MAX_HEADERS_CAP: usize = 10_000;
/// Largest `max_pending_heads` a caller may ask for.
pub const MAX_PENDING_HEADS_CAP: usize = 65_536;

impl Limits {
    /// Limits from a caller's optional values: `None` takes the default; a cap above
    /// [`MAX_HEAD_BYTES_CAP`] or [`MAX_HEADERS_CAP`] is refused as invalid input.
    pub fn from_options(
        max_head_bytes: Option<u32>,
        max_headers: Option<u32>,
        head_timeout_ms: Option<u64>,
        max_pending_heads: Option<u32>,
    ) -> Result<Self, ProtoError> {
        let capped = |value: Option<u32>, cap: usize, default: usize, what: &str| match value {
            None => Ok(default),
            Some(v) if (v as usize) <= cap => Ok(v as usize),
            Some(v) => Err(ProtoError::invalid(join(&[
                what,
                " ",
                Decimal::new(v.into()).as_str(),
                " is above ",
                Decimal::new(cap as u64).as_str(),
            ]))),
        };
        Ok(Self {
            max_head_bytes: capped(
                max_head_bytes,
                MAX_HEAD_BYTES_CAP,
                DEFAULT_MAX_HEAD_BYTES,
                "max-head-bytes",
            )?,
            max_headers: capped(
                max_headers,
                MAX_HEADERS_CAP,
                DEFAULT_MAX_HEADERS,
                "max-headers",
            )?,
            head_timeout_ms: head_timeout_ms.unwrap_or(DEFAULT_HEAD_TIMEOUT_MS),
            max_pending_heads: capped(
                max_pending_heads,
                MAX_PENDING_HEADS_CAP,
                DEFAULT_MAX_PENDING_HEADS,
                "max-pending-heads",
            )?
            .max(1),
        })
    }
}
