#!/usr/bin/env bash
# npm run engine:build [-- TOOL...]: builds the real tools the tests put in the
# loop, from their published modules (Go module proxy, PyPI), into a cache
# outside the repository, keyed by version. Idempotent: a tool whose versioned
# folder holds its binary is not built again. Says which tool of how many it
# is on, and every 30 s how far a Go build is (packages compiled of those it
# needs): a cold build takes minutes per tool.
#
#   MIRROR_FLEET_TOOLS  the cache (default: ${XDG_CACHE_HOME:-~/.cache}/mirror-fleet/tools)
#
# Layout: $MIRROR_FLEET_TOOLS/<tool>-<version>/bin/<binary>, and
# $MIRROR_FLEET_TOOLS/bin/<binary> linking to the current version of each, the
# one folder to put on PATH (`bash tools/env.sh` prints it).
#
# Nothing third-party is committed: tools/go/<tool>/ holds our own wrapper
# modules (go.mod, go.sum and, where a tool needs one, a small main).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tools/versions.sh
. "$here/versions.sh"
TOOLS=${MIRROR_FLEET_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/mirror-fleet/tools}
mkdir -p "$TOOLS/bin"
# The Go on PATH builds, unless GOTOOLCHAIN names another (the fleet workflow's
# runner: go1.26.8, which the go command fetches through the module proxy).
export CGO_ENABLED=0 GOFLAGS=-buildvcs=false GOTOOLCHAIN=${GOTOOLCHAIN:-local}
# Which tool of how many this run is on, for every line it prints.
STEP=0 STEPS=0
# Seconds between two progress lines of one Go build.
PROGRESS_EVERY=${MIRROR_FLEET_BUILD_PROGRESS_EVERY:-30}

say() { echo "[$STEP/$STEPS] $*"; }

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

# go_build TOOL SRC PACKAGE OUT LDFLAGS [VAR=VALUE...]: `go build PACKAGE` in the
# module SRC, into OUT. The package count comes from `go list -deps` (which
# also downloads the modules on a cold build); `go build -v` names each package
# it compiles, so the progress line can say how many of them are done.
go_build() {
  local tool=$1 src=$2 pkg=$3 out=$4 ldflags=$5; shift 5
  local log="$out.log" total pid t0=$SECONDS
  say "$tool: downloading modules and listing the packages of $pkg"
  total=$(cd "$src" && env "$@" go list -deps "$pkg" | wc -l)
  say "$tool: compiling $pkg ($total packages, fewer when the Go build cache has some)"
  (cd "$src" && exec env "$@" go build -v -trimpath -o "$out.tmp" -ldflags "$ldflags" "$pkg") 2>"$log" &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    sleep 1
    if [ $(((SECONDS - t0) % PROGRESS_EVERY)) = 0 ] && kill -0 "$pid" 2>/dev/null; then
      say "$tool: $(grep -c . "$log" || true) of $total packages compiled, $((SECONDS - t0)) s"
    fi
  done
  if ! wait "$pid"; then
    tail -n 40 "$log" >&2
    say "$tool: go build $pkg failed (whole log: $log)" >&2
    return 1
  fi
  mv "$out.tmp" "$out"
}

