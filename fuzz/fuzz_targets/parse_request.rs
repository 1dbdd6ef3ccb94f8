//! `parse_request` on any bytes: never panics; what it accepts is well-formed; and the way
//! the component uses it (scan for the end, parse exactly that head, hand over the rest)
//! agrees with httparse on where the head ends, so no byte is dropped or parsed twice.
//!
//! Input: raw bytes (a head, maybe a tail). Seeds: request heads.

#![no_main]

use fuzz_support::{check_head_use, clean_value, rfc_token};
use libfuzzer_sys::fuzz_target;
use hijack_proto::server::{parse_request, upgrade_protocols};
use hijack_proto::{DEFAULT_MAX_HEADERS, RequestHead};

/// Where httparse says the head ends, with room for every field.
fn httparse_end(buf: &[u8]) -> Option<usize> {
    let mut fields = vec![httparse::EMPTY_HEADER; buf.len() / 2 + 1];
    match httparse::Request::new(&mut fields).parse(buf) {
        Ok(httparse::Status::Complete(n)) => Some(n),
        _ => None,
    }
}

fn assert_well_formed(head: &RequestHead) {
    assert!(rfc_token(&head.method), "method {:?}", head.method);
    assert!(
        !head.target.is_empty() && head.target.bytes().all(|b| b > b' ' && b != 0x7f),
        "target {:?}",
        head.target
    );
    assert!(head.version <= 1);
    for h in &head.headers {
        assert!(rfc_token(&h.name), "name {:?}", h.name);
        assert!(clean_value(&h.value), "value {:?}", h.value);
        assert_eq!(
            fuzz_support::trimmed(&h.value),
            h.value.as_slice(),
            "untrimmed"
        );
    }
    // Offered protocols come from the fields, so they are clean too.
    for p in upgrade_protocols(head) {
        assert!(!p.is_empty() && !p.contains(['\r', '\n', ',']), "{p:?}");
    }
}

fuzz_target!(|data: &[u8]| {
    let whole = parse_request(data, DEFAULT_MAX_HEADERS);
    if let Ok(head) = &whole {
        assert_well_formed(head);
    }
    check_head_use(data, &whole, httparse_end(data), parse_request, |h| {
        h.headers.len()
    });
});
