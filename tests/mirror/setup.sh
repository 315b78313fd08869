#!/bin/sh
# setup.sh - installs arlocal (the local Arweave gateway that the Arweave
# mirror tests use as their upstream; pinned in package-lock.json) into
# tests/mirror/node_modules, only when it is missing or was installed from
# another lock file (a stamp file records the lock file's hash after a
# complete install). Exits non-zero, with a message, if npm is missing or
# the install fails (e.g. no network to the npm registry).
cd "$(dirname "$0")" || exit 1
STAMP=node_modules/.ao-mirror-stamp
want=$(sha256sum package-lock.json | cut -d' ' -f1)
[ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] && exit 0
if ! command -v npm >/dev/null 2>&1; then
    echo "mirror setup: npm is not installed (run 'make deps')" >&2
    exit 1
fi
echo "mirror setup: installing arlocal into tests/mirror/node_modules" >&2
if ! npm ci --no-audit --no-fund --loglevel=error >&2; then
    echo "mirror setup: 'npm ci' failed (no network to the npm registry?)" >&2
    exit 1
fi
if ! node -e 'const v = (p) => JSON.parse(require("fs").readFileSync("node_modules/" + p + "/package.json")).version;
              process.exit(v("arlocal") === "1.1.66" ? 0 : 1)'; then
    echo "mirror setup: installed arlocal is not the pinned version 1.1.66" >&2
    exit 1
fi
echo "$want" >"$STAMP"
