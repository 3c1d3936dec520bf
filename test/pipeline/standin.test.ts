/**
 * The GitHub stand-in itself: it must refuse what GitHub's OpenAPI
 * description does not allow (or the pipeline tests prove nothing), serve
 * what it allows, paginate like GitHub, and leave no listener behind.
 */
import assert from "node:assert/strict";
import * as net from "node:net";
import { test } from "node:test";
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
