/**
 * The counts the README and the bench report (builds per run, Trivy scans
 * per run, jobs holding a write token while a scanner runs), the expression
 * evaluator behind them, job chains, and the triggers and concurrency of
 * the rendered workflow.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { checkJobChains, pushPaths, renderEffectiveWorkflow, workflowCounts } from "../../components/workflow";
import { evaluate, jobsThatCanRun } from "../../components/workflow/analyze";
import { MIRROR_PATHS } from "../../components/mirror-config";
import { toYaml } from "../../components/yaml";
import { allMirrors } from "./all-mirrors";
import { edgeMirrors, fixtureMirror, PIPELINE } from "./fixtures";
import { job, jobs, parseWorkflow, step, steps, type Obj } from "./steps";

const gokapi = () => renderEffectiveWorkflow(fixtureMirror("gokapi"), PIPELINE);

function mutate(text: string, change: (doc: Obj) => void): string {
  const doc = parseWorkflow(text);
  change(doc);
  return toYaml(doc);
}

describe("workflowCounts: builds, scans and write tokens per run", () => {
  for (const { label, mirror } of allMirrors()) {
    test(`GIVEN ${label} WHEN counted THEN 1 build, one Trivy scan per platform plus the source per run, and 0 jobs hold a write token while a scanner runs`, () => {
      const c = workflowCounts(renderEffectiveWorkflow(mirror, PIPELINE));
      assert.deepEqual([c.buildsPerRun, c.trivyScansPerRun, c.writeTokenJobsWhileScanning], [1, mirror.build.platforms.length + 1, 0]);
    });
  }

  test("GIVEN gokapi WHEN counted per kind of run THEN the build runs build and scan, the rescan only scans, the health check does neither", () => {
    const m = fixtureMirror("gokapi");
    const c = workflowCounts(renderEffectiveWorkflow(m, PIPELINE));
    const p = m.build.platforms.length;
    const build = ["resolve", "review", "override-review", "build", "report", "block", "publish", "pin"];
    assert.deepEqual(
      c.perRun.map((r) => ({ ...r, jobs: [...r.jobs] })),
      [
        { run: { event: "schedule", schedule: m.cron.build }, jobs: build, builds: 1, trivyScans: p + 1 },
        { run: { event: "schedule", schedule: m.cron.rescan }, jobs: ["rescan", "rescan-report"], builds: 0, trivyScans: p },
        { run: { event: "schedule", schedule: m.cron.health }, jobs: ["health"], builds: 0, trivyScans: 0 },
        { run: { event: "workflow_dispatch" }, jobs: build, builds: 1, trivyScans: p + 1 },
        { run: { event: "push" }, jobs: build, builds: 1, trivyScans: p + 1 },
      ],
    );
  });

  // gokapi's platforms: the build run scans each, plus the source.
  const p = fixtureMirror("gokapi").build.platforms.length;
  const n = p + 1;
  const broken: Array<[string, (d: Obj) => void, [number, number, number]]> = [
    [
      "a second image build in the publish job",
      (d) => steps(d, "publish").push({ name: "rebuild", run: "docker buildx build --push .\n" }),
      [2, n, 0],
    ],
    [
      "a build step through docker/build-push-action",
      (d) => steps(d, "build").push({ name: "again", uses: "docker/build-push-action@53b7df96c91f9c12dcc8a07bcb9ccacbed38856a" }),
      [2, n, 0],
    ],
    [
      "a third Trivy scan, in the report job that holds security-events: write",
      (d) => steps(d, "report").push({ name: "scan", run: "trivy fs --format sarif .\n" }),
      [1, n + 1, 1],
    ],
    [
      "the scanner action in the pin job",
      (d) => steps(d, "pin").push({ name: "scan", uses: "aquasecurity/trivy-action@ed142fd0673e97e23eac54620cfb913e5ce36c25" }),
      [1, n + 1, 1],
    ],
    [
      "the build job given contents: write",
      (d) => ((job(d, "build").permissions as Obj).contents = "write"),
      [1, n, 1],
    ],
    [
      "the rescan job without permissions under a write-all default",
      (d) => {
        d.permissions = "write-all";
        delete job(d, "rescan").permissions;
      },
      [1, n, 1],
    ],
    [
      "the rescan made to run on every schedule",
      (d) => delete job(d, "rescan").if,
      [1, n + p, 0],
    ],
  ];
  for (const [label, change, expected] of broken) {
    test(`GIVEN gokapi with ${label} WHEN counted THEN the counts say so`, () => {
      const c = workflowCounts(mutate(gokapi(), change));
      assert.deepEqual([c.buildsPerRun, c.trivyScansPerRun, c.writeTokenJobsWhileScanning], expected);
    });
  }

  test("GIVEN a comment that mentions a scan WHEN counted THEN it is not a scan", () => {
    const c = workflowCounts(mutate(gokapi(), (d) => steps(d, "pin").push({ name: "note", run: "# trivy image would go here\necho done\n" })));
    assert.equal(c.trivyScansPerRun, n);
  });

  test("GIVEN a matrix of three WHEN the build job builds once per entry THEN three builds per run", () => {
    const c = workflowCounts(mutate(gokapi(), (d) => (job(d, "build").strategy = { matrix: { platform: ["a", "b", "c"] } })));
    assert.equal(c.buildsPerRun, 3);
  });
});

describe("expression evaluator", () => {
  const scope = (values: Record<string, unknown>) => ({
    lookup: (p: readonly string[]) => {
      const k = p.join(".");
      return (k in values ? values[k] : Symbol.for("unused")) as never;
    },
    call: () => true,
  });
  const cases: Array<[string, Record<string, unknown>, unknown]> = [
    ["a == 'X'", { a: "x" }, true],
    ["a != 'x'", { a: "X" }, false],
    ["a && 'yes' || 'no'", { a: "" }, "no"],
    ["a && 'yes' || 'no'", { a: "1" }, "yes"],
    ["!a", { a: null }, true],
    ["a == ''", { a: null }, true],
    ["a == 0", { a: "" }, true],
    ["(a || b) && c", { a: false, b: "b", c: "c" }, "c"],
    ["a == 'it''s'", { a: "it's" }, true],
    ["needs['override-review'].outputs.approved == 'true'", { "needs.override-review.outputs.approved": "true" }, true],
  ];
  for (const [src, values, expected] of cases) {
    test(`GIVEN ${src} with ${JSON.stringify(values)} WHEN evaluated THEN ${JSON.stringify(expected)}`, () => {
      assert.equal(evaluate(src, scope(values)), expected);
    });
  }

  test("GIVEN an unknown value WHEN it decides the result THEN the job counts as one that can run", () => {
    const doc = parseWorkflow(gokapi());
    // Dispatch: the default-branch comparison is unknown, so the build chain can run.
    assert.ok(jobsThatCanRun(doc, { event: "workflow_dispatch" }).includes("build"));
    // A pull_request event matches no job condition.
    assert.deepEqual(jobsThatCanRun(doc, { event: "pull_request" }), []);
  });

  test("GIVEN a malformed expression WHEN evaluated THEN it throws, naming the expression", () => {
    assert.throws(() => evaluate("a == ", scope({})), { message: "expression: unexpected end of a == " });
    assert.throws(() => evaluate("a ~ b", scope({})), { message: 'expression: unexpected "~" in a ~ b' });
  });
});

describe("job chains", () => {
  for (const { label, mirror } of allMirrors()) {
    test(`GIVEN ${label} WHEN read THEN no job is skipped by an implicit success() after an optional job`, () => {
      assert.deepEqual(checkJobChains(renderEffectiveWorkflow(mirror, PIPELINE)), []);
    });
  }

  test("GIVEN publish with a bare condition after build (which runs past a skipped override-review) WHEN read THEN it is reported", () => {
    const text = mutate(gokapi(), (d) => (job(d, "publish").if = "${{ needs.build.outputs.decision == 'pass' }}"));
    assert.deepEqual(checkJobChains(text), [
      {
        rule: "implicit-success-after-skip",
        where: "jobs.publish",
        message:
          "needs build, which runs after skipped jobs, with an implicit success(): publish is skipped whenever one of build's ancestors is (start its if: with !cancelled() and check needs.<job>.result)",
      },
    ]);
  });
});

describe("triggers and concurrency", () => {
  test("GIVEN a mirror WHEN rendered THEN it runs on its spread crons, on dispatch (tag, force) and on pushes of its config, override, waivers and itself only", () => {
    const m = fixtureMirror("gokapi");
    const on = parseWorkflow(renderEffectiveWorkflow(m, PIPELINE)).on as Obj;
    assert.deepEqual(on.schedule, [{ cron: m.cron.build }, { cron: m.cron.rescan }, { cron: m.cron.health }]);
    const inputs = (on.workflow_dispatch as Obj).inputs as Obj;
    assert.deepEqual(Object.keys(inputs), ["tag", "force"]);
    assert.deepEqual([(inputs.tag as Obj).type, (inputs.force as Obj).type], ["string", "boolean"]);
    // Itself: `pulumi up` commits the workflow last, so a new mirror or a changed workflow runs once.
    assert.deepEqual((on.push as Obj).paths, [MIRROR_PATHS.config, MIRROR_PATHS.override, MIRROR_PATHS.trivyignore, MIRROR_PATHS.workflow]);
    assert.equal(((on.push as Obj).paths as string[]).includes(MIRROR_PATHS.pin), false);
  });

  test("GIVEN a mirror without override WHEN rendered THEN the push paths leave the override out and there is no override-review job", () => {
    const m = fixtureMirror("plik");
    assert.deepEqual(pushPaths(m), [MIRROR_PATHS.config, MIRROR_PATHS.trivyignore, MIRROR_PATHS.workflow]);
    assert.equal("override-review" in jobs(parseWorkflow(renderEffectiveWorkflow(m, PIPELINE))), false);
  });

  test("GIVEN the concurrency group WHEN evaluated per kind of run THEN it is per mirror and kind, and never cancels", () => {
    const m = fixtureMirror("gokapi");
    const conc = parseWorkflow(renderEffectiveWorkflow(m, PIPELINE)).concurrency as Obj;
    assert.equal(conc["cancel-in-progress"], false);
    const group = String(conc.group);
    const inner = /^mirror-gokapi-\$\{\{ (.*) \}\}$/.exec(group);
    assert.ok(inner, group);
    const kindOf = (schedule: string | null) =>
      evaluate(inner[1], { lookup: (p) => (p.join(".") === "github.event.schedule" ? schedule : null), call: () => true });
    assert.deepEqual([kindOf(m.cron.build), kindOf(m.cron.rescan), kindOf(m.cron.health), kindOf(null)], ["build", "rescan", "health", "build"]);
  });

  test("GIVEN the build chain WHEN dispatched or pushed THEN resolve only runs on the default branch", () => {
    const cond = String(job(parseWorkflow(gokapi()), "resolve").if);
    const run = (event: string, ref: string, schedule: string | null = null) =>
      evaluate(cond, {
        lookup: (p) => {
          const k = p.join(".");
          if (k === "github.event_name") return event;
          if (k === "github.event.schedule") return schedule;
          if (k === "github.ref_name") return ref;
          if (k === "github.event.repository.default_branch") return "main";
          return null;
        },
        call: () => true,
      });
    assert.equal(run("workflow_dispatch", "main"), true);
    assert.equal(run("push", "main"), true);
    assert.equal(run("push", "feature"), false);
    assert.equal(run("workflow_dispatch", "feature"), false);
    assert.equal(run("schedule", "main", fixtureMirror("gokapi").cron.build), true);
    assert.equal(run("schedule", "main", fixtureMirror("gokapi").cron.rescan), false);
  });
});

describe("notifications", () => {
  test("GIVEN no webhook targets WHEN rendered THEN there is no notify job and no webhook secret", () => {
    const text = gokapi();
    assert.equal("notify" in jobs(parseWorkflow(text)), false);
    assert.doesNotMatch(text, /MIRROR_(SLACK|TEAMS)_WEBHOOK/);
  });

  const secretsOf = (env: unknown) => Object.fromEntries(Object.entries(env as Record<string, string>).filter(([, v]) => v.includes("secrets.")));

  test("GIVEN slack only WHEN rendered THEN the notify step gets the Slack secret and not the Teams one", () => {
    const m = edgeMirrors().find((e) => e.label.startsWith("attestations on"))!.mirror;
    assert.deepEqual(m.notify, ["slack"]);
    const doc = parseWorkflow(renderEffectiveWorkflow(m, PIPELINE));
    assert.equal(job(doc, "notify").env, undefined);
    assert.deepEqual(secretsOf(step(doc, "notify", "Post").env), { MIRROR_SLACK_WEBHOOK: "${{ secrets.MIRROR_SLACK_WEBHOOK }}" });
  });

  test("GIVEN both targets and an override WHEN rendered THEN notify links the PR on a pass and the issue on a gate or drift block", () => {
    const m = edgeMirrors().find((e) => e.label.startsWith("multi-platform"))!.mirror;
    const doc = parseWorkflow(renderEffectiveWorkflow(m, PIPELINE));
    const post = step(doc, "notify", "Post");
    assert.deepEqual(secretsOf(post.env), {
      MIRROR_SLACK_WEBHOOK: "${{ secrets.MIRROR_SLACK_WEBHOOK }}",
      MIRROR_TEAMS_WEBHOOK: "${{ secrets.MIRROR_TEAMS_WEBHOOK }}",
    });
    assert.deepEqual(job(doc, "notify").needs, ["resolve", "build", "block", "pin", "override-review"]);
    // Which link goes out in each case is run in bash: test/adversarial/workflow-secrets.test.ts.
    assert.match(String(post.run), /args=\(--status passed --link "\$PR_URL"\)/);
    assert.match(String(post.run), /args=\(--status blocked --link "\$GITHUB_SERVER_URL\/\$GITHUB_REPOSITORY\/issues\/\$GATE_ISSUE"\)/);
    assert.match(String(post.run), /args=\(--status blocked --link "\$GITHUB_SERVER_URL\/\$GITHUB_REPOSITORY\/issues\/\$DRIFT_ISSUE"\)/);
  });
});
