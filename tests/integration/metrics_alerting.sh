#!/bin/sh
# The alerting gauges of /metrics against the state, on a real signerd over a
# throwaway SoftHSM2 token, parsed with Debian's python3-prometheus-client:
# each key's certificate validity, a staged roll's effective instant, the
# roll deadline (current.notAfter - the largest min_lead of the types the
# current key issues for), the previous key's switch and safe-removal
# instants, p11s_build_info and the process_* basics; then the same state
# drawn as an SVG timeline by signer status --svg and GET /v1/timeline.svg,
# checked with xmllint and rendered with rsvg-convert.
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/integration/signerd_lib.sh"

"$PYTHON" -c 'import prometheus_client' 2>/dev/null ||
	fail "python3-prometheus-client is needed (Debian package python3-prometheus-client)"

new_token metrics
cat >>"$T/signer.conf" <<EOC

[policy]
clock_skew = 1s
jwks_max_age = 2s
past_grace = 1s

[type AudioVideoAuthentication]
token_lifetime = 3s
min_lead = 3s

[type Short]
algorithm = ES256
token_lifetime = 1h
min_lead = 2h

[type Long]
algorithm = ES256
token_lifetime = 1h
min_lead = 5h
EOC
AV=AudioVideoAuthentication
make_key av-old ES256 -60 7200
OLD=$KEY_SHA1
make_key av-mid ES256 -30 86400
MID=$KEY_SHA1
make_key av-new ES256 -10 172800
NEW=$KEY_SHA1
make_key shared ES256 -60 604800
SHARED=$KEY_SHA1
make_key oa RS256 -60 432000
"$SIGNER" assign --type OAuthTokenIssuer --thumbprint "$KEY_SHA1" >/dev/null
"$SIGNER" assign --type $AV --thumbprint "$OLD" >/dev/null
# one key for two types: its deadline is set by the larger min_lead (5h)
"$SIGNER" assign --type Short,Long --thumbprint "$SHARED" >/dev/null
# a switch to av-mid (the previous key is then av-old), then av-new staged
E1=$(($(date +%s) + 5))
"$SIGNER" roll --type $AV --thumbprint "$MID" --effective-date "$(date -u -d "@$E1" +%Y-%m-%dT%H:%M:%SZ)" >/dev/null
i=0
while [ "$(date +%s)" -le "$E1" ]; do
	i=$((i + 1))
	[ $i -lt 400 ] || fail "the clock did not pass $E1"
	sleep 0.1
done
E2=$(($(date +%s) + 3600))
"$SIGNER" roll --type $AV --thumbprint "$NEW" --effective-date "$(date -u -d "@$E2" +%Y-%m-%dT%H:%M:%SZ)" >/dev/null

cat >>"$T/signer.conf" <<EOC

[server]
listen = unix:$T/sd.sock
poll_interval_ms = 200
EOC
before=$(date +%s)
start_signerd sd
PID=$SD_PID
U="--unix-socket $T/sd.sock"
# shellcheck disable=SC2086
expect_http 200 GET http://signerd/v1/status "" $U
printf '%s' "$BODY" >"$T/status.json"
# shellcheck disable=SC2086
expect_http 200 GET http://signerd/metrics "" $U
printf '%s' "$BODY" >"$T/metrics.txt"
for k in av-old av-mid av-new shared oa; do
	printf '%s %s %s\n' "$k" \
		"$(date -d "$(openssl x509 -in "$T/$k.pem" -noout -startdate | sed 's/notBefore=//')" +%s)" \
		"$(date -d "$(openssl x509 -in "$T/$k.pem" -noout -enddate | sed 's/notAfter=//')" +%s)"
done >"$T/certs.txt"

"$PYTHON" - "$T" "$E2" "$before" "$PID" "$("$SIGNERD" --version | sed 's/^signerd //')" <<'EOP' || fail "a gauge disagrees with the state"
import calendar, json, sys, time
from prometheus_client.parser import text_string_to_metric_families
T, E2, before, pid, version = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
status = json.load(open(f"{T}/status.json"))
certs = {l.split()[0]: (int(l.split()[1]), int(l.split()[2])) for l in open(f"{T}/certs.txt")}
series = [s for f in text_string_to_metric_families(open(f"{T}/metrics.txt").read()) for s in f.samples]

def epoch(s):
    return calendar.timegm(time.strptime(s, "%Y-%m-%dT%H:%M:%SZ"))

def samples(name, **labels):
    return [s for s in series if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())]

def one(name, **labels):
    got = samples(name, **labels)
    assert len(got) == 1, (name, labels, got)
    return got[0].value

checked = 0
types = {t["type"]: t for t in status["types"]}
for tname, t in types.items():
    mins = {x["type"]: x["min_lead"] for x in status["types"]}
    for role, key in (("current", t["current"]["key"]), ("staged", t["staged"]["key"]),
                      ("previous", t["previous"]["key"])):
        if key is None:
            assert not samples("p11s_key_not_after_timestamp_seconds", type=tname, role=role)
            continue
        for g, field in (("p11s_key_not_before_timestamp_seconds", "not_before"),
                         ("p11s_key_not_after_timestamp_seconds", "not_after")):
            assert one(g, type=tname, role=role, kid=key["kid"]) == epoch(key[field]), (g, tname, role)
            checked += 1
    cur = t["current"]["key"]
    # the types the current key issues for, and the largest of their min_lead
    serves = [x["type"] for x in status["types"] if x["current"]["key"] and x["current"]["key"]["sha256"] == cur["sha256"]]
    deadline = epoch(cur["not_after"]) - max(mins[x] for x in serves)
    assert one("p11s_roll_deadline_timestamp_seconds", type=tname, kid=cur["kid"]) == deadline, (tname, deadline)
    checked += 1
    staged = t["staged"]["key"]
    assert one("p11s_roll_staged", type=tname) == (1 if staged else 0)
    if staged:
        assert one("p11s_roll_effective_timestamp_seconds", type=tname, kid=staged["kid"]) == epoch(t["staged"]["effective"])
        checked += 1
    else:
        assert not samples("p11s_roll_effective_timestamp_seconds", type=tname)
    prev = t["previous"]["key"]
    if prev:
        assert one("p11s_previous_key_safe_removal_timestamp_seconds", type=tname, kid=prev["kid"]) == epoch(t["previous"]["safe_removal"])
        assert one("p11s_previous_key_switched_timestamp_seconds", type=tname, kid=prev["kid"]) == epoch(t["previous"]["until"])
        checked += 2

