//! The commands' surface: help and version on stdout, usage errors clap's with exit 2, and
//! `demo` (both sides of a hijack in one process).

use super::{hijack, stdout_of, text};

#[test]
fn help_names_the_commands_and_their_flags() {
    for args in [&["--help"][..], &["-h"], &["help"]] {
        let got = stdout_of(args);
        assert!(got.contains("Usage: hijack"), "{args:?}: {got}");
        for word in ["dial", "serve", "demo", "--help", "--version"] {
            assert!(got.contains(word), "{args:?} lacks {word}: {got}");
        }
    }
    let got = stdout_of(&["--help"]);
    assert!(
        got.contains("1 when `dial`'s peer answered but did not switch"),
        "{got}"
    );

    for args in [&["dial", "--help"][..], &["help", "dial"]] {
        let got = stdout_of(args);
        assert!(got.contains("Usage: hijack dial"), "{args:?}: {got}");
        for word in [
            "<URL>",
            "-X, --method <M>",
            "-H, --header <Name: value>",
            "-d, --data <STRING>",
            "--json <DATA>",
            "--cacert <FILE>",
            "-x, --proxy <URL>",
            "--upgrade <PROTO>",
            "--head-timeout <MS>",
            "--max-head-bytes <N>",
            "[default: tcp]",
        ] {
            assert!(got.contains(word), "{args:?} lacks {word}: {got}");
        }
    }
    let got = stdout_of(&["dial", "--help"]);
    assert!(got.contains("The response head goes to stderr"), "{got}");
    assert!(got.contains("1 if it did not switch"), "{got}");

    for args in [&["serve", "--help"][..], &["serve", "-h"]] {
        let got = stdout_of(args);
        assert!(got.contains("Usage: hijack serve"), "{args:?}: {got}");
        for word in [
            "--listen <ADDR>",
            "--upgrade <PROTO>",
            "--echo",
            "--exec <CMD>...",
            "--tls-cert <FILE>",
            "--tls-key <FILE>",
        ] {
            assert!(got.contains(word), "{args:?} lacks {word}: {got}");
        }
    }
    assert!(stdout_of(&["serve", "--help"]).contains("listening on IP:PORT"));
    assert!(stdout_of(&["demo", "--help"]).contains("Usage: hijack demo"));
}

#[test]
fn version_is_the_crates() {
    let want = format!("hijack {}\n", env!("CARGO_PKG_VERSION"));
    assert_eq!(want, "hijack 0.1.0\n");
    for args in [&["--version"][..], &["-V"]] {
        assert_eq!(stdout_of(args), want, "{args:?}");
    }
}

#[test]
fn usage_errors_are_claps_and_exit_2() {
    for args in [
        &["dial", "http://127.0.0.1:1/", "--no-such-flag"][..],
        &["--no-such-flag"],
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--echo",
            "--no-such-flag",
        ],
    ] {
        let out = hijack(args, b"");
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert_eq!(out.stdout, b"", "{args:?}");
        let err = text(&out.stderr);
        assert!(
            err.starts_with("error: unexpected argument '--no-such-flag'"),
            "{args:?}: {err}"
        );
        assert!(err.contains("Usage: hijack"), "{args:?}: {err}");
    }
    for (args, says) in [
        (
            &["dial", "http://h/", "-H", "no-colon"][..],
            "is not 'Name: value'",
        ),
        (
            &["dial", "ftp://h/"],
            "only http://, https://, ws:// and wss:// URLs are supported",
        ),
        (&["dial"], "<URL>"),
        (&["serve", "--listen", "127.0.0.1:0"], "--echo"),
        (&["serve", "--echo"], "--listen <ADDR>"),
        (&["serve", "--listen", "127.0.0.1:0", "--exec"], "--exec"),
        (&["demo", "extra"], "extra"),
        (&["nope"], "nope"),
    ] {
        let out = hijack(args, b"");
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = text(&out.stderr);
        assert!(err.starts_with("error: "), "{args:?}: {err}");
        assert!(err.contains(says), "{args:?} lacks {says}: {err}");
    }
    // No arguments at all: the usage, on stdout, exit 0 (as before the CLI moved to clap).
    let out = hijack(&[], b"");
    assert_eq!(out.status.code(), Some(0));
    assert!(
        text(&out.stdout).contains("Usage: hijack"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn demo_runs() {
    let out = hijack(&["demo"], b"");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let got = text(&out.stdout);
    assert!(got.contains("client: 101 Switching Protocols"), "{got}");
    assert!(
        got.contains("client: sent and got back: hello over a hijacked connection\n"),
        "{got}"
    );
    assert!(got.ends_with("demo: ok\n"), "{got}");
}