# go_wrapper TOOL PACKAGE BINARY LDFLAGS VERSION [VAR=VALUE...]: go build PACKAGE inside tools/go/TOOL.
go_wrapper() {
  local tool=$1 pkg=$2 bin=$3 ldflags=$4 version=$5; shift 5
  local dir="$TOOLS/$tool-$version"
  if have "$dir" "$bin"; then link "$dir" "$bin"; say "$tool $version: cached ($dir/bin/$bin)"; return; fi
  local t0=$SECONDS
  mkdir -p "$dir/bin"
  go_build "$tool" "$here/go/$tool" "$pkg" "$dir/bin/$bin" "$ldflags" "$@"
  link "$dir" "$bin"
  say "$tool $version: built in $((SECONDS - t0)) s ($dir/bin/$bin)"
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
  if have "$dir" "$bin"; then link "$dir" "$bin"; say "github $v: cached ($dir/bin/$bin)"; return; fi
  local t0=$SECONDS src="$here/go/github"
  mkdir -p "$dir/bin" "$dir/schema"
  go_build github "$src" ./schemagen "$dir/schemagen" "-X main.version=$v"
  say "github: generating the provider schema"
  "$dir/schemagen" schema --out "$dir/schema" --skip-docs --skip-examples >"$dir/schemagen.log" 2>&1 \
    || { cat "$dir/schemagen.log" >&2; echo "github $v: schema generation failed" >&2; return 1; }
  printf '{"Replace":{"%s":"%s"}}\n' "$src/schema.json" "$dir/schema/schema.json" >"$dir/overlay.json"
  go_build github "$src" . "$dir/bin/$bin" "-X main.version=$v" "GOFLAGS=$GOFLAGS -overlay=$dir/overlay.json"
  link "$dir" "$bin"
  say "github $v: built in $((SECONDS - t0)) s ($dir/bin/$bin)"
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

# cosign v3: the release the workflow installs to verify Trivy's release
# (components/workflow/trivy.ts). Its own folder and no link in bin/, where
# `cosign` is the v2 that signs; the e2e's cosign-installer stand-in picks the
# folder of the release a step asks for.
build_cosign_v3() {
  local v=$COSIGN_V3_VERSION dir="$TOOLS/cosign-$COSIGN_V3_VERSION"
  if have "$dir" cosign; then say "cosign $v: cached ($dir/bin/cosign)"; return; fi
  local t0=$SECONDS
  mkdir -p "$dir/bin"
  go_build cosign_v3 "$here/go/cosign-v3" github.com/sigstore/cosign/v3/cmd/cosign "$dir/bin/cosign" "-X sigs.k8s.io/release-utils/version.gitVersion=v$v"
  say "cosign $v: built in $((SECONDS - t0)) s ($dir/bin/cosign)"
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

# act runs the rendered mirror workflow in the e2e, jobs on the host. Its
# version is the VERSION file its main embeds (no ldflag).
build_act() {
  go_wrapper act github.com/nektos/act act "" "$ACT_VERSION"
}

# BuildKit: buildkitd (OCI worker, runc, the native snapshotter in the e2e) and
# buildctl. Release builds add cgo for seccomp; without cgo the daemon runs
# the same way with runc's own defaults.
build_buildkit() {
  local ldflags="-X github.com/moby/buildkit/version.Version=v$BUILDKIT_VERSION -X github.com/moby/buildkit/version.Package=github.com/moby/buildkit"
  go_wrapper buildkit github.com/moby/buildkit/cmd/buildkitd buildkitd "$ldflags" "$BUILDKIT_VERSION"
  go_wrapper buildkit github.com/moby/buildkit/cmd/buildctl buildctl "$ldflags" "$BUILDKIT_VERSION"
}

# buildx as a docker CLI plugin: the binary is named docker-buildx, and the
# docker CLI finds it in $DOCKER_CONFIG/cli-plugins/ (the e2e links it there).
build_buildx() {
  go_wrapper buildx github.com/docker/buildx/cmd/buildx docker-buildx \
    "-X github.com/docker/buildx/version.Version=v$BUILDX_VERSION -X github.com/docker/buildx/version.Package=github.com/docker/buildx" "$BUILDX_VERSION"
}

# The Node.js the mirror workflow asks setup-node for: the e2e's setup-node
# stand-in takes it from here (tools/node.sh: the npm registry's node-linux package).
build_mirror_node() {
  say "node $MIRROR_NODE_VERSION: $(bash "$here/node.sh" "$MIRROR_NODE_VERSION")"
}

# A tool from PyPI: a venv per version, binary wheels only (--only-binary, so
# pip never falls back to a compiler build). pip_tool NAME VERSION REQUIREMENT BIN.
pip_tool() {
  local name=$1 version=$2 requirement=$3 bin=$4
  local dir="$TOOLS/$name-$version"
  if have "$dir" "$bin"; then link "$dir" "$bin"; say "$name $version: cached ($dir/bin/$bin)"; return; fi
  local t0=$SECONDS
  say "$name: pip install $requirement (binary wheels) into a venv"
  rm -rf "$dir"
  python3 -m venv "$dir" || { echo "$name: python3 -m venv failed (Debian: apt-get install python3-venv)" >&2; return 1; }
  "$dir/bin/pip" install --quiet --disable-pip-version-check --only-binary :all: "$requirement"
  link "$dir" "$bin"
  say "$name $version: installed in $((SECONDS - t0)) s ($dir/bin/$bin)"
}

# zizmor ships on PyPI as a binary wheel (no Rust build needed).
build_zizmor() { pip_tool zizmor "$ZIZMOR_VERSION" "zizmor==$ZIZMOR_VERSION" zizmor; }

# moto (PyPI) serves the S3 API on 127.0.0.1 for the fleet workflow's e2e:
# `moto[server]` brings moto_server and its web server.
build_moto() { pip_tool moto "$MOTO_VERSION" "moto[server]==$MOTO_VERSION" moto_server; }

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
  if have "$dir" "$bin"; then link "$dir" "$bin"; say "language-host $PULUMI_VERSION: cached ($dir/bin/$bin, a substitute)"; return; fi
  local t0=$SECONDS
  mkdir -p "$dir/bin"
  "$root/node_modules/.bin/esbuild" "$here/language-host/start.ts" --bundle --platform=node --target=node22 \
    --define:HOST_VERSION="\"$PULUMI_VERSION\"" --outfile="$dir/$bin.cjs" --log-level=warning
  printf '#!/bin/sh\n# SUBSTITUTE for the released pulumi-language-nodejs: mirror-fleet tools/language-host.\nexec node "%s" "$@"\n' "$dir/$bin.cjs" >"$dir/bin/$bin.tmp"
  chmod +x "$dir/bin/$bin.tmp"
  mv "$dir/bin/$bin.tmp" "$dir/bin/$bin"
  link "$dir" "$bin"
  say "language-host $PULUMI_VERSION: built in $((SECONDS - t0)) s ($dir/bin/$bin, a substitute for the released host)"
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
  STEPS=${#want[@]}
  for t in "${want[@]}"; do STEP=$((STEP + 1)); "build_$t"; done
}

main "$@"
