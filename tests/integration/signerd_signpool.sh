#!/bin/sh
# signerd's signing pool against a token with a network HSM's latency
# (tests/lib/p11wrap.so, P11WRAP_SIGN_DELAY_US):
#  1. many concurrent issues through several sessions all verify (python3-jwt),
#     and the signing threads run SCHED_BATCH;
#  2. with every session busy, verify, JWKS, status, healthz and metrics are
#     answered before any of the pending issues;
#  3. back-pressure: a full queue and jobs that cannot start within
#     sign_timeout get 503 with Retry-After and the JSON error shape, and no
#     job starts after its sign_timeout;
#  4. SIGTERM with signatures in flight: each is finished and answered 200;
#  5. a roll during saturated issuing switches at E on every session;
#  6. a refused PIN (after a token reset) is never retried automatically.
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/integration/signerd_lib.sh"

new_token spool
cat >>"$T/signer.conf" <<EOC

[policy]
clock_skew = 1s
jwks_max_age = 2s
past_grace = 1s

[type AudioVideoAuthentication]
token_lifetime = 5s
min_lead = 5s
EOC
make_key av1 ES256 -60 86400
OLD=$KEY_SHA1
make_key av2 ES256 -60 90000
NEW=$KEY_SHA1
"$SIGNER" assign --type AudioVideoAuthentication --thumbprint "$OLD" >/dev/null
sed -i "s|^uri = .*|uri = pkcs11:token=spool?module-path=$top_builddir/tests/lib/p11wrap.so|" "$T/signer.conf"
cp "$T/signer.conf" "$T/base.conf"
P11WRAP_MODULE=$SOFTHSM_MODULE P11WRAP_FAULTS=$T/faults P11WRAP_LOG=$T/p11.log
export P11WRAP_MODULE P11WRAP_FAULTS P11WRAP_LOG

# conf NAME SESSIONS QUEUE TIMEOUT_MS: $T/NAME.conf listening on $T/NAME.sock
conf() {
	cp "$T/base.conf" "$T/$1.conf"
	sed -i "s|^\[token\]|[token]\nsessions = $2|" "$T/$1.conf"
	cat >>"$T/$1.conf" <<EOC

[server]
listen = unix:$T/$1.sock
workers = 2
poll_interval_ms = 200
sign_queue = $3
sign_timeout = $4
EOC
}

# delay US: the token's latency for the next signerd started
delay() { P11WRAP_SIGN_DELAY_US=$1; export P11WRAP_SIGN_DELAY_US; }

cat >"$T/client.py" <<'EOP'
import http.client, json, socket, sys, threading, time

class Unix(http.client.HTTPConnection):
    def __init__(self, path, timeout=60):
        super().__init__("signerd", timeout=timeout)
        self.path = path
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self.path)

def call(c, method, path, body=None):
    c.request(method, path, json.dumps(body) if body is not None else None,
              {"Content-Type": "application/json"})
    r = c.getresponse()
    data = r.read()
    ct = r.getheader("Content-Type") or ""
    return r.status, r.getheader("Retry-After"), json.loads(data) if "json" in ct else data.decode()

def metric(sock, name):
    _, _, text = call(Unix(sock), "GET", "/metrics")
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return None

def wait_metric(sock, name, at_least, timeout=60):
    end = time.time() + timeout
    while time.time() < end:
        v = metric(sock, name)
        if v is not None and v >= at_least:
            return v
        time.sleep(0.02)
    raise SystemExit(f"{name} did not reach {at_least} within {timeout} s")

def issue_all(sock, n, conns, results):
    """n issues over `conns` keep-alive connections; appends (status, retry, body)."""
    lock = threading.Lock()
    left = [n]
    def run():
        c = Unix(sock)
        while True:
            with lock:
                if left[0] == 0:
                    return
                left[0] -= 1
            r = call(c, "POST", "/v1/tokens", {"type": "AudioVideoAuthentication", "sub": "pool"})
            with lock:
                results.append(r)
    ths = [threading.Thread(target=run) for _ in range(conns)]
    for t in ths: t.start()
    return ths

def verify_jwks(sock, tokens):
    import jwt
    _, _, jwks = call(Unix(sock), "GET", "/.well-known/jwks.json")
    keys = {k["kid"]: jwt.PyJWK(k) for k in jwks["keys"]}
    for tok in tokens:
        kid = jwt.get_unverified_header(tok)["kid"]
        jwt.decode(tok, keys[kid].key, algorithms=["ES256"], options={"verify_aud": False}, leeway=60)
    return len(tokens)
EOP
export PYTHONPATH="$T"

