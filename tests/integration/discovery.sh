#!/bin/sh
# Discovery (RFC 8414 and OpenID Connect Discovery) on a real signerd over a
# throwaway SoftHSM2 token: each type's default issuer is a URL derived from
# the listener; PyJWT's PyJWKClient and jose's createRemoteJWKSet, configured
# only from the discovery document's jwks_uri, verify ES256 and RS256 tokens;
# JWKS entries carry x5c and x5t#S256; ETag and If-None-Match give 304.
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/integration/signerd_lib.sh"

command -v node >/dev/null || fail "node is needed (Debian package nodejs)"
command -v npm >/dev/null || fail "npm is needed (Debian package npm)"

new_token disc
make_key av1 ES256 -60 86400
"$SIGNER" assign --type AudioVideoAuthentication --thumbprint "$KEY_SHA1" >/dev/null
make_key oa1 RS256 -60 86400
"$SIGNER" assign --type OAuthTokenIssuer --thumbprint "$KEY_SHA1" >/dev/null
P=$(free_port)
HTTP="http://127.0.0.1:$P"
cat >>"$T/signer.conf" <<EOC

[server]
listen = unix:$T/sd.sock
listen = http://127.0.0.1:$P
poll_interval_ms = 200
EOC
start_signerd sd
PID=$SD_PID

# jose from the npm registry, installed in the test's own directory
mkdir -p "$T/node"
printf '{"name":"p11s-discovery-test","private":true}\n' >"$T/node/package.json"
(cd "$T/node" && npm install --no-audit --no-fund --silent jose@5 >"$T/npm.log" 2>&1) ||
	fail "npm could not install jose: $(tail -5 "$T/npm.log")"

for type in AudioVideoAuthentication OAuthTokenIssuer; do
	ISS="$HTTP/$type"
	expect_http 200 POST "$HTTP/v1/tokens" "{\"type\":\"$type\",\"sub\":\"alice\",\"aud\":\"api\"}"
	TOKEN=$(body_get token)

	# both well-known locations give the same document
	expect_http 200 GET "$ISS/.well-known/openid-configuration"
	OIDC=$BODY
	expect_http 200 GET "$HTTP/.well-known/oauth-authorization-server/$type"
	[ "$BODY" = "$OIDC" ] || fail "the two discovery documents differ: $OIDC / $BODY"
	[ "$(body_get issuer)" = "$ISS" ] || fail "discovery issuer: $BODY"
	JWKS_URI=$(body_get jwks_uri)
	[ "$JWKS_URI" = "$HTTP/.well-known/jwks/$type.json" ] || fail "jwks_uri: $BODY"
	curl -s -D "$T/disc.hdr" -o /dev/null "$ISS/.well-known/openid-configuration"
	grep -qi '^Cache-Control: public, max-age=300' "$T/disc.hdr" ||
		fail "discovery Cache-Control: $(cat "$T/disc.hdr")"

	# PyJWT, told only the discovery document's URL
	"$PYTHON" - "$ISS/.well-known/openid-configuration" "$TOKEN" <<'EOP' || fail "PyJWKClient rejected the $type token"
import base64, hashlib, json, sys, urllib.request
import jwt
from cryptography import x509
from cryptography.hazmat.primitives import serialization
doc = json.load(urllib.request.urlopen(sys.argv[1]))
client = jwt.PyJWKClient(doc["jwks_uri"], cache_keys=False)
key = client.get_signing_key_from_jwt(sys.argv[2])
claims = jwt.decode(sys.argv[2], key.key, algorithms=doc["id_token_signing_alg_values_supported"],
                    audience="api", issuer=doc["issuer"])
assert claims["iss"] == doc["issuer"], claims
for k in client.get_jwk_set().keys:
    d = k._jwk_data
    der = base64.b64decode(d["x5c"][0], validate=True)
    s256 = base64.urlsafe_b64encode(hashlib.sha256(der).digest()).rstrip(b"=").decode()
    assert d["x5t#S256"] == s256, (d["x5t#S256"], s256)
    cert_pub = x509.load_der_x509_certificate(der).public_key()
    fmt = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert cert_pub.public_bytes(*fmt) == k.key.public_bytes(*fmt), "x5c is not the JWK's key"
