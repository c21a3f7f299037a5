#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Regenerates the TLS fixtures of the MQTT tests: a CA, a server certificate
# for localhost / 127.0.0.1, and a client certificate, valid for 100 years.
# For tests only: the private keys are public.
set -euo pipefail
cd "$(dirname "$0")"
days=36500
openssl req -x509 -newkey rsa:2048 -nodes -days $days -subj "/CN=ibtest CA" \
  -keyout ca.key -out ca.pem
for who in server client; do
  openssl req -newkey rsa:2048 -nodes -subj "/CN=$who" -keyout $who.key \
    -out $who.csr
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' > $who.ext
  openssl x509 -req -in $who.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
    -days $days -extfile $who.ext -out $who.pem
  rm $who.csr $who.ext
done
rm -f ca.key ca.srl
