/**
 * Red team, issue 17 item 10: the override-review approval was read from the
 * issue body, which anyone with write access can edit after the close, and
 * anyone with triage could approve by closing. Now an approval holds only
 * for the body the pipeline wrote and asked about (its unedited "ask"
 * comment before the close event, in the issue's timeline) and only when the
 * closer holds the role the policy names (pipeline/lib/approval.ts).
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import { toYaml } from "../../components/yaml";
import { fingerprint, readDriftItems } from "../../pipeline/lib/issues";
import { CONFIG, REPO, withWorld, type World } from "./pipeline-world";

const COMMIT_1 = "1".repeat(40);
const COMMIT_2 = "2".repeat(40);

function drift(w: World, commit: string, patch: string) {
  return w.file("drift.json", { status: "changed", files: ["Dockerfile"], commit, patchSha256: patch.repeat(64) });
}

async function ask(w: World, commit = COMMIT_1, patch = "a", body = "```diff\n-FROM alpine:3.19\n+FROM alpine:3.20\n```\n") {
  const r = await w.run(["issue", "--kind", "override-review", "--state", "open", "--tag", "v2.0.0", "--drift-json", drift(w, commit, patch), "--body-file", w.file("review.md", body)]);
  assert.equal(r.code, 0, r.err);
  return r;
}

test("GIVEN a closer with the triage role WHEN the override review is read THEN it is not approved and the issue reopens, saying why", async () => {
  await withWorld(async (w) => {
    await ask(w);
    w.s.setRole(REPO, "tina", "triage");
    w.s.closeIssue(REPO, 1, { reason: "completed", by: "tina" });
    const r = await ask(w);
    assert.deepEqual([r.json.action, r.json.approved, r.json.approvedBy], ["reopened", false, null]);
    assert.equal(w.s.issue(REPO, 1).state, "open");
    assert.ok(
      w.s.comments(REPO, 1).some((c) => c.body.startsWith("Not approved: tina closed it with triage; approving needs the write role or higher (policy.overrideReview.approverRole).")),
      w.s.comments(REPO, 1).map((c) => c.body).join("\n---\n"),
    );
  });
});

test("GIVEN an approval of commit 1 WHEN a writer edits the closed issue's record to the fingerprint of a moved tag THEN the moved tag is not approved", async () => {
  await withWorld(async (w) => {
    await ask(w);
    w.s.closeIssue(REPO, 1, { reason: "completed", by: "alice" });
    assert.equal((await ask(w)).json.approved, true);
    // The tag moves to commit 2; before the next run, a writer rewrites the closed issue's record to match it.
    const moved = readDriftItems(fs.readFileSync(drift(w, COMMIT_2, "b"), "utf8"), "drift.json");
    const issue = w.s.issue(REPO, 1);
    issue.body = issue.body!.replace(/fingerprint=[0-9a-f]{64}/, `fingerprint=${fingerprint(moved.map((i) => i.key))}`);
    const r = await ask(w, COMMIT_2, "b");
    assert.deepEqual([r.json.action, r.json.approved], ["reopened", false]);
    assert.match(w.s.comments(REPO, 1).map((c) => c.body).join("\n"), /Not approved: the approval was for other findings \(another commit or diff\)/);
  });
});

test("GIVEN an approval WHEN a writer edits the diff shown in the closed issue THEN the approval no longer holds", async () => {
  await withWorld(async (w) => {
    await ask(w);
    w.s.closeIssue(REPO, 1, { reason: "completed", by: "alice" });
    const issue = w.s.issue(REPO, 1);
    issue.body = issue.body!.replace("+FROM alpine:3.20", "+FROM alpine:3.20 # reviewed, fine");
    const r = await ask(w);
    assert.deepEqual([r.json.action, r.json.approved], ["reopened", false]);
    assert.match(w.s.comments(REPO, 1).map((c) => c.body).join("\n"), /Not approved: the issue text was edited after the pipeline wrote it/);
    // Asked again for the body as it now stands; a close by alice now approves.
    w.s.closeIssue(REPO, 1, { reason: "completed", by: "alice" });
    const again = await ask(w);
    assert.deepEqual([again.json.approved, again.json.approvedBy], [true, "alice"]);
  });
});

test("GIVEN the pipeline's request for review edited after the close THEN not approved", async () => {
  await withWorld(async (w) => {
    await ask(w);
    w.s.closeIssue(REPO, 1, { reason: "completed", by: "alice" });
    const asked = w.s.comments(REPO, 1).find((c) => c.body.startsWith("<!-- mirror-fleet:ask "))!;
    asked.body += "\nedited";
    asked.updatedAt = "2027-01-01T00:00:00Z";
    const r = await ask(w);
    assert.deepEqual([r.json.action, r.json.approved], ["reopened", false]);
  });
});

test("GIVEN the policy names maintain THEN a writer's close is refused, a maintainer's approves; a custom role counts only through a base that decides", async () => {
  await withWorld(async (w) => {
    fs.writeFileSync(path.join(w.dir, ".mirror/config.yml"), `# generated\n${toYaml({ ...CONFIG, overrideReview: { approverRole: "maintain" } })}`);
    await ask(w);
    w.s.closeIssue(REPO, 1, { reason: "completed", by: "alice" });
    assert.deepEqual([(await ask(w)).json.approved], [false]);
    w.s.setRole(REPO, "carol", "release-manager", "write");
    w.s.closeIssue(REPO, 1, { reason: "completed", by: "carol" });
    assert.deepEqual([(await ask(w)).json.approved], [false], "a custom role on write does not prove maintain");
    w.s.setRole(REPO, "mia", "maintain");
    w.s.closeIssue(REPO, 1, { reason: "completed", by: "mia" });
    const r = await ask(w);
    assert.deepEqual([r.json.approved, r.json.approvedBy], [true, "mia"]);
  });
});

test("GIVEN an open review WHEN a writer edits the diff shown before anyone closes it THEN the next run puts the pipeline's text back and asks again for that", async () => {
  await withWorld(async (w) => {
    await ask(w);
    const issue = w.s.issue(REPO, 1);
    issue.body = issue.body!.replace("+FROM alpine:3.20", "+FROM alpine:3.20 # nothing to see");
    const r = await ask(w);
    assert.equal(r.json.action, "unchanged");
    assert.match(w.s.issue(REPO, 1).body!, /\+FROM alpine:3\.20\n/, "the pipeline's diff is back");
    assert.doesNotMatch(w.s.issue(REPO, 1).body!, /nothing to see/);
    assert.equal(w.s.comments(REPO, 1).filter((c) => c.body.startsWith("<!-- mirror-fleet:ask ")).length, 2, "asked again");
    w.s.closeIssue(REPO, 1, { reason: "completed", by: "alice" });
    assert.equal((await ask(w)).json.approved, true);
  });
});
