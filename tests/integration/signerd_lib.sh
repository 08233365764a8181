# Helpers for the signerd integration tests (sourced after tests/lib/common.sh).

# $PYTHON (tests/lib/common.sh) is Debian's python3 with python3-jwt and
# python3-cryptography.

# free_port: a TCP port nobody listens on right now.
free_port() {
	"$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# make_tls DIR: a CA, a server certificate for 127.0.0.1/localhost, a client
# certificate from that CA and one from an unrelated CA.
make_tls() {
	d=$1
	mkdir -p "$d"
	for ca in ca other; do
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$d/$ca.key" \
			-out "$d/$ca.pem" -subj "/CN=signerd test $ca" -days 2 2>/dev/null
	done
	printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >"$d/san.ext"
	for who in server:ca client:ca rogue:other; do
		name=${who%%:*}
		ca=${who##*:}
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$d/$name.key" \
			-out "$d/$name.csr" -subj "/CN=$name" 2>/dev/null
		if [ "$name" = server ]; then ext="-extfile $d/san.ext"; else ext=""; fi
		# shellcheck disable=SC2086
		openssl x509 -req -in "$d/$name.csr" -CA "$d/$ca.pem" -CAkey "$d/$ca.key" -CAcreateserial \
			-out "$d/$name.pem" -days 2 $ext 2>/dev/null
	done
}

# start_signerd NAME [ARGS...]: start signerd in the foreground with the
# test's config, log to $T/NAME.log; waits until it is ready.  Sets $SD_PID.
start_signerd() {
	name=$1; shift
	"$SIGNERD" --foreground "$@" >"$T/$name.log" 2>&1 &
	SD_PID=$!
	echo "$SD_PID" >>"$T/pids"
	i=0
	while ! grep -q ' ready: ' "$T/$name.log" 2>/dev/null; do
		if ! kill -0 "$SD_PID" 2>/dev/null; then
			cat "$T/$name.log" >&2
			fail "signerd $name exited during start-up"
		fi
		i=$((i + 1))
		# generous: a sanitizer build on a busy machine starts slowly
		[ $i -lt 1200 ] || fail "signerd $name not ready after 60 s: $(cat "$T/$name.log")"
		sleep 0.05
	done
}

# stop_signerd PID: SIGTERM, wait, and check exit status 0.
stop_signerd() {
	kill -TERM "$1"
	set +e
	wait "$1"
	st=$?
	set -e
	[ "$st" = 0 ] || fail "signerd $1 exited with $st after SIGTERM"
}

# http METHOD URL [BODY] [curl options...]: prints "STATUS BODY"; JSON body.
http() {
	m=$1 u=$2 b=${3:-}
	shift 2
	[ $# -gt 0 ] && shift
	if [ -n "$b" ]; then
		curl -s -S -m 10 -X "$m" -H 'Content-Type: application/json' --data-binary "$b" \
			-w ' %{http_code}' "$@" "$u"
	else
		curl -s -S -m 10 -X "$m" -w ' %{http_code}' "$@" "$u"
	fi
}

# expect_http WANT_STATUS METHOD URL [BODY] [curl options...]: sets $BODY.
expect_http() {
	want=$1; shift
	out=$(http "$@") || fail "curl failed: $*"
	got=${out##* }
	BODY=${out% *}
	[ "$got" = "$want" ] || fail "HTTP $got (wanted $want) for $*: $BODY"
}

# body_get FIELD: a top-level member of $BODY (JSON literals for bool/null).
body_get() {
	printf '%s' "$BODY" | "$PYTHON" -c 'import json,sys; v=json.load(sys.stdin)[sys.argv[1]]; print(json.dumps(v) if isinstance(v,(dict,list,bool)) or v is None else v)' "$1"
}
