//! What a request asks of the edge, which upstreams the deployment allows, and the one-line
//! texts it answers with. No WASI here.

/// The environment variable that lists the upstreams a deployment allows (`HOST:PORT`s,
/// separated by commas or white space). Every runtime passes environment variables to a
/// component (`wasmtime serve --env`, Spin's `environment`, a wasmCloud workload's
/// `localResources.environment`), so the same bytes run on each with the upstreams they reach.
pub const UPSTREAMS_VAR: &str = "EDGE_ATTACH_UPSTREAMS";

/// Which upstreams a request may name in `target`. The runtime's own grants apply on top:
/// what is allowed here may still be denied by the runtime (then a `502` says so).
#[derive(Debug, PartialEq, Eq)]
pub enum Upstreams {
    /// No list configured: any `target`.
    Any,
    /// Only these `HOST:PORT`s (the host compared case-insensitively, as DNS does).
    Only(Vec<String>),
}

impl Upstreams {
    /// The list in [`UPSTREAMS_VAR`]'s value. A value with no entry allows nothing: a list
    /// set by mistake to empty must not open every upstream.
    pub fn from_list(value: &str) -> Self {
        let entries = value
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|entry| !entry.is_empty())
            .map(str::to_string)
            .collect();
        Upstreams::Only(entries)
    }

    /// Whether a request may name `authority` as its `target`.
    pub fn allows(&self, authority: &str) -> bool {
        match self {
            Upstreams::Any => true,
            Upstreams::Only(list) => list.iter().any(|a| a.eq_ignore_ascii_case(authority)),
        }
    }
}

/// The request's decision, from its method and its path and query.
#[derive(Debug, PartialEq, Eq)]
pub enum Route {
    /// `GET /attach` with a usable query: hijack `authority` with `POST target`.
    Attach {
        /// The upstream's `HOST:PORT`, from the `target` parameter.
        authority: String,
        /// The request target sent upstream, from the `path` parameter (default `/`).
        target: String,
    },
    /// `/attach` with a missing or invalid query: why, for a `400`.
    BadQuery(String),
    /// `/attach` naming an upstream the deployment does not allow: that `target`, for a `403`.
    Forbidden(String),
    /// `/attach` with a method other than `GET`: a `405`.
    MethodNotAllowed,
    /// Any other path: a `404`.
    NotFound,
}

/// Decide on a request: `is_get` says whether its method is `GET`, `path_with_query` is its
/// target as the runtime gives it (e.g. `/attach?target=127.0.0.1:2375&path=/x`), `upstreams`
/// what the deployment allows.
pub fn route(is_get: bool, path_with_query: &str, upstreams: &Upstreams) -> Route {
    let (path, query) = path_with_query
        .split_once('?')
        .unwrap_or((path_with_query, ""));
    if path != "/attach" {
        return Route::NotFound;
    }
    if !is_get {
        return Route::MethodNotAllowed;
    }
    match attach_query(query) {
        Ok((authority, _)) if !upstreams.allows(&authority) => Route::Forbidden(authority),
        Ok((authority, target)) => Route::Attach { authority, target },
        Err(why) => Route::BadQuery(why),
    }
}

/// `target=HOST:PORT[&path=/p]`, each value percent-decoded; any other or repeated parameter
/// is refused. The hijack component validates the values themselves.
fn attach_query(query: &str) -> Result<(String, String), String> {
    let (mut authority, mut target) = (None, None);
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let name = percent_decode(name).map_err(|why| format!("a query parameter name: {why}"))?;
        let slot = match name.as_str() {
            "target" => &mut authority,
            "path" => &mut target,
            _ => return Err(format!("unknown query parameter {name:?}")),
        };
        if slot.is_some() {
            return Err(format!("query parameter `{name}` given twice"));
        }
        let value =
            percent_decode(value).map_err(|why| format!("query parameter `{name}`: {why}"))?;
        *slot = Some(value);
    }
    let authority = authority
        .filter(|a| !a.is_empty())
        .ok_or("missing query parameter `target` (the upstream's HOST:PORT)")?;
    Ok((authority, target.unwrap_or_else(|| "/".into())))
}

/// Decode `%XX` escapes (`+` stays a `+`); the result must be UTF-8. A `%` not followed by
/// two hex digits is refused, as Go's `url.QueryUnescape` does (the URL standard would keep it
/// as it is, and a value that means something else than it says is worse than an error).
pub fn percent_decode(s: &str) -> Result<String, String> {
    let escapes_ok = s.split('%').skip(1).all(|after| {
        after
            .as_bytes()
            .get(..2)
            .is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit))
    });
    if !escapes_ok {
        return Err("a '%' not followed by two hex digits".into());
    }
    percent_encoding::percent_decode_str(s)
        .decode_utf8()
        .map(|decoded| decoded.into_owned())
        .map_err(|_| "not UTF-8 once percent-decoded".into())
}

