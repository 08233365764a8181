#!/bin/sh
# signerd and signer as systemd runs them (SPEC §8, issue "operable install"):
# readiness through NOTIFY_SOCKET, sockets passed with LISTEN_FDS, the PIN as
# a credential, journal priority prefixes, JSON logs, a missing or bad
# configuration refused with a message that says what to do.
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/integration/signerd_lib.sh"
SDH="$PYTHON $top_srcdir/tests/integration/sdharness.py"

new_token sdtest
cat >>"$T/signer.conf" <<EOC
[server]
listen = unix:$T/api.sock
EOC
expect_exit 0 "$SIGNER" keygen --label k1 --algorithm ES256

# ---- a missing configuration is an error that names the file ----
expect_exit 2 env SIGNER_CONFIG="$T/nope.conf" "$SIGNER" list
expect_msg "no configuration file $T/nope.conf (named by SIGNER_CONFIG)"
expect_msg "choose another with --config FILE or the environment variable SIGNER_CONFIG"
expect_exit 2 "$SIGNER" --config "$T/nope.conf" status
expect_msg "no configuration file $T/nope.conf (given with --config)"
expect_exit 2 env -u SIGNER_CONFIG "$SIGNER" keygen --label k9 --algorithm ES256
expect_msg "no configuration file "
expect_msg "(the default)"
expect_exit 2 "$SIGNERD" --foreground --config "$T/nope.conf"
expect_msg "no configuration file $T/nope.conf (given with --config)"
pass "a missing configuration is refused with the file looked for"

# ---- config check prints the effective values; a bad file names line and key ----
expect_exit 0 "$SIGNER" config check
expect_msg "uri = $TOKEN_URI"
expect_msg "lock_file = $T/token.lock"
expect_msg "token_lifetime = 8h"
expect_msg "listen = unix:$T/api.sock"
expect_msg "configuration $T/signer.conf is valid"
expect_exit 0 "$SIGNERD" --check-config
expect_msg "journal = $T/audit.jsonl"
expect_msg "access_log = no"
printf '[server]\nworkers = many\n' >"$T/bad.conf"
expect_exit 2 "$SIGNER" --config "$T/bad.conf" config check
expect_msg "$T/bad.conf:2: [server] workers: \"many\" is not a whole number"
expect_exit 2 "$SIGNERD" --check-config --config "$T/bad.conf"
expect_msg "$T/bad.conf:2: [server] workers:"
pass "config check and --check-config"

# ---- the PIN as a systemd credential ----
mkdir -p "$T/creds"
cp "$T/pin" "$T/creds/pin"
expect_exit 0 env CREDENTIALS_DIRECTORY="$T/creds" "$SIGNER" --pin credential:pin list
expect_msg "k1"
expect_exit 2 env -u CREDENTIALS_DIRECTORY "$SIGNER" --pin credential:pin list
expect_msg "the PIN source is credential:pin but CREDENTIALS_DIRECTORY is not set"
expect_exit 2 env CREDENTIALS_DIRECTORY="$T/creds" "$SIGNER" --pin credential:other list
expect_msg "cannot read the PIN credential other ($T/creds/other)"
expect_msg "LoadCredential=other:FILE"
sed "s|^pin = .*|pin = credential:pin|" "$T/signer.conf" >"$T/cred.conf"
CREDENTIALS_DIRECTORY="$T/creds" SIGNER_CONFIG="$T/cred.conf" start_signerd cred
expect_http 200 GET http://localhost/healthz "" --unix-socket "$T/api.sock"
stop_signerd "$SD_PID"
expect_exit 2 env -u CREDENTIALS_DIRECTORY "$SIGNERD" --foreground --config "$T/cred.conf"
expect_msg "CREDENTIALS_DIRECTORY is not set"
pass "credential:pin from \$CREDENTIALS_DIRECTORY; refusals name what is missing"

