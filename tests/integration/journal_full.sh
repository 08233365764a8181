#!/bin/sh
# The audit journal's filesystem full (SPEC §6): a change whose entry cannot
# be written is refused with exit 3 BEFORE the state on the token moves, the
# partial write is cut back so the journal still verifies, and once there is
# room again the next change goes through and the journal stays intact.
# Needs root for a small tmpfs (skipped otherwise: exit 77).
. "$top_srcdir/tests/lib/common.sh"
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root to mount a small tmpfs"; exit 77; }
JD="$T/jdir"
mkdir -p "$JD"
mount -t tmpfs -o size=64k,mode=0700 p11s-journal "$JD" ||
	{ echo "SKIP: cannot mount a tmpfs here"; exit 77; }
# unmount in the cleanup, before the temp dir goes
umount_jd() { umount "$JD" 2>/dev/null || umount -l "$JD" 2>/dev/null || true; }
trap 'umount_jd; cleanup' EXIT
trap 'exit 1' INT TERM

new_token jfull
cat >>"$T/signer.conf" <<EOC

[policy]
clock_skew = 1s
jwks_max_age = 30s
past_grace = 5s

[type AudioVideoAuthentication]
token_lifetime = 10s
min_lead = 10s
EOC
sed -i "s|^journal = .*|journal = $JD/audit.jsonl|" "$T/signer.conf"
AV=AudioVideoAuthentication
make_key cur ES256 -60 3600; CUR=$KEY_SHA1
make_key next ES256 -60 7200; NEXT=$KEY_SHA1
expect_exit 0 "$SIGNER" assign --type $AV --thumbprint "$CUR"
expect_exit 0 "$SIGNER" roll --type $AV --thumbprint "$NEXT" --effective-date auto

# fill the filesystem: whatever the journal's last page still holds is all
dd if=/dev/zero of="$JD/filler" bs=1k 2>/dev/null || true
[ "$(df --output=avail -k "$JD" | tail -1 | tr -d ' ')" = 0 ] || fail "the tmpfs is not full"

# reschedule until the journal's last page is used up: every change either
# goes through whole or is refused with exit 3 and changes nothing
i=0 refused=0
while [ $i -lt 60 ]; do
	expect_exit 0 "$SIGNER" status --json
	v_before=$(json_get state_version)
	snap=$(token_snapshot)
	lines=$(wc -l <"$JD/audit.jsonl")
	set +e
	OUT=$("$SIGNER" roll --type $AV --thumbprint "$NEXT" --effective-date auto --replace 2>&1)
	rc=$?
	set -e
	if [ $rc = 0 ]; then
		i=$((i + 1))
		continue
	fi
	[ $rc = 3 ] || fail "a roll with the journal's disk full exited $rc (wanted 3): $OUT"
	expect_msg "cannot write the audit journal"
	expect_msg "No space left on device"
	expect_msg "the change is refused: nothing on the token was changed"
	[ "$(token_snapshot)" = "$snap" ] || fail "the refused roll changed the token"
	expect_exit 0 "$SIGNER" status --json
	[ "$(json_get state_version)" = "$v_before" ] || fail "state moved from $v_before"
	[ "$(wc -l <"$JD/audit.jsonl")" = "$lines" ] || fail "the refused roll left journal lines"
	[ "$(tail -c 1 "$JD/audit.jsonl" | od -An -c | tr -d ' ')" = '\n' ] ||
		fail "the journal ends in a partial line"
	expect_exit 0 "$SIGNER" audit verify
	refused=1
	break
done
[ $refused = 1 ] || fail "60 rolls went through on a full disk"
# still full: refused again, the same way
snap=$(token_snapshot)
expect_exit 3 "$SIGNER" roll --type $AV --thumbprint "$NEXT" --effective-date auto --replace
[ "$(token_snapshot)" = "$snap" ] || fail "a second refused roll changed the token"

# room again: the next change goes through and everything verifies
rm -f "$JD/filler"
expect_exit 0 "$SIGNER" roll --type $AV --thumbprint "$NEXT" --effective-date auto --replace
expect_exit 0 "$SIGNER" audit verify
case "$OUT" in *note:*) fail "a change is left without outcome: $OUT" ;; esac
pass "journal full after $i changes: refused with exit 3, token and journal unchanged; works again with room"
