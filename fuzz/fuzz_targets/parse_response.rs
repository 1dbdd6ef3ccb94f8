//! `parse_response` on any bytes: never panics; what it accepts is well-formed; and the way
//! the client uses it (scan for the end, parse exactly that head, hand the rest over as
//! `buffered`) agrees with httparse on where the head ends: after a `101`, not one byte of the
//! new protocol is lost or taken for the head.
//!
//! Input: raw bytes (a head, maybe a tail). Seeds: response heads.

#![no_main]

use fuzz_support::{clean_value, head_end, rfc_token, trimmed};
use libfuzzer_sys::fuzz_target;
use wasi_hijack::proto::client::parse_response;
use wasi_hijack::proto::{DEFAULT_MAX_HEADERS, ProtoError, ResponseHead};

/// Where httparse says the head ends, with room for every field.
fn httparse_end(buf: &[u8]) -> Option<usize> {
    let mut fields = vec![httparse::EMPTY_HEADER; buf.len() / 2 + 1];
    match httparse::Response::new(&mut fields).parse(buf) {
        Ok(httparse::Status::Complete(n)) => Some(n),
        _ => None,
    }
}

fn assert_well_formed(head: &ResponseHead) {
    assert!(head.status <= 999, "status {}", head.status);
    assert!(
        clean_value(head.reason.as_bytes()),
        "reason {:?}",
        head.reason
    );
    for h in &head.headers {
        assert!(rfc_token(&h.name), "name {:?}", h.name);
        assert!(clean_value(&h.value), "value {:?}", h.value);
        assert_eq!(trimmed(&h.value), h.value.as_slice(), "untrimmed");
    }
}

fuzz_target!(|data: &[u8]| {
    let whole = parse_response(data, DEFAULT_MAX_HEADERS);
    if let Ok(head) = &whole {
        assert_well_formed(head);
    }
    match (&whole, head_end(data)) {
        (Ok(head), Some(end)) => {
            assert_eq!(
                httparse_end(data),
                Some(end),
                "httparse's end vs the scanner's"
            );
            assert_eq!(
                parse_response(&data[..end], DEFAULT_MAX_HEADERS).as_ref(),
                Ok(head)
            );
            let n = head.headers.len();
            assert_eq!(parse_response(&data[..end], n).as_ref(), Ok(head));
            if n > 0 {
                assert_eq!(
                    parse_response(&data[..end], n - 1),
                    Err(ProtoError::TooManyHeaders)
                );
            }
        }
        (Ok(_), None) => panic!("httparse found a complete head the scanner did not"),
        (Err(_), Some(end)) => {
            let alone = parse_response(&data[..end], DEFAULT_MAX_HEADERS);
            assert!(alone.is_err(), "the head alone parses: {alone:?}");
            assert_ne!(alone, Err(ProtoError::Malformed("incomplete head")));
        }
        (Err(_), None) => {}
    }
});
