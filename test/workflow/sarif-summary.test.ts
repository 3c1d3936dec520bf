/**
 * The job summary says where each SARIF went. A private mirror's upload may
 * fail (no GitHub Code Security) without failing the job, so the summary is
 * the only place a reader learns the Security tab is empty: run the step's
 * script for each outcome and read the summary it writes. The uploads are
 * read from the rendered workflow, so the test follows however many SARIF
 * files a job uploads (one per platform, the source scan).
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";
import { ACTIONS } from "../../components/pins";
import { renderEffectiveWorkflow } from "../../components/workflow";
import { fixtureMirror, SETTINGS, PIPELINE } from "./fixtures";
import { parseWorkflow, runStep, steps, tempDir, type Obj } from "./steps";

const SUMMARY_STEP = "Job summary: where the SARIF went";
const PRIVATE_WHY = "code scanning on a private repository needs GitHub Code Security (Team or Enterprise plan)";

function workflow(visibility: "private" | "public") {
  return parseWorkflow(renderEffectiveWorkflow(fixtureMirror("gokapi", { ...SETTINGS, visibility }), PIPELINE));
}

/** Jobs that upload SARIF, with their uploads (file, category, step id) and the summary step. */
function sarifJobs(doc: Obj) {
  const uses = `${ACTIONS.uploadSarif.uses}@${ACTIONS.uploadSarif.sha}`;
  return Object.keys(doc.jobs as Obj).flatMap((jobId) => {
    const all = steps(doc, jobId);
    const uploads = all.filter((s) => s.uses === uses).map((s) => ({ id: s.id as string, file: (s.with as Obj).sarif_file as string, category: (s.with as Obj).category as string }));
    if (uploads.length === 0) return [];
    const summary = all.find((s) => s.name === SUMMARY_STEP);
    return [{ jobId, uploads, summary, index: all.indexOf(summary!), uploadIndexes: uploads.map((u) => all.findIndex((s) => s.id === u.id)) }];
  });
}

function runSummary(summaryStep: Obj, outcomes: readonly string[]) {
  const dir = tempDir();
  const file = path.join(dir, "summary.md");
  // The runner evaluates the step's env; the test hands in the outcomes it would.
  const env = Object.fromEntries(Object.entries(summaryStep.env as Record<string, string>).map(([k, v]) => [k, /^OUTCOME_(\d+)$/.test(k) ? outcomes[Number(k.slice(8))] : v]));
  const r = runStep({ ...summaryStep, env: {} }, dir, { ...env, GITHUB_STEP_SUMMARY: file, GITHUB_SERVER_URL: "https://github.com", GITHUB_REPOSITORY: "acme-corp/mirror-gokapi" });
  return { r, summary: fs.readFileSync(file, "utf8") };
}

describe("SARIF: the job summary says where it went", () => {
  test("GIVEN every job that uploads SARIF WHEN rendered THEN a summary step runs always(), after the uploads, reading each upload's outcome", () => {
    const jobs = sarifJobs(workflow("private"));
    assert.ok(jobs.length >= 2, `report and rescan upload SARIF: ${jobs.map((j) => j.jobId).join(", ")}`);
    for (const j of jobs) {
      assert.ok(j.summary, `${j.jobId}: no "${SUMMARY_STEP}" step`);
      assert.equal(j.summary.if, "${{ always() }}");
      assert.ok(j.uploadIndexes.every((i) => i >= 0 && i < j.index), `${j.jobId}: the summary runs after every upload`);
      assert.deepEqual(
        Object.entries(j.summary.env as Obj).filter(([k]) => k.startsWith("OUTCOME_")),
        j.uploads.map((u, i) => [`OUTCOME_${i}`, `\${{ steps.${u.id}.outcome }}`]),
      );
      assert.equal((j.summary.env as Obj).WHY, PRIVATE_WHY);
    }
  });

  test("GIVEN every upload succeeded WHEN the summary step runs THEN each SARIF links the Security tab with its category", () => {
    for (const j of sarifJobs(workflow("private"))) {
      const { r, summary } = runSummary(j.summary!, j.uploads.map(() => "success"));
      assert.equal(r.status, 0, r.stderr);
      assert.equal(
        summary,
        "### Where the SARIF went\n" +
          j.uploads.map((u) => `- \`${u.file}\`: uploaded to the Security tab, code scanning category \`${u.category}\`: https://github.com/acme-corp/mirror-gokapi/security/code-scanning\n`).join(""),
      );
      assert.equal(r.stdout, "");
    }
  });

  test("GIVEN a private mirror whose first upload failed (continue-on-error) WHEN the summary step runs THEN it says that SARIF is only in the artifact, and why, with a warning", () => {
    const [j] = sarifJobs(workflow("private")).filter((x) => x.jobId === "report");
    const artifact = (j.summary!.env as Obj).ARTIFACT;
    const { r, summary } = runSummary(j.summary!, j.uploads.map((_, i) => (i === 0 ? "failure" : "success")));
    assert.equal(r.status, 0, r.stderr);
    assert.equal(artifact, "audit");
    assert.equal(summary.split("\n")[1], `- \`${j.uploads[0].file}\`: **not in the Security tab** (upload: failure; ${PRIVATE_WHY}). It is in this run's \`audit\` artifact.`);
    assert.equal(r.stdout, `::warning::${j.uploads[0].file} was not uploaded to the Security tab (upload: failure; ${PRIVATE_WHY}); it is in the audit artifact\n`);
  });

  test("GIVEN a public mirror's rescan WHEN its upload did not run THEN the summary says so and points at the log", () => {
    const j = sarifJobs(workflow("public")).find((x) => x.jobId !== "report")!;
    const { summary } = runSummary(j.summary!, j.uploads.map(() => ""));
    assert.equal(summary.split("\n")[1], `- \`${j.uploads[0].file}\`: **not in the Security tab** (upload: not run; see the upload step's log). It is in this run's \`rescan\` artifact.`);
  });
});
