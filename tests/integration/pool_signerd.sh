#!/bin/sh
# signer pool check (SPEC §7) against three real signerd, each on its own
# token with its own copy of the keys: two hold the staged roll, the third
# does not -> named, exit 1; once it holds it -> exit 0.
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/integration/signerd_lib.sh"
new_token m1
"$SOFTHSM2_UTIL" --init-token --free --label m2 --pin "$TEST_PIN" --so-pin 12345678 >/dev/null
"$SOFTHSM2_UTIL" --init-token --free --label m3 --pin "$TEST_PIN" --so-pin 12345678 >/dev/null
CA="$top_srcdir/tests/lib/mini_ca.py"
"$PYTHON" "$CA" init "$T/ca"
"$PYTHON" "$CA" keycert "$T/ca" "$T/old.key" "$T/old.pem" --kind ec256 --cn pool-old --not-after 3600
"$PYTHON" "$CA" keycert "$T/ca" "$T/new.key" "$T/new.pem" --kind ec256 --cn pool-new --not-after 7200
sha1() { openssl x509 -in "$1" -noout -fingerprint -sha1 | sed 's/.*=//; s/://g' | tr A-F a-f; }
OLD=$(sha1 "$T/old.pem")
NEW=$(sha1 "$T/new.pem")
AV=AudioVideoAuthentication
E=$(( $(date +%s) + 120 ))
E_ISO=$(date -u -d "@$E" +%Y-%m-%dT%H:%M:%SZ)

for m in m1 m2 m3; do
	port=$(free_port)
	sed "s|token=m1?|token=$m?|; s|$T/audit.jsonl|$T/$m-audit.jsonl|" "$T/signer.conf" >"$T/$m.conf"
	cat >>"$T/$m.conf" <<EOC

[policy]
jwks_max_age = 2s

[type AudioVideoAuthentication]
token_lifetime = 10s
min_lead = 10s

[server]
listen = http://127.0.0.1:$port
poll_interval_ms = 200
EOC
	echo "http://127.0.0.1:$port" >"$T/$m.url"
	"$SIGNER" --config "$T/$m.conf" import --key "$T/old.key" --cert "$T/old.pem" --label old >/dev/null
	"$SIGNER" --config "$T/$m.conf" import --key "$T/new.key" --cert "$T/new.pem" --label new >/dev/null
	"$SIGNER" --config "$T/$m.conf" assign --type $AV --thumbprint "$OLD" >/dev/null
done
for m in m1 m2; do
	"$SIGNER" --config "$T/$m.conf" roll --type $AV --thumbprint "$NEW" --effective-date "$E_ISO" >/dev/null
done
for m in m1 m2 m3; do start_signerd "$m" --config "$T/$m.conf"; done
U1=$(cat "$T/m1.url") U2=$(cat "$T/m2.url") U3=$(cat "$T/m3.url")

expect_exit 1 "$SIGNER" pool check "$U1" "$U2" "$U3"
expect_msg "($U1): ready"
expect_msg "($U2): ready"
expect_msg "($U3): NOT READY"
expect_msg "lacks the staged key"
expect_msg "$E_ISO"
pass "the member without the staged key is named; exit 1"

# a different effective instant on the third member is not ready either
"$SIGNER" --config "$T/m3.conf" roll --type $AV --thumbprint "$NEW" \
	--effective-date "$(date -u -d "@$((E + 30))" +%Y-%m-%dT%H:%M:%SZ)" >/dev/null
# poll (bounded) until m3 has loaded its roll and is named for the instant
i=0
until "$SIGNER" pool check "$U1" "$U2" "$U3" 2>&1 | grep -q "is staged effective"; do
	i=$((i + 1)); [ $i -lt 300 ] || break; sleep 0.1
done
expect_exit 1 "$SIGNER" pool check "$U1" "$U2" "$U3"
expect_msg "($U3): NOT READY"
expect_msg "is staged effective"

# the same plan everywhere: ready
"$SIGNER" --config "$T/m3.conf" roll --type $AV --thumbprint "$NEW" --effective-date "$E_ISO" \
	--replace >/dev/null
# members notice a change within their poll interval; a busy machine may take
# longer: poll (bounded) instead of sleeping a fixed time
i=0
until "$SIGNER" pool check "$U1" "$U2" "$U3" >/dev/null 2>&1; do
	i=$((i + 1)); [ $i -lt 300 ] || break; sleep 0.1
done
expect_exit 0 "$SIGNER" pool check "$U1" "$U2" "$U3"
expect_msg "pool: ready (3 of 3 members ready)"
pass "different instant -> not ready; same plan on all three -> ready, exit 0"
