/**
 * The stand-in's answers against GitHub's own response schemas: every
 * operation it serves (the provider's and the pipeline's) is sent, and each
 * 2xx answer must match the schema api.github.com's description gives for
 * that operation and status (ajv; the stand-in records a mismatch in
 * `badResponses`). A served operation this test does not reach fails it, so
 * a new handler cannot skip the check.
 */
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { test } from "node:test";
import sodium from "libsodium-wrappers";
import { appJwt } from "../../infra/github-token";
import { servedOperations, startGitHubStandIn, type GitHubStandIn } from "../support/github-standin";

const ORG = "acme";
const REPO = `${ORG}/mirror-x`;

/** The answers' text, by the way in (`""` for github.com's, `/api/v3` for an Enterprise Server's). */
type Seen = Record<string, string[]>;

function client(s: GitHubStandIn, prefix = "", seen: Seen = {}) {
  return async (method: string, path: string, body?: unknown, token = s.token): Promise<{ status: number; body: any }> => {
    const res = await fetch(`${s.url}${prefix}${path}`, {
      method,
      headers: { authorization: `token ${token}`, "content-type": "application/json" },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    if (res.ok) (seen[prefix] ??= []).push(`${method} ${path}: ${text}`);
    return { status: res.status, body: text ? JSON.parse(text) : null };
  };
}

/** The absolute URLs of an answer that name a host of github.com (its API, web pages, uploads, git). */
const dotcomUrls = (text: string) => text.match(/(?:https:\/\/(?:api\.|uploads\.)?github\.com\/|git@github\.com:|git:\/\/github\.com\/)[^"]*/g) ?? [];

const b64 = (t: string) => Buffer.from(t).toString("base64");

test("GIVEN every operation the stand-in serves WHEN each is sent THEN every 2xx answer matches GitHub's response schema for it", async () => {
  const s = await startGitHubStandIn({ botLogin: "octo" });
  try {
    s.addOrg(ORG, { canApprovePullRequestReviews: true });
    s.addRepo("upstream/tool", { private: false, date: "2026-01-02T00:00:00Z" });
    s.addTag("upstream/tool", "v1.0.0");
    s.addRelease("upstream/tool", { tag: "v1.0.0", date: "2026-01-02T00:00:00Z" });
    const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    s.addApp("4242", publicKey.export({ type: "spki", format: "pem" }).toString());
    const seen: Seen = {};
    const gh = client(s, "", seen);
    const ghes = client(s, "/api/v3", seen);
    const ok = async (p: Promise<{ status: number; body: any }>, what: string) => {
      const r = await p;
      assert.ok(r.status >= 200 && r.status < 300, `${what}: ${r.status} ${JSON.stringify(r.body)}`);
      return r.body;
    };

    await ok(ghes("GET", `/orgs/${ORG}`), "orgs/get");
    await ok(gh("GET", "/user"), "users/get-authenticated");
    await ok(ghes("POST", `/orgs/${ORG}/repos`, { name: "mirror-x", private: true, auto_init: true, has_wiki: false }), "repos/create-in-org");
    await ok(gh("POST", "/user/repos", { name: "scratch" }), "repos/create-for-authenticated-user");
    await ok(ghes("GET", `/repos/${REPO}`), "repos/get");
    await ok(ghes("PATCH", `/repos/${REPO}`, { description: "mirror" }), "repos/update");
    await ok(ghes("PUT", `/repos/${REPO}/topics`, { names: ["mirror-fleet"] }), "repos/replace-all-topics");
    await ok(ghes("GET", `/repos/${REPO}/topics`), "repos/get-all-topics");
    await ok(ghes("PUT", `/repos/${REPO}/vulnerability-alerts`), "repos/enable-vulnerability-alerts");
    await ok(ghes("GET", `/repos/${REPO}/vulnerability-alerts`), "repos/check-vulnerability-alerts");
    await ok(ghes("DELETE", `/repos/${REPO}/vulnerability-alerts`), "repos/disable-vulnerability-alerts");
    await ok(ghes("POST", `/repos/${REPO}/branches/main/rename`, { new_name: "trunk" }), "repos/rename-branch");
    await ok(ghes("POST", `/repos/${REPO}/branches/trunk/rename`, { new_name: "main" }), "repos/rename-branch back");

    await ok(ghes("POST", `/repos/${REPO}/labels`, { name: "cve", color: "b60205", description: "CVE" }), "issues/create-label");
    await ok(ghes("GET", `/repos/${REPO}/labels/cve`), "issues/get-label");
    await ok(gh("GET", `/repos/${REPO}/labels`), "issues/list-labels-for-repo");
    await ok(ghes("PATCH", `/repos/${REPO}/labels/cve`, { color: "b60206" }), "issues/update-label");
    await ok(ghes("POST", `/repos/${REPO}/labels`, { name: "gone", color: "ededed" }), "create a label to delete");
    await ok(ghes("DELETE", `/repos/${REPO}/labels/gone`), "issues/delete-label");

    const ruleset = await ok(
      ghes("POST", `/repos/${REPO}/rulesets`, {
        name: "default branch",
        target: "branch",
        enforcement: "active",
        conditions: { ref_name: { include: ["~DEFAULT_BRANCH"], exclude: [] } },
        bypass_actors: [{ actor_type: "OrganizationAdmin", bypass_mode: "always" }],
        rules: [{ type: "deletion" }, { type: "non_fast_forward" }],
      }),
      "repos/create-repo-ruleset",
    );
    await ok(ghes("GET", `/repos/${REPO}/rulesets`), "repos/get-repo-rulesets");
    await ok(ghes("GET", `/repos/${REPO}/rulesets/${ruleset.id}`), "repos/get-repo-ruleset");
    await ok(ghes("PUT", `/repos/${REPO}/rulesets/${ruleset.id}`, { enforcement: "evaluate" }), "repos/update-repo-ruleset");
    await ok(ghes("DELETE", `/repos/${REPO}/rulesets/${ruleset.id}`), "repos/delete-repo-ruleset");

    await ok(ghes("PUT", `/repos/${REPO}/actions/permissions`, { enabled: true, allowed_actions: "selected", sha_pinning_required: true }), "actions/set-github-actions-permissions-repository");
    await ok(ghes("GET", `/repos/${REPO}/actions/permissions`), "actions/get-github-actions-permissions-repository");
    await ok(ghes("PUT", `/repos/${REPO}/actions/permissions/selected-actions`, { github_owned_allowed: true, verified_allowed: true }), "actions/set-allowed-actions-repository");
    await ok(ghes("GET", `/repos/${REPO}/actions/permissions/selected-actions`), "actions/get-allowed-actions-repository");
    await ok(ghes("PUT", `/repos/${REPO}/actions/permissions/workflow`, { default_workflow_permissions: "read", can_approve_pull_request_reviews: true }), "actions/set-…-workflow-permissions-repository");
    await ok(ghes("GET", `/repos/${REPO}/actions/permissions/workflow`), "actions/get-…-workflow-permissions-repository");
    await ok(ghes("PUT", `/repos/${REPO}/actions/permissions/access`, { access_level: "organization" }), "actions/set-workflow-access-to-repository");
    await ok(ghes("GET", `/repos/${REPO}/actions/permissions/access`), "actions/get-workflow-access-to-repository");
    await ok(ghes("GET", `/orgs/${ORG}/actions/permissions/workflow`), "actions/get-…-workflow-permissions-organization");
    await ok(ghes("PUT", `/orgs/${ORG}/actions/permissions/workflow`, { can_approve_pull_request_reviews: true }), "actions/set-…-workflow-permissions-organization");

    const key = await ok(ghes("GET", `/repos/${REPO}/actions/secrets/public-key`), "actions/get-repo-public-key");
    await sodium.ready;
    const sealed = Buffer.from(sodium.crypto_box_seal(sodium.from_string("https://hooks.example/x"), Buffer.from(key.key, "base64"))).toString("base64");
    await ok(ghes("PUT", `/repos/${REPO}/actions/secrets/SLACK`, { encrypted_value: sealed, key_id: key.key_id }), "actions/create-or-update-repo-secret");
    assert.equal(s.secretValue(REPO, "SLACK"), "https://hooks.example/x");
    await ok(ghes("GET", `/repos/${REPO}/actions/secrets/SLACK`), "actions/get-repo-secret");
    await ok(ghes("GET", `/repos/${REPO}/actions/secrets`), "actions/list-repo-secrets");
    await ok(ghes("DELETE", `/repos/${REPO}/actions/secrets/SLACK`), "actions/delete-repo-secret");

    const issue = await ok(gh("POST", `/repos/${REPO}/issues`, { title: "CVE", body: "b", labels: ["cve"] }), "issues/create");
    await ok(gh("GET", `/repos/${REPO}/issues/${issue.number}`), "issues/get");
    await ok(gh("PATCH", `/repos/${REPO}/issues/${issue.number}`, { body: "c" }), "issues/update");
    await ok(gh("GET", `/repos/${REPO}/issues?state=all`), "issues/list-for-repo");
    const comment = await ok(gh("POST", `/repos/${REPO}/issues/${issue.number}/comments`, { body: "again" }), "issues/create-comment");
    await ok(gh("GET", `/repos/${REPO}/issues/${issue.number}/comments`), "issues/list-comments");
    await ok(gh("PATCH", `/repos/${REPO}/issues/comments/${comment.id}`, { body: "again!" }), "issues/update-comment");
    await ok(gh("POST", `/repos/${REPO}/issues/${issue.number}/labels`, { labels: ["security"] }), "issues/add-labels");
    await ok(gh("DELETE", `/repos/${REPO}/issues/${issue.number}/labels/security`), "issues/remove-label");
    await ok(gh("PATCH", `/repos/${REPO}/issues/${issue.number}`, { state: "closed", state_reason: "completed" }), "close it (a timeline event)");
    await ok(gh("GET", `/repos/${REPO}/issues/${issue.number}/timeline`), "issues/list-events-for-timeline");

    const main = await ok(gh("GET", `/repos/${REPO}/git/ref/heads/main`), "git/get-ref");
    await ok(gh("GET", `/repos/${REPO}/git/matching-refs/heads/`), "git/list-matching-refs");
    await ok(gh("POST", `/repos/${REPO}/git/refs`, { ref: "refs/heads/mirror-build/v1", sha: main.object.sha }), "git/create-ref");
    await ok(gh("PATCH", `/repos/${REPO}/git/refs/heads/mirror-build/v1`, { sha: main.object.sha, force: true }), "git/update-ref");
    const put = await ok(gh("PUT", `/repos/${REPO}/contents/deploy/image-pin.yml`, { message: "pin", content: b64("tag: v1\n"), branch: "mirror-build/v1" }), "repos/create-or-update-file-contents");
    await ok(ghes("GET", `/repos/${REPO}/contents/deploy/image-pin.yml?ref=mirror-build/v1`), "repos/get-content (file)");
    await ok(gh("GET", `/repos/${REPO}/contents/deploy?ref=mirror-build/v1`), "repos/get-content (directory)");
    await ok(ghes("GET", `/repos/${REPO}/commits?sha=mirror-build/v1&path=deploy/image-pin.yml`), "repos/list-commits");
    await ok(ghes("GET", `/repos/${REPO}/commits/${put.commit.sha}`), "repos/get-commit");
    await ok(gh("GET", `/repos/${REPO}/branches`), "repos/list-branches");
    await ok(ghes("GET", `/repos/${REPO}/branches/main`), "repos/get-branch");
    await ok(gh("PUT", `/repos/${REPO}/contents/deploy/extra.txt`, { message: "extra", content: b64("x\n"), branch: "mirror-build/v1" }), "a file to delete");
    const extra = await ok(gh("GET", `/repos/${REPO}/contents/deploy/extra.txt?ref=mirror-build/v1`), "read it");
    await ok(gh("DELETE", `/repos/${REPO}/contents/deploy/extra.txt`, { message: "rm", sha: extra.sha, branch: "mirror-build/v1" }), "repos/delete-file");

    const pull = await ok(gh("POST", `/repos/${REPO}/pulls`, { title: "Pin v1", head: "mirror-build/v1", base: "main", body: "audit" }), "pulls/create");
    await ok(gh("GET", `/repos/${REPO}/pulls?state=all`), "pulls/list");
    await ok(gh("GET", `/repos/${REPO}/pulls/${pull.number}`), "pulls/get");
    await ok(gh("PATCH", `/repos/${REPO}/pulls/${pull.number}`, { body: "audit, again" }), "pulls/update");
    await ok(gh("PUT", `/repos/${REPO}/pulls/${pull.number}/merge`, {}), "pulls/merge");
    await ok(gh("GET", `/repos/${REPO}/pulls/${pull.number}/merge`), "pulls/check-if-merged");
    await ok(gh("DELETE", `/repos/${REPO}/git/refs/heads/mirror-build/v1`), "git/delete-ref");

    // Who and what else can reach a repository (infra/adopt.ts reads these before adopting one).
    s.repo(REPO).access = { collaborators: [{ login: "eve", role_name: "write" }], invitations: [], teams: [], keys: [], hooks: [], variables: [], runners: [], environments: [] };
    for (const [p, op] of [
      ["collaborators", "repos/list-collaborators"],
      ["invitations", "repos/list-invitations"],
      ["teams", "repos/list-teams"],
      ["keys", "repos/list-deploy-keys"],
      ["hooks", "repos/list-webhooks"],
      ["actions/variables", "actions/list-repo-variables"],
      ["actions/runners", "actions/list-self-hosted-runners-for-repo"],
      ["environments", "repos/get-all-environments"],
    ]) {
      await ok(ghes("GET", `/repos/${REPO}/${p}`), op);
    }
    await ok(ghes("GET", `/repos/${REPO}/collaborators/eve/permission`), "repos/get-collaborator-permission-level");

    // Deployment environments, their branch policies and sealed secrets.
    const ENV = `/repos/${REPO}/environments/mirror-signing`;
    await ok(ghes("PUT", ENV, { deployment_branch_policy: { protected_branches: false, custom_branch_policies: true } }), "repos/create-or-update-environment");
    await ok(ghes("GET", ENV), "repos/get-environment");
    const policy = await ok(ghes("POST", `${ENV}/deployment-branch-policies`, { name: "main", type: "branch" }), "repos/create-deployment-branch-policy");
    await ok(ghes("GET", `${ENV}/deployment-branch-policies`), "repos/list-deployment-branch-policies");
    await ok(ghes("GET", `${ENV}/deployment-branch-policies/${policy.id}`), "repos/get-deployment-branch-policy");
    await ok(ghes("PUT", `${ENV}/deployment-branch-policies/${policy.id}`, { name: "trunk" }), "repos/update-deployment-branch-policy");
    await ok(ghes("DELETE", `${ENV}/deployment-branch-policies/${policy.id}`), "repos/delete-deployment-branch-policy");
    const envKey = await ok(ghes("GET", `${ENV}/secrets/public-key`), "actions/get-environment-public-key");
    const envSealed = Buffer.from(sodium.crypto_box_seal(sodium.from_string("cosign key"), Buffer.from(envKey.key, "base64"))).toString("base64");
    await ok(ghes("PUT", `${ENV}/secrets/COSIGN_PRIVATE_KEY`, { encrypted_value: envSealed, key_id: envKey.key_id }), "actions/create-or-update-environment-secret");
    assert.equal(s.secretValue(REPO, "COSIGN_PRIVATE_KEY", "mirror-signing"), "cosign key");
    await ok(ghes("GET", `${ENV}/secrets/COSIGN_PRIVATE_KEY`), "actions/get-environment-secret");
    await ok(ghes("DELETE", `${ENV}/secrets/COSIGN_PRIVATE_KEY`), "actions/delete-environment-secret");
    await ok(ghes("DELETE", ENV), "repos/delete-an-environment");

    await ok(ghes("GET", `/repos/${REPO}/git/trees/${s.head(REPO, "main")!.sha}`), "git/get-tree");
    await ok(ghes("GET", "/repos/upstream/tool/tags"), "repos/list-tags");
    await ok(ghes("GET", "/repos/upstream/tool/releases"), "repos/list-releases");
    await ok(ghes("GET", "/repos/upstream/tool/releases/latest"), "repos/get-latest-release");
    await ok(ghes("GET", "/repos/upstream/tool/releases/tags/v1.0.0"), "repos/get-release-by-tag");
    await ok(gh("POST", `/repos/${REPO}/actions/workflows/mirror.yml/dispatches`, { ref: "main" }), "actions/create-workflow-dispatch");
    const jwt = appJwt("4242", privateKey.export({ type: "pkcs1", format: "pem" }).toString());
    await ok(gh("POST", "/app/installations/7/access_tokens", undefined, jwt), "apps/create-installation-access-token");
    await ok(ghes("DELETE", "/repos/octo/scratch"), "repos/delete");

    assert.deepEqual(s.rejected, [], "requests outside the description");
    assert.deepEqual(s.unimplemented, []);
    assert.deepEqual(s.badResponses, [], "answers outside GitHub's response schemas");
    // An Enterprise Server names itself in its answers (`{host}/…`, `{host}/api/v3/…`), github.com itself.
    assert.deepEqual(seen["/api/v3"].filter((a) => dotcomUrls(a).length), [], "an Enterprise Server's answers name github.com");
    assert.ok(seen["/api/v3"].some((a) => a.includes(`"html_url":"${s.url}/${REPO}"`)), "no Enterprise Server answer names the repository's page at the stand-in's address");
    assert.ok(seen[""].some((a) => a.includes(`"html_url":"https://github.com/${REPO}"`)), "github.com's answers do not name the repository's page on github.com");
    assert.deepEqual(seen[""].filter((a) => a.includes(s.url.replace("http://", ""))), [], "github.com's answers name the stand-in's address");
    const answered = new Set(s.requests.filter((r) => r.status >= 200 && r.status < 300).map((r) => r.operationId));
    assert.deepEqual(
      servedOperations().filter((op) => !answered.has(op)),
      [],
      "served operations this test never got a 2xx answer from (send them above)",
    );
  } finally {
    await s.stop();
  }
});

test("GIVEN an answer that does not match the schema WHEN served THEN it is recorded in badResponses", async () => {
  const s = await startGitHubStandIn();
  try {
    s.addRepo("acme/x");
    // A label without its required `default` field is not GitHub's label.
    s.addLabel("acme/x", "cve");
    const label = s.repo("acme/x").labels.get("cve")!;
    Object.defineProperty(label, "color", { get: () => 42 });
    const r = await client(s)("GET", "/repos/acme/x/labels/cve");
    assert.equal(r.status, 200);
    assert.equal(s.badResponses.length, 1);
    assert.match(s.badResponses[0].reason, /answer of issues\/get-label 200: \/color must be string/);
  } finally {
    await s.stop();
  }
});
