#!/usr/bin/env bash
# actions/checkout's documented behaviour for these inputs (its README and
# src/git-source-provider.ts): the workflow's own repository at the event's
# commit, else the given ref; the token as an http.extraheader for the fetch
# only unless persist-credentials is true.
set -euo pipefail
dest="$GITHUB_WORKSPACE${INPUT_PATH:+/$INPUT_PATH}"
url="$GITHUB_SERVER_URL/$INPUT_REPOSITORY"
if [ -z "$INPUT_REF" ] && [ "$INPUT_REPOSITORY" = "$GITHUB_REPOSITORY" ]; then
  sha="$GITHUB_SHA"
  ref="$GITHUB_REF"
else
  sha=""
  ref="${INPUT_REF:-refs/heads/main}"
fi
branch="${ref#refs/heads/}"
header="AUTHORIZATION: basic $(printf 'x-access-token:%s' "$INPUT_TOKEN" | base64 -w0)"
mkdir -p "$dest"
cd "$dest"
if [ -d .git ] && [ "$(git config --get remote.origin.url || true)" = "$url" ]; then
  if [ "$INPUT_CLEAN" = "true" ]; then
    git clean -ffdx
    git reset --hard --quiet HEAD
  fi
else
  # Not a clone of this repository: checkout empties the folder first.
  find . -mindepth 1 -maxdepth 1 -exec rm -rf {} +
  git init --quiet
  git remote add origin "$url"
fi
depth=()
if [ "$INPUT_FETCH_DEPTH" != "0" ]; then depth=(--depth="$INPUT_FETCH_DEPTH"); fi
if [ -n "$sha" ]; then
  git -c "http.extraheader=$header" fetch --quiet --no-tags --prune --no-recurse-submodules "${depth[@]}" origin "+$sha:refs/remotes/origin/$branch"
  git -c advice.detachedHead=false checkout --quiet --force -B "$branch" "refs/remotes/origin/$branch"
else
  git -c "http.extraheader=$header" fetch --quiet --no-tags --prune --no-recurse-submodules "${depth[@]}" origin "+$ref:refs/remotes/origin/$branch"
  git -c advice.detachedHead=false checkout --quiet --force -B "$branch" "refs/remotes/origin/$branch"
fi
if [ "$INPUT_PERSIST_CREDENTIALS" = "true" ]; then
  git config --local "http.$GITHUB_SERVER_URL/.extraheader" "$header"
fi
echo "checkout (stand-in): $url at $(git rev-parse HEAD) into $dest"
