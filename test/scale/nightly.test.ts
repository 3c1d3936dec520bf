/**
 * What one night costs per mirror, at fleet scale:
 * - the schedule spread: 500 mirrors never start in the same minute unless the
 *   window is smaller than the fleet, and then the program warns;
 * - a no-op night (no new tag) ends in the resolve job: no build job starts.
 *   Checked by evaluating every job's `if:` over the parsed workflow, with
 *   GitHub's rules for skipped dependencies;
 * - the Trivy DB is cached once per repository and day, shared by the build
 *   and the rescan.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parse } from "yaml";
import { resolveFleet } from "../../components/spec";
import type { ResolvedMirror } from "../../components/types";
import { renderEffectiveWorkflow } from "../../components/workflow";
import { policy } from "../../infra/policy";
import { syntheticEntries, syntheticReadFile, SYNTHETIC_SETTINGS } from "../../bench/synthetic";
import { propertyMirrors } from "../support/user-fleet";
import { PIPELINE } from "../workflow/fixtures";

const TODAY = new Date("2026-11-23T00:00:00Z");

describe("schedule spread over a 500-mirror fleet", () => {
  const entries = syntheticEntries(500, TODAY);
  const buildMinute = (m: ResolvedMirror) => {
    const [minute, hour] = m.cron.build.split(" ").map(Number);
    return hour * 60 + minute;
  };

  test("GIVEN a window of 9 hours (540 minutes) WHEN resolved THEN no two mirrors start their build or rescan in the same minute", () => {
    const wide = { ...policy, schedule: { startHour: 0, hours: 9 } };
    const { mirrors, warnings } = resolveFleet(entries, { policy: wide, settings: SYNTHETIC_SETTINGS, readFile: syntheticReadFile, today: TODAY });
    assert.equal(mirrors.length, 500);
    assert.equal(new Set(mirrors.map((m) => m.cron.build)).size, 500);
    assert.equal(new Set(mirrors.map((m) => m.cron.rescan)).size, 500);
    assert.ok(mirrors.every((m) => buildMinute(m) < 9 * 60), "every build inside the window");
    assert.deepEqual(warnings.filter((w) => w.startsWith("schedule:")), []);
  });

  test("GIVEN the default 4-hour window (240 minutes) WHEN 500 mirrors are resolved THEN it warns, and still uses every minute", () => {
    const { mirrors, warnings } = resolveFleet(entries, { policy, settings: SYNTHETIC_SETTINGS, readFile: syntheticReadFile, today: TODAY });
    assert.deepEqual(warnings.filter((w) => w.startsWith("schedule:")), [
      "schedule: 500 mirrors share a 240-minute window, so some start in the same minute; widen policy.schedule.hours",
    ]);
    const minutes = mirrors.map(buildMinute);
    assert.ok(minutes.every((x) => x >= 60 && x < 300), "inside 01:00-05:00");
    // Crowded: at most a few per minute, not a pile-up at one minute.
    const perMinute = new Map<number, number>();
    for (const x of minutes) perMinute.set(x, (perMinute.get(x) ?? 0) + 1);
    assert.ok(Math.max(...perMinute.values()) <= 8, `at most 8 in one minute, got ${Math.max(...perMinute.values())}`);
  });

  test("GIVEN exactly as many mirrors as minutes WHEN resolved THEN every minute has one mirror and nothing warns", () => {
    const one = { ...policy, schedule: { startHour: 22, hours: 1 } };
    const { mirrors, warnings } = resolveFleet(syntheticEntries(60, TODAY), { policy: one, settings: SYNTHETIC_SETTINGS, readFile: syntheticReadFile, today: TODAY });
    assert.equal(new Set(mirrors.map((m) => m.cron.build)).size, 60);
    assert.deepEqual(warnings.filter((w) => w.startsWith("schedule:")), []);
  });
});

// ---------------------------------------------------------------- GitHub expressions, enough for `if:`

type Ctx = { lookup(path: string): string; status(fn: string): boolean };

/** Evaluates the subset of GitHub's expression language the workflows use: literals, paths, == != ! && || ( ) and status functions. */
function evaluate(source: string, ctx: Ctx): boolean | string {
  const tokens = source.match(/'(?:[^']|'')*'|&&|\|\||==|!=|[()!]|[A-Za-z_][A-Za-z0-9_.-]*(?:\(\))?|\d+/g) ?? [];
  let i = 0;
  const peek = () => tokens[i];
  const next = () => tokens[i++];
  const truthy = (v: boolean | string) => (typeof v === "boolean" ? v : v !== "");
  const str = (v: boolean | string) => (typeof v === "boolean" ? String(v) : v).toLowerCase();
  const primary = (): boolean | string => {
    const t = next();
    if (t === "(") {
      const v = or();
      assert.equal(next(), ")", `unbalanced parentheses in ${source}`);
      return v;
    }
    if (t === undefined) throw new Error(`unexpected end of ${source}`);
    if (t.startsWith("'")) return t.slice(1, -1).replace(/''/g, "'");
    if (t === "true" || t === "false") return t === "true";
    if (t.endsWith("()")) return ctx.status(t.slice(0, -2));
    return ctx.lookup(t);
  };
  const cmp = (): boolean | string => {
    const left = primary();
    if (peek() === "==" || peek() === "!=") {
      const op = next();
      const right = primary();
      return op === "==" ? str(left) === str(right) : str(left) !== str(right);
    }
    return left;
  };
  const unary = (): boolean | string => (peek() === "!" ? (next(), !truthy(unary())) : cmp());
  const and = (): boolean | string => {
    let v = unary();
    while (peek() === "&&") {
      next();
      const r = unary();
      v = truthy(v) ? r : v;
    }
    return v;
  };
  const or = (): boolean | string => {
    let v = and();
    while (peek() === "||") {
      next();
      const r = and();
      v = truthy(v) ? v : r;
    }
    return v;
  };
  const v = or();
  assert.equal(i, tokens.length, `could not parse all of ${source}`);
  return truthy(v);
}

