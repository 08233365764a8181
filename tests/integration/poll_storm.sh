#!/bin/sh
# A fault storm on signerd's state poller (issue 9 item 1) under verification
# load: empty listings (what a session that is not logged in sees), real
# logouts followed by failing logins, device errors on listing and reading,
# through tests/lib/p11wrap.so, while the CLI keeps writing new state
# versions.  Zero valid tokens rejected; the served state version never goes
# backwards (from /metrics, /healthz and the log); refusals are counted and
# /healthz says degraded meanwhile.  POLL_STORM_SECONDS (default 12) sets the
# length of the storm (the acceptance run uses 60).
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/integration/signerd_lib.sh"

STORM=${POLL_STORM_SECONDS:-12}
AV=AudioVideoAuthentication
iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }

new_token storm
make_key av1 ES256 -60 172800
OLD=$KEY_SHA1
make_key av2 ES256 -60 259200
NEW=$KEY_SHA1
expect_exit 0 "$SIGNER" assign --type $AV --thumbprint "$OLD"
E=$(($(date +%s) + 7200))
expect_exit 0 "$SIGNER" roll --type $AV --thumbprint "$NEW" --effective-date "$(iso $E)"

# signerd reaches the token only through the wrapper; the CLI does not
sed "s|^uri = .*|uri = pkcs11:token=storm?module-path=$top_builddir/tests/lib/p11wrap.so|" \
	"$T/signer.conf" >"$T/sd.conf"
cat >>"$T/sd.conf" <<EOC

[server]
listen = unix:$T/sd.sock
workers = 2
poll_interval_ms = 200
EOC
P11WRAP_MODULE=$SOFTHSM_MODULE P11WRAP_FAULTS=$T/faults
export P11WRAP_MODULE P11WRAP_FAULTS
start_signerd sd --config "$T/sd.conf"
PID=$SD_PID
grep -q 'state version 2 loaded' "$T/sd.log" || fail "signerd did not load version 2: $(cat "$T/sd.log")"

plan() { printf '%s\n' "$@" >"$T/faults.tmp" && mv "$T/faults.tmp" "$T/faults"; }

cat >"$T/load.py" <<'EOP'
import http.client, json, os, socket, sys, time

T = sys.argv[1]

class Unix(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("signerd", timeout=30)
        self.path = path
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self.path)

c = Unix(f"{T}/sd.sock")
def call(method, path, body=None):
    c.request(method, path, json.dumps(body) if body is not None else None,
              {"Content-Type": "application/json"})
    r = c.getresponse()
    return r.status, r.read()

good = []
for i in range(10):
    st, b = call("POST", "/v1/tokens", {"type": "AudioVideoAuthentication", "sub": f"pre{i}"})
    assert st == 200, (st, b)
    good.append(json.loads(b)["token"])
open(f"{T}/ready", "w").close()
res = {"verify": 0, "rejected": [], "issued": 0, "issue_status": {},
       "versions": [], "health": []}
i = 0
last_probe = 0.0
while not os.path.exists(f"{T}/stop"):
    tok = good[i % len(good)]
    i += 1
    st, b = call("POST", "/v1/verify", {"token": tok})
    v = json.loads(b)
    res["verify"] += 1
    if st != 200 or not v.get("valid"):
        res["rejected"].append((time.time(), st, v.get("error")))
    if i % 10 == 0:
        st, b = call("POST", "/v1/tokens", {"type": "AudioVideoAuthentication", "sub": "storm"})
        res["issue_status"][str(st)] = res["issue_status"].get(str(st), 0) + 1
        if st == 200:
            res["issued"] += 1
            good = (good + [json.loads(b)["token"]])[-30:]
    now = time.time()
    if now - last_probe >= 0.1:
        last_probe = now
        st, b = call("GET", "/metrics")
        for line in b.decode().splitlines():
            if line.startswith("p11s_state_version "):
                res["versions"].append(int(line.split()[1]))
        st, b = call("GET", "/healthz")
        h = json.loads(b)
        res["health"].append((st, h.get("status"), h.get("state_version")))
json.dump(res, open(f"{T}/load.json", "w"))
EOP
plan ""
"$PYTHON" "$T/load.py" "$T" &
LOAD=$!
i=0
while [ ! -f "$T/ready" ]; do
	kill -0 $LOAD 2>/dev/null || fail "load generator failed before the storm"
	i=$((i + 1)); [ $i -lt 600 ] || fail "load generator not ready after 60 s"
	sleep 0.1
