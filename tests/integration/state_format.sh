#!/bin/sh
# A state record written by a newer release (its digest verifies, its format
# number is above ours) stops every reader and writer with "written by a
# newer p11-signer (format N); upgrade", exit 3, and is never destroyed; a
# torn record is still skipped and swept (SPEC §4).
. "$top_srcdir/tests/lib/common.sh"
new_token format
cat >>"$T/signer.conf" <<EOC

[policy]
clock_skew = 1s
jwks_max_age = 30s
past_grace = 5s

[type AudioVideoAuthentication]
token_lifetime = 10s
min_lead = 10s
EOC
AV=AudioVideoAuthentication
TOOL="$top_builddir/tests/lib/statetool"
PIN="file:$T/pin"
LOCK="$T/token.lock"

make_key cur ES256 -60 3600; CUR=$KEY_SHA1
make_key next ES256 -60 7200; NEXT=$KEY_SHA1
expect_exit 0 "$SIGNER" assign --type $AV --thumbprint "$CUR"
expect_exit 0 "$SIGNER" status --json
v_before=$(json_get state_version)

# what a later release would write on top of ours
"$TOOL" "$TOKEN_URI" "$PIN" "$LOCK" put-raw 50 2 || fail "cannot write the format-2 record"
FUTURE=v00000000000000000050.0000000000000001
before=$(token_snapshot)
for cmd in "status" "status --json" \
	"roll --type $AV --thumbprint $NEXT --effective-date auto" \
	"assign --type $AV --thumbprint $NEXT" "proposals" "audit verify"; do
	# shellcheck disable=SC2086
	expect_exit 3 "$SIGNER" $cmd
	expect_msg "written by a newer p11-signer (format 2); upgrade"
	"$TOOL" "$TOKEN_URI" "$PIN" "$LOCK" labels | grep -qx "$FUTURE" ||
		fail "'signer $cmd' destroyed the newer release's record"
done
[ "$(token_snapshot)" = "$before" ] || fail "a refused command changed the token"
# the library's writer path refuses too, and leaves it
expect_exit 1 "$TOOL" "$TOKEN_URI" "$PIN" "$LOCK" incr 1
expect_msg "written by a newer p11-signer (format 2); upgrade"
"$TOOL" "$TOKEN_URI" "$PIN" "$LOCK" labels | grep -qx "$FUTURE" || fail "a writer destroyed the record"
[ "$(token_snapshot)" = "$before" ] || fail "a refused writer changed the token"

# once the operator removes it (as the newer release's downgrade would), our
# own state is back unchanged
"$TOOL" "$TOKEN_URI" "$PIN" "$LOCK" destroy "$FUTURE" || fail "cannot remove the record"
expect_exit 0 "$SIGNER" status --json
[ "$(json_get state_version)" = "$v_before" ] || fail "the state changed: $v_before -> $(json_get state_version)"

# a whole record of our own format that this release cannot use (here: a
# version that is not a number) is skipped but left in place; the writer
# carries on
"$TOOL" "$TOKEN_URI" "$PIN" "$LOCK" put-raw 60 1 '"sixty"' || fail "cannot write the record"
expect_exit 0 "$SIGNER" roll --type $AV --thumbprint "$NEXT" --effective-date auto
"$TOOL" "$TOKEN_URI" "$PIN" "$LOCK" labels | grep -q '^v00000000000000000060\.' ||
	fail "a whole record was swept"
pass "newer-format record refused by every command and kept; whole records never swept"
