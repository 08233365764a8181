#!/usr/bin/python3
"""systemd's side of signerd's integration, played by a test (no systemd here).

notify NOTIFY_ADDR HTTP_UNIX_SOCKET SIGNERD ARGS...
    Bind a datagram socket at NOTIFY_ADDR (a path, or @name for the abstract
    namespace), start signerd with NOTIFY_SOCKET pointing at it, and at the
    moment READY=1 arrives ask GET /healthz on signerd's UNIX socket: it must
    answer 200 then.  SIGTERM; STOPPING=1 must arrive; signerd must exit 0.
    Prints every datagram, one per line.

activate UNIX_PATH TCP_PORT SIGNERD ARGS...
    Make the listening sockets (UNIX_PATH, 127.0.0.1:TCP_PORT) as a .socket
    unit would, start signerd with them as fds 3 and 4 (LISTEN_FDS=2,
    LISTEN_PID, LISTEN_FDNAMES), and ask GET /healthz on each; the UNIX
    socket must still be the inode made here (signerd did not bind its own).
    SIGTERM; signerd must exit 0.
"""
import http.client
import os
import signal
import socket
import subprocess
import sys
import time

TIMEOUT = 120  # seconds: generous, the machine may be busy


def die(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


class UnixHTTP(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost", timeout=30)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(30)
        self.sock.connect(self.path)


def get(conn, path):
    conn.request("GET", path)
    r = conn.getresponse()
    body = r.read()
    conn.close()
    return r.status, body


def stop(p):
    p.send_signal(signal.SIGTERM)
    try:
        rc = p.wait(TIMEOUT)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        die("signerd did not exit after SIGTERM")
    return rc


def notify(addr, http_sock, argv):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    if not addr.startswith("@") and os.path.exists(addr):
        os.unlink(addr)  # left by an earlier run in the same test
    s.bind("\0" + addr[1:] if addr.startswith("@") else addr)
    s.settimeout(1)
    env = dict(os.environ, NOTIFY_SOCKET=addr)
    p = subprocess.Popen(argv, env=env)
    msgs = []
    ready = stopping = False
    deadline = time.monotonic() + TIMEOUT
    try:
        while not ready:
            if time.monotonic() > deadline:
                die("no READY=1 within %d s; got %r" % (TIMEOUT, msgs))
            if p.poll() is not None:
                die("signerd exited (%d) before READY=1; got %r" % (p.returncode, msgs))
            try:
                m = s.recv(4096).decode()
            except socket.timeout:
                continue
            msgs.append(m)
            if "READY=1" in m.split("\n"):
                ready = True
                # at this instant the listener must accept and answer
                st, body = get(UnixHTTP(http_sock), "/healthz")
                if st != 200:
                    die("READY=1 but /healthz answered %d %r" % (st, body))
                msgs.append("# healthz at READY=1: %d" % st)
        if os.environ.get("WATCHDOG_USEC"):
            pings = 0
            deadline = time.monotonic() + TIMEOUT
            while pings < 3 and time.monotonic() < deadline:
                try:
                    m = s.recv(4096).decode()
                except socket.timeout:
                    continue
                pings += "WATCHDOG=1" in m.split("\n")
            if pings < 3:
                die("fewer than 3 WATCHDOG=1 within %d s" % TIMEOUT)
            msgs.append("# watchdog pings: %d" % pings)
        p.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + TIMEOUT
        while not stopping and time.monotonic() < deadline:
            try:
                m = s.recv(4096).decode()
            except socket.timeout:
                if p.poll() is not None:
                    break
                continue
            msgs.append(m)
            stopping = "STOPPING=1" in m.split("\n")
        rc = p.wait(TIMEOUT)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    for m in msgs:
        print(m.replace("\n", " | "))
    if not stopping:
        die("no STOPPING=1 after SIGTERM")
    if rc != 0:
        die("signerd exited %d" % rc)


def activate(unix_path, port, argv):
    us = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    us.bind(unix_path)
    us.listen(16)
    ino = os.stat(unix_path).st_ino
    ts = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ts.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ts.bind(("127.0.0.1", int(port)))
    ts.listen(16)
    # out of the way of 3 and 4 first, then into place in the child
    a, b = os.dup(us.fileno()) + 100, os.dup(ts.fileno()) + 100
    os.dup2(us.fileno(), a)
    os.dup2(ts.fileno(), b)

    def place():
        os.dup2(a, 3)
        os.dup2(b, 4)

    env = dict(os.environ, LISTEN_FDS="2", LISTEN_FDNAMES="api:api")
    wrapped = ["/bin/sh", "-c", 'LISTEN_PID=$$; export LISTEN_PID; exec "$0" "$@"'] + argv
    p = subprocess.Popen(wrapped, env=env, preexec_fn=place, pass_fds=(3, 4))
    os.close(a)
    os.close(b)
    try:
        deadline = time.monotonic() + TIMEOUT
        answered = {}
        while len(answered) < 2:
            if time.monotonic() > deadline:
                die("no answer on the passed sockets within %d s: %r" % (TIMEOUT, answered))
            if p.poll() is not None:
                die("signerd exited (%d) with passed sockets" % p.returncode)
            for name, conn in (("unix", lambda: UnixHTTP(unix_path)),
                               ("tcp", lambda: http.client.HTTPConnection("127.0.0.1", int(port), timeout=30))):
                if name in answered:
                    continue
                try:
                    st, body = get(conn(), "/healthz")
                    answered[name] = st
                    print("%s /healthz: %d %s" % (name, st, body.decode().strip()))
                except OSError:
                    pass
            time.sleep(0.1)
        if os.stat(unix_path).st_ino != ino:
            die("signerd replaced the passed UNIX socket by its own")
        if any(st != 200 for st in answered.values()):
            die("unexpected statuses %r" % answered)
        rc = stop(p)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    if rc != 0:
        die("signerd exited %d" % rc)


if __name__ == "__main__":
    if len(sys.argv) < 4:
        die(__doc__)
    if sys.argv[1] == "notify":
        notify(sys.argv[2], sys.argv[3], sys.argv[4:])
    elif sys.argv[1] == "activate":
        activate(sys.argv[2], sys.argv[3], sys.argv[4:])
    else:
        die(__doc__)