done

t_end=$(($(date +%s) + STORM))
n=0 writes=0
while [ "$(date +%s)" -lt $t_end ]; do
	case $((n % 5)) in
	0) plan "C_FindObjects EMPTY 5" ;;
	# a real logout (through a failed C_Sign), then failing logins
	1) plan "C_Sign CKR_USER_NOT_LOGGED_IN 1" "C_Login CKR_DEVICE_ERROR 3" ;;
	2) plan "C_FindObjectsInit CKR_DEVICE_ERROR 3" ;;
	3) plan "C_GetAttributeValue CKR_DEVICE_ERROR 4" "C_FindObjects EMPTY 2" ;;
	4) plan "C_OpenSession CKR_DEVICE_ERROR 2" "C_FindObjects CKR_DEVICE_ERROR 2" ;;
	esac
	n=$((n + 1))
	sleep 0.8
	plan ""
	# the state moves on meanwhile (written through the real module)
	if [ $((n % 3)) = 0 ]; then
		"$SIGNER" roll --replace --type $AV --thumbprint "$NEW" \
			--effective-date "$(iso $((E + n)))" >/dev/null || fail "roll --replace during the storm"
		writes=$((writes + 1))
	fi
	sleep 0.4
done
plan ""
WANT=$((2 + writes))
# after the storm the poller catches up with the last write (bounded wait)
i=0
until grep -q "state version $WANT loaded" "$T/sd.log"; do
	i=$((i + 1))
	[ $i -lt 300 ] || break
	sleep 0.1
done
touch "$T/stop"
wait $LOAD || fail "load generator failed"
kill -0 "$PID" || fail "signerd died in the storm"
curl -s --unix-socket "$T/sd.sock" http://signerd/metrics >"$T/metrics"
stop_signerd "$PID"

"$PYTHON" - "$T/load.json" "$T/sd.log" "$T/metrics" "$WANT" "$n" <<'EOP' || fail "poll storm"
import json, re, sys
res = json.load(open(sys.argv[1]))
log = open(sys.argv[2]).read()
metrics = dict(l.rsplit(" ", 1) for l in open(sys.argv[3]).read().splitlines()
               if l and not l.startswith("#"))
want, cycles = int(sys.argv[4]), int(sys.argv[5])
problems = []
if res["rejected"]:
    problems.append(f"{len(res['rejected'])} valid tokens rejected, first: {res['rejected'][:3]}")
vs = res["versions"]
if any(b < a for a, b in zip(vs, vs[1:])):
    problems.append(f"/metrics state version went backwards: {vs}")
hv = [h[2] for h in res["health"]]
if any(b < a for a, b in zip(hv, hv[1:])):
    problems.append(f"/healthz state version went backwards")
for new, was in re.findall(r"state version (\d+) loaded \(was (\d+)\)", log):
    if int(new) <= int(was):
        problems.append(f"log: state version {new} loaded (was {was})")
degraded = sum(1 for h in res["health"] if h[1] == "degraded")
if degraded == 0:
    problems.append("/healthz never said degraded during the storm")
if any(h[0] != 200 for h in res["health"]):
    problems.append("/healthz answered other than 200")
refused = int(metrics.get("p11s_state_regressions_refused_total", "0"))
errors = int(metrics.get("p11s_state_poll_errors_total", "0"))
if refused == 0:
    problems.append("no refused regression counted (empty listings not seen?)")
if "older than version" not in log:
    problems.append("the refused empty listing was not logged")
if int(metrics.get("p11s_state_version", "0")) != want:
    problems.append(f"final state version {metrics.get('p11s_state_version')}, wanted {want}")
print(f"storm: {cycles} fault cycles, {res['verify']} verifications, "
      f"{len(res['rejected'])} rejected; issues by status {res['issue_status']}; "
      f"versions seen {sorted(set(vs))}; poll errors {errors}, regressions refused {refused}; "
      f"healthz degraded in {degraded}/{len(res['health'])} probes")
for p in problems[:10]: print("  ", p)
assert not problems
assert res["verify"] > 100
EOP
pass "poll storm: no valid token rejected, the state version never went backwards"
