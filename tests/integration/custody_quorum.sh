#!/bin/sh
# Quorum 2 of 4 custodians (SPEC §6): proposals, approvals by PEM file and by
# PKCS#11 URI on a second token, every refusal, staging re-checks, the quorum
# filter, and the audit journal's chain.
. "$top_srcdir/tests/lib/common.sh"
new_token svc
CA="$top_srcdir/tests/lib/mini_ca.py"
AV=AudioVideoAuthentication
OA=OAuthTokenIssuer
t0=$(date +%s)

"$PYTHON" "$CA" init "$T/ca"
# custodians: alice (EC, PEM), bob (RSA, PEM), carol (EC, on her own token),
# dave (certificate expired); mallory is nobody's custodian
"$PYTHON" "$CA" keycert "$T/ca" "$T/alice.key" "$T/alice.pem" --kind ec256 --cn alice
"$PYTHON" "$CA" keycert "$T/ca" "$T/bob.key" "$T/bob.pem" --kind rsa2048 --cn bob
"$PYTHON" "$CA" keycert "$T/ca" "$T/dave.key" "$T/dave.pem" --kind ec256 --cn dave \
	--not-before -120 --not-after -60
"$PYTHON" "$CA" keycert "$T/ca" "$T/mallory.key" "$T/mallory.pem" --kind ec256 --cn mallory
"$SOFTHSM2_UTIL" --init-token --free --label custodian --pin "$TEST_PIN" --so-pin 12345678 >/dev/null
CT="pkcs11:token=custodian?module-path=$SOFTHSM_MODULE"
expect_exit 0 "$SIGNER" --token "$CT" keygen --label carol --algorithm ES256
expect_exit 0 "$SIGNER" --token "$CT" csr --label carol --subject CN=carol --out "$T/carol.csr"
"$PYTHON" "$CA" sign "$T/ca" "$T/carol.csr" "$T/carol.pem" --not-before -60 --not-after 3600
CAROL="pkcs11:token=custodian;object=carol?module-path=$SOFTHSM_MODULE"

cp "$T/signer.conf" "$T/base.conf"
cat >>"$T/signer.conf" <<EOC

[policy]
clock_skew = 1s
jwks_max_age = 5s
past_grace = 1s
quorum = 2
proposal_lifetime = 60s

[type $AV]
token_lifetime = 6s
min_lead = 6s

[type $OA]
token_lifetime = 4s
min_lead = 6s

[custodian alice]
certificate = $T/alice.pem

[custodian bob]
certificate = $T/bob.pem

[custodian carol]
certificate = $T/carol.pem

[custodian dave]
certificate = $T/dave.pem
EOC

make_key av-old ES256 -60 3600; AV_OLD=$KEY_SHA1
make_key av-new ES256 -60 7200; AV_NEW=$KEY_SHA1
make_key oa-old RS256 -60 3600; OA_OLD=$KEY_SHA1
make_key oa-new RS256 -60 7200; OA_NEW=$KEY_SHA1
b64sha256() { openssl x509 -in "$1" -outform DER | openssl dgst -sha256 -binary | basenc --base64url | tr -d '='; }
# the token is the last line (the filter's warnings come first)
kid_of() { "$PYTHON" -c "import jwt,sys; print(jwt.get_unverified_header(sys.argv[1].split()[-1])['kid'])" "$1"; }
KID_OLD=$(b64sha256 "$T/av-old.pem")
KID_NEW=$(b64sha256 "$T/av-new.pem")
iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }
staged_of() { # TYPE: the staged key's sha1 in `signer status --json`, or ""
	"$SIGNER" status --json 2>/dev/null | "$PYTHON" -c \
		"import json,sys; t=[t for t in json.load(sys.stdin)['types'] if t['type']=='$1'][0]; print(t.get('staged',{}).get('sha1',''))"
}
proposal_status() { # ID
	"$SIGNER" proposals --json | "$PYTHON" -c \
		"import json,sys; print([p['status'] for p in json.load(sys.stdin) if p['id']=='$1'][0])"
}

# assignments need no quorum
expect_exit 0 "$SIGNER" assign --type $AV --thumbprint "$AV_OLD"
expect_exit 0 "$SIGNER" assign --type $OA --thumbprint "$OA_OLD"

