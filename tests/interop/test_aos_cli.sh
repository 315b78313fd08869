#!/bin/sh
# test_aos_cli.sh - the aos CLI's calls replayed against `ao up` (aos_cli_replay.js):
# the CLI's spawn tags, its version Eval and prompt polling, its GraphQL
# lookup by Name, REPL lines and the live feed sorted by the cursors'
# ordinate, through @permaweb/aoconnect 0.0.98 as the CLI uses it. A failed
# install of the JS libraries or a missing binary is a failure, never a
# skip. Argument 1: the build folder (holding ./ao). Prints "N passed, N failed".
BUILD=${1:-${AO_BUILD:-build}}
HERE=$(cd "$(dirname "$0")" && pwd)
AO=$(cd "$BUILD" 2>/dev/null && pwd)/ao
if [ ! -x "$AO" ]; then
    echo "FAIL no ao binary at $BUILD/ao"
    echo "0 passed, 1 failed"; exit 1
fi
if ! command -v node >/dev/null 2>&1; then
    echo "FAIL node is not installed (run 'make deps')"
    echo "0 passed, 1 failed"; exit 1
fi
if ! sh "$HERE/setup.sh"; then
    echo "FAIL could not install the JS reference libraries (see above)"
    echo "0 passed, 1 failed"; exit 1
fi
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cd "$HERE" && node aos_cli_replay.js "$AO" "$WORK"
