#!/bin/sh
# Two processes each perform 200 read-modify-write updates of the state on one
# token at the same time: no update may be lost (SPEC §4).
. "$top_srcdir/tests/lib/common.sh"
new_token concurrency
TOOL="$top_builddir/tests/lib/statetool"
PIN="file:$T/pin"
LOCK="$T/token.lock"

"$TOOL" "$TOKEN_URI" "$PIN" "$LOCK" incr 200 &
a=$!
"$TOOL" "$TOKEN_URI" "$PIN" "$LOCK" incr 200 &
b=$!
wait $a || fail "writer A failed"
wait $b || fail "writer B failed"
set -- $("$TOOL" "$TOKEN_URI" "$PIN" "$LOCK" get)
[ "$1" = 400 ] || fail "state version is $1 after 2 x 200 updates, not 400"
[ "$2" = 400 ] || fail "last update recorded n=$2, not 400"
# exactly one state record is left on the token
n=$(SOFTHSM2_CONF="$SOFTHSM2_CONF" pkcs11-tool --module "$SOFTHSM_MODULE" --token-label concurrency \
	--login --pin "$TEST_PIN" --list-objects --type data 2>/dev/null | grep -c 'p11-signer/state' || true)
[ "$n" = 1 ] || fail "$n state records left on the token, expected 1"
pass "2 x 200 concurrent updates -> version 400, one record"
