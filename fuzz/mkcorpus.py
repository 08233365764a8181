#!/usr/bin/python3
"""Write the hand-made seed inputs of fuzz/corpus/ (see fuzz/README.md).

Usage: fuzz/mkcorpus.py [CORPUS_DIR [TARGET...]]
(default: fuzz/corpus next to this file, every target)

Files are named seed-*; entries found by fuzzing (min-*) and crashers
(crash-*) are kept as they are.  The JWT seeds are signed with the keys of
fuzz/fuzz_jwt_keys.h; ECDSA signatures differ on every run.
"""
import base64
import hashlib
import json
import os
import re
import sys

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

HERE = os.path.dirname(os.path.abspath(__file__))
NOW = 1700000000  # FUZZ_NOW of fuzz_jwt.c
ISS = "https://issuer.test"
AUD = "api"


def b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def j(obj):
    return json.dumps(obj, separators=(",", ":")).encode()


# ---- config -------------------------------------------------------------------

SPEC = b"""[token]
uri = pkcs11:token=edge?module-path=/usr/lib/softhsm/libsofthsm2.so
pin = file:/etc/p11-signer/pin
lock_file = /run/p11-signer/token.lock

[policy]
clock_skew = 60s
jwks_max_age = 300s
quorum = 1
proposal_lifetime = 72h

[type AudioVideoAuthentication]
algorithm = ES256
token_lifetime = 8h
min_lead = 8h
issuer = https://edge.example.net
audience = media-relay

[type OAuthTokenIssuer]
algorithm = RS256
token_lifetime = 1h
min_lead = 24h

[server]
listen = unix:/run/p11-signer/signerd.sock
listen = https://0.0.0.0:8443
tls_certificate = /etc/p11-signer/tls.pem
tls_key = /etc/p11-signer/tls.key
client_ca = /etc/p11-signer/clients-ca.pem

[audit]
journal = /var/lib/p11-signer/audit.jsonl

[custodian alice]
certificate = /etc/p11-signer/custodians/alice.pem
"""

CONFIG = {
    "spec-example": SPEC,
    "empty": b"",
    "comments": b"; nothing\n# at all\n\n",
    "server-full": b"[server]\nlisten = unix:/tmp/s.sock\nlisten = http://127.0.0.1:8080\n"
                   b"listen = https://[::1]:8443\ntls_certificate = /t.pem\ntls_key = /t.key\n"
                   b"client_ca = /ca.pem\nmtls_routes = issue, verify,read\nworkers = 4\n"
                   b"max_body = 1M\nrequest_timeout = 30s\npoll_interval_ms = 250\n",
    "types": b"[type edge.media-v2]\nalgorithm = PS256\ntoken_lifetime = 15m\nmin_lead = 2d\n"
             b"issuer = https://e.example\naudience = media\n[type minimal_type]\nalgorithm = ES384\n",
    "type-twice": b"[type a]\nalgorithm = ES256\n[type a]\nalgorithm = RS256\n",
    "type-noname": b"[type]\nalgorithm = ES256\n[type ]\n",
    "custodians": b"[custodian alice]\ncertificate = /a.pem\n[custodian bob]\n\tcertificate = /b.pem\n"
                  b"[custodian alice]\ncertificate = /c.pem\n",
    "unknown": b"[token]\nurl = pkcs11:token=x\n[nosuch]\nk = v\n",
    "dup-key": b"[token]\nuri = pkcs11:token=a\nuri = pkcs11:token=b\n",
    "numbers": b"[policy]\nquorum = 99999999999999999999\nclock_skew = 36501d\n"
               b"[server]\nworkers = -1\nmax_body = 18446744073709551615M\npoll_interval_ms = 0x10\n",
    "bools": b"[token]\nsession_keys = TRUE\n[token]\nsession_keys = maybe\n",
    "no-bracket": b"[token\nuri = x\n=value\nkey without value\n",
    "long-line": b"[token]\nuri = pkcs11:token=" + b"a" * 300 + b"\n",
    "bom-crlf": b"\xef\xbb\xbf[token]\r\nuri = pkcs11:token=edge\r\n  lock_file=/x\r\n",
    "nul": b"[token]\nuri = pkcs11:token=ed\x00ge\n",
    "mtls-no-ca": b"[server]\nlisten = https://0.0.0.0:1\nmtls_routes = verify,nope\n",
    "listen-bad": b"[server]\nlisten = ftp://x\nlisten = http://[::1\nlisten = unix:\n"
                  b"listen = http://h:99999\n",
}

