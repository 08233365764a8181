#!/bin/sh
# Every refusal names what was wrong and changes nothing on the token.
. "$top_srcdir/tests/lib/common.sh"
new_token refuse
CA="$top_srcdir/tests/lib/mini_ca.py"
"$PYTHON" "$CA" init "$T/ca"
expect_exit 0 "$SIGNER" keygen --label base --algorithm ES256
before=$(token_snapshot)

unchanged() { [ "$(token_snapshot)" = "$before" ] || fail "token changed after: $1"; }

# wrong PIN: exit 3, says so, exactly one C_Login (counted by the wrapper module)
printf '000000\n' >"$T/badpin"
WRAP="$top_builddir/tests/lib/p11wrap.so"
expect_exit 3 env P11WRAP_LOG="$T/p11.log" P11WRAP_MODULE="$SOFTHSM_MODULE" \
	"$SIGNER" --pin "file:$T/badpin" --token "pkcs11:token=refuse?module-path=$WRAP" list
expect_msg "refused the PIN"
case "$OUT" in *000000*) fail "the PIN appears in the message" ;; esac
n=$(grep -c '^C_Login ' "$T/p11.log")
[ "$n" = 1 ] || fail "wrong PIN: $n C_Login attempts, expected exactly 1"
unchanged "wrong PIN"
pass "wrong PIN: exit 3, one C_Login"

# prompt: read from the terminal with echo off (script(1) gives us a pty).
# The PIN is typed once the prompt is out, as a person would: typed earlier,
# the terminal set-up (TCSAFLUSH) discards it, which a fixed sleep could not
# rule out on a busy machine.
prompted() { # PIN: run 'signer --pin prompt list', typing PIN at the prompt; sets OUT
	rm -f "$T/tty.out"
	set +e
	(
		_p_i=0
		until grep -q 'Enter PIN' "$T/tty.out" 2>/dev/null; do
			_p_i=$((_p_i + 1)); [ $_p_i -lt 600 ] || break; sleep 0.05
		done
		sleep 0.3
		printf '%s\n' "$1"
	) | script -qec "\"$SIGNER\" --pin prompt list" /dev/null >"$T/tty.out" 2>&1
	_p_rc=$?
	set -e
	OUT=$(cat "$T/tty.out")
	return $_p_rc
}
prompted "$TEST_PIN" || fail "prompt with the right PIN failed: $OUT"
expect_msg "Enter PIN"
expect_msg 'label "base"'
case "$OUT" in *"$TEST_PIN"*) fail "the PIN typed at the prompt was echoed: $OUT" ;; esac
prompted 000000 && fail "prompt with a wrong PIN succeeded"
expect_msg "refused the PIN"
case "$OUT" in *000000*) fail "the wrong PIN typed at the prompt was echoed" ;; esac
# without a terminal (a new session has none), prompt says what to use instead
expect_exit 2 setsid -w "$SIGNER" --pin prompt list
expect_msg "no terminal"
pass "prompt: echo off, wrong PIN refused"

# PIN given on the command line instead of a source: refused without echo
expect_exit 2 "$SIGNER" --pin 123456 list
case "$OUT" in *123456*) fail "the PIN was echoed" ;; esac
expect_msg "file:PATH"
# unreadable PIN source
expect_exit 2 "$SIGNER" --pin "file:$T/nope" list
expect_msg "$T/nope"
expect_exit 2 "$SIGNER" --pin "env:P11S_UNSET_VAR" list
expect_msg "P11S_UNSET_VAR"
unchanged "PIN sources"
pass "bad PIN sources"

# bad URI, missing token, bad module
expect_exit 2 "$SIGNER" --token "http://example" list
expect_msg "pkcs11:"
expect_exit 3 "$SIGNER" --token "pkcs11:token=absent?module-path=$SOFTHSM_MODULE" list
expect_msg "absent"
expect_exit 3 "$SIGNER" --token "pkcs11:token=refuse?module-path=/nonexistent/module.so" list
expect_msg "/nonexistent/module.so"
unchanged "bad token URIs"
pass "bad URI, missing token, bad module"

# malformed configuration: file, line and key named
printf '[policy]\nclock_skew = 60s\nquorum = zero\n' >"$T/bad.conf"
expect_exit 2 "$SIGNER" --config "$T/bad.conf" list
expect_msg "bad.conf:3"
expect_msg "quorum"
printf '[token]\nfrobnicate = 1\n' >"$T/bad2.conf"
expect_exit 2 "$SIGNER" --config "$T/bad2.conf" list
expect_msg "frobnicate"
expect_exit 2 "$SIGNER" --config "$T/missing.conf" list
expect_msg "missing.conf"
pass "malformed configuration"

# certificate for a key that is not on the token
"$PYTHON" "$CA" keycert "$T/ca" "$T/other.key" "$T/other.pem" --kind ec256
expect_exit 1 "$SIGNER" import --cert "$T/other.pem"
expect_msg "match"
unchanged "import of a foreign certificate"
# key and certificate that do not belong together
"$PYTHON" "$CA" keycert "$T/ca" "$T/k2.key" "$T/k2.pem" --kind ec256
expect_exit 1 "$SIGNER" import --key "$T/other.key" --cert "$T/k2.pem"
expect_msg "public keys differ"
unchanged "import of a mismatched pair"
# unsupported key type (Ed25519)
"$PYTHON" "$CA" keycert "$T/ca" "$T/ed.key" "$T/ed.pem" --kind ed25519
expect_exit 1 "$SIGNER" import --key "$T/ed.key" --cert "$T/ed.pem"
expect_msg "P-256"
unchanged "import of an Ed25519 key"
# not a certificate / not a key
echo garbage >"$T/garbage.pem"
expect_exit 2 "$SIGNER" import --cert "$T/garbage.pem"
expect_msg "garbage.pem"
unchanged "import of garbage"
pass "import refusals"

# usage errors
expect_exit 2 "$SIGNER" keygen --label x --algorithm HS256
expect_msg "ES256"
expect_exit 2 "$SIGNER" keygen --label x --algorithm RS256 --bits 1024
expect_msg "2048"
expect_exit 2 "$SIGNER" frobnicate
expect_exit 2 "$SIGNER" assign --type NoSuchType --thumbprint 0123456789
expect_msg "NoSuchType"
expect_exit 2 "$SIGNER" assign --type OAuthTokenIssuer --thumbprint 01234567
expect_msg "01234567"
expect_exit 2 "$SIGNER" assign --type OAuthTokenIssuer --thumbprint 0123
expect_msg "8"
unchanged "usage errors"
pass "usage errors"
