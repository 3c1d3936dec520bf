/**
 * The fleet adopts only what it provably made (DESIGN invariant 11; issue 17
 * item 1, issue 19 item 7), run by the real engine against the stand-in:
 * - a stranger's repository with a mirror's name, or with the pipeline
 *   repository's, stops `up` and `preview` before any write, and no secret
 *   reaches it (the stack holds a signing key,
 *   so the first `up` would write COSIGN_PRIVATE_KEY into every mirror);
 * - a mirror removed from mirrors/, its repository kept and archived, then
 *   added back: refused while archived, refused once unarchived (it is not
 *   what a create leaves), and adopted once a person lists it in
 *   mirror-fleet:adoptRepositories, with its files restored.
 * The genuine lost answer (a 502 after GitHub created the repository) is still
 * adopted: test/engine/fleet.test.ts scenario 8a.
 */
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import * as fs from "node:fs";
import { after, before, describe, test } from "node:test";
import { startGitHubStandIn, type GitHubStandIn } from "../support/github-standin";
import { changedOps, EngineProject, requireBuiltTools, type EngineRun } from "./harness";

const OWNER = "acme-corp";
const PLIK = `${OWNER}/mirror-plik`;
const PIPELINE = `${OWNER}/mirror-fleet-pipeline`;

function changes(r: EngineRun, what: string): Record<string, number> {
  assert.equal(r.code, 0, `${what} failed:\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}`);
  assert.ok(r.summary, `${what}: no JSON summary`);
  return changedOps(r.summary.changes);
}

