#!/bin/sh
# SIGKILL at random moments of 'signer roll', 'approve' and 'remove' (SPEC §4,
# §6): after every kill 'signer status' loads, the state is the old or the new
# version, and 'signer audit verify' passes -- when the killed change has no
# outcome entry yet, its note names it and says whether it completed, which
# must match the state; the next change records that outcome.
# AUDIT_CRASH_KILLS sets the number of kills (default 30).
# The kills land after the command has logged in (seen through p11wrap.so's
# call log): SoftHSM2 rewrites its token.object in place at every C_Login, and
# a kill during that rewrite breaks SoftHSM2's own token file (as in
# state_crash.sh); everything after the login is fair game.
. "$top_srcdir/tests/lib/common.sh"
new_token acrash
CA="$top_srcdir/tests/lib/mini_ca.py"
AV=AudioVideoAuthentication
OA=OAuthTokenIssuer
KILLS=${AUDIT_CRASH_KILLS:-30}
"$PYTHON" "$CA" init "$T/ca"
"$PYTHON" "$CA" keycert "$T/ca" "$T/alice.key" "$T/alice.pem" --kind ec256 --cn alice
"$PYTHON" "$CA" keycert "$T/ca" "$T/bob.key" "$T/bob.pem" --kind ec256 --cn bob
cat >>"$T/signer.conf" <<EOC

[policy]
clock_skew = 1s
jwks_max_age = 2s
past_grace = 1s
proposal_lifetime = 1h

[type $AV]
token_lifetime = 2s
min_lead = 2s

[type $OA]
algorithm = ES256
token_lifetime = 2s
min_lead = 2s

[custodian alice]
certificate = $T/alice.pem

[custodian bob]
certificate = $T/bob.pem
EOC
WRAP="$top_builddir/tests/lib/p11wrap.so"
sed -i "s|module-path=$SOFTHSM_MODULE|module-path=$WRAP|" "$T/signer.conf"
P11WRAP_MODULE=$SOFTHSM_MODULE; export P11WRAP_MODULE
# the same token and journal with quorum 2: rolls become proposals
sed 's/^proposal_lifetime = 1h$/proposal_lifetime = 1h\nquorum = 2/' "$T/signer.conf" >"$T/q2.conf"
iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }
status_of() { # TYPE FIELD: sha1 of current|staged|previous, or ""
	"$SIGNER" status --json | "$PYTHON" -c \
		"import json,sys; t=[t for t in json.load(sys.stdin)['types'] if t['type']=='$1'][0]; print(t.get('$2',{}).get('sha1',''))"
}
n_key=0
# each new certificate outlives the previous ones (rule 2), even within one second
new_key() { n_key=$((n_key + 1)); make_key "k$n_key" ES256 -60 $((7200 + n_key)); }

new_key; expect_exit 0 "$SIGNER" assign --type $AV --thumbprint "$KEY_SHA1"
new_key; expect_exit 0 "$SIGNER" assign --type $OA --thumbprint "$KEY_SHA1"
new_key; AV_NEXT=$KEY_SHA1
expect_exit 0 "$SIGNER" roll --type $AV --thumbprint "$AV_NEXT" --effective-date "$(iso $(($(date +%s) + 3600)))"
OA_E=0
T0=$(date +%s)

# OA: keep a previous key to remove, staging a fresh key 10 s ahead when needed
oa_prepare() {
	[ -n "$(status_of $OA previous)" ] && return 0
	if [ -z "$(status_of $OA staged)" ]; then
		new_key
		OA_E=$(($(date +%s) + 10))
		expect_exit 0 "$SIGNER" roll --type $OA --thumbprint "$KEY_SHA1" --effective-date "$(iso $OA_E)"
	fi
	return 1
}

# the command for one kind of cycle (sets CMD; runs unkilled set-up first)
PROPOSAL=
prepare() {
	case $1 in
	roll)
		CMD="$SIGNER roll --type $AV --thumbprint $AV_NEXT --replace --effective-date $(iso $(($(date +%s) + 3600 - $(shuf -i 1-600 -n 1))))" ;;
	approve)
		expect_exit 0 "$SIGNER" --config "$T/q2.conf" roll --type $AV --thumbprint "$AV_NEXT" --replace \
			--effective-date "$(iso $((T0 + 1000 + i * 7)))"
		PROPOSAL=$(printf '%s\n' "$OUT" | sed -n 's/^proposal \([0-9a-f]*\)$/\1/p')
		[ -n "$PROPOSAL" ] || fail "no proposal id in: $OUT"
		who=alice; [ $((i % 2)) = 0 ] && who=bob
		CMD="$SIGNER --config $T/q2.conf approve $PROPOSAL --key $T/$who.key" ;;
	remove)
		CMD="$SIGNER remove --type $OA --previous --force" ;;
	esac
}

# typical run time of each command, for the kill moments (ms)
i=0
ms() { date +%s%3N; }
for kind in roll approve; do
	prepare $kind
	t=$(ms); $CMD >/dev/null 2>&1 || fail "$kind failed unkilled"; t=$(($(ms) - t))
	echo "$kind takes $t ms unkilled" 
	eval "DUR_$kind=$t"
