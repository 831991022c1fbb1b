#!/usr/bin/env bash
# Make a self-signed development certificate for the gateway's kernel and CDP listeners
# (policy knobs listen.tlsCert / listen.tlsKey). Names: localhost, 127.0.0.1, ::1, plus any
# given as arguments. The key is written 0600 next to this script and is never committed
# (.gitignore). For production, use your platform's certificates (e.g. cert-manager).
set -euo pipefail
dir="$(cd "$(dirname "$0")" && pwd)"
san="DNS:localhost,IP:127.0.0.1,IP:::1"
for n in "$@"; do san="$san,DNS:$n"; done
umask 077
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
  -subj "/CN=hedge-dev" -addext "subjectAltName=$san" \
  -keyout "$dir/dev-key.pem" -out "$dir/dev-cert.pem" 2>/dev/null
chmod 0644 "$dir/dev-cert.pem"
echo "$dir/dev-cert.pem"
echo "$dir/dev-key.pem"
