#!/usr/bin/env bash
# bash tools/setup.sh: everything a fresh machine needs, idempotent.
#  1. Debian packages (as root, or through sudo): buildah, skopeo,
#     docker-registry and busybox-static for the end-to-end build, push and
#     digest check on 127.0.0.1; for the mirror workflow run by act there:
#     runc (BuildKit's OCI worker; crun fails on runc's --keep), docker.io
#     (/usr/bin/docker, the CLI that runs the buildx plugin), jq (the
#     workflow's audit record), sudo and qemu-user-static (the workflow's own
#     `sudo apt-get install qemu-user-static` step), openssl (the e2e
#     registry's TLS certificate); chromium for the report page test;
#     python3-venv for zizmor; shellcheck, which actionlint runs on every
#     `run:` script when it is on PATH; git.
#  2. npm ci.
#  3. npm run engine:build: the Pulumi CLI, the GitHub provider, Trivy, the
#     offline Trivy DB builder, actionlint, zizmor, cosign, kustomize, the
#     Kyverno CLI, act, BuildKit and buildx, built from their
#     published modules into the tools cache (Go 1.26 and network access to
#     the Go module proxy and PyPI on the first run; cached after).
# Node.js 22 or newer must be first on PATH (tools/node.sh gets it from npm).
set -euo pipefail
cd "$(dirname "$0")/.."
major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$major" -lt 22 ]; then
  echo "tools/setup.sh: Node.js $(node --version) is older than 22 (package.json engines); run: export PATH=\"\$(bash tools/node.sh):\$PATH\"" >&2
  exit 1
fi
need=()
for pkg in buildah skopeo docker-registry busybox-static git chromium python3-venv shellcheck runc docker.io jq sudo qemu-user-static openssl; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ "${#need[@]}" -gt 0 ]; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq "${need[@]}"
fi
npm ci --no-audit --no-fund
npm run engine:build
