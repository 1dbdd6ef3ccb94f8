//! `decide` on any parsed request head, then the answers a server builds from the `Offer`.
//!
//! - An `Offer` only for a head that keeps every rule (one `Host`, sound framing, `Expect`,
//!   `CONNECT` authority, WebSocket handshake), and what it offers is what the head says.
//! - A `Reject` only for a head that breaks a rule of its kind, and its answer is one complete
//!   response with the right status and `Connection: close`.
//! - `Offer::switch`, `Offer::tunnel` and `encode_switch` for a fuzzer-chosen protocol and
//!   fields: refused as invalid input only when the input is invalid, otherwise bytes that
//!   parse back (after `100 Continue` when the client asked) as the `101` or `200` with
//!   exactly the fields asked for — nothing injected — that the client then accepts.
//!
//! Input: a request head, then the tail as fields: `protocol SEP name NV value SEP …`
//! (no protocol: the first one offered). Or `0 method target+version (name value)… SEP tail`,
//! a head built from tables of the values the rules care about (`built_fields`).

#![no_main]

use fuzz_support::{
    assert_fields, built_fields, field, fields, head_and_tail, head_end, headers, parse_responses,
    text,
};
use libfuzzer_sys::fuzz_target;
use hijack_proto::client::{Ask, Verdict, classify, judge};
use hijack_proto::server::{
    CONTINUE, Decision, Offer, Reject, decide, encode_switch, parse_request, upgrade_protocols,
};
use hijack_proto::validate::{self, SWITCH_OWNED, TUNNEL_OWNED};
use hijack_proto::{
    DEFAULT_MAX_HEADERS, Header, ProtoError, RequestHead, parse_authority, websocket,
};

/// The values of every field named `name`.
fn values<'a>(head: &'a RequestHead, name: &str) -> Vec<&'a [u8]> {
    head.headers
        .iter()
        .filter(|h| h.name.eq_ignore_ascii_case(name))
        .map(|h| h.value.as_slice())
        .collect()
}

/// Comma-separated elements, trimmed, with empty ones kept (`keep_empty`) or dropped.
fn elements<'a>(values: &[&'a [u8]], keep_empty: bool) -> Vec<&'a [u8]> {
    values
        .iter()
        .flat_map(|v| v.split(|&b| b == b','))
        .map(fuzz_support::trimmed)
        .filter(|e| keep_empty || !e.is_empty())
        .collect()
}

fn is(e: &[u8], token: &str) -> bool {
    e.eq_ignore_ascii_case(token.as_bytes())
}

/// Every rule of `decide`, each written out on its own: which ones does `head` break?
#[derive(Debug, Default)]
struct Broken {
    host: bool,
    framing: bool,
    unknown_coding: bool,
    expectation: bool,
    connect: bool,
    websocket: bool,
    websocket_version: bool,
}

fn broken(head: &RequestHead) -> Broken {
    let http11 = head.version == 1;
    let te = elements(&values(head, "transfer-encoding"), false);
    let has_te = !values(head, "transfer-encoding").is_empty();
    let lengths = elements(&values(head, "content-length"), true);
    const KNOWN: &[&str] = &[
        "chunked",
        "gzip",
        "x-gzip",
        "deflate",
        "compress",
        "x-compress",
    ];
    let unknown_coding = has_te && te.iter().any(|c| !KNOWN.iter().any(|k| is(c, k)));
    let chunked_last_once = te.iter().filter(|c| is(c, "chunked")).count() == 1
        && te.last().is_some_and(|c| is(c, "chunked"));
    let length = |e: &[u8]| {
        (!e.is_empty() && e.iter().all(u8::is_ascii_digit))
            .then(|| std::str::from_utf8(e).unwrap().parse::<u64>().ok())
            .flatten()
    };
    let bad_lengths = lengths.iter().any(|e| length(e).is_none())
        || lengths.windows(2).any(|w| length(w[0]) != length(w[1]));
    let framing = (has_te && (!http11 || !values(head, "content-length").is_empty()))
        || (has_te && !unknown_coding && !chunked_last_once)
        || bad_lengths;
    let connect = head.method == "CONNECT";
    let upgrade_on = http11
        && elements(&values(head, "connection"), false)
            .iter()
            .any(|e| is(e, "upgrade"));
    let websocket_offered = !connect
        && upgrade_on
        && elements(&values(head, "upgrade"), false)
            .iter()
            .any(|e| is(e, "websocket"));
    let versions = elements(&values(head, "sec-websocket-version"), false);
    let keys = values(head, "sec-websocket-key");
    Broken {
        host: http11 && values(head, "host").len() != 1,
        framing,
        unknown_coding: has_te && unknown_coding,
        expectation: http11
            && values(head, "expect")
                .iter()
                .any(|v| !is(fuzz_support::trimmed(v), "100-continue")),
        connect: connect && parse_authority(&head.target).is_err(),
        websocket: websocket_offered
            && (head.method != "GET"
                || versions.is_empty()
                || keys.len() != 1
                || !websocket::is_valid_key(keys[0])),
        websocket_version: websocket_offered && !versions.is_empty() && versions != [b"13"],
    }
}

