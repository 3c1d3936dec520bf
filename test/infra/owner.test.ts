/**
 * The owner the stack names, checked against GitHub before anything is
 * declared (infra/owner.ts; issue 18 items 3 and 4): a user account, or an
 * organisation that forbids Actions to open pull requests, used to surface
 * only half-way through the first `up` (a bare 404 on topics, a 409 after 18
 * resources existed).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Io } from "../../pipeline/cli";
import { github } from "../../pipeline/github";
import { checkOwner } from "../../infra/owner";
import { startGitHubStandIn, type GitHubStandIn } from "../support/github-standin";

async function withStandIn(f: (s: GitHubStandIn, check: (owner: string) => ReturnType<typeof checkOwner>) => Promise<void>): Promise<void> {
  const s = await startGitHubStandIn();
  const io: Io = { env: { GITHUB_API_URL: s.url, GITHUB_TOKEN: s.token, MIRROR_GITHUB_THROTTLE: "off" }, cwd: process.cwd(), stdout: () => undefined, stderr: () => undefined };
  try {
    await f(s, (owner) => checkOwner(github(io, { retries: 0 }), owner, s.url));
  } finally {
    await s.stop();
  }
}

test("GIVEN an owner that is not an organisation WHEN checked THEN the problem names the setting, the answer and what to do, and nothing is written", async () => {
  await withStandIn(async (s, check) => {
    const r = await check("someone");
    assert.deepEqual(r.problems, [
      `mirror-fleet:githubOwner: "someone" is not an organisation on ${s.url} (GET /orgs/someone: 404). The fleet's repositories live in an organisation (a user account is not supported); set it to the organisation's login, and point MIRROR_FLEET_GITHUB_API at the GitHub that has it`,
    ]);
    assert.equal(s.writes().length, 0);
  });
});

test("GIVEN an organisation that forbids Actions to create pull requests (GitHub's default) WHEN checked THEN the problem names both settings", async () => {
  await withStandIn(async (s, check) => {
    s.addOrg("acme-corp");
    const r = await check("acme-corp");
    assert.equal(r.problems.length, 1);
    assert.match(r.problems[0], /^mirror-fleet:actionsCanCreatePullRequests: true, but acme-corp has "Allow GitHub Actions to create and approve pull requests" turned off/);
    s.addOrg("acme-corp", { canApprovePullRequestReviews: true });
    assert.deepEqual(await check("acme-corp"), { problems: [], warnings: [] });
  });
});

test("GIVEN a token that may not read the organisation's Actions settings WHEN checked THEN a warning says what could not be checked, and the run goes on", async () => {
  await withStandIn(async (s, check) => {
    s.addOrg("acme-corp");
    s.injectFault({ operationId: "actions/get-github-actions-default-workflow-permissions-organization", status: 403, when: "before" });
    const r = await check("acme-corp");
    assert.deepEqual(r.problems, []);
    assert.match(r.warnings[0], /^could not read whether acme-corp has turned on "Allow GitHub Actions to create and approve pull requests" \(GET \/orgs\/acme-corp\/actions\/permissions\/workflow: 403/);
  });
});
