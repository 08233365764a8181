#!/usr/bin/env python3
"""A throwaway outside CA for tests and the demo, with second-precision validity.

  mini_ca.py init DIR
  mini_ca.py sign DIR CSR.pem OUT.pem --not-before SECONDS --not-after SECONDS
      (seconds relative to now; negative allowed)
  mini_ca.py keycert DIR KEY.pem CERT.pem --kind ec256|ec384|rsa2048|ed25519
      --not-before S --not-after S   (a key made outside the token, for import tests)
"""
import argparse
import datetime
import os
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import NameOID


def now():
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)


def load_ca(d):
    with open(os.path.join(d, "ca.key"), "rb") as f:
        key = serialization.load_pem_private_key(f.read(), None)
    with open(os.path.join(d, "ca.pem"), "rb") as f:
        cert = x509.load_pem_x509_certificate(f.read())
    return key, cert


def build(ca_key, ca_cert, subject, pub, nb, na):
    t = now()
    b = (x509.CertificateBuilder()
         .subject_name(subject)
         .issuer_name(ca_cert.subject)
         .public_key(pub)
         .serial_number(x509.random_serial_number())
         .not_valid_before(t + datetime.timedelta(seconds=nb))
         .not_valid_after(t + datetime.timedelta(seconds=na))
         .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True))
    return b.sign(ca_key, hashes.SHA256())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cmd", choices=["init", "sign", "keycert"])
    ap.add_argument("dir")
    ap.add_argument("args", nargs="*")
    ap.add_argument("--not-before", type=int, default=-60)
    ap.add_argument("--not-after", type=int, default=86400)
    ap.add_argument("--kind", default="ec256")
    ap.add_argument("--cn", default="p11-signer test")
    a = ap.parse_args()

    if a.cmd == "init":
        os.makedirs(a.dir, exist_ok=True)
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "p11-signer test CA")])
        t = now()
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(t - datetime.timedelta(days=1))
                .not_valid_after(t + datetime.timedelta(days=3650))
                .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                .sign(key, hashes.SHA256()))
        with open(os.path.join(a.dir, "ca.key"), "wb") as f:
            f.write(key.private_bytes(serialization.Encoding.PEM,
                                      serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()))
        with open(os.path.join(a.dir, "ca.pem"), "wb") as f:
            f.write(cert.public_bytes(serialization.Encoding.PEM))
        return 0

    ca_key, ca_cert = load_ca(a.dir)
    if a.cmd == "sign":
        csr_path, out = a.args
        with open(csr_path, "rb") as f:
            csr = x509.load_pem_x509_csr(f.read())
        if not csr.is_signature_valid:
            print("CSR signature invalid", file=sys.stderr)
            return 1
        cert = build(ca_key, ca_cert, csr.subject, csr.public_key(), a.not_before, a.not_after)
        with open(out, "wb") as f:
            f.write(cert.public_bytes(serialization.Encoding.PEM))
        return 0

    key_out, cert_out = a.args
    if a.kind == "ec256":
        key = ec.generate_private_key(ec.SECP256R1())
    elif a.kind == "ec384":
        key = ec.generate_private_key(ec.SECP384R1())
    elif a.kind == "rsa2048":
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    elif a.kind == "ed25519":
        key = ed25519.Ed25519PrivateKey.generate()
    else:
        print("unknown kind", file=sys.stderr)
        return 2
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, a.cn)])
    cert = build(ca_key, ca_cert, name, key.public_key(), a.not_before, a.not_after)
    with open(key_out, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    with open(cert_out, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    return 0


if __name__ == "__main__":
    sys.exit(main())