fn assert_offer(head: &RequestHead, offer: &Offer) {
    let b = broken(head);
    assert!(
        !(b.host || b.framing || b.unknown_coding || b.expectation || b.connect)
            && !(b.websocket || b.websocket_version),
        "offered despite {b:?}: {head:?}"
    );
    let connect = head.method == "CONNECT";
    assert_eq!(
        offer.connect.as_deref(),
        connect.then_some(head.target.as_str())
    );
    let protocols = if connect {
        Vec::new()
    } else {
        upgrade_protocols(head)
    };
    assert_eq!(offer.protocols, protocols);
    if head.version == 0 {
        assert!(offer.protocols.is_empty() && !offer.expect_continue);
    }
    assert_eq!(
        offer.expect_continue,
        head.version == 1 && !values(head, "expect").is_empty()
    );
    let websocket = offer.protocols.iter().any(|p| websocket::is_websocket(p));
    let key = values(head, "sec-websocket-key")
        .first()
        .map(|k| k.to_vec());
    assert_eq!(offer.websocket_key, if websocket { key } else { None });
}

fn assert_reject(head: &RequestHead, reject: Reject) {
    let b = broken(head);
    let (justified, status) = match reject {
        Reject::BadRequest(_) => (b.host || b.framing || b.connect || b.websocket, 400),
        Reject::NotImplemented(_) => (b.unknown_coding, 501),
        Reject::ExpectationFailed => (b.expectation, 417),
        Reject::WebSocketVersion => (b.websocket_version, 426),
    };
    assert!(justified, "{reject:?} without a reason ({b:?}): {head:?}");
    assert!(!reject.reason().is_empty());
    let answer = &parse_responses(reject.answer(), 1, b"")[0];
    assert_eq!(answer.status, status);
    let close = answer
        .headers
        .iter()
        .any(|h| h.name.eq_ignore_ascii_case("connection") && is(&h.value, "close"));
    assert!(close, "{reject:?} does not close");
}

/// The `101` of a switch to `protocol` with `owned` then the caller's fields.
fn assert_switch(bytes: &[u8], protocol: &str, owned: &[Header], caller: &[Header], cont: bool) {
    let heads = parse_responses(bytes, 1 + usize::from(cont), b"");
    if cont {
        assert!(bytes.starts_with(CONTINUE));
        assert_eq!(heads[0].status, 100);
    }
    let switch = heads.last().unwrap();
    assert_eq!(switch.status, 101);
    let mut want = vec![field("Connection", "Upgrade"), field("Upgrade", protocol)];
    want.extend_from_slice(owned);
    want.extend_from_slice(caller);
    assert_fields(&switch.headers, &want);
    // The client that asked for this protocol takes it.
    assert_eq!(classify(switch, protocol), Verdict::Switched);
}

