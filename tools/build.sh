#!/usr/bin/env bash
# npm run engine:build [-- TOOL...]: builds the real tools the tests put in the
# loop, from their published modules (Go module proxy, PyPI), into a cache
# outside the repository, keyed by version. Idempotent: a tool whose versioned
# folder holds its binary is not built again. Prints one line per tool.
#
#   MIRROR_FLEET_TOOLS  the cache (default: ${XDG_CACHE_HOME:-~/.cache}/mirror-fleet/tools)
#
# Layout: $MIRROR_FLEET_TOOLS/<tool>-<version>/bin/<binary>, and
# $MIRROR_FLEET_TOOLS/bin/<binary> linking to the current version of each, the
# one folder to put on PATH (tools/env.sh prints it).
#
# Nothing third-party is committed: tools/go/<tool>/ holds our own wrapper
# modules (go.mod, go.sum and, where a tool needs one, a small main).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tools/versions.sh
. "$here/versions.sh"
TOOLS=${MIRROR_FLEET_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/mirror-fleet/tools}
mkdir -p "$TOOLS/bin"
export CGO_ENABLED=0 GOFLAGS=-buildvcs=false GOTOOLCHAIN=local

usage() {
  cat <<EOF
usage: npm run engine:build [-- TOOL...]

Builds the real tools into \$MIRROR_FLEET_TOOLS (now: $TOOLS), keyed by version.
Tools: ${ALL_TOOLS[*]} (default: all)
EOF
}

# done_or_build NAME VERSION BINARY...: returns 0 (skip) when every binary is there.
have() {
  local dir=$1; shift
  for b in "$@"; do [ -x "$dir/bin/$b" ] || return 1; done
}

link() {
  local dir=$1; shift
  for b in "$@"; do ln -sfn "$dir/bin/$b" "$TOOLS/bin/$b"; done
}

# go_wrapper TOOL PACKAGE BINARY LDFLAGS: go build PACKAGE inside tools/go/TOOL.
go_wrapper() {
  local tool=$1 pkg=$2 bin=$3 ldflags=$4 version=$5 extra_env=${6:-}
  local dir="$TOOLS/$tool-$version"
  if have "$dir" "$bin"; then link "$dir" "$bin"; echo "$tool $version: cached ($dir/bin/$bin)"; return; fi
  local t0=$SECONDS
  mkdir -p "$dir/bin"
  (cd "$here/go/$tool" && env $extra_env go build -trimpath -o "$dir/bin/$bin.tmp" -ldflags "$ldflags" "$pkg")
  mv "$dir/bin/$bin.tmp" "$dir/bin/$bin"
  link "$dir" "$bin"
  echo "$tool $version: built in $((SECONDS - t0)) s ($dir/bin/$bin)"
}

build_pulumi() {
  go_wrapper pulumi github.com/pulumi/pulumi/pkg/v3/cmd/pulumi pulumi \
    "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$PULUMI_VERSION" "$PULUMI_VERSION"
}

# The @pulumi/github provider plugin. The pulumi-github module is not served,
# so tools/go/github maps the upstream Terraform provider itself; its schema
# is generated from that mapping (tfgen's `schema` command) and embedded with
# `go build -overlay`, so nothing generated lands in the repository.
# Keyed by the version and a hash of our mapping (tools/go/github), so that a
# change to the bridge options or the mapping is built again (tools/paths.ts
# githubProviderRoot computes the same key).
github_src_hash() {
  (cd "$here/go/github" && cat main.go ghinfo/info.go schemagen/main.go go.mod go.sum) | sha256sum | cut -c1-12
}

build_github() {
  local v=$GITHUB_PROVIDER_VERSION bin=pulumi-resource-github
  local dir="$TOOLS/github-$v-$(github_src_hash)"
  if have "$dir" "$bin"; then link "$dir" "$bin"; echo "github $v: cached ($dir/bin/$bin)"; return; fi
  local t0=$SECONDS src="$here/go/github"
  mkdir -p "$dir/bin" "$dir/schema"
  (cd "$src" && go build -trimpath -o "$dir/schemagen" -ldflags "-X main.version=$v" ./schemagen)
  "$dir/schemagen" schema --out "$dir/schema" --skip-docs --skip-examples >"$dir/schemagen.log" 2>&1 \
    || { cat "$dir/schemagen.log" >&2; echo "github $v: schema generation failed" >&2; return 1; }
  printf '{"Replace":{"%s":"%s"}}\n' "$src/schema.json" "$dir/schema/schema.json" >"$dir/overlay.json"
  (cd "$src" && go build -trimpath -overlay "$dir/overlay.json" -o "$dir/bin/$bin.tmp" -ldflags "-X main.version=$v" .)
  mv "$dir/bin/$bin.tmp" "$dir/bin/$bin"
  link "$dir" "$bin"
  echo "github $v: built in $((SECONDS - t0)) s ($dir/bin/$bin)"
}

build_trivy() {
  # Trivy's release build sets GOEXPERIMENT=jsonv2 (goreleaser.yml); without it
  # encoding/json/v2 has no files.
  go_wrapper trivy github.com/aquasecurity/trivy/cmd/trivy trivy \
    "-X github.com/aquasecurity/trivy/pkg/version/app.ver=$TRIVY_VERSION" "$TRIVY_VERSION" GOEXPERIMENT=jsonv2
}

