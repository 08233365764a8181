#!/usr/bin/python3
"""Forge adversarial variants of a valid JWT issued by p11-signer.

    forge.py --token FILE --cert CERT.pem --out DIR [--key KEY.pem]
             [--other-token FILE] [--expect-aud] [--expect-iss]

Writes DIR/NN-name.jwt (no trailing newline) and DIR/expect.tsv with lines
"NN-name.jwt<TAB>substring of the error `signer verify` must print" (JSON-escaped, as printed).

Every variant is built from the valid token, the certificate's public key and
throwaway attacker keys.  Claim-level attacks (expired, nbf in the future, ...)
cannot be signed without our private key, so by default they are tampered
copies that must fail on the signature.  When --key gives the private key that
issued the token (a file key imported into the test token), they are signed
with it and must fail with their own specific reason instead; --expect-aud and
--expect-iss add the aud/iss mismatch variants when the verifier is run with
an audience / issuer to check.

Only python3-cryptography and the standard library are used.  Attacker EC keys
are derived from fixed scalars, so EC variants are deterministic; RSA attacker
keys and the ECDSA nonces are not.
"""

import argparse
import base64
import copy
import datetime
import hashlib
import hmac
import json
import os
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature, encode_dss_signature)
from cryptography.x509.oid import NameOID

# Deeper than jansson's 2048-level parser limit, yet within the 8 KiB cap.
DEPTH = 2100
NO_KEY = "no key of the verification set verifies the signature"
ORDERS = {
    "ES256": (32, "P-256", 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551),
    "ES384": (48, "P-384", int("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF"
                               "581A0DB248B0A77AECEC196ACCC52973", 16)),
}
B64U = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def b64u(data):
    if isinstance(data, str):
        data = data.encode()
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64u(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def compact(obj):
    return json.dumps(obj, separators=(",", ":"), sort_keys=True)


def set_trailing_bit(seg):
    """Set the lowest unused bit of the last character (seg must have some)."""
    assert len(seg) % 4 in (2, 3)
    return seg[:-1] + B64U[B64U.index(seg[-1]) | 1]


class Signer:
    """Signs JWS input with a private key under a JOSE alg (EC: raw r||s)."""

    def __init__(self, key, alg):
        self.key, self.alg = key, alg

    def sign(self, signing_input):
        data = signing_input.encode()
        if self.alg in ORDERS:
            size = ORDERS[self.alg][0]
            md = hashes.SHA384() if self.alg == "ES384" else hashes.SHA256()
            r, s = decode_dss_signature(self.key.sign(data, ec.ECDSA(md)))
            return r.to_bytes(size, "big") + s.to_bytes(size, "big")
        if self.alg == "RS256":
            return self.key.sign(data, padding.PKCS1v15(), hashes.SHA256())
        if self.alg == "PS256":
            return self.key.sign(data, padding.PSS(mgf=padding.MGF1(hashes.SHA256()),
                                                   salt_length=32), hashes.SHA256())
        raise ValueError("cannot sign " + self.alg)

    def token(self, header_text, payload_text):
        inp = b64u(header_text) + "." + b64u(payload_text)
        return inp + "." + b64u(self.sign(inp))


def attacker_key(alg, bits=2048):
    """A throwaway key of the same kind and size as ours (fixed scalars for EC)."""
    if alg == "ES256":
        return ec.derive_private_key(0xA77AC4E5 << 64 | 1, ec.SECP256R1())
    if alg == "ES384":
        return ec.derive_private_key(0xA77AC4E5 << 96 | 1, ec.SECP384R1())
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def jwk_of(pub, alg, kid):
    nums = pub.public_numbers()
    if isinstance(pub, ec.EllipticCurvePublicKey):
        size, crv, _ = ORDERS[alg]
        return {"kty": "EC", "crv": crv, "x": b64u(nums.x.to_bytes(size, "big")),
                "y": b64u(nums.y.to_bytes(size, "big")), "alg": alg, "use": "sig", "kid": kid}
    n = nums.n.to_bytes((nums.n.bit_length() + 7) // 8, "big")
    e = nums.e.to_bytes((nums.e.bit_length() + 7) // 8, "big")
    return {"kty": "RSA", "n": b64u(n), "e": b64u(e), "alg": alg, "use": "sig", "kid": kid}


def self_signed(key, alg):
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "attacker")])
    md = hashes.SHA384() if alg == "ES384" else hashes.SHA256()
    return (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(1)
            .not_valid_before(datetime.datetime(2020, 1, 1))
            .not_valid_after(datetime.datetime(2099, 1, 1))
            .sign(key, md))