# ---- dates, durations, thumbprints ----------------------------------------------

DATE = {
    "iso-z": b"2012-07-22T06:00:00Z",
    "iso-offset": b"2012-07-22T08:00:00+02:00",
    "iso-space-lower": b"2012-07-22 06:00:00z",
    "iso-offset-compact": b"2012-07-22T08:00-0230",
    "iso-fraction": b"2012-07-22T06:00:00.5Z",
    "iso-feb29": b"2023-02-29T00:00:00Z",
    "iso-max": b"9999-12-31T23:59:59-23:59",
    "iso-min": b"1970-01-01T00:00:00+23:59",
    "us-am": b"7/22/2012 6:00:00 AM",
    "us-24h": b"7/22/2012 18:00",
    "us-12am": b"12/31/2023 12:00 am",
    "us-gap": b"3/12/2023 2:30 AM",
    "us-overlap": b"11/5/2023 1:30 AM",
    "us-trailing": b"7/22/2012 6:00 PM ",
    "dur-units": b"15m",
    "dur-max": b"36500d",
    "dur-over": b"99999999999999999999999h",
    "dur-frac": b"1.5h",
    "thumb-colons": b"AB:CD:EF:01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd:ef:01",
    "thumb-invisible": "\u200eab cd ef 01\u00a0\ufeff23 45".encode(),
    "thumb-long": b"0" * 65,
    "thumb-partial-utf8": b"abcdef01\xe2\x80",
}

# ---- JWT ---------------------------------------------------------------------


def load_keys():
    text = open(os.path.join(HERE, "fuzz_jwt_keys.h")).read()
    pems = {}
    for name, body in re.findall(r"static const char (\w+)\[\] =\n((?:\t\".*\"\n?)+);", text):
        pem = "".join(line + "\n" for line in re.findall(r"\"(.*)\\n\"", body))
        pems[name] = serialization.load_pem_private_key(pem.encode(), password=None)
    return pems["fuzz_key_p256"], pems["fuzz_key_rsa2048"]


def kid(key):
    der = key.public_key().public_bytes(serialization.Encoding.DER,
                                        serialization.PublicFormat.SubjectPublicKeyInfo)
    return b64(hashlib.sha256(der).digest())


