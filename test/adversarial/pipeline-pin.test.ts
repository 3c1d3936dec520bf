/**
 * Red team, issue 12 items 8-9: `pin` is idempotent as deployed. The build's
 * time travels with the build (the build job's output is pin's --built-at), so
 * a re-run commits nothing; a pull request a person closed for a digest stays
 * closed and the run says so; a later blocked build of the same tag withdraws
 * the open pull request that pins an earlier digest.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { renderEffectiveWorkflow } from "../../components/workflow";
import { fixtureMirror, PIPELINE } from "../workflow/fixtures";
import { job, parseWorkflow, step } from "../workflow/steps";
import { REPO, finding, gateJson, withWorld, withoutWriteId } from "./pipeline-world";

test("GIVEN the rendered workflow THEN built_at is the build job's output and pin's --built-at", () => {
  for (const name of ["gokapi", "plik"]) {
    const doc = parseWorkflow(renderEffectiveWorkflow(fixtureMirror(name), PIPELINE));
    const out = (job(doc, "build").outputs as Record<string, string>).built_at;
    const m = /^\$\{\{ steps\.([a-z-]+)\.outputs\.([a-z_]+) \}\}$/.exec(out);
    assert.ok(m, `${name}: build outputs.built_at = ${out}`);
    assert.match(String(step(doc, "build", m[1]).run), new RegExp(`echo "${m[2]}=\\$\\(date -u \\+%Y-%m-%dT%H:%M:%SZ\\)" >> "\\$GITHUB_OUTPUT"`));
    const pin = step(doc, "pin", "pin");
    assert.equal((pin.env as Record<string, string>).BUILT_AT, "${{ needs.build.outputs.built_at }}");
    assert.match(String(pin.run), /--built-at "\$BUILT_AT"/);
  }
});

test("GIVEN no build time WHEN `pin` runs THEN it refuses (a default of now made every re-run commit again)", async () => {
  await withWorld(async (w) => {
    const r = await w.run(["pin", "--digest", `sha256:${"a".repeat(64)}`, "--tag", "v1", "--commit", "b".repeat(40), "--gate-json", w.file("g.json", gateJson([]))]);
    assert.equal(r.code, 2);
    assert.match(r.err, /^pin: --built-at is required \(or env MIRROR_BUILT_AT\): the build job's time, so that a re-run writes the same image-pin\.yml\n/);
    assert.equal(w.s.requests.length, 0);
  });
});

test("GIVEN a pin pull request WHEN the pin job is re-run with the build's outputs THEN no commit and no write", async () => {
  await withWorld(async (w) => {
    assert.equal((await w.pin("v2.2.4", "b1")).json.action, "created");
    const again = await w.pin("v2.2.4", "b1");
    assert.deepEqual([again.json.action, again.writes], ["unchanged", []]);
    assert.equal(w.s.history(REPO, "mirror-build/v2.2.4").length, 3);
  });
});

test("GIVEN a person closed the pin pull request for a digest WHEN a later run proposes that digest again (another build time, another run) THEN it stays closed and the run says so", async () => {
  await withWorld(async (w) => {
    await w.pin("v2.2.4", "b1");
    w.s.closeIssue(REPO, 1, { by: "carol" });
    const r = await w.pin("v2.2.4", "b1", "2026-03-12T02:14:00Z");
    assert.equal(r.code, 0, r.err);
    assert.deepEqual([r.json.action, r.json.number, r.json.closedBy, r.writes], ["declined", 1, "carol", []]);
    assert.equal(r.outputs.action, "declined");
    assert.match(r.err, /pin v2\.2\.4: pull request #1 for sha256:[0-9a-f]{64} was closed without merging by carol; it stays closed and nothing was written/);
    assert.equal(w.s.pulls(REPO).length, 1);
    // A new digest is a new question.
    assert.equal((await w.pin("v2.2.4", "b2")).json.action, "created");
  });
});

test("GIVEN the pipeline itself closed a pin pull request (withdrawn) WHEN the digest is proposed again THEN that was no person's decision: a new pull request", async () => {
  await withWorld(async (w) => {
    await w.pin("v2.2.4", "b1");
    await w.run(["issue", "--kind", "cve", "--state", "open", "--tag", "v2.2.4", "--gate-json", w.file("g.json", gateJson([finding("CVE-1", "x")]))]);
    assert.equal(w.s.pulls(REPO)[0].issue.state, "closed");
    assert.equal((await w.pin("v2.2.4", "b1")).json.action, "created");
  });
});

test("GIVEN an open pin pull request of a tag WHEN a later build of that tag is blocked THEN the pull request is withdrawn with a comment naming the issue", async () => {
  await withWorld(async (w) => {
    await w.pin("v2.2.5", "b1");
    await w.pin("v2.2.3", "b9"); // another tag's pull request (an older one: nothing supersedes it) is left alone
    const r = await w.run(["issue", "--kind", "cve", "--state", "open", "--tag", "v2.2.5", "--gate-json", w.file("g.json", gateJson([finding("CVE-2025-1", "libfoo")]))]);
    assert.equal(r.code, 0, r.err);
    const issue = r.json.number as number;
    assert.deepEqual(r.json.withdrawn, [1]);
    const [v225, v223] = w.s.pulls(REPO);
    assert.deepEqual([v225.issue.state, v223.issue.state], ["closed", "open"]);
    assert.deepEqual(w.s.comments(REPO, 1).map((c) => withoutWriteId(c.body)), [
      `Withdrawn: a later build of \`v2.2.5\` was blocked by the scan gate (#${issue}). This pull request pins an earlier digest of that tag; closed by the mirror pipeline.`,
    ]);
    assert.match(r.err, /withdrew pin pull request #1/);
    // The block job may close pull requests: it holds pull-requests: write.
    const doc = parseWorkflow(renderEffectiveWorkflow(fixtureMirror("gokapi"), PIPELINE));
    assert.equal((job(doc, "block").permissions as Record<string, string>)["pull-requests"], "write");
  });
});
