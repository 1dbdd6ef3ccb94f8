//! `parse_response` on any bytes: never panics; what it accepts is well-formed; and the way
//! the client uses it (scan for the end, parse exactly that head, hand the rest over as
//! `buffered`) agrees with httparse on where the head ends: after a `101`, not one byte of the
//! new protocol is lost or taken for the head.
//!
//! Input: raw bytes (a head, maybe a tail). Seeds: response heads.

#![no_main]

use fuzz_support::{check_head_use, clean_value, rfc_token, trimmed};
use libfuzzer_sys::fuzz_target;
use hijack_proto::client::parse_response;
use hijack_proto::{DEFAULT_MAX_HEADERS, ResponseHead};

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
    check_head_use(data, &whole, httparse_end(data), parse_response, |h| {
        h.headers.len()
    });
});
