#!/bin/sh
# signerd end to end on a throwaway SoftHSM2 token: issue over the UNIX socket
# and over TLS with a client certificate, refusal without one, tokens checked
# by python3-jwt against the JWKS, bad requests, slow clients, SIGHUP, SIGTERM
# draining, wrong and locked PINs.
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/integration/signerd_lib.sh"

new_token api
make_tls "$T/tls"
make_key av1 ES256 -60 86400
AV=$KEY_SHA1
make_key oa1 RS256 -60 86400
OA=$KEY_SHA1
"$SIGNER" assign --type AudioVideoAuthentication --thumbprint "$AV" >/dev/null
"$SIGNER" assign --type OAuthTokenIssuer --thumbprint "$OA" >/dev/null

P1=$(free_port)
P2=$(free_port)
cp "$T/signer.conf" "$T/base.conf"
write_conf() {
	cat "$T/base.conf" >"$T/signer.conf"
	cat >>"$T/signer.conf" <<EOC

[type AudioVideoAuthentication]
issuer = https://edge.test
audience = media-relay

[server]
listen = unix:$T/sd.sock
listen = http://127.0.0.1:$P1
listen = https://127.0.0.1:$P2
tls_certificate = $T/tls/server.pem
tls_key = $T/tls/server.key
client_ca = $T/tls/ca.pem
mtls_routes = issue
workers = 2
max_body = 4096
request_timeout = 4s
poll_interval_ms = 200
EOC
	printf '%s' "${1:-}" >>"$T/signer.conf"
}
write_conf
start_signerd sd
PID=$SD_PID
U="--unix-socket $T/sd.sock"
HTTP="http://127.0.0.1:$P1"
HTTPS="https://127.0.0.1:$P2"
CERT="--cacert $T/tls/ca.pem --cert $T/tls/client.pem --key $T/tls/client.key"

# ---- issue over the UNIX socket and over TLS with a client certificate --------
# shellcheck disable=SC2086
expect_http 200 POST http://signerd/v1/tokens '{"type":"AudioVideoAuthentication","sub":"alice"}' $U
AV_TOKEN=$(body_get token)
AV_KID=$(body_get kid)
pass "issue over the UNIX socket"
# shellcheck disable=SC2086
expect_http 200 POST "$HTTPS/v1/tokens" '{"type":"OAuthTokenIssuer","sub":"bob","aud":"api","claims":{"scope":"read"}}' $CERT
OA_TOKEN=$(body_get token)
OA_KID=$(body_get kid)
[ "$AV_KID" != "$OA_KID" ] || fail "both types share a kid"
pass "issue over TLS with a client certificate"

# ---- refused without one where mTLS is required --------------------------------
expect_http 403 POST "$HTTPS/v1/tokens" '{"type":"OAuthTokenIssuer","sub":"bob"}' --cacert "$T/tls/ca.pem"
expect_msg_body() { case "$BODY" in *"$1"*) ;; *) fail "body lacks '$1': $BODY" ;; esac; }
expect_msg_body '"error":"client_certificate_required"'
expect_http 403 POST "$HTTP/v1/tokens" '{"type":"OAuthTokenIssuer","sub":"bob"}'
# a certificate from another CA fails the handshake
if curl -s -m 5 --cacert "$T/tls/ca.pem" --cert "$T/tls/rogue.pem" --key "$T/tls/rogue.key" \
	-H 'Content-Type: application/json' --data '{"type":"OAuthTokenIssuer","sub":"x"}' \
	"$HTTPS/v1/tokens" >/dev/null 2>&1; then
	fail "a client certificate from an unknown CA was accepted"
fi
# routes outside mtls_routes work without a certificate
expect_http 200 GET "$HTTPS/healthz" "" --cacert "$T/tls/ca.pem"
pass "mTLS enforced per route"

# ---- tokens verify with python3-jwt against the JWKS -------------------------
expect_http 200 GET "$HTTP/.well-known/jwks.json"
printf '%s' "$BODY" >"$T/jwks.json"
curl -s -D "$T/jwks.hdr" -o /dev/null "$HTTP/.well-known/jwks.json"
grep -qi '^Cache-Control: public, max-age=300' "$T/jwks.hdr" || fail "JWKS Cache-Control: $(cat "$T/jwks.hdr")"
"$PYTHON" - "$T/jwks.json" "$AV_TOKEN" "$OA_TOKEN" <<'EOP' || fail "python3-jwt rejected a token"
import json, sys
import jwt
jwks = json.load(open(sys.argv[1]))
keys = {k["kid"]: k for k in jwks["keys"]}
assert len(keys) == 2, keys
for tok, alg, aud in ((sys.argv[2], "ES256", "media-relay"), (sys.argv[3], "RS256", "api")):
    kid = jwt.get_unverified_header(tok)["kid"]
    k = jwt.PyJWK(keys[kid])
    claims = jwt.decode(tok, k.key, algorithms=[alg], audience=aud)
    assert claims["exp"] > claims["iat"], claims
