//! A URL's userinfo (`user:password@`) as HTTP Basic credentials (RFC 7617), the way curl and
//! Go's net/http send them: percent-decoded, joined by `:`, base64-encoded.
//!
//! Errors never carry the input: a password must not be printed back.

use alloc::string::String;
use alloc::vec::Vec;
use base64ct::{Base64, Encoding};
use core::fmt;

/// Why a userinfo cannot be sent. No variant carries any of the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialsError {
    /// A `%` not followed by two hex digits.
    BadPercentEncoding,
    /// The user name is empty (`:password@`).
    EmptyUser,
    /// The decoded user name holds a `:` (RFC 7617 §2 forbids it: it could not be told apart
    /// from the password's start), or a decoded part holds a control character.
    Forbidden,
}

impl fmt::Display for CredentialsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::BadPercentEncoding => "the credentials are not valid percent-encoding",
            Self::EmptyUser => "the credentials have no user name",
            Self::Forbidden => "the credentials hold a character Basic authentication forbids",
        })
    }
}

/// The value of an `Authorization` (or `Proxy-Authorization`) field for the userinfo of a
/// URL, `user` or `user:password` as written in the URL (percent-encoded): `Basic ` and the
/// base64 of `user:password`.
///
/// ```
/// use hijack_proto::credentials::basic;
/// assert_eq!(basic("alice:s3cret").unwrap(), "Basic YWxpY2U6czNjcmV0");
/// assert_eq!(basic("alice").unwrap(), "Basic YWxpY2U6"); // no password: empty, as curl
/// assert_eq!(basic("a%40b:p%3Aw").unwrap(), "Basic YUBiOnA6dw=="); // a@b, p:w
/// ```
pub fn basic(userinfo: &str) -> Result<String, CredentialsError> {
    let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
    let user = percent_decode(user)?;
    let password = percent_decode(password)?;
    if user.is_empty() {
        return Err(CredentialsError::EmptyUser);
    }
    let control = |b: &u8| *b < 0x20 || *b == 0x7f;
    if user.contains(&b':') || user.iter().any(control) || password.iter().any(control) {
        return Err(CredentialsError::Forbidden);
    }
    let mut joined = user;
    joined.push(b':');
    joined.extend_from_slice(&password);
    let mut value = String::from("Basic ");
    value.push_str(&Base64::encode_string(&joined));
    Ok(value)
}

/// `%XX` escapes decoded (RFC 3986 §2.1); anything else is kept as it is.
fn percent_decode(s: &str) -> Result<Vec<u8>, CredentialsError> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = |b: u8| (b as char).to_digit(16);
            let hi = bytes.get(i + 1).copied().and_then(hex);
            let lo = bytes.get(i + 2).copied().and_then(hex);
            match (hi, lo) {
                (Some(hi), Some(lo)) => out.push((hi * 16 + lo) as u8),
                _ => return Err(CredentialsError::BadPercentEncoding),
            }
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::{CredentialsError, basic};

    #[test]
    fn userinfo_becomes_basic_credentials() {
        // RFC 7617 §2's example: Aladdin / open sesame.
        assert_eq!(
            basic("Aladdin:open%20sesame").unwrap(),
            "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
        );
        // Only the first ':' splits: the password may hold more.
        assert_eq!(basic("u:a:b").unwrap(), basic("u:a%3Ab").unwrap());
        assert_eq!(basic("%zz:x"), Err(CredentialsError::BadPercentEncoding));
        assert_eq!(basic("u:%4"), Err(CredentialsError::BadPercentEncoding));
        assert_eq!(basic(":pw"), Err(CredentialsError::EmptyUser));
        assert_eq!(basic("a%3Ab:pw"), Err(CredentialsError::Forbidden));
        assert_eq!(basic("u:p%0Aw"), Err(CredentialsError::Forbidden));
    }
}
