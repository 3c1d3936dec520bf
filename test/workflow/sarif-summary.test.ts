/**
 * The job summary says where each SARIF went. A private mirror's upload may
 * fail (no GitHub Code Security) without failing the job, so the summary is
 * the only place a reader learns the Security tab is empty: run the step's
 * script for each outcome and read the summary it writes.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";
import { renderWorkflow } from "../../components/workflow";
import { realMirror, SETTINGS } from "./fixtures";
import { parseWorkflow, runStep, step, steps, tempDir } from "./steps";

const SUMMARY_STEP = "Job summary: where the SARIF went";

function run(visibility: "private" | "public", jobId: string, outcomes: Record<string, string>) {
  const doc = parseWorkflow(renderWorkflow(realMirror("gokapi", { ...SETTINGS, visibility })));
  const s = step(doc, jobId, SUMMARY_STEP);
  const dir = tempDir();
  const summary = path.join(dir, "summary.md");
  // The runner evaluates the step's env; the test hands in the outcomes it would.
  const env = Object.fromEntries(Object.entries(s.env as Record<string, string>).map(([k, v]) => [k, outcomes[k] ?? v]));
  const r = runStep({ ...s, env: {} }, dir, { ...env, GITHUB_STEP_SUMMARY: summary, GITHUB_SERVER_URL: "https://github.com", GITHUB_REPOSITORY: "acme-corp/mirror-gokapi" });
  return { r, summary: fs.readFileSync(summary, "utf8"), step: s, doc };
}

describe("SARIF: the job summary says where it went", () => {
  test("GIVEN both uploads succeeded WHEN the summary step runs THEN it links the Security tab per category", () => {
    const { r, summary, step: s } = run("private", "report", { OUTCOME_0: "success", OUTCOME_1: "success" });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(s.if, "${{ always() }}");
    assert.deepEqual(s.env, {
      OUTCOME_0: "${{ steps.sarif-mirror-image.outcome }}",
      OUTCOME_1: "${{ steps.sarif-mirror-filesystem.outcome }}",
      WHY: "code scanning on a private repository needs GitHub Code Security (Team or Enterprise plan)",
      ARTIFACT: "audit",
    });
    assert.equal(
      summary,
      "### Where the SARIF went\n" +
        "- `audit/trivy-image.sarif`: uploaded to the Security tab, code scanning category `mirror-image`: https://github.com/acme-corp/mirror-gokapi/security/code-scanning\n" +
        "- `audit/trivy-fs.sarif`: uploaded to the Security tab, code scanning category `mirror-filesystem`: https://github.com/acme-corp/mirror-gokapi/security/code-scanning\n",
    );
    assert.equal(r.stdout, "");
  });

  test("GIVEN a private mirror whose upload failed (continue-on-error) WHEN the summary step runs THEN it says the SARIF is only in the artifact, and why, with a warning", () => {
    const { r, summary } = run("private", "report", { OUTCOME_0: "failure", OUTCOME_1: "success" });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(
      summary.split("\n")[1],
      "- `audit/trivy-image.sarif`: **not in the Security tab** (upload: failure; code scanning on a private repository needs GitHub Code Security (Team or Enterprise plan)). It is in this run's `audit` artifact.",
    );
    assert.equal(
      r.stdout,
      "::warning::audit/trivy-image.sarif was not uploaded to the Security tab (upload: failure; code scanning on a private repository needs GitHub Code Security (Team or Enterprise plan)); it is in the audit artifact\n",
    );
  });

  test("GIVEN the rescan of a public mirror WHEN its upload did not run THEN the summary says so", () => {
    const { summary, doc } = run("public", rescanJob(), { OUTCOME_0: "" });
    assert.ok(doc);
    assert.equal(summary, "### Where the SARIF went\n- `rescan/trivy-rescan.sarif`: **not in the Security tab** (upload: not run; see the upload step's log). It is in this run's `rescan` artifact.\n");
  });

  test("GIVEN every upload step WHEN rendered THEN it has the id the summary reads, and the summary comes after it", () => {
    const doc = parseWorkflow(renderWorkflow(realMirror("gokapi")));
    for (const [jobId, ids] of [["report", ["sarif-mirror-image", "sarif-mirror-filesystem"]], [rescanJob(), ["sarif-mirror-rescan"]]] as const) {
      const names = steps(doc, jobId).map((s) => (s.id as string) ?? (s.name as string));
      for (const id of ids) assert.ok(names.indexOf(id) >= 0 && names.indexOf(id) < names.indexOf(SUMMARY_STEP), `${jobId}: ${names.join(", ")}`);
    }
  });
});

/** The job that uploads the rescan's SARIF. */
function rescanJob(): string {
  const doc = parseWorkflow(renderWorkflow(realMirror("gokapi")));
  const id = Object.entries(doc.jobs as Record<string, { steps?: Array<{ id?: string }> }>).find(([, j]) => j.steps?.some((s) => s.id === "sarif-mirror-rescan"))?.[0];
  assert.ok(id, "no job uploads the rescan SARIF");
  return id;
}
