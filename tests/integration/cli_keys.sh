#!/bin/sh
# keygen / csr / import / list against a real SoftHSM2 token (issue: foundation).
. "$top_srcdir/tests/lib/common.sh"
new_token keys
CA="$top_srcdir/tests/lib/mini_ca.py"
P11TOOL() { pkcs11-tool --module "$SOFTHSM_MODULE" --token-label keys --login --pin "$TEST_PIN" "$@" 2>/dev/null; }

# keygen: one key per algorithm, each non-extractable on the token
for alg in ES256 ES384 RS256; do
	expect_exit 0 "$SIGNER" keygen --label "k-$alg" --algorithm "$alg"
	echo "$OUT" | grep -Eq '^[0-9a-f]{40}$' || fail "keygen $alg did not print a CKA_ID: $OUT"
done
P11TOOL --list-objects --type privkey >"$T/objs"
n=$(grep -c 'Private Key Object' "$T/objs")
[ "$n" = 3 ] || fail "expected 3 private keys, pkcs11-tool shows $n"
s=$(grep -c 'sensitive' "$T/objs")
[ "$s" -ge 3 ] || fail "keys are not all sensitive: $(cat "$T/objs")"
ne=$(grep -c 'never extractable' "$T/objs")
[ "$ne" = 3 ] || fail "keys are not all never-extractable: $(cat "$T/objs")"
pass "keygen: 3 keys, sensitive and never extractable per pkcs11-tool"

# the label is unique
expect_exit 1 "$SIGNER" keygen --label k-ES256 --algorithm ES256
expect_msg "k-ES256"

# csr -> outside CA (openssl x509 -req) -> import --cert -> list
expect_exit 0 "$SIGNER" csr --label k-ES256 --subject "CN=edge.example.net,O=Example" --out "$T/req.pem"
openssl req -in "$T/req.pem" -noout -verify >/dev/null 2>&1 || fail "CSR signature does not verify"
openssl req -in "$T/req.pem" -noout -subject | grep -q "edge.example.net" || fail "CSR subject wrong"
openssl ecparam -name prime256v1 -genkey -noout -out "$T/ca.key" 2>/dev/null
openssl req -new -x509 -key "$T/ca.key" -subj "/CN=Outside CA" -days 2 -out "$T/ca.pem" 2>/dev/null
openssl x509 -req -in "$T/req.pem" -CA "$T/ca.pem" -CAkey "$T/ca.key" -CAcreateserial \
	-days 1 -out "$T/edge.pem" 2>/dev/null || fail "outside CA could not sign the CSR"
expect_exit 0 "$SIGNER" import --cert "$T/edge.pem"
want=$(openssl x509 -in "$T/edge.pem" -noout -fingerprint -sha1 | sed 's/.*=//; s/://g' | tr A-F a-f)
expect_exit 0 "$SIGNER" list
expect_msg "$want"
expect_exit 0 "$SIGNER" list --json
echo "$OUT" | "$PYTHON" -c "
import json, sys
keys = json.load(sys.stdin)
k = [k for k in keys if k.get('sha1') == '$want']
assert len(k) == 1, keys
assert k[0]['label'] == 'k-ES256' and k[0]['never_extractable'] and not k[0]['extractable'], k
" || fail "list --json does not show the imported certificate correctly"
pass "csr -> openssl x509 -req -> import --cert -> list shows SHA-1 $want"

# the same certificate again is refused
expect_exit 1 "$SIGNER" import --cert "$T/edge.pem"

# import --key --cert and --pkcs12 (keys made outside the token)
"$PYTHON" "$CA" init "$T/ca2"
"$PYTHON" "$CA" keycert "$T/ca2" "$T/ext.key" "$T/ext.pem" --kind ec256
expect_exit 0 "$SIGNER" import --key "$T/ext.key" --cert "$T/ext.pem" --label ext-ec
"$PYTHON" "$CA" keycert "$T/ca2" "$T/p12.key" "$T/p12.pem" --kind rsa2048
printf 'secret-pass\n' >"$T/p12pass"
openssl pkcs12 -export -inkey "$T/p12.key" -in "$T/p12.pem" -out "$T/bundle.p12" \
	-passout file:"$T/p12pass" 2>/dev/null
expect_exit 0 "$SIGNER" import --pkcs12 "$T/bundle.p12" --passphrase "file:$T/p12pass" --label ext-rsa
expect_exit 0 "$SIGNER" list --json
echo "$OUT" | "$PYTHON" -c "
import json, sys
keys = {k['label']: k for k in json.load(sys.stdin)}
for l in ('ext-ec', 'ext-rsa'):
    assert keys[l]['private_key'] and keys[l]['certificate'] and keys[l]['sensitive'], keys[l]
    assert not keys[l]['extractable'], keys[l]
" || fail "imported keys are not listed as sensitive, non-extractable key+certificate pairs"
pass "import --key/--cert and --pkcs12"

# a PKCS#12 over 20 KiB (a long chain of padding certificates): the file is
# read into one buffer sized from fstat (common/util.c p11s_read_file; its
# allocations are checked by tests/unit/test_util), and the import works
"$PYTHON" "$CA" keycert "$T/ca2" "$T/pad.key" "$T/pad.pem" --kind rsa2048
for i in $(seq 45); do
	cat "$T/pad.pem" >>"$T/chain.pem"
done
"$PYTHON" "$CA" keycert "$T/ca2" "$T/big.key" "$T/big.pem" --kind ec256
openssl pkcs12 -export -inkey "$T/big.key" -in "$T/big.pem" -certfile "$T/chain.pem" \
	-out "$T/big.p12" -passout file:"$T/p12pass" 2>/dev/null
size=$(wc -c <"$T/big.p12")
[ "$size" -gt 20480 ] || fail "the padded PKCS#12 has only $size bytes"
expect_exit 0 "$SIGNER" import --pkcs12 "$T/big.p12" --passphrase "file:$T/p12pass" --label ext-big
expect_exit 0 "$SIGNER" list --json
echo "$OUT" | "$PYTHON" -c "
import json, sys
keys = {k['label']: k for k in json.load(sys.stdin)}
assert keys['ext-big']['private_key'] and keys['ext-big']['certificate'], keys
" || fail "the key of a $size-byte PKCS#12 is not listed after import"
pass "import --pkcs12 of a $size-byte file"

# every command has --help
for c in keygen csr import list assign roll status remove issue verify; do
	expect_exit 0 "$SIGNER" "$c" --help
	expect_msg "usage: signer"
done
pass "--help for every command"
