/**
 * Issue 21, item 4: a fleet deployed with the layout before the pipeline
 * repository (each mirror carrying `.mirror/pipeline.cjs` and running it
 * from its checkout) moves to the new one with one `up`, by the real engine
 * against the GitHub stand-in. The old program is the project at
 * OLD_LAYOUT, read from git (`git archive`): its own code, not a simulation.
 *
 * Then every mirror's next run would use the pinned pipeline: its workflow
 * (byte-identical to `npm run render` with the stack's commit) names the
 * pipeline repository at a commit whose tree holds action.yml and the bundle
 * it checks, and that action's check passes on exactly that tree. Last, a
 * change of the pipeline's code re-commits the pipeline once and one file
 * per mirror, its workflow.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import { parse } from "yaml";
import { PIPELINE_PATHS, PIPELINE_RUNNER_FILE } from "../../components/pipeline-action";
import { FLEET_LABELS } from "../../contract";
import { startGitHubStandIn, type GitHubStandIn } from "../support/github-standin";
import { runStep, tempDir } from "../workflow/steps";
import { changes, EngineProject, requireBuiltTools, ROOT, type EngineRun } from "./harness";

/** main before issue 21 (the last main commit merged into this branch, so that the two layouts differ by this change only): every mirror committed the bundle as `.mirror/pipeline.cjs` and ran `node .mirror/pipeline.cjs`. */
const OLD_LAYOUT = "dce01c70d5e1b7465854664ff72e828f18e83aa4";
const OWNER = "acme-corp";
const MIRRORS = ["gokapi", "plik"];
const OLD_BUNDLE = ".mirror/pipeline.cjs";
const VEX = ".mirror/waivers.openvex.json";
const WORKFLOW = ".github/workflows/mirror.yml";

/** The project as it was at `commit`, from this checkout's git history (a clone needs it: not a shallow one). */
function checkoutOf(commit: string): string {
  const has = spawnSync("git", ["-C", ROOT, "cat-file", "-e", `${commit}^{commit}`], { encoding: "utf8" });
  if (has.status !== 0) throw new Error(`the old layout's commit ${commit} is not in this clone's history (a shallow clone?): git fetch --unshallow, then run again`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mirror-fleet-old-layout-"));
  const archive = spawnSync("git", ["-C", ROOT, "archive", "--format=tar", commit], { maxBuffer: 256 * 2 ** 20 });
  if (archive.status !== 0) throw new Error(`git archive ${commit}: ${archive.stderr}`);
  const untar = spawnSync("tar", ["-x", "-C", dir], { input: archive.stdout });
  if (untar.status !== 0) throw new Error(`tar: ${untar.stderr}`);
  return dir;
}

function ok(r: EngineRun, what: string): NonNullable<EngineRun["summary"]> {
  assert.equal(r.code, 0, `${what} failed:\n${r.stdout.slice(-4000)}\n${r.stderr.slice(-3000)}`);
  assert.ok(r.summary, `${what}: no JSON summary as the last line:\n${r.stdout.slice(-2000)}`);
  return r.summary;
}

/** What a preview's diff says it would do, as "OP TYPE NAME" (the name is the URN's last part; OP `delete[retain]` for a retainOnDelete resource dropped from the stack), sorted. */
function steps(stdout: string): string[] {
  return [...stdout.matchAll(/([+~-]) (\S+): \((create|update|delete|delete\[retain\])\)\s*\n(?:\s*\[id=[^\]\n]*\]\s*\n)?\s*\[urn=[^\]\n]*::([^\]:\n]+)\]/g)]
    .map((m) => `${m[3]} ${m[2].split(":").pop()} ${m[4]}`)
    .sort();
}


/** The shared workflow a mirror's workflow calls: its file and the commit, as the caller names them. */
function calledBy(workflow: string): { file: string; commit: string } {
  const uses = (parse(workflow) as { jobs: { mirror: { uses: string } } }).jobs.mirror.uses;
  const m = new RegExp(`^${OWNER}/mirror-fleet-pipeline/(\\.github/workflows/mirror-[0-9a-f]{12}\\.yml)@([0-9a-f]{40})$`).exec(uses);
  assert.ok(m, `the workflow calls ${uses}, not a shared workflow of the pipeline repository`);
  return { file: m[1], commit: m[2] };
}