def sign(key, alg, msg):
    if alg == "ES256":
        r, s = decode_dss_signature(key.sign(msg, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")
    if alg == "PS256":
        return key.sign(msg, padding.PSS(padding.MGF1(hashes.SHA256()), 32), hashes.SHA256())
    return key.sign(msg, padding.PKCS1v15(), hashes.SHA256())


def token(key, hdr, claims, alg=None, raw_hdr=None, raw_claims=None):
    h = b64(raw_hdr if raw_hdr is not None else j(hdr))
    p = b64(raw_claims if raw_claims is not None else j(claims))
    inp = (h + "." + p).encode()
    return inp + b"." + b64(sign(key, alg or hdr["alg"], inp)).encode()


def jwt_seeds():
    eck, rsak = load_keys()
    he = {"alg": "ES256", "typ": "JWT", "kid": kid(eck)}
    hr = {"alg": "RS256", "typ": "JWT", "kid": kid(rsak)}
    good = {"iss": ISS, "sub": "alice", "aud": AUD, "iat": NOW - 10, "nbf": NOW - 10,
            "exp": NOW + 600, "jti": "x"}
    raw = b"\x00"  # control byte: verify the rest as it is
    signed_ec, signed_rsa, signed_ec_aud = b"\x01", b"\x03", b"\x05"
    seeds = {
        "raw-es256": raw + token(eck, he, good),
        "raw-rs256": raw + token(rsak, hr, good),
        "raw-nokid": raw + token(eck, {"alg": "ES256"}, good),
        "raw-expired": raw + token(eck, he, dict(good, exp=NOW - 3600, iat=NOW - 4000)),
        "raw-none": raw + (b64(j({"alg": "none"})) + "." + b64(j(good)) + ".").encode(),
        "raw-hs256": raw + token(eck, {"alg": "HS256"}, good, alg="ES256"),
        "raw-ps256-wrongkey": raw + token(rsak, {"alg": "PS256", "kid": kid(rsak)}, good),
        "raw-alg-swap": raw + token(rsak, {"alg": "RS256", "kid": kid(eck)}, good),
        "raw-dup-member": raw + token(eck, None, good, alg="ES256",
                                      raw_hdr=b'{"alg":"ES256","alg":"ES256"}'),
        "raw-padded": raw + token(eck, he, good).replace(b".", b"=.", 1),
        "raw-four-parts": raw + b"eyJhbGciOiJFUzI1NiJ9.e30.AA.AA",
        "raw-ec-zero-sig": raw + (b64(j(he)) + "." + b64(j(good)) + "." + b64(bytes(64))).encode(),
        "signed-ec-good": signed_ec + j(he) + b"\n" + j(good),
        "signed-rsa-good": signed_rsa + j(hr) + b"\n" + j(good),
        "signed-ec-aud-array": signed_ec_aud + j(he) + b"\n" + j(dict(good, aud=["x", AUD])),
        "signed-ec-aud-bad": signed_ec_aud + j(he) + b"\n" + j(dict(good, aud=[1], iss=ISS)),
        "signed-ec-noexp": signed_ec + j(he) + b"\n" + j({"iat": NOW}),
        "signed-ec-fraction": signed_ec + j(he) + b"\n" + b'{"exp":1700000100.5,"iat":1700000000}',
        "signed-ec-overflow": signed_ec + j(he) + b"\n" + j({"exp": 2**63 - 1, "nbf": -2**63}),
        "signed-ec-lifetime": signed_ec + j(he) + b"\n" + j({"exp": NOW + 7200, "iat": NOW}),
        "signed-ec-future": signed_ec + j(he) + b"\n" + j({"exp": NOW + 700, "iat": NOW + 600}),
        "signed-ec-crit": signed_ec + j(dict(he, crit=["b64"])) + b"\n" + j(good),
        "signed-ec-deep": signed_ec + j(he) + b"\n" + b'{"exp":1,"a":' + b"[" * 3000 + b"]" * 3000 + b"}",
        "signed-ec-array": signed_ec + j(he) + b"\n" + b"[1,2]",
        "signed-ec-utf8": signed_ec + j(he) + b"\n" + b'{"exp":1700000100,"iat":1700000000,"s":"\xc3\x28"}',
    }
    return seeds


# ---- state -------------------------------------------------------------------


def state_doc(**over):
    sha1 = "a" * 40
    doc = {
        "format": 1, "version": 7, "written_at": NOW,
        "keys": [{"sha1": sha1, "sha256": "b" * 64, "keytype": "ec-p256", "bits": 256,
                  "not_before": NOW - 86400, "not_after": NOW + 86400 * 365, "removed_at": 0,
                  "id": "0102", "cert": b64(b"\x30\x03\x02\x01\x01")}],
        "types": [{"name": "OAuthTokenIssuer",
                   "epochs": [{"key": sha1, "effective": NOW - 100, "staged_at": NOW - 200}]}],
        "proposals": [{"id": "p1", "action": "roll", "approvals": ["alice"]}],
        "history": [{"at": NOW, "action": "assign"}],
    }
    doc.update(over)
    return doc


def with_digest(body):
    return body + b"\n" + hashlib.sha256(body).hexdigest().encode()


def state_seeds():
    ok = state_doc()
    key = ok["keys"][0]
    typ = ok["types"][0]
    add = b"\x01"  # control byte: the target appends the digest line
    return {
        "good": add + j(ok),
        "good-own-digest": b"\x00" + with_digest(j(ok)),
        "bad-digest": b"\x00" + j(ok) + b"\n" + b"0" * 64,
        "no-digest": b"\x00" + j(ok),
        "empty-state": add + j(state_doc(keys=[], types=[], proposals=[], history=[])),
        "format-2": add + j(state_doc(format=2)),
        "negative-version": add + j(state_doc(version=-1)),
        "key-unknown-type": add + j(state_doc(keys=[dict(key, keytype="dsa")])),
        "key-empty-sha1": add + j(state_doc(keys=[dict(key, sha1="")], types=[])),
        "key-long-sha1": add + j(state_doc(keys=[dict(key, sha1="a" * 41)], types=[])),
        "key-nul-sha1": add + j(state_doc(keys=[dict(key, sha1="a\u0000b")], types=[])),
        "key-bits": add + j(state_doc(keys=[dict(key, bits=65537)])),
        "key-bad-cert": add + j(state_doc(keys=[dict(key, cert="a=")])),
        "key-twice": add + j(state_doc(keys=[key, dict(key, removed_at=NOW)])),
        "epoch-unknown-key": add + j(state_doc(types=[dict(typ, epochs=[{"key": "c" * 40,
                                                                         "effective": 1,
                                                                         "staged_at": 1}])])),
        "epoch-order": add + j(state_doc(types=[dict(typ, epochs=typ["epochs"] +
                                                     [dict(typ["epochs"][0], effective=1)])])),
        "type-twice": add + j(state_doc(types=[typ, typ])),
        "not-object": add + b"[1,2,3]",
        "dup-member": add + b'{"format":1,"format":1}',
        "short": b"\x00\n",
    }


# ---- URIs ------------------------------------------------------------------------

URI = {
    "example": b"pkcs11:token=edge?module-path=/usr/lib/softhsm/libsofthsm2.so",
    "full": b"pkcs11:token=pool;serial=42;object=k1;id=%01%a2;type=private?module-path=/m.so",
    "bare": b"pkcs11:",
    "upper": b"PKCS11:token=x",
    "label-32": b"pkcs11:token=" + b"a" * 32,
    "label-33": b"pkcs11:token=" + b"a" * 33,
    "serial-17": b"pkcs11:serial=" + b"1" * 17,
    "label-nul": b"pkcs11:token=a%00b",
    "label-leading-nul": b"pkcs11:token=%00",
    "label-spaces": b"pkcs11:token=%20%20",
    "pin-value": b"pkcs11:token=x?pin-value=1234",
    "query-unknown": b"pkcs11:token=x?module-name=softhsm2&module-path=/m",
    "repeat": b"pkcs11:token=a;token=b",
    "bad-percent": b"pkcs11:object=%zz;id=%4",
    "id-65": b"pkcs11:id=" + b"%ff" * 65,
    "slot": b"pkcs11:slot-id=1;;=x",
    "empty-module": b"pkcs11:token=x?module-path=",
    "seps": b"pkcs11:;;;?&&&",
}

# ---- signerd request bodies ---------------------------------------------------------

HTTP = {
    "issue": j({"type": "OAuthTokenIssuer", "sub": "alice", "aud": "api", "lifetime": 600,
                "claims": {"scope": "read", "n": [1, 2, {"x": None}]}}),
    "issue-min": j({"type": "t", "sub": "s"}),
    "verify": j({"token": "a.b.c", "type": "OAuthTokenIssuer", "aud": "api"}),
    "verify-simple": b'{"token":"eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"}',
    "verify-simple-ws": b' \r\n{ "token" :\t"a.b-c_d" }\n',
    "verify-simple-escape": b'{"token":"a\\u002eb"}',
    "nulls": b'{"token":"x","type":null,"aud":null,"sub":null,"lifetime":null,"claims":null}',
    "unknown-member": j({"type": "t", "sub": "s", "admin": True}),
    "dup-member": b'{"type":"t","type":"u","sub":"s"}',
    "lifetime-bad": b'{"type":"t","sub":"s","lifetime":1.5}',
    "lifetime-huge": b'{"type":"t","sub":"s","lifetime":9223372036854775808}',
    "lifetime-neg": b'{"type":"t","sub":"s","lifetime":-1}',
    "claims-65": j({"type": "t", "sub": "s", "claims": {"c%d" % i: i for i in range(65)}}),
    "sub-nul": b'{"type":"t","sub":"a\\u0000b","token":"x\\u0000"}',
    "type-64": j({"type": "t" * 64, "sub": "s"}),
    "surrogate": b'{"type":"t","sub":"\\ud800","token":"\\udc00\\ud800"}',
    "deep": b'{"claims":' + b"[" * 2100 + b"]" * 2100 + b"}",
    "not-object": b'["type","sub"]',
    "trailing": b'{"token":"x"} {"token":"y"}',
    "content-type": b"Application/JSON ;charset=utf-8",
    "reason": b"token expired at 2023-11-14T22:13:20Z; unknown kid; aud ",
}


# ---- approval -----------------------------------------------------------------

SIG = b64(b"\x30\x06\x02\x01\x01\x02\x01\x01")
APPROVAL = {
    "valid-shape": j({"custodian": "alice", "approved_at": 1700000100, "alg": "ES256",
                      "signature": SIG, "cert_sha256": "00" * 32}),
    "unknown-custodian": j({"custodian": "mallory", "approved_at": 1700000100, "alg": "ES256",
                            "signature": SIG}),
    "wrong-alg": j({"custodian": "alice", "approved_at": 1700000100, "alg": "RS256",
                    "signature": SIG}),
    "bad-b64": j({"custodian": "alice", "approved_at": 1700000100, "alg": "ES256",
                  "signature": "a"}),
    "outside-lifetime": j({"custodian": "alice", "approved_at": 1600000000, "alg": "ES256",
                           "signature": SIG}),
    "at-string": j({"custodian": "alice", "approved_at": "1700000100", "alg": "ES256",
                    "signature": SIG}),
    "missing": j({"custodian": "alice", "alg": "ES256"}),
    "dup-key": b'{"custodian":"alice","custodian":"bob","approved_at":1,"alg":"ES256","signature":"AA"}',
    "array": b"[1,2,3]",
    "not-json": b"custodian=alice\n",
    "nul": b'{"custodian":"al\x00ice"}',
    "utf8": '{"custodian":"\u00e9\u00e9","approved_at":1700000100,"alg":"ES256","signature":"AA"}'.encode(),
}


# ---- keyfile ------------------------------------------------------------------

def keyfile_seeds():
    import datetime
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import pkcs12
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fuzz")])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(1)
            .not_valid_before(datetime.datetime(2020, 1, 1))
            .not_valid_after(datetime.datetime(2040, 1, 1))
            .sign(key, hashes.SHA256()))
    enc = serialization.BestAvailableEncryption(b"fuzz")
    pem_cert = cert.public_bytes(serialization.Encoding.PEM)
    der_cert = cert.public_bytes(serialization.Encoding.DER)
    pem_key = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    pem_key_enc = key.private_bytes(serialization.Encoding.PEM,
                                    serialization.PrivateFormat.PKCS8, enc)
    p12 = pkcs12.serialize_key_and_certificates(b"fuzz", key, cert, None, enc)
    p12_open = pkcs12.serialize_key_and_certificates(b"fuzz", key, cert, None,
                                                     serialization.NoEncryption())
    p12_cert_only = pkcs12.serialize_key_and_certificates(b"fuzz", None, cert, None,
                                                          serialization.NoEncryption())
    # control byte: mod 3 = 0 cert, 1 key, 2 PKCS#12; bit 2 = passphrase source given
    return {
        "cert-pem": b"\x00" + pem_cert,
        "cert-der": b"\x03" + der_cert,
        "cert-garbage": b"\x00-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        "key-pem": b"\x01" + pem_key,
        "key-enc-pass": b"\x04" + pem_key_enc,
        "key-enc-nopass": b"\x01" + pem_key_enc,
        "key-cert-not-key": b"\x01" + pem_cert,
        "p12-pass": b"\x05" + p12,
        "p12-nopass-given": b"\x02" + p12,
        "p12-open": b"\x02" + p12_open,
        "p12-cert-only": b"\x02" + p12_cert_only,
        "p12-truncated": b"\x05" + p12[: len(p12) // 2],
    }


# ---- audit --------------------------------------------------------------------

def audit_line(seq, prev, actor="root", action="roll",
               details=None, at=1700000000):
    e = {"action": action, "actor": actor, "at": at,
         "details": details if details is not None else {"type": "default"},
         "prev": prev, "seq": seq}
    canon = json.dumps(e, sort_keys=True, separators=(",", ":"))
    e["hash"] = hashlib.sha256(canon.encode()).hexdigest()
    return json.dumps(e, sort_keys=True, separators=(",", ":")), e["hash"]


def audit_seeds():
    zero = "0" * 64
    l1, h1 = audit_line(1, zero)
    l2, h2 = audit_line(2, h1, action="approve", details={"proposal": "ab" * 32})
    l3, _ = audit_line(3, h2, action="stage", details={"n": [1, 2.5, None, True]})
    bad_prev, _ = audit_line(2, zero)
    edited = l2.replace("approve", "apprOve")
    spaced = l1.replace(",", ", ")
    # control byte: bit 0 = the target fixes seq/prev/hash of each line
    return {
        "chain3": ("\x00" + "\n".join([l1, l2, l3]) + "\n").encode(),
        "chain-bad-prev": ("\x00" + "\n".join([l1, bad_prev])).encode(),
        "edited": ("\x00" + "\n".join([l1, edited])).encode(),
        "not-canonical": ("\x00" + spaced).encode(),
        "fix-members": b'\x01{"action":"a","actor":"u","at":1,"details":{},"hash":"","prev":"","seq":0}\n'
                       b'{"action":"b","actor":"u","at":2,"details":{"x":"\\u00e9"},"hash":"","prev":"","seq":0}',
        "fix-extra-member": b'\x01{"action":"a","actor":"u","at":1,"details":{},"x":1}',
        "fix-wrong-types": b'\x01{"action":1,"actor":"u","at":"1","details":[],"hash":"","prev":"","seq":0}',
        "empty-lines": b"\x00\n\n",
        "not-json": b"\x00seq=1 action=roll",
        "nul": b'\x01{"action":"a\x00","actor":"u","at":1,"details":{},"hash":"","prev":"","seq":0}',
    }


# ---- dn -----------------------------------------------------------------------

DN = {
    "comma": b"CN=edge.example.net,O=Example",
    "slash": b"/CN=edge/O=Example/C=DE",
    "escaped": b"O=Acme\\, Inc.,CN=a",
    "trailing-backslash": b"CN=a\\",
    "spaces": b"  CN = a ,  O=b",
    "no-equals": b"CN",
    "empty-value": b"CN=",
    "empty-key": b"=a",
    "unknown-type": b"XX=a",
    "country-too-long": b"C=DEU",
    "oid": b"2.5.4.3=by-oid",
    "only-separators": b",,,",
    "slash-only": b"/",
    "utf8": "CN=\u00e9t\u00e9,O=\u65e5\u672c".encode(),
    "nul": b"CN=a\x00,O=b",
    "long": b"CN=" + b"a" * 1100,
}


# ---- member -------------------------------------------------------------------

def member(**over):
    m = {"member": "edge-1:4242", "host": "edge-1", "pid": 4242, "version": 7,
         "checked_at": 1700000000, "started_at": 1699990000, "poll_interval_ms": 1000,
         "boot_id": "0f6c1f9e-3c55-4e43-9a1b-6f0e1c2d3a4b"}
    m.update(over)
    return json.dumps({k: v for k, v in m.items() if v is not None},
                      sort_keys=True, separators=(",", ":")).encode()


MEMBER = {
    "full": member(),
    "old-release": member(poll_interval_ms=None, boot_id=None),
    "pid-string": member(pid="4242"),
    "missing-host": member(host=None),
    "long-id": member(member="m" * 200),
    "long-host-utf8": member(host="\u00e9" * 40),
    "long-boot-utf8": member(boot_id="\u00e9" * 30),
    "negative": member(pid=-1, version=-5, checked_at=-1),
    "huge": member(version=2 ** 63 - 1),
    "extra": member(extra=[1, 2]),
    "array": b"[]",
    "truncated": member()[:40],
}


# ---- pool ---------------------------------------------------------------------
# members' GET /v1/status answers, NUL-separated; now = 1700000000

def status(staged=None, current="c" * 40, effective="2023-11-14T22:20:00Z", member=None,
           typ="AudioVideoAuthentication"):
    t = {"type": typ, "algorithm": "ES256"}
    if current is not None:
        t["current"] = {"key": {"thumbprint": current, "kid": "k1"}, "since": "2023-01-01T00:00:00Z"}
    if staged is not None:
        t["staged"] = {"key": {"thumbprint": staged, "kid": "k2"}, "effective": effective}
    doc = {"types": [t]}
    if member is not None:
        doc["member"] = member
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()


FRESH = {"id": "edge-1:4242", "checked_at": "2023-11-14T22:13:19Z",
         "started_at": "2023-11-14T20:00:00Z", "poll_interval_ms": 1000}
POOL = {
    "ready": status("s" * 40, member=FRESH) + b"\0" + status("s" * 40),
    "lacks": status("s" * 40) + b"\0" + status(None),
    "other-instant": status("s" * 40) + b"\0" + status("s" * 40, effective=1700000999),
    "already-issues": status("s" * 40) + b"\0" + status(None, current="s" * 40),
    "other-key": status("s" * 40) + b"\0" + status("t" * 40),
    "other-type": status("s" * 40) + b"\0" + status(None, typ="OAuthTokenIssuer"),
    "stale": status(None, member=dict(FRESH, checked_at=1690000000)),
    "never-checked": status(None, member=dict(FRESH, checked_at=None)),
    "member-string": status("s" * 40, member="m" * 200),
    "sha1-form": b'{"types":[{"type":"A","staged":{"sha1":"ab","effective":1700000100},'
                 b'"current":{"sha1":"cd"}}]}\0{"types":[{"type":"A","current":{"sha1":"ab"}}]}',
    "utf8-key": status("\u00e9" * 40) + b"\0" + status(None),
    "not-object": b"[1,2]\0{\"types\":7}\0null",
    "truncated": status("s" * 40)[:50],
}


def main():
    corpus = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "corpus")
    only = sys.argv[2:]
    makers = {"config": lambda: CONFIG, "date": lambda: DATE, "jwt": jwt_seeds,
              "state": state_seeds, "uri": lambda: URI, "http_json": lambda: HTTP,
              "approval": lambda: APPROVAL, "keyfile": keyfile_seeds,
              "audit": audit_seeds, "dn": lambda: DN, "member": lambda: MEMBER,
              "pool": lambda: POOL}
    for target, make in makers.items():
        if only and target not in only:
            continue
        seeds = make()
        d = os.path.join(corpus, target)
        os.makedirs(d, exist_ok=True)
        for name in os.listdir(d):
            if name.startswith("seed-"):
                os.unlink(os.path.join(d, name))
        for name, data in seeds.items():
            with open(os.path.join(d, "seed-" + name), "wb") as f:
                f.write(data)
        print("%s: %d seeds" % (target, len(seeds)))


if __name__ == "__main__":
    main()
