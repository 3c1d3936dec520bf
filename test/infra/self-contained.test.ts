/**
 * A clone alone passes its own tests: every test file runs with
 * test/support/checkout-only.ts loaded, which refuses any read beside the
 * checkout (issue: the tests once read ../shared/testdata, which a clone
 * never has). These cases prove the guard is loaded and refuses.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { test } from "node:test";
import { besideCheckout, CHECKOUT } from "../support/checkout-only";

const BESIDE = path.join(path.dirname(CHECKOUT), "shared", "testdata", "README.md");

test("GIVEN the test runner WHEN a test reads a file beside the checkout THEN it throws, naming the file", { skip: path.dirname(CHECKOUT) === path.parse(CHECKOUT).root }, () => {
  for (const [file, read] of [
    [BESIDE, () => fs.readFileSync(BESIDE)],
    [BESIDE, () => fs.existsSync(BESIDE)],
    [path.dirname(BESIDE), () => fs.readdirSync(path.dirname(BESIDE))],
    [BESIDE, () => fs.statSync(BESIDE)],
  ] as const) {
    assert.throws(read, (e: Error) => e.message.startsWith(`a test read ${file}, outside the checkout ${CHECKOUT}: `));
  }
  return assert.rejects(fs.promises.readFile(BESIDE), /outside the checkout/);
});

test("GIVEN paths in the checkout, the temporary folder and the home folder WHEN checked THEN none is beside the checkout", () => {
  for (const p of [path.join(CHECKOUT, "test", "testdata", "README.md"), CHECKOUT, os.tmpdir(), path.join(os.homedir(), ".cache"), "relative/to/cwd"]) {
    assert.equal(besideCheckout(p), undefined, p);
  }
  assert.equal(besideCheckout(BESIDE), path.dirname(CHECKOUT) === path.parse(CHECKOUT).root ? undefined : BESIDE);
});

test("GIVEN Go's module cache or the tools cache put beside the checkout by the environment WHEN a test reads from it THEN that is allowed; a sibling not named is not", { skip: path.dirname(CHECKOUT) === path.parse(CHECKOUT).root }, () => {
  const sibling = (name: string) => path.join(path.dirname(CHECKOUT), name);
  const probe = `const { besideCheckout } = require(${JSON.stringify(path.join(CHECKOUT, "test", "support", "checkout-only.ts"))});` +
    `console.log(JSON.stringify([${["gomod", "cache", "shared"].map((n) => JSON.stringify(path.join(sibling(n), "x"))).join(", ")}].map((p) => besideCheckout(p) ?? null)));`;
  const { NODE_TEST_CONTEXT: _, ...env } = process.env;
  const r = spawnSync(process.execPath, ["--import", "tsx", "-e", probe], { cwd: CHECKOUT, encoding: "utf8", env: { ...env, GOMODCACHE: sibling("gomod"), XDG_CACHE_HOME: sibling("cache") } });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), [null, null, path.join(sibling("shared"), "x")]);
});

test("GIVEN the copied test data WHEN read THEN every file named in its README is there", () => {
  const readme = fs.readFileSync(path.join(CHECKOUT, "test", "testdata", "README.md"), "utf8");
  const named = [...readme.matchAll(/^- ([\w.-]+\.(?:json|yaml|sarif))/gm)].map((m) => m[1]);
  assert.ok(named.length >= 15, `${named.length} files named`);
  const present = new Set(["trivy", "schemas", "upstream-tags"].flatMap((d) => fs.readdirSync(path.join(CHECKOUT, "test", "testdata", d))));
  assert.deepEqual(named.filter((f) => !present.has(f)), []);
});
