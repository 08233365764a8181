#!/bin/sh
# Per-listener connection limits: with a small open-file limit, hundreds of
# idle TCP connections neither starve the UNIX socket nor hold signerd up:
# each listener has its own max_connections, and at the limit the oldest
# idle connection is closed to make room.  The closes are logged rate-limited.
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/integration/signerd_lib.sh"

new_token conns
make_key av1 ES256 -60 86400
"$SIGNER" assign --type AudioVideoAuthentication --thumbprint "$(printf %s "$KEY_SHA1")" >/dev/null
cp "$T/signer.conf" "$T/base.conf"
P=$(free_port)

# write_conf "EXTRA LISTEN OPTIONS TCP" "... UNIX" WORKERS
write_conf() {
	cat "$T/base.conf" >"$T/signer.conf"
	cat >>"$T/signer.conf" <<EOC

[server]
listen = unix:$T/sd.sock $2
listen = http://127.0.0.1:$P $1
workers = $3
request_timeout = 60s
EOC
}

# A signerd whose open-file limit is 256 (the wrapper execs, so its pid is
# signerd's).
cat >"$T/signerd-256" <<EOS
#!/bin/sh
ulimit -n 256 || exit 1
exec "$SIGNERD" "\$@"
EOS
chmod +x "$T/signerd-256"

# flood.py PORT N SOCK MAX [FLAGS]: open N idle TCP connections (oldest
# first), then issue a token over the UNIX socket and check which TCP
# connections the server closed: at most MAX stay open.  FLAGS, comma-
# separated: "exact" (one worker): the oldest were closed and exactly the MAX
# newest stay open; "read": ask the UNIX socket for the JWKS, not a token.  Prints one
# line of figures; exits non-zero on a failure.
cat >"$T/flood.py" <<'EOP'
import json, select, socket, sys, time
port, n, sock_path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
expect_open_max = int(sys.argv[4])
flags = set(sys.argv[5].split(",")) if len(sys.argv) > 5 else set()
exact = "exact" in flags
conns = []
for i in range(n):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    conns.append(s)

def closed(s, wait):
    r, _, _ = select.select([s], [], [], wait)
    if not r:
        return False
    try:
        return s.recv(1) == b""
    except OSError:
        return True

# 1. the UNIX socket answers an issue request promptly (bounded: 5 s)
body = json.dumps({"type": "AudioVideoAuthentication", "sub": "alice"}).encode()
req = (b"POST /v1/tokens HTTP/1.1\r\nHost: signerd\r\nContent-Type: application/json\r\n"
       b"Connection: close\r\nContent-Length: %d\r\n\r\n" % len(body)) + body
want = b'"token"'
if "read" in flags:
    req = b"GET /.well-known/jwks.json HTTP/1.1\r\nHost: signerd\r\nConnection: close\r\n\r\n"
    want = b'"keys"'
t0 = time.monotonic()
u = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
u.settimeout(5)
try:
    u.connect(sock_path)
    u.sendall(req)
    data = b""
    while True:
        chunk = u.recv(65536)
        if not chunk:
            break
        data += chunk
except socket.timeout:
    sys.exit(f"FAIL: the UNIX socket did not answer within 5 s with {n} idle TCP connections open")
took = time.monotonic() - t0
status = data.split(b" ", 2)[1] if data.startswith(b"HTTP/1.1 ") else b"?"
if status != b"200" or want not in data:
    sys.exit(f"FAIL: the UNIX socket answered {data[:200]!r}")

# 2. the oldest idle TCP connection was closed by the server (bounded: 10 s)
if exact and not closed(conns[0], 10):
    sys.exit("FAIL: the oldest idle TCP connection is still open")

# 3. the newest one is open and served
last = conns[-1]
last.sendall(b"GET /.well-known/jwks.json HTTP/1.1\r\nHost: x\r\n\r\n")
last.settimeout(5)
head = last.recv(4096)
if not head.startswith(b"HTTP/1.1 200"):
    sys.exit(f"FAIL: the newest TCP connection answered {head[:80]!r}")

# 4. which ones the server kept open (it closes the others at once)
deadline = time.monotonic() + 10
while True:
    gone = [i for i, s in enumerate(conns[:-1]) if closed(s, 0)]
    still = n - len(gone)
    if still <= expect_open_max or time.monotonic() > deadline:
        break
    time.sleep(0.1)
print(f"{n} idle TCP connections: UNIX {'read' if 'read' in flags else 'issue'} "
      f"answered 200 in {took:.3f} s; "
      f"{len(gone)} closed by the server, {still} still open")
if still > expect_open_max:
    sys.exit(f"FAIL: {still} TCP connections open, above max_connections={expect_open_max}")
if exact and gone != list(range(n - expect_open_max)):
    sys.exit(f"FAIL: not the oldest closed first: closed {gone[:10]}... "
             f"open {[i for i in range(n) if i not in gone][:10]}...")
for s in conns:
    s.close()
EOP