describe("adoption: only what the fleet provably made", { concurrency: false }, () => {
  let s: GitHubStandIn;
  let p: EngineProject;
  let env: Record<string, string>;

  before(async () => {
    requireBuiltTools();
    s = await startGitHubStandIn();
    s.addOrg(OWNER, { canApprovePullRequestReviews: true });
    p = EngineProject.create("mirror-fleet-adoption-");
    env = p.env(`${s.url}/`, s.token);
    fs.mkdirSync(p.stateDir, { recursive: true });
    // The fleet's signing key in the stack: the first up writes it into every mirror's Actions secrets.
    const { publicKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
    for (const args of [
      ["stack", "init", "prod"],
      ["config", "set", "--stack", "prod", "mirror-fleet:cosignPublicKey", "--", publicKey.export({ type: "spki", format: "pem" }).toString()],
      ["config", "set", "--stack", "prod", "--secret", "mirror-fleet:cosignPrivateKey", "--", "-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\nnot a real key\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----"],
      ["config", "set", "--stack", "prod", "--secret", "mirror-fleet:cosignPassword", "a password"],
    ]) {
      const r = await p.pulumi(args, env);
      assert.equal(r.code, 0, `pulumi ${args.join(" ")}: ${r.stderr}`);
    }
  });

  after(async () => {
    await s?.stop();
    p?.cleanup();
  });

  test("1. GIVEN a stranger's private repository named like a mirror (own README, branch master, a workflow printing the signing key, an admin), and one named like the pipeline repository WHEN preview and up THEN both stop before any write, naming each, and no secret reaches them", async () => {
    s.addRepo(PLIK, {
      defaultBranch: "master",
      files: { "README.md": "# our own thing\n", ".github/workflows/leak.yml": "on: push\njobs:\n  leak:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo \"${{ secrets.COSIGN_PRIVATE_KEY }}\" | base64\n" },
    });
    s.repo(PLIK).access = { collaborators: [{ login: "mallory", role_name: "admin" }], invitations: [], teams: [], keys: [], hooks: [], variables: [], runners: [], environments: [] };
    // And the pipeline repository's name: every mirror's workflow would run the action it holds.
    s.addRepo(PIPELINE, { files: { "action.yml": "runs:\n  using: composite\n  steps:\n    - run: env | base64\n      shell: bash\n" } });
    for (const command of ["preview", "up"]) {
      const r = await p.run([command], env);
      assert.notEqual(r.code, 0, `${command} went through`);
      const out = r.stdout + r.stderr;
      assert.match(out, /2 repositories of this fleet exist on GitHub that this stack did not create; nothing was written:\n {2}- mirrors\/plik\.ts: acme-corp\/mirror-plik already exists and is not what this fleet's create request leaves \(/);
      assert.match(out, /\n {2}- the fleet's pipeline repository: acme-corp\/mirror-fleet-pipeline already exists and is not what this fleet's create request leaves \([^\n]*have its owner rename or delete it/);
      assert.match(out, /collaborator\(s\) mallory \(admin\)/);
      assert.match(out, /pulumi config set --path 'mirror-fleet:adoptRepositories\[0\]' mirror-plik/);
    }
    assert.deepEqual(s.writes(), [], "a write reached GitHub");
    const repo = s.repo(PLIK);
    assert.equal(repo.defaultBranch, "master");
    assert.equal(repo.secrets.size, 0);
    assert.equal(s.readFile(PLIK, "master", "README.md"), "# our own thing\n");
    assert.equal(s.readFile(PIPELINE, "main", "action.yml")?.includes("env | base64"), true);
    assert.equal(s.repoNames().filter((n) => n.startsWith(`${OWNER}/`)).length, 2, "another repository was created");
  });

  test("2. GIVEN the stranger's repository renamed away WHEN up THEN the fleet is created, signing secrets included", async () => {
    s.deleteRepo(PLIK);
    s.deleteRepo(PIPELINE);
    const created = changes(await p.run(["up"], env), "up");
    assert.ok((created.create ?? 0) > 20);
    // Secrets of the mirror's signing environment (the team plan has environments: issue 17 item 7), not of the repository.
    assert.deepEqual([...s.repo(PLIK).environments!.get("mirror-signing")!.secrets.keys()].sort(), ["COSIGN_PASSWORD", "COSIGN_PRIVATE_KEY"]);
    assert.deepEqual([...s.repo(PLIK).secrets.keys()], []);
  });

  test("3. GIVEN a mirror removed, its repository kept and archived, then added back WHEN up THEN it is refused until unarchived and vouched for, then adopted with its files restored", async () => {
    const entry = p.read("mirrors/plik.ts");
    const files = [...s.repo(PLIK).commits.get(s.repo(PLIK).refs.get("refs/heads/main")!)!.tree.entries()];
    p.remove("mirrors/plik.ts");
    assert.ok((changes(await p.run(["up"], env), "up without plik").delete ?? 0) > 10);
    s.repo(PLIK).archived = true;
    p.write("mirrors/plik.ts", entry);

    const refused = s.writes().length;
    const archived = await p.run(["up"], env);
    assert.notEqual(archived.code, 0);
    assert.match(archived.stdout + archived.stderr, /mirrors\/plik\.ts: acme-corp\/mirror-plik exists and is archived\. If it is this fleet's \(a mirror removed and added back\), unarchive it/);

    s.repo(PLIK).archived = false;
    const unvouched = await p.run(["up"], env);
    assert.notEqual(unvouched.code, 0);
    assert.match(unvouched.stdout + unvouched.stderr, /acme-corp\/mirror-plik already exists and is not what this fleet's create request leaves \([^)]*more than one commit/);
    assert.equal(s.writes().length, refused, "a refused up wrote to GitHub");

    const set = await p.pulumi(["config", "set", "--path", "mirror-fleet:adoptRepositories[0]", "mirror-plik", "--stack", "prod"], env);
    assert.equal(set.code, 0, set.stderr);
    assert.ok((changes(await p.run(["up"], env), "up with mirror-plik vouched for").create ?? 0) > 10);
    assert.ok(!s.writes().slice(refused).some((w) => w.operationId === "repos/create-in-org"), "the repository was created again");
    const repo = s.repo(PLIK);
    const head = repo.commits.get(repo.refs.get("refs/heads/main")!)!;
    // Restored as they were, but the workflow names the commit that wrote its shared workflow again
    // (removing plik removed its shape's shared workflow from the pipeline repository; adding it back wrote it anew).
    const shared = /(mirror-fleet-pipeline\/\.github\/workflows\/mirror-[0-9a-f]{12}\.yml@)[0-9a-f]{40}/;
    const norm = (entries: Array<[string, string]>) => entries.map(([f, c]) => [f, c.replace(shared, "$1<commit>")]).sort();
    assert.deepEqual(norm([...head.tree.entries()]), norm(files));
    assert.ok(files.some(([, c]) => shared.test(c)), "plik's workflow calls a shared workflow");
    assert.deepEqual(changes(await p.run(["preview", "--refresh"], env), "preview --refresh after adoption"), {});
  });
});
