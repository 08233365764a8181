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

# gone PID: the process has exited (no such process, or a zombie: reaped here)
gone() {
	[ -r "/proc/$1/stat" ] || return 0
	case "$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)" in
	'' | Z | X) wait "$1" 2>/dev/null || true; return 0 ;;
	esac
	return 1
}

# wait_gone PID SECONDS: poll until the process has exited; 1 if it has not
wait_gone() {
	_wg_n=$(($2 * 20))
	while ! gone "$1"; do
		_wg_n=$((_wg_n - 1))
		[ $_wg_n -gt 0 ] || return 1
		sleep 0.05
	done
	return 0
}

# stop_all: every process the test started (the daemons listed in $T/pids and
# this shell's background jobs) gets SIGTERM, then SIGKILL if it has not
# exited within 30 s; returns once each has exited, so nothing writes in $T
# while it is removed.
stop_all() {
	: >"$T/jobs" 2>/dev/null || return 0
	jobs -p >"$T/jobs" 2>/dev/null || true
	_sa_pids=$(cat "$T/pids" "$T/jobs" 2>/dev/null | sort -u)
	for _sa_p in $_sa_pids; do kill -TERM "$_sa_p" 2>/dev/null || true; done
	for _sa_p in $_sa_pids; do
		wait_gone "$_sa_p" 30 && continue
		echo "warning: process $_sa_p ignored SIGTERM for 30 s; killing it" >&2
		kill -KILL "$_sa_p" 2>/dev/null || true
		wait_gone "$_sa_p" 10 || echo "warning: process $_sa_p did not exit" >&2
	done
	rm -f "$T/pids" "$T/jobs"
}

cleanup() {
	# stop every process the test started and WAIT for it, then remove
	# everything it made
	stop_all
	if [ "${KEEP_TEST_DIR:-}" = "" ]; then rm -rf "$T"; else echo "kept $T" >&2; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

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
