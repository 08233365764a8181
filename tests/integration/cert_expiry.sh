#!/bin/sh
# Rule 3c (issue 9 item 5) with the clock moved by libfaketime (Debian
# faketime): no token is signed with a key whose certificate has expired
# (CLI exit 1 naming the key and its notAfter; signerd 503 with a JSON
# error); a token issued shortly before notAfter has exp = notAfter; a token
# whose key's certificate has expired does not verify, though its own exp is
# within the leeway; `signer status` says so loudly.
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/integration/signerd_lib.sh"

LIBFT=""
for f in /usr/lib/*/faketime/libfaketimeMT.so.1 /usr/lib/faketime/libfaketimeMT.so.1; do
	[ -f "$f" ] && LIBFT=$f && break
done
[ -n "$LIBFT" ] || fail "libfaketime not found (Debian package faketime)"
# ASan wants to come first; libfaketime must be preloaded before it
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
export ASAN_OPTIONS

AV=AudioVideoAuthentication
new_token expiry
cat >>"$T/signer.conf" <<EOC

[type AudioVideoAuthentication]
token_lifetime = 1h
min_lead = 1h

[server]
listen = unix:$T/sd.sock
poll_interval_ms = 200
EOC
make_key av1 ES256 -60 86400
KEY=$KEY_SHA1
expect_exit 0 "$SIGNER" assign --type $AV --thumbprint "$KEY"
NA=$(date -d "$(openssl x509 -in "$T/av1.pem" -noout -enddate | sed 's/notAfter=//')" +%s)
NA_ISO=$(date -u -d "@$NA" +%Y-%m-%dT%H:%M:%SZ)

# at: run a command with the wall clock at the instant $1 (epoch seconds)
at() {
	_at=$1; shift
	env LD_PRELOAD="$LIBFT" FAKETIME_DONT_FAKE_MONOTONIC=1 \
		FAKETIME="+$((_at - $(date +%s)))s" "$@"
}
exp_of() {
	"$PYTHON" -c 'import jwt, sys; print(jwt.decode(sys.argv[1], options={"verify_signature": False})["exp"])' "$1"
}

# 100 s before notAfter: issued, exp cut to notAfter, and the CLI says so
expect_exit 0 at $((NA - 100)) "$SIGNER" issue --type $AV --sub alice
TOKEN=$(printf '%s\n' "$OUT" | tail -n 1)
expect_msg "shortened"
[ "$(exp_of "$TOKEN")" = "$NA" ] || fail "exp $(exp_of "$TOKEN") is not notAfter $NA"
printf '%s' "$TOKEN" >"$T/token"
expect_exit 0 at $((NA - 50)) "$SIGNER" verify --token-file "$T/token"
pass "a token issued 100 s before notAfter expires at notAfter"

# 30 s after notAfter the token is within its exp leeway (60 s) but its key's
# certificate has expired: refused
expect_exit 1 at $((NA + 30)) "$SIGNER" verify --token-file "$T/token"
expect_msg "expired at $NA_ISO"
expect_msg "$KEY"
pass "a token of a key whose certificate expired does not verify"

# 400 days later: issue refused (exit 1) naming the key and its notAfter
expect_exit 1 at $((NA + 400 * 86400)) "$SIGNER" issue --type $AV --sub alice
expect_msg "$KEY"
expect_msg "$NA_ISO"
expect_msg "notAfter"
expect_exit 0 at $((NA + 400 * 86400)) "$SIGNER" status
expect_msg "CERTIFICATE EXPIRED at $NA_ISO"
expect_exit 0 at $((NA + 400 * 86400)) "$SIGNER" status --json
[ "$(printf '%s' "$OUT" | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["types"][0]["current"]["certificate_valid"])')" = False ] ||
	fail "status --json does not mark the expired certificate: $OUT"
expect_exit 0 "$SIGNER" status
case "$OUT" in *"CERTIFICATE EXPIRED"*) fail "status warns before expiry" ;; esac
pass "issue refused after notAfter; status marks the expired current certificate"

# signerd on a clock it reads from a file: before, then after notAfter
echo "+$((NA - 100 - $(date +%s)))s" >"$T/clock"
env LD_PRELOAD="$LIBFT" FAKETIME_DONT_FAKE_MONOTONIC=1 FAKETIME_NO_CACHE=1 \
	FAKETIME_TIMESTAMP_FILE="$T/clock" "$SIGNERD" --foreground >"$T/sd.log" 2>&1 &
PID=$!
echo "$PID" >>"$T/pids"
i=0
until grep -q ' ready: ' "$T/sd.log" 2>/dev/null; do
	kill -0 "$PID" 2>/dev/null || fail "signerd exited: $(cat "$T/sd.log")"
	i=$((i + 1)); [ $i -lt 600 ] || fail "signerd not ready after 60 s"
	sleep 0.1
done
U="--unix-socket $T/sd.sock"
# shellcheck disable=SC2086
expect_http 200 POST http://signerd/v1/tokens '{"type":"AudioVideoAuthentication","sub":"bob"}' $U
[ "$(body_get exp)" = "$NA" ] || fail "signerd: exp $(body_get exp) is not notAfter $NA"
[ "$(exp_of "$(body_get token)")" = "$NA" ] || fail "signerd: the token's exp is not notAfter"
pass "signerd: exp cut to notAfter and the answer says so"

echo "+$((NA + 30 - $(date +%s)))s" >"$T/clock"
# shellcheck disable=SC2086
expect_http 503 POST http://signerd/v1/tokens '{"type":"AudioVideoAuthentication","sub":"bob"}' $U
[ "$(body_get error)" = issuing_certificate_invalid ] || fail "signerd error: $BODY"
case "$BODY" in *"$KEY"*"$NA_ISO"*) ;; *) fail "signerd does not name the key and notAfter: $BODY" ;; esac
# shellcheck disable=SC2086
expect_http 422 POST http://signerd/v1/verify "{\"token\":\"$TOKEN\"}" $U
[ "$(body_get valid)" = false ] || fail "signerd verified a token of an expired key: $BODY"
case "$BODY" in *"expired at $NA_ISO"*) ;; *) fail "signerd verify error: $BODY" ;; esac
# shellcheck disable=SC2086
expect_http 200 GET http://signerd/.well-known/jwks.json "" $U
[ "$(body_get keys)" = "[]" ] || fail "an expired key is still published: $BODY"
stop_signerd "$PID"
pass "signerd: 503 issuing_certificate_invalid, verification refused, key unpublished after notAfter"