interface Night {
  /** github.event_name and github.event.schedule */
  readonly event: string;
  readonly schedule?: string;
  /** Outputs of each job that runs (jobs not listed run with empty outputs). */
  readonly outputs: Readonly<Record<string, Readonly<Record<string, string>>>>;
}

/** Which jobs start, in order, following GitHub's rules: no status function means `success() && (…)`. */
function jobsThatRun(workflow: { jobs: Record<string, { needs?: string[]; if?: string }> }, night: Night): string[] {
  const result: Record<string, "success" | "skipped"> = {};
  const outputs: Record<string, Record<string, string>> = {};
  const ran: string[] = [];
  for (const [id, job] of Object.entries(workflow.jobs)) {
    const needs = job.needs ?? [];
    for (const n of needs) assert.ok(n in result, `${id} needs ${n}, which comes later`);
    const ctx: Ctx = {
      lookup(p) {
        if (p === "github.event_name") return night.event;
        if (p === "github.event.schedule") return night.schedule ?? "";
        if (p === "github.ref_name" || p === "github.event.repository.default_branch") return "main";
        let m = /^needs\.([A-Za-z0-9_-]+)\.result$/.exec(p);
        if (m) return result[m[1]];
        m = /^needs\.([A-Za-z0-9_-]+)\.outputs\.([A-Za-z0-9_-]+)$/.exec(p);
        if (m) return outputs[m[1]]?.[m[2]] ?? "";
        throw new Error(`${id}: unknown context ${p}`);
      },
      status(fn) {
        if (fn === "always") return true;
        if (fn === "cancelled") return false;
        if (fn === "success") return needs.every((n) => result[n] === "success");
        if (fn === "failure") return false;
        throw new Error(`${id}: unknown function ${fn}()`);
      },
    };
    const raw = (job.if ?? "success()").replace(/^\$\{\{\s*|\s*\}\}$/g, "");
    const explicit = /\b(always|cancelled|success|failure)\(\)/.test(raw);
    const runs = (explicit || ctx.status("success")) && evaluate(raw, ctx) === true;
    result[id] = runs ? "success" : "skipped";
    outputs[id] = runs ? { ...(night.outputs[id] ?? {}) } : {};
    if (runs) ran.push(id);
  }
  return ran;
}

