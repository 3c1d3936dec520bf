/**
 * Red team, issue 12 items 7 and 10: every write to GitHub is safe to retry
 * (DESIGN invariant 10). A create (issue, comment, pull request) that GitHub
 * applied before its answer was lost (a 502, a timeout) is found by its marker
 * and adopted, never made twice; two runs at once end with one issue; a pull
 * request adopted that way still gets its `mirror-build` label.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { REPO, finding, gateJson, withWorld, type World } from "./pipeline-world";

const blocked = (w: World, tag = "v1.0.0", f = [finding("CVE-2024-1", "libfoo")]) =>
  w.run(["issue", "--kind", "cve", "--state", "open", "--tag", tag, "--gate-json", w.file("gate.json", gateJson(f))]);

test("GIVEN GitHub applies the issue create but answers 502 WHEN `issue` runs THEN one issue, adopted, and the next run updates that one", async () => {
  await withWorld(async (w) => {
    w.s.injectFault({ operationId: "issues/create", status: 502, when: "after" });
    const r = await blocked(w);
    assert.equal(r.code, 0, r.err);
    assert.deepEqual([r.json.action, r.json.number], ["created", 1]);
    assert.match(r.err, /adopted/);
    assert.equal(w.s.issues(REPO).length, 1);
    assert.equal(w.s.writes("issues/create").length, 1, "the create was not sent again");
    const next = await blocked(w, "v1.0.0", [finding("CVE-2024-2", "libbar")]);
    assert.deepEqual([next.json.action, next.json.number], ["updated", 1]);
  });
});

test("GIVEN GitHub applies the issue create but the answer never comes WHEN the request times out THEN one issue", async () => {
  await withWorld(async (w) => {
    w.s.injectFault({ operationId: "issues/create", status: 201, when: "after", delayMs: 1_500 });
    const r = await w.run(["issue", "--kind", "cve", "--state", "open", "--tag", "v1.0.0", "--gate-json", w.file("g.json", gateJson([finding("CVE-1", "x")]))], {
      MIRROR_GITHUB_TIMEOUT_MS: "300",
    });
    assert.equal(r.code, 0, r.err);
    assert.equal(r.json.number, 1);
    assert.equal(w.s.issues(REPO).length, 1);
  });
});

test("GIVEN a 502 before anything was made WHEN `issue` runs THEN it looks, finds nothing and creates once", async () => {
  await withWorld(async (w) => {
    w.s.injectFault({ operationId: "issues/create", status: 502, when: "before" });
    const r = await blocked(w);
    assert.equal(r.code, 0, r.err);
    assert.equal(w.s.issues(REPO).length, 1);
    assert.equal(w.s.writes("issues/create").length, 2);
  });
});

test("GIVEN a secondary rate limit (403, retry-after) on the create WHEN `issue` runs THEN it waits and creates once", async () => {
  await withWorld(async (w) => {
    w.s.injectFault({
      operationId: "issues/create",
      status: 403,
      when: "before",
      headers: { "retry-after": "1" },
      body: { message: "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.", documentation_url: "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits" },
    });
    const r = await w.run(["issue", "--kind", "cve", "--state", "open", "--tag", "v1.0.0", "--gate-json", w.file("g.json", gateJson([finding("CVE-1", "x")]))], {
      MIRROR_GITHUB_THROTTLE: "on",
    });
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /secondary rate limit on POST \/repos\/\{owner\}\/\{repo\}\/issues; retrying after 1s/);
    assert.equal(w.s.issues(REPO).length, 1);
  });
});

test("GIVEN GitHub applies a comment but answers 502 WHEN the findings change THEN one comment", async () => {
  await withWorld(async (w) => {
    await blocked(w);
    w.s.injectFault({ operationId: "issues/create-comment", status: 502, when: "after" });
    const r = await blocked(w, "v1.0.0", [finding("CVE-2024-2", "libbar")]);
    assert.equal(r.code, 0, r.err);
    assert.equal(w.s.comments(REPO, 1).length, 1);
  });
});

test("GIVEN two runs file the same issue at once WHEN both finish THEN one issue stays open and the younger is closed as its duplicate", async () => {
  await withWorld(async (w) => {
    const [a, b] = await Promise.all([blocked(w), blocked(w)]);
    assert.equal(a.code, 0, a.err);
    assert.equal(b.code, 0, b.err);
    assert.equal(w.s.writes("issues/create").length, 2, "both runs created (the race happened)");
    assert.deepEqual([a.json.number, b.json.number], [1, 1]);
    const open = w.s.issues(REPO).filter((i) => i.state === "open");
    assert.deepEqual(open.map((i) => i.number), [1]);
    assert.deepEqual([w.s.issue(REPO, 2).state, w.s.issue(REPO, 2).stateReason], ["closed", "duplicate"]);
    assert.match(w.s.comments(REPO, 2)[0].body, /^Duplicate of #1: two runs filed this issue at the same time\./);
    // And from then on every run finds #1.
    const c = await blocked(w, "v1.0.0", [finding("CVE-2024-3", "libbaz")]);
    assert.deepEqual([c.json.action, c.json.number], ["updated", 1]);
  });
});

test("GIVEN GitHub applies the pull request create but answers 502 WHEN `pin` runs THEN one pull request, labelled mirror-build", async () => {
  await withWorld(async (w) => {
    w.s.injectFault({ operationId: "pulls/create", status: 502, when: "after" });
    const r = await w.pin("v2.2.4", "b1");
    assert.equal(r.code, 0, r.err);
    assert.deepEqual([r.json.action, r.json.number], ["created", 1]);
    const pulls = w.s.pulls(REPO);
    assert.equal(pulls.length, 1);
    assert.deepEqual(pulls[0].issue.labels, ["mirror-build"]);
    const again = await w.pin("v2.2.4", "b1");
    assert.deepEqual([again.json.action, again.writes], ["unchanged", []]);
  });
});

test("GIVEN an open pin pull request without its label (an earlier run lost it) WHEN `pin` runs again THEN the label is added", async () => {
  await withWorld(async (w) => {
    await w.pin("v2.2.4", "b1");
    w.s.pulls(REPO)[0].issue.labels.length = 0;
    const r = await w.pin("v2.2.4", "b1");
    assert.deepEqual(r.writes, ["issues/add-labels"]);
    assert.deepEqual(w.s.pulls(REPO)[0].issue.labels, ["mirror-build"]);
  });
});

test("GIVEN GitHub applies the branch and the file commit but answers 502 WHEN `pin` runs THEN it carries on from what was made", async () => {
  await withWorld(async (w) => {
    w.s.injectFault({ operationId: "git/create-ref", status: 502, when: "after" });
    w.s.injectFault({ operationId: "repos/create-or-update-file-contents", status: 502, when: "after" });
    const r = await w.pin("v2.2.4", "b1");
    assert.equal(r.code, 0, r.err);
    assert.equal(w.s.history(REPO, "mirror-build/v2.2.4").length, 3, "two commits on top of main: image-pin.yml, deploy/kustomization.yaml");
    assert.equal(w.s.pulls(REPO).length, 1);
  });
});
