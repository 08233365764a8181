#!/bin/sh
# signerd's TLS server key on the token (tls_key = pkcs11:...), through libp11:
# a P-256 key that openssl s_client -verify_return_error and curl --cacert
# accept; a killed token session (p11wrap) recovers without a restart; the key
# stays sensitive and never extractable.
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/integration/signerd_lib.sh"

new_token tlsk
make_tls "$T/tls"
make_key av1 ES256 -60 86400
"$SIGNER" assign --type AudioVideoAuthentication --thumbprint "$KEY_SHA1" >/dev/null
# the TLS key: generated on the token, certified by the test CA for 127.0.0.1
expect_exit 0 "$SIGNER" keygen --label tls --algorithm ES256
expect_exit 0 "$SIGNER" csr --label tls --subject CN=localhost --out "$T/tls.csr"
openssl x509 -req -in "$T/tls.csr" -CA "$T/tls/ca.pem" -CAkey "$T/tls/ca.key" -CAcreateserial \
	-out "$T/tls.pem" -days 2 -extfile "$T/tls/san.ext" 2>/dev/null || fail "certifying the TLS key"

# raw side and libp11 both load the fault-injecting wrapper: one instance
WRAP="$top_builddir/tests/lib/p11wrap.so"
P11WRAP_MODULE="$SOFTHSM_MODULE"; P11WRAP_FAULTS="$T/faults"; P11WRAP_LOG="$T/p11.log"
export P11WRAP_MODULE P11WRAP_FAULTS P11WRAP_LOG
P=$(free_port)
sed "s|^uri = .*|uri = pkcs11:token=tlsk?module-path=$WRAP|" "$T/signer.conf" >"$T/sd.conf"
cat >>"$T/sd.conf" <<EOC

[server]
listen = https://127.0.0.1:$P
tls_certificate = $T/tls.pem
tls_key = pkcs11:token=tlsk;object=tls?module-path=$WRAP
workers = 2
EOC
start_signerd sd --config "$T/sd.conf"
PID=$SD_PID
grep -q "opened object 'tls' on token 'tlsk' through libp11" "$T/sd.log" ||
	fail "the TLS key was not opened through libp11: $(cat "$T/sd.log")"

# openssl s_client verifies the chain; the handshake is signed on the token
signs() { grep -c '^C_Sign ' "$T/p11.log" || true; }
before=$(signs)
OUT=$(openssl s_client -connect "127.0.0.1:$P" -servername localhost -CAfile "$T/tls/ca.pem" \
	-verify_return_error -brief </dev/null 2>&1) || fail "s_client refused the handshake: $OUT"
expect_msg "Verification: OK"
expect_msg "ECDSA"
after=$(signs)
[ "$after" -gt "$before" ] || fail "the handshake made no C_Sign on the token ($before -> $after)"
expect_http 200 GET "https://127.0.0.1:$P/.well-known/jwks.json" "" --cacert "$T/tls/ca.pem"
pass "TLS key on the token: s_client -verify_return_error and curl --cacert accept it"

# kill the session libp11 signs in: the next C_Sign answers
# CKR_SESSION_HANDLE_INVALID and the wrapper closes the real session
printf 'C_Sign CKR_SESSION_HANDLE_INVALID 1\n' >"$T/faults.tmp" && mv "$T/faults.tmp" "$T/faults"
failed=0
ok=0
i=0
while [ $i -lt 20 ]; do
	i=$((i + 1))
	if curl -s -S -m 10 -o /dev/null --cacert "$T/tls/ca.pem" "https://127.0.0.1:$P/.well-known/jwks.json" 2>/dev/null; then
		ok=1
		break
	fi
	failed=$((failed + 1))
	sleep 0.1
done
[ "$failed" -ge 1 ] || fail "the injected session loss did not reach a handshake"
[ "$ok" = 1 ] || fail "TLS did not recover after the session loss: $(tail -5 "$T/sd.log")"
kill -0 "$PID" 2>/dev/null || fail "signerd exited"
grep -q "TLS key object 'tls' on token 'tlsk' opened again" "$T/sd.log" ||
	fail "no re-open logged: $(tail -5 "$T/sd.log")"
# and it keeps serving: several handshakes in a row
for _ in 1 2 3; do
	expect_http 200 GET "https://127.0.0.1:$P/.well-known/jwks.json" "" --cacert "$T/tls/ca.pem"
done
pass "killed token session: $failed handshake(s) failed, then recovered without a restart"
stop_signerd "$PID"

# nothing writes now: pkcs11-tool's class-only listing cannot race a writer
unset P11WRAP_FAULTS P11WRAP_LOG
OUT=$(pkcs11-tool --module "$SOFTHSM_MODULE" --token-label tlsk --login --pin "$TEST_PIN" -O 2>&1) ||
	fail "pkcs11-tool -O: $OUT"
printf '%s\n' "$OUT" | awk '/^Private Key Object/ { p = 1 } p && /label:/ { l = $2 } p && /Access:/ { if (l == "tls") print; p = 0 }' >"$T/access"
grep -q "never extractable" "$T/access" || fail "the TLS key is not never-extractable: $(cat "$T/access") :: $OUT"
grep -q "sensitive" "$T/access" || fail "the TLS key is not sensitive: $(cat "$T/access")"
pass "pkcs11-tool -O: the TLS key is $(cat "$T/access" | sed 's/^ *Access: *//')"
