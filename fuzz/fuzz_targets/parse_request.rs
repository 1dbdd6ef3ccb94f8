//! `parse_request` on any bytes: never panics; what it accepts is well-formed; and the way
//! the component uses it (scan for the end, parse exactly that head, hand over the rest)
//! agrees with httparse on where the head ends, so no byte is dropped or parsed twice.
//!
//! Input: raw bytes (a head, maybe a tail). Seeds: request heads.

#![no_main]

use fuzz_support::{clean_value, head_end, rfc_token};
use libfuzzer_sys::fuzz_target;
use wasi_hijack::proto::server::{parse_request, upgrade_protocols};
use wasi_hijack::proto::{DEFAULT_MAX_HEADERS, ProtoError, RequestHead};

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
    let end = head_end(data);
    match (&whole, end) {
        (Ok(head), Some(end)) => {
            // The component parses only `data[..end]` and hands over `data[end..]`: httparse
            // ends its head at the same byte, and the head alone parses the same.
            assert_eq!(
                httparse_end(data),
                Some(end),
                "httparse's end vs the scanner's"
            );
            assert_eq!(
                parse_request(&data[..end], DEFAULT_MAX_HEADERS).as_ref(),
                Ok(head)
            );
            // The field cap: exactly as many fields as the head has is enough, one fewer is not.
            let n = head.headers.len();
            assert_eq!(parse_request(&data[..end], n).as_ref(), Ok(head));
            if n > 0 {
                assert_eq!(
                    parse_request(&data[..end], n - 1),
                    Err(ProtoError::TooManyHeaders)
                );
            }
        }
        (Ok(_), None) => panic!("httparse found a complete head the scanner did not"),
        (Err(_), Some(end)) => {
            // The head alone is refused too, and for what it holds: not because httparse
            // would want bytes past the end the scanner found.
            let alone = parse_request(&data[..end], DEFAULT_MAX_HEADERS);
            assert!(alone.is_err(), "the head alone parses: {alone:?}");
            assert_ne!(alone, Err(ProtoError::Malformed("incomplete head")));
        }
        (Err(_), None) => {}
    }
});
