#!/bin/sh
# signer pool check with its client key on a token (--key pkcs11:...): a member
# requiring a client certificate accepts the handshake signed by the token,
# and refuses it without the certificate.
. "$top_srcdir/tests/lib/common.sh"
new_token pck
CA="$top_srcdir/tests/lib/mini_ca.py"
FAKE="$top_srcdir/tests/integration/fake_member.py"
"$PYTHON" "$CA" init "$T/ca"
"$PYTHON" "$CA" keycert "$T/ca" "$T/srv.key" "$T/srv.pem" --kind ec256 --cn localhost
# the client key: generated on the token, certified by the member's client CA
expect_exit 0 "$SIGNER" keygen --label poolcli --algorithm ES256
expect_exit 0 "$SIGNER" csr --label poolcli --subject CN=pool-checker --out "$T/cli.csr"
"$PYTHON" "$CA" sign "$T/ca" "$T/cli.csr" "$T/cli.pem" || fail "certifying the client key"
"$SIGNER" status --json >"$T/st.json"
"$PYTHON" - "$T/st.json" <<'EOP'
import json, sys
d = json.load(open(sys.argv[1]))
d["member"] = {"id": "m1"}
json.dump(d, open(sys.argv[1], "w"))
EOP
"$PYTHON" "$FAKE" --ready "$T/m1.ready" --status "$T/st.json" --tls "$T/srv.pem" "$T/srv.key" \
	--client-ca "$T/ca/ca.pem" &
echo $! >>"$T/pids"
i=0
while [ ! -f "$T/m1.ready" ]; do
	i=$((i + 1)); [ $i -lt 100 ] || fail "member did not start"
	sleep 0.1
done
U="https://localhost:$(cat "$T/m1.ready")"
KEY="pkcs11:token=pck;object=poolcli?module-path=$SOFTHSM_MODULE"

expect_exit 0 "$SIGNER" pool check --cacert "$T/ca/ca.pem" --cert "$T/cli.pem" --key "$KEY" "$U"
expect_msg "member m1 ($U): ready"
# the PIN from the URI's pin-source= instead of [token] pin
printf '000000\n' >"$T/badpin"
expect_exit 0 "$SIGNER" --pin "file:$T/badpin" pool check --cacert "$T/ca/ca.pem" \
	--cert "$T/cli.pem" --key "$KEY&pin-source=file:$T/pin" "$U"
expect_msg "ready"
pass "pool check authenticates with a client key on the token"

# without the client certificate the member refuses: the key is what counts
expect_exit 1 "$SIGNER" pool check --cacert "$T/ca/ca.pem" "$U"
expect_msg "NOT READY"
# a key URI naming no key, or a key that is not there: refused up front
expect_exit 2 "$SIGNER" pool check --cacert "$T/ca/ca.pem" --cert "$T/cli.pem" \
	--key "pkcs11:token=pck?module-path=$SOFTHSM_MODULE" "$U"
expect_msg "names no key"
expect_exit 2 "$SIGNER" pool check --cacert "$T/ca/ca.pem" --cert "$T/cli.pem" \
	--key "pkcs11:token=pck;object=absent?module-path=$SOFTHSM_MODULE" "$U"
expect_msg "no private key object 'absent'"
pass "refusals: no client certificate, no key named, key absent"