# ---- Type=notify: READY=1 once the listener answers, STOPPING=1 on SIGTERM ----
expect_exit 0 $SDH notify "$T/notify.sock" "$T/api.sock" "$SIGNERD" --foreground
expect_msg "STATUS=opening the token"
expect_msg "READY=1 | STATUS=serving: token 'sdtest'"
expect_msg "# healthz at READY=1: 200"
expect_msg "STOPPING=1"
# the abstract namespace, as systemd uses it
expect_exit 0 $SDH notify "@p11s-test-$$" "$T/api.sock" "$SIGNERD" --foreground
expect_msg "READY=1"
pass "sd_notify: READY=1 only when serving, STOPPING=1 on SIGTERM"

# the watchdog: WATCHDOG=1 every half WatchdogSec
expect_exit 0 env WATCHDOG_USEC=400000 $SDH notify "$T/notify.sock" "$T/api.sock" "$SIGNERD" --foreground
expect_msg "# watchdog pings: "
pass "WATCHDOG=1 when WATCHDOG_USEC is set"

# ---- pin = prompt: read on the terminal before signerd detaches ----
sed "s|^pin = .*|pin = prompt|" "$T/signer.conf" >"$T/prompt.conf"
"$PYTHON" - "$SIGNERD" "$T/prompt.conf" "$TEST_PIN" >"$T/prompt.out" 2>&1 <<'EOPY' || fail "signerd with pin = prompt did not start: $(cat "$T/prompt.out")"
import os, pty, select, signal, sys, time
signerd, conf, pin = sys.argv[1:4]
pid, fd = pty.fork()
if pid == 0:
    os.execv(signerd, [signerd, "--config", conf])
def read_until(pred, what):
    buf, deadline = b"", time.monotonic() + 120
    while not pred(buf):
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            sys.exit("%s within 120 s: %r" % (what, buf))
        if select.select([fd], [], [], 1)[0]:
            try:
                d = os.read(fd, 1024)
            except OSError:
                d = b""
            if not d:
                return buf, True
            buf += d
    return buf, False
read_until(lambda b: b"Enter PIN" in b, "no PIN prompt")
os.write(fd, pin.encode() + b"\n")
out, _ = read_until(lambda b: False, "the starting signerd did not return")
_, st = os.waitpid(pid, 0)
assert pin.encode() not in out, "the PIN was echoed"
sys.exit(os.waitstatus_to_exitcode(st))
EOPY
# the starting command returned once the daemon served: find and stop it
expect_http 200 GET http://localhost/v1/status "" --unix-socket "$T/api.sock"
dpid=$(printf '%s' "$BODY" | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["member"]["pid"])')
echo "$dpid" >>"$T/pids"
kill -TERM "$dpid"
i=0
while kill -0 "$dpid" 2>/dev/null; do
	i=$((i + 1))
	[ $i -lt 1200 ] || fail "daemon $dpid still running 120 s after SIGTERM"
	sleep 0.1
done
pass "pin = prompt is read before signerd detaches"

# ---- socket activation ----
port=$(free_port)
rm -f "$T/api.sock"
# a TCP socket that no listen line names is refused
expect_exit 1 $SDH activate "$T/api.sock" "$port" "$SIGNERD" --foreground
expect_msg "socket activation: fd 4 is bound to 127.0.0.1:$port, which no [server] listen line names"
rm -f "$T/api.sock"
printf 'listen = http://127.0.0.1:%s\n' "$port" >>"$T/signer.conf"
expect_exit 0 $SDH activate "$T/api.sock" "$port" "$SIGNERD" --foreground
expect_msg "unix /healthz: 200"
expect_msg "tcp /healthz: 200"
expect_msg "socket activation: 2 listening sockets from systemd"
[ -S "$T/api.sock" ] || fail "signerd removed the UNIX socket systemd owns"
pass "LISTEN_FDS: answers on both passed sockets"
expect_exit 2 sh -c 'LISTEN_PID=$$ LISTEN_FDS=two exec "$0" --foreground' "$SIGNERD"
expect_msg 'LISTEN_FDS="two" is not a number of descriptors'
expect_exit 2 sh -c 'LISTEN_PID=$$ LISTEN_FDS=1 exec "$0" --foreground 3</dev/null' "$SIGNERD"
expect_msg "fd 3 (of LISTEN_FDS=1) is not a listening stream socket"
expect_exit 2 sh -c 'LISTEN_PID=$$ LISTEN_FDS=3 exec "$0" --foreground 3</dev/null 4</dev/null 5<&-' "$SIGNERD"
expect_msg "LISTEN_FDS=3 but fd 5 is not open"
pass "bad LISTEN_FDS refused with its reason"

