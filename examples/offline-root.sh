#!/usr/bin/env bash
# Offline-root runbook, end to end on one machine (two PKI directories stand in for two machines).
# Usage: bash examples/offline-root.sh [WORKDIR]      (needs `npm install` first; uses unencrypted demo keys)
set -euo pipefail
CLI="$(cd "$(dirname "$0")/.." && pwd)/dist/cli/main.js"
pki() { node "$CLI" "$@"; }
work=${1:-$(mktemp -d)}
cd "$work"
# On the offline root machine, once:
pki init --dir root-pki --subject "CN=Example Offline Root,O=Example" --no-passphrase
pki ca export root --dir root-pki --out root.pem
# On the online issuing machine:
pki init --dir online --subject "CN=Example Online Bootstrap,O=Example" --no-passphrase
pki ca csr issuing-2 --dir online --subject "CN=Example Issuing CA 2,O=Example" --out issuing-2.csr --no-passphrase
# Carry issuing-2.csr to the root machine and sign it there:
pki ca sign --dir root-pki --ca root --csr issuing-2.csr --out issuing-2.pem --validity 5y
# Carry issuing-2.pem (and root.pem) back and complete the CA:
pki ca import issuing-2 --dir online --cert issuing-2.pem --chain root.pem
pki issue --dir online --ca issuing-2 --subject "CN=web-01,O=Example" --key-out web-01.key --out web-01.pem --chain-out chain.pem
openssl verify -x509_strict -CAfile root.pem -untrusted chain.pem web-01.pem
echo "offline-root runbook done in $work"