print("PyJWKClient verified", claims["iss"])
EOP

	# jose, told only the discovery document's URL
	cat >"$T/node/verify.mjs" <<'EOJ'
import { createRemoteJWKSet, jwtVerify } from "jose";
const [docUrl, token] = process.argv.slice(2);
const doc = await (await fetch(docUrl)).json();
const jwks = createRemoteJWKSet(new URL(doc.jwks_uri));
const { payload, protectedHeader } = await jwtVerify(token, jwks, { issuer: doc.issuer, audience: "api" });
console.log("jose verified", protectedHeader.alg, payload.iss);
EOJ
	(cd "$T/node" && node verify.mjs "$ISS/.well-known/openid-configuration" "$TOKEN") >"$T/jose.out" 2>&1 ||
		fail "jose rejected the $type token: $(cat "$T/jose.out")"
	cat "$T/jose.out"
	pass "$type: discovery, PyJWKClient and jose verify"
done

# a token of one type does not verify against another issuer's key set
expect_http 200 POST "$HTTP/v1/tokens" '{"type":"AudioVideoAuthentication","sub":"alice","aud":"api"}'
AV_TOKEN=$(body_get token)
if (cd "$T/node" && node verify.mjs "$HTTP/OAuthTokenIssuer/.well-known/openid-configuration" "$AV_TOKEN") >"$T/jose.out" 2>&1; then
	fail "an AudioVideoAuthentication token verified from OAuthTokenIssuer's discovery"
fi
pass "each issuer's jwks_uri holds only its type's keys"

# ETag / If-None-Match
for u in "$HTTP/.well-known/jwks.json" "$HTTP/.well-known/jwks/OAuthTokenIssuer.json" \
	"$HTTP/OAuthTokenIssuer/.well-known/openid-configuration"; do
	curl -s -D "$T/h1" -o "$T/b1" "$u"
	ETAG=$(sed -n 's/^[Ee][Tt][Aa][Gg]: *//p' "$T/h1" | tr -d '\r')
	case "$ETAG" in \"*\") ;; *) fail "no strong ETag from $u: $(cat "$T/h1")" ;; esac
	rm -f "$T/b2" # curl creates its output file only when a body arrives
	code=$(curl -s -o "$T/b2" -w '%{http_code}' -H "If-None-Match: $ETAG" "$u")
	[ "$code" = 304 ] || fail "If-None-Match $ETAG on $u: $code"
	[ ! -s "$T/b2" ] || fail "a 304 with a body: $(cat "$T/b2")"
	code=$(curl -s -o "$T/b2" -w '%{http_code}' -H 'If-None-Match: "0123", W/'"$ETAG" "$u")
	[ "$code" = 304 ] || fail "If-None-Match with a list on $u: $code"
	code=$(curl -s -o "$T/b2" -w '%{http_code}' -H 'If-None-Match: "stale"' "$u")
	[ "$code" = 200 ] && cmp -s "$T/b1" "$T/b2" || fail "a stale ETag on $u: $code"
done
pass "ETag and If-None-Match: 304 without a body, 200 for another tag"

# unknown issuers are 404, naming where discovery documents are
expect_http 404 GET "$HTTP/Nope/.well-known/openid-configuration"
case "$BODY" in *openid-configuration*) ;; *) fail "404 body: $BODY" ;; esac
expect_http 404 GET "$HTTP/.well-known/openid-configuration"
expect_http 404 GET "$HTTP/.well-known/oauth-authorization-server/OAuthTokenIssuer/x"
pass "discovery for unknown issuers: 404"

# an explicit issuer at the root of an origin is served at the root
stop_signerd "$PID"
cat >>"$T/signer.conf" <<EOC

[type OAuthTokenIssuer]
issuer = https://auth.test
EOC
start_signerd sd2
expect_http 200 GET "$HTTP/.well-known/openid-configuration"
[ "$(body_get issuer)" = https://auth.test ] || fail "root discovery: $BODY"
[ "$(body_get jwks_uri)" = https://auth.test/.well-known/jwks/OAuthTokenIssuer.json ] || fail "root jwks_uri: $BODY"
expect_http 200 GET "$HTTP/.well-known/oauth-authorization-server"
[ "$(body_get issuer)" = https://auth.test ] || fail "root RFC 8414 discovery: $BODY"
stop_signerd "$SD_PID"
pass "a configured issuer URL is served at its own path"
