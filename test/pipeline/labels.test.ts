/**
 * pipeline/lib/labels.ts against the stand-in: the pipeline makes the fleet's
 * labels where it puts them on, with a job token that holds only what the
 * job declares, and never deletes or renames one.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { FLEET_LABELS } from "../../contract";
import type { Io } from "../../pipeline/cli";
import { github } from "../../pipeline/github";
import { KIND_LABELS } from "../../pipeline/lib/issues";
import { ensureLabels } from "../../pipeline/lib/labels";
import { PIN_LABEL } from "../../pipeline/lib/pin";
import { withCheckedStandIn, type GitHubStandIn } from "../support/github-standin";

const REPO = "acme/mirror-gokapi";
const repo = { owner: "acme", repo: "mirror-gokapi" };

/** The pipeline's client as a job whose token holds only `permissions` (the workflow's `permissions:`). */
function jobClient(s: GitHubStandIn, permissions: Record<string, "read" | "write">) {
  const token = `ghs_job_${Object.keys(permissions).join("_")}`;
  s.addIdentity(token, { kind: "app", appId: 15368, installationId: 7, slug: "github-actions", permissions });
  const io: Io = { env: s.envAs(token, REPO), cwd: process.cwd(), stdout: () => undefined, stderr: () => undefined };
  return github(io, { retries: 0 });
}

const labelsOf = (s: GitHubStandIn) => [...s.repo(REPO).labels.values()].map((l) => [l.name, l.color, l.description]);

test("GIVEN a mirror repository without the fleet's labels WHEN a job holding only issues: write ensures three THEN they are made with the fleet's colour and description, and a second time reads once and writes nothing", async () => {
  await withCheckedStandIn(REPO, async (s) => {
    const gh = jobClient(s, { issues: "write" });
    const before = s.writes().length;
    assert.deepEqual(await ensureLabels(gh, repo, ["cve", "blocked", "security"]), { cve: "created", blocked: "created", security: "created" });
    assert.deepEqual(s.writes().slice(before).map((r) => r.operationId), ["issues/create-label", "issues/create-label", "issues/create-label"]);
    const want = FLEET_LABELS.filter((l) => ["cve", "blocked", "security"].includes(l.name)).map((l) => [l.name, l.color, l.description]);
    assert.deepEqual(labelsOf(s).filter(([n]) => want.some(([w]) => w === n)).sort(), want.sort());
    const reads = s.requests.length;
    assert.deepEqual(await ensureLabels(gh, repo, ["cve", "blocked", "security"]), { cve: "present", blocked: "present", security: "present" });
    assert.deepEqual(s.requests.slice(reads).map((r) => `${r.method} ${r.operationId}`), ["GET issues/list-labels-for-repo"]);
  });
});

test("GIVEN the pin job (pull-requests: write, no issues) WHEN it ensures mirror-build THEN GitHub lets it make the label", async () => {
  await withCheckedStandIn(REPO, async (s) => {
    assert.deepEqual(await ensureLabels(jobClient(s, { pull_requests: "write" }), repo, ["mirror-build"]), { "mirror-build": "created" });
    assert.deepEqual(labelsOf(s).filter(([n]) => n === "mirror-build"), [["mirror-build", "0e8a16", "Pull request pinning a newly built digest"]]);
  });
});

test("GIVEN an organisation's default `Security` and a hand-made `cve` WHEN the pipeline ensures security and cve THEN both are used as they are: nothing is written (it never writes to a label it may not have made)", async () => {
  await withCheckedStandIn(REPO, async (s) => {
    s.addLabel(REPO, "Security", "ff0000", "Org default");
    s.addLabel(REPO, "cve", "cccccc", "Made by hand");
    const before = s.writes().length;
    assert.deepEqual(await ensureLabels(jobClient(s, { issues: "write" }), repo, ["security", "cve"]), { security: "present", cve: "present" });
    assert.equal(s.writes().length, before);
    assert.deepEqual(labelsOf(s).sort(), [["Security", "ff0000", "Org default"], ["cve", "cccccc", "Made by hand"]]);
  });
});

test("GIVEN GitHub answers 502 after it made the label WHEN ensured THEN the pipeline finds it and goes on: one label, no second create", async () => {
  await withCheckedStandIn(REPO, async (s) => {
    s.injectFault({ operationId: "issues/create-label", status: 502, when: "after" });
    assert.deepEqual(await ensureLabels(jobClient(s, { issues: "write" }), repo, ["rescan"]), { rescan: "created" });
    assert.deepEqual(s.faultsLeft(), []);
    assert.equal(s.writes("issues/create-label").length, 1);
    assert.deepEqual(labelsOf(s), [["rescan", "fbca04", "Found by the nightly rescan of the pinned digest"]]);
  });
});

test("GIVEN a job token without issues or pull-requests write WHEN a missing label is ensured THEN GitHub's 403 fails the step", async () => {
  await withCheckedStandIn(REPO, async (s) => {
    await assert.rejects(ensureLabels(jobClient(s, { contents: "write", issues: "read" }), repo, ["cve"]), (e: { status?: number }) => e.status === 403);
  });
});

test("GIVEN a name that is not a fleet label WHEN ensured THEN it is refused before any request, naming the allowed ones", async () => {
  await withCheckedStandIn(REPO, async (s) => {
    const before = s.requests.length;
    await assert.rejects(ensureLabels(jobClient(s, { issues: "write" }), repo, ["bug"]), /"bug" is not one of the fleet's labels \(contract\/index.ts FLEET_LABELS: cve, blocked, security, rescan, override-review, mirror-build, upstream-health\)/);
    assert.equal(s.requests.length, before);
  });
});

test("GIVEN every label the pipeline puts on (each issue kind's, the pin pull request's) THEN each is a fleet label, and every fleet label is put on by something", () => {
  const used = new Set([...Object.values(KIND_LABELS).flat(), PIN_LABEL]);
  assert.deepEqual([...used].sort(), FLEET_LABELS.map((l) => l.name).sort());
});
