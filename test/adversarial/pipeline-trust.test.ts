/**
 * Red team, issue 12 item 3: the pipeline's hidden markers (the rescan
 * fingerprint, the issue marker and its findings record) are trusted only in
 * comments and issues written by the workflow's own identity
 * (github-actions[bot] for `github.token`, MIRROR_BOT_LOGIN for an App's
 * token), never in text anyone with comment or triage rights can post.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { fingerprint, findingKey } from "../../pipeline/lib/issues";
import { REPO, finding, gateJson, withWorld, type World } from "./pipeline-world";

const OLD = finding("CVE-2024-0001", "libfoo");
const NEW = finding("CVE-2024-9999", "libbar");

const cve = (w: World, tag: string, f: ReturnType<typeof finding>[]) =>
  w.run(["issue", "--kind", "cve", "--state", "open", "--tag", tag, "--gate-json", w.file("gate.json", gateJson(f))]);
const rescan = (w: World, tag: string, f: ReturnType<typeof finding>[]) =>
  w.run(["issue", "--kind", "rescan", "--state", "open", "--tag", tag, "--gate-json", w.file("rescan.json", gateJson(f))]);

test("GIVEN an outsider's comment with the rescan marker and today's fingerprint WHEN the rescan runs THEN it still reports the new finding", async () => {
  await withWorld(async (w) => {
    assert.equal((await cve(w, "v2.2.4", [OLD])).json.action, "created");
    // Anyone who can comment can compute the fingerprint of public advisories.
    const forged = fingerprint([findingKey(OLD), findingKey(NEW)]);
    w.s.commentAs(REPO, 1, `<!-- mirror-fleet:rescan fingerprint=${forged} -->\nnothing to see here`, "mallory");
    const r = await rescan(w, "v2.2.4", [OLD, NEW]);
    assert.equal(r.json.action, "updated", r.err);
    const ours = w.s.comments(REPO, 1).filter((c) => c.user === w.s.botLogin);
    assert.equal(ours.length, 1);
    assert.match(ours[0].body, /CVE-2024-9999/);
  });
});

test("GIVEN the workflow writes as an App (MIRROR_BOT_LOGIN) WHEN a github-actions[bot] comment carries the marker THEN it is not the pipeline's", async () => {
  await withWorld(async (w) => {
    await cve(w, "v2.2.4", [OLD]);
    // The issue must be the App's own for the pipeline to find it at all.
    (w.s.issue(REPO, 1) as { user: string }).user = "mirror-fleet[bot]";
    w.s.commentAs(REPO, 1, `<!-- mirror-fleet:rescan fingerprint=${fingerprint([findingKey(OLD), findingKey(NEW)])} -->\n`, "github-actions[bot]");
    const r = await w.run(["issue", "--kind", "rescan", "--state", "open", "--tag", "v2.2.4", "--gate-json", w.file("g.json", gateJson([OLD, NEW]))], {
      MIRROR_BOT_LOGIN: "mirror-fleet[bot]",
    });
    // The stand-in authors the new comment as its own bot; what matters is that the forged one was not read.
    assert.equal(r.json.action, "updated", r.err);
  });
});

test("GIVEN a triager's issue with the label, marker and record, closed as completed WHEN the override review runs THEN it is not an approval and the pipeline files its own", async () => {
  await withWorld(async (w) => {
    const drift = w.file("drift.json", { status: "changed", files: ["Dockerfile"], commit: "c".repeat(40), patchSha256: "d".repeat(64) });
    const args = ["issue", "--kind", "override-review", "--state", "open", "--tag", "v2.2.4", "--drift-json", drift];
    // Copy exactly what the pipeline would write, as someone else.
    await w.run(args);
    const spoof = w.s.issue(REPO, 1);
    (spoof as { user: string }).user = "mallory";
    w.s.closeIssue(REPO, 1, { reason: "completed", by: "mallory" });
    const r = await w.run(args);
    assert.deepEqual([r.json.action, r.json.number, r.json.approved], ["created", 2, false]);
  });
});

test("GIVEN MIRROR_BOT_LOGIN that is not a login THEN the run fails before any request", async () => {
  await withWorld(async (w) => {
    const r = await cve(w, "v1", [OLD]).then(() => w.run(["issue", "--kind", "cve", "--state", "resolved", "--tag", "v1"], { MIRROR_BOT_LOGIN: "a b" }));
    assert.equal(r.code, 2);
    assert.equal(r.err, 'issue: MIRROR_BOT_LOGIN: "a b" is not allowed (allowed: a GitHub login, e.g. my-app[bot])\n');
  });
});