# ---- 1. default limits under ulimit -n 256 -------------------------------------
write_conf "" "" 1
SIGNERD_REAL=$SIGNERD
SIGNERD="$T/signerd-256"
start_signerd lim
SIGNERD=$SIGNERD_REAL
PID=$SD_PID
grep -q "listening on http://127.0.0.1:$P (1 workers, max_connections 144)" "$T/lim.log" ||
	fail "default TCP limit not derived from the open-file limit: $(grep listening "$T/lim.log")"
grep -q "listening on unix:$T/sd.sock (1 workers, max_connections 48)" "$T/lim.log" ||
	fail "default UNIX limit: $(grep listening "$T/lim.log")"
OUT=$("$PYTHON" "$T/flood.py" "$P" 400 "$T/sd.sock" 144 exact) || fail "$OUT"
echo "$OUT"
pass "400 idle TCP connections under ulimit -n 256: the UNIX socket answers, oldest closed"
# the 256 closes were logged in at most 3 lines (then counted)
n=$(grep -c 'closing the oldest idle one' "$T/lim.log" || true)
[ "$n" -ge 1 ] && [ "$n" -le 3 ] || fail "$n lines for the closed idle connections"
pass "closing idle connections logged in $n lines, rate-limited"
kill -0 "$PID" || fail "signerd died"
stop_signerd "$PID"

# ---- 1b. a limit above the open-file limit: out of descriptors ----------------
# max_connections=1000 with 256 descriptors: accepts fail with EMFILE; the
# worker then closes its oldest idle TCP connection and goes on (the UNIX
# socket keeps answering), rather than pausing every listener.  (Signing may
# fail then: the token needs descriptors too, which is what the warning at
# start-up is about; the UNIX client reads the JWKS.)
write_conf "max_connections=1000" "" 1
SIGNERD="$T/signerd-256"
start_signerd emfile
SIGNERD=$SIGNERD_REAL
PID=$SD_PID
grep -q "open-file limit leaves" "$T/emfile.log" || fail "no warning about a limit above the open-file limit"
OUT=$("$PYTHON" "$T/flood.py" "$P" 400 "$T/sd.sock" 256 read) || fail "$OUT"
echo "$OUT"
grep -q "Too many open files" "$T/emfile.log" || fail "the flood did not exhaust the descriptors"
grep -q "out of file descriptors; closing the oldest idle connection" "$T/emfile.log" ||
	fail "no idle connection closed for lack of descriptors"
kill -0 "$PID" || fail "signerd died out of descriptors"
stop_signerd "$PID"
pass "out of descriptors: oldest idle TCP connections closed, the UNIX socket answers"

# ---- 2. explicit max_connections ------------------------------------------------
# Two workers: the limit is split between them; together they keep at most 8.
write_conf "max_connections=8" "" 2
start_signerd two
PID=$SD_PID
grep -q "listening on http://127.0.0.1:$P (2 workers, max_connections 8)" "$T/two.log" ||
	fail "max_connections=8 not applied: $(grep listening "$T/two.log")"
OUT=$("$PYTHON" "$T/flood.py" "$P" 40 "$T/sd.sock" 8) || fail "$OUT"
echo "$OUT"
pass "max_connections=8 over two workers: at most 8 TCP connections kept"
stop_signerd "$PID"
# One worker: exactly the 8 newest stay, the oldest are closed first.
write_conf "max_connections=8" "max_connections=2" 1
start_signerd opt
PID=$SD_PID
OUT=$("$PYTHON" "$T/flood.py" "$P" 40 "$T/sd.sock" 8 exact) || fail "$OUT"
echo "$OUT"
pass "max_connections=8: the 32 oldest idle connections closed, the 8 newest kept"
# The UNIX listener's own limit (2): two idle local connections do not keep
# a third client out; the oldest idle one makes room.
OUT=$("$PYTHON" - "$T/sd.sock" <<'EOP'
import socket, sys, time, select
path = sys.argv[1]
idle = []
for i in range(2):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    idle.append(s)
    time.sleep(0.2)
u = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
u.settimeout(5)
u.connect(path)
u.sendall(b"GET /v1/status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
try:
    head = u.recv(4096)
except socket.timeout:
    sys.exit("FAIL: a third UNIX client was not answered within 5 s")
if not head.startswith(b"HTTP/1.1 200"):
    sys.exit(f"FAIL: {head[:80]!r}")
closed = []
for s in idle:
    r, _, _ = select.select([s], [], [], 0.5)
    closed.append(bool(r) and s.recv(1) == b"")
print(f"third UNIX client answered 200; idle UNIX connections closed: {closed}")
if not any(closed):
    sys.exit("FAIL: no idle UNIX connection was closed to make room")
EOP
) || fail "$OUT"
echo "$OUT"
pass "UNIX max_connections=2: an idle local connection makes room for a new client"
stop_signerd "$PID"

# ---- 3. the configuration refuses what signerd would not serve ------------------
write_conf "max_connections=0" "" 1
expect_exit 2 "$SIGNERD" --foreground
case $OUT in *"max_connections"*"1 to 65536"*) ;; *) fail "max_connections=0: $OUT" ;; esac
pass "max_connections=0 refused at start-up"