class Forge:
    def __init__(self, args):
        text = open(args.token, encoding="ascii").read().strip()
        parts = text.split(".")
        if len(parts) != 3:
            sys.exit("forge.py: %s is not a compact JWS" % args.token)
        self.h64, self.p64, self.s64 = parts
        self.header = json.loads(unb64u(self.h64))
        self.claims = json.loads(unb64u(self.p64))
        self.sig = unb64u(self.s64)
        self.alg = self.header["alg"]
        if self.alg not in ("ES256", "ES384", "RS256", "PS256"):
            sys.exit("forge.py: unexpected alg %r in the valid token" % self.alg)
        self.kid = self.header.get("kid", "")
        pem = open(args.cert, "rb").read()
        self.cert_pem = pem
        self.cert = x509.load_pem_x509_certificate(pem)
        self.pub_pem = self.cert.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        self.other = None
        if args.other_token:
            self.other = open(args.other_token, encoding="ascii").read().strip()
        self.ours = None
        if args.key:
            key = serialization.load_pem_private_key(open(args.key, "rb").read(), None)
            self.ours = Signer(key, self.alg)
        pub = self.cert.public_key()
        bits = pub.key_size if isinstance(pub, rsa.RSAPublicKey) else 2048
        self.atk = Signer(attacker_key(self.alg, bits), self.alg)
        self.out = args.out
        self.n = 0
        self.expect = []

    # -- output
    def emit(self, name, token, want):
        self.n += 1
        fname = "%02d-%s.jwt" % (self.n, name)
        data = token if isinstance(token, bytes) else token.encode()
        with open(os.path.join(self.out, fname), "wb") as f:
            f.write(data)
        self.expect.append("%s\t%s\n" % (fname, want))

    def finish(self):
        with open(os.path.join(self.out, "expect.tsv"), "w", encoding="ascii") as f:
            f.writelines(self.expect)

    # -- building blocks
    def hdr(self, **changes):
        h = copy.deepcopy(self.header)
        for k, v in changes.items():
            if v is None:
                h.pop(k, None)
            else:
                h[k] = v
        return compact(h)

    def with_header(self, header_text, sig=None):
        """Our payload and signature (or sig) under a replaced header."""
        return "%s.%s.%s" % (b64u(header_text), self.p64, self.s64 if sig is None else sig)

    def with_sig(self, sig_bytes):
        return "%s.%s.%s" % (self.h64, self.p64, b64u(sig_bytes))

    def claims_token(self, name, claims_text, want):
        """A claim-level attack: signed with our key when we have it."""
        if self.ours is not None:
            self.emit(name, self.ours.token(compact(self.header), claims_text), want)
        else:
            self.emit(name, "%s.%s.%s" % (self.h64, b64u(claims_text), self.s64), NO_KEY)

    def claims_with(self, **changes):
        c = copy.deepcopy(self.claims)
        for k, v in changes.items():
            if v is None:
                c.pop(k, None)
            else:
                c[k] = v
        return compact(c)

    # -- the variants
    def alg_attacks(self):
        inp_none = b64u(compact({"alg": "none", "typ": "JWT"})) + "." + self.p64
        self.emit("alg-none-unsigned", inp_none + ".", r'unsupported alg \"none\"')
        self.emit("alg-none-with-signature", inp_none + "." + self.s64, r'unsupported alg \"none\"')
        self.emit("alg-None-mixed-case", self.with_header(self.hdr(alg="None")),
                  r'unsupported alg \"None\"')
        for name, secret in (("hs256-spki-pem-as-secret", self.pub_pem),
                             ("hs256-cert-pem-as-secret", self.cert_pem)):
            inp = b64u(self.hdr(alg="HS256")) + "." + self.p64
            mac = hmac.new(secret, inp.encode(), hashlib.sha256).digest()
            self.emit(name, inp + "." + b64u(mac), r'alg \"HS256\" is never accepted')
        inp = b64u(self.hdr(alg="HS384", kid=None)) + "." + self.p64
        mac = hmac.new(self.pub_pem, inp.encode(), hashlib.sha384).digest()
        self.emit("hs384-no-kid", inp + "." + b64u(mac), r'alg \"HS384\" is never accepted')
        self.emit("alg-ES512-unknown", self.with_header(self.hdr(alg="ES512")),
                  r'unsupported alg \"ES512\"')
        self.emit("alg-missing", self.with_header(self.hdr(alg=None)), "alg missing")
        if self.kid:
            # Our kid with another alg: the alg is bound to the key record.
            swaps = {"ES256": ("RS256", "ES384"), "ES384": ("RS256", "ES256"),
                     "RS256": ("ES256", "PS256"), "PS256": ("ES256", "RS256")}[self.alg]
            for other in swaps:
                tok = Signer(attacker_key(other), other).token(self.hdr(alg=other),
                                                               unb64u(self.p64).decode())
                self.emit("alg-%s-with-our-kid" % other, tok,
                          "alg '%s' does not match the key's %s" % (other, self.alg))

    def signature_attacks(self):
        if self.alg in ORDERS:
            size, crv, order = ORDERS[self.alg]
            self.emit("ec-r-s-zero", self.with_sig(bytes(2 * size)),
                      "signature has r or s equal to zero")
            self.emit("ec-r-equals-order",
                      self.with_sig(order.to_bytes(size, "big") + (1).to_bytes(size, "big")),
                      "not below the %s group order" % crv)
            r, s = int.from_bytes(self.sig[:size], "big"), int.from_bytes(self.sig[size:], "big")
            der = encode_dss_signature(r, s)
            self.emit("ec-der-signature", self.with_sig(der),
                      "%s signature must be %d bytes, got %d" % (self.alg, 2 * size, len(der)))
        else:
            self.emit("rsa-zero-signature", self.with_sig(bytes(len(self.sig))), NO_KEY)
        n = len(self.sig)
        self.emit("signature-one-byte-short", self.with_sig(self.sig[:-1]),
                  "%s signature must be %d bytes, got %d" % (self.alg, n, n - 1))
        self.emit("signature-one-byte-long", self.with_sig(self.sig + b"\0"),
                  "%s signature must be %d bytes, got %d" % (self.alg, n, n + 1))
        if self.other is not None:
            spliced = "%s.%s.%s" % (self.h64, self.p64, self.other.split(".")[2])
        else:
            spliced = "%s.%s.%s" % (self.h64, self.p64,
                                    b64u(self.atk.sign(self.h64 + "." + self.p64)))
        self.emit("spliced-signature", spliced, NO_KEY)

    def encoding_attacks(self):
        if len(self.s64) % 4 in (2, 3):
            self.emit("signature-trailing-bits",
                      "%s.%s.%s" % (self.h64, self.p64, set_trailing_bit(self.s64)),
                      "signature is not canonical base64url")
        htxt = compact(self.header)
        htxt += " " * ((1 - len(htxt)) % 3)  # length = 1 mod 3: 4 unused bits
        self.emit("header-trailing-bits",
                  "%s.%s.%s" % (set_trailing_bit(b64u(htxt)), self.p64, self.s64),
                  "header is not canonical base64url")
        self.emit("signature-padding", "%s.%s.%s==" % (self.h64, self.p64, self.s64),
                  "signature has base64 padding '='")
        self.emit("header-padding", "%s==.%s.%s" % (self.h64, self.p64, self.s64),
                  "header has base64 padding '='")
        self.emit("signature-plus", "%s.%s.+%s" % (self.h64, self.p64, self.s64[1:]),
                  "signature uses the base64 characters '+' or '/'")
        self.emit("payload-slash", "%s./%s.%s" % (self.h64, self.p64[1:], self.s64),
                  "payload uses the base64 characters '+' or '/'")
        mid = len(self.p64) // 2
        self.emit("payload-space", "%s.%s %s.%s" % (self.h64, self.p64[:mid], self.p64[mid:],
                                                     self.s64),
                  "payload contains whitespace")
        mid = len(self.s64) // 2
        self.emit("signature-tab", "%s.%s.%s\t%s" % (self.h64, self.p64, self.s64[:mid],
                                                      self.s64[mid:]),
                  "signature contains whitespace")

    def shape_attacks(self):
        h, p, s = self.h64, self.p64, self.s64
        self.emit("one-part", h + p + s, "exactly three dot-separated parts, found 1")
        self.emit("two-parts", h + "." + p, "exactly three dot-separated parts, found 2")
        self.emit("four-parts", "%s.%s.%s.%s" % (h, p, s, s),
                  "exactly three dot-separated parts, found 4")
        self.emit("five-parts-jwe-shape", "%s.%s.%s.%s.%s" % (h, "", p, s, s),
                  "exactly three dot-separated parts, found 5")
        self.emit("empty-header", ".%s.%s" % (p, s), "header is empty")
        self.emit("empty-payload", "%s..%s" % (h, s), "payload is empty")
        self.emit("empty-signature", "%s.%s." % (h, p), "signature is empty")
        big = "A" * (1 << 20)
        self.emit("one-mebibyte", "%s.%s.%s" % (h, big, s), "token larger than 8192 bytes")
        pad = 8193 - len(h) - len(s) - 2
        self.emit("one-byte-over-cap", "%s.%s.%s" % (h, "A" * pad, s),
                  "token larger than 8192 bytes")
        deep = '{"a":' + "[" * 10000 + "]" * 10000 + "}"
        self.emit("payload-10000-deep", "%s.%s.%s" % (h, b64u(deep), s),
                  "token larger than 8192 bytes")

    def header_attacks(self):
        for name, text in (("header-array", '["alg","%s"]' % self.alg),
                           ("header-string", '"%s"' % self.alg),
                           ("header-number", "42")):
            self.emit(name, self.with_header(text), "header is not a JSON object")
        self.emit("header-invalid-utf8",
                  "%s.%s.%s" % (b64u(b'{"alg":"' + self.alg.encode() + b'","x":"\xff\xfe"}'),
                                self.p64, self.s64),
                  "header is not valid UTF-8")
        self.emit("header-garbage-json", self.with_header('{"alg":'), "header is not valid JSON")
        htxt = compact(self.header)
        self.emit("header-duplicate-alg", self.with_header(htxt[:-1] + ',"alg":"none"}'),
                  "duplicate member in header")
        self.emit("header-%d-deep" % DEPTH, self.with_header("[" * DEPTH + "]" * DEPTH),
                  "header is nested too deeply")
        self.emit("crit-unknown", self.with_header(self.hdr(crit=["exp"], exp=1)),
                  "crit header is not supported")
        self.emit("crit-empty", self.with_header(self.hdr(crit=[])),
                  "crit header is not supported")
        self.emit("typ-not-jwt", self.with_header(self.hdr(typ="JWS")), r'typ \"JWS\" is not JWT')
        self.emit("kid-unknown", self.with_header(self.hdr(kid="no-such-key")),
                  r'unknown kid \"no-such-key\"')
        self.emit("header-member-added", self.with_header(self.hdr(x="1")), NO_KEY)
        if self.kid:
            self.emit("header-kid-removed", self.with_header(self.hdr(kid=None)), NO_KEY)

    def embedded_key_attacks(self):
        """jwk/jku/x5u/x5c naming an attacker key: our keys alone decide."""
        payload = unb64u(self.p64).decode()
        ajwk = jwk_of(self.atk.key.public_key(), self.alg, "attacker")
        acert = base64.b64encode(self_signed(self.atk.key, self.alg)
                                 .public_bytes(serialization.Encoding.DER)).decode()
        for name, extra in (("jwk-attacker", {"jwk": ajwk}),
                            ("jku-attacker", {"jku": "https://attacker.test/jwks.json"}),
                            ("x5u-attacker", {"x5u": "https://attacker.test/cert.pem"}),
                            ("x5c-attacker", {"x5c": [acert]})):
            self.emit(name + "-no-kid", self.atk.token(self.hdr(kid=None, x5t=None, **extra),
                                                       payload), NO_KEY)
        if self.kid:
            self.emit("x5c-attacker-our-kid",
                      self.atk.token(self.hdr(x5c=[acert]), payload), NO_KEY)

    def claim_attacks(self):
        iat = int(self.claims.get("iat", self.claims.get("nbf", 0)))
        exp = int(self.claims["exp"])
        life = max(exp - iat, 1)
        year = 365 * 86400
        self.emit("payload-modified",
                  "%s.%s.%s" % (self.h64, b64u(self.claims_with(sub="admin")), self.s64),
                  NO_KEY)
        self.claims_token("expired", self.claims_with(iat=iat - 2 * year, nbf=iat - 2 * year,
                                                      exp=iat - 2 * year + life),
                          "token expired at")
        self.claims_token("nbf-future", self.claims_with(nbf=iat + 10 * year),
                          "token not valid before")
        self.claims_token("iat-future", self.claims_with(iat=iat + 10 * year,
                                                         exp=iat + 10 * year + life),
                          "iat in the future")
        self.claims_token("lifetime-over-cap", self.claims_with(exp=iat + 10 * year),
                          "lifetime exceeds the type's token lifetime")
        self.claims_token("exp-missing", self.claims_with(exp=None), "exp missing")
        self.claims_token("exp-string", self.claims_with(exp=str(exp)), "exp is not a number")
        self.claims_token("exp-float", self.claims_with(exp=exp + 0.5), "exp is not an integer")
        self.claims_token("iat-nbf-missing", self.claims_with(iat=None, nbf=None), "iat missing")
        ctext = self.claims_with()
        self.claims_token("claims-duplicate-exp", ctext[:-1] + ',"exp":%d}' % (exp + 10 * year),
                          "duplicate member in claims")
        self.claims_token("claims-array", "[%s]" % ctext, "claims is not a JSON object")
        self.claims_token("claims-%d-deep" % DEPTH, '{"a":' + "[" * DEPTH + "]" * DEPTH + "}",
                          "claims is nested too deeply")

    def aud_iss_attacks(self, aud, iss):
        if aud:
            self.claims_token("aud-wrong", self.claims_with(aud="someone-else"), "aud mismatch")
            self.claims_token("aud-array-wrong", self.claims_with(aud=["x", "y"]),
                              "aud mismatch")
        if iss:
            self.claims_token("iss-wrong", self.claims_with(iss="https://attacker.test"),
                              "iss mismatch")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--token", required=True, help="a valid token issued by our signer")
    ap.add_argument("--cert", required=True, help="the signing key's certificate (PEM)")
    ap.add_argument("--out", required=True, help="directory for the variants")
    ap.add_argument("--key", help="the signing private key (PEM), if it exists as a file")
    ap.add_argument("--other-token", help="a second valid token to splice signatures from")
    ap.add_argument("--expect-aud", action="store_true",
                    help="the verifier checks the token's aud: add aud variants")
    ap.add_argument("--expect-iss", action="store_true",
                    help="the verifier checks the token's iss: add iss variants")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    f = Forge(args)
    f.alg_attacks()
    f.signature_attacks()
    f.encoding_attacks()
    f.shape_attacks()
    f.header_attacks()
    f.embedded_key_attacks()
    f.claim_attacks()
    f.aud_iss_attacks(args.expect_aud and f.ours is not None, args.expect_iss and f.ours is not None)
    f.finish()
    print("forge.py: wrote %d variants to %s" % (f.n, args.out))


if __name__ == "__main__":
    main()
