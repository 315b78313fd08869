#!/bin/sh
# setup.sh - installs the pinned JavaScript reference libraries of the
# interop tests (package-lock.json) into tests/interop/node_modules, only
# when they are missing or were installed from another lock file (a stamp
# file records the lock file's hash after a complete install). Exits
# non-zero, with a message, if npm is missing or the install fails (e.g.
# no network).
cd "$(dirname "$0")" || exit 1
STAMP=node_modules/.ao-interop-stamp
want=$(sha256sum package-lock.json | cut -d' ' -f1)
[ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] && exit 0
if ! command -v npm >/dev/null 2>&1; then
    echo "interop setup: npm is not installed (run 'make deps')" >&2
    exit 1
fi
echo "interop setup: installing arbundles, arweave and aoconnect into tests/interop/node_modules" >&2
if ! npm ci --no-audit --no-fund --loglevel=error >&2; then
    echo "interop setup: 'npm ci' failed (no network to the npm registry?)" >&2
    exit 1
fi
if ! node -e 'const v = (p) => JSON.parse(require("fs").readFileSync("node_modules/" + p + "/package.json")).version;
              process.exit(v("arbundles") === "0.11.2" && v("arweave") === "1.15.7" &&
                           v("@permaweb/aoconnect") === "0.0.98" ? 0 : 1)'; then
    echo "interop setup: installed packages are not the pinned versions" >&2
    exit 1
fi
echo "$want" >"$STAMP"
