#!/usr/bin/env python3
"""An independent IAM Roles Anywhere signer: builds and signs a CreateSession request with the AWS4-X509 signing
process as the user guide describes it (Task 1 canonical request, Task 2 string to sign, Task 3 signature, Task 4
Authorization header), using the `cryptography` package. It shares no code with pki (neither its signer nor the
emulator's verifier).

stdin: JSON {"certificate": PEM path, "key": PEM path, "chain": [PEM paths], "host", "region", "date"
(YYYYMMDDTHHMMSSZ), "query": [[name, value], ...], "body": str, "extra_headers": {name: value} (signed too)}.
stdout: JSON {"url": path?query, "headers": {name: value}, "body": str}."""
import base64
import hashlib
import json
import sys
from urllib.parse import quote

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

try:  # cryptography >= 48
    from cryptography.hazmat.primitives.asymmetric import mldsa

    MLDSA_KEYS = (mldsa.MLDSA44PrivateKey, mldsa.MLDSA65PrivateKey, mldsa.MLDSA87PrivateKey)
except ImportError:
    MLDSA_KEYS = ()

req = json.load(sys.stdin)


def load_cert(path):
    with open(path, "rb") as f:
        return x509.load_pem_x509_certificate(f.read())


cert = load_cert(req["certificate"])
with open(req["key"], "rb") as f:
    key = serialization.load_pem_private_key(f.read(), password=None)
if isinstance(key, rsa.RSAPrivateKey):
    algorithm = "AWS4-X509-RSA-SHA256"
elif isinstance(key, ec.EllipticCurvePrivateKey):
    algorithm = "AWS4-X509-ECDSA-SHA256"
elif MLDSA_KEYS and isinstance(key, MLDSA_KEYS):
    algorithm = "AWS4-X509-MLDSA"
else:
    sys.exit("unsupported key type")

der = lambda c: base64.b64encode(c.public_bytes(serialization.Encoding.DER)).decode()
date = req["date"]
headers = {
    "Content-Type": "application/json",
    "Host": req["host"],
    "X-Amz-Date": date,
    "X-Amz-X509": der(cert),
}
if req.get("chain"):
    headers["X-Amz-X509-Chain"] = ",".join(der(load_cert(p)) for p in req["chain"])
headers.update(req.get("extra_headers", {}))

# Task 1: the canonical request.
enc = lambda s: quote(s, safe="-_.~")
query = "&".join(f"{k}={v}" for k, v in sorted((enc(k), enc(v)) for k, v in req["query"]))
canonical_headers = sorted((k.lower(), " ".join(v.strip().split())) for k, v in headers.items())
signed_headers = ";".join(k for k, _ in canonical_headers)
canonical = "\n".join(
    ["POST", "/sessions", query]
    + [f"{k}:{v}" for k, v in canonical_headers]
    + ["", signed_headers, hashlib.sha256(req["body"].encode()).hexdigest()]
)
# Task 2: the string to sign.
scope = f"{date[:8]}/{req['region']}/rolesanywhere/aws4_request"
string_to_sign = "\n".join([algorithm, date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
# Task 3: the signature, over SHA-256 whatever the key; ML-DSA signs the string to sign itself (empty context).
if algorithm == "AWS4-X509-RSA-SHA256":
    signature = key.sign(string_to_sign.encode(), padding.PKCS1v15(), hashes.SHA256())
elif algorithm == "AWS4-X509-MLDSA":
    signature = key.sign(string_to_sign.encode())
else:
    signature = key.sign(string_to_sign.encode(), ec.ECDSA(hashes.SHA256()))
# Task 4: the Authorization header; the credential is the serial number in decimal.
headers["Authorization"] = f"{algorithm} Credential={cert.serial_number}/{scope}, SignedHeaders={signed_headers}, Signature={signature.hex()}"
json.dump({"url": f"/sessions?{query}", "headers": headers, "body": req["body"]}, sys.stdout)