/// A request head from a spec: method, target and version, then the fields.
fn build(spec: &[u8]) -> String {
    const METHODS: &[&str] = &["GET", "POST", "CONNECT", "PUT", "connect"];
    const TARGETS: &[&str] = &["/x", "example.com:443", "[::1]:80", "example.com", "*"];
    let m = usize::from(spec.first().copied().unwrap_or(0));
    let t = spec.get(1).copied().unwrap_or(0);
    let version = if t & 0x80 == 0 { "1.1" } else { "1.0" };
    format!(
        "{} {} HTTP/{version}\r\n{}\r\n",
        METHODS[m % METHODS.len()],
        TARGETS[usize::from(t & 0x7f) % TARGETS.len()],
        built_fields(spec.get(2..).unwrap_or_default())
    )
}

fuzz_target!(|data: &[u8]| {
    let Some((wire, tail)) = head_and_tail(data, build) else {
        return;
    };
    assert_eq!(head_end(&wire), Some(wire.len()));
    let Ok(head) = parse_request(&wire, DEFAULT_MAX_HEADERS) else {
        return;
    };
    let offer = match decide(&head) {
        Decision::Reject(reject) => return assert_reject(&head, reject),
        Decision::Offer(offer) => offer,
    };
    assert_offer(&head, &offer);

    let tail = fields(tail);
    let protocol = match tail.first() {
        Some(p) if !p.is_empty() => text(p),
        _ => offer.protocols.first().cloned().unwrap_or_default(),
    };
    let caller = headers(tail.get(1..).unwrap_or_default());
    let offered = offer
        .protocols
        .iter()
        .any(|p| p.eq_ignore_ascii_case(&protocol));
    let valid_protocol = validate::protocol(&protocol).is_ok();
    let switch_fields_ok = validate::headers(&caller, SWITCH_OWNED).is_ok();
    let tunnel_fields_ok = validate::headers(&caller, TUNNEL_OWNED).is_ok();

    // The switch, as the component answers it.
    match offer.switch(&protocol, &caller) {
        Ok(bytes) => {
            assert!(offer.connect.is_none() && valid_protocol && offered && switch_fields_ok);
            let key = offer.websocket_key.as_deref();
            let owned: Vec<Header> = match key {
                Some(key) if websocket::is_websocket(&protocol) => {
                    vec![field("Sec-WebSocket-Accept", websocket::accept(key))]
                }
                _ => Vec::new(),
            };
            assert_switch(&bytes, &protocol, &owned, &caller, offer.expect_continue);
            if let (Some(key), false) = (key, owned.is_empty()) {
                let switch = parse_responses(&bytes, 1 + usize::from(offer.expect_continue), b"");
                let ask = Ask::Upgrade {
                    protocol: &protocol,
                    websocket_accept: Some(websocket::accept(key)),
                    allow_200: false,
                };
                assert_eq!(judge(switch.last().unwrap(), &ask), Verdict::Switched);
            }
        }
        Err(ProtoError::InvalidInput(_)) => {
            assert!(
                offer.connect.is_some() || !valid_protocol || !offered || !switch_fields_ok,
                "switch to {protocol:?} refused for {offer:?} with {caller:?}"
            );
        }
        Err(e) => panic!("switch: {e:?}"),
    }

    // The same `101` without the component's fields.
    match encode_switch(&protocol, &offer.protocols, &caller) {
        Ok(bytes) => {
            assert!(valid_protocol && offered && switch_fields_ok);
            assert_switch(&bytes, &protocol, &[], &caller, false);
        }
        Err(ProtoError::InvalidInput(_)) => {
            assert!(!valid_protocol || !offered || !switch_fields_ok);
        }
        Err(e) => panic!("encode_switch: {e:?}"),
    }

    // The tunnel.
    match offer.tunnel(&caller) {
        Ok(bytes) => {
            assert!(offer.connect.is_some() && tunnel_fields_ok);
            let heads = parse_responses(&bytes, 1 + usize::from(offer.expect_continue), b"");
            let ok = heads.last().unwrap();
            assert_eq!(ok.status, 200);
            assert_fields(&ok.headers, &caller);
            assert_eq!(judge(ok, &Ask::Connect), Verdict::Switched);
        }
        Err(ProtoError::InvalidInput(_)) => {
            assert!(offer.connect.is_none() || !tunnel_fields_ok);
        }
        Err(e) => panic!("tunnel: {e:?}"),
    }
});