# cosign signs and attests the pushed digests (pipeline sign) and verifies
# them in the e2e; built without cgo, so no PKCS#11 tokens (keys come from files/env).
build_cosign() {
  go_wrapper cosign github.com/sigstore/cosign/v2/cmd/cosign cosign \
    "-X sigs.k8s.io/release-utils/version.gitVersion=v$COSIGN_VERSION" "$COSIGN_VERSION"
}

# kustomize builds the pin's kustomize Component in the tests.
build_kustomize() {
  go_wrapper kustomize sigs.k8s.io/kustomize/kustomize/v5 kustomize \
    "-X sigs.k8s.io/kustomize/api/provenance.version=v$KUSTOMIZE_VERSION" "$KUSTOMIZE_VERSION"
}

# The Kyverno CLI: the e2e applies the fleet's admission policy with it.
build_kyverno() {
  go_wrapper kyverno github.com/kyverno/kyverno/cmd/cli/kubectl-kyverno kyverno \
    "-X github.com/kyverno/kyverno/pkg/version.BuildVersion=v$KYVERNO_VERSION" "$KYVERNO_VERSION"
}

build_actionlint() {
  go_wrapper actionlint github.com/rhysd/actionlint/cmd/actionlint actionlint \
    "-X github.com/rhysd/actionlint.version=$ACTIONLINT_VERSION" "$ACTIONLINT_VERSION"
}

# zizmor ships on PyPI as a binary wheel (no compiler needed): a venv per
# version, pinned with --only-binary so pip never falls back to a Rust build.
build_zizmor() {
  local dir="$TOOLS/zizmor-$ZIZMOR_VERSION"
  if have "$dir" zizmor; then link "$dir" zizmor; echo "zizmor $ZIZMOR_VERSION: cached ($dir/bin/zizmor)"; return; fi
  local t0=$SECONDS
  rm -rf "$dir"
  python3 -m venv "$dir" || { echo "zizmor: python3 -m venv failed (Debian: apt-get install python3-venv)" >&2; return 1; }
  "$dir/bin/pip" install --quiet --disable-pip-version-check --only-binary :all: "zizmor==$ZIZMOR_VERSION"
  link "$dir" zizmor
  echo "zizmor $ZIZMOR_VERSION: installed in $((SECONDS - t0)) s ($dir/bin/zizmor)"
}

build_trivy_db() {
  # Our own program (tools/go/trivy-db): keyed by Trivy's version and a hash of
  # its source, so that a change to it is built again.
  local src
  src=$(cat "$here/go/trivy-db/main.go" "$here/go/trivy-db/go.mod" | sha256sum | cut -c1-12)
  go_wrapper trivy-db . trivy-db "" "$TRIVY_VERSION-$src"
}

# SUBSTITUTE for Pulumi's Node.js language host, which the module proxy does
# not serve: our own TypeScript (tools/language-host, read its header), bundled
# with the SDK's gRPC stubs, so that the engine scenarios can run the plain CLI
# (`pulumi preview|up` in the project folder). Keyed by the CLI version and a
# hash of its source and of package-lock.json (the SDK it bundles).
build_language_host() {
  local bin=pulumi-language-nodejs key dir root
  root=$(cd "$here/.." && pwd)
  key=$(cat "$here"/language-host/*.ts "$root/package-lock.json" | sha256sum | cut -c1-12)
  dir="$TOOLS/language-host-$PULUMI_VERSION-$key"
  if have "$dir" "$bin"; then link "$dir" "$bin"; echo "language-host $PULUMI_VERSION: cached ($dir/bin/$bin, a substitute)"; return; fi
  local t0=$SECONDS
  mkdir -p "$dir/bin"
  "$root/node_modules/.bin/esbuild" "$here/language-host/start.ts" --bundle --platform=node --target=node22 \
    --define:HOST_VERSION="\"$PULUMI_VERSION\"" --outfile="$dir/$bin.cjs" --log-level=warning
  printf '#!/bin/sh\n# SUBSTITUTE for the released pulumi-language-nodejs: mirror-fleet tools/language-host.\nexec node "%s" "$@"\n' "$dir/$bin.cjs" >"$dir/bin/$bin.tmp"
  chmod +x "$dir/bin/$bin.tmp"
  mv "$dir/bin/$bin.tmp" "$dir/bin/$bin"
  link "$dir" "$bin"
  echo "language-host $PULUMI_VERSION: built in $((SECONDS - t0)) s ($dir/bin/$bin, a substitute for the released host)"
}

main() {
  local want=()
  for a in "$@"; do
    case "$a" in
      -h|--help) usage; exit 0 ;;
      -*) echo "unknown option: $a" >&2; usage >&2; exit 2 ;;
      *) want+=("$a") ;;
    esac
  done
  [ "${#want[@]}" -gt 0 ] || want=("${ALL_TOOLS[@]}")
  for t in "${want[@]}"; do
    if ! declare -F "build_$t" >/dev/null; then echo "unknown tool: $t (known: ${ALL_TOOLS[*]})" >&2; exit 2; fi
  done
  for t in "${want[@]}"; do "build_$t"; done
}

main "$@"
