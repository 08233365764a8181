#!/bin/sh
# signer verify against forged and malformed tokens (RFC 7515/7519 attacks):
# every one is rejected with its specific error, exit 1, no crash, no leak.
. "$top_srcdir/tests/lib/common.sh"
new_token forge
CA="$top_srcdir/tests/lib/mini_ca.py"
"$PYTHON" "$CA" init "$T/ca"
# File keys imported onto the token, so claim-level forgeries can be signed
# with the real key and must fail on their own reason.
"$PYTHON" "$CA" keycert "$T/ca" "$T/ec.key" "$T/ec.pem" --kind ec256 --cn forge-ec
"$PYTHON" "$CA" keycert "$T/ca" "$T/rsa.key" "$T/rsa.pem" --kind rsa2048 --cn forge-rsa
"$SIGNER" import --key "$T/ec.key" --cert "$T/ec.pem" --label ec >/dev/null
"$SIGNER" import --key "$T/rsa.key" --cert "$T/rsa.pem" --label rsa >/dev/null
sha1() { openssl x509 -in "$1" -noout -fingerprint -sha1 | sed 's/.*=//; s/://g'; }
"$SIGNER" assign --type AudioVideoAuthentication --thumbprint "$(sha1 "$T/ec.pem")" >/dev/null
"$SIGNER" assign --type OAuthTokenIssuer --thumbprint "$(sha1 "$T/rsa.pem")" >/dev/null

total=0
for pair in "AudioVideoAuthentication ec" "OAuthTokenIssuer rsa"; do
	set -- $pair
	type=$1; k=$2
	"$SIGNER" issue --type "$type" --sub victim --aud svc >"$T/$k.tok"
	"$SIGNER" issue --type "$type" --sub other --aud svc >"$T/$k.other"
	tr -d '\n' <"$T/$k.tok" >"$T/$k.tok1"; tr -d '\n' <"$T/$k.other" >"$T/$k.other1"
	"$PYTHON" "$top_srcdir/tests/integration/forge.py" --token "$T/$k.tok1" --cert "$T/$k.pem" \
		--key "$T/$k.key" --other-token "$T/$k.other1" --out "$T/forged-$k" --expect-aud >/dev/null
	# the genuine token verifies
	expect_exit 0 "$SIGNER" verify --type "$type" --aud svc --token-file "$T/$k.tok"
	n=0
	while IFS="$(printf '\t')" read -r file want; do
		set +e
		out=$("$SIGNER" verify --type "$type" --aud svc --token-file "$T/forged-$k/$file" 2>&1)
		rc=$?
		set -e
		[ $rc = 1 ] || fail "$type $file: exit $rc (wanted 1): $out"
		case "$out" in
		*'"valid": false'*|*'"valid":false'*) ;;
		*) fail "$type $file: not reported invalid: $out" ;;
		esac
		case "$out" in
		*"$want"*) ;;
		*) fail "$type $file: error lacks '$want': $out" ;;
		esac
		n=$((n + 1))
	done <"$T/forged-$k/expect.tsv"
	[ $n -ge 40 ] || fail "only $n forged $type tokens"
	total=$((total + n))
done
pass "$total forged or malformed tokens rejected with their specific errors"
