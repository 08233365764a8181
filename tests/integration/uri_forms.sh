#!/bin/sh
# Token URIs as other tools write them (RFC 7512): model=, manufacturer=,
# module-name= through p11-kit's module configuration, pin-source=; and no
# silent default module.
. "$top_srcdir/tests/lib/common.sh"
new_token urit
expect_exit 0 "$SIGNER" keygen --label uk --algorithm ES256

# model= and manufacturer= name SoftHSM2's token; a wrong model does not
expect_exit 0 "$SIGNER" --token \
	"pkcs11:model=SoftHSM%20v2;manufacturer=SoftHSM%20project;token=urit?module-path=$SOFTHSM_MODULE" list
expect_msg 'label "uk"'
expect_exit 3 "$SIGNER" --token "pkcs11:model=Other;token=urit?module-path=$SOFTHSM_MODULE" list
expect_msg "of model 'Other'"
pass "model= and manufacturer="

# p11-kit's packaged configuration calls SoftHSM2 "softhsm2"
expect_exit 0 "$SIGNER" --token "pkcs11:token=urit?module-name=softhsm2" list
expect_msg 'label "uk"'
# no module: refused, listing the configured ones
before=$(token_snapshot)
expect_exit 3 "$SIGNER" --token "pkcs11:token=urit" list
expect_msg "names no PKCS#11 module"
expect_msg "softhsm2"
expect_exit 3 "$SIGNER" --token "pkcs11:token=urit?module-name=p11s-absent" list
expect_msg "no PKCS#11 module named 'p11s-absent'"
[ "$(token_snapshot)" = "$before" ] || fail "a refused URI changed the token"
pass "module-name=softhsm2; no module is refused with the list"

# A module configured only in this test's own p11-kit directory.  p11-kit has
# no variable for its configuration directories and reads no per-user
# configuration for root, so as root the command runs as nobody (HOME here).
mkdir -p "$T/home/.config/pkcs11/modules"
printf 'module: %s\n' "$SOFTHSM_MODULE" >"$T/home/.config/pkcs11/modules/p11s-uri-test.module"
as_user() { env HOME="$T/home" XDG_CONFIG_HOME="$T/home/.config" "$@"; }
if [ "$(id -u)" = 0 ]; then
	command -v setpriv >/dev/null || fail "setpriv (util-linux) is needed to run as nobody"
	chown -R 65534:65534 "$T"
	chmod 711 "$T"
	as_user() {
		setpriv --reuid=65534 --regid=65534 --clear-groups \
			env HOME="$T/home" XDG_CONFIG_HOME="$T/home/.config" "$@"
	}
fi
expect_exit 0 as_user "$SIGNER" --token "pkcs11:token=urit?module-name=p11s-uri-test" list
expect_msg 'label "uk"'
expect_exit 3 as_user "$SIGNER" --token "pkcs11:token=urit" list
expect_msg "p11s-uri-test"
pass "module-name= from the test's own p11-kit configuration"

# pin-source= in the URI names the PIN file (and overrides --pin)
printf '000000\n' >"$T/badpin"
expect_exit 0 "$SIGNER" --pin "file:$T/badpin" \
	--token "pkcs11:token=urit?module-path=$SOFTHSM_MODULE&pin-source=file:$T/pin" list
expect_msg 'label "uk"'
expect_exit 2 "$SIGNER" --token "pkcs11:token=urit?module-path=$SOFTHSM_MODULE&pin-value=123456" list
expect_msg "pin-source=file:"
case "$OUT" in *123456*) fail "the PIN was echoed" ;; esac
pass "pin-source= and pin-value="
