"""A unix-socket HTTP server for the host's unix-socket tests (Python's socketserver, not our
code): it answers each request head with a `101` and `early:`, then echoes what it reads in
upper case until the client half-closes, then closes.

Usage: unix_switch.py PATH. Prints `listening on PATH` first, then for each connection one
JSON line {"conn": n, "head": "..."} (the request head, exactly, latin-1), and
{"conn": n, "eof": true} when the client half-closed.
"""

import json
import socketserver
import sys
import threading

SWITCH = b"HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\nearly:"
lock = threading.Lock()
count = [0]


def log(**event):
    with lock:
        print(json.dumps(event), flush=True)


class Switch(socketserver.BaseRequestHandler):
    def handle(self):
        with lock:
            conn = count[0]
            count[0] += 1
        self.request.settimeout(20)
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.request.recv(1)
            if not chunk:
                return
            head += chunk
        log(conn=conn, head=head.decode("latin-1"))
        self.request.sendall(SWITCH)
        while True:
            data = self.request.recv(65536)
            if not data:
                break
            self.request.sendall(data.upper())
        log(conn=conn, eof=True)


class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


server = Server(sys.argv[1], Switch)
print("listening on %s" % sys.argv[1], flush=True)
server.serve_forever()
