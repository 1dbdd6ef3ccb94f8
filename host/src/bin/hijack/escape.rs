//! Untrusted text made safe to show on a terminal: a request target, a reason phrase, a header
//! value, a refused response's body.
//!
//! Nothing that could steer the terminal or hide what is shown passes: ESC and every other
//! control byte, C1 controls, bidi controls (Trojan Source) and the other invisible format
//! characters are written as escapes, as are bytes that are not UTF-8. Printable ASCII and the
//! rest of valid UTF-8 pass unchanged. The escapes are `\xNN` for a byte (C0, DEL, or a byte of
//! invalid UTF-8), `\u{XXXX}` for a code point, and `\n`, `\r`, `\t` for those three.
//!
//! This module only escapes: it does not truncate, decide what to show, or write anywhere.
//! A backslash passes as it is, so an escape in the output may also be literal input text.

use std::fmt::Write as _;

/// Escapes `bytes` for one line of output (a log field): line breaks and tabs are escaped too.
pub fn escape(bytes: &[u8]) -> String {
    escape_with(bytes, false)
}

/// Escapes `bytes` for a multi-line block (a body): `\n` and `\t` pass, and so does a `\r`
/// right before a `\n` (CRLF lines: the carriage return overwrites nothing); any other `\r`
/// is escaped.
pub fn escape_multiline(bytes: &[u8]) -> String {
    escape_with(bytes, true)
}

fn escape_with(bytes: &[u8], multiline: bool) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        let mut chars = chunk.valid().chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\n' | '\t' if multiline => out.push(c),
                '\r' if multiline && chars.peek() == Some(&'\n') => out.push(c),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                ' '..='~' => out.push(c),
                // C0 and DEL (ESC among them): as the byte.
                '\0'..='\u{7f}' => push_byte(&mut out, c as u8),
                c if c.is_control() || is_hidden(c) => {
                    let _ = write!(out, "\\u{{{:04X}}}", u32::from(c));
                }
                c => out.push(c),
            }
        }
        for &byte in chunk.invalid() {
            push_byte(&mut out, byte);
        }
    }
    out
}

fn push_byte(out: &mut String, byte: u8) {
    let _ = write!(out, "\\x{byte:02X}");
}