print("python3-jwt verified", len(sys.argv) - 2, "tokens")
EOP
expect_http 200 GET "$HTTP/.well-known/jwks/OAuthTokenIssuer.json"
case "$BODY" in *"$OA_KID"*) ;; *) fail "per-type JWKS lacks the OAuth key: $BODY" ;; esac
case "$BODY" in *"$AV_KID"*) fail "per-type JWKS shows another type's key" ;; esac
expect_http 404 GET "$HTTP/.well-known/jwks/Nope.json"
pass "JWKS verified by python3-jwt"

# ---- /v1/verify -------------------------------------------------------------------
expect_http 200 POST "$HTTP/v1/verify" "{\"token\":\"$AV_TOKEN\"}"
[ "$(body_get valid)" = true ] && [ "$(body_get key)" = current ] && [ "$(body_get kid)" = "$AV_KID" ] ||
	fail "verify: $BODY"
expect_http 200 POST "$HTTP/v1/verify" "{\"token\":\"$OA_TOKEN\",\"type\":\"OAuthTokenIssuer\",\"aud\":\"api\"}"
[ "$(body_get valid)" = true ] || fail "verify with type and aud: $BODY"
expect_http 422 POST "$HTTP/v1/verify" "{\"token\":\"$OA_TOKEN\",\"type\":\"AudioVideoAuthentication\"}"
[ "$(body_get valid)" = false ] || fail "a token verified under the wrong type: $BODY"
BAD=$(printf '%s' "$AV_TOKEN" | sed 's/.$/A/;s/A$/B/')
[ "$BAD" != "$AV_TOKEN" ] || BAD="${AV_TOKEN%?}C"
expect_http 422 POST "$HTTP/v1/verify" "{\"token\":\"$BAD\"}"
[ "$(body_get valid)" = false ] || fail "a tampered token verified: $BODY"
expect_http 422 POST "$HTTP/v1/verify" '{"token":"not.a.token"}'
[ "$(body_get valid)" = false ] || fail "garbage verified: $BODY"
pass "verify endpoint"

# ---- bad requests get 4xx and the server stays up ---------------------------
expect_http 400 POST "$HTTP/v1/verify" '{"token":'
expect_msg_body '"error":"bad_request"'
expect_http 400 POST "$HTTP/v1/verify" '{}'
expect_http 400 POST http://signerd/v1/tokens '{"type":"AudioVideoAuthentication"}' --unix-socket "$T/sd.sock"
expect_http 400 POST http://signerd/v1/tokens '{"type":"AudioVideoAuthentication","sub":"a","lifetime":999999}' --unix-socket "$T/sd.sock"
expect_http 400 POST http://signerd/v1/tokens '{"type":"AudioVideoAuthentication","sub":"a","claims":{"exp":1}}' --unix-socket "$T/sd.sock"
expect_http 404 POST http://signerd/v1/tokens '{"type":"NoSuchType","sub":"a"}' --unix-socket "$T/sd.sock"
expect_msg_body '"error":"unknown_type"'
expect_http 404 POST "$HTTP/v1/verify" '{"token":"a.b.c","type":"NoSuchType"}'
expect_http 404 GET "$HTTP/v2/nothing"
expect_http 405 GET "$HTTP/v1/tokens"
expect_http 405 DELETE "$HTTP/.well-known/jwks.json"
out=$(curl -s -m 10 -w ' %{http_code}' -H 'Content-Type: text/plain' --data '{}' "$HTTP/v1/verify")
[ "${out##* }" = 415 ] || fail "wrong content type: $out"
head -c 10000 /dev/zero | tr '\0' 'a' >"$T/big"
out=$(curl -s -m 10 -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' --data-binary "@$T/big" "$HTTP/v1/verify")
[ "$out" = 413 ] || fail "oversized body: $out"
expect_http 200 GET "$HTTP/healthz"
pass "bad requests answered 4xx"

# ---- slow loris: a trickling client is cut off; others are served meanwhile -------
"$PYTHON" - "$P1" >"$T/loris.out" <<'EOP' &
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"POST /v1/tokens HTTP/1.1\r\nHost: x\r\nX-Slow: ")
s.settimeout(0.2)
t0, data = time.time(), b""
while time.time() - t0 < 15:
    try:
        s.sendall(b"a")
    except OSError:
        break
    try:
        d = s.recv(4096)
        if not d:
            break
        data += d
    except socket.timeout:
        pass
print("%.1f %s" % (time.time() - t0, data.split(b"\r\n")[0].decode() if data else "closed"))
EOP
LORIS=$!
sleep 0.5
for _ in 1 2 3; do expect_http 200 GET "$HTTP/healthz"; done
wait $LORIS
read -r secs line <"$T/loris.out" || true
case "$line" in "HTTP/1.1 408"*) ;; *) fail "slow client got: $(cat "$T/loris.out")" ;; esac
[ "${secs%.*}" -lt 7 ] || fail "slow client held its connection ${secs}s"
pass "slow client cut off after request_timeout ($(cat "$T/loris.out"))"

