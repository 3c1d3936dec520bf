/**
 * The fleet workflow's `test` job runs `npm test`, whose tests run real tools
 * that `npm run engine:build` builds (test/support/tools.ts: a missing one
 * fails its test). The job must build exactly those before it tests: here,
 * the tools the test files ask for are read from the files themselves.
 * (Not in test/fleet-ci: the fleet e2e keeps only those tests, and this one
 * reads all the others.)
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import { parse } from "yaml";
import { renderFleetWorkflow, TEST_TOOLS } from "../../components/fleet-workflow";

const ROOT = path.resolve(__dirname, "..", "..");

test("GIVEN the tests npm test runs WHEN their toolPath calls are read THEN the fleet workflow's test job builds exactly those tools, before it tests", () => {
  const files = fs
    .readdirSync(path.join(ROOT, "test"), { recursive: true, encoding: "utf8" })
    .map((f) => f.split(path.sep).join("/"))
    .filter((f) => f.endsWith(".ts") && !f.startsWith("engine/") && !f.startsWith("e2e/") && !f.startsWith("fixtures/"));
  const asked = new Set<string>();
  for (const f of files) {
    // toolPath(binary) or toolPath(binary, tool): the build script's tool is the second when given.
    for (const m of fs.readFileSync(path.join(ROOT, "test", f), "utf8").matchAll(/toolPath\("([a-z0-9_-]+)"(?:,\s*"([a-z0-9_-]+)")?\)/g)) asked.add(m[2] ?? m[1]);
  }
  assert.ok(asked.has("actionlint") && asked.has("kyverno"), `the search is live: ${[...asked].join(", ")}`);
  assert.deepEqual([...asked].sort(), [...TEST_TOOLS].sort());
  const steps = (parse(renderFleetWorkflow()) as { jobs: { test: { steps: Array<{ name: string; run?: string }> } } }).jobs.test.steps;
  const build = steps.findIndex((s) => s.run === `npm run engine:build -- ${TEST_TOOLS.join(" ")}`);
  assert.ok(build >= 0, "the test job builds the tools");
  assert.ok(build < steps.findIndex((s) => s.run === "npm test"), "the tools are built before npm test");
});
