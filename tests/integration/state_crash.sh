#!/bin/sh
# A writer killed with SIGKILL at random moments never leaves a state that
# fails to load, and the loaded state is always a whole version (SPEC §4).
. "$top_srcdir/tests/lib/common.sh"
new_token crash
TOOL="$top_builddir/tests/lib/statetool"
PIN="file:$T/pin"
LOCK="$T/token.lock"
KILLS=${STATE_CRASH_KILLS:-200}

prev=0
i=0
while [ $i -lt $KILLS ]; do
	"$TOOL" "$TOKEN_URI" "$PIN" "$LOCK" hammer 2>/dev/null &
	w=$!
	# a random moment within 0..60 ms of the writer's life
	sleep "0.0$(shuf -i 10-60 -n 1)"
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
