/**
 * A mirror's committed workflow calls its shape's shared workflow in the
 * pipeline repository (issue 21). What every other workflow test checks is
 * the effective workflow (mirrorWorkflow: the two as one); this proves the
 * committed pair is exactly that, for every mirror the tests render: the
 * shared workflow's jobs, with the caller's `with:` values where they read
 * `inputs.*`, are the effective jobs, and the caller's run kind picks the
 * chain each schedule starts. Also: mirrors that differ only in values share
 * one file, the caller passes exactly the inputs declared and grants no scope
 * a called job does not ask for.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, test } from "node:test";
import { parse } from "yaml";
import type { ResolvedMirror } from "../../components/types";
import { renderEffectiveWorkflow, renderSharedWorkflow, renderWorkflow, sharedWorkflowFile, sharedWorkflowFiles } from "../../components/workflow";
import { evaluate } from "../../components/workflow/analyze";
import { allMirrors } from "./all-mirrors";
import { fixtureMirror, pinFor, PIPELINE, SHARED_COMMIT } from "./fixtures";

type Obj = Record<string, unknown>;
type Given = Record<string, string | boolean>;

/** The caller's inputs in the shared jobs, and the caller's run kinds back into the schedules they stand for. */
function substitute(value: unknown, given: Obj, runs: Record<string, string>): unknown {
  if (typeof value === "string") {
    const whole = /^\$\{\{ inputs\.([a-z0-9_]+) \}\}$/.exec(value);
    if (whole && whole[1] in given && !["run", "tag", "force"].includes(whole[1])) return given[whole[1]];
    let out = value;
    for (const [from, to] of Object.entries(runs)) out = out.split(from).join(to);
    return out;
  }
  if (Array.isArray(value)) return value.map((v) => substitute(v, given, runs));
  if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substitute(v, given, runs)]));
  return value;
}

function schedule(cron: string): string {
  return `github.event_name == 'schedule' && github.event.schedule == '${cron}'`;
}

function pair(m: ResolvedMirror) {
  const caller = parse(renderWorkflow(m, pinFor(m))) as Obj;
  const shared = parse(renderSharedWorkflow(m, PIPELINE)) as Obj;
  const effective = parse(renderEffectiveWorkflow(m, PIPELINE)) as Obj;
  const call = (caller.jobs as Record<string, Obj>).mirror;
  return { caller, shared, effective, call };
}

describe("the committed pair is the effective workflow (issue 21)", () => {
  for (const { label, mirror: m } of allMirrors()) {
    test(`GIVEN ${label} WHEN the shared jobs get the caller's values THEN they are the effective workflow's jobs`, () => {
      const { caller, shared, effective, call } = pair(m);
      const runs = {
        "github.event_name == 'schedule' && inputs.run == 'build'": schedule(m.cron.build),
        "inputs.run == 'rescan'": schedule(m.cron.rescan),
        "inputs.run == 'health'": schedule(m.cron.health),
      };
      assert.deepEqual(substitute(shared.jobs, call.with as Obj, runs), effective.jobs);
      // Triggers and concurrency are the caller's, as the effective workflow's.
      assert.deepEqual(caller.on, effective.on);
      assert.deepEqual(caller.concurrency, effective.concurrency);
      const file = `.github/workflows/${sharedWorkflowFile(m, PIPELINE.repository)}`;
      assert.equal(call.uses, `${PIPELINE.repository}/${file}@${SHARED_COMMIT}`);
      // The header names the called file and its sha256: what `git show <commit>:<file> | sha256sum` prints.
      const sha = createHash("sha256").update(renderSharedWorkflow(m, PIPELINE)).digest("hex");
      assert.ok(renderWorkflow(m, pinFor(m)).includes(`# It calls ${file} of ${PIPELINE.repository} at the commit below; that file's sha256 is ${sha}.\n`));
    });

    test(`GIVEN ${label} WHEN each of its schedules, a dispatch and a push fire THEN the caller passes the run kind of that chain, and the dispatch's tag and force`, () => {
      const { call } = pair(m);
      const withs = call.with as Obj;
      const kind = (event: string, sched: string | null, inputs: Given) =>
        evaluate(String(withs.run), {
          lookup: (p) => (p.join(".") === "github.event.schedule" ? sched : p.join(".") === "github.event_name" ? event : p[0] === "inputs" ? (inputs[p[1]] ?? null) : null),
          call: () => null,
        });
      assert.equal(kind("schedule", m.cron.build, {}), "build");
      assert.equal(kind("schedule", m.cron.rescan, {}), "rescan");
      assert.equal(kind("schedule", m.cron.health, {}), "health");
      assert.equal(kind("workflow_dispatch", null, { tag: "v1", force: true }), "build");
      assert.equal(kind("push", null, {}), "build");
      const scope = (inputs: Given) => ({ lookup: (p: readonly string[]) => (p[0] === "inputs" ? (inputs[p[1]] ?? null) : null), call: () => null });
      assert.equal(evaluate(String(withs.force), scope({ force: true })), true);
      assert.equal(evaluate(String(withs.force), scope({})), false, "a schedule's force is false, never null (a boolean input)");
      assert.equal(evaluate(String(withs.tag), scope({})), "");
      assert.equal(evaluate(String(withs.tag), scope({ tag: "v1.2.3" })), "v1.2.3");
    });

    test(`GIVEN ${label} WHEN the caller and the shared workflow are read THEN the caller passes exactly the declared inputs, of their types, grants only scopes a called job asks for, and inherits the secrets`, () => {
      const { shared, call } = pair(m);
      const declared = ((shared.on as Obj).workflow_call as Obj).inputs as Record<string, { type: string; required: boolean }>;
      const withs = call.with as Obj;
      assert.deepEqual(Object.keys(withs).sort(), Object.keys(declared).sort());
      for (const [name, d] of Object.entries(declared)) {
        const v = withs[name];
        const isExpr = typeof v === "string" && v.startsWith("${{");
        if (!isExpr) assert.equal(typeof v, d.type === "number" ? "number" : d.type === "boolean" ? "boolean" : "string", `${name}: ${JSON.stringify(v)} for a ${d.type} input`);
      }
      const asked = new Map<string, string>();
      for (const j of Object.values(shared.jobs as Record<string, Obj>)) {
        for (const [scope, level] of Object.entries(j.permissions as Record<string, string>)) if (asked.get(scope) !== "write") asked.set(scope, level);
      }
      assert.deepEqual(call.permissions, Object.fromEntries([...asked].sort(([a], [b]) => (a < b ? -1 : 1))));
      assert.equal(call.secrets, "inherit");
      // Every secret a called job reads is declared, for readers and linters.
      const read = new Set([...renderSharedWorkflow(m, PIPELINE).matchAll(/secrets\.([A-Z_]+)/g)].map((x) => x[1]));
      const secrets = Object.keys((((shared.on as Obj).workflow_call as Obj).secrets as Obj | undefined) ?? {});
      assert.deepEqual([...read].sort(), secrets.sort());
    });
  }
});