# with quorum 2, roll creates a proposal and stages nothing
expect_exit 0 "$SIGNER" roll --type $AV --thumbprint "$AV_NEW" --effective-date "$(iso $((t0 + 3000)))"
expect_msg "proposal "
P_OLD_CREATED=$(date +%s)
P_OLD=$(printf '%s\n' "$OUT" | sed -n 's/^proposal \([0-9a-f]\{64\}\)$/\1/p')
[ -n "$P_OLD" ] || fail "roll printed no proposal id: $OUT"
E1=$(( $(date +%s) + 25 ))
expect_exit 0 "$SIGNER" roll --type $AV --thumbprint "$AV_NEW" --effective-date "$(iso $E1)"
P1=$(printf '%s\n' "$OUT" | sed -n 's/^proposal \([0-9a-f]\{64\}\)$/\1/p')
[ -n "$P1" ] && [ "$P1" != "$P_OLD" ] || fail "a changed plan must be a new proposal"
[ "$(staged_of $AV)" = "" ] || fail "a proposal was staged without approvals"
expect_exit 0 "$SIGNER" proposals
expect_msg "$P1"
expect_msg "pending, 0 of 2 approvals"
pass "roll with quorum 2 makes proposals $(echo $P_OLD | cut -c1-8), $(echo $P1 | cut -c1-8)"

before=$(token_snapshot)
unchanged() { [ "$(token_snapshot)" = "$before" ] || fail "token changed after: $1"; }

# an unknown key
expect_exit 1 "$SIGNER" approve "$P1" --key "$T/mallory.key"
expect_msg "unknown key"
unchanged "approval by an unknown key"
# an expired custodian certificate
expect_exit 1 "$SIGNER" approve "$P1" --key "$T/dave.key"
expect_msg "certificate of custodian dave is not valid"
unchanged "approval with an expired certificate"
# a signature over a different proposal
expect_exit 0 "$SIGNER" approve "$P_OLD" --key "$T/bob.key" --sign-only
printf '%s\n' "$OUT" >"$T/bob-old.json"
expect_exit 1 "$SIGNER" approve "$P1" --approval "$T/bob-old.json"
expect_msg "does not verify over proposal $(echo "$P1" | cut -c1-16)"
unchanged "approval signed over another proposal"
pass "unknown key, expired certificate, signature over another proposal: refused, token unchanged"

# first approval (PEM file): still a proposal, the current key still issues
expect_exit 0 "$SIGNER" approve "$(echo "$P1" | cut -c1-12)" --key "$T/alice.key"
expect_msg "1 of 2"
[ "$(staged_of $AV)" = "" ] || fail "one approval staged the roll"
expect_exit 0 "$SIGNER" issue --type $AV --sub one
[ "$(kid_of "$OUT")" = "$KID_OLD" ] || fail "after one approval the token is not signed by the current key"
before=$(token_snapshot)
# the same custodian again
expect_exit 1 "$SIGNER" approve "$P1" --key "$T/alice.key"
expect_msg "custodian alice already approved"
unchanged "a repeated custodian"
expect_exit 0 "$SIGNER" proposals --json
echo "$OUT" | grep -q '"alice"' || fail "proposals does not list alice's approval"
pass "one approval leaves a proposal; repeated custodian refused"

# second approval (PKCS#11 URI on carol's token): the roll is staged
expect_exit 0 "$SIGNER" approve "$P1" --key "$CAROL"
expect_msg "quorum is met"
[ "$(staged_of $AV)" = "$AV_NEW" ] || fail "two approvals did not stage the roll"
[ "$(proposal_status "$P1")" = staged ] || fail "proposal $P1 not marked staged"
before=$(token_snapshot)
expect_exit 1 "$SIGNER" approve "$P1" --key "$T/bob.key"
expect_msg "staged"
unchanged "approval of a staged proposal"
pass "second approval (PKCS#11 custodian key) staged the roll"

# a plan that became unsafe while it waited: refused at the staging approval
E2=$(( $(date +%s) + 8 ))
expect_exit 0 "$SIGNER" roll --type $OA --thumbprint "$OA_NEW" --effective-date "$(iso $E2)"
P2=$(printf '%s\n' "$OUT" | sed -n 's/^proposal \([0-9a-f]\{64\}\)$/\1/p')
expect_exit 0 "$SIGNER" approve "$P2" --key "$T/alice.key"
wait_until $((E2 - 4))
before=$(token_snapshot)
expect_exit 1 "$SIGNER" approve "$P2" --key "$T/bob.key"
expect_msg "refused (jwks_cache)"
expect_msg "not staged"
unchanged "the staging approval of an unsafe plan"
[ "$(proposal_status "$P2")" = pending ] || fail "the unsafe proposal changed status"
[ "$(staged_of $OA)" = "" ] || fail "the unsafe plan was staged"
pass "an effective instant that became unsafe is refused at the staging approval (jwks_cache)"

