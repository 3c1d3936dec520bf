#!/usr/bin/env bash
# bash tools/env.sh: prints the folder that holds a link to every tool
# `npm run engine:build` built (tools/build.sh), to put on PATH:
#   export PATH="$(bash tools/env.sh):$PATH"
set -euo pipefail
echo "${MIRROR_FLEET_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/mirror-fleet/tools}/bin"
