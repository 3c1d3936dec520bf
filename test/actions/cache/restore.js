// actions/cache stand-in, main step: restore (see store.js and action.yml).
"use strict";
const { parsePaths, restore, fileCommand, input } = require("./store");

try {
  for (const name of ["restore-keys", "upload-chunk-size"]) {
    if (input(name)) throw new Error(`cache stand-in: the input ${name} is not implemented`);
  }
  for (const name of ["enableCrossOsArchive", "lookup-only"]) {
    if (input(name) === "true") throw new Error(`cache stand-in: ${name}: true is not implemented`);
  }
  const key = input("key");
  if (!key) throw new Error("Input required and not supplied: key");
  const paths = parsePaths(input("path"));
  const hit = restore(key, paths);
  if (!hit && input("fail-on-cache-miss") === "true") throw new Error(`Failed to restore cache entry. Exiting as fail-on-cache-miss is set. Input key: ${key}`);
  console.log(hit ? `Cache restored from key: ${key}` : `Cache not found for input keys: ${key}`);
  fileCommand("GITHUB_OUTPUT", `cache-hit=${hit}`);
  // What the post step needs (the real action keeps the same two in its state).
  fileCommand("GITHUB_STATE", `CACHE_KEY=${key}`);
  fileCommand("GITHUB_STATE", `CACHE_RESULT=${hit ? key : ""}`);
} catch (e) {
  console.log(`::error::${e.message}`);
  process.exitCode = 1;
}
