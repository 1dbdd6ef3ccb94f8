//! `host:port` authorities, as given by the caller of the client.

use super::ProtoError;

/// A parsed `host:port` or `[v6]:port`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Authority<'a> {
    /// The host name or IP literal, without brackets.
    pub host: &'a str,
    /// The port.
    pub port: u16,
}

/// Parse `host:port` or `[v6]:port`; the port is required (there is no scheme to default it).
pub fn parse_authority(s: &str) -> Result<Authority<'_>, ProtoError> {
    let bad = |why: &str| ProtoError::invalid(format!("authority {s:?}: {why}"));
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let (host, rest) = rest.split_once(']').ok_or_else(|| bad("unclosed '['"))?;
        let port = rest
            .strip_prefix(':')
            .ok_or_else(|| bad("missing ':port'"))?;
        if host.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(bad("only an IPv6 address goes in brackets"));
        }
        (host, port)
    } else {
        let (host, port) = s.rsplit_once(':').ok_or_else(|| bad("missing ':port'"))?;
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
    let port = port
        .parse::<u16>()
        .ok()
        .filter(|p| *p != 0 && port.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| bad("invalid port"))?;
    Ok(Authority { host, port })
}
