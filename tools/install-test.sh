#!/usr/bin/env bash
# The production install, tested the way the Dockerfile does it (run by .ci/run; about a minute):
#   1. `npm pack` (prepack builds dist/) gives the package;
#   2. installed with `npm install --omit=dev <tarball>` in an empty folder, `npx odtp-db` works: --help,
#      migrate status/up/status against the embedded engine, and the admin API answers /health;
#   3. the Dockerfile's runtime stage: the tarball extracted with the lockfile, `npm ci --omit=dev`, and the same
#      checks (no TypeScript, no dev dependency at run time).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
WORK="$(mktemp -d)"
SERVER_PID=""
DB_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; fi
  if [ -n "$DB_PID" ]; then kill "$DB_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
step() { printf '\n== %s\n' "$*"; }
fail() { printf 'install test FAILED: %s\n' "$*" >&2; exit 1; }

step "npm pack"
cd "$ROOT"
TARBALL="$WORK/$(npm pack --pack-destination "$WORK" --silent | tail -1)"
[ -f "$TARBALL" ] || fail "npm pack produced no tarball"
LISTING="$(tar tzf "$TARBALL")"
printf '%s: %s bytes, %s files\n' "$(basename "$TARBALL")" "$(stat -c %s "$TARBALL")" "$(wc -l <<<"$LISTING")"
grep -qx 'package/dist/apps/cli/src/main.js' <<<"$LISTING" || fail "the package has no built CLI"
grep -qx 'package/dist/apps/admin-api/src/main.js' <<<"$LISTING" || fail "the package has no built admin API"
grep -q '^package/migrations/.*\.ts$' <<<"$LISTING" || fail "the package has no migration sources (checksums)"
if grep -qE '^package/(test|bench|node_modules)/|\.spec\.(ts|js)$|\.map$' <<<"$LISTING"; then fail "the package holds tests or source maps"; fi

# Checks one installation: $1 = folder, $2 = how to call the CLI there.
check_install() {
  local dir="$1" cli="$2"
  cd "$dir"
  for dev in typescript jest eslint @swc-node/register @nestjs/testing; do
    [ ! -e "node_modules/$dev" ] || fail "$dev is installed in $dir: not a production install"
  done
  $cli --help | grep -q 'migrate' || fail "$cli --help"
  # the embedded engine as a server of its own (what `odtp-db db start` gives a pipeline), persisting to data/
  unset MONGODB_URI
  export LOG_LEVEL=warn
  local dbport
  dbport=$(node -e 'const s=require("net").createServer().listen(0,()=>{console.log(s.address().port);s.close()})')
  ODTP_DB_ENGINE=embedded $cli db start --port "$dbport" --db-path "$dir/data" >"$dir/db.log" 2>&1 &
  DB_PID=$!
  for _ in $(seq 1 120); do grep -q '^MONGODB_URI=' "$dir/db.log" && break; sleep 0.5; done
  grep -q '^MONGODB_URI=' "$dir/db.log" || { cat "$dir/db.log" >&2; fail "odtp-db db start printed no MONGODB_URI"; }
  export MONGODB_URI="$(sed -n 's/^MONGODB_URI=//p' "$dir/db.log")odtp"
  local pending
  pending=$($cli migrate status --json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).filter(m=>m.state==="pending").length))')
  [ "$pending" -gt 0 ] || fail "migrate status: expected pending migrations, got $pending"
  $cli migrate up >/dev/null
  local left
  left=$($cli migrate status --json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const m=JSON.parse(s);console.log(m.filter(x=>x.state==="pending").length+" pending, "+m.filter(x=>x.state==="applied").length+" applied, "+m.filter(x=>x.state==="held").length+" held")})')
  echo "migrate status after up: $left"
  case "$left" in 0\ pending*) ;; *) fail "migrate up left migrations pending: $left" ;; esac
  local port
  port=$(node -e 'const s=require("net").createServer().listen(0,()=>{console.log(s.address().port);s.close()})')
  PORT="$port" HOST=127.0.0.1 $cli serve >"$dir/serve.log" 2>&1 &
  SERVER_PID=$!
  local ok=""
  for _ in $(seq 1 240); do
    if node -e "fetch('http://127.0.0.1:$port/health').then(r=>process.exit(r.ok?0:1)).catch(()=>process.exit(1))"; then ok=1; break; fi
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.5
  done
  [ -n "$ok" ] || { cat "$dir/serve.log" >&2; fail "the admin API did not answer /health"; }
  node -e "fetch('http://127.0.0.1:$port/health').then(r=>r.json()).then(b=>console.log('/health:',JSON.stringify(b)))"
  kill "$SERVER_PID"
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
  kill "$DB_PID"
  wait "$DB_PID" 2>/dev/null || true
  DB_PID=""
  unset MONGODB_URI
}

step "npm install --omit=dev <tarball> in an empty folder; npx odtp-db"
mkdir "$WORK/empty" && cd "$WORK/empty"
npm init -y >/dev/null
npm install --omit=dev --no-audit --no-fund --prefer-offline "$TARBALL" >/dev/null
check_install "$WORK/empty" "npx --no-install odtp-db"

step "the Dockerfile's runtime stage: the tarball with the lockfile, npm ci --omit=dev"
mkdir "$WORK/image" && tar xzf "$TARBALL" -C "$WORK/image" --strip-components=1
cp "$ROOT/package-lock.json" "$WORK/image/"
# --omit=optional: TypeScript is in the lockfile as "devOptional" (an optional peer of cosmiconfig, which nest-commander
# uses for config files it never reads here): without it, TypeScript would ship in the image
cd "$WORK/image" && npm ci --omit=dev --omit=optional --ignore-scripts --no-audit --no-fund --prefer-offline >/dev/null
printf 'production install: %s packages, node_modules %s MB\n' "$(npm ls --all --parseable 2>/dev/null | wc -l)" "$(du -sm node_modules | cut -f1)"
check_install "$WORK/image" "node bin/odtp-db.js"

printf '\ninstall test passed\n'
