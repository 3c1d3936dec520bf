// The cache the stand-ins of actions/cache and setup-node's `cache:` share
// (test/actions/README.md): a folder per entry under $MIRROR_FLEET_CACHE
// instead of GitHub's cache service, with the service's rules that our
// workflows meet: an entry is found by its exact key and version (the
// version is a hash of the paths, as @actions/cache's getCacheVersion makes
// it), is immutable once saved, and a save with none of the paths present
// saves nothing and warns.
// Sources: https://github.com/actions/cache/blob/v5.0.5/README.md (inputs,
// outputs, "Cache Version"), https://github.com/actions/toolkit/blob/main/packages/cache/src/internal/cacheUtils.ts.
"use strict";
const crypto = require("node:crypto");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");

function storeDir() {
  const dir = process.env.MIRROR_FLEET_CACHE;
  if (!dir) throw new Error("cache stand-in: MIRROR_FLEET_CACHE (the folder holding the cache entries) is not set");
  return dir;
}

/** The paths of a `path:` input: one a line, `~` the home folder, relative ones under the workspace; no globs. */
function parsePaths(text) {
  const lines = text.split("\n").map((l) => l.trim()).filter(Boolean);
  if (lines.length === 0) throw new Error("Input required and not supplied: path");
  for (const l of lines) {
    if (/[*?[\]!]/.test(l)) throw new Error(`cache stand-in: the path ${JSON.stringify(l)} is a glob or an exclusion; only plain paths are implemented`);
  }
  return lines;
}

function resolvePath(p) {
  if (p === "~" || p.startsWith("~/")) return path.join(os.homedir(), p.slice(1));
  return path.resolve(process.env.GITHUB_WORKSPACE || process.cwd(), p);
}

function entryDir(key, paths) {
  const version = crypto.createHash("sha256").update([...paths, "stand-in-folder"].join("|")).digest("hex");
  return path.join(storeDir(), crypto.createHash("sha256").update(`${key}\n${version}`).digest("hex"));
}

/** Restores the entry of exactly `key`; true when there was one. */
function restore(key, paths) {
  const dir = entryDir(key, paths);
  if (!fs.existsSync(path.join(dir, "complete"))) return false;
  paths.forEach((p, i) => {
    const saved = path.join(dir, String(i));
    if (fs.existsSync(saved)) fs.cpSync(saved, resolvePath(p), { recursive: true, force: true, verbatimSymlinks: true });
  });
  return true;
}

/** Saves the paths under `key`; a message saying what happened. */
function save(key, paths) {
  const dir = entryDir(key, paths);
  if (fs.existsSync(path.join(dir, "complete"))) return { warn: `Failed to save: Unable to reserve cache with key ${key}, another job may be creating this cache.` };
  const present = paths.map((p, i) => [resolvePath(p), i]).filter(([abs]) => fs.existsSync(abs));
  if (present.length === 0) return { warn: "Path Validation Error: Path(s) specified in the action for caching do(es) not exist, hence no cache is being saved." };
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  for (const [abs, i] of present) fs.cpSync(abs, path.join(dir, String(i)), { recursive: true, verbatimSymlinks: true });
  fs.writeFileSync(path.join(dir, "complete"), key);
  return { info: `Cache saved with key: ${key}` };
}

/** The runner's file commands (GITHUB_OUTPUT, GITHUB_STATE, GITHUB_PATH): `name=value` lines appended. */
function fileCommand(variable, line) {
  const file = process.env[variable];
  if (!file) throw new Error(`${variable} is not set (not run by an Actions runner?)`);
  fs.appendFileSync(file, `${line}\n`);
}

/** An input as the runner passes it (INPUT_<NAME>, spaces as _, upper case). */
function input(name) {
  return (process.env[`INPUT_${name.replace(/ /g, "_").toUpperCase()}`] || "").trim();
}

/** GitHub's hashFiles(): the SHA-256 of the files' SHA-256 digests, in order. */
function hashFiles(files) {
  const all = crypto.createHash("sha256");
  for (const f of files) all.update(crypto.createHash("sha256").update(fs.readFileSync(f)).digest());
  return all.digest("hex");
}

module.exports = { parsePaths, restore, save, fileCommand, input, hashFiles };
