//! `encode_response` on fuzzer-chosen status, reason, fields and body: either refused as
//! invalid input (and only when some input is invalid), or one complete response that parses
//! back with the caller's status, reason and fields in order, then `Content-Length` and
//! `Connection: close`, followed by exactly the body; the client reads it as a refusal with
//! a body plan that takes the body and nothing more.
//!
//! Input: `status SEP reason SEP body SEP name NV value SEP …`, the status in decimal digits
//! (taken modulo 65536).

#![no_main]

use fuzz_support::{assert_fields, clean_value, field, fields, headers, parse_response_then, text};
use libfuzzer_sys::fuzz_target;
use hijack_proto::ProtoError;
use hijack_proto::client::{BodyPlan, Verdict, classify};
use hijack_proto::server::encode_response;
use hijack_proto::validate::{self, RESPONSE_OWNED};

fuzz_target!(|data: &[u8]| {
    let f = fields(data);
    let status = f
        .first()
        .copied()
        .unwrap_or_default()
        .iter()
        .fold(0u16, |n, &b| {
            n.wrapping_mul(10)
                .wrapping_add(u16::from(b.wrapping_sub(b'0')))
        });
    let reason = f.get(1).map_or(String::new(), |b| text(b));
    let body = f.get(2).copied().unwrap_or_default();
    let caller = headers(f.get(3..).unwrap_or_default());

    let bytes = match encode_response(status, &reason, &caller, body) {
        Ok(bytes) => bytes,
        Err(ProtoError::InvalidInput(_)) => {
            assert!(
                !(200..=599).contains(&status)
                    || !clean_value(reason.as_bytes())
                    || validate::headers(&caller, RESPONSE_OWNED).is_err(),
                "refused a valid response: {status} {reason:?} {caller:?}"
            );
            return;
        }
        Err(e) => panic!("encode_response: {e:?}"),
    };
    assert!((200..=599).contains(&status));

    let head = parse_response_then(&bytes, body);
    assert_eq!(head.status, status);
    // httparse gives an empty reason for one with obs-text (non-ASCII) in it.
    if reason.is_ascii() {
        assert_eq!(head.reason, reason);
    } else {
        assert_eq!(head.reason, "");
    }
    let mut want = caller.clone();
    want.push(field("Content-Length", body.len().to_string()));
    want.push(field("Connection", "close"));
    assert_fields(&head.headers, &want);

    // The client's reading of it.
    let plan = match classify(&head, "tcp") {
        Verdict::Refused(plan) => plan,
        v => panic!("a final response classified {v:?}"),
    };
    let expected = if matches!(status, 204 | 304) || body.is_empty() {
        BodyPlan::None
    } else {
        BodyPlan::Length(body.len() as u64)
    };
    assert_eq!(plan, expected);
});
