/**
 * Red team, issue 17 item 11: a newer build closes the open pin pull requests
 * of older tags as superseded. It closed every open `mirror-build/*` pull
 * request, a person's too (anyone who can push a branch can open one). Now
 * only the workflow identity's own, the check withdrawPins already makes.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { REPO, withWorld } from "./pipeline-world";

test("GIVEN an open mirror-build/* pull request opened by a person WHEN a newer tag is pinned THEN it is left open and uncommented", async () => {
  await withWorld(async (w) => {
    assert.equal((await w.pin("v2.2.3", "b1")).json.action, "created");
    // The same branch and pull request, but a person's: what they would open by hand.
    (w.s.issue(REPO, 1) as { user: string }).user = "mallory";
    const r = await w.pin("v2.2.4", "b2");
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(r.json.superseded, []);
    assert.equal(w.s.pulls(REPO)[0].issue.state, "open");
    assert.deepEqual(w.s.comments(REPO, 1), []);
  });
});

test("GIVEN the pipeline's own older pin pull request WHEN a newer tag is pinned THEN it is still closed as superseded", async () => {
  await withWorld(async (w) => {
    await w.pin("v2.2.3", "b1");
    const r = await w.pin("v2.2.4", "b2");
    assert.deepEqual(r.json.superseded, [1]);
    assert.equal(w.s.pulls(REPO)[0].issue.state, "closed");
  });
});
