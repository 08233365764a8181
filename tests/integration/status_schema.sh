#!/bin/sh
# One status schema: `signer status --json` and signerd's GET /v1/status give
# each type's keys and timeline in the same document (RFC 3339 UTC instants,
# `thumbprint`/`expiry`, the timeline of policy/'s next-event function), plus
# the former CLI field names, deprecated, for one release.
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/integration/signerd_lib.sh"

new_token status
cat >>"$T/signer.conf" <<EOC

[type AudioVideoAuthentication]
token_lifetime = 10m
min_lead = 1h

[type OAuthTokenIssuer]
token_lifetime = 10m
min_lead = 1h

[server]
listen = unix:$T/sd.sock
workers = 1
poll_interval_ms = 200
EOC
AV=AudioVideoAuthentication
OA=OAuthTokenIssuer
make_key av-old ES256 -60 86400
AV_OLD=$KEY_SHA1
make_key av-new ES256 -60 172800
AV_NEW=$KEY_SHA1
make_key oa RS256 -60 86400
"$SIGNER" assign --type $AV --thumbprint "$AV_OLD" >/dev/null
"$SIGNER" assign --type $OA --thumbprint "$KEY_SHA1" >/dev/null
# E two hours ahead: no instant of the timeline passes while the test runs.
E=$(($(date +%s) + 7200))
E_UTC=$(date -u -d "@$E" +%Y-%m-%dT%H:%M:%SZ)
"$SIGNER" roll --type $AV --thumbprint "$AV_NEW" --effective-date "$E_UTC" >/dev/null

start_signerd sd --config "$T/signer.conf"
SD=$SD_PID
"$SIGNER" status --json >"$T/cli.json" || fail "signer status --json"
curl -s -S -m 10 --unix-socket "$T/sd.sock" http://signerd/v1/status >"$T/api.json" ||
	fail "GET /v1/status"

"$PYTHON" - "$T/cli.json" "$T/api.json" "$AV_OLD" "$AV_NEW" "$E_UTC" <<'EOP' || fail "status schema"
import calendar, json, re, sys, time

cli, api = (json.load(open(p)) for p in sys.argv[1:3])
old, new, e_utc = sys.argv[3:6]
RFC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")

def bad(msg):
    print("FAIL:", msg, file=sys.stderr)
    sys.exit(1)

def epoch(s):
    return calendar.timegm(time.strptime(s, "%Y-%m-%dT%H:%M:%SZ"))

def instant(where, v, null_ok=True):
    if v is None and null_ok:
        return
    if not isinstance(v, str) or not RFC.match(v):
        bad(f"{where} is {v!r}, not an RFC 3339 UTC instant")

# one document for both programs (the timeline is computed from the same state)
if cli["types"] != api["types"]:
    bad("signer status --json and GET /v1/status differ:\n%s\n%s"
        % (json.dumps(cli["types"], sort_keys=True), json.dumps(api["types"], sort_keys=True)))
times = {"current": ["since"], "staged": ["effective", "staged_at"],
         "previous": ["until", "expiry", "safe_removal"]}
for t in api["types"]:
    for role, fields in times.items():
        o = t[role]
        for f in fields:
            instant(f"{t['type']}.{role}.{f}", o[f])
        k = o["key"]
        if k is None:
            if "sha1" in o:
                bad(f"{t['type']}.{role}: deprecated sha1 without a key")
            continue
        instant(f"{role}.key.not_before", k["not_before"], False)
        instant(f"{role}.key.not_after", k["not_after"], False)
        if o["sha1"] != k["thumbprint"] or not k.get("kid"):
            bad(f"{t['type']}.{role}: sha1 {o['sha1']} / thumbprint {k['thumbprint']} / kid")
    if t["current"]["not_after"] != epoch(t["current"]["key"]["not_after"]):
        bad("deprecated current.not_after is not the certificate's expiry in seconds")
    prev = [e["at"] for e in t["timeline"]]
    if prev != sorted(prev, key=epoch):
        bad(f"{t['type']}: timeline not in order: {prev}")
    for e in t["timeline"]:
        instant("timeline.at", e["at"], False)
        if e["type"] != t["type"]:
            bad(f"timeline of {t['type']} holds {e}")
    future = [e for e in t["timeline"] if epoch(e["at"]) > epoch(api["now"])]
    if t["next_event"] != (future[0] if future else None):
        bad(f"{t['type']}: next_event {t['next_event']} is not the first of {future}")

av = [t for t in api["types"] if t["type"] == "AudioVideoAuthentication"][0]
if av["current"]["key"]["thumbprint"] != old or av["staged"]["key"]["thumbprint"] != new:
    bad("A/V keys")
if av["staged"]["effective"] != e_utc:
    bad(f"A/V staged.effective {av['staged']['effective']} != {e_utc}")
ev = {(e["kind"], e["role"]): e for e in av["timeline"]}
want = {("published", "staged"): av["staged"]["staged_at"],
        ("verifies", "staged"): None, ("test_signature", "staged"): None,
        ("switch", "staged"): e_utc, ("switch", "current"): av["current"]["since"],
        ("expiry", "current"): av["current"]["key"]["not_after"],
        ("safe_removal", "current"): None}
for k, at in want.items():
    if k not in ev or (at is not None and ev[k]["at"] != at):
        bad(f"A/V timeline lacks {k} at {at}: {av['timeline']}")
if epoch(ev[("test_signature", "staged")]["at"]) != epoch(e_utc) - 30:
    bad("the final test signature is not due 30 s before E")
if av["next_event"]["kind"] != "verifies":
    bad(f"A/V next event {av['next_event']}")
EOP
pass "signer status --json and GET /v1/status: one document per type, RFC 3339 instants, deprecated aliases"

# The text timeline comes from the same events, in order.
expect_exit 0 "$SIGNER" status --type $AV
printf '%s\n' "$OUT" | grep -n 'final test signature\|switch: \|<- now\|removable after' |
	cut -d: -f1 | tr '\n' ' ' >"$T/lines"
set -- $(cat "$T/lines")
[ $# = 4 ] && [ "$1" -lt "$2" ] && [ "$2" -lt "$3" ] && [ "$3" -lt "$4" ] ||
	fail "text timeline order (now, test, switch, removable): $OUT"
pass "signer status: the text timeline lists the same events in order"

stop_signerd "$SD"
