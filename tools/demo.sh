#!/bin/sh
# The rollover demo: the source system's A/V timeline compressed to about a
# minute on a throwaway SoftHSM2 token, with the real clock.
#   sh tools/demo.sh BUILD_DIR
set -eu
build=$(cd "${1:-build}" && pwd)
top=$(cd "$(dirname "$0")/.." && pwd)
SIGNER="$build/signer/signer"
MODULE=$(sed -n 's/^SOFTHSM_MODULE = //p' "$build/Makefile")
CA="$top/tests/lib/mini_ca.py"
PYTHON=/usr/bin/python3 # Debian's, with python3-cryptography

D=$(mktemp -d "${TMPDIR:-/tmp}/p11-signer-demo-XXXXXX")
trap 'rm -rf "$D"' EXIT INT TERM
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ signer %s\n' "$*"; "$SIGNER" "$@"; }
at() { date -u -d "@$1" +%H:%M:%S; }

say "A throwaway SoftHSM2 token in $D (never /var/lib/softhsm)"
mkdir -p "$D/tokens"
printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nslots.removable = false\n' "$D" >"$D/softhsm2.conf"
export SOFTHSM2_CONF="$D/softhsm2.conf"
softhsm2-util --init-token --free --label demo --pin 123456 --so-pin 12345678 >/dev/null
printf '123456\n' >"$D/pin"; chmod 600 "$D/pin"
cat >"$D/signer.conf" <<EOC
[token]
uri = pkcs11:token=demo?module-path=$MODULE
pin = file:$D/pin
lock_file = $D/token.lock

[audit]
journal = $D/audit.jsonl

[policy]
clock_skew = 1s
jwks_max_age = 2s
past_grace = 1s

# The A/V rule of the source system (8 h token lifetime, 8 h minimum lead),
# compressed to seconds.
[type AudioVideoAuthentication]
token_lifetime = 8s
min_lead = 8s
issuer = https://edge.example.net
audience = media-relay
EOC
export SIGNER_CONFIG="$D/signer.conf"
cat "$D/signer.conf"
"$PYTHON" "$CA" init "$D/ca"

key() { # LABEL NOT_AFTER_SECONDS
	run keygen --label "$1" --algorithm ES256
	run csr --label "$1" --subject "CN=$1.edge.example.net" --out "$D/$1.csr"
	"$PYTHON" "$CA" sign "$D/ca" "$D/$1.csr" "$D/$1.pem" --not-before -60 --not-after "$2"
	echo "(an outside CA signed the request: valid until $(openssl x509 -in "$D/$1.pem" -noout -enddate | cut -d= -f2))"
	run import --cert "$D/$1.pem"
}
say "The current key: generated on the token, certificate expiring in ~40 s"
key av-2012 40
OLD=$(openssl x509 -in "$D/av-2012.pem" -noout -fingerprint -sha1 | sed 's/.*=//; s/://g')
run assign --type AudioVideoAuthentication --thumbprint "$OLD"

say "The renewed key, and a roll staged with --effective-date auto"
key av-2013 3600
NEW=$(openssl x509 -in "$D/av-2013.pem" -noout -fingerprint -sha1 | sed 's/.*=//; s/://g')
run roll --type AudioVideoAuthentication --thumbprint "$NEW" --effective-date auto --dry-run
run roll --type AudioVideoAuthentication --thumbprint "$NEW" --effective-date auto
E=$("$SIGNER" status --json | "$PYTHON" -c "import calendar,json,sys,time; print(calendar.timegm(time.strptime(json.load(sys.stdin)['types'][0]['staged']['effective'], '%Y-%m-%dT%H:%M:%SZ')))")
X=$(date -d "$(openssl x509 -in "$D/av-2012.pem" -noout -enddate | cut -d= -f2)" +%s)
say "The staged roll as a picture"
run status --svg "$build/demo-timeline-staged.svg"
echo "(open $build/demo-timeline-staged.svg in a browser)"

say "Tokens issued and verified every second (E = $(at "$E"), old certificate expires $(at "$X"))"
old_tok=""
removed=0
shown=0
now=$(date +%s)
while [ "$now" -le $((X + 3)) ]; do
	tok=$("$SIGNER" issue --type AudioVideoAuthentication --sub "user-$now")
	kid=$(printf '%s' "$tok" | cut -d. -f1 | "$PYTHON" -c "import base64,json,sys; s=sys.stdin.read().strip(); print(json.loads(base64.urlsafe_b64decode(s+'='*(-len(s)%4)))['kid'][:10])")
	role=$(printf '%s\n' "$tok" | "$SIGNER" verify | "$PYTHON" -c "import json,sys; print(json.load(sys.stdin).get('key','-'))")
	line="$(at "$now")  issued with kid $kid..  verifies as $role"
	if [ -n "$old_tok" ]; then
		v=$(printf '%s\n' "$old_tok" | "$SIGNER" verify || true)
		line="$line | token from $(at "$old_at") (old key): $(printf '%s' "$v" | "$PYTHON" -c "import json,sys; d=json.load(sys.stdin); print(d['key'] if d['valid'] else 'INVALID: '+d['error'])")"
	fi
	echo "$line"
	[ "$now" -lt "$E" ] && { old_tok=$tok; old_at=$now; }
	if [ "$shown" = 0 ] && [ "$now" -ge $((E + 2)) ]; then
		shown=1
		say "After the switch: remove --previous is refused until it is safe"
		run remove --type AudioVideoAuthentication --previous || true
		run status --type AudioVideoAuthentication
		run status --svg "$build/demo-timeline-switched.svg"
	fi
	if [ "$removed" = 0 ] && [ "$now" -ge $((X + 1)) ]; then
		say "The old certificate has expired: removal is safe now"
		run remove --type AudioVideoAuthentication --previous
		removed=1
	fi
	sleep 1
	now=$(date +%s)
done
say "Final state"
run status
run list
