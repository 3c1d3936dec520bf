/**
 * Red team, issue 17 item 1 (critical): adoption took over any repository
 * with a mirror's name. A member who can create repositories made a private
 * `acme-corp/mirror-plik` (own README, branch `master`, a workflow printing
 * `secrets.COSIGN_PRIVATE_KEY`) before the fleet did; the first `up` imported
 * it, renamed its branch, overwrote its README, added a ruleset and wrote the
 * fleet's signing key into its Actions secrets. Now (infra/adopt.ts) a
 * repository the stack's state does not hold is adopted only when it is what
 * the fleet's own create request leaves; anything else stops the run before
 * any write, naming the repository and what to do. The engine scenarios
 * (test/engine/adoption.test.ts) run the same cases through `pulumi up`.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { AdoptionRefused, findExisting, managedFrom, type AdoptionInputs, type Managed } from "../../infra/adopt";
import { PIPELINE_REPOSITORY_NAME } from "../../components/pipeline-action";
import { pipelineRepositoryArgs } from "../../components/pipeline-repository";
import { createdSettings, createdSettingsOf, repositoryArgs } from "../../components/repository";
import type { ResolvedMirror } from "../../components/types";
import type { Io } from "../../pipeline/cli";
import { github, type GitHub } from "../../pipeline/github";
import { startGitHubStandIn, type GitHubStandIn } from "../support/github-standin";

const OWNER = "acme-corp";
const NONE: Managed = { repositories: new Set() };

/** The fields of a resolved mirror that the repository's settings read. */
const plik = { name: "plik", repo: "mirror-plik", visibility: "private", sourceFile: "mirrors/plik.ts", upstream: { fullName: "root-gg/plik", url: "https://github.com/root-gg/plik" } } as unknown as ResolvedMirror;

function inputs(over: Partial<AdoptionInputs> = {}): AdoptionInputs {
  return { owner: OWNER, mirrors: [{ sourceFile: plik.sourceFile, repo: plik.repo, settings: createdSettings(plik) }], managed: NONE, vouched: [], ...over };
}

async function withStandIn(f: (s: GitHubStandIn, api: () => Promise<GitHub>) => Promise<void>): Promise<void> {
  const s = await startGitHubStandIn();
  s.addOrg(OWNER);
  const io: Io = { env: { GITHUB_API_URL: s.url, GITHUB_TOKEN: s.token, MIRROR_GITHUB_THROTTLE: "off" }, cwd: process.cwd(), stdout: () => undefined, stderr: () => undefined };
  try {
    await f(s, async () => github(io, { retries: 0 }));
  } finally {
    await s.stop();
  }
}

/** What POST /orgs/{org}/repos with the fleet's settings and auto_init leaves, made through the API as the provider makes it. */
async function createdByTheFleet(s: GitHubStandIn, a: Parameters<typeof createdSettingsOf>[0] & { readonly name: string; readonly autoInit?: boolean } = repositoryArgs(plik)): Promise<void> {
  const r = await fetch(`${s.url}/orgs/${OWNER}/repos`, {
    method: "POST",
    headers: { authorization: `token ${s.token}`, "content-type": "application/json" },
    body: JSON.stringify({
      name: a.name, description: a.description, homepage: a.homepageUrl, visibility: a.visibility, has_issues: a.hasIssues, has_wiki: a.hasWiki, has_projects: a.hasProjects,
      allow_merge_commit: a.allowMergeCommit, allow_squash_merge: a.allowSquashMerge, allow_rebase_merge: a.allowRebaseMerge,
      allow_auto_merge: a.allowAutoMerge, delete_branch_on_merge: a.deleteBranchOnMerge, auto_init: true,
    }),
  });
  assert.equal(r.status, 201, await r.text());
}

