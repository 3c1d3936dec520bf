/**
 * The committed API cost table (bench/api-budget.ts) against what the real
 * provider does: a small synthetic fleet brought up from empty state by the
 * real engine against the GitHub stand-in, refreshed, and one generated file
 * changed in every mirror; each run's provider requests, counted per GitHub
 * operation from the stand-in's log, must equal what the table predicts for
 * the resources the state holds. When the provider changes (a new version, a
 * new resource type), this fails with the operations that moved.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { ADOPTION_PER_REPOSITORY, BYPASS_CHECK_PER_RUN, CALLS, HEALTH_CHECK_PER_UPSTREAM, OWNER_CHECK_PER_RUN, PER_RUN, predictOps } from "../../bench/api-budget";
import { engineCheck, EngineSession, type RunMeasure } from "../../bench/engine";
import { SYNTHETIC_WEBHOOKS } from "../../bench/synthetic";

/** Mirror 0 notifies Slack (an ActionsSecret), 0 and 1 build an override, 2 upstream's Dockerfile. */
const N = 3;

function plus(...all: Array<Readonly<Record<string, number>>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const ops of all) for (const [k, c] of Object.entries(ops)) out[k] = (out[k] ?? 0) + c;
  return Object.fromEntries(Object.entries(out).sort());
}

const sorted = (ops: Record<string, number>) => Object.fromEntries(Object.entries(ops).sort());

describe("the API cost table in bench/api-budget.ts is what the real provider does", { concurrency: false }, () => {
  let e: EngineSession;
  let resources: Record<string, number>;
  let firstUp: RunMeasure;

  before(async () => {
    e = await EngineSession.start(N, { keepNotify: true });
    await e.setSecret("mirror-fleet:slackWebhookUrl", SYNTHETIC_WEBHOOKS.slack);
  });

  after(async () => {
    await e?.stop();
  });

  test("GIVEN empty state WHEN up THEN the provider's requests per operation are the table's create cost of every resource", async () => {
    const up = await e.run(["up"]);
    firstUp = up;
    resources = await e.resources();
    for (const type of Object.keys(resources).filter((t) => t.startsWith("github:index/"))) {
      assert.ok(CALLS[type], `${type} is declared by the program but has no measured cost in bench/api-budget.ts`);
    }
    assert.ok(resources["github:index/actionsSecret:ActionsSecret"], "the fleet under test has no ActionsSecret: its cost would go unchecked");
    // npm run up: the plan, then the update; two engine runs, each with the program's reads (the refresh of an empty state reads nothing).
    assert.deepEqual(sorted(up.ops), plus(predictOps(resources, "create"), PER_RUN, PER_RUN));
    assert.deepEqual([up.owner, up.adopt, up.health], [2 * OWNER_CHECK_PER_RUN, 2 * ADOPTION_PER_REPOSITORY.missing * (N + 1), 2 * HEALTH_CHECK_PER_UPSTREAM * e.upstreams]);
  });

  test("GIVEN the fleet is up WHEN preview THEN the provider reads nothing but the owner; the program reads as the table says, nothing about repositories the state holds", async () => {
    const preview = await e.run(["preview"]);
    assert.deepEqual(preview.changes, {});
    assert.deepEqual(sorted(preview.ops), sorted({ ...PER_RUN }));
    assert.deepEqual([preview.owner, preview.adopt, preview.health], [OWNER_CHECK_PER_RUN + BYPASS_CHECK_PER_RUN, ADOPTION_PER_REPOSITORY.managed * (N + 1), HEALTH_CHECK_PER_UPSTREAM * e.upstreams]);
  });

  test("GIVEN the fleet is up WHEN preview --refresh THEN the provider's requests are the table's read cost of every resource", async () => {
    const refresh = await e.run(["preview", "--refresh"]);
    assert.deepEqual(refresh.changes, {});
    assert.deepEqual(sorted(refresh.ops), plus(predictOps(resources, "read"), PER_RUN));

    // The check `npm run bench` prints (and exits 1 on) agrees, and names an operation that moved.
    const measure = { n: N, mode: e.mode, upstreams: e.upstreams, droppedNotify: 0, resources, stateBytes: 0, stateWrittenBytes: 0, pipelineStateBytes: 0, firstUp, preview: refresh, refresh };
    assert.equal(engineCheck(measure).ok, true, engineCheck(measure).text);
    const moved = { ...firstUp, ops: { ...firstUp.ops, "GET repos/get": firstUp.ops["GET repos/get"] + 1 } };
    const bad = engineCheck({ ...measure, firstUp: moved });
    assert.equal(bad.ok, false);
    assert.match(bad.text, /first up, GET repos\/get: \d+ measured vs \d+ in the table/);
  });

  test("GIVEN a policy change WHEN up THEN each file commit costs the table's file update", async () => {
    const policy = e.p.read("infra/policy.ts");
    const changed = policy.replace('severities: ["CRITICAL", "HIGH"]', 'severities: ["CRITICAL"]');
    assert.notEqual(changed, policy, "infra/policy.ts no longer has the severities this test changes");
    e.p.write("infra/policy.ts", changed);
    const up = await e.run(["up"]);
    // Mirror 0 sets its own severities (bench/synthetic.ts): the others' config.yml and README.md (which names them) change.
    assert.deepEqual(up.changes, { update: 2 * (N - 1) });
    const file = CALLS["github:index/repositoryFile:RepositoryFile"].update!;
    // The plan, then the update: the provider starts twice.
    assert.deepEqual(sorted(up.ops), plus(...Array.from({ length: 2 * (N - 1) }, () => file), PER_RUN, PER_RUN));
  });
});
