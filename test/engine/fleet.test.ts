/**
 * Every promise the README makes about `pulumi up` and `pulumi preview`, run
 * by the real engine: the Pulumi CLI and the GitHub provider built from their
 * Go modules (`npm run engine:build`), the program run inline by the SDK, a
 * local file backend, and the GitHub stand-in on 127.0.0.1 (every request
 * checked against GitHub's OpenAPI description). Each scenario asserts on the
 * engine's own output (its change summary) and on the stand-in's state.
 *
 * The scenarios share one stack and run in order: each starts from the state
 * the one before left, as a fleet repository's history would.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import { GITHUB_DEFAULT_LABELS, startGitHubStandIn, type GitHubStandIn } from "../support/github-standin";
import { changes, EngineProject, requireBuiltTools, type EngineRun } from "./harness";

const OWNER = "acme-corp";
const MIRRORS = ["gokapi", "plik"];
/** A new mirror repository's labels: the ones GitHub gives every new repository; the fleet declares none (the pipeline makes its own, pipeline/lib/labels.ts). */
const LABELS = GITHUB_DEFAULT_LABELS.map((l) => l.name).sort();

/** The pipeline the stack committed: `pulumi stack output pipeline`. */
function filesUnder(dir: string): string[] {
  return (fs.readdirSync(dir, { recursive: true, withFileTypes: true }) as fs.Dirent[])
    .filter((d) => d.isFile())
    .map((d) => path.relative(dir, path.join(d.parentPath, d.name)).split(path.sep).join("/"))
    .sort();
}

function ok(r: EngineRun, what: string): NonNullable<EngineRun["summary"]> {
  const diagnostics = r.stdout.split("\nOutputs:")[0].split("Diagnostics:")[1] ?? r.stdout.slice(-4000);
  assert.equal(r.code, 0, `${what} failed:\n${diagnostics}\n${r.stderr.slice(-4000)}`);
  assert.ok(r.summary, `${what}: no JSON summary as the last line:\n${r.stdout.slice(-2000)}`);
  return r.summary;
}

/** The changes other than `same`, i.e. what the engine would do. */

/** The resources a preview's diff marks `~ TYPE: (update)`, as "TYPE NAME" (the name is the URN's last part). */
function updated(stdout: string): string[] {
  return [...stdout.matchAll(/~ (\S+): \(update\)\s*\n(?:\s*\[id=[^\]\n]*\]\s*\n)?\s*\[urn=[^\]\n]*::([^\]:\n]+)\]/g)].map((m) => `${m[1]} ${m[2]}`).sort();
}

/** Inventory fields that depend on the day the command runs. */
function dayless(inventory: unknown): unknown {
  return JSON.parse(JSON.stringify(inventory, (k, v) => (k === "daysLeft" || k === "health" || k === "repositoryUrl" ? undefined : v)));
}

