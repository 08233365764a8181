#!/bin/sh
# signer and signerd cannot leave a core file (issue 10 item 6): SoftHSM2
# runs in their process, so a core would hold the token's unwrapped keys.
# Each program is started under `ulimit -c unlimited`, stopped by SIGQUIT
# (whose default action dumps core) while it holds the token open or waits
# for its PIN, and must die without a core; its /proc/PID/limits shows a
# core limit of 0.  With P11S_ALLOW_COREDUMP=1 (the documented debug switch)
# the same run dumps core, which shows that this machine would write one.
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/integration/signerd_lib.sh"

new_token dump
make_key d1 ES256 -60 86400
"$SIGNER" assign --type AudioVideoAuthentication --thumbprint "$KEY_SHA1" >/dev/null
cat >>"$T/signer.conf" <<EOC

[type AudioVideoAuthentication]
issuer = https://edge.test
audience = media-relay

[server]
listen = unix:$T/sd.sock
workers = 1
EOC

cat >"$T/dump.py" <<'EOP'
"""dump.py WHAT DIR ALLOW CMD...: run CMD in DIR with an unlimited core limit
(P11S_ALLOW_COREDUMP=1 when ALLOW is 1), wait until it is started (signer:
blocked reading its PIN from a pipe nobody writes to; signerd: ' ready: '
in its log), print its core limit, SIGQUIT it, wait for it and print
whether the kernel dumped core."""
import os, resource, signal, subprocess, sys, time

what, wd, allow, cmd = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
env = dict(os.environ)
env.pop("P11S_ALLOW_COREDUMP", None)
if allow == "1":
    env["P11S_ALLOW_COREDUMP"] = "1"
r, w = os.pipe()  # the signer's PIN source: never written, never closed
if what == "signer":
    cmd = [cmd[0], "--pin", "fd:%d" % r] + cmd[1:]
log = open(os.path.join(wd, "out.log"), "wb")


def unlimited():
    soft, hard = resource.getrlimit(resource.RLIMIT_CORE)
    resource.setrlimit(resource.RLIMIT_CORE, (hard, hard))
    # a shell without job control starts background jobs with SIGQUIT ignored,
    # and the child would inherit that: give it the default action back
    signal.signal(signal.SIGQUIT, signal.SIG_DFL)


p = subprocess.Popen(cmd, cwd=wd, env=env, pass_fds=(r,), stdout=log, stderr=log,
                     preexec_fn=unlimited)
deadline = time.monotonic() + 60
limit = None
try:
    while time.monotonic() < deadline:
        if p.poll() is not None:
            sys.exit("%s exited early (%s): %s" % (what, p.returncode,
                     open(os.path.join(wd, "out.log"), "rb").read()[-400:]))
        if what == "signerd":
            ready = b" ready: " in open(os.path.join(wd, "out.log"), "rb").read()
        else:  # blocked in read() on the pipe: the PIN is awaited
            with open("/proc/%d/syscall" % p.pid) as f:
                ready = f.read().split()[0:2] == ["0", hex(r)]
        if ready:
            with open("/proc/%d/limits" % p.pid) as f:
                for line in f:
                    if line.startswith("Max core file size"):
                        limit = line.split()[4]
            break
        time.sleep(0.05)
    else:
        sys.exit("%s did not start within 60 s" % what)
    os.kill(p.pid, signal.SIGQUIT)
finally:
    if p.returncode is None and limit is None:
        p.kill()
    if p.returncode is None:  # not reaped yet by poll()
        end = time.monotonic() + 60
        while True:  # os.waitpid, not p.wait(): the core-dump bit is in the status
            pid, st = os.waitpid(p.pid, os.WNOHANG)
            if pid != 0:
                break
            if time.monotonic() > end:
                os.kill(p.pid, signal.SIGKILL)
                os.waitpid(p.pid, 0)
                sys.exit("%s was still running 60 s after SIGQUIT" % what)
            time.sleep(0.05)
print("limit=%s signal=%s core=%d" % (limit, os.WTERMSIG(st) if os.WIFSIGNALED(st) else "-",
                                      1 if os.WIFSIGNALED(st) and os.WCOREDUMP(st) else 0))
EOP

run() { # run WHAT ALLOW CMD...: prints "limit=… signal=… core=…"
	_w=$1 _a=$2; shift 2
	rm -rf "$T/wd" && mkdir "$T/wd"
	RES=$("$PYTHON" "$T/dump.py" "$_w" "$T/wd" "$_a" "$@") || fail "$_w: $RES"
	CORES=$(find "$T/wd" -name 'core*' | wc -l)
	find "$T/wd" -name 'core*' -exec rm -f {} + # a throwaway token's key, but still
}

# AddressSanitizer (--enable-sanitizers) sets RLIMIT_CORE to 0 by itself, so
# the switch's half shows nothing there.
ASAN=0
ldd "$SIGNER" 2>/dev/null | grep -q libasan && ASAN=1
for prog in signer signerd; do
	if [ $prog = signer ]; then
		set -- "$SIGNER" list
	else
		set -- "$SIGNERD" --foreground
	fi
	run $prog 0 "$@"
	case $RES in
	"limit=0 signal=3 core=0") ;;
	*) fail "$prog under ulimit -c unlimited, stopped by SIGQUIT: $RES (want limit=0 signal=3 core=0)" ;;
	esac
	[ "$CORES" = 0 ] || fail "$prog left $CORES core file(s)"
	pass "$prog: core limit 0, no core on SIGQUIT"

	run $prog 1 "$@"
	case $RES in
	"limit=0 "*)
		[ "$ASAN" = 1 ] || fail "$prog with P11S_ALLOW_COREDUMP=1 still set its core limit to 0: $RES"
		echo "note: $prog with the switch: $RES (AddressSanitizer sets the limit to 0 itself)"
		;;
	*"core=1") pass "$prog with P11S_ALLOW_COREDUMP=1 dumps core ($RES, $CORES file)" ;;
	*) echo "note: this machine wrote no core even with the switch ($RES): the no-core half above is weaker here" ;;
	esac
done

expect_exit 2 env P11S_ALLOW_COREDUMP=yes "$SIGNER" list
echo "$OUT" | grep -q "P11S_ALLOW_COREDUMP must be 1" || fail "bad switch value: $OUT"
pass "P11S_ALLOW_COREDUMP=yes is refused with the accepted values"