describe("one shared workflow per shape", () => {
  test("GIVEN two mirrors that differ only in values (name, upstream, image, schedules, watch, context, retention) WHEN rendered THEN they share one shared workflow; a second platform makes another", () => {
    const a = fixtureMirror("plik");
    const b: ResolvedMirror = {
      ...a,
      name: "other",
      repo: "mirror-other",
      sourceFile: "mirrors/other.ts",
      image: "ghcr.io/acme-corp/other",
      upstream: { ...a.upstream, fullName: "someone/other", url: "https://github.com/someone/other" },
      cron: { build: "1 1 * * *", rescan: "1 13 * * *", health: "1 1 * * 3" },
      watch: ["Containerfile"],
      build: { ...a.build, context: "./sub", dockerfile: "sub/Containerfile" },
      artifactRetentionDays: 7,
    };
    assert.equal(sharedWorkflowFile(b, PIPELINE.repository), sharedWorkflowFile(a, PIPELINE.repository));
    assert.equal(sharedWorkflowFiles([a, b], PIPELINE).size, 1);
    assert.notEqual(renderWorkflow(a, pinFor(a)), renderWorkflow(b, pinFor(b)));
    const c: ResolvedMirror = { ...a, build: { ...a.build, platforms: ["linux/amd64", "linux/arm64"] } };
    assert.notEqual(sharedWorkflowFile(c, PIPELINE.repository), sharedWorkflowFile(a, PIPELINE.repository));
    assert.equal(sharedWorkflowFiles([a, b, c], PIPELINE).size, 2);
  });

  test("GIVEN a pipeline change (another action commit) WHEN the shared workflow is named THEN the name stays and only the commit it names moves", () => {
    const m = fixtureMirror("gokapi");
    const moved = { ...PIPELINE, commit: "1".repeat(40) };
    assert.equal(sharedWorkflowFile(m, moved.repository), sharedWorkflowFile(m, PIPELINE.repository));
    assert.notEqual(renderSharedWorkflow(m, moved), renderSharedWorkflow(m, PIPELINE));
    assert.ok(renderSharedWorkflow(m, moved).includes(`uses: ${PIPELINE.repository}@${"1".repeat(40)}\n`));
  });

  test("GIVEN the stack's commits without this mirror's shared workflow WHEN its workflow is rendered THEN it throws, naming the entry and the file", () => {
    const m = fixtureMirror("gokapi");
    assert.throws(() => renderWorkflow(m, { ...PIPELINE, workflows: {} }), /^Error: mirrors\/gokapi\.ts: the pipeline repository has no shared workflow mirror-[0-9a-f]{12}\.yml/);
  });
});
