//! WebSocket frame heads (RFC 6455 §5.2): the RFC's own examples, every length form, the
//! protocol errors, heads in pieces, and masking in pieces.

use hijack_proto::websocket::{FrameError, FrameHead, apply_mask, opcode};

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
