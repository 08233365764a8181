#!/bin/sh
# signer pool check (SPEC §7) against stand-in members serving canned
# /v1/status documents: plain HTTP (the document `signer status --json`
# prints for a real token), a UNIX socket (signerd's shape) and HTTPS with a
# client certificate.  The object under test is the pool-check client.
. "$top_srcdir/tests/lib/common.sh"
new_token pool
CA="$top_srcdir/tests/lib/mini_ca.py"
FAKE="$top_srcdir/tests/integration/fake_member.py"
AV=AudioVideoAuthentication

# a real status document with a staged roll
make_key old ES256 -60 172800; OLD=$KEY_SHA1
make_key new ES256 -60 259200; NEW=$KEY_SHA1
make_key other ES256 -60 259200; OTHER=$KEY_SHA1
expect_exit 0 "$SIGNER" assign --type $AV --thumbprint "$OLD"
E=$(( $(date +%s) + 600 ))
iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }
expect_exit 0 "$SIGNER" roll --type $AV --thumbprint "$NEW" --effective-date "$(iso $E)"
"$SIGNER" status --json >"$T/real.json"
"$PYTHON" - "$T/real.json" "$T/m1.json" <<'EOP'
import json, sys
d = json.load(open(sys.argv[1]))
d["member"] = {"id": "m1"}
json.dump(d, open(sys.argv[2], "w"))
EOP

# signerd's shape: {"key": {"thumbprint"}} and RFC 3339 instants
signerd_doc() { # FILE MEMBER STAGED_SHA1|- EFFECTIVE
	"$PYTHON" - "$@" "$OLD" "$AV" <<'EOP'
import json, sys, datetime
out, member, staged, eff, old, av = sys.argv[1:]
iso = lambda t: datetime.datetime.fromtimestamp(int(t), datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
key = lambda s: {"thumbprint": s, "sha256": "00" * 32}
t = {"type": av, "algorithm": "ES256",
     "current": {"key": key(old), "since": iso(1)},
     "staged": {"key": key(staged) if staged != "-" else None,
                "effective": iso(eff) if staged != "-" else None, "staged_at": None},
     "previous": {"key": None, "until": None, "expiry": None, "safe_removal": None}}
json.dump({"now": iso(1), "types": [t], "proposals": [],
           "member": {"id": member, "host": "h", "pid": 1}}, open(out, "w"))
EOP
}
signerd_doc "$T/m2.json" m2 "$NEW" "$E"
signerd_doc "$T/m3.json" m3 - 0

# TLS material: server certificate for localhost, a client certificate
"$PYTHON" "$CA" keycert "$T/ca" "$T/srv.key" "$T/srv.pem" --kind ec256 --cn localhost
"$PYTHON" "$CA" keycert "$T/ca" "$T/cli.key" "$T/cli.pem" --kind ec256 --cn pool-checker

start_member() { # NAME ARGS...
	_sm=$1; shift
	"$PYTHON" "$FAKE" --ready "$T/$_sm.ready" "$@" &
	echo $! >>"$T/pids"
	_i=0
	while [ ! -f "$T/$_sm.ready" ]; do
		_i=$((_i + 1)); [ $_i -lt 600 ] || fail "member $_sm did not start within 60 s"
		sleep 0.1
	done
}
start_member m1 --status "$T/m1.json"
start_member m2 --status "$T/m2.json" --unix "$T/m2.sock"
start_member m3 --status "$T/m3.json" --tls "$T/srv.pem" "$T/srv.key" --client-ca "$T/ca/ca.pem"
U1="http://127.0.0.1:$(cat "$T/m1.ready")"
U2="unix:$T/m2.sock"
U3="https://localhost:$(cat "$T/m3.ready")"
TLS="--cacert $T/ca/ca.pem --cert $T/cli.pem --key $T/cli.key"

# the third member lacks the staged key: named, with the deadline; exit 1
# shellcheck disable=SC2086
expect_exit 1 "$SIGNER" pool check $TLS "$U1" "$U2" "$U3"
expect_msg "member m1 ($U1): ready"
expect_msg "member m2 ($U2): ready"
expect_msg "member m3 ($U3): NOT READY"
expect_msg "lacks the staged key $(echo "$NEW" | cut -c1-12)"
expect_msg "deadline $AV: every member must hold key $NEW by $(iso $E)"
expect_msg "pool: NOT READY (2 of 3 members ready)"
pass "a member without the staged key is named; exit 1"

# all three ready: exit 0
signerd_doc "$T/m3.json" m3 "$NEW" "$E"
# shellcheck disable=SC2086
expect_exit 0 "$SIGNER" pool check $TLS "$U1" "$U2" "$U3"
expect_msg "pool: ready (3 of 3 members ready)"
# shellcheck disable=SC2086
expect_exit 0 "$SIGNER" pool check --json $TLS "$U1" "$U2" "$U3"
[ "$(json_get ready)" = True ] || fail "--json does not say ready: $OUT"
pass "all members hold the staged key: exit 0"

# a different effective instant, or another key staged, is reported
signerd_doc "$T/m2.json" m2 "$NEW" $((E + 30))
signerd_doc "$T/m3.json" m3 "$OTHER" "$E"
# shellcheck disable=SC2086
expect_exit 1 "$SIGNER" pool check $TLS "$U1" "$U2" "$U3"
expect_msg "is staged effective $(iso $((E + 30))), not $(iso $E)"
expect_msg "it has $(echo "$OTHER" | cut -c1-12)"
# the earliest instant is the deadline, whichever member has it
signerd_doc "$T/m2.json" m2 "$NEW" $((E - 60))
# shellcheck disable=SC2086
expect_exit 1 "$SIGNER" pool check $TLS "$U1" "$U2" "$U3"
expect_msg "deadline $AV: every member must hold key $NEW by $(iso $((E - 60)))"
pass "different effective instants and keys reported; the earliest is the deadline"

# without the client certificate the TLS member is unreachable, not ready
expect_exit 1 "$SIGNER" pool check --cacert "$T/ca/ca.pem" "$U3"
expect_msg "NOT READY: unreachable"
# an untrusted server certificate
expect_exit 1 "$SIGNER" pool check --cert "$T/cli.pem" --key "$T/cli.key" "$U3"
expect_msg "unreachable"
expect_exit 1 "$SIGNER" pool check "http://127.0.0.1:1"
expect_msg "unreachable"
expect_exit 2 "$SIGNER" pool check "ftp://example.net"
expect_exit 2 "$SIGNER" pool check --cert "$T/cli.pem" "$U1"
pass "unreachable members, bad certificates and bad URLs are reported"
