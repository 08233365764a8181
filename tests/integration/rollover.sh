#!/bin/sh
# The source system's rollover timeline, compressed to about a minute, with
# the real clock, for both default types (SPEC §1, §3).
. "$top_srcdir/tests/lib/common.sh"
new_token roll
cat >>"$T/signer.conf" <<EOC

[policy]
clock_skew = 1s
jwks_max_age = 2s
past_grace = 1s

[type AudioVideoAuthentication]
token_lifetime = 10s
min_lead = 10s
issuer = https://edge.example.net
audience = media-relay

[type OAuthTokenIssuer]
token_lifetime = 4s
min_lead = 10s
EOC

AV=AudioVideoAuthentication
OA=OAuthTokenIssuer
t0=$(date +%s)
# the long-lived keys first, so that the short validity of the old ones is
# not spent making them; 55 s leave room for a sanitizer build on a busy
# machine between making the old keys and staging the rolls
make_key av-new ES256 -60 3600; AV_NEW=$KEY_SHA1
make_key oa-new RS256 -60 3600; OA_NEW=$KEY_SHA1
make_key av-old ES256 -60 55;   AV_OLD=$KEY_SHA1
make_key oa-old RS256 -60 55;   OA_OLD=$KEY_SHA1
expiry() { date -d "$(openssl x509 -in "$1" -noout -enddate | sed 's/notAfter=//')" +%s; }
old_expiry=$(expiry "$T/av-old.pem")
oa_expiry=$(expiry "$T/oa-old.pem")

# roll before any key: refused, use assign
expect_exit 1 "$SIGNER" roll --type $AV --thumbprint "$AV_NEW" --effective-date auto
expect_msg "assign"
expect_exit 0 "$SIGNER" assign --type $AV --thumbprint "$AV_OLD"
expect_exit 0 "$SIGNER" assign --type $OA --thumbprint "$(echo "$OA_OLD" | cut -c1-12 | tr a-f A-F)"
expect_exit 1 "$SIGNER" assign --type $AV --thumbprint "$AV_NEW"
expect_msg "roll"

# a combined roll of an EC key cannot serve the RS256 type
expect_exit 1 "$SIGNER" roll --type $AV,$OA --thumbprint "$AV_NEW" --effective-date auto
expect_msg "$OA"

# a too-late effective date is refused, naming the type and the latest instant
late=$(date -u -d "@$((old_expiry - 9))" +%Y-%m-%dT%H:%M:%SZ)
latest=$(date -u -d "@$((old_expiry - 10))" +%Y-%m-%dT%H:%M:%SZ)
before=$(token_snapshot)
expect_exit 1 "$SIGNER" roll --type $AV --thumbprint "$AV_NEW" --effective-date "$late"
expect_msg "$AV"
expect_msg "$latest"
[ "$(token_snapshot)" = "$before" ] || fail "a refused roll changed the token"

# dry run: the timeline, and nothing written
expect_exit 0 "$SIGNER" roll --type $AV --thumbprint "$AV_NEW" --effective-date auto --dry-run
expect_msg "dry run"
expect_msg "$latest"
[ "$(token_snapshot)" = "$before" ] || fail "--dry-run changed the token"

# stage both rolls with auto effective dates
expect_exit 0 "$SIGNER" roll --type $AV --thumbprint "$AV_NEW" --effective-date auto
expect_exit 0 "$SIGNER" roll --type $OA --thumbprint "$OA_NEW" --effective-date auto
expect_exit 1 "$SIGNER" roll --type $AV --thumbprint "$AV_NEW" --effective-date auto
expect_exit 0 "$SIGNER" status --json
staged_e() { # TYPE: the staged key's effective instant (RFC 3339 in the JSON) as epoch seconds
	printf '%s' "$OUT" | "$PYTHON" -c "
import calendar, json, sys, time
t = [t for t in json.load(sys.stdin)['types'] if t['type'] == '$1'][0]
print(calendar.timegm(time.strptime(t['staged']['effective'], '%Y-%m-%dT%H:%M:%SZ')))"
}
E_AV=$(staged_e $AV)
E_OA=$(staged_e $OA)
[ "$E_AV" = $((old_expiry - 10)) ] || fail "auto chose $E_AV for $AV, expected $((old_expiry - 10))"
[ "$E_OA" = $((oa_expiry - 10)) ] || fail "auto chose $E_OA for $OA, expected $((oa_expiry - 10))"
expect_exit 0 "$SIGNER" status
expect_msg "switch"
pass "staged: $AV at $E_AV, $OA at $E_OA (old certificates expire at $old_expiry, $oa_expiry)"

