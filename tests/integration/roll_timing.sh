#!/bin/sh
# Rule 3a (issue 9 item 4): a roll staged late in a second at the earliest
# effective instant E that `signer roll` accepts is in every JWKS that a
# cache-honouring verifier holds at E.  Ten verifiers each keep the JWKS for
# exactly its Cache-Control max-age (never refetching for an unknown kid),
# their fetches spread over one cache period; they verify every token a real
# signerd issues across E.  Zero rejections.  The earliest E is taken from the
# CLI's own refusal (E = now), so the test checks the rule the CLI enforces.
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/integration/signerd_lib.sh"

AV=AudioVideoAuthentication
iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }

new_token timing
PORT=$(free_port)
cat >>"$T/signer.conf" <<EOC

[policy]
jwks_max_age = 3s

[server]
listen = http://127.0.0.1:$PORT
poll_interval_ms = 500
EOC
make_key av1 ES256 -60 172800
OLD=$KEY_SHA1
make_key av2 ES256 -60 259200
NEW=$KEY_SHA1
expect_exit 0 "$SIGNER" assign --type $AV --thumbprint "$OLD"
start_signerd sd
PID=$SD_PID
URL="http://127.0.0.1:$PORT"

# The earliest E the CLI accepts, as an offset from its clock (the refusal
# names both); one second earlier is refused by rule 3a.
expect_exit 1 "$SIGNER" roll --type $AV --thumbprint "$NEW" --effective-date "$(iso "$(date +%s)")"
expect_msg "jwks_max_age"
OFFSET=$(printf '%s' "$OUT" | "$PYTHON" -c '
import re, sys, calendar, time
m = sys.stdin.read()
ts = lambda s: calendar.timegm(time.strptime(s, "%Y-%m-%dT%H:%M:%SZ"))
now = re.search(r"now \(?(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)", m).group(1)
earliest = re.search(r"earliest acceptable effective instant is (\S+?Z)", m).group(1)
print(ts(earliest) - ts(now))')
[ "$OFFSET" -ge 3 ] || fail "earliest offset $OFFSET from: $OUT"

cat >"$T/clients.py" <<'EOP'
import http.client, json, os, re, sys, time
import jwt
from jwt.algorithms import ECAlgorithm

T, url, n = sys.argv[1], sys.argv[2], 10
host, port = url.split("//")[1].split(":")

def fetch():
    c = http.client.HTTPConnection(host, int(port), timeout=10)
    c.request("GET", "/.well-known/jwks.json")
    r = c.getresponse()
    body = json.loads(r.read())
    cc = r.getheader("Cache-Control") or ""
    age = int(re.search(r"max-age=(\d+)", cc).group(1))
    return {k["kid"]: ECAlgorithm.from_jwk(json.dumps(k)) for k in body["keys"]}, age

class Client:
    """Honours Cache-Control max-age; an unknown kid is a rejection."""
    def __init__(self, start):
        self.next, self.keys = start, None
    def keyset(self, now):
        if self.keys is None or now >= self.next:
            self.keys, age = fetch()
            self.next = now + age
        return self.keys

issuer = http.client.HTTPConnection(host, int(port), timeout=10)
def issue():
    issuer.request("POST", "/v1/tokens", json.dumps({"type": "AudioVideoAuthentication", "sub": "t"}),
                   {"Content-Type": "application/json"})
    r = issuer.getresponse()
    b = json.loads(r.read())
    assert r.status == 200, (r.status, b)
    return b["token"]

_, age = fetch()
t0 = time.time()
clients = [Client(t0 + age * i / n) for i in range(n)]
open(f"{T}/clients.ready", "w").close()
stats = {"tokens": 0, "verified": 0, "rejected": [], "new_key_tokens": 0}
E = None
while True:
    now = time.time()
    if E is None and os.path.exists(f"{T}/E"):
        E = int(open(f"{T}/E").read())
    if E is not None and now > E + 2:
        break
    if now - t0 > 120:
        raise SystemExit("no effective instant after 120 s")
    tok = issue()
    kid = jwt.get_unverified_header(tok)["kid"]
    stats["tokens"] += 1
    if E is not None and now >= E - 0.5 and kid != open(f"{T}/oldkid").read().strip():
        stats["new_key_tokens"] += 1
    for i, c in enumerate(clients):
        keys = c.keyset(time.time())
        if kid not in keys:
            stats["rejected"].append((round(time.time(), 3), i, "unknown kid"))
            continue
        try:
            jwt.decode(tok, keys[kid], algorithms=["ES256"], options={"verify_aud": False})
            stats["verified"] += 1
        except Exception as e:
            stats["rejected"].append((round(time.time(), 3), i, str(e)))
json.dump(stats, open(f"{T}/clients.json", "w"))
EOP
OUT=$(curl -s -S -m 10 "$URL/.well-known/jwks.json")
"$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["keys"][0]["kid"])' <<EOF >"$T/oldkid"
$OUT
EOF
"$PYTHON" "$T/clients.py" "$T" "$URL" &
CL=$!
i=0
while [ ! -f "$T/clients.ready" ]; do
	kill -0 $CL 2>/dev/null || fail "JWKS clients failed to start"
	i=$((i + 1)); [ $i -lt 300 ] || fail "JWKS clients not ready after 30 s"
	sleep 0.1
done
sleep 3 # every client has a JWKS of its own phase

# Stage late in a second S at S + OFFSET; if the CLI's clock passed into the
# next second it refuses (E too early) and we try again, starting the CLI a
# little earlier in the second (a busy machine starts it slowly).
staged=""
for start in 80 75 70 65 60 50 40 30 20 10; do
	"$PYTHON" -c '
import sys, time
lo = int(sys.argv[1]) / 100
while not lo <= time.time() % 1 < lo + 0.05: time.sleep(0.005)' "$start"
	S=$(date +%s)
	E=$((S + OFFSET))
	set +e
	OUT=$("$SIGNER" roll --type $AV --thumbprint "$NEW" --effective-date "$(iso $E)" 2>&1)
	st=$?
	set -e
	if [ $st = 0 ]; then staged=$E; break; fi
	case "$OUT" in *jwks_max_age*) ;; *) fail "roll refused otherwise: $OUT" ;; esac
done
[ -n "$staged" ] || fail "could not stage within the second in 10 tries"
echo "$E" >"$T/E"
wait $CL || fail "JWKS clients failed"
stop_signerd "$PID"

"$PYTHON" - "$T/clients.json" "$OFFSET" <<'EOP' || fail "rejections across E"
import json, sys
s = json.load(open(sys.argv[1]))
print(f"earliest E = staging second + {sys.argv[2]} s; {s['tokens']} tokens, "
      f"{s['new_key_tokens']} with the new key, {s['verified']} verifications, "
      f"{len(s['rejected'])} rejected {s['rejected'][:5]}")
assert s["new_key_tokens"] > 0, "no token with the new key"
assert not s["rejected"]
EOP
pass "staged late in a second at the earliest E: no cache-honouring verifier rejected a token"
