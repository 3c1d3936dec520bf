/**
 * The GitHub stand-in itself: it must refuse what GitHub's OpenAPI
 * description does not allow (or the pipeline tests prove nothing), serve
 * what it allows, paginate like GitHub, and leave no listener behind.
 */
import assert from "node:assert/strict";
import * as net from "node:net";
import { test } from "node:test";
import sodium from "libsodium-wrappers";
import { github } from "../../pipeline/github";
import { captureIo, startGitHubStandIn, type GitHubStandIn } from "../support/github-standin";

const REPO = "acme/mirror-gokapi";

async function raw(s: GitHubStandIn, method: string, path: string, body?: unknown, token = s.token) {
  const res = await fetch(`${s.url}${path}`, {
    method,
    headers: { authorization: `token ${token}`, "content-type": "application/json" },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : null };
}

test("GIVEN requests GitHub's OpenAPI description does not allow WHEN sent THEN each is refused with a reason and recorded", async () => {
  const s = await startGitHubStandIn();
  try {
    s.addRepo(REPO);
    await raw(s, "POST", `/repos/${REPO}/issues`, { title: "seed" });
    const cases: Array<{ what: string; method: string; path: string; body?: unknown; status: number; reason: RegExp }> = [
      { what: "an undocumented path", method: "POST", path: `/repos/${REPO}/issues/1/close`, status: 400, reason: /matches no path in GitHub's OpenAPI description/ },
      { what: "an undocumented method", method: "DELETE", path: `/repos/${REPO}/issues/1`, status: 400, reason: /DELETE is not a documented method for \/repos\/\{owner\}\/\{repo\}\/issues\/\{issue_number\}/ },
      { what: "an unknown query parameter", method: "GET", path: `/repos/${REPO}/issues?status=open`, status: 400, reason: /query parameter "status" is not documented for issues\/list-for-repo/ },
      { what: "a query value outside the enum", method: "GET", path: `/repos/${REPO}/issues?state=shut`, status: 422, reason: /parameters of issues\/list-for-repo: \/state must be equal to one of the allowed values/ },
      { what: "a path parameter of the wrong type", method: "GET", path: `/repos/${REPO}/issues/first`, status: 422, reason: /\/issue_number must be integer/ },
      { what: "a body value outside the enum", method: "PATCH", path: `/repos/${REPO}/issues/1`, body: { state: "shut" }, status: 422, reason: /body of issues\/update: \/state must be equal to one of the allowed values/ },
      { what: "an undocumented body field (a typo)", method: "POST", path: `/repos/${REPO}/issues`, body: { title: "x", label: ["cve"] }, status: 422, reason: /body field\(s\) "label" not documented for issues\/create/ },
      { what: "a missing required body field", method: "POST", path: `/repos/${REPO}/git/refs`, body: { ref: "refs/heads/x" }, status: 422, reason: /must have required property 'sha'/ },
      { what: "a missing required body", method: "POST", path: `/repos/${REPO}/issues`, status: 422, reason: /issues\/create requires a request body/ },
      { what: "a body where none is documented", method: "DELETE", path: `/repos/${REPO}/git/refs/heads%2Fmain`, body: { force: true }, status: 400, reason: /git\/delete-ref takes no request body/ },
    ];
    for (const c of cases) {
      const before = s.rejected.length;
      const r = await raw(s, c.method, c.path, c.body);
      assert.equal(r.status, c.status, c.what);
      assert.match(String(r.body?.message), c.reason, c.what);
      assert.equal(s.rejected.length, before + 1, `${c.what} is recorded`);
      assert.match(s.rejected[s.rejected.length - 1].reason, c.reason, c.what);
    }
    // THEN nothing of the refused writes reached the state.
    assert.deepEqual(
      s.issues(REPO).map((i) => [i.number, i.title, i.state, i.labels]),
      [[1, "seed", "open", []]],
    );
  } finally {
    await s.stop();
  }
});

test("GIVEN a wrong token WHEN a request is sent THEN 401 Bad credentials, recorded", async () => {
  const s = await startGitHubStandIn();
  try {
    s.addRepo(REPO);
    const r = await raw(s, "GET", `/repos/${REPO}`, undefined, "ghp_wrong");
    assert.equal(r.status, 401);
    assert.equal(r.body?.message, "Bad credentials");
    assert.deepEqual(s.rejected.map((x) => x.status), [401]);
  } finally {
    await s.stop();
  }
});

test("GIVEN no credentials WHEN a request is sent THEN GitHub's answers: a public repository's reads served without the caller's permissions, a private one 404, writes and the user 401, 60 an hour", async () => {
  const s = await startGitHubStandIn();
  try {
    s.addRepo("upstream/app", { private: false });
    s.addRepo(REPO, { private: true });
    const anonymous = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${s.url}${path}`, { method, ...(body !== undefined ? { body: JSON.stringify(body), headers: { "content-type": "application/json" } } : {}) });
      return { status: res.status, limit: res.headers.get("x-ratelimit-limit"), body: (await res.json()) as Record<string, unknown> };
    };
    const pub = await anonymous("GET", "/repos/upstream/app");
    assert.equal(pub.status, 200);
    assert.equal(pub.body.full_name, "upstream/app");
    assert.equal(pub.body.permissions, undefined, "no permissions are named for a caller without credentials");
    assert.equal(pub.limit, "60");
    assert.equal((await anonymous("GET", "/repos/upstream/app/tags")).status, 200);
    assert.equal((await anonymous("GET", `/repos/${REPO}`)).status, 404);
    for (const [method, path, body] of [["POST", "/repos/upstream/app/issues", { title: "x" }], ["GET", "/user", undefined]] as const) {
      const r = await anonymous(method, path, body);
      assert.deepEqual([r.status, r.body.message], [401, "Requires authentication"], `${method} ${path}`);
    }
    assert.deepEqual(s.requests.filter((r) => r.status === 200).map((r) => r.actor), ["(anonymous)", "(anonymous)"]);
    // The 60th request spends the hour; the next is refused.
    for (let i = 0; i < 60; i++) await anonymous("GET", "/repos/upstream/app");
    const spent = await anonymous("GET", "/repos/upstream/app");
    assert.equal(spent.status, 403);
    assert.match(String(spent.body.message), /^API rate limit exceeded for 127\.0\.0\.1\./);
    // A token's own limit is untouched.
    assert.equal((await raw(s, "GET", "/repos/upstream/app")).status, 200);
    assert.deepEqual(s.badResponses, [], "answers without credentials outside GitHub's response schemas");
  } finally {
    await s.stop();
  }
});

test("GIVEN Octokit (pipeline/github.ts) WHEN it sends an undocumented route THEN it fails with the stand-in's reason, once (no retries)", async () => {
  const s = await startGitHubStandIn();
  try {
    s.addRepo(REPO);
    const gh = github(captureIo(s.env(), "/"));
    await assert.rejects(
      gh.request("POST /repos/{owner}/{repo}/issues/{issue_number}/close", { owner: "acme", repo: "mirror-gokapi", issue_number: 1 }),
      (e: { status?: number; message?: string }) => e.status === 400 && /matches no path in GitHub's OpenAPI description/.test(e.message ?? ""),
    );
    assert.equal(s.requests.length, 1);
    assert.equal(s.rejected.length, 1);
  } finally {
    await s.stop();
  }
});

test("GIVEN documented requests WHEN sent through Octokit THEN they are served: issues, labels, refs, contents, pulls, merge", async () => {
  const s = await startGitHubStandIn();
  try {
    s.addRepo(REPO);
    const gh = github(captureIo(s.env(), "/"));
    const repo = { owner: "acme", repo: "mirror-gokapi" };
    const issue = await gh.request("POST /repos/{owner}/{repo}/issues", { ...repo, title: "t", body: "b", labels: ["cve"] });
    assert.equal(issue.status, 201);
    assert.deepEqual(issue.data.labels.map((l) => (typeof l === "string" ? l : l.name)), ["cve"]);
    const main = await gh.request("GET /repos/{owner}/{repo}/git/ref/{ref}", { ...repo, ref: "heads/main" });
    await gh.request("POST /repos/{owner}/{repo}/git/refs", { ...repo, ref: "refs/heads/mirror-build/v1.0.0", sha: main.data.object.sha });
    await assert.rejects(
      gh.request("POST /repos/{owner}/{repo}/git/refs", { ...repo, ref: "refs/heads/mirror-build/v1.0.0", sha: main.data.object.sha }),
      (e: { status?: number; message?: string }) => e.status === 422 && /Reference already exists/.test(e.message ?? ""),
    );
    const put = await gh.request("PUT /repos/{owner}/{repo}/contents/{path}", {
      ...repo,
      path: "image-pin.yml",
      message: "pin",
      content: Buffer.from("tag: v1.0.0\n").toString("base64"),
      branch: "mirror-build/v1.0.0",
    });
    assert.equal(put.status, 201);
    // Updating without the blob sha is refused, as on GitHub.
    await assert.rejects(
      gh.request("PUT /repos/{owner}/{repo}/contents/{path}", { ...repo, path: "image-pin.yml", message: "again", content: "eA==", branch: "mirror-build/v1.0.0" }),
      (e: { status?: number; message?: string }) => e.status === 422 && /"sha" wasn't supplied/.test(e.message ?? ""),
    );
    const got = await gh.request("GET /repos/{owner}/{repo}/contents/{path}", { ...repo, path: "image-pin.yml", ref: "mirror-build/v1.0.0" });
    assert.ok(!Array.isArray(got.data) && got.data.type === "file" && "content" in got.data);
    if (!Array.isArray(got.data) && "content" in got.data) assert.equal(Buffer.from(got.data.content, "base64").toString(), "tag: v1.0.0\n");
    const pr = await gh.request("POST /repos/{owner}/{repo}/pulls", { ...repo, title: "Pin", head: "mirror-build/v1.0.0", base: "main", body: "audit" });
    assert.equal(pr.data.number, 2, "pull requests share the issue numbering");
    s.mergePull("acme/mirror-gokapi", pr.data.number);
    assert.equal(s.readFile("acme/mirror-gokapi", "main", "image-pin.yml"), "tag: v1.0.0\n");
    assert.equal(s.pulls("acme/mirror-gokapi")[0].merged, true);
    assert.deepEqual(s.rejected, []);
    assert.deepEqual(s.unimplemented, []);
  } finally {
    await s.stop();
  }
});

test("GIVEN 250 labels WHEN Octokit paginates THEN it follows the Link headers to every page", async () => {
  const s = await startGitHubStandIn();
  try {
    s.addRepo(REPO);
    for (let i = 0; i < 250; i++) s.addLabel(REPO, `label-${String(i).padStart(3, "0")}`);
    const gh = github(captureIo(s.env(), "/"));
    const all = await gh.paginate("GET /repos/{owner}/{repo}/labels", { owner: "acme", repo: "mirror-gokapi", per_page: 100 });
    assert.equal(all.length, 250);
    assert.equal(new Set(all.map((l) => l.name)).size, 250);
    assert.equal(s.requests.length, 3);
  } finally {
    await s.stop();
  }
});

test("GIVEN a tag list from test/testdata WHEN seeded THEN tags point at dated commits and /tags lists them by name, descending", async () => {
  const s = await startGitHubStandIn();
  try {
    s.addRepo("dutchcoders/transfer.sh");
    const tags = s.seedTagLines("dutchcoders/transfer.sh", "v1.6.0 2023-06-06 19:59:21 +0900\nv1.6.1 2023-12-04 14:58:11 +0900\n");
    assert.deepEqual([...tags.keys()], ["v1.6.0", "v1.6.1"]);
    const r = await raw(s, "GET", "/repos/dutchcoders/transfer.sh/tags");
    const list = r.body as unknown as Array<{ name: string; commit: { sha: string } }>;
    assert.deepEqual(list.map((t) => t.name), ["v1.6.1", "v1.6.0"]);
    const c = await raw(s, "GET", `/repos/dutchcoders/transfer.sh/commits/${list[0].commit.sha}`);
    assert.equal((c.body as { commit: { committer: { date: string } } }).commit.committer.date, "2023-12-04T05:58:11Z");
  } finally {
    await s.stop();
  }
});

test("GIVEN a started stand-in with an open keep-alive connection WHEN stopped THEN its port refuses connections", async () => {
  const s = await startGitHubStandIn();
  s.addRepo(REPO);
  await raw(s, "GET", `/repos/${REPO}`);
  const port = Number(new URL(s.url).port);
  await s.stop();
  const refused = await new Promise<boolean>((resolve) => {
    const sock = net.connect(port, "127.0.0.1");
    sock.once("connect", () => {
      sock.destroy();
      resolve(false);
    });
    sock.once("error", () => resolve(true));
  });
  assert.equal(refused, true);
});

test("GIVEN the Actions access setting (issue 21) WHEN set THEN an organisation's private repository shares with the organisation; a public repository, or user level in an organisation, is refused; exportCommit writes a commit's tree", async () => {
  const s = await startGitHubStandIn();
  try {
    s.addOrg("acme");
    s.addRepo("acme/mirror-fleet-pipeline", { files: { "action.yml": "name: x\n", "pipeline.cjs": "1\n" } });
    s.addRepo("acme/public-one", { private: false });
    const path = "/repos/acme/mirror-fleet-pipeline/actions/permissions/access";
    assert.deepEqual(await raw(s, "GET", path), { status: 200, body: { access_level: "none" } });
    assert.equal((await raw(s, "PUT", path, { access_level: "organization" })).status, 204);
    assert.deepEqual(await raw(s, "GET", path), { status: 200, body: { access_level: "organization" } });
    assert.equal(s.settingsOf("acme/mirror-fleet-pipeline").actionsAccess, "organization");
    const refused = [
      await raw(s, "PUT", "/repos/acme/public-one/actions/permissions/access", { access_level: "organization" }),
      await raw(s, "PUT", path, { access_level: "user" }),
      await raw(s, "PUT", path, { access_level: "everyone" }),
    ];
    assert.deepEqual(refused.map((r) => r.status), [422, 422, 422]);
    assert.match(String(refused[0].body?.message), /applies to private repositories only/);
    assert.match(String(refused[2].body?.message), /must be equal to one of the allowed values/);
    assert.equal(s.settingsOf("acme/mirror-fleet-pipeline").actionsAccess, "organization");
    const sha = s.history("acme/mirror-fleet-pipeline", "main")[0].sha;
    const dir = require("node:fs").mkdtempSync(require("node:path").join(require("node:os").tmpdir(), "export-"));
    assert.deepEqual(s.exportCommit("acme/mirror-fleet-pipeline", sha, dir), ["action.yml", "pipeline.cjs"]);
    assert.equal(require("node:fs").readFileSync(`${dir}/pipeline.cjs`, "utf8"), "1\n");
    assert.throws(() => s.exportCommit("acme/mirror-fleet-pipeline", "0".repeat(40), dir), /has no commit/);
  } finally {
    await s.stop();
  }
});

// ---------------------------------------------------------------------------
// As strict as GitHub: identities, rulesets, secrets, organisation defaults.

const OWNER_TOKEN = "ghp_owner_ada_0001";
const MEMBER_TOKEN = "ghp_member_bob_0001";
const APP_TOKEN = "ghs_app_deploy_0001";
const NO_WORKFLOWS_TOKEN = "ghs_app_noworkflows_01";

/** A stand-in with an owner, a member (base role read), and two installations of App 4242 (one without Workflows). */
async function strict(): Promise<GitHubStandIn> {
  const s = await startGitHubStandIn({
    identities: {
      [OWNER_TOKEN]: { kind: "owner", login: "ada" },
      [MEMBER_TOKEN]: { kind: "member", login: "bob", teams: [77] },
      [APP_TOKEN]: { kind: "app", appId: 4242, installationId: 1, slug: "fleet-deploy", permissions: { administration: "write", contents: "write", workflows: "write", issues: "write", secrets: "write", pull_requests: "write" } },
      [NO_WORKFLOWS_TOKEN]: { kind: "app", appId: 4343, installationId: 2, permissions: { contents: "write" } },
    },
  });
  s.addOrg("acme");
  s.addRepo(REPO);
  return s;
}

const put = (s: GitHubStandIn, token: string, file: string, content: string, branch = "main") =>
  raw(s, "PUT", `/repos/${REPO}/contents/${file}`, { message: `add ${file}`, content: Buffer.from(content).toString("base64"), branch }, token);

function defaultBranchRuleset(bypass: unknown[], rules: unknown[] = [{ type: "deletion" }, { type: "non_fast_forward" }, { type: "pull_request", parameters: { required_approving_review_count: 1, require_last_push_approval: true, require_code_owner_review: false, dismiss_stale_reviews_on_push: true, required_review_thread_resolution: false } }]) {
  return { name: "mirror-fleet: default branch", target: "branch", enforcement: "active", conditions: { ref_name: { include: ["~DEFAULT_BRANCH"], exclude: [] } }, bypass_actors: bypass, rules };
}

test("GIVEN identities WHEN each calls THEN GitHub's permission rules answer: an App without a permission 403 with the one it needs, a member 404 or 403 by role", async () => {
  const s = await strict();
  try {
    const workflow = await put(s, NO_WORKFLOWS_TOKEN, ".github/workflows/mirror.yml", "on: push\n");
    assert.equal(workflow.status, 403);
    assert.equal(workflow.body?.message, "Resource not accessible by integration");
    assert.equal((await put(s, NO_WORKFLOWS_TOKEN, "notes.txt", "x\n")).status, 201, "Contents: write is enough outside .github/workflows/");
    assert.equal((await put(s, APP_TOKEN, ".github/workflows/mirror.yml", "on: push\n")).status, 201, "with Workflows: write");
    const res = await fetch(`${s.url}/repos/${REPO}/labels`, { method: "POST", headers: { authorization: `token ${NO_WORKFLOWS_TOKEN}` }, body: JSON.stringify({ name: "cve", color: "b60205" }) });
    assert.equal(res.status, 403);
    assert.equal(res.headers.get("x-accepted-github-permissions"), "issues=write; pull_requests=write");
    // An environment secret needs Environments as well as Secrets.
    assert.equal((await raw(s, "PUT", `/repos/${REPO}/environments/mirror-signing`, {}, APP_TOKEN)).status, 200);
    const envKey = await fetch(`${s.url}/repos/${REPO}/environments/mirror-signing/secrets/public-key`, { headers: { authorization: `token ${APP_TOKEN}` } });
    assert.deepEqual([envKey.status, envKey.headers.get("x-accepted-github-permissions")], [403, "secrets=read,environments=read"]);
    // A member with the organisation's base role (read): sees the repository, may not write or change it.
    assert.equal((await raw(s, "GET", `/repos/${REPO}`, undefined, MEMBER_TOKEN)).status, 200);
    assert.equal((await put(s, MEMBER_TOKEN, "x.txt", "x\n")).status, 404);
    const settings = await raw(s, "PATCH", `/repos/${REPO}`, { has_wiki: false }, MEMBER_TOKEN);
    assert.deepEqual([settings.status, settings.body?.message], [403, "Must have admin rights to Repository."]);
    // A private repository of another account is not there for them.
    s.addRepo("someone/private-thing");
    assert.equal((await raw(s, "GET", "/repos/someone/private-thing", undefined, MEMBER_TOKEN)).status, 404);
    // GET /user is a user's own profile: an installation gets 403.
    assert.equal((await raw(s, "GET", "/user", undefined, APP_TOKEN)).status, 403);
    assert.equal((await raw(s, "GET", "/user", undefined, OWNER_TOKEN)).body?.login, "ada");
  } finally {
    await s.stop();
  }
});

test("GIVEN a default-branch ruleset WHEN each identity writes to the branch THEN only its bypass actors pass, with GitHub's rule violation answers", async () => {
  const s = await strict();
  try {
    const create = async (bypass: unknown[]) => {
      for (const id of [...s.repo(REPO).rulesets.keys()]) s.repo(REPO).rulesets.delete(id);
      return raw(s, "POST", `/repos/${REPO}/rulesets`, defaultBranchRuleset(bypass), OWNER_TOKEN);
    };
    // OrganizationAdmin: the owner passes, an App and a member do not.
    const rs = await create([{ actor_type: "OrganizationAdmin", bypass_mode: "always" }]);
    assert.equal(rs.status, 201, JSON.stringify(rs.body));
    assert.equal(rs.body?.current_user_can_bypass, "always");
    assert.equal((await raw(s, "GET", `/repos/${REPO}/rulesets/${rs.body?.id}`, undefined, APP_TOKEN)).body?.current_user_can_bypass, "never");
    assert.equal((await put(s, OWNER_TOKEN, "a.txt", "a\n")).status, 201);
    const refused = await put(s, APP_TOKEN, "b.txt", "b\n");
    assert.equal(refused.status, 409);
    assert.equal(refused.body?.message, "Repository rule violations found\n\nChanges must be made through a pull request.\n\n");
    // Integration with the App's id: that App passes; another id does not.
    await create([{ actor_id: 4242, actor_type: "Integration", bypass_mode: "always" }]);
    assert.equal((await put(s, APP_TOKEN, "b.txt", "b\n")).status, 201);
    await create([{ actor_id: 999, actor_type: "Integration", bypass_mode: "always" }]);
    assert.equal((await put(s, APP_TOKEN, "c.txt", "c\n")).status, 409);
    assert.equal((await put(s, OWNER_TOKEN, "c.txt", "c\n")).status, 409, "an owner is no bypass actor of this ruleset");
    // Team and RepositoryRole (admin = 5).
    await create([{ actor_id: 77, actor_type: "Team", bypass_mode: "always" }]);
    s.repo(REPO).createdBy = "bob"; // bob created it: admin, so he may write at all
    assert.equal((await put(s, MEMBER_TOKEN, "d.txt", "d\n")).status, 201);
    await create([{ actor_id: 5, actor_type: "RepositoryRole", bypass_mode: "always" }]);
    assert.equal((await put(s, MEMBER_TOKEN, "e.txt", "e\n")).status, 201);
    // non_fast_forward and deletion, through git refs: 422.
    await create([]);
    const main = s.head(REPO, "main")!;
    const force = await raw(s, "PATCH", `/repos/${REPO}/git/refs/heads/main`, { sha: main.parents[0], force: true }, OWNER_TOKEN);
    assert.deepEqual([force.status, force.body?.message], [422, "Repository rule violations found\n\nCannot force-push to this branch\n\nChanges must be made through a pull request.\n\n"]);
    const del = await raw(s, "DELETE", `/repos/${REPO}/git/refs/heads/main`, undefined, OWNER_TOKEN);
    assert.deepEqual([del.status, del.body?.message], [422, "Repository rule violations found\n\nCannot delete this branch\n\n"]);
    // Another branch is not the default branch: no rule applies.
    assert.equal((await raw(s, "POST", `/repos/${REPO}/git/refs`, { ref: "refs/heads/feature", sha: main.sha }, APP_TOKEN)).status, 201);
    assert.equal((await put(s, APP_TOKEN, "f.txt", "f\n", "feature")).status, 201);
    // A merge through the API needs the approvals; approved by someone other than the author, it passes.
    const pr = await raw(s, "POST", `/repos/${REPO}/pulls`, { title: "f", head: "feature", base: "main" }, APP_TOKEN);
    assert.equal(pr.status, 201, JSON.stringify(pr.body));
    const early = await raw(s, "PUT", `/repos/${REPO}/pulls/${pr.body?.number}/merge`, {}, APP_TOKEN);
    assert.deepEqual([early.status, early.body?.message], [405, "Repository rule violations found\n\nAt least 1 approving review is required by reviewers with write access.\n\n"]);
    s.approvePull(REPO, Number(pr.body?.number), "alice");
    assert.equal((await raw(s, "PUT", `/repos/${REPO}/pulls/${pr.body?.number}/merge`, {}, APP_TOKEN)).status, 200);
    // bypass_mode pull_request: no direct push, but a merge without reviews.
    await create([{ actor_id: 4242, actor_type: "Integration", bypass_mode: "pull_request" }]);
    assert.equal((await put(s, APP_TOKEN, "g.txt", "g\n")).status, 409);
    await raw(s, "PATCH", `/repos/${REPO}/git/refs/heads/feature`, { sha: s.head(REPO, "main")!.sha, force: true }, APP_TOKEN);
    assert.equal((await put(s, APP_TOKEN, "g.txt", "g\n", "feature")).status, 201);
    const pr2 = await raw(s, "POST", `/repos/${REPO}/pulls`, { title: "g", head: "feature", base: "main" }, APP_TOKEN);
    assert.equal((await raw(s, "PUT", `/repos/${REPO}/pulls/${pr2.body?.number}/merge`, {}, APP_TOKEN)).status, 200);
    // evaluate: reported, not enforced.
    await create([]);
    const id = [...s.repo(REPO).rulesets.keys()][0];
    await raw(s, "PUT", `/repos/${REPO}/rulesets/${id}`, { enforcement: "evaluate" }, OWNER_TOKEN);
    assert.equal((await put(s, APP_TOKEN, "h.txt", "h\n")).status, 201);
    assert.equal(s.unimplemented.length, 0);
    // A rule the stand-in does not evaluate refuses the write as unimplemented, rather than letting it through.
    await raw(s, "POST", `/repos/${REPO}/rulesets`, { ...defaultBranchRuleset([], [{ type: "required_signatures" }]), name: "signed" }, OWNER_TOKEN);
    assert.equal((await put(s, OWNER_TOKEN, "i.txt", "i\n")).status, 400);
    assert.match(s.unimplemented.map((u) => u.reason).join("\n"), /has a required_signatures rule, which the stand-in does not evaluate/);
  } finally {
    await s.stop();
  }
});

test("GIVEN an archived repository WHEN anything writes THEN 403 read-only, until it is unarchived", async () => {
  const s = await strict();
  try {
    s.archiveRepo(REPO);
    for (const [method, path, body] of [
      ["POST", `/repos/${REPO}/issues`, { title: "t" }],
      ["POST", `/repos/${REPO}/labels`, { name: "cve", color: "b60205" }],
      ["PUT", `/repos/${REPO}/topics`, { names: ["x"] }],
      ["PATCH", `/repos/${REPO}`, { description: "d" }],
    ] as const) {
      const r = await raw(s, method, path, body, OWNER_TOKEN);
      assert.deepEqual([r.status, r.body?.message], [403, "Repository was archived so is read-only."], `${method} ${path}`);
    }
    assert.equal((await put(s, OWNER_TOKEN, "a.txt", "a\n")).status, 403);
    assert.equal((await raw(s, "GET", `/repos/${REPO}`, undefined, OWNER_TOKEN)).body?.archived, true);
    const unarchived = await raw(s, "PATCH", `/repos/${REPO}`, { archived: false }, OWNER_TOKEN);
    assert.deepEqual([unarchived.status, unarchived.body?.archived], [200, false]);
    assert.equal((await put(s, OWNER_TOKEN, "a.txt", "a\n")).status, 201);
  } finally {
    await s.stop();
  }
});

test("GIVEN a secret sealed to the repository's key WHEN stored THEN its plaintext can be read back; a box not sealed to it is refused", async () => {
  const s = await startGitHubStandIn();
  try {
    s.addRepo(REPO);
    const key = (await raw(s, "GET", `/repos/${REPO}/actions/secrets/public-key`)).body as { key: string; key_id: string };
    assert.equal(Buffer.from(key.key, "base64").length, 32, "an X25519 public key");
    await sodium.ready;
    const seal = (text: string, pub: Uint8Array) => Buffer.from(sodium.crypto_box_seal(sodium.from_string(text), pub)).toString("base64");
    const ok = await raw(s, "PUT", `/repos/${REPO}/actions/secrets/COSIGN_PASSWORD`, { encrypted_value: seal("hunter2", Buffer.from(key.key, "base64")), key_id: key.key_id });
    assert.equal(ok.status, 201);
    assert.equal(s.secretValue(REPO, "COSIGN_PASSWORD"), "hunter2");
    const other = sodium.crypto_box_keypair();
    const wrong = await raw(s, "PUT", `/repos/${REPO}/actions/secrets/COSIGN_PASSWORD`, { encrypted_value: seal("hunter3", other.publicKey), key_id: key.key_id });
    assert.equal(wrong.status, 422);
    assert.equal(s.secretValue(REPO, "COSIGN_PASSWORD"), "hunter2", "the refused value did not replace it");
  } finally {
    await s.stop();
  }
});

test("GIVEN an organisation's defaults WHEN a repository is created THEN it starts on its branch with its labels, and a label differing in case is taken", async () => {
  const s = await startGitHubStandIn();
  try {
    s.addOrg("acme", { defaultBranch: "master", defaultLabels: [{ name: "Security", color: "ff0000", description: "Org default" }] });
    s.addOrg("plain");
    const created = await raw(s, "POST", "/orgs/acme/repos", { name: "m", auto_init: true, private: true });
    assert.equal(created.body?.default_branch, "master");
    assert.deepEqual(s.branches("acme/m"), ["master"]);
    const clash = await raw(s, "POST", "/repos/acme/m/labels", { name: "security", color: "e11d21" });
    assert.equal(clash.status, 422);
    assert.deepEqual((clash.body as { errors: unknown[] }).errors, [{ resource: "Label", code: "already_exists", field: "name" }]);
    // Without an organisation setting, GitHub's nine default labels.
    await raw(s, "POST", "/orgs/plain/repos", { name: "m", auto_init: true });
    assert.deepEqual([...s.repo("plain/m").labels.values()].map((l) => l.name), ["bug", "documentation", "duplicate", "enhancement", "good first issue", "help wanted", "invalid", "question", "wontfix"]);
    assert.equal(s.repo("plain/m").defaultBranch, "main");
  } finally {
    await s.stop();
  }
});

test("GIVEN a rename with a delay WHEN the branch is read and written meanwhile THEN the old name stays the default, the new one is not there and the old one refuses writes, until it lands", async () => {
  const s = await startGitHubStandIn();
  try {
    s.addOrg("acme", { defaultBranch: "master", renameDelayMs: 400 });
    await raw(s, "POST", "/orgs/acme/repos", { name: "m", auto_init: true });
    const renamed = await raw(s, "POST", "/repos/acme/m/branches/master/rename", { new_name: "main" });
    assert.equal(renamed.status, 201);
    assert.equal((await raw(s, "GET", "/repos/acme/m")).body?.default_branch, "master");
    assert.equal((await raw(s, "GET", "/repos/acme/m/branches/main")).status, 404);
    const write = await raw(s, "PUT", "/repos/acme/m/contents/a.txt", { message: "a", content: "YQo=", branch: "master" });
    assert.equal(write.status, 409);
    await new Promise((r) => setTimeout(r, 450));
    assert.equal((await raw(s, "GET", "/repos/acme/m")).body?.default_branch, "main");
    assert.equal((await raw(s, "GET", "/repos/acme/m/branches/main")).status, 200);
  } finally {
    await s.stop();
  }
});

test("GIVEN an unchanged resource WHEN fetched with its ETag THEN 304 and no body, not counted against the rate limit; a change gives a new ETag", async () => {
  const s = await startGitHubStandIn({ rateLimit: { limit: 3, windowMs: 60_000 } });
  try {
    s.addRepo(REPO);
    const get = (etag?: string) => fetch(`${s.url}/repos/${REPO}`, { headers: { authorization: `token ${s.token}`, ...(etag ? { "if-none-match": etag } : {}) } });
    const first = await get();
    const etag = first.headers.get("etag")!;
    assert.match(etag, /^W\/"[0-9a-f]{64}"$/);
    assert.deepEqual([first.headers.get("x-ratelimit-limit"), first.headers.get("x-ratelimit-remaining"), first.headers.get("x-ratelimit-used"), first.headers.get("x-ratelimit-resource")], ["3", "2", "1", "core"]);
    assert.ok(Number(first.headers.get("x-ratelimit-reset")) > Date.now() / 1000);
    const again = await get(etag);
    assert.equal(again.status, 304);
    assert.equal(await again.text(), "");
    assert.equal(again.headers.get("x-ratelimit-remaining"), "2", "a 304 is not counted");
    s.editRepo(REPO, { has_wiki: false });
    const changed = await get(etag);
    assert.equal(changed.status, 200);
    assert.notEqual(changed.headers.get("etag"), etag);
    await get();
    const limited = await get();
    assert.equal(limited.status, 403);
    assert.equal(limited.headers.get("x-ratelimit-remaining"), "0");
    assert.match(((await limited.json()) as { message: string }).message, /^API rate limit exceeded for user ID \d+\.$/);
  } finally {
    await s.stop();
  }
});

test("GIVEN the organisation forbids Actions from approving pull requests WHEN a repository turns it on THEN 409; once the organisation allows it, 204", async () => {
  const s = await startGitHubStandIn();
  try {
    s.addOrg("acme");
    s.addRepo(REPO);
    assert.deepEqual((await raw(s, "GET", "/orgs/acme/actions/permissions/workflow")).body, { default_workflow_permissions: "read", can_approve_pull_request_reviews: false });
    assert.equal((await raw(s, "PUT", `/repos/${REPO}/actions/permissions/workflow`, { can_approve_pull_request_reviews: true })).status, 409);
    assert.equal((await raw(s, "PUT", "/orgs/acme/actions/permissions/workflow", { can_approve_pull_request_reviews: true })).status, 204);
    assert.equal((await raw(s, "PUT", `/repos/${REPO}/actions/permissions/workflow`, { can_approve_pull_request_reviews: true })).status, 204);
  } finally {
    await s.stop();
  }
});

test("GIVEN a repository a stranger created WHEN read THEN its first commit is theirs, as on GitHub; created through the API by a member it is theirs too", async () => {
  const s = await startGitHubStandIn({ identities: { [OWNER_TOKEN]: { kind: "owner", login: "ada" }, [MEMBER_TOKEN]: { kind: "member", login: "mallory" } } });
  try {
    s.addOrg("acme");
    s.addRepo("acme/mirror-seeded", { createdBy: "eve" });
    assert.equal(s.repo("acme/mirror-seeded").createdBy, "eve");
    assert.equal(s.history("acme/mirror-seeded", "main").at(-1)!.author?.name, "eve");
    assert.equal((await raw(s, "POST", "/orgs/acme/repos", { name: "mirror-squat", auto_init: true, private: true }, MEMBER_TOKEN)).status, 201);
    assert.equal(s.repo("acme/mirror-squat").createdBy, "mallory");
    const commits = await raw(s, "GET", "/repos/acme/mirror-squat/commits", undefined, OWNER_TOKEN);
    assert.equal((commits.body as unknown as Array<{ commit: { author: { name: string } } }>)[0].commit.author.name, "mallory");
    // The owner sees and may administer it (organisation owners are admins of every repository).
    assert.equal((await raw(s, "GET", "/repos/acme/mirror-squat", undefined, OWNER_TOKEN)).body?.permissions && true, true);
  } finally {
    await s.stop();
  }
});
