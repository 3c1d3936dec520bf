/**
 * The budget checks `npm run bench` prints and exits 1 on (bench/fleet.ts
 * budgetChecks): the first-up growth check says when the engine ran under a
 * mode other than the bench's default (a pause after each write, no
 * checkpoints, the state uncompressed, or the pipeline bundle stubbed), and
 * the state checks when the bundle was stubbed, so a PASS measured that way
 * is not read as the default's.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { DEFAULT_ENGINE_MODE, type EngineMeasure, type EngineMode } from "../../bench/engine";
import { budgetChecks } from "../../bench/fleet";

function engineRow(n: number, perMirrorS: number, mode: EngineMode): EngineMeasure {
  const run = { ms: n * perMirrorS * 1000, changes: {}, requests: 0, writes: 0, owner: 0, adopt: 0, health: 0, ops: {}, byType: {} };
  return { n, mode, upstreams: 1, droppedNotify: 0, resources: {}, stateBytes: n * 70 * 1024, stateWrittenBytes: n * 7 * 1024, pipelineStateBytes: 0, firstUp: run, preview: run, refresh: run };
}

function growthCheck(mode: EngineMode, perMirrorAt100: number) {
  const checks = budgetChecks([], [engineRow(10, 2, mode), engineRow(100, perMirrorAt100, mode)]);
  return checks.find((c) => c.name.startsWith("first up wall per mirror"))!;
}

test("GIVEN the default mode WHEN the first up per mirror at 100 is 2.5x that at 10 THEN the check fails, its name naming no mode", () => {
  const c = growthCheck(DEFAULT_ENGINE_MODE, 5);
  assert.deepEqual([c.name, c.value, c.ok], ["first up wall per mirror, 100 over 10 mirrors", 2.5, false]);
});

test("GIVEN a 250 ms pause after each write, no checkpoints, or the state uncompressed, WHEN the check passes THEN its name says under which mode", () => {
  assert.equal(growthCheck({ ...DEFAULT_ENGINE_MODE, writeDelayMs: 250 }, 2).name, "first up wall per mirror, 100 over 10 mirrors (the provider pausing 250 ms after each write)");
  const skipped = growthCheck({ ...DEFAULT_ENGINE_MODE, skipCheckpoints: true }, 1);
  assert.deepEqual([skipped.name, skipped.ok], ["first up wall per mirror, 100 over 10 mirrors (PULUMI_SKIP_CHECKPOINTS)", true]);
  assert.equal(growthCheck({ ...DEFAULT_ENGINE_MODE, uncompressedState: true }, 2).name, "first up wall per mirror, 100 over 10 mirrors (the state written uncompressed)");
});

test("GIVEN a state of 70 KiB a mirror as JSON and 7 KiB as written WHEN checked THEN the budget reads the JSON, what the engine serialises after every step", () => {
  const state = budgetChecks([], [engineRow(10, 2, DEFAULT_ENGINE_MODE)]).find((c) => c.name === "real-engine state per mirror at 10 mirrors")!;
  assert.deepEqual([state.value, state.ok], [70 * 1024, false]);
});

test("GIVEN the pipeline bundle stubbed WHEN checked THEN the state checks and the growth check say so: neither is the program's state", () => {
  const mode = { ...DEFAULT_ENGINE_MODE, stubPipeline: true };
  const names = budgetChecks([], [engineRow(10, 2, mode), engineRow(100, 2, mode)]).map((c) => c.name);
  assert.ok(names.includes("real-engine state per mirror at 10 mirrors (the pipeline bundle stubbed)"), names.join("\n"));
  assert.ok(names.includes("first up wall per mirror, 100 over 10 mirrors (the pipeline bundle stubbed)"), names.join("\n"));
  assert.ok(!names.includes("real-engine state per mirror at 10 mirrors"), names.join("\n"));
});
