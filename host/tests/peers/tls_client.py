"""A TLS client for the host's server-side TLS tests (Python's `ssl`, not our code): it
connects, checks the server's certificate against --ca for --server-name, sends a request
head asking for `Upgrade: tcp` with the --early bytes in the same write, reads the answer's
head, expects the early bytes echoed, sends --then and expects it echoed, then sends its
`close_notify` and reads until the server's.

Prints one JSON object on stdout and exits 0:

  {"head": "...", "echo": "...", "eof": "close_notify" | "unclean: ..."}
  {"error": "..."}   the handshake or the exchange failed (the test asserts which)

Options: --port P (on 127.0.0.1), --ca PEM, --server-name NAME (default localhost),
--early TEXT, --then TEXT.
"""

import argparse
import json
import socket
import ssl

LIMIT = 20.0


def read_head(tls):
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = tls.recv(1)
        if not chunk:
            raise EOFError("closed inside the answer's head: %r" % head)
        head += chunk
    return head


def read_exactly(tls, n):
    got = b""
    while len(got) < n:
        chunk = tls.recv(n - len(got))
        if not chunk:
            raise EOFError("closed after %r of the echo" % got)
        got += chunk
    return got


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--ca", required=True)
    p.add_argument("--server-name", default="localhost")
    p.add_argument("--early", default="early")
    p.add_argument("--then", default="then")
    a = p.parse_args()
    ctx = ssl.create_default_context(cafile=a.ca)
    early, then = a.early.encode(), a.then.encode()
    result = {}
    try:
        raw = socket.create_connection(("127.0.0.1", a.port), timeout=LIMIT)
        with ctx.wrap_socket(raw, server_hostname=a.server_name) as tls:
            request = (
                "GET /tls HTTP/1.1\r\nHost: %s:%d\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n"
                % (a.server_name, a.port)
            ).encode()
            tls.sendall(request + early)
            result["head"] = read_head(tls).decode("latin-1")
            echo = read_exactly(tls, len(early))
            tls.sendall(then)
            echo += read_exactly(tls, len(then))
            result["echo"] = echo.decode("latin-1")
            try:
                tls.unwrap()
                result["eof"] = "close_notify"
            except (ssl.SSLError, OSError) as e:
                result["eof"] = "unclean: %s" % e
    except (ssl.SSLError, OSError, EOFError) as e:
        result["error"] = "%s: %s" % (type(e).__name__, e)
    print(json.dumps(result), flush=True)


main()