/// Format characters (Unicode category Cf: bidi controls, zero-width characters, tags and
/// the like) and the line and paragraph separators: invisible, or able to reorder or hide
/// what surrounds them.
fn is_hidden(c: char) -> bool {
    const HIDDEN: &[(u32, u32)] = &[
        (0x00AD, 0x00AD),   // soft hyphen
        (0x0600, 0x0605),   // Arabic number signs
        (0x061C, 0x061C),   // Arabic letter mark (bidi)
        (0x06DD, 0x06DD),   // Arabic end of ayah
        (0x070F, 0x070F),   // Syriac abbreviation mark
        (0x0890, 0x0891),   // Arabic pound and piastre marks above
        (0x08E2, 0x08E2),   // Arabic disputed end of ayah
        (0x180E, 0x180E),   // Mongolian vowel separator
        (0x200B, 0x200F),   // zero-width space, non-joiner, joiner; LRM, RLM (bidi)
        (0x2028, 0x2029),   // line and paragraph separators
        (0x202A, 0x202E),   // LRE, RLE, PDF, LRO, RLO (bidi)
        (0x2060, 0x2064),   // word joiner, invisible operators
        (0x2066, 0x206F),   // LRI, RLI, FSI, PDI (bidi); deprecated format characters
        (0xFEFF, 0xFEFF),   // zero-width no-break space (BOM)
        (0xFFF9, 0xFFFB),   // interlinear annotation
        (0x110BD, 0x110BD), // Kaithi number sign
        (0x110CD, 0x110CD), // Kaithi number sign above
        (0x13430, 0x1343F), // Egyptian hieroglyph format controls
        (0x1BCA0, 0x1BCA3), // shorthand format controls
        (0x1D173, 0x1D17A), // musical symbol format controls
        (0xE0001, 0xE0001), // language tag
        (0xE0020, 0xE007F), // tag characters
    ];
    let c = u32::from(c);
    HIDDEN.iter().any(|&(lo, hi)| (lo..=hi).contains(&c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_unchanged() {
        for text in [
            "",
            "GET /containers/x/attach?stream=1&stdin=1 HTTP/1.1",
            "Switching Protocols",
            "a \\ backslash, \"quotes\", 'and' ~{}|",
            "héllo wörld, 日本語, Ελληνικά, עברית, 🙂",
        ] {
            assert_eq!(escape(text.as_bytes()), text);
            assert_eq!(escape_multiline(text.as_bytes()), text);
        }
    }

    #[test]
    fn ansi_escape_sequences_never_pass() {
        let attacks: [&[u8]; 5] = [
            b"\x1b[31mred\x1b[0m",
            b"\x1b]0;new title\x07",
            b"\x1b]8;;http://evil/\x1b\\link\x1b]8;;\x1b\\",
            b"\x1bc",
            b"\x9b31m", // a lone C1 CSI byte is not UTF-8
        ];
        for attack in attacks {
            for out in [escape(attack), escape_multiline(attack)] {
                assert!(!out.contains('\x1b'), "{out:?}");
                assert!(!out.chars().any(|c| c.is_control()), "{out:?}");
            }
        }
        assert_eq!(escape(b"\x1b[31mred\x1b[0m"), "\\x1B[31mred\\x1B[0m");
        assert_eq!(escape(b"\x1b]0;t\x07"), "\\x1B]0;t\\x07");
        assert_eq!(escape(b"\x9b31m"), "\\x9B31m");
    }

    #[test]
    fn c0_del_and_c1_controls_are_escaped() {
        assert_eq!(escape(b"\0\x01\x08\x7f"), "\\x00\\x01\\x08\\x7F");
        // C1 as code points (valid UTF-8): U+0085 NEL, U+009B CSI.
        assert_eq!(
            escape("a\u{85}b\u{9b}c".as_bytes()),
            "a\\u{0085}b\\u{009B}c"
        );
        assert_eq!(
            escape_multiline("\u{80}\u{9f}".as_bytes()),
            "\\u{0080}\\u{009F}"
        );
    }

    #[test]
    fn carriage_return_overwrite_tricks() {
        let trick = b"rm -rf /\rls      ";
        assert_eq!(escape(trick), "rm -rf /\\rls      ");
        assert_eq!(escape_multiline(trick), "rm -rf /\\rls      ");
        // Backspaces erase too.
        assert_eq!(
            escape(b"safe\x08\x08\x08\x08evil"),
            "safe\\x08\\x08\\x08\\x08evil"
        );
        // CR at the very end, and CR CR LF: only the CR right before LF passes in a block.
        assert_eq!(escape_multiline(b"a\r"), "a\\r");
        assert_eq!(escape_multiline(b"a\r\r\n"), "a\\r\r\n");
    }

    #[test]
    fn line_breaks_and_tabs_by_mode() {
        let text = b"line one\r\nline\ttwo\n";
        assert_eq!(escape(text), "line one\\r\\nline\\ttwo\\n");
        assert_eq!(escape_multiline(text), "line one\r\nline\ttwo\n");
        // Other separators stay escaped in a block too.
        assert_eq!(escape_multiline(b"a\x0bb\x0cc"), "a\\x0Bb\\x0Cc");
        assert_eq!(
            escape_multiline("a\u{2028}b\u{2029}c".as_bytes()),
            "a\\u{2028}b\\u{2029}c"
        );
    }

    #[test]
    fn bidi_controls_are_escaped() {
        // Trojan Source (CVE-2021-42574): RLO, LRI, PDI, RLI, PDF hide the real order.
        let trojan = "access_level != \"user\u{202E} \u{2066}// Check if admin\u{2069} \u{2066}\"";
        assert_eq!(
            escape(trojan.as_bytes()),
            "access_level != \"user\\u{202E} \\u{2066}// Check if admin\\u{2069} \\u{2066}\""
        );
        for c in ('\u{202A}'..='\u{202E}')
            .chain('\u{2066}'..='\u{2069}')
            .chain(['\u{200E}', '\u{200F}', '\u{061C}'])
        {
            let text = format!("a{c}b");
            let want = format!("a\\u{{{:04X}}}b", u32::from(c));
            assert_eq!(escape(text.as_bytes()), want);
            assert_eq!(escape_multiline(text.as_bytes()), want);
        }
    }

    #[test]
    fn other_invisible_format_characters_are_escaped() {
        let text = "zero\u{200B}width\u{FEFF}bom\u{AD}shy\u{E0041}tag";
        assert_eq!(
            escape(text.as_bytes()),
            "zero\\u{200B}width\\u{FEFF}bom\\u{00AD}shy\\u{E0041}tag"
        );
    }

    #[test]
    fn invalid_utf8_bytes_are_escaped() {
        assert_eq!(escape(b"\xff\xfe"), "\\xFF\\xFE");
        // A truncated sequence, an overlong encoding, a lone continuation byte, a surrogate.
        assert_eq!(escape(b"a\xe6\x97b"), "a\\xE6\\x97b");
        assert_eq!(escape(b"\xc0\xaf"), "\\xC0\\xAF");
        assert_eq!(escape(b"\x80x"), "\\x80x");
        assert_eq!(escape(b"\xed\xa0\x80"), "\\xED\\xA0\\x80");
        // Valid text on both sides survives.
        assert_eq!(escape("é\u{ff}é".as_bytes()), "é\u{ff}é");
        assert_eq!(escape(b"\xc3\xa9\xff\xc3\xa9"), "é\\xFFé");
    }
}