# ---- 1. many concurrent issues through several sessions all verify ----------
conf many 8 4096 30000
delay 2000; start_signerd many --config "$T/many.conf"
"$PYTHON" - "$T/many.sock" <<'EOP' || fail "concurrent issues"
import sys
from client import *
sock = sys.argv[1]
res = []
for t in issue_all(sock, 400, 32, res): t.join()
bad = [r for r in res if r[0] != 200]
assert not bad, f"{len(bad)} issues failed: {bad[:3]}"
n = verify_jwks(sock, [r[2]["token"] for r in res])
waited = metric(sock, "p11s_sign_wait_seconds_count")
assert waited == 400, f"the pool counted {waited} jobs, not 400"
assert metric(sock, "p11s_sign_in_flight") == 0 and metric(sock, "p11s_sign_queue_depth") == 0
print(f"{n} concurrent tokens verified by python3-jwt")
EOP
# every signature on its own session: C_Sign calls overlapped (more sessions
# than one were opened) and none failed
nsess=$(grep -c '^C_OpenSession CKR_OK' "$T/p11.log")
[ "$nsess" -ge 9 ] || fail "only $nsess sessions were opened for 8 pool sessions + the poller"
grep -q '^C_Sign CKR_\(SESSION\|OPERATION\)' "$T/p11.log" && fail "a C_Sign failed: $(grep '^C_Sign CKR_[SO]' "$T/p11.log" | head -3)"
# the 8 signing threads, and they alone, run SCHED_BATCH (policy 3, the 41st
# field of a thread's stat; the command name before it holds no blanks here)
nbatch=$(cat /proc/"$SD_PID"/task/*/stat | awk '$41 == 3' | wc -l)
[ "$nbatch" -eq 8 ] || fail "$nbatch threads run SCHED_BATCH, not the 8 signing threads"
stop_signerd "$SD_PID"
pass "400 concurrent issues over 32 connections and 8 sessions all verify"

# ---- 2. nothing else waits for the HSM ---------------------------------------
# 4 sessions, each signature takes 3 s: 8 issues keep every session busy for
# about 6 s; everything else must be answered meanwhile.
conf busy 4 4096 60000
delay 3000000; start_signerd busy --config "$T/busy.conf"
"$PYTHON" - "$T/busy.sock" <<'EOP' || fail "requests waited behind the HSM"
import sys
from client import *
sock = sys.argv[1]
res = []
ths = issue_all(sock, 8, 8, res)
wait_metric(sock, "p11s_sign_in_flight", 4)
c = Unix(sock)
st, _, tok = call(Unix(sock), "GET", "/healthz")
assert st == 200, st
for method, path, body in (("GET", "/healthz", None), ("GET", "/.well-known/jwks.json", None),
                           ("GET", "/v1/status", None), ("GET", "/metrics", None),
                           ("POST", "/v1/verify", {"token": "e30.e30.AAAA"})):
    st, _, b = call(c, method, path, body)
    assert st in (200, 422), f"{path}: {st} {b}"
done_before = len(res)
for t in ths: t.join()
assert done_before == 0, f"{done_before} issues were answered before the other routes"
assert all(r[0] == 200 for r in res), res
verify_jwks(sock, [r[2]["token"] for r in res])
print("verify, JWKS, status, healthz and metrics answered while 4 of 4 sessions signed")
# a client that leaves while its token is being signed: the answer has
# nowhere to go, the job is dropped cleanly (ASan checks the memory)
body = json.dumps({"type": "AudioVideoAuthentication", "sub": "gone"})
s = socket.socket(socket.AF_UNIX)
s.connect(sock)
s.sendall(("POST /v1/tokens HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
           f"Content-Length: {len(body)}\r\n\r\n{body}").encode())
wait_metric(sock, "p11s_sign_in_flight", 1)
s.close()
wait_metric(sock, "p11s_sign_wait_seconds_count", 9)
end = time.time() + 60
while metric(sock, "p11s_sign_in_flight") != 0 and time.time() < end:
    time.sleep(0.05)
assert metric(sock, "p11s_sign_in_flight") == 0
st, _, b = call(Unix(sock), "GET", "/healthz")
assert st == 200, (st, b)
print("a client gone before its signature was back: job finished, nothing left")
EOP
stop_signerd "$SD_PID"
pass "nothing else waits for the HSM"

# ---- 3. back-pressure -------------------------------------------------------
# 2 sessions at 2 s per signature, 2 places in the queue, 500 ms to start.
conf bp 2 2 500
delay 2000000; start_signerd bp --config "$T/bp.conf"
"$PYTHON" - "$T/bp.sock" <<'EOP' || fail "back-pressure"
import sys
from client import *
sock = sys.argv[1]
res = []
# both sessions busy for 2 s first, then 10 more: 2 wait in the queue and
# time out after 500 ms, the others find it full
first = issue_all(sock, 2, 2, res)
wait_metric(sock, "p11s_sign_in_flight", 2)
for t in issue_all(sock, 10, 10, res) + first: t.join()
ok = [r for r in res if r[0] == 200]
busy = [r for r in res if r[0] == 503]
assert len(ok) + len(busy) == 12, [r[0] for r in res]
for st, ra, b in busy:
    assert ra is not None and ra.isdigit() and int(ra) >= 1, f"503 without Retry-After: {b}"
    assert b.get("error") == "overloaded" and "sign_" in b.get("detail", ""), b
assert 2 <= len(ok) <= 4, f"{len(ok)} issues were signed by 2 sessions"
# a job past sign_timeout is answered then, by the queue's reaper, not when a
# session frees up 2 s later: every timed-out 503 comes before the first 200
first_ok = min(i for i, r in enumerate(res) if r[0] == 200)
late_at = [i for i, r in enumerate(res) if r[0] == 503 and "sign_timeout" in r[2].get("detail", "")]
assert late_at and max(late_at) < first_ok, f"timed out at {late_at}, first 200 at {first_ok}"
verify_jwks(sock, [r[2]["token"] for r in ok])
full = metric(sock, 'p11s_sign_refused_total{reason="queue_full"}')
late = metric(sock, 'p11s_sign_refused_total{reason="timeout"}')
assert full >= 1 and late >= 1, (full, late)
print(f"{len(ok)} signed, {len(busy)} answered 503 ({full:.0f} queue full, {late:.0f} timed out)")
EOP
stop_signerd "$SD_PID"
pass "a full queue and a job past sign_timeout get 503 with Retry-After"

# ---- 3b. no job starts after its sign_timeout ---------------------------------
# 2 sessions at 5 ms, a long queue, 20 ms to start, 32 connections issuing:
# most jobs cannot start in time.  One still queued at its deadline is
# answered 503 by whichever thread sees it first, however late the reaper:
# no job that got a session waited longer than sign_timeout
# (p11s_sign_wait_seconds has nothing above its 25 ms bucket).
conf late 2 4096 20
delay 5000; start_signerd late --config "$T/late.conf"
"$PYTHON" - "$T/late.sock" <<'EOP' || fail "sign_timeout bound"
import sys
from client import *
sock = sys.argv[1]
res = []
for t in issue_all(sock, 3000, 32, res): t.join()
ok = [r for r in res if r[0] == 200]
assert len(res) == 3000 and all(r[0] in (200, 503) for r in res), (len(res), sorted({r[0] for r in res}))
started = metric(sock, "p11s_sign_wait_seconds_count")
within = metric(sock, 'p11s_sign_wait_seconds_bucket{le="0.025"}')
assert started == len(ok), (started, len(ok))
assert within == started, f"{started - within} of {started} jobs started after sign_timeout"
print(f"{len(ok)} signed, {len(res) - len(ok)} answered 503, none started late")
EOP
stop_signerd "$SD_PID"
pass "no job starts after its sign_timeout"

# ---- 4. SIGTERM with signatures in flight ------------------------------------
conf term 4 4096 30000
delay 1500000; start_signerd term --config "$T/term.conf"
TERM_PID=$SD_PID
"$PYTHON" - "$T/term.sock" "$TERM_PID" "$T/term.tokens" <<'EOP' || fail "SIGTERM lost jobs in flight"
import os, signal, sys, json
from client import *
sock, pid = sys.argv[1], int(sys.argv[2])
res = []
ths = issue_all(sock, 4, 4, res)
wait_metric(sock, "p11s_sign_in_flight", 4)
os.kill(pid, signal.SIGTERM)
for t in ths: t.join()
assert [r[0] for r in res] == [200] * 4, res
json.dump([r[2]["token"] for r in res], open(sys.argv[3], "w"))
print("4 signatures in flight at SIGTERM were answered 200")
EOP
set +e
wait "$TERM_PID"
st=$?
set -e
[ "$st" = 0 ] || fail "signerd exited with $st after SIGTERM"
pass "SIGTERM finishes the signatures in flight"

# ---- 5. a roll during saturated issuing --------------------------------------
conf roll 8 4096 5000
delay 5000; start_signerd roll --config "$T/roll.conf" --debug
E=$(($(date +%s) + 8))
"$PYTHON" - "$T/roll.sock" "$E" "$T/roll.json" <<'EOP' &
import json, sys, threading, time
from client import *
sock, E = sys.argv[1], int(sys.argv[2])
out, lock = [], threading.Lock()
def run():
    c = Unix(sock)
    while time.time() < E + 3:
        t0 = time.time()
        st, _, b = call(c, "POST", "/v1/tokens", {"type": "AudioVideoAuthentication", "sub": "r"})
        with lock:
            out.append((t0, time.time(), st, b.get("kid"), b.get("token")))
ths = [threading.Thread(target=run) for _ in range(24)]
for t in ths: t.start()
for t in ths: t.join()
json.dump(out, open(sys.argv[3], "w"))
EOP
LOAD=$!
sleep 1
P11WRAP_SIGN_DELAY_US= "$SIGNER" roll --type AudioVideoAuthentication --thumbprint "$NEW" \
	--effective-date "$(date -u -d "@$E" +%Y-%m-%dT%H:%M:%SZ)" >/dev/null ||
	{ kill "$LOAD"; wait "$LOAD" || true; fail "roll"; }
wait $LOAD || fail "roll load generator failed"
unset P11WRAP_SIGN_DELAY_US
KID_OLD=$(openssl x509 -in "$T/av1.pem" -outform DER | openssl dgst -sha256 -binary | basenc --base64url | tr -d '=')
KID_NEW=$(openssl x509 -in "$T/av2.pem" -outform DER | openssl dgst -sha256 -binary | basenc --base64url | tr -d '=')
"$PYTHON" - "$T/roll.json" "$E" "$KID_OLD" "$KID_NEW" "$T/roll.sock" <<'EOP' || fail "roll under saturated issuing"
import json, sys
from client import verify_jwks
d = json.load(open(sys.argv[1]))
E, old, new = int(sys.argv[2]), sys.argv[3], sys.argv[4]
bad = [x for x in d if x[2] != 200]
before = [x for x in d if x[1] < E]
after = [x for x in d if x[0] >= E + 1]
assert not bad, f"{len(bad)} issues failed: {bad[:3]}"
assert len(before) > 50 and len(after) > 50, (len(before), len(after))
wrong_before = [x for x in before if x[3] != old]
wrong_after = [x for x in after if x[3] != new]
print(f"{len(d)} issued: {len(before)} before E, {len(after)} after E + 1 s; "
      f"old key after E + 1 s: {len(wrong_after)}")
assert not wrong_before and not wrong_after
verify_jwks(sys.argv[5], [x[4] for x in after[-20:]])
EOP
stop_signerd "$SD_PID"
opened=$(grep -c "open for key $OLD" "$T/roll.log")
closed=$(grep -c "key $OLD no longer issues" "$T/roll.log")
[ "$opened" -ge 2 ] && [ "$closed" = "$opened" ] ||
	fail "$opened sessions opened the old key, $closed closed it after E"
pass "a roll during saturated issuing switches at E on every session"

# ---- 6. a refused PIN is never retried ----------------------------------------
conf pin 4 4096 1000
delay 1000; start_signerd pin --config "$T/pin.conf"
expect_http 200 POST "http://signerd/v1/tokens" '{"type":"AudioVideoAuthentication","sub":"p"}' --unix-socket "$T/pin.sock"
# the token is reset (logged out) and now refuses the PIN
printf 'C_Sign CKR_USER_NOT_LOGGED_IN 1\nC_Login CKR_PIN_INCORRECT -1\n' >"$T/faults.tmp"
mv "$T/faults.tmp" "$T/faults"
logins0=$(grep -c '^C_Login ' "$T/p11.log")
for i in 1 2 3 4 5 6 7 8 9 10; do
	out=$(http POST "http://signerd/v1/tokens" '{"type":"AudioVideoAuthentication","sub":"p"}' --unix-socket "$T/pin.sock")
	[ "${out##* }" = 503 ] || [ "$i" -eq 1 ] || fail "issue $i after the PIN was refused: $out"
done
grep -q 'the token refused the PIN' "$T/pin.log" || fail "the refused PIN was not logged: $(cat "$T/pin.log")"
logins=$(($(grep -c '^C_Login ' "$T/p11.log") - logins0))
[ "$logins" -le 1 ] || fail "$logins logins after the PIN was refused (never retried, at most the one)"
sleep 1
out=$(http POST "http://signerd/v1/tokens" '{"type":"AudioVideoAuthentication","sub":"p"}' --unix-socket "$T/pin.sock")
logins=$(($(grep -c '^C_Login ' "$T/p11.log") - logins0))
[ "$logins" -le 1 ] || fail "$logins logins a second later: the PIN was retried"
expect_http 422 POST "http://signerd/v1/verify" '{"token":"e30.e30.AAAA"}' --unix-socket "$T/pin.sock"
expect_http 200 GET "http://signerd/healthz" "" --unix-socket "$T/pin.sock"
stop_signerd "$SD_PID"
pass "a refused PIN stops signing without another login; verification still answers"
