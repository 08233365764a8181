#!/bin/sh
# A writer killed with SIGKILL at random moments never leaves a state that
# fails to load, and the loaded state is always a whole version (SPEC §4).
# The kills land after the writer has logged in: SoftHSM2 rewrites its
# token.object in place at every C_Login, and a kill during that rewrite
# breaks SoftHSM2's own token file (not our state); a real HSM has no such
# file.
. "$top_srcdir/tests/lib/common.sh"
new_token crash
TOOL="$top_builddir/tests/lib/statetool"
PIN="file:$T/pin"
LOCK="$T/token.lock"
KILLS=${STATE_CRASH_KILLS:-200}

prev=0
i=0
while [ $i -lt $KILLS ]; do
	: >"$T/ready"
	"$TOOL" "$TOKEN_URI" "$PIN" "$LOCK" hammer >"$T/ready" 2>/dev/null &
	w=$!
	while [ ! -s "$T/ready" ]; do
		kill -0 $w 2>/dev/null || fail "writer died before it was ready"
		sleep 0.005
	done
	# a random moment within the next 1..40 ms of writing
	sleep "0.0$(shuf -i 1-40 -n 1 | sed 's/^\([0-9]\)$/0\1/')"
	kill -9 $w 2>/dev/null || true
	wait $w 2>/dev/null || true
	out=$("$TOOL" "$TOKEN_URI" "$PIN" "$LOCK" get) || fail "state failed to load after kill $i"
	set -- $out
	[ "$1" = "$2" ] || fail "kill $i: loaded version $1 carries the update of version $2 (mixed state)"
	[ "$1" -ge "$prev" ] || fail "kill $i: version went back from $prev to $1"
	prev=$1
	i=$((i + 1))
done
pass "$KILLS kills: every load consistent, version reached $prev"