# ---- journal priority prefixes and JSON logs ----
# stderr is "the journal" when JOURNAL_STREAM names its device:inode
: >"$T/journal.log"
js=$(stat -c '%d:%i' "$T/journal.log")
set +e
JOURNAL_STREAM=$js "$SIGNERD" --foreground --debug --config "$T/cred.conf" 2>>"$T/journal.log"
st=$?
set -e
[ "$st" = 2 ] || fail "signerd with no credentials exited $st"
grep -q '^<3>error: cannot open the token: the PIN source is credential:pin' "$T/journal.log" ||
	fail "no <3> error line: $(cat "$T/journal.log")"
: >"$T/other.log"
set +e
JOURNAL_STREAM=$js "$SIGNERD" --foreground --config "$T/cred.conf" 2>>"$T/other.log"
set -e
if grep -q '^<' "$T/other.log"; then fail "prefix on a stderr that is not the journal"; fi
pass "<N> priority prefixes only when stderr is the journal"
make_key av1 ES256 -60 86400
"$SIGNER" assign --type AudioVideoAuthentication --thumbprint "$KEY_SHA1" >/dev/null ||
	fail "assign av1"
sed 's|^\[server\]|[server]\nlog_format = json\naccess_log = yes|' "$T/signer.conf" >"$T/json.conf"
SIGNER_CONFIG="$T/json.conf" start_signerd json
expect_http 200 GET http://localhost/healthz "" --unix-socket "$T/api.sock"
expect_http 404 POST http://localhost/v1/tokens '{"type":"NoSuchType","sub":"a"}' --unix-socket "$T/api.sock"
expect_http 200 POST http://localhost/v1/tokens '{"type":"AudioVideoAuthentication","sub":"a"}' \
	--unix-socket "$T/api.sock"
kid=$(body_get kid)
token=$(body_get token)
[ -n "$kid" ] || fail "no kid in the issue answer: $BODY"
expect_http 200 POST http://localhost/v1/verify "{\"token\":\"$token\"}" --unix-socket "$T/api.sock"
stop_signerd "$SD_PID"
grep -q '"message":"access: GET /healthz 200 type=- kid=- [0-9]*\.[0-9]* ms"' "$T/json.log" ||
	fail "no access line for /healthz: $(cat "$T/json.log")"
grep -q '"message":"access: POST /v1/tokens 404 type=NoSuchType kid=- ' "$T/json.log" ||
	fail "no access line for the refused issue: $(cat "$T/json.log")"
grep -q "\"message\":\"access: POST /v1/tokens 200 type=AudioVideoAuthentication kid=$kid " \
	"$T/json.log" || fail "no access line with the kid of the issued token: $(cat "$T/json.log")"
grep -q "\"message\":\"access: POST /v1/verify 200 type=AudioVideoAuthentication kid=$kid " \
	"$T/json.log" || fail "no access line with the kid of the verified token: $(cat "$T/json.log")"
pass "access_log: one line per request with route, status, type, kid, duration"
"$PYTHON" -c '
import json, sys
n = 0
for line in open(sys.argv[1]):
    o = json.loads(line)
    assert {"time", "program", "level", "message"} <= o.keys(), o
    n += 1
assert n >= 3, n
print("json log lines:", n)
' "$T/json.log" || fail "log_format = json: not one JSON object per line: $(cat "$T/json.log")"
pass "log_format = json"
