#!/usr/bin/env bash
# npm run trivy:db -- --fixtures DIR --cache-dir DIR: an offline Trivy
# vulnerability database from advisory fixtures (tools/go/trivy-db), built by
# `npm run engine:build` into $MIRROR_FLEET_TOOLS.
set -euo pipefail
TOOLS=${MIRROR_FLEET_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/mirror-fleet/tools}
bin="$TOOLS/bin/trivy-db"
if [ ! -x "$bin" ]; then
  echo "trivy:db: $bin is missing: run npm run engine:build (or bash tools/build.sh trivy_db)" >&2
  exit 2
fi
exec "$bin" "$@"
