#!/usr/bin/env bash
# Install Redis (with Redis Sentinel) and PostgreSQL for the cache backend tests (contract and
# integration). Only the binaries are needed: every test starts its own servers as child
# processes (redis-server on unix sockets in temp directories, and on loopback TCP ports with
# redis-sentinel for the failover test; initdb + postgres as the `postgres` user), so nothing is
# started as a system service, during the install or after it.
#
#   bash .ci/install-databases.sh
#
# Idempotent: nothing is installed when both are already there. Needs root (apt-get).
set -euo pipefail

have_postgres() {
  command -v initdb >/dev/null 2>&1 && return 0
  # Debian keeps the server binaries off PATH, per major version.
  compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null
}

need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
# Debian's redis-sentinel package: the redis-sentinel binary (redis-server in sentinel mode).
command -v redis-sentinel >/dev/null 2>&1 || need+=(redis-sentinel)
have_postgres || need+=(postgresql)
getent passwd postgres >/dev/null || need+=(postgresql)

if [ "${#need[@]}" -eq 0 ]; then
  echo "redis-server, redis-sentinel and postgresql already installed"
else
  export DEBIAN_FRONTEND=noninteractive
  # No service may start during the install (a container has no init; CI must not run daemons
  # of its own): invoke-rc.d consults policy-rc.d, and 101 means "action forbidden".
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  apt-get update -q
  # redis-tools comes along with redis-server (redis-cli), handy when a test fails.
  apt-get install -y -q --no-install-recommends "${need[@]}"
fi

redis-server --version
redis-sentinel --version
for initdb in $(command -v initdb || true) /usr/lib/postgresql/*/bin/initdb; do
  [ -x "$initdb" ] && { "$initdb" --version; break; }
done
