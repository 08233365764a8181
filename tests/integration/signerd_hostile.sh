#!/bin/sh
# Hostile input against a real signerd on a SoftHSM2 token (issue 10, items 1
# and 4): the reported requests whose cut UTF-8 answered 500 "out of memory"
# now answer 400 / 422 / 404; a body without Content-Type is 415; and
# HOSTILE_COUNT (default 2000) random UTF-8 and binary strings in every string
# field of every endpoint, the path and the Content-Type get no 5xx and a
# valid JSON body each.  signerd must still be healthy afterwards.
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/integration/signerd_lib.sh"

new_token hostile
make_key av1 ES256 -60 86400
"$SIGNER" assign --type AudioVideoAuthentication --thumbprint "$KEY_SHA1" >/dev/null
cat >>"$T/signer.conf" <<EOC

[server]
listen = unix:$T/sd.sock
workers = 2
max_body = 8192
poll_interval_ms = 500
EOC
start_signerd sd
PID=$SD_PID

COUNT=${HOSTILE_COUNT:-2000}
SEED=${HOSTILE_SEED:-$(date +%s)}
echo "seed $SEED (HOSTILE_SEED=$SEED reproduces the run)"
start=$(date +%s)
"$PYTHON" "$top_srcdir/tests/integration/hostile.py" "$T/sd.sock" "$COUNT" "$SEED" \
	AudioVideoAuthentication || fail "hostile input got a 5xx or a body that is not JSON"
echo "$COUNT requests in $(($(date +%s) - start)) s"
pass "reported requests answer 400/422/404, no Content-Type is 415, $COUNT random strings: no 5xx"

# still serving, and nothing was logged as out of memory
expect_http 200 GET http://signerd/healthz "" --unix-socket "$T/sd.sock"
grep -q "out of memory" "$T/sd.log" && fail "signerd logged 'out of memory': $(grep 'out of memory' "$T/sd.log" | head -3)"
stop_signerd "$PID"
pass "signerd healthy after the hostile requests; stopped cleanly"
