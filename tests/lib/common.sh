# Shared by the integration tests (sourced).  Each test gets its own temp dir,
# SoftHSM2 config and token; nothing touches /var/lib/softhsm.
set -eu

: "${top_builddir:?run through make check}"
: "${top_srcdir:?run through make check}"
SIGNER="$top_builddir/signer/signer"
SIGNERD="$top_builddir/signer/signerd"
SOFTHSM_MODULE="${SOFTHSM_MODULE:-/usr/lib/softhsm/libsofthsm2.so}"
SOFTHSM2_UTIL="${SOFTHSM2_UTIL:-softhsm2-util}"
TEST_PIN=123456
# Debian's interpreter: it has python3-jwt and python3-cryptography.
PYTHON=${PYTHON:-/usr/bin/python3}

T=$(mktemp -d "${TMPDIR:-/tmp}/p11s-it-XXXXXX")
cleanup() {
	# stop any daemon a test started, then remove everything it made
	if [ -f "$T/pids" ]; then
		while read -r p; do kill "$p" 2>/dev/null || true; done <"$T/pids"
		# and wait until each has exited (a stopping signerd still writes its
		# member record on the token) before removing its files
		while read -r p; do
			wait "$p" 2>/dev/null || true
			_cu_i=0
			while kill -0 "$p" 2>/dev/null && [ $_cu_i -lt 600 ]; do
				sleep 0.05
				_cu_i=$((_cu_i + 1))
			done
		done <"$T/pids"
	fi
	if [ "${KEEP_TEST_DIR:-}" = "" ]; then rm -rf "$T"; else echo "kept $T" >&2; fi
}
trap cleanup EXIT INT TERM

fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "ok: $*"; }

# new_token LABEL: private SoftHSM2 config + token, a PIN file, a signer.conf.
new_token() {
	_nt_label=$1
	mkdir -p "$T/tokens"
	cat >"$T/softhsm2.conf" <<EOC
directories.tokendir = $T/tokens
objectstore.backend = file
slots.removable = false
log.level = ERROR
EOC
	SOFTHSM2_CONF="$T/softhsm2.conf"; export SOFTHSM2_CONF
	"$SOFTHSM2_UTIL" --init-token --free --label "$_nt_label" --pin "$TEST_PIN" --so-pin 12345678 >/dev/null
	printf '%s\n' "$TEST_PIN" >"$T/pin"
	chmod 600 "$T/pin"
	TOKEN_URI="pkcs11:token=$_nt_label?module-path=$SOFTHSM_MODULE"
	cat >"$T/signer.conf" <<EOC
[token]
uri = $TOKEN_URI
pin = file:$T/pin
lock_file = $T/token.lock

[audit]
journal = $T/audit.jsonl
EOC
	SIGNER_CONFIG="$T/signer.conf"; export SIGNER_CONFIG
}

# expect_exit CODE CMD...: run, capture output in $OUT, check the exit code.
expect_exit() {
	_ee_want=$1; shift
	set +e
	OUT=$("$@" 2>&1)
	_ee_got=$?
	set -e
	[ "$_ee_got" = "$_ee_want" ] || fail "exit $_ee_got (wanted $_ee_want) from: $* :: $OUT"
}

# expect_msg TEXT: the last output contains TEXT.
expect_msg() {
	case "$OUT" in
	*"$1"*) ;;
	*) fail "output lacks '$1': $OUT" ;;
	esac
}

# token_snapshot: a digest of the token's objects (keys, certificates, data:
# the state) for "nothing changed".  token.object is left out: SoftHSM2
# rewrites it at every C_Login, successful or not.
token_snapshot() {
	find "$T/tokens" -type f -name '*.object' ! -name token.object | sort | xargs cat 2>/dev/null |
		sha256sum | cut -d' ' -f1
}

# wait_until EPOCH: sleep until the wall clock reaches EPOCH (seconds).
wait_until() {
	while [ "$(date +%s)" -lt "$1" ]; do sleep 0.2; done
}

# json_get KEY: read a top-level member of the JSON in $OUT.
json_get() {
	printf '%s' "$OUT" | "$PYTHON" -c "import json,sys; v=json.load(sys.stdin).get('$1'); print('' if v is None else (json.dumps(v) if isinstance(v,(dict,list)) else v))"
}

# make_key LABEL ALG NOT_BEFORE NOT_AFTER: key on the token + certificate from
# the outside test CA in $T/ca (validity relative to now, in seconds).
# Sets KEY_SHA1.
make_key() {
	[ -f "$T/ca/ca.pem" ] || "$PYTHON" "$top_srcdir/tests/lib/mini_ca.py" init "$T/ca"
	"$SIGNER" keygen --label "$1" --algorithm "$2" >/dev/null || fail "keygen $1"
	"$SIGNER" csr --label "$1" --subject "CN=$1" --out "$T/$1.csr" || fail "csr $1"
	"$PYTHON" "$top_srcdir/tests/lib/mini_ca.py" sign "$T/ca" "$T/$1.csr" "$T/$1.pem" \
		--not-before "$3" --not-after "$4" || fail "CA signing $1"
	"$SIGNER" import --cert "$T/$1.pem" >/dev/null || fail "import $1"
	KEY_SHA1=$(openssl x509 -in "$T/$1.pem" -noout -fingerprint -sha1 | sed 's/.*=//; s/://g' | tr A-F a-f)
}