# the scenario itself, against the certificates
av = types["AudioVideoAuthentication"]
assert one("p11s_key_not_after_timestamp_seconds", type="AudioVideoAuthentication", role="previous") == certs["av-old"][1]
assert one("p11s_key_not_after_timestamp_seconds", type="AudioVideoAuthentication", role="current") == certs["av-mid"][1]
assert one("p11s_key_not_before_timestamp_seconds", type="AudioVideoAuthentication", role="staged") == certs["av-new"][0]
assert one("p11s_roll_effective_timestamp_seconds", type="AudioVideoAuthentication") == E2
assert one("p11s_roll_deadline_timestamp_seconds", type="AudioVideoAuthentication") == certs["av-mid"][1] - 3
assert one("p11s_roll_deadline_timestamp_seconds", type="Short") == certs["shared"][1] - 5 * 3600
assert one("p11s_roll_deadline_timestamp_seconds", type="Long") == certs["shared"][1] - 5 * 3600
assert one("p11s_roll_deadline_timestamp_seconds", type="OAuthTokenIssuer") == certs["oa"][1] - 24 * 3600
assert one("p11s_roll_staged", type="OAuthTokenIssuer") == 0
# safe removal: the earlier of old expiry and switch + longest lifetime + skew
assert one("p11s_previous_key_safe_removal_timestamp_seconds", type="AudioVideoAuthentication") == \
    min(certs["av-old"][1], epoch(av["previous"]["until"]) + 3 + 1)

info = samples("p11s_build_info")
assert len(info) == 1 and info[0].value == 1 and info[0].labels["version"] == version, info
start = one("process_start_time_seconds")
assert before - 2 <= start <= time.time() + 1, (before, start)
with open(f"/proc/{pid}/status") as f:
    rss_kb = [int(l.split()[1]) for l in f if l.startswith("VmRSS:")][0]
rss = one("process_resident_memory_bytes")
assert 0.5 * rss_kb * 1024 <= rss <= 2 * rss_kb * 1024, (rss, rss_kb)
import os
fds = one("process_open_fds")
assert 3 <= fds <= len(os.listdir(f"/proc/{pid}/fd")) + 8, fds
assert one("process_cpu_seconds_total") >= 0
print(f"metrics: {checked} state gauges equal the state; process and build_info plausible")
EOP
pass "alerting gauges equal the state"

# ---- the same state as a picture: signer status --svg and GET /v1/timeline.svg
command -v rsvg-convert >/dev/null || fail "rsvg-convert is needed (Debian package librsvg2-bin)"
command -v xmllint >/dev/null || fail "xmllint is needed (Debian package libxml2-utils)"
"$SIGNER" status --svg "$T/cli.svg" || fail "signer status --svg"
# shellcheck disable=SC2086
curl -s -S -m 10 -D "$T/svg.hdr" -o "$T/daemon.svg" $U http://signerd/v1/timeline.svg || fail "GET /v1/timeline.svg"
grep -qi '^Content-Type: image/svg+xml' "$T/svg.hdr" || fail "timeline Content-Type: $(cat "$T/svg.hdr")"
E2_UTC=$(date -u -d "@$E2" '+%Y-%m-%d %H:%M:%SZ')
OLD_EXP=$(date -u -d "@$(sed -n 's/^av-old [0-9]* //p' "$T/certs.txt")" '+%Y-%m-%d %H:%M:%SZ')
for svg in cli daemon; do
	xmllint --noout "$T/$svg.svg" || fail "$svg.svg is not well-formed XML"
	rsvg-convert -f png -o "$T/$svg.png" "$T/$svg.svg" || fail "rsvg-convert could not render $svg.svg"
	"$PYTHON" - "$T/$svg.png" <<'EOP' || fail "$svg.png is not a non-empty PNG"
import struct, sys
b = open(sys.argv[1], "rb").read()
assert b[:8] == b"\x89PNG\r\n\x1a\n", b[:8]
w, h = struct.unpack(">II", b[16:24])
assert w >= 800 and h >= 400, (w, h)
print(f"{sys.argv[1]}: {w}x{h} PNG, {len(b)} bytes")
EOP
	for want in "effective" "$E2_UTC" "old cert expires" "$OLD_EXP" "safe removal" "now" \
		"roll deadline" "verifies (overlap)" "published" AudioVideoAuthentication OAuthTokenIssuer; do
		grep -qF "$want" "$T/$svg.svg" || fail "$svg.svg lacks '$want'"
	done
done
pass "the timeline renders (rsvg-convert) from the CLI and from signerd"
expect_exit 2 "$SIGNER" status --svg "$T/x.svg" --json
[ ! -e "$T/x.svg" ] || fail "a refused --svg wrote a file"
stop_signerd "$PID"
