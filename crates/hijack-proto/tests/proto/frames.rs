//! WebSocket frame heads (RFC 6455 §5.2): the RFC's own examples, every length form, the
//! protocol errors, heads in pieces, and masking in pieces.

use hijack_proto::websocket::{Echo, Flow, FrameError, FrameHead, apply_mask, opcode};

#[test]
fn the_rfcs_examples_parse() {
    // §5.7: a single-frame unmasked text message "Hello", and the masked one.
    let unmasked = [0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f];
    let (head, at) = FrameHead::parse(&unmasked, false).unwrap().unwrap();
    assert_eq!(
        (head.fin, head.opcode, head.mask, head.len, at),
        (true, opcode::TEXT, None, 5, 2)
    );
    let mut masked = [
        0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
    ];
    let (head, at) = FrameHead::parse(&masked, true).unwrap().unwrap();
    assert_eq!(
        (head.mask, head.len, at),
        (Some([0x37, 0xfa, 0x21, 0x3d]), 5, 6)
    );
    // Unmasked in two pieces, as a stream gives it.
    let (a, b) = masked[at..].split_at_mut(2);
    apply_mask(head.mask.unwrap(), 0, a);
    apply_mask(head.mask.unwrap(), 2, b);
    assert_eq!(&masked[at..], b"Hello");
    // A fragmented message's first frame, and an unmasked ping (§5.7).
    let (head, _) = FrameHead::parse(&[0x01, 0x03], false).unwrap().unwrap();
    assert!(!head.fin && head.opcode == opcode::TEXT);
    let (head, _) = FrameHead::parse(&[0x89, 0x05], false).unwrap().unwrap();
    assert!(head.is_control() && head.opcode == opcode::PING);
}

#[test]
fn every_length_form_round_trips_and_parts_wait() {
    for len in [0u64, 1, 125, 126, 0xffff, 0x1_0000, 3 << 20] {
        for mask in [None, Some([1, 2, 3, 4])] {
            let head = FrameHead {
                fin: true,
                opcode: opcode::BINARY,
                mask,
                len,
            };
            let mut bytes = Vec::new();
            head.encode(&mut bytes);
            let from_client = mask.is_some();
            assert_eq!(
                FrameHead::parse(&bytes, from_client),
                Ok(Some((head, bytes.len()))),
                "{len}"
            );
            for cut in 0..bytes.len() {
                assert_eq!(
                    FrameHead::parse(&bytes[..cut], from_client),
                    Ok(None),
                    "{len} {cut}"
                );
            }
        }
    }
}

#[test]
fn protocol_errors_are_refused() {
    let cases: [(&[u8], bool, FrameError); 7] = [
        (&[0xc1, 0x80, 0, 0, 0, 0], true, FrameError::ReservedBits),
        (
            &[0x83, 0x80, 0, 0, 0, 0],
            true,
            FrameError::UnknownOpcode(3),
        ),
        (&[0x81, 0x05], true, FrameError::Masking),
        (&[0x81, 0x85, 0, 0, 0, 0], false, FrameError::Masking),
        (&[0x09, 0x80, 0, 0, 0, 0], true, FrameError::BadControlFrame),
        (&[0x89, 0xfe, 0, 200], true, FrameError::BadControlFrame),
        (&[0x82, 0xfe, 0, 5], true, FrameError::BadLength),
    ];
    for (bytes, from_client, want) in cases {
        assert_eq!(FrameHead::parse(bytes, from_client), Err(want), "{bytes:?}");
    }
    let top_bit = [0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0];
    assert_eq!(FrameHead::parse(&top_bit, true), Err(FrameError::BadLength));
}

/// A client's frame: masked with `mask`, as RFC 6455 §5.3 requires of a client.
fn client_frame(fin: bool, op: u8, payload: &[u8], mask: [u8; 4]) -> Vec<u8> {
    let mut out = Vec::new();
    FrameHead {
        fin,
        opcode: op,
        mask: Some(mask),
        len: payload.len() as u64,
    }
    .encode(&mut out);
    let start = out.len();
    out.extend_from_slice(payload);
    apply_mask(mask, 0, &mut out[start..]);
    out
}

