"""A `wss://` echo server on Python's `websockets` for the host's TLS tests.

Usage: wss_echo.py CERT KEY. Prints `listening on 127.0.0.1:PORT`, then echoes every message
on every connection; logs `{"path": "..."}` per connection as a JSON line.
"""

import json
import ssl
import sys

from websockets.sync.server import serve


def echo(ws):
    print(json.dumps({"path": ws.request.path}), flush=True)
    for message in ws:
        ws.send(message)


def main():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(sys.argv[1], sys.argv[2])
    with serve(echo, "127.0.0.1", 0, ssl=ctx) as server:
        print("listening on %s:%d" % server.socket.getsockname(), flush=True)
        server.serve_forever()


if __name__ == "__main__":
    main()
