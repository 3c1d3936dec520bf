/**
 * Issue 12, item 16 (the workflow part): the notify webhooks were job-level
 * secrets, so every step of the job, the third-party checkout and setup
 * actions included, had the URLs in its environment. Now no job carries a
 * secret in its env; the one step that posts holds them, and runs only our
 * bundle. The step's choice of notice is run in bash here.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";
import { PIPELINE_COMMAND, PIPELINE_RUNNER_FILE } from "../../components/pipeline-action";
import { renderEffectiveWorkflow } from "../../components/workflow";
import { allMirrors } from "../workflow/all-mirrors";
import { edgeMirrors, PIPELINE } from "../workflow/fixtures";
import { jobs, parseWorkflow, runStep, steps, stub, tempDir, type Obj } from "../workflow/steps";

const holdsSecret = (r: unknown) => Object.values((r ?? {}) as Obj).some((v) => /\bsecrets\./.test(String(v)));

describe("adversarial (issue 12 #16): secrets reach only the step that uses them", () => {
  for (const { label, mirror } of allMirrors()) {
    test(`GIVEN ${label} WHEN rendered THEN no job or action step holds a secret, and each step that does runs only the bundle's notify`, () => {
      const doc = parseWorkflow(renderEffectiveWorkflow(mirror, PIPELINE));
      assert.equal(holdsSecret(doc.env), false, "workflow-level env holds a secret");
      for (const [id, j] of Object.entries(jobs(doc))) {
        assert.equal(holdsSecret(j.env), false, `jobs.${id}.env holds a secret`);
        for (const s of j.steps as Obj[]) {
          if (!holdsSecret(s.env) && !holdsSecret(s.with)) continue;
          const where = `jobs.${id} step "${String(s.name)}"`;
          assert.equal(s.uses, undefined, `${where} hands a secret to an action`);
          assert.ok(String(s.run).split("\n").some((l) => l.startsWith(`${PIPELINE_COMMAND} notify `) || l.startsWith(`${PIPELINE_COMMAND} sign `)), `${where} holds a secret but is not the notify or the sign step`);
        }
      }
    });
  }

  const both = edgeMirrors().find((e) => e.label.startsWith("multi-platform"))!.mirror;
  const doc = parseWorkflow(renderEffectiveWorkflow(both, PIPELINE));
  const post = steps(doc, "notify").find((s) => holdsSecret(s.env))!;

  /** Runs the notify step with a stand-in `node` that records its arguments and the webhook env it saw. */
  function notify(env: Record<string, string>): { status: number; argv: string[]; stdout: string } {
    const cwd = tempDir("mirror-notify-");
    const bin = path.join(cwd, "bin");
    stub(bin, "node", `printf '%s\\n' "$@" > "${cwd}/argv"`);
    const base = { MIRROR: "multi", TAG: "v1.2.3", PASSED: "false", PR_URL: "", GATE_BLOCKED: "false", GATE_ISSUE: "", DRIFT_BLOCKED: "false", DRIFT_ISSUE: "" };
    const r = runStep(post, cwd, { ...base, ...env, MIRROR_SLACK_WEBHOOK: "https://hooks.example/x", RUNNER_TEMP: RUNNER }, [bin]);
    const file = path.join(cwd, "argv");
    return { status: r.status, argv: fs.existsSync(file) ? fs.readFileSync(file, "utf8").trimEnd().split("\n") : [], stdout: r.stdout };
  }
  const tail = ["--mirror", "multi", "--tag", "v1.2.3"];
  /** The job's RUNNER_TEMP, where the pipeline action put the bundle. */
  const RUNNER = "/home/runner/work/_temp";
  const PIPELINE_PATH = `${RUNNER}/${PIPELINE_RUNNER_FILE}`;

  test("GIVEN a pass WHEN the step runs THEN it posts the pull request link", () => {
    const r = notify({ PASSED: "true", PR_URL: "https://github.com/acme-corp/multi/pull/7" });
    assert.equal(r.status, 0);
    assert.deepEqual(r.argv, [PIPELINE_PATH, "notify", "--status", "passed", "--link", "https://github.com/acme-corp/multi/pull/7", ...tail]);
  });

  test("GIVEN a gate block WHEN the step runs THEN it posts the blocked-build issue link", () => {
    const r = notify({ GATE_BLOCKED: "true", GATE_ISSUE: "12" });
    assert.deepEqual(r.argv, [PIPELINE_PATH, "notify", "--status", "blocked", "--link", "https://github.com/acme-corp/mirror-test/issues/12", ...tail]);
  });

  test("GIVEN a drift block WHEN the step runs THEN it posts the override-review issue link", () => {
    const r = notify({ DRIFT_BLOCKED: "true", DRIFT_ISSUE: "5" });
    assert.deepEqual(r.argv, [PIPELINE_PATH, "notify", "--status", "blocked", "--link", "https://github.com/acme-corp/mirror-test/issues/5", ...tail]);
  });

  test("GIVEN nothing new WHEN the step runs THEN it posts nothing and succeeds", () => {
    const r = notify({});
    assert.equal(r.status, 0);
    assert.deepEqual(r.argv, []);
    assert.match(r.stdout, /nothing to notify/);
  });
});
