//! Command-line parsing (no HTTP here: a URL is split into authority and target only).

use anyhow::{Context, bail};
use std::net::SocketAddr;

/// What to run.
pub enum Command {
    Help,
    Dial(Dial),
    Serve(Serve),
    Demo,
}

/// `hijack dial`.
pub struct Dial {
    pub host: String,
    pub port: u16,
    pub target: String,
    pub method: String,
    pub headers: Vec<(String, String)>,
    pub data: Option<String>,
    pub upgrade: String,
    pub head_timeout_ms: Option<u64>,
    pub max_head_bytes: Option<u32>,
}

impl Dial {
    /// `host:port`, with brackets around an IPv6 literal.
    pub fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// What `serve` does with a hijacked connection.
pub enum Action {
    Echo,
    Exec(Vec<String>),
}

/// `hijack serve`.
pub struct Serve {
    pub listen: SocketAddr,
    pub upgrades: Vec<String>,
    pub action: Action,
}

pub fn parse(argv: &[String]) -> anyhow::Result<Command> {
    match argv.first().map(String::as_str) {
        None | Some("-h" | "--help" | "help") => Ok(Command::Help),
        Some("dial") => parse_dial(&argv[1..]).map(Command::Dial),
        Some("serve") => parse_serve(&argv[1..]).map(Command::Serve),
        Some("demo") if argv.len() == 1 => Ok(Command::Demo),
        Some(other) => bail!("unknown command {other:?}"),
    }
}

fn value<'a>(it: &mut impl Iterator<Item = &'a String>, flag: &str) -> anyhow::Result<&'a String> {
    it.next().with_context(|| format!("{flag} needs a value"))
}

fn parse_dial(argv: &[String]) -> anyhow::Result<Dial> {
    let mut url = None;
    let mut method = None;
    let mut headers = Vec::new();
    let mut data = None;
    let mut upgrade = "tcp".to_string();
    let mut head_timeout_ms = None;
    let mut max_head_bytes = None;
    let mut it = argv.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--method" | "-X" => method = Some(value(&mut it, arg)?.clone()),
            "-H" | "--header" => {
                let h = value(&mut it, arg)?;
                let (name, v) = h
                    .split_once(':')
                    .with_context(|| format!("header {h:?} is not 'Name: value'"))?;
                headers.push((name.trim().to_string(), v.trim_start().to_string()));
            }
            "--data" | "-d" => data = Some(value(&mut it, arg)?.clone()),
            "--upgrade" => upgrade = value(&mut it, arg)?.clone(),
            "--head-timeout" => {
                head_timeout_ms = Some(
                    value(&mut it, arg)?
                        .parse()
                        .context("--head-timeout: milliseconds")?,
                )
            }
            "--max-head-bytes" => {
                max_head_bytes = Some(
                    value(&mut it, arg)?
                        .parse()
                        .context("--max-head-bytes: a number")?,
                )
            }
            flag if flag.starts_with('-') => bail!("dial: unknown flag {flag:?}"),
            _ if url.is_none() => url = Some(arg.clone()),
            extra => bail!("dial: unexpected argument {extra:?}"),
        }
    }
    let url = url.context("dial needs a URL")?;
    let (host, port, target) = split_url(&url)?;
    Ok(Dial {
        host,
        port,
        target,
        method: method.unwrap_or_else(|| if data.is_some() { "POST" } else { "GET" }.into()),
        headers,
        data,
        upgrade,
        head_timeout_ms,
        max_head_bytes,
    })
}

/// `http://host[:port][/path?query]` into host, port (default 80) and target (default `/`).
fn split_url(url: &str) -> anyhow::Result<(String, u16, String)> {
    let rest = url
        .strip_prefix("http://")
        .with_context(|| format!("URL {url:?}: only http:// URLs are supported"))?;
    let (authority, target) = match rest.find(['/', '?']) {
        Some(i) if rest.as_bytes()[i] == b'/' => (&rest[..i], rest[i..].to_string()),
        Some(i) => (&rest[..i], format!("/{}", &rest[i..])),
        None => (rest, "/".to_string()),
    };
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (host, after) = v6
            .split_once(']')
            .with_context(|| format!("URL {url:?}: unclosed '['"))?;
        (host, after.strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        bail!("URL {url:?}: no host");
    }
    let port = match port {
        Some(p) => p
            .parse()
            .with_context(|| format!("URL {url:?}: bad port {p:?}"))?,
        None => 80,
    };
    Ok((host.to_string(), port, target))
}

fn parse_serve(argv: &[String]) -> anyhow::Result<Serve> {
    let mut listen = None;
    let mut upgrades = Vec::new();
    let mut action = None;
    let mut it = argv.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--listen" => {
                let v = value(&mut it, arg)?;
                listen = Some(
                    v.parse()
                        .with_context(|| format!("--listen {v:?}: expected IP:PORT"))?,
                );
            }
            "--upgrade" => upgrades.push(value(&mut it, arg)?.clone()),
            "--echo" => action = Some(Action::Echo),
            "--exec" => {
                let cmd: Vec<String> = it.by_ref().cloned().collect();
                if cmd.is_empty() {
                    bail!("--exec needs a command");
                }
                action = Some(Action::Exec(cmd));
            }
            other => bail!("serve: unexpected argument {other:?}"),
        }
    }
    if upgrades.is_empty() {
        upgrades.push("tcp".into());
    }
    Ok(Serve {
        listen: listen.context("serve needs --listen IP:PORT")?,
        upgrades,
        action: action.context("serve needs --echo or --exec CMD")?,
    })
}

#[cfg(test)]
mod tests {
    use super::split_url;

    #[test]
    fn urls_split_into_authority_and_target() {
        let cases = [
            (
                "http://127.0.0.1:2375/containers/x/attach?stream=1",
                ("127.0.0.1", 2375, "/containers/x/attach?stream=1"),
            ),
            ("http://localhost", ("localhost", 80, "/")),
            ("http://[::1]:8080/a", ("::1", 8080, "/a")),
            ("http://h:1?q=1", ("h", 1, "/?q=1")),
        ];
        for (url, (host, port, target)) in cases {
            let got = split_url(url).unwrap();
            assert_eq!(got, (host.to_string(), port, target.to_string()), "{url}");
        }
        assert!(split_url("https://x:1/").is_err());
        assert!(split_url("http://:1/").is_err());
        assert!(split_url("http://x:99999/").is_err());
    }
}
