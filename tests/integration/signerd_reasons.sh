#!/bin/sh
# Verification failures counted by reason in /metrics after real
# verifications on a real signerd (issue 10, item 2): a token whose key was
# removed (signer remove --previous --force) counts under key_removed, a token
# whose key's certificate has expired under key_expired, never as malformed;
# /v1/verify answers the same reason.  Timeline compressed to seconds.
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/integration/signerd_lib.sh"

new_token reasons
cat >>"$T/signer.conf" <<EOC

[policy]
clock_skew = 1s
jwks_max_age = 1s
past_grace = 1s

[type AudioVideoAuthentication]
token_lifetime = 10s
min_lead = 10s

[type OAuthTokenIssuer]
algorithm = ES256
token_lifetime = 10s
min_lead = 10s

[server]
listen = unix:$T/sd.sock
workers = 2
poll_interval_ms = 200
EOC
AV=AudioVideoAuthentication
OA=OAuthTokenIssuer
make_key av-old ES256 -60 3600; AV_OLD=$KEY_SHA1
make_key av-new ES256 -60 7200; AV_NEW=$KEY_SHA1
make_key oa-new ES256 -60 3600; OA_NEW=$KEY_SHA1
# made last: its certificate expires 35 s from now, at least min_lead after E
make_key oa-old ES256 -60 35; OA_OLD=$KEY_SHA1
oa_expiry=$(date -d "$(openssl x509 -in "$T/oa-old.pem" -noout -enddate | sed 's/notAfter=//')" +%s)
expect_exit 0 "$SIGNER" assign --type $AV --thumbprint "$AV_OLD"
expect_exit 0 "$SIGNER" assign --type $OA --thumbprint "$OA_OLD"
start_signerd sd
PID=$SD_PID
U="--unix-socket $T/sd.sock"

# one token from each old key
# shellcheck disable=SC2086
expect_http 200 POST http://signerd/v1/tokens "{\"type\":\"$AV\",\"sub\":\"a\"}" $U
T_AV=$(body_get token)
# shellcheck disable=SC2086
expect_http 200 POST http://signerd/v1/tokens "{\"type\":\"$OA\",\"sub\":\"o\"}" $U
T_OA=$(body_get token)

# roll both types a few seconds ahead
E=$(( $(date +%s) + 4 ))
iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }
expect_exit 0 "$SIGNER" roll --type $AV --thumbprint "$AV_NEW" --effective-date "$(iso $E)"
expect_exit 0 "$SIGNER" roll --type $OA --thumbprint "$OA_NEW" --effective-date "$(iso $E)"
wait_until $((E + 1))

# verify TOKEN TYPE: sets ST (HTTP status) and REASON ("" when valid)
verify() {
	# shellcheck disable=SC2086
	out=$(http POST http://signerd/v1/verify "{\"token\":\"$1\",\"type\":\"$2\"}" $U) ||
		fail "curl failed"
	ST=${out##* }
	BODY=${out% *}
	case "$ST" in
	200) REASON= ;;
	422) REASON=$(body_get reason) ;;
	*) fail "verify answered HTTP $ST: $BODY" ;;
	esac
}

# removed: once signerd has seen the removal, the token fails as key_removed
expect_exit 0 "$SIGNER" remove --type $AV --previous --force
n_removed=0
deadline=$(( $(date +%s) + 20 ))
while :; do
	verify "$T_AV" $AV
	if [ "$ST" = 422 ]; then
		[ "$REASON" = key_removed ] || fail "removed key: reason $REASON: $BODY"
		n_removed=$((n_removed + 1))
		[ $n_removed -ge 3 ] && break
	fi
	[ "$(date +%s)" -lt $deadline ] || fail "the removed key's token still verifies: $BODY"
	sleep 0.1
done
case "$(body_get error)" in *"was removed at"*) ;; *) fail "no removal in the error: $BODY" ;; esac
pass "a token of a removed key fails with reason key_removed"

# expired: once the old OAuth certificate has expired (and the skew passed)
wait_until $((oa_expiry + 2))
n_expired=0
deadline=$(( $(date +%s) + 20 ))
while :; do
	verify "$T_OA" $OA
	if [ "$ST" = 422 ]; then
		[ "$REASON" = key_expired ] || fail "expired key certificate: reason $REASON: $BODY"
		n_expired=$((n_expired + 1))
		[ $n_expired -ge 2 ] && break
	fi
	[ "$(date +%s)" -lt $deadline ] || fail "the expired key's token still verifies: $BODY"
	sleep 0.1
done
pass "a token of a key whose certificate expired fails with reason key_expired"

# /metrics counts exactly those, under their own reasons, nothing as malformed
# shellcheck disable=SC2086
expect_http 200 GET http://signerd/metrics "" $U
count() { printf '%s\n' "$BODY" | sed -n "s/^p11s_verify_failures_total{reason=\"$1\"} //p"; }
[ "$(count key_removed)" = "$n_removed" ] ||
	fail "key_removed counted $(count key_removed), answered $n_removed: $(printf '%s' "$BODY" | grep failures)"
[ "$(count key_expired)" = "$n_expired" ] ||
	fail "key_expired counted $(count key_expired), answered $n_expired: $(printf '%s' "$BODY" | grep failures)"
[ -z "$(count malformed)" ] || fail "failures counted as malformed: $(printf '%s' "$BODY" | grep failures)"
[ -z "$(count unknown_key)" ] || fail "failures counted as unknown_key: $(printf '%s' "$BODY" | grep failures)"
stop_signerd "$PID"
pass "/metrics: key_removed $n_removed, key_expired $n_expired, no malformed"
