#!/usr/bin/env bash
# bash tools/node.sh [VERSION]: prints the bin folder of Node.js VERSION
# (default $NODE_VERSION in tools/versions.sh, the minimum of package.json
# `engines`), installed from
# the npm registry's node-linux-<arch> package into the tools cache, keyed by
# version. The binary ships inside that package: no install script runs and
# nothing else is downloaded. Idempotent. .ci/run puts it first on PATH, so
# the tests run on the minimum the project declares, whatever Node the
# machine has.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tools/versions.sh
. "$here/versions.sh"
TOOLS=${MIRROR_FLEET_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/mirror-fleet/tools}
case "$(uname -m)" in
  x86_64) arch=x64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) echo "tools/node.sh: no node-linux package for $(uname -m)" >&2; exit 1 ;;
esac
version=${1:-$NODE_VERSION}
dir="$TOOLS/node-$version"
bin="$dir/node_modules/node-linux-$arch/bin"
if [ ! -x "$bin/node" ]; then
  mkdir -p "$dir"
  npm install --prefix "$dir" --no-save --no-audit --no-fund --ignore-scripts --loglevel=error "node-linux-$arch@$version" >&2
fi
"$bin/node" --version >/dev/null
echo "$bin"
