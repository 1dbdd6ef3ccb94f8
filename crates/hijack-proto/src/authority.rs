//! `host:port` authorities: the one place that knows about brackets, IP literals and ports.
//!
//! The client's `authority` argument, the `Host` it sends, the CLI's URLs and the host's
//! network policy all go through [`parse_authority`] or [`parse_authority_or`].

use super::error::ProtoError;
use super::text::{join, quoted};
use core::net::{IpAddr, Ipv6Addr};

/// A parsed `host:port` or `[v6]:port`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Authority<'a> {
    /// The host name or IP literal, without brackets.
    pub host: &'a str,
    /// The port.
    pub port: u16,
}

impl core::fmt::Display for Authority<'_> {
    /// `host:port`, with brackets around an IPv6 literal: the form [`parse_authority`] reads.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

impl Authority<'_> {
    /// The host as an IP address when it is an IP literal; `None` for a name to look up.
    pub fn ip(&self) -> Option<IpAddr> {
        self.host.parse().ok()
    }
}

/// Parse `host:port` or `[v6]:port`; the port is required (there is no scheme to default it).
pub fn parse_authority(s: &str) -> Result<Authority<'_>, ProtoError> {
    parse(s, None)
}

/// Parse `host[:port]` or `[v6][:port]`, taking `default_port` when the port is absent (a
/// URL's authority, where the scheme gives the port).
pub fn parse_authority_or(s: &str, default_port: u16) -> Result<Authority<'_>, ProtoError> {
    parse(s, Some(default_port))
}

fn parse(s: &str, default_port: Option<u16>) -> Result<Authority<'_>, ProtoError> {
    let bad = |why: &str| ProtoError::invalid(join(&["authority ", &quoted(s), ": ", why]));
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let (host, rest) = rest.split_once(']').ok_or_else(|| bad("unclosed '['"))?;
        let port = match rest.strip_prefix(':') {
            Some(port) => Some(port),
            None if rest.is_empty() => None,
            None => return Err(bad("expected ':port' after ']'")),
        };
        if host.parse::<Ipv6Addr>().is_err() {
            return Err(bad("only an IPv6 address goes in brackets"));
        }
        (host, port)
    } else {
        let (host, port) = match s.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (s, None),
        };
        if host.contains(':') {
            return Err(bad("an IPv6 address needs brackets"));
        }
        (host, port)
    };
    if host.is_empty() {
        return Err(bad("empty host"));
    }
    if !host
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b':' | b'%'))
    {
        return Err(bad("invalid character in host"));
    }
    let port = match (port, default_port) {
        (Some(port), _) => port
            .parse::<u16>()
            .ok()
            .filter(|p| *p != 0 && port.bytes().all(|b| b.is_ascii_digit()))
            .ok_or_else(|| bad("invalid port"))?,
        (None, Some(default)) => default,
        (None, None) => return Err(bad("missing ':port'")),
    };
    Ok(Authority { host, port })
}