describe("a night of one mirror, over its parsed workflow", () => {
  const settings = { owner: "acme-corp", registryNamespace: "acme-corp", visibility: "private", branchProtection: true, attestations: false } as const;
  for (const { label, mirror: m } of propertyMirrors(settings, TODAY)) {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const wf = parse(renderEffectiveWorkflow(m, PIPELINE)) as any;

    test(`GIVEN ${label} and no new upstream tag WHEN the nightly build fires THEN only resolve runs: no build job starts`, () => {
      const ran = jobsThatRun(wf, { event: "schedule", schedule: m.cron.build, outputs: { resolve: { build: "false", reason: "v2.2.4 is already pinned" } } });
      assert.deepEqual(ran, ["resolve"]);
    });

    test(`GIVEN ${label} and a new tag that passes WHEN the nightly build fires THEN it builds, publishes and pins (the evaluation is live)`, () => {
      const ran = jobsThatRun(wf, {
        event: "schedule",
        schedule: m.cron.build,
        outputs: {
          resolve: { build: "true", tag: "v2.2.5" },
          review: { drift: "unchanged" },
          build: { decision: "pass", scanned: "true", digest: `sha256:${"a".repeat(64)}` },
        },
      });
      for (const job of ["resolve", "review", "build", "publish", "pin"]) assert.ok(ran.includes(job), `${job} should run: ran ${ran.join(", ")}`);
      assert.ok(!ran.includes("rescan") && !ran.includes("health"), ran.join(", "));
    });

    test(`GIVEN ${label} and a push from pulumi up (a policy change) with the newest tag pinned WHEN the workflow runs THEN only resolve runs: no build, no scan`, () => {
      // resolve is never forced on a push (test/workflow/policy-change.test.ts), so a pinned tag is not rebuilt.
      const ran = jobsThatRun(wf, { event: "push", outputs: { resolve: { build: "false", reason: "v2.2.4 is already pinned" } } });
      assert.deepEqual(ran, ["resolve"]);
    });

    test(`GIVEN ${label} WHEN the rescan fires THEN no build job starts`, () => {
      const ran = jobsThatRun(wf, { event: "schedule", schedule: m.cron.rescan, outputs: {} });
      assert.ok(!ran.includes("resolve") && !ran.includes("build"), ran.join(", "));
      assert.ok(ran.includes("rescan"), ran.join(", "));
    });

    test(`GIVEN ${label} WHEN its workflow scans THEN no job takes the Trivy DB from the Actions cache (each scan downloads it: test/adversarial/workflow-cache.test.ts)`, () => {
      const cached = Object.entries(wf.jobs as Record<string, { steps: Array<{ uses?: string }> }>).flatMap(([job, j]) =>
        j.steps.filter((s) => s.uses?.startsWith("actions/cache")).map(() => job),
      );
      assert.deepEqual(cached, []);
    });
  }

  test("GIVEN the expression evaluator WHEN fed known cases THEN it agrees with GitHub's rules", () => {
    const ctx: Ctx = { lookup: (p) => ({ a: "x", b: "" })[p] ?? "", status: (f) => f !== "cancelled" };
    const cases: Array<[string, boolean]> = [
      ["a == 'X'", true],
      ["a != 'x'", false],
      ["!cancelled() && (b != '' || a == 'x')", true],
      ["b", false],
      ["!b && a", true],
      ["always() && b == ''", true],
    ];
    for (const [src, want] of cases) assert.equal(evaluate(src, ctx), want, src);
  });
});