/** The pipeline steps of the shared workflow a mirror's workflow calls (read from the stand-in at the commit named): each job's `uses:` of the pipeline action and the bundle sha256 it names. */
function pipelineUses(s: GitHubStandIn, workflow: string): Array<{ ref: string; sha: string }> {
  const call = calledBy(workflow);
  const shared = s.readFileAt(`${OWNER}/mirror-fleet-pipeline`, call.commit, call.file);
  assert.ok(shared, `${call.file} is not in the pipeline repository at ${call.commit}`);
  const doc = parse(shared) as { jobs: Record<string, { steps: Array<{ uses?: string; with?: Record<string, string> }> }> };
  return Object.values(doc.jobs).flatMap((j) => j.steps.filter((x) => x.uses?.startsWith(`${OWNER}/mirror-fleet-pipeline@`)).map((x) => ({ ref: x.uses!, sha: String(x.with?.["bundle-sha256"]) })));
}

describe("migration: the layout before the pipeline repository, then the new program, by the real engine", { concurrency: false }, () => {
  let s: GitHubStandIn;
  let p: EngineProject;
  let env: Record<string, string>;
  let old: string;
  let historyBefore: Map<string, number>;
  /**
   * Mirrors with waivers: their OpenVEX document's `@id` named github.com in
   * the old program and names the GitHub deployed to in the new one, here the
   * stand-in, so it is updated too (on github.com it would not change).
   */
  let vexed: string[];

  before(async () => {
    requireBuiltTools();
    old = checkoutOf(OLD_LAYOUT);
    s = await startGitHubStandIn();
    s.addOrg(OWNER, { canApprovePullRequestReviews: true });
    s.addRepo("Forceu/Gokapi", { private: false, date: "2026-03-10T00:00:00Z" });
    s.addRelease("Forceu/Gokapi", { tag: "v2.2.4", date: "2026-03-10T00:00:00Z" });
    s.addRepo("root-gg/plik", { private: false, date: "2026-06-01T00:00:00Z" });
    s.addRelease("root-gg/plik", { tag: "1.3.8", date: "2026-06-01T00:00:00Z" });
    p = EngineProject.create("mirror-fleet-migration-", old);
    env = p.env(`${s.url}/`, s.token);
  });

  after(async () => {
    await s?.stop();
    p?.cleanup();
    if (old) fs.rmSync(old, { recursive: true, force: true });
  });

  test("1. GIVEN the old program WHEN up THEN every mirror carries the bundle and its workflow runs it from the checkout", async () => {
    ok(await p.run(["up"], env), "up (old layout)");
    assert.deepEqual(s.rejected, []);
    for (const m of MIRRORS) {
      const repo = `${OWNER}/mirror-${m}`;
      assert.ok((s.readFile(repo, "main", OLD_BUNDLE) ?? "").length > 100_000, `${repo} has no ${OLD_BUNDLE}`);
      assert.match(s.readFile(repo, "main", WORKFLOW)!, /node \.mirror\/pipeline\.cjs resolve /);
    }
    assert.equal(s.repoNames().includes(`${OWNER}/mirror-fleet-pipeline`), false);
    historyBefore = new Map(MIRRORS.map((m) => [m, s.history(`${OWNER}/mirror-${m}`, "main").length]));
    vexed = MIRRORS.filter((m) => s.readFile(`${OWNER}/mirror-${m}`, "main", VEX) !== undefined);
    assert.deepEqual(vexed, ["gokapi"]);
    assert.match(s.readFile(`${OWNER}/mirror-gokapi`, "main", VEX)!, /"@id": "https:\/\/github\.com\/acme-corp\/mirror-gokapi\//);
  });

  test("2. GIVEN the new program WHEN preview THEN the pipeline repository is created, and per mirror the bundle file is deleted, the workflow, the README (which says where the pipeline is) and CODEOWNERS (which says what the ruleset asks) updated, the seven labels dropped from the stack, nothing else", async () => {
    p.upgradeTo(ROOT);
    const r = await p.run(["preview"], env);
    ok(r, "preview (new program)");
    const planned = steps(r.stdout);
    const perMirror = MIRRORS.flatMap((m) => [
      `delete RepositoryFile ${m}-file-mirror-pipeline-cjs`,
      `update RepositoryFile ${m}-file-github-workflows-mirror-yml`,
      `update RepositoryFile ${m}-file-readme-md`,
      `update RepositoryFile ${m}-file-github-codeowners`,
      ...(vexed.includes(m) ? [`update RepositoryFile ${m}-file-mirror-waivers-openvex-json`] : []),
      // retainOnDelete, and the preview says so: dropped from the stack, kept on GitHub (test 3); the pipeline makes its own labels now.
      ...FLEET_LABELS.map((l) => `delete[retain] IssueLabel ${m}-label-${l.name}`),
    ]);
    assert.deepEqual(planned.filter((x) => !x.startsWith("create ")), perMirror.sort(), planned.join("\n"));
    const created = planned.filter((x) => x.startsWith("create ")).map((x) => x.split(" ").slice(1).join(" "));
    const shared = created.filter((x) => /^RepositoryFile pipeline-file-github-workflows-mirror-[0-9a-f]{12}-yml$/.test(x));
    assert.equal(shared.length, 2, "gokapi and plik are of two shapes: a shared workflow each");
    assert.deepEqual(created.filter((x) => !shared.includes(x)), [
      "ActionsRepositoryAccessLevel pipeline-actions-access",
      "BranchDefault pipeline-default-branch",
      "PipelineRepository pipeline",
      "Repository pipeline-repo",
      "RepositoryFile pipeline-file-action-yml",
      "RepositoryFile pipeline-file-pipeline-cjs",
      "RepositoryFile pipeline-file-readme-md",
      "RepositoryRuleset pipeline-ruleset",
    ]);
  });

  test("3. GIVEN the new program WHEN up THEN each mirror's bundle is gone from GitHub, its workflow is render's with the stack's commit, and its next run would use the pinned pipeline", async () => {
    const up = ok(await p.run(["up"], env), "up (new program)");
    assert.deepEqual(changes(up), { create: 8 + 2, update: 3 * MIRRORS.length + vexed.length, delete: MIRRORS.length * (1 + FLEET_LABELS.length) });
    assert.deepEqual(s.rejected, []);
    const pin = await p.pipelineOutput(env);
    const rendered = await p.render(env);

    // The commit the workflows name holds the action and the bundle it checks.
    const action = tempDir("mirror-migration-action-");
    assert.deepEqual(s.exportCommit(pin.repository, pin.commit, action), [PIPELINE_PATHS.readme, PIPELINE_PATHS.action, PIPELINE_PATHS.bundle].sort());
    const bundleSha = createHash("sha256").update(fs.readFileSync(path.join(action, PIPELINE_PATHS.bundle))).digest("hex");
    assert.equal(bundleSha, pin.bundleSha256);

    for (const m of MIRRORS) {
      const repo = `${OWNER}/mirror-${m}`;
      // Deleting the resource deleted the file on GitHub, by a commit of its own (what the provider does on delete).
      assert.equal(s.readFile(repo, "main", OLD_BUNDLE), undefined, `${repo} still has ${OLD_BUNDLE}`);
      // The labels the old program made stay, as they were: they were retainOnDelete, and a deleted label strips itself off every issue.
      for (const l of FLEET_LABELS) assert.deepEqual([s.repo(repo).labels.get(l.name)].map((x) => [x?.name, x?.color, x?.description]), [[l.name, l.color, l.description]], `${repo}: label ${l.name}`);
      const history = s.history(repo, "main");
      const vex = vexed.includes(m) ? 1 : 0;
      assert.equal(history.length, historyBefore.get(m)! + 4 + vex, `${repo}: a commit for the README, one for CODEOWNERS, one for the workflow${vex ? ", one for the OpenVEX document" : ""}, one that deletes the bundle`);
      assert.ok(history[1].tree.has(OLD_BUNDLE) && !history[0].tree.has(OLD_BUNDLE));
      if (vex) assert.match(s.readFile(repo, "main", VEX)!, new RegExp(`"@id": "${s.url.replaceAll(".", "\\.")}/acme-corp/mirror-${m}/`));
      const workflow = s.readFile(repo, "main", WORKFLOW)!;
      assert.equal(workflow, fs.readFileSync(path.join(rendered, `mirror-${m}`, WORKFLOW), "utf8"), `${repo}: the workflow is not render's`);
      assert.doesNotMatch(workflow, /\.mirror\/pipeline\.cjs/);
      const uses = pipelineUses(s, workflow);
      assert.equal(calledBy(workflow).commit, pin.workflows[calledBy(workflow).file.split("/").pop()!]);
      assert.ok(uses.length >= 9, `${repo}: ${uses.length} jobs set up the pipeline`);
      for (const u of uses) assert.deepEqual(u, { ref: `${pin.repository}@${pin.commit}`, sha: bundleSha });
      // The action's own check on that tree, with this workflow's input: passes, and leaves the bundle for the steps.
      const check = (parse(fs.readFileSync(path.join(action, PIPELINE_PATHS.action), "utf8")) as { runs: { steps: Array<Record<string, unknown>> } }).runs.steps[1];
      const runnerTemp = tempDir("mirror-migration-runner-");
      const env = { ...(check.env as Record<string, string>), EXPECTED_SHA256: uses[0].sha, GITHUB_ACTION_PATH: action, RUNNER_TEMP: runnerTemp };
      const ran = runStep(check, tempDir(), env);
      assert.equal(ran.status, 0, ran.stdout + ran.stderr);
      assert.ok(fs.existsSync(path.join(runnerTemp, PIPELINE_RUNNER_FILE)));
    }
    assert.deepEqual(changes(ok(await p.run(["preview", "--refresh"], env), "preview --refresh after the migration")), {});
  });

  test("4. GIVEN a change of the pipeline's code WHEN preview and up THEN the pipeline is re-committed once and each mirror re-commits its workflow only, naming the new commit", async () => {
    const before = new Map(MIRRORS.map((m) => [m, s.history(`${OWNER}/mirror-${m}`, "main").length]));
    const main = p.read("pipeline/main.ts");
    p.write("pipeline/main.ts", `${main}\n// A reviewed change of the pipeline (test/engine/migration.test.ts).\n`);
    const preview = await p.run(["preview"], env);
    ok(preview, "preview after a pipeline change");
    const shared = Object.keys((await p.pipelineOutput(env)).workflows).map((n) => `update RepositoryFile pipeline-file-github-workflows-${n.replace(/\.yml$/, "")}-yml`);
    assert.deepEqual(steps(preview.stdout), [
      ...MIRRORS.map((m) => `update RepositoryFile ${m}-file-github-workflows-mirror-yml`),
      "update RepositoryFile pipeline-file-action-yml",
      "update RepositoryFile pipeline-file-pipeline-cjs",
      ...shared,
    ].sort());
    ok(await p.run(["up"], env), "up after a pipeline change");
    const pin = await p.pipelineOutput(env);
    assert.ok(Object.values(pin.workflows).includes(s.history(pin.repository, "main")[0].sha), "a shared workflow is the pipeline repository's last commit");
    for (const m of MIRRORS) {
      const repo = `${OWNER}/mirror-${m}`;
      assert.equal(s.history(repo, "main").length, before.get(m)! + 1, `${repo}: one commit, the workflow`);
      for (const u of pipelineUses(s, s.readFile(repo, "main", WORKFLOW)!)) assert.equal(u.ref, `${pin.repository}@${pin.commit}`);
    }
  });
});
