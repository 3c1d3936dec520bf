// setup-node stand-in, main step (see action.yml).
"use strict";
const { execFileSync } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");
const { restore, fileCommand, input, hashFiles } = require(path.join(process.env.MIRROR_FLEET_ROOT || "", "test/actions/cache/store.js"));

try {
  const spec = input("node-version");
  const tools = process.env.MIRROR_FLEET_TOOLS || "";
  // Version specs our workflows pass: a major ("22", "22.x") or an exact version.
  let want;
  let m;
  if ((m = /^(\d+)(\.x)?$/.exec(spec))) want = (v) => v.split(".")[0] === m[1];
  else if (/^\d+\.\d+\.\d+$/.test(spec)) want = (v) => v === spec;
  else throw new Error(`setup-node stand-in: node-version '${spec}' is not a spec it resolves (a major or an exact version)`);
  const versions = fs.readdirSync(tools).filter((d) => /^node-\d+\.\d+\.\d+$/.test(d)).map((d) => d.slice(5)).filter(want);
  versions.sort((a, b) => { const x = a.split(".").map(Number); const y = b.split(".").map(Number); return x[0] - y[0] || x[1] - y[1] || x[2] - y[2]; });
  const found = versions.at(-1);
  const arch = process.arch === "x64" ? "x64" : "arm64";
  const bin = found && path.join(tools, `node-${found}`, "node_modules", `node-linux-${arch}`, "bin");
  if (!bin || !fs.existsSync(path.join(bin, "node"))) throw new Error(`setup-node stand-in: no Node.js ${spec} in ${tools} (bash tools/node.sh installs it)`);
  fileCommand("GITHUB_PATH", bin);
  const version = execFileSync(path.join(bin, "node"), ["--version"], { encoding: "utf8" }).trim();
  fileCommand("GITHUB_OUTPUT", `node-version=${version}`);
  console.log(`setup-node (stand-in): Node.js ${version} from ${bin}`);

  const cache = input("cache");
  if (cache && cache !== "npm") throw new Error(`setup-node stand-in: cache: ${cache} is not implemented (npm is)`);
  if (cache === "npm") {
    // The real action: the lock file at the workspace root unless cache-dependency-path names one, and the key
    // node-cache-<platform>-<arch>-npm-<hashFiles(lock file)> over the folder `npm config get cache` names
    // (actions/setup-node src/cache-restore.ts, src/cache-utils.ts).
    const workspace = process.env.GITHUB_WORKSPACE || process.cwd();
    const depPath = input("cache-dependency-path");
    if (depPath && /[*?[\]\n]/.test(depPath)) throw new Error("setup-node stand-in: cache-dependency-path: globs and several files are not implemented");
    const lock = depPath ? path.resolve(workspace, depPath) : ["package-lock.json", "npm-shrinkwrap.json"].map((f) => path.join(workspace, f)).find((f) => fs.existsSync(f));
    if (!lock || !fs.existsSync(lock)) throw new Error("Dependencies lock file is not found in " + workspace + ". Supported file patterns: package-lock.json,npm-shrinkwrap.json,yarn.lock");
    const key = `node-cache-${process.platform}-${process.arch}-npm-${hashFiles([lock])}`;
    const npmCache = execFileSync("npm", ["config", "get", "cache"], { encoding: "utf8", env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } }).trim();
    const hit = restore(key, [npmCache]);
    console.log(hit ? `Cache restored from key: ${key}` : `npm cache is not found (key ${key})`);
    fileCommand("GITHUB_OUTPUT", `cache-hit=${hit}`);
    fileCommand("GITHUB_STATE", `CACHE_KEY=${key}`);
    fileCommand("GITHUB_STATE", `CACHE_RESULT=${hit ? key : ""}`);
    fileCommand("GITHUB_STATE", `CACHE_PATH=${npmCache}`);
  }
} catch (e) {
  console.log(`::error::${e.message}`);
  process.exitCode = 1;
}
