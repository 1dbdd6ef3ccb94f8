//! Untrusted text made safe to show on a terminal: a request target, a reason phrase, a header
//! value, a refused response's body.
//!
//! Nothing that could steer the terminal or hide what is shown passes: ESC and every other
//! control byte, C1 controls, bidi controls (Trojan Source), the other invisible format
//! characters and separators are written as escapes, as are bytes that are not UTF-8. Printable
//! ASCII and printable UTF-8 pass unchanged. What counts as printable is std's rule, the one
//! behind `{:?}` (`str::escape_debug`): not a control, format, separator, private-use or
//! unassigned code point. The escapes are `\xNN` for a byte (C0, DEL, or a byte of invalid
//! UTF-8), `\u{XXXX}` for a code point, and `\n`, `\r`, `\t` for those three.
//!
//! One home for the rule: the `hijack` CLI's output and logs and the example components' text
//! answers all escape with it. This module only escapes: it does not truncate, decide what to
//! show, or write anywhere.
//! A backslash passes as it is, so an escape in the output may also be literal input text.

use alloc::string::String;
use core::fmt::Write as _;

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
                // Printable ASCII, quotes and backslash included: Debug escapes those for Rust's
                // literal syntax, which a terminal does not need.
                ' '..='~' => out.push(c),
                // C0 and DEL (ESC among them): as the byte.
                '\0'..='\u{7f}' => push_byte(&mut out, c as u8),
                c if is_printable(c) => out.push(c),
                c => {
                    let _ = write!(out, "\\u{{{:04X}}}", u32::from(c));
                }
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

/// Whether std's Debug escaping leaves `c` as it is when it follows other text.
///
/// Unicode's tables live in std, so they follow its Unicode version and cover every format
/// character (bidi controls, zero-width characters, tags), separator and C1 control without a
/// list of our own. `char::escape_debug` alone would also escape every combining mark (a
/// grapheme extender: the accent of a decomposed "é", a virama, an emoji variation selector),
/// mangling ordinary text; `str::escape_debug` escapes one only at the start of a string, where
/// it has nothing to combine with. So `c` is judged as the second char of a string after a
/// space: one char of output for the space, one for `c` if it passes.
fn is_printable(c: char) -> bool {
    let mut buf = [b' '; 5];
    let len = 1 + c.encode_utf8(&mut buf[1..]).len();
    let Ok(text) = core::str::from_utf8(&buf[..len]) else {
        return false;
    };
    text.escape_debug().count() == 2
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;

    #[test]
    fn plain_text_is_unchanged() {
        for text in [
            "",
            "GET /containers/x/attach?stream=1&stdin=1 HTTP/1.1",
            "Switching Protocols",
            "a \\ backslash, \"quotes\", 'and' ~{}|",
            "héllo wörld, 日本語, Ελληνικά, עברית, 🙂",
            // Combining marks after their base: a decomposed é, a virama, an emoji variation
            // selector and a skin tone.
            "he\u{301}llo, हिन्दी, ❤\u{FE0F}, 👍\u{1F3FD}",
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
    fn lookalike_spaces_and_private_use_are_escaped() {
        // Not a plain space: no-break, ideographic, narrow no-break; then a private-use code
        // point, which shows as whatever the terminal's font puts there.
        assert_eq!(
            escape("a\u{A0}b\u{3000}c\u{202F}d\u{E000}".as_bytes()),
            "a\\u{00A0}b\\u{3000}c\\u{202F}d\\u{E000}"
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
