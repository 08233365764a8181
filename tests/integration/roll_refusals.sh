#!/bin/sh
# Every refusal of a roll (SPEC §3) through the CLI: exit 1, the rule and a
# specific message, and nothing changed on the token.
. "$top_srcdir/tests/lib/common.sh"
new_token rules
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
TZ=UTC; export TZ
utc() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }

make_key cur ES256 -60 3600;     CUR=$KEY_SHA1
make_key next ES256 -60 7200;    NEXT=$KEY_SHA1
make_key early ES256 600 7200;   EARLY=$KEY_SHA1
make_key short ES256 -60 1800;   SHORT=$KEY_SHA1
make_key edge ES256 -60 3605;    EDGE=$KEY_SHA1
make_key rsa RS256 -60 7200;     RSA=$KEY_SHA1
make_key old ES256 -120 -60;     OLD=$KEY_SHA1
expect_exit 0 "$SIGNER" assign --type $AV --thumbprint "$CUR"
cur_end=$(date -d "$(openssl x509 -in "$T/cur.pem" -noout -enddate | cut -d= -f2)" +%s)
edge_end=$(date -d "$(openssl x509 -in "$T/edge.pem" -noout -enddate | cut -d= -f2)" +%s)
before=$(token_snapshot)

# refused KEY DATE RULE TEXT...: exit 1, rule named, each TEXT in the message, token unchanged
refused() {
	key=$1 date=$2 rule=$3
	shift 3
	expect_exit 1 "$SIGNER" roll --type $AV --thumbprint "$key" --effective-date "$date"
	expect_msg "refused ($rule)"
	for text in "$@"; do expect_msg "$text"; done
	[ "$(token_snapshot)" = "$before" ] || fail "a refused roll ($rule) changed the token"
}

now=$(date +%s)
refused "$NEXT" "$(utc $((now - 60)))" in_past "$(utc $((now - 60)))"
refused "$NEXT" "$(utc $((now + 10)))" jwks_cache "30s"
refused "$NEXT" "$(utc $((cur_end - 5)))" lead_too_short $AV "10s" "$(utc $((cur_end - 10)))"
refused "$EARLY" "$(utc $((now + 120)))" not_yet_valid
refused "$SHORT" "$(utc $((now + 120)))" expires_before_current
refused "$EDGE" "$(utc $((edge_end - 5)))" validity_too_short "10s"
refused "$RSA" "$(utc $((now + 120)))" key_type ES256
refused "$OLD" "$(utc $((now + 120)))" expired
refused "$CUR" "$(utc $((now + 120)))" same_key
pass "each rule refused with its reason, token unchanged"

# usage errors: exit 2, what was expected is named
expect_exit 2 "$SIGNER" roll --type $AV --thumbprint "$NEXT" --effective-date "tomorrow"
expect_msg "2012-07-22T06:00:00Z"
expect_exit 2 "$SIGNER" roll --type $AV --thumbprint "$NEXT" --effective-date "2030-07-22T06:00:00"
expect_msg "add Z or an offset"
expect_exit 2 "$SIGNER" roll --type $AV --thumbprint "$NEXT" --effective-date "2/30/2030 6:00:00 AM"
expect_exit 2 "$SIGNER" roll --type $AV --thumbprint deadbeefdeadbeef --effective-date auto
expect_msg "deadbeefdeadbeef"
expect_exit 2 "$SIGNER" roll --type Nope --thumbprint "$NEXT" --effective-date auto
expect_msg "Nope"
[ "$(token_snapshot)" = "$before" ] || fail "a usage error changed the token"
pass "usage errors"

# the US form in the local zone is echoed in UTC and local time (TZ=UTC here)
e=$((now + 600))
us=$(date -u -d "@$e" "+%-m/%-d/%Y %-I:%M:%S %p")
expect_exit 0 "$SIGNER" roll --type $AV --thumbprint "$NEXT" --effective-date "$us" --dry-run
expect_msg "$(utc $e)"
expect_msg "dry run"
[ "$(token_snapshot)" = "$before" ] || fail "--dry-run changed the token"

# a pending roll blocks another until --replace withdraws it
expect_exit 0 "$SIGNER" roll --type $AV --thumbprint "$NEXT" --effective-date "$(utc $((now + 600)))"
staged=$(token_snapshot)
before=$staged
refused "$EDGE" "$(utc $((now + 300)))" pending "$NEXT" "--replace"
expect_exit 0 "$SIGNER" roll --type $AV --thumbprint "$EDGE" --effective-date "$(utc $((now + 300)))" --replace
expect_exit 0 "$SIGNER" status --json
printf '%s' "$OUT" | "$PYTHON" -c "
import json, sys
t = json.load(sys.stdin)['types'][0]
assert t['staged']['sha1'] == '$EDGE' and t['staged']['effective'] == '$(utc $((now + 300)))', t
" || fail "--replace did not replace the pending roll"
pass "pending roll refused without --replace, replaced with it"
