#!/usr/bin/env python3
"""An independent check of the IAM Roles Anywhere AWS4-X509 signing process, written from the user guide's
description (canonical request, string to sign, signature) with the `cryptography` package. It shares no code with
pki's TypeScript signer. Reads one request as JSON on stdin; prints OK, or the reason, and exits 1."""
import base64
import hashlib
import json
import sys
from urllib.parse import parse_qsl, quote, urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

try:  # cryptography >= 48
    from cryptography.hazmat.primitives.asymmetric import mldsa

    MLDSA_KEYS = (mldsa.MLDSA44PublicKey, mldsa.MLDSA65PublicKey, mldsa.MLDSA87PublicKey)
except ImportError:
    MLDSA_KEYS = ()


def fail(msg):
    print(msg)
    sys.exit(1)


req = json.load(sys.stdin)
headers = {k.lower(): v for k, v in req["headers"].items()}
auth = headers.pop("authorization")
algorithm, rest = auth.split(" ", 1)
parts = dict(p.strip().split("=", 1) for p in rest.split(","))
credential = parts["Credential"].split("/")
signed = parts["SignedHeaders"].split(";")
signature = bytes.fromhex(parts["Signature"])

cert = x509.load_der_x509_certificate(base64.b64decode(headers["x-amz-x509"]))
if credential[0] != str(cert.serial_number):
    fail(f"Credential serial {credential[0]} is not the certificate's {cert.serial_number}")
if credential[3:] != ["rolesanywhere", "aws4_request"] or credential[2] != req["region"]:
    fail(f"bad scope {credential}")
if sorted(signed) != signed or not {"host", "x-amz-date", "x-amz-x509"} <= set(signed):
    fail(f"bad SignedHeaders {signed}")

url = urlsplit(req["url"])
query = sorted((quote(k, safe="-_.~"), quote(v, safe="-_.~")) for k, v in parse_qsl(url.query, keep_blank_values=True))
canonical = "\n".join(
    [req["method"], url.path, "&".join(f"{k}={v}" for k, v in query)]
    + [f"{h}:{' '.join(headers[h].split())}" for h in signed]
    + ["", ";".join(signed), hashlib.sha256(req["body"].encode()).hexdigest()]
)
date = headers["x-amz-date"]
string_to_sign = "\n".join([algorithm, date, f"{date[:8]}/{req['region']}/rolesanywhere/aws4_request", hashlib.sha256(canonical.encode()).hexdigest()])

key = cert.public_key()
try:
    if isinstance(key, rsa.RSAPublicKey):
        if algorithm != "AWS4-X509-RSA-SHA256":
            fail(f"{algorithm} for an RSA key")
        key.verify(signature, string_to_sign.encode(), padding.PKCS1v15(), hashes.SHA256())
    elif isinstance(key, ec.EllipticCurvePublicKey):
        if algorithm != "AWS4-X509-ECDSA-SHA256":
            fail(f"{algorithm} for an EC key")
        key.verify(signature, string_to_sign.encode(), ec.ECDSA(hashes.SHA256()))
    elif MLDSA_KEYS and isinstance(key, MLDSA_KEYS):
        if algorithm != "AWS4-X509-MLDSA":
            fail(f"{algorithm} for an ML-DSA key")
        # ML-DSA over the string to sign's bytes, no hash, empty context (user guide, AWS4-X509-MLDSA).
        key.verify(signature, string_to_sign.encode())
    else:
        fail("unsupported key type")
except InvalidSignature:
    fail("signature does not verify")
if "x-amz-x509-chain" in headers:
    for part in headers["x-amz-x509-chain"].split(","):
        x509.load_der_x509_certificate(base64.b64decode(part))
print("OK")