# ---- metrics ------------------------------------------------------------------------
expect_http 200 GET "$HTTP/metrics"
printf '%s\n' "$BODY" >"$T/metrics"
grep -q "^p11s_tokens_issued_total{type=\"AudioVideoAuthentication\",kid=\"$AV_KID\"} 1$" "$T/metrics" || fail "metrics: $(grep issued "$T/metrics")"
grep -q '^p11s_verifications_total{type="AudioVideoAuthentication",role="current"} 1$' "$T/metrics" || fail "metrics: $(grep verifications "$T/metrics")"
grep -q '^p11s_verify_failures_total{reason=' "$T/metrics" || fail "no failure counters"
grep -q '^p11s_request_duration_seconds_count{route="tokens"}' "$T/metrics" || fail "no histogram"
expect_http 200 GET "$HTTP/v1/status"
[ "$(printf '%s' "$BODY" | "$PYTHON" -c 'import json,sys; d=json.load(sys.stdin); print(d["types"][0]["current"]["key"]["thumbprint"], d["member"]["pid"])')" = "$AV $PID" ] ||
	fail "status: $BODY"
pass "metrics and status"

# ---- SIGHUP: a bad file keeps the running configuration; a good one applies ------
cp "$T/signer.conf" "$T/good.conf"
printf '\n[server]\nbogus_key = 1\n' >>"$T/signer.conf"
kill -HUP "$PID"
i=0
until grep -q 'reload refused, keeping the running configuration' "$T/sd.log"; do
	kill -0 "$PID" || fail "signerd died on SIGHUP with a bad file"
	i=$((i + 1)); [ $i -lt 600 ] || fail "no refusal logged: $(tail -3 "$T/sd.log")"
	sleep 0.05
done
kill -0 "$PID" || fail "signerd died on SIGHUP with a bad file"
expect_http 200 GET "$HTTP/healthz"
write_conf "
[policy]
jwks_max_age = 120s
"
kill -HUP "$PID"
i=0
until curl -s -D - -o /dev/null "$HTTP/.well-known/jwks.json" | grep -qi 'max-age=120'; do
	i=$((i + 1)); [ $i -lt 600 ] || fail "reloaded jwks_max_age not applied within 30 s"; sleep 0.05
done
pass "SIGHUP: bad file refused, good file applied"

# ---- SIGTERM drains: a request being uploaded when the signal comes completes ---
PAD=$(head -c 1800 /dev/zero | tr '\0' 'p')
printf '{"type":"AudioVideoAuthentication","sub":"slow","claims":{"pad":"%s"}}' "$PAD" >"$T/slow.json"
curl -s -m 20 -o "$T/slow.out" -w '%{http_code}' --limit-rate 1000 -H 'Content-Type: application/json' \
	--data-binary "@$T/slow.json" --unix-socket "$T/sd.sock" http://signerd/v1/tokens >"$T/slow.code" &
CURL=$!
sleep 0.7
kill -TERM "$PID"
# the listeners close at once; on a busy machine "at once" may take a while
i=0
while curl -s -m 2 -o /dev/null "$HTTP/healthz"; do
	i=$((i + 1)); [ $i -lt 100 ] || fail "new connections still accepted 10 s after SIGTERM"
	sleep 0.1
done
wait $CURL || true
[ "$(cat "$T/slow.code")" = 200 ] || fail "in-flight request got $(cat "$T/slow.code"): $(cat "$T/slow.out")"
set +e
wait "$PID"
st=$?
set -e
[ "$st" = 0 ] || fail "signerd exit status $st after SIGTERM"
[ ! -e "$T/sd.sock" ] || fail "socket file left behind"
pass "SIGTERM: in-flight request finished, exit 0"

# ---- wrong PIN and locked PIN: exit 3, one login attempt ---------------------------
cp "$T/good.conf" "$T/signer.conf"
sed -i "s|^uri = .*|uri = pkcs11:token=api?module-path=$top_builddir/tests/lib/p11wrap.so|" "$T/signer.conf"
printf '000000\n' >"$T/badpin"
sed -i "s|^pin = .*|pin = file:$T/badpin|" "$T/signer.conf"
P11WRAP_MODULE=$SOFTHSM_MODULE P11WRAP_LOG=$T/wrap.log
export P11WRAP_MODULE P11WRAP_LOG
expect_exit 3 "$SIGNERD" --foreground
expect_msg "PIN"
[ "$(grep -c '^C_Login ' "$T/wrap.log")" = 1 ] || fail "wrong PIN: $(grep -c '^C_Login ' "$T/wrap.log") login attempts"
pass "wrong PIN: exit 3, one login attempt"

sed -i "s|^pin = .*|pin = file:$T/pin|" "$T/signer.conf"
printf 'C_Login CKR_PIN_LOCKED -1\n' >"$T/faults"
P11WRAP_FAULTS=$T/faults
export P11WRAP_FAULTS
: >"$T/wrap.log"
expect_exit 3 "$SIGNERD"
expect_msg "locked"
[ "$(grep -c '^C_Login ' "$T/wrap.log")" = 1 ] || fail "locked PIN: $(grep -c '^C_Login ' "$T/wrap.log") login attempts"
pass "locked PIN (daemon mode): exit 3 from the starting command, one login attempt"
