#!/usr/bin/env bash
set -euo pipefail
store="$MIRROR_FLEET_ARTIFACTS/$GITHUB_RUN_ID/$NAME"
if [ -e "$store" ]; then
  if [ "$OVERWRITE" != "true" ]; then
    echo "::error::Failed to CreateArtifact: an artifact with this name already exists on the workflow run ($NAME)"
    exit 1
  fi
  rm -rf "$store"
fi
tmp="$(mktemp -d)"
count=0
while IFS= read -r p; do
  [ -n "$p" ] || continue
  src="$GITHUB_WORKSPACE/$p"
  if [ -d "$src" ]; then
    # A folder: its contents at the artifact's root.
    (cd "$src" && find . -type f -printf '%P\n') | while IFS= read -r f; do
      if [ "$HIDDEN" != "true" ] && [[ "/$f" == */.* ]]; then continue; fi
      mkdir -p "$tmp/$(dirname "$f")"
      cp -p "$src/$f" "$tmp/$f"
    done
  elif [ -f "$src" ]; then
    cp -p "$src" "$tmp/$(basename "$src")"
  fi
done <<< "$PATHS"
count="$(find "$tmp" -type f | wc -l)"
if [ "$count" -eq 0 ]; then
  rm -rf "$tmp"
  msg="No files were found with the provided path: $PATHS. No artifacts will be uploaded."
  case "$IF_NO_FILES" in
    error) echo "::error::$msg"; exit 1 ;;
    warn) echo "::warning::$msg"; exit 0 ;;
    *) echo "$msg"; exit 0 ;;
  esac
fi
mkdir -p "$(dirname "$store")"
mv "$tmp" "$store"
printf '{"name":"%s","retention_days":%s,"files":%s}\n' "$NAME" "${RETENTION:-0}" "$count" > "$store.json"
echo "artifact-id=$(cksum <<< "$GITHUB_RUN_ID/$NAME" | cut -d' ' -f1)" >> "$GITHUB_OUTPUT"
echo "upload-artifact (stand-in): $NAME: $count file(s) from $PATHS"