kid_of() { "$PYTHON" -c "import jwt,sys; print(jwt.get_unverified_header(sys.argv[1])['kid'])" "$1"; }
b64sha256() { openssl x509 -in "$1" -outform DER | openssl dgst -sha256 -binary | basenc --base64url | tr -d '='; }
KID_AV_OLD=$(b64sha256 "$T/av-old.pem")
KID_AV_NEW=$(b64sha256 "$T/av-new.pem")

# before E: the old key issues; the token verifies with python-jwt against the
# certificate (issued at E - 4 s, it lives until E + 6 s)
wait_until $((E_AV - 4))
expect_exit 0 "$SIGNER" issue --type $AV --sub alice
TOK_OLD=$OUT
printf '%s\n' "$TOK_OLD" >"$T/tok_old"
expect_exit 0 "$SIGNER" verify --token-file "$T/tok_old"
[ "$(json_get key)" = current ] || fail "old-key token before E: role $(json_get key)"
[ "$(kid_of "$TOK_OLD")" = "$KID_AV_OLD" ] || fail "before E the token is not signed by the old key"
"$PYTHON" - "$TOK_OLD" "$T/av-old.pem" <<'EOP' || fail "python-jwt rejects our token"
import sys, jwt
from cryptography import x509
cert = x509.load_pem_x509_certificate(open(sys.argv[2], "rb").read())
claims = jwt.decode(sys.argv[1], cert.public_key(), algorithms=["ES256"], audience="media-relay",
                    issuer="https://edge.example.net", leeway=30)
assert claims["sub"] == "alice" and len(claims["jti"]) >= 22, claims
EOP

# after E: the new key issues; the old key's token still verifies as previous
wait_until $((E_AV + 1))
expect_exit 0 "$SIGNER" issue --type $AV --sub bob
TOK_NEW=$OUT
[ "$(kid_of "$TOK_NEW")" = "$KID_AV_NEW" ] || fail "after E the token is not signed by the new key"
expect_exit 0 "$SIGNER" verify --type $AV --token-file "$T/tok_old"
[ "$(json_get key)" = previous ] || fail "old-key token after E: role $(json_get key)"
printf '%s\n' "$TOK_NEW" >"$T/tok_new"
expect_exit 0 sh -c "\"$SIGNER\" verify <\"$T/tok_new\""
[ "$(json_get key)" = current ] || fail "new-key token: role $(json_get key)"
pass "switch at E: new kid after, old token verifies as previous"

# remove --previous before the safe instant: refused with the instant
expect_exit 1 "$SIGNER" remove --type $AV --previous
expect_msg "$(date -u -d "@$old_expiry" +%Y-%m-%dT%H:%M:%SZ)"
expect_exit 0 "$SIGNER" list --json
echo "$OUT" | grep -q "$AV_OLD" || fail "refused removal destroyed the key"

# after the old certificates expire: old tokens fail, removal is accepted
wait_until $(( (old_expiry > oa_expiry ? old_expiry : oa_expiry) + 1 ))
expect_exit 1 "$SIGNER" verify --token-file "$T/tok_old"
[ "$(json_get valid)" = False ] || fail "old token still valid after the old certificate expired"
expect_exit 0 "$SIGNER" remove --type $AV --previous
expect_exit 0 "$SIGNER" list --json
echo "$OUT" | grep -q "$AV_OLD" && fail "removed key still on the token"
expect_exit 1 "$SIGNER" remove --type $AV --previous
expect_msg "previous"

# OAuth: the new key issues too, and force-removal of nothing is refused
expect_exit 0 "$SIGNER" issue --type $OA --sub svc
printf '%s\n' "$OUT" >"$T/tok_oa"
expect_exit 0 "$SIGNER" verify --type $OA --token-file "$T/tok_oa"
[ "$(json_get key)" = current ] || fail "OAuth token after its switch: role $(json_get key)"
expect_exit 0 "$SIGNER" remove --type $OA --previous
pass "removal refused before the safe instant, accepted after; took $(( $(date +%s) - t0 ))s"