# a roll staged without approvals (here with quorum 1, as a tool that bypasses
# the quorum would write it) is reported and ignored under quorum 2
sed 's/^quorum = 2$/quorum = 1/' "$T/signer.conf" >"$T/q1.conf"
E3=$(( $(date +%s) + 15 ))
expect_exit 0 "$SIGNER" --config "$T/q1.conf" roll --type $OA --thumbprint "$OA_NEW" --effective-date "$(iso $E3)"
expect_exit 0 "$SIGNER" --config "$T/q1.conf" status --json
echo "$OUT" | grep -q "$OA_NEW" || fail "quorum 1 did not stage the roll"
expect_exit 0 "$SIGNER" status
expect_msg "roll to $OA_NEW for $OA has no valid quorum: ignored"
[ "$(staged_of $OA)" = "" ] || fail "a roll without quorum is honoured"
[ "$(staged_of $AV)" = "$AV_NEW" ] || fail "the approved roll was dropped by the filter"
pass "a roll without quorum evidence is reported and ignored"

# the approved roll takes effect at E1
wait_until $((E1 + 1))
expect_exit 0 "$SIGNER" issue --type $AV --sub two
[ "$(kid_of "$OUT")" = "$KID_NEW" ] || fail "after E the approved key does not issue"
wait_until $((E3 + 1))
expect_exit 0 "$SIGNER" issue --type $OA --sub three
printf '%s\n' "$OUT" | tail -n 1 >"$T/tok_oa"
expect_exit 0 "$SIGNER" verify --token-file "$T/tok_oa"
expect_msg "\"current\""
[ "$(kid_of "$(cat "$T/tok_oa")")" = "$(b64sha256 "$T/oa-old.pem")" ] || fail "the roll without quorum took effect"
pass "approved roll switched at E; the unapproved one did not"

# an expired proposal cannot be approved
wait_until $((P_OLD_CREATED + 61))
before=$(token_snapshot)
expect_exit 0 "$SIGNER" proposals
expect_msg "expired"
expect_exit 1 "$SIGNER" approve "$P_OLD" --key "$T/bob.key"
expect_msg "expired"
unchanged "approval of an expired proposal"
expect_exit 0 "$SIGNER" reject "$P_OLD" --reason "superseded"
[ "$(proposal_status "$P_OLD")" = rejected ] || fail "reject did not mark the proposal"
pass "expired proposal refused; reject recorded"

# the journal: intact, with every kind of event
J="$T/audit.jsonl"
expect_exit 0 "$SIGNER" audit verify
expect_msg "chain intact"
for a in keygen import assign propose approve stage reject refused; do
	grep -q "\"action\":\"$a\"" "$J" || fail "no '$a' event in the journal"
done
grep -q '"actor":"carol"' "$J" || fail "carol's approval is not journalled under her name"
n=$(wc -l <"$J")
cp "$J" "$T/journal.good"
# edit one line
sed '5s/"at":[0-9]*/"at":1/' "$T/journal.good" >"$J"
expect_exit 1 "$SIGNER" audit verify
expect_msg "line 5"
# delete one line
sed '7d' "$T/journal.good" >"$J"
expect_exit 1 "$SIGNER" audit verify
expect_msg "line 7"
# delete the last line: the outcome of the last change; it reads as a crash
# before that outcome was written, and the note names the change
head -n $((n - 1)) "$T/journal.good" >"$J"
expect_exit 0 "$SIGNER" audit verify
expect_msg "note: the last change ('reject' at line $((n - 1))"
expect_msg "the token's state carries it, it completed"
# delete the last two lines (the change itself: the token's state remembers it)
head -n $((n - 2)) "$T/journal.good" >"$J"
expect_exit 1 "$SIGNER" audit verify
expect_msg "line $((n - 1))"
expect_msg "deleted from the end"
cp "$T/journal.good" "$J"
expect_exit 0 "$SIGNER" audit verify
pass "audit verify: intact ($n entries); an edited, a deleted and a truncated line are named"

# a journal that cannot be opened refuses the change before the state moves
sed "s|^journal = .*|journal = $T/no-such-dir/audit.jsonl|" "$T/signer.conf" >"$T/nojournal.conf"
before=$(token_snapshot)
expect_exit 2 "$SIGNER" --config "$T/nojournal.conf" reject "$P2"
expect_msg "does not exist"
unchanged "a change without a journal"
pass "no journal, no change; took $(( $(date +%s) - t0 ))s"
