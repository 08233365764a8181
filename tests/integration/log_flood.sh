#!/bin/sh
# A token that keeps logging signerd out (p11wrap LOGOUT before every object
# search) must not write lines per poll: the repeated events are logged at
# most a few times a minute each, the rest counted (issue 10 item 6).
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/integration/signerd_lib.sh"

new_token flood
make_key av1 ES256 -60 86400
"$SIGNER" assign --type AudioVideoAuthentication --thumbprint "$KEY_SHA1" >/dev/null
sed -i "s|^uri = .*|uri = pkcs11:token=flood?module-path=$top_builddir/tests/lib/p11wrap.so|" "$T/signer.conf"
cat >>"$T/signer.conf" <<EOC

[server]
listen = unix:$T/sd.sock
workers = 1
poll_interval_ms = 50
EOC
P11WRAP_MODULE=$SOFTHSM_MODULE P11WRAP_FAULTS=$T/faults P11WRAP_LOG=$T/p11.log
export P11WRAP_MODULE P11WRAP_FAULTS P11WRAP_LOG
start_signerd sd
PID=$SD_PID
printf 'C_FindObjectsInit LOGOUT -1\n' >"$T/faults.tmp" && mv "$T/faults.tmp" "$T/faults"
: >"$T/p11.log"
lines0=$(wc -l <"$T/sd.log")
# at least 60 polls while logged out (each poll searches the token)
i=0
while [ "$(grep -c '^C_FindObjectsInit' "$T/p11.log")" -lt 120 ]; do
	i=$((i + 1))
	[ $i -lt 1200 ] || fail "fewer than 120 object searches in 120 s"
	sleep 0.1
done
sleep 1
polls=$(grep -c '^C_FindObjectsInit' "$T/p11.log")
logins=$(grep -c '^C_Login' "$T/p11.log")
lines=$(($(wc -l <"$T/sd.log") - lines0))
relog=$(grep -c 'no longer logged in' "$T/sd.log" || true)
stop_signerd "$PID"
echo "searches=$polls logins=$logins new log lines=$lines 'no longer logged in' lines=$relog"
# every poll found the session logged out and logged in again ...
[ "$logins" -ge 60 ] || fail "only $logins logins: the token did not keep logging signerd out"
# ... but the log got at most 3 lines of that event (one minute's burst),
# and a handful of others (poll failure, recovery), not one per poll
[ "$relog" -le 3 ] || fail "$relog 'no longer logged in' lines for $logins logins"
[ "$lines" -le 10 ] || fail "$lines log lines for $polls polls while logged out: $(tail -5 "$T/sd.log")"
pass "$logins polls logged out: $lines log lines ($relog of the repeated event)"
