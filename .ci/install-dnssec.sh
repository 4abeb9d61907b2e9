#!/usr/bin/env bash
# Install the signed DNS test world for the DANE tests: nsd (authoritative), unbound (validating
# resolver) and ldnsutils (ldns-keygen, ldns-signzone, drill). Only the binaries are needed:
# the tests sign their zones at test time and start nsd and unbound as child processes inside
# a network namespace (test/integration/harness/signed-dns.ts); no system service is started,
# during the install or after it.
#
#   bash .ci/install-dnssec.sh
#
# Idempotent: nothing is installed when everything is already there. Needs root (apt-get).
set -euo pipefail

need=()
command -v nsd >/dev/null 2>&1 || [ -x /usr/sbin/nsd ] || need+=(nsd)
command -v unbound >/dev/null 2>&1 || [ -x /usr/sbin/unbound ] || need+=(unbound)
command -v ldns-signzone >/dev/null 2>&1 || need+=(ldnsutils)

if [ "${#need[@]}" -eq 0 ]; then
  echo "nsd, unbound and ldnsutils already installed"
else
  export DEBIAN_FRONTEND=noninteractive
  # No service may start during the install (unbound and nsd ship units): invoke-rc.d
  # consults policy-rc.d, and 101 means "action forbidden".
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${need[@]}"
fi

# Versions for the log (sed reads everything, so no SIGPIPE under pipefail).
/usr/sbin/nsd -v 2>&1 | sed -n 1p
/usr/sbin/unbound -V | sed -n 1p
ldns-signzone -v
