#!/bin/sh
# Token faults injected mid-load through tests/lib/p11wrap.so: issuing answers
# 503 with Retry-After during each fault and recovers without a restart;
# verification never fails; the process neither crashes nor leaks (ASan).
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/integration/signerd_lib.sh"

new_token faults
make_key av1 ES256 -60 86400
"$SIGNER" assign --type AudioVideoAuthentication --thumbprint "$KEY_SHA1" >/dev/null

# signerd reaches the token only through the wrapper
sed -i "s|^uri = .*|uri = pkcs11:token=faults?module-path=$top_builddir/tests/lib/p11wrap.so|" "$T/signer.conf"
cat >>"$T/signer.conf" <<EOC

[server]
listen = unix:$T/sd.sock
workers = 2
poll_interval_ms = 200
EOC
P11WRAP_MODULE=$SOFTHSM_MODULE P11WRAP_FAULTS=$T/faults
export P11WRAP_MODULE P11WRAP_FAULTS
start_signerd sd
PID=$SD_PID

plan() { printf '%s\n' "$@" >"$T/faults.tmp" && mv "$T/faults.tmp" "$T/faults"; }
mark() { "$PYTHON" -c 'import sys, time; print(sys.argv[1], time.time())' "$1" >>"$T/marks"; }

cat >"$T/load.py" <<'EOP'
import http.client, json, os, socket, sys, time

T = sys.argv[1]

class Unix(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("signerd", timeout=20)
        self.path = path
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self.path)

c = Unix(f"{T}/sd.sock")
def call(path, body):
    c.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
    r = c.getresponse()
    return r.status, r.getheader("Retry-After"), json.loads(r.read())

log, good = [], []
while not os.path.exists(f"{T}/stop"):
    st, ra, b = call("/v1/tokens", {"type": "AudioVideoAuthentication", "sub": "load"})
    log.append((time.time(), "issue", st, ra, b.get("error")))
    if st == 200:
        good = (good + [b["token"]])[-20:]
    elif st == 503:
        time.sleep(0.05)
    for tok in good[-2:]:
        vst, _, v = call("/v1/verify", {"token": tok})
        log.append((time.time(), "verify", vst, None, v.get("error") if not v.get("valid") else None))
json.dump(log, open(f"{T}/load.json", "w"))
EOP
"$PYTHON" "$T/load.py" "$T" &
LOAD=$!

sleep 1
for fault in \
	"C_Sign CKR_DEVICE_ERROR -1" \
	"C_Sign CKR_SESSION_HANDLE_INVALID -1" \
	"C_Sign CKR_TOKEN_NOT_PRESENT -1|C_OpenSession CKR_TOKEN_NOT_PRESENT -1|C_FindObjectsInit CKR_TOKEN_NOT_PRESENT -1"; do
	mark "fault:$fault"
	# shellcheck disable=SC2086
	(IFS='|'; plan $fault)
	sleep 2
	mark clear
	plan ""
	sleep 5
done
touch "$T/stop"
wait $LOAD || fail "load generator failed"
kill -0 "$PID" || fail "signerd died under faults"

"$PYTHON" - "$T/load.json" "$T/marks" <<'EOP' || fail "fault recovery"
import json, sys
log = json.load(open(sys.argv[1]))
marks = [(l.rsplit(" ", 1)[0], float(l.rsplit(" ", 1)[1])) for l in open(sys.argv[2]).read().splitlines()]
problems = []
issues = [e for e in log if e[1] == "issue"]
verifies = [e for e in log if e[1] == "verify"]
for t, kind, st, ra, err in log:
    if kind == "verify" and (st != 200 or err is not None):
        problems.append(f"verify failed at {t:.2f}: {st} {err}")
    if kind == "issue" and st not in (200, 503):
        problems.append(f"issue answered {st} at {t:.2f}: {err}")
    if kind == "issue" and st == 503 and not (ra and ra.isdigit() and int(ra) >= 1):
        problems.append(f"503 without a usable Retry-After at {t:.2f}")
for i in range(0, len(marks), 2):
    name, t_on = marks[i]
    _, t_off = marks[i + 1]
    during = [e for e in issues if t_on + 0.3 <= e[0] <= t_off]
    after = [e for e in issues if t_off + 4.5 <= e[0] <= t_off + 5]
    recovered = [e for e in issues if e[0] > t_off and e[2] == 200]
    n503 = sum(1 for e in during if e[2] == 503)
    took = recovered[0][0] - t_off if recovered else None
    print(f"{name}: {n503}/{len(during)} issues answered 503 during the fault; "
          f"first 200 {took if took is None else round(took, 2)} s after it cleared")
    if n503 == 0:
        problems.append(f"{name}: no 503 during the fault")
    if not after or any(e[2] != 200 for e in after):
        problems.append(f"{name}: issuing had not recovered 4.5 s after the fault cleared")
print(f"{len(issues)} issues, {len(verifies)} verifications, problems: {len(problems)}")
for p in problems[:10]: print("  ", p)
assert not problems
assert len(verifies) > 100
EOP
curl -s --unix-socket "$T/sd.sock" http://signerd/metrics >"$T/metrics"
grep -q '^p11s_hsm_errors_total [1-9]' "$T/metrics" || fail "no HSM errors counted: $(grep hsm_errors "$T/metrics")"
grep -q '^p11s_verifications_total{type="any",role="none"}' "$T/metrics" && fail "a verification failed"
grep -Eq 'signing session [0-9]+: .* failed' "$T/sd.log" || fail "the fault was not logged"
stop_signerd "$PID"
pass "faults: 503 with Retry-After during each fault, recovery without restart, no verification failure"