describe("the real engine against the GitHub stand-in", { concurrency: false }, () => {
  let s: GitHubStandIn;
  let p: EngineProject;
  let env: Record<string, string>;
  let resources = 0;

  before(async () => {
    requireBuiltTools();
    s = await startGitHubStandIn();
    // Pulumi.prod.yaml says the organisation lets Actions create pull requests.
    s.addOrg(OWNER, { canApprovePullRequestReviews: true });
    // The upstreams the deploy-time health check reads.
    s.addRepo("Forceu/Gokapi", { private: false, date: "2026-03-10T00:00:00Z" });
    s.addRelease("Forceu/Gokapi", { tag: "v2.2.4", date: "2026-03-10T00:00:00Z" });
    s.addRepo("root-gg/plik", { private: false, archived: true, date: "2026-06-01T00:00:00Z" });
    s.addRelease("root-gg/plik", { tag: "1.3.8", date: "2026-06-01T00:00:00Z" });
    p = EngineProject.create();
    env = p.env(`${s.url}/`, s.token);
  });

  after(async () => {
    await s?.stop();
    p?.cleanup();
  });

  test("1. GIVEN empty state WHEN up THEN every resource is created and the stand-in holds what render writes", async () => {
    const summary = ok(await p.run(["up"], env), "up");
    resources = summary.changes.create ?? 0;
    assert.ok(resources > 20, `only ${resources} resources created`);
    assert.deepEqual(changes(summary), { create: resources });
    assert.deepEqual(summary.outputs, ["inventory", "pipeline", "summary"]);
    assert.deepEqual(s.rejected, [], "requests GitHub's description does not allow");
    assert.deepEqual(s.badResponses, [], "answers outside GitHub's response schemas");

    const out = await p.render(env);
    for (const m of MIRRORS) {
      const repo = `${OWNER}/mirror-${m}`;
      const state = s.repo(repo);
      assert.equal(state.private, true);
      for (const f of filesUnder(path.join(out, `mirror-${m}`))) {
        assert.equal(s.readFile(repo, state.defaultBranch, f), fs.readFileSync(path.join(out, `mirror-${m}`, f), "utf8"), `${repo}: ${f}`);
      }
      assert.deepEqual([...state.labels.keys()].sort(), LABELS);
    }
    // The pipeline, once: its repository holds what render writes, shared with the organisation;
    // the shared workflows name the commit that wrote action.yml, the mirrors the commit that wrote theirs.
    const pipeline = await p.pipelineOutput(env);
    assert.equal(pipeline.repository, `${OWNER}/mirror-fleet-pipeline`);
    const head = s.history(pipeline.repository, "main")[0].sha;
    for (const f of filesUnder(path.join(out, "mirror-fleet-pipeline"))) {
      const rendered = fs.readFileSync(path.join(out, "mirror-fleet-pipeline", f), "utf8");
      assert.equal(s.readFileAt(pipeline.repository, head, f), rendered, `${pipeline.repository}@${head}: ${f}`);
      const shared = /^\.github\/workflows\/(mirror-[0-9a-f]{12}\.yml)$/.exec(f);
      const at = shared ? pipeline.workflows[shared[1]] : pipeline.commit;
      assert.equal(s.readFileAt(pipeline.repository, at, f), rendered, `${pipeline.repository}@${at}: ${f}`);
    }
    assert.equal(s.readFileAt(pipeline.repository, pipeline.commit, "action.yml") !== undefined, true);
    assert.ok(Object.keys(pipeline.workflows).length >= 1);
    assert.ok(Object.values(pipeline.workflows).includes(head), "a shared workflow is the last commit");
    assert.equal(s.settingsOf(pipeline.repository).visibility, "private");
    assert.equal(s.settingsOf(pipeline.repository).actionsAccess, "organization");
    const inventory = await p.pulumi(["stack", "output", "inventory", "--json", "--stack", "prod"], env);
    assert.equal(inventory.code, 0, inventory.stderr);
    const rendered = JSON.parse(fs.readFileSync(path.join(out, "inventory.json"), "utf8"));
    assert.deepEqual(dayless(JSON.parse(inventory.stdout)), dayless(rendered.mirrors ?? rendered));
  });

  test("2. GIVEN the fleet is up WHEN up again and preview --refresh THEN the engine reports no change", async () => {
    assert.deepEqual(changes(ok(await p.run(["up"], env), "second up")), {});
    const writes = s.writes().length;
    assert.deepEqual(changes(ok(await p.run(["preview", "--refresh"], env), "preview --refresh")), {});
    assert.equal(s.writes().length, writes, "a preview wrote to GitHub");
  });

  test("3. GIVEN a generated file edited in GitHub's web UI WHEN preview --refresh THEN exactly that file shows, and up restores it", async () => {
    const repo = `${OWNER}/mirror-gokapi`;
    const original = s.readFile(repo, "main", ".mirror/config.yml")!;
    s.putFile(repo, "main", ".mirror/config.yml", `${original}# edited by hand\n`, "Update config.yml");
    const drift = await p.run(["preview", "--refresh"], env);
    assert.deepEqual(changes(ok(drift, "preview --refresh after drift")), { update: 1 });
    assert.deepEqual(updated(drift.stdout), ["github:index/repositoryFile:RepositoryFile gokapi-file-mirror-config-yml"]);
    ok(await p.run(["up", "--refresh"], env), "up --refresh");
    assert.equal(s.readFile(repo, "main", ".mirror/config.yml"), original);
    assert.deepEqual(changes(ok(await p.run(["preview", "--refresh"], env), "preview after restore")), {});
  });

  test("3b. GIVEN a repository setting changed in GitHub's web UI WHEN preview --refresh THEN exactly that repository shows, and up restores it", async () => {
    const repo = `${OWNER}/mirror-plik`;
    s.editRepo(repo, { allow_squash_merge: true });
    const drift = await p.run(["preview", "--refresh"], env);
    assert.deepEqual(changes(ok(drift, "preview --refresh after a settings edit")), { update: 1 });
    assert.deepEqual(updated(drift.stdout), ["github:index/repository:Repository plik-repo"]);
    assert.match(drift.stdout, /allowSquashMerge\s*: true => false/);
    ok(await p.run(["up", "--refresh"], env), "up --refresh");
    assert.equal((s.settingsOf(repo).merge as { squash: boolean }).squash, false);
  });

  test("4. GIVEN gate.severities changes in the policy WHEN preview THEN per mirror exactly its config and its README (which names the severities) update", async () => {
    const policy = p.read("infra/policy.ts");
    p.write("infra/policy.ts", policy.replace('severities: ["CRITICAL", "HIGH"]', 'severities: ["CRITICAL"]'));
    try {
      const r = await p.run(["preview"], env);
      assert.deepEqual(changes(ok(r, "preview after a policy change")), { update: 2 * MIRRORS.length });
      assert.deepEqual(updated(r.stdout), MIRRORS.flatMap((m) => ["mirror-config-yml", "readme-md"].map((f) => `github:index/repositoryFile:RepositoryFile ${m}-file-${f}`)).sort());
    } finally {
      p.write("infra/policy.ts", policy);
    }
  });

  test("4b. GIVEN repoPrefix changes WHEN up THEN every repository is renamed with its Dependabot alerts still on, and the next up changes nothing", async () => {
    // Red team 2026-12-07: the alerts setting is replaced on a rename, and its old delete went to the
    // old name (404 here, a redirect to the renamed repository on GitHub): every later up failed.
    const policy = p.read("infra/policy.ts");
    try {
      for (const prefix of ["img-", "mirror-"]) {
        p.write("infra/policy.ts", policy.replace('repoPrefix: "mirror-"', `repoPrefix: "${prefix}"`));
        ok(await p.run(["up"], env), `up with repoPrefix ${prefix}`);
        for (const m of MIRRORS) assert.equal(s.repo(`${OWNER}/${prefix}${m}`).vulnerabilityAlerts, true, `${OWNER}/${prefix}${m}: Dependabot alerts`);
        assert.deepEqual(changes(ok(await p.run(["up"], env), `up again with repoPrefix ${prefix}`)), {});
      }
    } finally {
      p.write("infra/policy.ts", policy);
    }
  });

  test("5. GIVEN a new file in mirrors/ WHEN up THEN only its resources are created; removing it deletes them from the stack and keeps its repository", async () => {
    p.write("mirrors/uptime.ts", p.read("mirrors/plik.ts").replace(/name: "plik"/, 'name: "uptime"').replace(/image: "plik"/, 'image: "uptime"'));
    const up = ok(await p.run(["up"], env), "up with a new mirror");
    const perMirror = up.changes.create ?? 0;
    assert.deepEqual(changes(up), { create: perMirror });
    assert.ok(s.repo(`${OWNER}/mirror-uptime`));
    p.remove("mirrors/uptime.ts");
    const removed = ok(await p.run(["up"], env), "up after removing the mirror");
    assert.deepEqual(changes(removed), { delete: perMirror });
    assert.ok(s.repo(`${OWNER}/mirror-uptime`), "the repository of a removed mirror is kept");
    assert.equal(s.repo(`${OWNER}/mirror-uptime`).vulnerabilityAlerts, true, "a removed mirror's Dependabot alerts stay on");
  });

  test("6. GIVEN an invalid stack setting WHEN preview THEN it fails with the setting's name before any request reaches GitHub", async () => {
    const stackFile = p.read("Pulumi.prod.yaml");
    // And a misspelt key, whose value would otherwise be ignored without a word (red team 2026-12-07).
    p.write("Pulumi.prod.yaml", stackFile.replace("mirror-fleet:visibility: private", "mirror-fleet:visibility: secret\n  mirror-fleet:admisionWindow: 12h"));
    const before = s.requests.length;
    try {
      const r = await p.run(["preview"], env);
      assert.notEqual(r.code, 0);
      assert.match(r.stdout + r.stderr, /mirror-fleet:visibility: "secret" is not allowed \(allowed: private, public\)/);
      assert.match(r.stdout + r.stderr, /mirror-fleet:admisionWindow: unknown key \(allowed: githubOwner, .*admissionWindow.*; the fleet policy is infra\/policy\.ts\)/);
      assert.equal(s.requests.length, before, "requests reached the stand-in before the setting was checked");
    } finally {
      p.write("Pulumi.prod.yaml", stackFile);
    }
  });

  test("7. GIVEN the upstreams on github.com WHEN up THEN the deploy-time health check read them there, not on the Enterprise Server the fleet deploys to, and the inventory says what it found", async () => {
    const inventory = await p.pulumi(["stack", "output", "inventory", "--json", "--stack", "prod"], env);
    assert.equal(inventory.code, 0, inventory.stderr);
    const health = Object.fromEntries((JSON.parse(inventory.stdout) as Array<{ name: string; health: { healthy: boolean; archived: boolean } }>).map((m) => [m.name, m.health]));
    assert.equal(health.gokapi.healthy, true, JSON.stringify(health.gokapi));
    // plik's upstream is seeded archived: the check must have read it from the stand-in.
    assert.equal(health.plik.archived, true, JSON.stringify(health.plik));
    assert.equal(health.plik.healthy, false);
    // The stand-in's root plays api.github.com (MIRROR_FLEET_UPSTREAM_API), its /api/v3 the Enterprise Server.
    for (const upstream of ["Forceu/Gokapi", "root-gg/plik"]) {
      assert.ok(s.requests.some((r) => r.method === "GET" && r.url.startsWith(`/repos/${upstream}`)), `no read of ${upstream}`);
      assert.ok(!s.requests.some((r) => r.url.startsWith(`/api/v3/repos/${upstream}`)), `${upstream} read on the Enterprise Server`);
    }
  });

  /**
   * Adds mirrors/<name>.ts (a copy of plik's entry), runs `up` with `faults`
   * injected, then `up` once more: it must converge. `firstFails`: whether
   * the faults fail the first `up` (a lost answer does; a secondary limit
   * the provider waits out within it does not).
   */
  async function convergesAfter(name: string, faults: Parameters<GitHubStandIn["injectFault"]>[0][], firstFails = true): Promise<void> {
    p.write(`mirrors/${name}.ts`, p.read("mirrors/plik.ts").replace(/name: "plik"/, `name: "${name}"`).replace(/image: "plik"/, `image: "${name}"`));
    for (const f of faults) s.injectFault(f);
    const served = s.servedFaults.length;
    const first = await p.run(["up"], env);
    if (firstFails) assert.notEqual(first.code, 0, "the faults did not reach the provider");
    else ok(first, "the up through the faults");
    const second = ok(await p.run(["up"], env), "the up after the faults");
    // Each injected fault was answered (a fault that never fired proves nothing).
    assert.deepEqual(s.faultsLeft(), [], "faults never served");
    const key = (f: { operationId: string; status: number }) => `${f.operationId} ${f.status}`;
    assert.deepEqual(s.servedFaults.slice(served).map(key).sort(), faults.map(key).sort());
    assert.equal(changes(second).delete ?? 0, 0);
    assert.deepEqual(changes(ok(await p.run(["preview", "--refresh"], env), "preview after converging")), {});
    const repo = `${OWNER}/mirror-${name}`;
    assert.equal(s.repoNames().filter((n) => n === repo).length, 1);
    assert.deepEqual([...s.repo(repo).labels.keys()].sort(), LABELS);
    const out = await p.render(env);
    const files = filesUnder(path.join(out, `mirror-${name}`));
    for (const f of files) assert.equal(s.readFile(repo, "main", f), fs.readFileSync(path.join(out, `mirror-${name}`, f), "utf8"), f);
    // The initial commit and one per generated file: nothing was committed twice.
    assert.equal(s.history(repo, "main").length, files.length + 1);
  }

  test("8a. GIVEN GitHub answers 502 after creating a repository WHEN up runs again THEN the repository is adopted, not created twice", async () => {
    await convergesAfter("flaky", [{ operationId: "repos/create-in-org", status: 502, when: "after" }]);
  });

  test("8b. GIVEN a secondary rate limit on a commit WHEN up THEN the provider waits out its retry-after, and up again changes nothing: no duplicate or orphan", async () => {
    await convergesAfter("limited", [
      {
        operationId: "repos/create-or-update-file-contents",
        status: 403,
        when: "before",
        headers: { "retry-after": "1" },
        body: {
          message: "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
          documentation_url: "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits",
        },
      },
    ], false);
  });
});
