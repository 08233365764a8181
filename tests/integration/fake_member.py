#!/usr/bin/env python3
"""A stand-in pool member for `signer pool check` tests: serves the JSON file
given with --status at GET /v1/status (re-read at every request), over TCP
(HTTP, or HTTPS with --tls CERT KEY, requiring client certificates with
--client-ca CA) or a UNIX socket.  Writes its port (or "unix") to --ready
once it listens.

  fake_member.py --status F --ready F [--unix PATH] [--tls CERT KEY] [--client-ca CA]
"""
import argparse
import http.server
import os
import socketserver
import ssl
import sys


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        if self.path != "/v1/status":
            self.send_error(404)
            return
        with open(self.server.status_file, "rb") as f:
            body = f.read()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class UnixServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


class UnixHandler(Handler):
    def address_string(self):
        return "unix"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--status", required=True)
    ap.add_argument("--ready", required=True)
    ap.add_argument("--unix")
    ap.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    ap.add_argument("--client-ca")
    a = ap.parse_args()
    if a.unix:
        if os.path.exists(a.unix):
            os.unlink(a.unix)
        srv = UnixServer(a.unix, UnixHandler)
        where = "unix"
    else:
        srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        where = str(srv.server_address[1])
    if a.tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(a.tls[0], a.tls[1])
        if a.client_ca:
            ctx.load_verify_locations(a.client_ca)
            ctx.verify_mode = ssl.CERT_REQUIRED
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    srv.status_file = a.status
    with open(a.ready + ".tmp", "w") as f:
        f.write(where + "\n")
    os.rename(a.ready + ".tmp", a.ready)
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
