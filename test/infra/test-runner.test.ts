/**
 * `npm test` and `npm run test:engine` fail when a suite breaks while it is
 * set up. Node.js 22's runner alone exits 0 when a `describe` callback
 * throws (its tests are never registered), so package.json adds
 * test/support/strict-reporter.mjs to both; these cases run the runner
 * with each script's own reporter flags on a suite that throws.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, test } from "node:test";
import { CHECKOUT } from "../support/checkout-only";

const scripts = (JSON.parse(fs.readFileSync(path.join(CHECKOUT, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mirror-fleet-runner-"));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

const BROKEN = path.join(dir, "broken.test.mjs");
fs.writeFileSync(BROKEN, 'import { describe, test } from "node:test";\ndescribe("a suite whose setup throws", () => { throw new Error("no schema"); });\ntest("a passing test", () => {});\n');
const FINE = path.join(dir, "fine.test.mjs");
fs.writeFileSync(FINE, 'import { test } from "node:test";\ntest("a passing test", () => {});\n');

/** The script's `--test-reporter…` flags, in order. */
function reporterFlags(script: string): string[] {
  return script.split(/\s+/).filter((w) => w.startsWith("--test-reporter"));
}

function runner(flags: readonly string[], file: string) {
  // NODE_TEST_CONTEXT unset: with it, the child runner thinks it is nested and runs nothing.
  const { NODE_TEST_CONTEXT: _, ...env } = process.env;
  return spawnSync(process.execPath, ["--test", ...flags, file], { cwd: CHECKOUT, env, encoding: "utf8" });
}

test("GIVEN a suite whose describe throws WHEN Node's runner runs it with spec alone THEN it exits 0 (why the strict reporter exists)", () => {
  assert.equal(runner(["--test-reporter=spec"], BROKEN).status, 0);
});

for (const name of ["test", "test:engine"]) {
  test(`GIVEN npm run ${name}'s reporters WHEN a suite's describe throws THEN exit 1, naming the suite on stderr; a passing file still exits 0`, () => {
    const flags = reporterFlags(scripts[name]);
    assert.ok(flags.includes("--test-reporter=./test/support/strict-reporter.mjs"), `${name}: ${flags.join(" ")}`);
    const broken = runner(flags, BROKEN);
    assert.equal(broken.status, 1, broken.stderr);
    assert.match(broken.stderr, /^strict-reporter: suite failed: a suite whose setup throws \(.*broken\.test\.mjs\)$/m);
    const fine = runner(flags, FINE);
    assert.equal(fine.status, 0, fine.stderr);
    assert.equal(fine.stderr, "");
    assert.match(fine.stdout, /✔ a passing test/);
  });
}
