/**
 * A clean `npm ci` prints no install-scripts warning: every package in the
 * lock file that has an install script is decided in package.json's
 * allowScripts (npm 11). Why each is denied:
 *  - @pulumi/docker-build: runs `pulumi plugin install` (a download from
 *    GitHub at install time); the engine installs the plugin when a preview
 *    first needs it.
 *  - esbuild: checks its native binary and downloads it only when the
 *    optional platform package is missing; the lock file installs that package.
 *  - protobufjs: prints a version-scheme notice, nothing else.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";

const ROOT = path.resolve(__dirname, "../..");
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { allowScripts?: Record<string, boolean> };
const lock = JSON.parse(fs.readFileSync(path.join(ROOT, "package-lock.json"), "utf8")) as {
  packages: Record<string, { version?: string; hasInstallScript?: boolean }>;
};

test("GIVEN package-lock.json WHEN a package has an install script THEN allowScripts decides it, by name or name@version", () => {
  const withScripts = Object.entries(lock.packages)
    .filter(([p, e]) => p !== "" && e.hasInstallScript)
    .map(([p, e]) => ({ name: p.slice(p.lastIndexOf("node_modules/") + "node_modules/".length), version: e.version }));
  assert.ok(withScripts.length > 0, "the lock file lists no install script: check the hasInstallScript field still exists");
  const allow = pkg.allowScripts ?? {};
  const undecided = withScripts.filter((s) => !(s.name in allow) && !(`${s.name}@${s.version}` in allow));
  assert.deepEqual(undecided, [], "add each to allowScripts in package.json (npm install-scripts ls lists them)");
});

test("GIVEN allowScripts WHEN read THEN every entry is a package in the lock file with an install script (no stale entry)", () => {
  const names = new Set(
    Object.entries(lock.packages)
      .filter(([, e]) => e.hasInstallScript)
      .map(([p]) => p.slice(p.lastIndexOf("node_modules/") + "node_modules/".length)),
  );
  for (const key of Object.keys(pkg.allowScripts ?? {})) {
    const name = key.replace(/(?<=.)@[^@/]+$/, "");
    assert.ok(names.has(name), `allowScripts: ${key} has no install script in package-lock.json (remove it)`);
  }
});