/// `text` as one line of a `text/plain` body: what could drive a terminal (controls, bidi
/// and other invisible format characters, which may come from the query or from the
/// upstream's answer) escaped by the core's rule, then `\n`.
pub fn line(text: &str) -> String {
    let mut out = hijack_proto::escape::escape(text.as_bytes());
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(is_get: bool, path_with_query: &str) -> Route {
        super::route(is_get, path_with_query, &Upstreams::Any)
    }

    fn attach(authority: &str, target: &str) -> Route {
        Route::Attach {
            authority: authority.into(),
            target: target.into(),
        }
    }

    #[test]
    fn routes_attach_with_its_query() {
        assert_eq!(
            route(true, "/attach?target=127.0.0.1:2375&path=/p"),
            attach("127.0.0.1:2375", "/p")
        );
        assert_eq!(
            route(true, "/attach?target=daemon.example:2375"),
            attach("daemon.example:2375", "/")
        );
        assert_eq!(
            route(
                true,
                "/attach?path=%2Fcontainers%2Fc1%2Fattach%3Fstream%3D1%26stdout%3D1&target=%5B%3A%3A1%5D:2375&"
            ),
            attach("[::1]:2375", "/containers/c1/attach?stream=1&stdout=1")
        );
    }

    #[test]
    fn refuses_a_missing_or_bad_query() {
        for query in [
            "/attach",
            "/attach?",
            "/attach?target=",
            "/attach?path=/p",
            "/attach?target=a:1&target=b:2",
            "/attach?target=a:1&path=/x&path=/y",
            "/attach?target=a:1&other=1",
            "/attach?target=a:1&path=%2",
            "/attach?target=a:1&path=%zz",
            "/attach?target=a:1&path=%ff",
            "/attach?%=1",
        ] {
            assert!(
                matches!(route(true, query), Route::BadQuery(_)),
                "{query}: {:?}",
                route(true, query)
            );
        }
    }

    #[test]
    fn other_paths_and_methods() {
        assert_eq!(route(true, "/"), Route::NotFound);
        assert_eq!(route(true, "/attach/x?target=a:1"), Route::NotFound);
        assert_eq!(route(true, "/attachx"), Route::NotFound);
        assert_eq!(route(false, "/attach?target=a:1"), Route::MethodNotAllowed);
        assert_eq!(route(false, "/nope"), Route::NotFound);
    }

    #[test]
    fn upstream_lists() {
        let list =
            Upstreams::from_list(" host.wasmcloud.internal:4001,Daemon.Example:2375\n[::1]:9 ,,");
        assert_eq!(
            list,
            Upstreams::Only(vec![
                "host.wasmcloud.internal:4001".into(),
                "Daemon.Example:2375".into(),
                "[::1]:9".into(),
            ])
        );
        for allowed in [
            "host.wasmcloud.internal:4001",
            "daemon.example:2375",
            "[::1]:9",
        ] {
            assert!(list.allows(allowed), "{allowed}");
        }
        for refused in [
            "host.wasmcloud.internal:4002",
            "127.0.0.1:4001",
            "daemon.example",
            "",
        ] {
            assert!(!list.allows(refused), "{refused}");
        }
        for empty in ["", " ", ",", " , \n"] {
            assert_eq!(
                Upstreams::from_list(empty),
                Upstreams::Only(vec![]),
                "{empty:?}"
            );
            assert!(!Upstreams::from_list(empty).allows("a:1"));
        }
        assert!(Upstreams::Any.allows("anything:1"));
    }

    #[test]
    fn an_upstream_off_the_list_is_forbidden_after_the_query_is_checked() {
        let only = Upstreams::from_list("a:1");
        assert_eq!(
            super::route(true, "/attach?target=a:1&path=/p", &only),
            attach("a:1", "/p")
        );
        assert_eq!(
            super::route(true, "/attach?target=b:1&path=/p", &only),
            Route::Forbidden("b:1".into())
        );
        assert_eq!(
            super::route(true, "/attach?target=%62:1", &only),
            Route::Forbidden("b:1".into())
        );
        assert!(matches!(
            super::route(true, "/attach?target=b:1&other=1", &only),
            Route::BadQuery(_)
        ));
        assert_eq!(
            super::route(false, "/attach?target=b:1", &only),
            Route::MethodNotAllowed
        );
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("a%20b+c%2F%2f").unwrap(), "a b+c//");
        assert_eq!(percent_decode("%C3%A9").unwrap(), "é");
        assert_eq!(percent_decode("%0D%0A").unwrap(), "\r\n");
        assert!(percent_decode("%").is_err());
        assert!(percent_decode("%4").is_err());
        assert!(percent_decode("%é1").is_err());
        assert!(percent_decode("%C3").is_err());
    }

    #[test]
    fn lines_escape_what_could_drive_a_terminal() {
        assert_eq!(
            line("upstream answered 404 Not Found"),
            "upstream answered 404 Not Found\n"
        );
        assert_eq!(
            line("a\r\nb\u{1b}[2J\u{202e}c"),
            "a\\r\\nb\\x1B[2J\\u{202E}c\n"
        );
    }
}
