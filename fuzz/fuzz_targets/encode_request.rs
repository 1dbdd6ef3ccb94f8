//! `encode_request` and `encode_request_with` on fuzzer-chosen authority, method, target,
//! protocol, fields and body: either refused as invalid input (and only when some input is
//! invalid), or the bytes parse back with the server's `parse_request` as exactly the
//! caller's request — method, target, `Host` (the caller's own when it gives one), `Connection`/`Upgrade`, the WebSocket fields,
//! the caller's fields in order, `Content-Length` — with the body, and nothing else, after the
//! head: no field, line or request injected. The server's `decide` then offers what was asked.
//!
//! Input: `authority SEP method SEP target SEP upgrade SEP options SEP name NV value SEP …`;
//! `options` is a flags byte (bit 0: a body, the rest of `options`; bit 1: the WebSocket
//! key of a nonce from the rest of `options`, as the component adds it), then bytes.

#![no_main]

use fuzz_support::{
    assert_fields, clean_value, field, fields, head_end, headers, lines, rfc_token, text,
};
use libfuzzer_sys::fuzz_target;
use hijack_proto::client::{
    UpgradeRequest, encode_request, encode_request_with, websocket_fields,
};
use hijack_proto::server::{Decision, decide, parse_request};
use hijack_proto::validate::{self, REQUEST_OWNED};
use hijack_proto::{Header, ProtoError, parse_authority, parse_authority_or, websocket};

/// `token [ "/" token ]`, written out.
fn protocol_ok(p: &str) -> bool {
    match p.split_once('/') {
        Some((name, version)) => rfc_token(name) && rfc_token(version),
        None => rfc_token(p),
    }
}

fuzz_target!(|data: &[u8]| {
    let f = fields(data);
    let get = |i: usize| f.get(i).map_or(String::new(), |b| text(b));
    let (authority, method, target, upgrade) = (get(0), get(1), get(2), get(3));
    let options = f.get(4).copied().unwrap_or_default();
    let flags = options.first().copied().unwrap_or(0);
    let rest = options.get(1..).unwrap_or_default();
    let body = (flags & 1 != 0).then_some(rest);
    let mut nonce = [0u8; 16];
    let n = rest.len().min(16);
    nonce[..n].copy_from_slice(&rest[..n]);
    let key = websocket::key(nonce);
    let owned: Vec<Header> = if flags & 2 != 0 {
        websocket_fields(&key).to_vec()
    } else {
        Vec::new()
    };
    let caller = headers(f.get(5..).unwrap_or_default());
    let req = UpgradeRequest {
        method: &method,
        target: &target,
        upgrade: &upgrade,
        headers: &caller,
        body,
    };
    let connect = req.is_connect();

    // Independent of the owned fields: `encode_request` is `encode_request_with` and none.
    let plain = encode_request(&authority, &req);
    let encoded = encode_request_with(&authority, &req, &owned);
    if owned.is_empty() {
        assert_eq!(plain, encoded);
    } else {
        assert_eq!(plain.is_ok(), encoded.is_ok());
    }

    let bytes = match encoded {
        Ok(bytes) => bytes,
        Err(ProtoError::InvalidInput(_)) => {
            let hosts: Vec<_> = caller
                .iter()
                .filter(|h| h.name.eq_ignore_ascii_case("host"))
                .collect();
            let bad_host = hosts.len() > 1
                || hosts.iter().any(|h| {
                    std::str::from_utf8(&h.value)
                        .map_or(true, |v| parse_authority_or(v, 80).is_err())
                });
            let invalid = parse_authority(&authority).is_err()
                || !rfc_token(&method)
                || validate::headers(&caller, REQUEST_OWNED).is_err()
                || bad_host
                || if connect {
                    parse_authority(&target).is_err() || !upgrade.is_empty() || body.is_some()
                } else {
                    target.is_empty()
                        || !target.bytes().all(|b| b.is_ascii_graphic())
                        || !protocol_ok(&upgrade)
                        || (websocket::is_websocket(&upgrade) && method != "GET")
                };
            assert!(invalid, "refused a valid request: {req:?} to {authority:?}");
            return;
        }
        Err(e) => panic!("encode_request: {e:?}"),
    };

    // Every caller field is clean, or the encoder would have refused it.
    assert!(
        caller
            .iter()
            .all(|h| rfc_token(&h.name) && clean_value(&h.value))
    );

    // The head ends where the caller's request ends; the body, and only it, follows.
    let end = head_end(&bytes).expect("an encoded request is complete");
    assert_eq!(
        &bytes[end..],
        body.unwrap_or_default(),
        "bytes after the head"
    );
    let head =
        parse_request(&bytes[..end], lines(&bytes[..end])).expect("an encoded request parses");
    assert_eq!(head.method, method);
    assert_eq!(head.target, target);
    assert_eq!(head.version, 1);
    let mut want = Vec::new();
    // The caller's own `Host` (at most one, checked above) takes the component's place.
    let caller_host = caller
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("host"))
        .map(|h| String::from_utf8_lossy(&h.value).into_owned());
    let others: Vec<_> = caller
        .iter()
        .filter(|h| !h.name.eq_ignore_ascii_case("host"))
        .cloned()
        .collect();
    if connect {
        want.push(field("Host", caller_host.as_deref().unwrap_or(target.as_str())));
    } else {
        want.push(field("Host", caller_host.as_deref().unwrap_or(authority.as_str())));
        want.push(field("Connection", "Upgrade"));
        want.push(field("Upgrade", upgrade.as_str()));
    }
    want.extend_from_slice(&owned);
    want.extend_from_slice(&others);
    if let (false, Some(body)) = (connect, body) {
        want.push(field("Content-Length", body.len().to_string()));
    }
    assert_fields(&head.headers, &want);

    // A server offers what was asked, unless the caller sent an `Expect` of its own or a
    // WebSocket handshake without its key.
    let expect = caller.iter().any(|h| h.name.eq_ignore_ascii_case("expect"));
    let websocket = !connect && websocket::is_websocket(&upgrade);
    if expect || (websocket && owned.is_empty()) {
        return;
    }
    match decide(&head) {
        Decision::Offer(offer) if connect => {
            assert_eq!(offer.connect.as_deref(), Some(target.as_str()));
            assert!(offer.protocols.is_empty());
        }
        Decision::Offer(offer) => {
            assert_eq!(offer.protocols, [upgrade.as_str()]);
            assert_eq!(offer.connect, None);
            let want_key = websocket.then(|| key.as_bytes().to_vec());
            assert_eq!(offer.websocket_key, want_key);
        }
        Decision::Reject(r) => panic!("the server refused ({}) {head:?}", r.reason()),
    }
});
