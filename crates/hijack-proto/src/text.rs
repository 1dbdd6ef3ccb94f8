//! The text the core writes into error messages and heads, built by hand: quoted strings as
//! `{:?}` prints them and numbers as `{}` does, put together by [`join`]. Without `format!` the
//! component links neither `str`'s Debug nor `core::fmt`'s writer (issue 9: about 4.5 KB).
//! The unit tests below hold each writer to the text `format!` gives.

use alloc::string::String;

/// `parts` one after another (`concat`, in a plain loop: `concat`'s generic code is larger).
pub(crate) fn join(parts: &[&str]) -> String {
    let mut out = String::with_capacity(parts.iter().map(|p| p.len()).sum());
    for part in parts {
        out.push_str(part);
    }
    out
}

/// `s` as `{:?}` prints a `str`: in double quotes, every char escaped as `char::escape_debug`
/// escapes it, except `'`, which `str`'s Debug leaves as it is.
pub(crate) fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '\'' {
            out.push(c);
        } else {
            out.extend(c.escape_debug());
        }
    }
    out.push('"');
    out
}

/// Strings as `{:?}` prints a slice of them: `["a", "b"]`.
pub(crate) fn quoted_list(list: &[String]) -> String {
    let mut out = String::from("[");
    for (i, s) in list.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(&quoted(s));
    }
    out.push(']');
    out
}

/// A number's decimal digits, as `{}` prints it, in a buffer of its own (no allocation).
pub(crate) struct Decimal {
    digits: [u8; 20],
    start: usize,
}

impl Decimal {
    /// The digits of `n` (at most 20: `u64::MAX` has 20).
    pub(crate) fn new(mut n: u64) -> Self {
        let mut digits = [b'0'; 20];
        let mut start = digits.len();
        for slot in digits.iter_mut().rev() {
            *slot = b'0' + (n % 10) as u8;
            start -= 1;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        Self { digits, start }
    }

    /// The digits as text.
    pub(crate) fn as_str(&self) -> &str {
        // Only ASCII digits are ever written, so this never falls back to the empty string.
        core::str::from_utf8(self.as_bytes()).unwrap_or_default()
    }

    /// The digits as bytes, for a head.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        self.digits.get(self.start..).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::{Decimal, join, quoted, quoted_list};
    use alloc::{format, string::String, vec::Vec};
    use proptest::prelude::*;

    #[test]
    fn quoted_is_debug_on_edge_cases() {
        for s in [
            "",
            "GET",
            "a b",
            "\"'\\",
            "\r\n\t\0\x7f\x1b",
            "\u{301}a\u{301}",
            "\u{200b}\u{feff}é🦀\u{10ffff}",
        ] {
            assert_eq!(quoted(s), format!("{s:?}"));
        }
        let list: Vec<String> = ["tcp", "x\"y", ""].map(String::from).to_vec();
        assert_eq!(quoted_list(&list), format!("{list:?}"));
        assert_eq!(quoted_list(&[]), "[]");
        assert_eq!(join(&[]), "");
        assert_eq!(join(&["a", "", "bc"]), "abc");
    }

    #[test]
    fn decimal_is_display_on_edge_cases() {
        for n in [
            0,
            1,
            9,
            10,
            99,
            100,
            101,
            599,
            65_535,
            u64::from(u32::MAX),
            u64::MAX,
        ] {
            assert_eq!(Decimal::new(n).as_str(), format!("{n}"));
            assert_eq!(Decimal::new(n).as_bytes(), format!("{n}").as_bytes());
        }
    }

    proptest! {
        #[test]
        fn quoted_is_debug(s in any::<String>(), list in prop::collection::vec(any::<String>(), 0..4)) {
            prop_assert_eq!(quoted(&s), format!("{s:?}"));
            prop_assert_eq!(quoted_list(&list), format!("{list:?}"));
        }

        #[test]
        fn decimal_is_display(n in any::<u64>()) {
            let digits = Decimal::new(n);
            prop_assert_eq!(digits.as_str(), format!("{n}"));
        }
    }
}
