//! The validators every encoder applies to caller input, against the grammar written out
//! here independently: `is_field_value` and `reason` (HTAB, SP, VCHAR, obs-text), `method`
//! (a token), `target` (non-empty visible ASCII), `protocol` (`token [ "/" token ]`),
//! `headers` (token names, clean values, none of the owned fields), `parse_length` (plain
//! digits that fit 64 bits). Whatever passes holds no CR, LF or NUL.
//!
//! Input: the bytes to validate; as a header field, `name NV value`.

#![no_main]

use fuzz_support::{clean_value, header, rfc_token};
use libfuzzer_sys::fuzz_target;
use hijack_proto::client::parse_length;
use hijack_proto::validate::{
    self, REQUEST_OWNED, RESPONSE_OWNED, SWITCH_OWNED, TUNNEL_OWNED,
};

fuzz_target!(|data: &[u8]| {
    let clean = clean_value(data);
    assert_eq!(validate::is_field_value(data), clean);
    if clean {
        assert!(!data.iter().any(|b| matches!(b, b'\r' | b'\n' | 0)));
    }
    if let Ok(s) = std::str::from_utf8(data) {
        assert_eq!(validate::is_token(s), rfc_token(s));
        assert_eq!(validate::method(s).is_ok(), rfc_token(s));
        let target = !s.is_empty() && s.bytes().all(|b| (0x21..=0x7e).contains(&b));
        assert_eq!(validate::target(s).is_ok(), target);
        let protocol = match s.split_once('/') {
            Some((name, version)) => rfc_token(name) && rfc_token(version),
            None => rfc_token(s),
        };
        assert_eq!(validate::protocol(s).is_ok(), protocol, "{s:?}");
        assert_eq!(validate::reason(s).is_ok(), clean);
        let digits = !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        let fits = digits && s.trim_start_matches('0').len() <= 20 && s.parse::<u64>().is_ok();
        assert_eq!(parse_length(s), fits.then(|| s.parse().unwrap()), "{s:?}");
    }
    let h = header(data);
    for owned in [
        REQUEST_OWNED,
        SWITCH_OWNED,
        TUNNEL_OWNED,
        RESPONSE_OWNED,
        &[],
    ] {
        let ours = owned.iter().any(|o| h.name.eq_ignore_ascii_case(o));
        let ok = rfc_token(&h.name) && clean_value(&h.value) && !ours;
        assert_eq!(
            validate::headers(std::slice::from_ref(&h), owned).is_ok(),
            ok,
            "{h:?}"
        );
    }
});