done
DUR_remove=$DUR_roll

# the first remove needs a previous key: wait for a first OA switch
oa_prepare || true
wait_until $((OA_E + 1))
oa_prepare || fail "no previous key of $OA after its switch"
kills=0 i=0 n_note_done=0 n_note_not=0 n_clean_new=0 n_clean_old=0
while [ $kills -lt "$KILLS" ]; do
	i=$((i + 1))
	case $((i % 3)) in
	0) kind=roll ;;
	1) kind=approve ;;
	*) if oa_prepare; then kind=remove; else kind=roll; fi ;;
	esac
	prepare $kind
	expect_exit 0 "$SIGNER" status --json
	v0=$(json_get state_version)
	eval "dur=\$DUR_$kind"
	delay=$(shuf -i 0-$((dur * 9 / 10)) -n 1)
	rm -f "$T/p11.log"
	P11WRAP_LOG="$T/p11.log" $CMD >"$T/cmd.out" 2>&1 &
	pid=$!
	w=0
	while ! grep -q '^C_Login CKR_OK' "$T/p11.log" 2>/dev/null; do
		# a busy machine may let it finish between two looks: then the kill
		# lands after its end, which is one of the moments too
		if ! kill -0 $pid 2>/dev/null; then
			grep -q '^C_Login CKR_OK' "$T/p11.log" 2>/dev/null && break
			fail "$kind exited before it logged in: $(cat "$T/cmd.out")"
		fi
		w=$((w + 1))
		[ $w -lt 5000 ] || fail "$kind did not log in within 10 s"
		sleep 0.002
	done
	sleep "$(printf '%d.%03d' $((delay / 1000)) $((delay % 1000)))"
	kill -9 $pid 2>/dev/null || true
	wait $pid 2>/dev/null || true
	kills=$((kills + 1))
	eval "K_$kind=\$((\${K_$kind:-0} + 1))"
	expect_exit 0 "$SIGNER" status --json
	v=$(json_get state_version)
	[ "$v" = "$v0" ] || [ "$v" = $((v0 + 1)) ] ||
		fail "kill $kills ($kind after ${delay} ms): state version $v0 became $v"
	expect_exit 0 "$SIGNER" audit verify
	# a note names the open change (this command's, or an earlier one's when
	# this command was killed before it took the journal): it completed
	# exactly when the state reached the version its entries went into
	case "$OUT" in
	*note:*)
		nv=$(printf '%s' "$OUT" | sed -n 's/.*state version \([0-9]*\)) has no outcome.*/\1/p')
		at=$(printf '%s' "$OUT" | sed -n "s/.*note: the last change ('[a-z_]*' at \([^,]*\),.*/\1/p")
		[ -n "$nv" ] && [ -n "$at" ] || fail "kill $kills: unexpected note: $OUT"
		case "$OUT" in
		*"it completed;"*)
			[ "$v" -ge "$nv" ] || fail "kill $kills: the note says completed, the state is $v: $OUT"
			grep -qx "done $at" "$T/open" 2>/dev/null || { echo "done $at" >>"$T/open"; n_note_done=$((n_note_done + 1)); } ;;
		*"it did not complete;"*)
			[ "$v" -lt "$nv" ] || fail "kill $kills: the note says not completed, the state is $v: $OUT"
			grep -qx "not $at" "$T/open" 2>/dev/null || { echo "not $at" >>"$T/open"; n_note_not=$((n_note_not + 1)); } ;;
		*) fail "kill $kills: unexpected note: $OUT" ;;
		esac ;;
	*) if [ "$v" = "$v0" ]; then n_clean_old=$((n_clean_old + 1)); else n_clean_new=$((n_clean_new + 1)); fi ;;
	esac
done
[ "${K_remove:-0}" -ge 1 ] || fail "no kill landed in a remove"
# one more change settles the last one; then no change is left open and every
# open change seen above got its outcome from the next change
new_key
expect_exit 0 "$SIGNER" roll --type $AV --thumbprint "$KEY_SHA1" --replace --effective-date "$(iso $(($(date +%s) + 3000)))"
expect_exit 0 "$SIGNER" audit verify
case "$OUT" in *note:*) fail "a change is still open: $OUT" ;; esac
J="$T/audit.jsonl"
got_not=$(grep -c '"action":"not_completed"' "$J" || true)
got_done=$(grep '"action":"completed"' "$J" | grep -c '"how":"reconciled' || true)
[ "$got_not" = "$n_note_not" ] || fail "$n_note_not changes did not complete, the journal records $got_not"
[ "$got_done" = "$n_note_done" ] || fail "$n_note_done changes completed without outcome, the journal reconciled $got_done"
pass "$KILLS kills (roll ${K_roll:-0}, approve ${K_approve:-0}, remove ${K_remove:-0}): every status loaded, old or new version, audit verify passed; no note: $n_clean_old old + $n_clean_new new; open changes named by audit verify and settled by the next change: $n_note_not not completed, $n_note_done completed"
