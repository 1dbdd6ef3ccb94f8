//! `classify` and `judge` on any response head, against every shape of `Ask`: never panic, and
//! each verdict is what the rules say, written out here independently. Above all a `Switched`
//! verdict (the connection is handed over) implies a `101` that names the protocol with
//! `Connection: upgrade` (and the exact `Sec-WebSocket-Accept` when one is expected), a `2xx`
//! to `CONNECT`, or a `200` the caller allowed.
//!
//! Input: a response head, then the tail as fields: `protocol SEP expected-accept`
//! (defaults: `tcp`, and the accept of RFC 6455's sample key). Or `0 status+version
//! (name value)… SEP tail`, a head built from tables of the values the rules care about.

#![no_main]

use fuzz_support::{built_fields, fields, head_and_tail, head_end, text};
use libfuzzer_sys::fuzz_target;
use hijack_proto::client::{Ask, BodyPlan, Verdict, classify, judge, parse_response};
use hijack_proto::{
    DEFAULT_MAX_HEADERS, ResponseHead, has_token, header_list, header_values,
};

/// RFC 6455 §1.3's sample: the accept for `dGhlIHNhbXBsZSBub25jZQ==`.
const SAMPLE_ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

/// RFC 9110 §15.2.2 and §7.8: a `101` switches to `protocol` when every element of `Upgrade`
/// is that protocol (there is at least one) and `Connection` names `upgrade`.
fn names_only(head: &ResponseHead, protocol: &str) -> bool {
    let elements: Vec<&[u8]> = header_list(&head.headers, "upgrade").collect();
    !elements.is_empty()
        && elements
            .iter()
            .all(|e| e.eq_ignore_ascii_case(protocol.as_bytes()))
        && has_token(&head.headers, "connection", "upgrade")
}

/// RFC 9112 §6.3 for a refusal's body, written out.
fn assert_body_plan(head: &ResponseHead, plan: BodyPlan) {
    let te = header_values(&head.headers, "transfer-encoding").count();
    let lengths: Vec<&[u8]> = header_values(&head.headers, "content-length").collect();
    let digits = |v: &[u8]| !v.is_empty() && v.iter().all(u8::is_ascii_digit);
    let length = match lengths.as_slice() {
        [v] if digits(v) => std::str::from_utf8(v).unwrap().parse::<u64>().ok(),
        _ => None,
    };
    let expected = if matches!(head.status, 204 | 304) {
        BodyPlan::None
    } else if te > 0 {
        BodyPlan::AsBuffered
    } else if lengths.is_empty() {
        BodyPlan::UntilClose
    } else {
        match length {
            Some(0) => BodyPlan::None,
            Some(n) => BodyPlan::Length(n),
            None => BodyPlan::AsBuffered,
        }
    };
    assert_eq!(plan, expected, "body plan of {head:?}");
}

fn assert_classify(head: &ResponseHead, protocol: &str) -> Verdict {
    let verdict = classify(head, protocol);
    match (&verdict, head.status) {
        (Verdict::Switched, 101) => assert!(names_only(head, protocol)),
        (Verdict::InvalidSwitch, 101) => assert!(!names_only(head, protocol)),
        (Verdict::Informational, 100..=199) => {}
        (Verdict::Refused(plan), s) if !(100..=199).contains(&s) => assert_body_plan(head, *plan),
        (v, s) => panic!("classify gave {v:?} for status {s}"),
    }
    verdict
}

fn assert_judge(head: &ResponseHead, ask: &Ask<'_>) {
    let verdict = judge(head, ask);
    let expected = match ask {
        Ask::Connect => match head.status {
            200..=299 => Verdict::Switched,
            101 => Verdict::InvalidSwitch,
            100..=199 => Verdict::Informational,
            _ => assert_classify(head, ""),
        },
        Ask::Upgrade {
            protocol,
            websocket_accept,
            allow_200,
        } => match assert_classify(head, protocol) {
            Verdict::Switched => {
                let accepts: Vec<&[u8]> =
                    header_values(&head.headers, "sec-websocket-accept").collect();
                match websocket_accept {
                    Some(want) if accepts != [want.as_bytes()] => Verdict::InvalidSwitch,
                    _ => Verdict::Switched,
                }
            }
            Verdict::Refused(_) if *allow_200 && head.status == 200 => Verdict::Switched,
            other => other,
        },
    };
    assert_eq!(verdict, expected, "judge({ask:?}) of {head:?}");
    // The one promise that matters most, stated on its own.
    if verdict == Verdict::Switched {
        let ok = match ask {
            Ask::Connect => (200..=299).contains(&head.status),
            Ask::Upgrade {
                protocol,
                allow_200,
                ..
            } => {
                (head.status == 101 && names_only(head, protocol))
                    || (*allow_200 && head.status == 200)
            }
        };
        assert!(ok, "switched on {head:?} for {ask:?}");
    }
}

/// A response head from a spec: status and version, then the fields.
fn build(spec: &[u8]) -> String {
    const STATUSES: &[u16] = &[
        101, 200, 100, 103, 199, 201, 204, 299, 304, 400, 426, 500, 0,
    ];
    let s = spec.first().copied().unwrap_or(0);
    let version = if s & 0x80 == 0 { "1.1" } else { "1.0" };
    format!(
        "HTTP/{version} {:03} R\r\n{}\r\n",
        STATUSES[usize::from(s & 0x7f) % STATUSES.len()],
        built_fields(spec.get(1..).unwrap_or_default())
    )
}

fuzz_target!(|data: &[u8]| {
    let Some((wire, tail)) = head_and_tail(data, build) else {
        return;
    };
    assert_eq!(head_end(&wire), Some(wire.len()));
    let Ok(head) = parse_response(&wire, DEFAULT_MAX_HEADERS) else {
        return;
    };
    let tail = fields(tail);
    let protocol = match tail.first() {
        Some(p) if !p.is_empty() => text(p),
        _ => "tcp".to_owned(),
    };
    let accept = tail.get(1).map_or(SAMPLE_ACCEPT.to_owned(), |a| text(a));
    assert_judge(&head, &Ask::Connect);
    for allow_200 in [false, true] {
        for websocket_accept in [None, Some(accept.clone())] {
            assert_judge(
                &head,
                &Ask::Upgrade {
                    protocol: &protocol,
                    websocket_accept,
                    allow_200,
                },
            );
        }
    }
    // The head's own protocol, so the switch path is reached without the fuzzer guessing it.
    if let Some(own) = header_list(&head.headers, "upgrade").next() {
        let own = text(own);
        assert_judge(
            &head,
            &Ask::Upgrade {
                protocol: &own,
                websocket_accept: None,
                allow_200: false,
            },
        );
    }
});
