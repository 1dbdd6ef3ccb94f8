//! `parse_authority` and `parse_authority_or` on any text: never panic; refuse with invalid
//! input only; what they accept is safe to send as it is (the client writes the caller's
//! authority as `Host` and a `CONNECT` target: visible ASCII only, no CR, LF or space), has a
//! non-zero port, prints back (`Display`) as text that parses to the same authority, and is
//! an IP literal whenever it holds a colon.
//!
//! Input: the text (invalid UTF-8 replaced).

#![no_main]

use fuzz_support::text;
use libfuzzer_sys::fuzz_target;
use hijack_proto::{Authority, ProtoError, parse_authority, parse_authority_or};

fn assert_sound(s: &str, a: &Authority<'_>) {
    assert!(!a.host.is_empty());
    assert!(s.contains(a.host), "host {:?} not in {s:?}", a.host);
    assert!(
        s.bytes().all(|b| b.is_ascii_graphic()),
        "{s:?} is not visible ASCII"
    );
    assert!(!a.host.contains(['[', ']', '/', '@', '?', '#']), "{a:?}");
    if a.host.contains(':') {
        assert!(matches!(a.ip(), Some(std::net::IpAddr::V6(_))), "{a:?}");
    }
    let printed = a.to_string();
    assert_eq!(parse_authority(&printed).as_ref(), Ok(a), "{printed:?}");
}

fuzz_target!(|data: &[u8]| {
    let s = text(data);
    let strict = parse_authority(&s);
    match &strict {
        Ok(a) => {
            assert_sound(&s, a);
            assert_ne!(a.port, 0);
            // The port as written: digits only (no sign), its value the port.
            let (_, digits) = s.rsplit_once(':').unwrap();
            assert!(digits.bytes().all(|b| b.is_ascii_digit()), "{s:?}");
            assert_eq!(digits.parse::<u16>().ok(), Some(a.port), "{s:?}");
        }
        Err(e) => assert!(matches!(e, ProtoError::InvalidInput(_)), "{e:?}"),
    }
    let loose = parse_authority_or(&s, 80);
    match (&strict, &loose) {
        // With a port, the default changes nothing.
        (Ok(a), Ok(b)) => assert_eq!(a, b),
        (Ok(_), Err(e)) => panic!("{s:?}: only parse_authority took it ({e:?})"),
        // Without one, the default is the port.
        (Err(_), Ok(b)) => {
            assert_sound(&s, b);
            assert_eq!(b.port, 80);
            assert!(!s.ends_with(':'), "{s:?}");
            assert_eq!(parse_authority(&format!("{s}:80")).as_ref(), Ok(b));
        }
        (Err(_), Err(e)) => assert!(matches!(e, ProtoError::InvalidInput(_)), "{e:?}"),
    }
});
