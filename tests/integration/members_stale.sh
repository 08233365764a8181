#!/bin/sh
# Member records of killed signerd (issue 9 item 6): `signer status` and
# `signer pool check` call a member stale once its last check is older than
# 10 x poll_interval_ms or 30 s, whichever is larger (the clock of the CLI is
# moved with libfaketime rather than waiting); the next signerd started on the
# same host removes the records of its dead predecessors, and only those.
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/integration/signerd_lib.sh"

LIBFT=""
for f in /usr/lib/*/faketime/libfaketimeMT.so.1 /usr/lib/faketime/libfaketimeMT.so.1; do
	[ -f "$f" ] && LIBFT=$f && break
done
[ -n "$LIBFT" ] || fail "libfaketime not found (Debian package faketime)"
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
export ASAN_OPTIONS
at() {
	_at=$1; shift
	env LD_PRELOAD="$LIBFT" FAKETIME_DONT_FAKE_MONOTONIC=1 \
		FAKETIME="+$((_at - $(date +%s)))s" "$@"
}

AV=AudioVideoAuthentication
new_token members
make_key av1 ES256 -60 86400
expect_exit 0 "$SIGNER" assign --type $AV --thumbprint "$KEY_SHA1"
PORT_B=$(free_port)
cp "$T/signer.conf" "$T/a.conf"
cat >>"$T/a.conf" <<EOC

[server]
listen = unix:$T/a.sock
poll_interval_ms = 200
EOC
cp "$T/signer.conf" "$T/b.conf"
cat >>"$T/b.conf" <<EOC

[server]
listen = http://127.0.0.1:$PORT_B
poll_interval_ms = 200
EOC

# member_field ID FIELD: from `signer status --json` (empty when not listed)
member_field() {
	"$SIGNER" status --json | "$PYTHON" -c '
import json, sys
for m in json.load(sys.stdin)["members"]:
    if m["member"] == sys.argv[1]: print(m[sys.argv[2]])' "$1" "$2"
}
wait_member() { # ID: until the member has written its record (bounded)
	i=0
	until [ -n "$(member_field "$1" checked_at)" ]; do
		i=$((i + 1)); [ $i -lt 300 ] || fail "no member record $1 after 30 s"
		sleep 0.1
	done
}

start_signerd a --config "$T/a.conf"
A=$SD_PID
A_ID="$(hostname):$A"
wait_member "$A_ID"
kill -KILL "$A"
set +e; wait "$A"; set -e
start_signerd b --config "$T/b.conf"
B=$SD_PID
B_ID="$(hostname):$B"
# b started while a's record was there and a was dead: b removed it
grep -q "removed the member record $A_ID" "$T/b.log" ||
	fail "signerd b did not remove the record of its dead predecessor: $(cat "$T/b.log")"
[ -z "$(member_field "$A_ID" checked_at)" ] || fail "the dead member's record is still listed"
pass "a new signerd removed the record of the SIGKILLed one on the same host"

# a member record whose process is gone stays until then, and goes stale
start_signerd a2 --config "$T/a.conf"
A2=$SD_PID
A2_ID="$(hostname):$A2"
wait_member "$A2_ID"
wait_member "$B_ID"
kill -KILL "$A2"
set +e; wait "$A2"; set -e
CHK=$(member_field "$A2_ID" checked_at)
[ "$(member_field "$A2_ID" stale_after)" = 30 ] || fail "stale bound $(member_field "$A2_ID" stale_after), wanted 30 s"
# (the exact boundary is a unit test; a slow start of the CLI must not matter)
expect_exit 0 at $((CHK + 25)) "$SIGNER" status
case "$OUT" in *"$A2_ID"*STALE*) fail "stale before the bound: $OUT" ;; esac
expect_exit 0 at $((CHK + 31)) "$SIGNER" status
expect_msg "STALE: last check"
printf '%s\n' "$OUT" | grep "$A2_ID" | grep -q STALE || fail "the killed member is not stale: $OUT"
expect_exit 0 at $((CHK + 31)) "$SIGNER" status --json
printf '%s' "$OUT" | "$PYTHON" -c '
import json, sys
ms = {m["member"]: m for m in json.load(sys.stdin)["members"]}
assert ms[sys.argv[1]]["stale"] is True, ms' "$A2_ID" || fail "status --json: not stale"
# on the real clock (just killed) nobody is stale yet
expect_exit 0 "$SIGNER" status
case "$OUT" in *STALE*) fail "stale before the bound: $OUT" ;; esac
pass "status: the killed member is stale 31 s after its last check, not 25 s after"

# pool check: a live member is ready; the same member seen 31 s later than
# its last check (a clock 31 s ahead) is stale, not ready
expect_exit 0 "$SIGNER" pool check "http://127.0.0.1:$PORT_B"
B_CHK=$(curl -s -S -m 10 "http://127.0.0.1:$PORT_B/v1/status" | "$PYTHON" -c '
import json, sys, calendar, time
print(calendar.timegm(time.strptime(json.load(sys.stdin)["member"]["checked_at"], "%Y-%m-%dT%H:%M:%SZ")))')
expect_exit 1 at $((B_CHK + 45)) "$SIGNER" pool check "http://127.0.0.1:$PORT_B"
expect_msg "NOT READY"
expect_msg "stale: its last successful check"
pass "pool check: a member whose last check is older than the bound is not ready"

# the next start on this host removes a2's record, keeps b's (alive)
start_signerd c --config "$T/a.conf"
C=$SD_PID
grep -q "removed the member record $A2_ID" "$T/c.log" || fail "c did not remove $A2_ID: $(cat "$T/c.log")"
grep -q "removed the member record $B_ID" "$T/c.log" && fail "c removed the live member $B_ID"
[ -z "$(member_field "$A2_ID" checked_at)" ] || fail "the dead member is still listed"
[ -n "$(member_field "$B_ID" checked_at)" ] || fail "the live member's record is gone"
stop_signerd "$C"
stop_signerd "$B"
pass "only dead predecessors' records are removed"