/// A server's frame: unmasked.
fn server_frame(fin: bool, op: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    FrameHead {
        fin,
        opcode: op,
        mask: None,
        len: payload.len() as u64,
    }
    .encode(&mut out);
    out.extend_from_slice(payload);
    out
}

/// Feed `input` to a fresh echo in pieces of `step` bytes, keeping what it did not use, as a
/// server reading a stream does; the answer and the last flow.
fn echo_in_pieces(input: &[u8], step: usize) -> (Vec<u8>, Flow) {
    let mut echo = Echo::new();
    let (mut pending, mut out, mut flow) = (Vec::new(), Vec::new(), Flow::More);
    for piece in input.chunks(step) {
        pending.extend_from_slice(piece);
        let (used, f) = echo.feed(&pending, &mut out);
        pending.drain(..used);
        flow = f;
        if flow != Flow::More {
            break;
        }
    }
    (out, flow)
}

#[test]
fn the_echo_answers_the_same_whatever_the_reads() {
    let big: Vec<u8> = (0..70_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let conversation = [
        client_frame(true, opcode::TEXT, b"Hello", [0x37, 0xfa, 0x21, 0x3d]),
        client_frame(false, opcode::BINARY, &big[..300], [1, 2, 3, 4]),
        client_frame(true, opcode::PING, b"are you there", [9, 8, 7, 6]),
        client_frame(true, opcode::CONTINUATION, &big[300..], [5, 6, 7, 8]),
        client_frame(true, opcode::PONG, b"unsolicited", [1, 1, 1, 1]),
        client_frame(
            true,
            opcode::CLOSE,
            &[0x03, 0xe8, b'b', b'y', b'e'],
            [4, 3, 2, 1],
        ),
        client_frame(true, opcode::TEXT, b"after the close", [0, 0, 0, 0]),
    ]
    .concat();
    let expected = [
        server_frame(true, opcode::TEXT, b"Hello"),
        server_frame(false, opcode::BINARY, &big[..300]),
        server_frame(true, opcode::PONG, b"are you there"),
        server_frame(true, opcode::CONTINUATION, &big[300..]),
        server_frame(true, opcode::CLOSE, &[0x03, 0xe8]),
    ]
    .concat();
    for step in [1, 2, 3, 7, 64, 4096, conversation.len()] {
        let (out, flow) = echo_in_pieces(&conversation, step);
        assert_eq!(flow, Flow::Close, "step {step}");
        assert!(out == expected, "step {step}: the answer differs");
    }
}

#[test]
fn a_frame_a_client_may_not_send_gets_close_1002_with_the_reason() {
    for (input, error) in [
        (
            server_frame(true, opcode::TEXT, b"unmasked"),
            FrameError::Masking,
        ),
        (vec![0x83, 0x80, 0, 0, 0, 0], FrameError::UnknownOpcode(3)),
        (vec![0x09, 0x80, 0, 0, 0, 0], FrameError::BadControlFrame),
    ] {
        let (out, flow) = echo_in_pieces(&input, 1);
        assert_eq!(flow, Flow::Refused(error));
        let mut reason = 1002u16.to_be_bytes().to_vec();
        reason.extend_from_slice(error.to_string().as_bytes());
        assert_eq!(out, server_frame(true, opcode::CLOSE, &reason));
    }
}

#[test]
fn a_close_without_a_code_is_answered_without_one() {
    let input = client_frame(true, opcode::CLOSE, b"", [1, 2, 3, 4]);
    let (out, flow) = echo_in_pieces(&input, 1);
    assert_eq!(flow, Flow::Close);
    assert_eq!(out, server_frame(true, opcode::CLOSE, b""));
}
