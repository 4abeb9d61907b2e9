#!/usr/bin/env bash
# Unpack Debian's Exim next to (not instead of) the installed Postfix, for the Exim
# `${readsocket}` integration tests. Debian's exim4 packages conflict with Postfix as the
# system MTA, so they are downloaded and extracted with `dpkg -x`, never installed.
#
#   bash .ci/install-exim.sh [DIR]       (default: $EXIM_TEST_ROOT or /opt/exim-test)
#
# Result: DIR/usr/sbin/exim4, with the libraries it needs but the base system lacks in
# DIR/usr/lib/x86_64-linux-gnu (run it with LD_LIBRARY_PATH pointing there). Idempotent:
# nothing is downloaded when the binary already runs. Needs root (useradd, apt-get).
set -euo pipefail

root="${1:-${EXIM_TEST_ROOT:-/opt/exim-test}}"
exim="$root/usr/sbin/exim4"
# exim4-daemon-light holds the binary; exim4-base and exim4-config its helpers and the Debian
# defaults; libidn12 is the one shared library a bookworm base system lacks (checked with ldd).
packages=(exim4-daemon-light exim4-base exim4-config libidn12)

libdirs() {
  local d out=""
  for d in "$root"/usr/lib/*-linux-gnu "$root"/lib/*-linux-gnu; do
    [ -d "$d" ] && out="${out:+$out:}$d"
  done
  printf '%s' "$out"
}

# Exim refuses to run at all unless its compiled-in user exists.
if ! getent passwd Debian-exim >/dev/null; then
  getent group Debian-exim >/dev/null || groupadd --system Debian-exim
  useradd --system --gid Debian-exim --home-dir /var/spool/exim4 --no-create-home \
    --shell /usr/sbin/nologin Debian-exim
fi

if [ -x "$exim" ] && LD_LIBRARY_PATH="$(libdirs)" "$exim" -bV >/dev/null 2>&1; then
  echo "exim already unpacked in $root"
else
  export DEBIAN_FRONTEND=noninteractive
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  # _apt downloads into the current directory and needs to write there.
  chmod 0777 "$work"
  cd "$work"
  if ! apt-get download "${packages[@]}" >/dev/null 2>&1; then
    apt-get update -q
    apt-get download "${packages[@]}"
  fi
  mkdir -p "$root"
  for deb in ./*.deb; do dpkg -x "$deb" "$root"; done
  cd /
fi

missing="$(LD_LIBRARY_PATH="$(libdirs)" ldd "$exim" | grep 'not found' || true)"
if [ -n "$missing" ]; then
  echo "exim in $root still lacks libraries:" >&2
  echo "$missing" >&2
  exit 1
fi
# -bV exits non-zero when Exim cannot run (missing user, missing library).
LD_LIBRARY_PATH="$(libdirs)" "$exim" -C /dev/null -bV | head -n 1