test("GIVEN a stranger's repository with a mirror's name (own README, branch master, a workflow, an admin) WHEN the program looks THEN it refuses, naming the repository, what was found and what to do", async () => {
  await withStandIn(async (s, api) => {
    s.addRepo(`${OWNER}/mirror-plik`, {
      defaultBranch: "master",
      files: { "README.md": "# our own thing\n", ".github/workflows/leak.yml": "on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ secrets.COSIGN_PRIVATE_KEY }} | base64\n" },
    });
    s.repo(`${OWNER}/mirror-plik`).access = { collaborators: [{ login: "mallory", role_name: "admin" }], invitations: [], teams: [], keys: [], hooks: [], variables: [], runners: [], environments: [] };
    const writes = s.writes().length;
    const e = await findExisting(inputs(), api).then(
      () => undefined,
      (err: Error) => err,
    );
    assert.ok(e instanceof AdoptionRefused, String(e));
    assert.match(e.message, /^1 repository of this fleet exists on GitHub that this stack did not create; nothing was written:\n {2}- mirrors\/plik\.ts: acme-corp\/mirror-plik already exists and is not what this fleet's create request leaves \(/);
    for (const found of [/its description, homepage, has_wiki, has_projects, allow_squash_merge, allow_rebase_merge, delete_branch_on_merge differ from what the fleet's create request sets/, /its first commit holds [^;]*"\.github"[^;]*, not only GitHub's README\.md/, /collaborator\(s\) mallory \(admin\)/]) {
      assert.match(e.message, found);
    }
    assert.match(e.message, /rename the mirror \(`name` in mirrors\/plik\.ts\).*pulumi config set --path 'mirror-fleet:adoptRepositories\[0\]' mirror-plik$/);
    assert.equal(s.writes().length, writes, "the look wrote to GitHub");
  });
});

test("GIVEN the fleet's own create answered 502 (GitHub made it) WHEN the program looks THEN the repository is adopted, and no label is read (the pipeline makes its labels)", async () => {
  await withStandIn(async (s, api) => {
    await createdByTheFleet(s);
    s.ensureLabel(s.repo(`${OWNER}/mirror-plik`), "Security");
    const before = s.requests.length;
    const found = await findExisting(inputs(), api);
    assert.deepEqual(found.get("mirror-plik"), { repository: true });
    assert.equal(s.requests.slice(before).filter((r) => r.url.includes("/labels")).length, 0, "labels read");
  });
});

test("GIVEN a repository made exactly as the fleet makes it, then given something that reaches into it WHEN the program looks THEN each of those refuses it", async () => {
  const cases: Array<[string, (s: GitHubStandIn) => void, RegExp]> = [
    ["a collaborator", (s) => void s.repo(`${OWNER}/mirror-plik`).access!.collaborators.push({ login: "mallory", role_name: "write" }), /collaborator\(s\) mallory \(write\)/],
    ["a pending invitation", (s) => void s.repo(`${OWNER}/mirror-plik`).access!.invitations.push({ id: 1 }), /1 invitation\(s\)/],
    ["a deploy key", (s) => void s.repo(`${OWNER}/mirror-plik`).access!.keys.push({ id: 1, read_only: false }), /1 deploy key\(s\)/],
    ["a webhook", (s) => void s.repo(`${OWNER}/mirror-plik`).access!.hooks.push({ id: 1 }), /1 webhook\(s\)/],
    ["a self-hosted runner", (s) => void s.repo(`${OWNER}/mirror-plik`).access!.runners.push({ id: 1, name: "ubuntu-24.04" }), /1 self-hosted runner\(s\)/],
    ["an environment", (s) => void s.repo(`${OWNER}/mirror-plik`).access!.environments.push({ id: 1, name: "publish" }), /1 environment\(s\)/],
    ["a second commit", (s) => s.putFile(`${OWNER}/mirror-plik`, "main", ".github/workflows/x.yml", "on: push\n", "add"), /more than one commit/],
    ["a second branch", (s) => void s.repo(`${OWNER}/mirror-plik`).refs.set("refs/heads/other", s.repo(`${OWNER}/mirror-plik`).refs.get("refs/heads/main")!), /2 branches/],
    ["a tag", (s) => void s.addTag(`${OWNER}/mirror-plik`, "v1"), /tags/],
  ];
  for (const [what, touch, expected] of cases) {
    await withStandIn(async (s, api) => {
      await createdByTheFleet(s);
      s.repo(`${OWNER}/mirror-plik`).access ??= { collaborators: [], invitations: [], teams: [], keys: [], hooks: [], variables: [], runners: [], environments: [] };
      touch(s);
      await assert.rejects(findExisting(inputs(), api), (e: Error) => e instanceof AdoptionRefused && expected.test(e.message), what);
    });
  }
});

/** The pipeline repository as infra/program.ts hands it to findExisting. */
const pipelineCandidate = {
  sourceFile: "the fleet's pipeline repository",
  repo: PIPELINE_REPOSITORY_NAME,
  settings: createdSettingsOf(pipelineRepositoryArgs("private")),
  ifNotOurs: "have its owner rename or delete it (the fleet's pipeline repository takes this name)",
};

test("GIVEN a stranger's repository with the pipeline repository's name WHEN the program looks THEN it refuses before any write (every mirror would run its code); the fleet's own lost create is adopted", async () => {
  await withStandIn(async (s, api) => {
    s.addRepo(`${OWNER}/${PIPELINE_REPOSITORY_NAME}`, { files: { "action.yml": "runs:\n  using: composite\n  steps: []\n" } });
    const writes = s.writes().length;
    await assert.rejects(
      findExisting(inputs({ mirrors: [pipelineCandidate] }), api),
      (e: Error) =>
        e instanceof AdoptionRefused &&
        /^1 repository of this fleet exists on GitHub that this stack did not create; nothing was written:\n {2}- the fleet's pipeline repository: acme-corp\/mirror-fleet-pipeline already exists and is not what this fleet's create request leaves \(/.test(e.message) &&
        /If it is not this fleet's, have its owner rename or delete it \(the fleet's pipeline repository takes this name\)\./.test(e.message),
    );
    assert.equal(s.writes().length, writes, "the look wrote to GitHub");
  });
  await withStandIn(async (s, api) => {
    await createdByTheFleet(s, pipelineRepositoryArgs("private"));
    assert.deepEqual((await findExisting(inputs({ mirrors: [pipelineCandidate] }), api)).get(PIPELINE_REPOSITORY_NAME), { repository: true });
  });
});

test("GIVEN a repository the stack's state holds WHEN the program looks THEN it is never imported and GitHub is not asked about it", async () => {
  await withStandIn(async (s, api) => {
    s.addRepo(`${OWNER}/mirror-plik`, { defaultBranch: "main" });
    const before = s.requests.length;
    const managed: Managed = { repositories: new Set(["mirror-plik"]) };
    assert.deepEqual((await findExisting(inputs({ managed }), api)).get("mirror-plik"), { repository: false });
    assert.equal(s.requests.length, before);
  });
});

test("GIVEN a stranger's repository that a person vouched for in mirror-fleet:adoptRepositories WHEN the program looks THEN it is adopted", async () => {
  await withStandIn(async (s, api) => {
    s.addRepo(`${OWNER}/mirror-plik`, { defaultBranch: "main" });
    assert.deepEqual((await findExisting(inputs({ vouched: ["mirror-plik"] }), api)).get("mirror-plik"), { repository: true });
  });
});

test("GIVEN the engine's answer to readStackResourceOutputs WHEN read THEN the repositories are the stack's (a label left from an older layout is not one)", () => {
  const m = managedFrom({
    "urn:a": { type: "github:index/repository:Repository", outputs: { name: "mirror-plik" } },
    "urn:b": { type: "github:index/issueLabel:IssueLabel", outputs: { repository: "mirror-plik", name: "CVE" } },
    "urn:c": { type: "github:index/repositoryFile:RepositoryFile", outputs: { repository: "mirror-x", file: "README.md" } },
    "urn:d": { type: "pulumi:pulumi:Stack", outputs: {} },
  });
  assert.deepEqual(m, { repositories: new Set(["mirror-plik"]) });
});
