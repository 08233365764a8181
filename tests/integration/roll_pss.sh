#!/bin/sh
# Rule 3b with the type's algorithm (issue 10, item 3): for a PS256 type the
# staging test signature uses the token's PSS mechanism.  On a token that
# refuses CKM_SHA256_RSA_PKCS_PSS / CKM_RSA_PKCS_PSS (tests/lib/p11wrap.so)
# `signer roll` is refused by rule 3b with a message naming PS256 and the
# token's answer, and nothing is staged; signerd's repeat of the test (the
# same function) fails the same way.  With PSS available both pass.
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/integration/signerd_lib.sh"

new_token pss
sed -i "s|^uri = .*|uri = pkcs11:token=pss?module-path=$top_builddir/tests/lib/p11wrap.so|" "$T/signer.conf"
cat >>"$T/signer.conf" <<EOC

[policy]
jwks_max_age = 1s

[type OAuthTokenIssuer]
algorithm = PS256
token_lifetime = 60s
min_lead = 60s

[server]
listen = unix:$T/sd.sock
workers = 1
poll_interval_ms = 200
EOC
OA=OAuthTokenIssuer
make_key oa-old RS256 -60 86400
OLD=$KEY_SHA1
make_key oa-new RS256 -60 172800
NEW=$KEY_SHA1
expect_exit 0 "$SIGNER" assign --type $OA --thumbprint "$OLD"
E=$(date -u -d "@$(( $(date +%s) + 3600 ))" +%Y-%m-%dT%H:%M:%SZ)

# the token refuses PSS: refused at staging, by rule 3b, naming PS256
P11WRAP_REFUSE_MECHS=CKM_SHA256_RSA_PKCS_PSS,CKM_RSA_PKCS_PSS
export P11WRAP_REFUSE_MECHS
expect_exit 1 "$SIGNER" roll --type $OA --thumbprint "$NEW" --effective-date "$E"
expect_msg "refused (test_signature)"
expect_msg "PS256 test signature with key $NEW"
expect_msg "CKM_SHA256_RSA_PKCS_PSS"
expect_msg "CKR_MECHANISM_INVALID"
expect_exit 0 "$SIGNER" status --type $OA --json
case "$OUT" in *"$NEW"*) fail "a refused roll left the key staged: $OUT" ;; esac
pass "PS256 roll refused at staging on a token without PSS, nothing staged"

# with PSS the same roll is admitted
unset P11WRAP_REFUSE_MECHS
expect_exit 0 "$SIGNER" roll --type $OA --thumbprint "$NEW" --effective-date "$E"
pass "PS256 roll admitted when the token signs with PSS"

# signerd repeats the test with the same function: it fails without PSS
P11WRAP_REFUSE_MECHS=CKM_SHA256_RSA_PKCS_PSS
export P11WRAP_REFUSE_MECHS
start_signerd sd
PID=$SD_PID
i=0
while :; do
	expect_http 200 GET http://signerd/v1/status "" --unix-socket "$T/sd.sock"
	ok=$(printf '%s' "$BODY" | "$PYTHON" -c 'import json,sys; t=json.load(sys.stdin)["member"]["staged_key_tests"]; print(t[0]["ok"] if t else "")')
	[ -n "$ok" ] && break
	i=$((i + 1)); [ $i -lt 100 ] || fail "signerd did not test the staged key: $BODY"
	sleep 0.1
done
[ "$ok" = False ] || fail "signerd's test signature passed without PSS: $BODY"
grep -q "PS256 test signature with key $NEW" "$T/sd.log" || fail "signerd did not log why: $(cat "$T/sd.log")"
stop_signerd "$PID"
pass "signerd's staged-key test fails the same way without PSS"
