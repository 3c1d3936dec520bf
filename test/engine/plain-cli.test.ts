/**
 * `pulumi preview` / `pulumi up` typed in the project folder (DESIGN
 * invariant 12): the built Pulumi CLI starts the Node language host found on
 * PATH, which starts the SDK's own loader (`@pulumi/pulumi/cmd/run`) on
 * Pulumi.yaml's `main`. The released host cannot be built here (the module
 * proxy refuses it); these scenarios run with its SUBSTITUTE,
 * tools/language-host (bundled into the tools cache by `npm run
 * engine:build`), which starts that loader with the released host's
 * arguments, environment and working directory.
 *
 * With `export default` in infra/index.ts (before issue 22) the loader got an
 * object, ran nothing, and scenario 1 planned `+ 1 to create` (the stack
 * alone) where `npm run up` created the fleet.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import { NOT_AN_ENTRY } from "../../infra/mirrors";
import { startGitHubStandIn, type GitHubStandIn } from "../support/github-standin";
import { changedOps, changes as npmChanges, EngineProject, requireBuiltTools, ROOT, type EngineRun } from "./harness";

const OWNER = "acme-corp";

/** A stand-in like the one fleet.test.ts uses: the organisation and the upstreams the health check reads. */
async function standIn(): Promise<GitHubStandIn> {
  const s = await startGitHubStandIn();
  s.addOrg(OWNER, { canApprovePullRequestReviews: true });
  s.addRepo("Forceu/Gokapi", { private: false, date: "2026-03-10T00:00:00Z" });
  s.addRepo("root-gg/plik", { private: false, date: "2026-06-01T00:00:00Z" });
  return s;
}

/** The change summary of `pulumi preview --json` (one JSON document) or `pulumi up --json` (its summaryEvent line). */
function summary(r: EngineRun, what: string): Record<string, number> {
  assert.equal(r.code, 0, `${what} failed:\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}`);
  const summaryEvent = r.stdout
    .split("\n")
    .filter((l) => l.startsWith('{"sequence"'))
    .map((l) => JSON.parse(l) as { summaryEvent?: { resourceChanges: Record<string, number> } })
    .find((e) => e.summaryEvent);
  const changes = summaryEvent?.summaryEvent?.resourceChanges ?? (JSON.parse(r.stdout) as { changeSummary: Record<string, number> }).changeSummary;
  return changedOps(changes);
}

/** The URNs a preview's steps change, with their operation. */
function steps(r: EngineRun): string[] {
  return (JSON.parse(r.stdout) as { steps: Array<{ op: string; urn: string }> }).steps.filter((s) => s.op !== "same" && s.op !== "refresh").map((s) => `${s.op} ${s.urn.slice(s.urn.lastIndexOf("::") + 2)}`);
}

/**
 * Every file of the fleet's repositories on their default branch. The
 * workflows name the pipeline repository by the commits this stand-in made of
 * it (mirrors: their shared workflow's; shared workflows: action.yml's),
 * which differ between two stand-ins (their clocks saw the writes in another
 * order): each reference is checked to be a commit of this stand-in's
 * pipeline repository, then written as `<pipeline commit N>`, N its place in
 * that repository's history, so that two deployments compare. (The pipeline
 * repository's own README shows the form with a placeholder: not checked.)
 * Links to the mirrors name the GitHub deployed to, here the stand-in at its
 * own port: written as `<stand-in>`.
 */
function contents(s: GitHubStandIn): Record<string, string> {
  const pipeline = `${OWNER}/mirror-fleet-pipeline`;
  const history = s.history(pipeline, "main").map((c) => c.sha).reverse();
  const ref = new RegExp(`(${pipeline}(?:/\\.github/workflows/mirror-[0-9a-f]{12}\\.yml)?@)([0-9a-f]{40})`, "g");
  const out: Record<string, string> = {};
  const host = new URL(s.url).host;
  let named = 0;
  for (const name of s.repoNames().filter((n) => n.startsWith(`${OWNER}/mirror-`)).sort()) {
    const repo = s.repo(name);
    const head = repo.refs.get(`refs/heads/${repo.defaultBranch}`)!;
    for (const [file, content] of repo.commits.get(head)!.tree) {
      // A caller names its shared workflow's sha256, which holds that stand-in's action.yml commit: checked, then named.
      const called = /^# It calls (\S+) of \S+ at the commit below; that file's sha256 is ([0-9a-f]{64})\.$/m.exec(content);
      if (called) {
        const at = new RegExp(`uses: ${pipeline}/${called[1].replaceAll(".", "\\.")}@([0-9a-f]{40})`).exec(content)!;
        const text = s.readFileAt(pipeline, at[1], called[1])!;
        assert.equal(createHash("sha256").update(text).digest("hex"), called[2], `${name}:${file}: the sha256 it names is not ${called[1]}'s at ${at[1]}`);
      }
      out[`${name}:${file}`] = content.replaceAll(host, "<stand-in>").replace(/(that file's sha256 is )[0-9a-f]{64}/, "$1<its sha256>").replace(ref, (_, at: string, sha: string) => {
        const n = history.indexOf(sha);
        assert.ok(n >= 0, `${name}:${file} names ${at}${sha}, not a commit of this stand-in's ${pipeline}`);
        named++;
        return `${at}<pipeline commit ${n}>`;
      });
    }
  }
  assert.ok(named > 0, "no file names the pipeline repository");
  return out;
}

/**
 * The inventory checked against that stand-in: each mirror's file hashes
 * against its files, then left out (they hash what differs between two
 * stand-ins: the workflow its pipeline commit, the README and the OpenVEX
 * document its address; `contents` compares the files themselves), and its
 * repository link on that stand-in, written `<stand-in>`.
 */
function checkedAgainst(inventory: unknown, s: GitHubStandIn): unknown {
  return (inventory as Array<Record<string, unknown>>).map((e) => {
    const repo = String(e.repository);
    const files = Object.fromEntries(
      Object.entries(e.files as Record<string, string>).map(([file, hash]) => {
        const committed = s.readFile(repo, "main", file);
        assert.ok(committed !== undefined, `${repo}: the inventory names ${file}, which is not on main`);
        assert.equal(hash, createHash("sha256").update(committed).digest("hex"), `${repo}: the inventory's hash of ${file} is not the committed file's`);
        return [file, "<checked>"];
      }),
    );
    assert.equal(e.repositoryUrl, `${s.url}/${repo}`, `${repo}: the inventory's link is not the repository's page on the stand-in`);
    return { ...e, files, repositoryUrl: "<stand-in>" };
  });
}

function dayless(inventory: unknown): unknown {
  return JSON.parse(JSON.stringify(inventory, (k, v) => (k === "daysLeft" || k === "health" ? undefined : v)));
}

/** The stack's checkpoint files in a local backend (backups and gocloud's .attrs apart). */
function checkpoints(p: EngineProject): string[] {
  return fs.readdirSync(path.join(p.stateDir, ".pulumi", "stacks", "mirror-fleet")).filter((f) => /^prod\.json(\.zst)?$/.test(f));
}

async function urns(p: EngineProject, env: Record<string, string>): Promise<string[]> {
  const r = await p.plain(["stack", "export", "--stack", "prod"], env, 60_000);
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout).deployment.resources as Array<{ urn: string }>).map((x) => x.urn).sort();
}

describe("the plain CLI (pulumi preview|up in the folder) against the GitHub stand-in", { concurrency: false }, () => {
  let a: GitHubStandIn;
  let b: GitHubStandIn;
  let plain: EngineProject;
  let inline: EngineProject;
  /** The plain project's environment: no PULUMI_BACKEND_URL, `pulumi login` chooses the backend, as a user does. */
  let plainEnv: Record<string, string>;
  let inlineEnv: Record<string, string>;

  before(async () => {
    requireBuiltTools({ plainCli: true });
    [a, b] = await Promise.all([standIn(), standIn()]);
    plain = EngineProject.create("mirror-fleet-plain-");
    inline = EngineProject.create("mirror-fleet-inline-");
    const { PULUMI_BACKEND_URL: _, ...rest } = plain.env(`${a.url}/`, a.token);
    plainEnv = rest;
    inlineEnv = inline.env(`${b.url}/`, b.token);
  });

  after(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    plain?.cleanup();
    inline?.cleanup();
  });

  test("1. GIVEN a fresh stand-in WHEN pulumi login, stack select, preview, up in the folder THEN the same resources, files and inventory as npm run up on another fresh stand-in", async () => {
    fs.mkdirSync(plain.stateDir, { recursive: true });
    for (const args of [["login", `file://${plain.stateDir}`], ["stack", "select", "--create", "prod"]]) {
      const r = await plain.plain(args, plainEnv, 60_000);
      assert.equal(r.code, 0, `pulumi ${args.join(" ")}: ${r.stderr}`);
    }
    const preview = summary(await plain.plain(["preview", "--json"], plainEnv), "pulumi preview");
    assert.ok((preview.create ?? 0) > 20, `pulumi preview plans ${JSON.stringify(preview)}: did the loader run the program?`);
    const up = summary(await plain.plain(["up", "--yes", "--json"], plainEnv), "pulumi up");
    assert.deepEqual(up, preview);
    // The CLI rewrote the stack file once, to add the passphrase's salt; nothing else of it changed.
    const original = fs.readFileSync(path.join(ROOT, "Pulumi.prod.yaml"), "utf8");
    assert.equal(plain.read("Pulumi.prod.yaml").replace(/^encryptionsalt: \S+\n/m, ""), original);
    assert.match(plain.read("Pulumi.prod.yaml"), /^encryptionsalt: v1:/m);

    const viaNpm = await inline.run(["up"], inlineEnv);
    assert.equal(viaNpm.code, 0, viaNpm.stdout.slice(-3000));
    assert.deepEqual(viaNpm.summary?.changes, up);
    // npm run up writes the state with zstd (infra/automation.ts engineEnv); the plain CLI, told nothing, as JSON.
    assert.deepEqual([checkpoints(inline), checkpoints(plain)], [["prod.json.zst"], ["prod.json"]]);
    assert.deepEqual(await urns(plain, plainEnv), await urns(inline, inlineEnv));
    assert.deepEqual(contents(a), contents(b));
    assert.ok(Object.keys(contents(a)).length > 10);
    const [x, y] = await Promise.all([plain.plain(["stack", "output", "inventory", "--json"], plainEnv, 60_000), inline.pulumi(["stack", "output", "inventory", "--json", "--stack", "prod"], inlineEnv)]);
    assert.equal(x.code, 0, x.stderr);
    assert.deepEqual(dayless(checkedAgainst(JSON.parse(x.stdout), a)), dayless(checkedAgainst(JSON.parse(y.stdout), b)));
    assert.deepEqual([a.rejected, b.rejected], [[], []], "requests GitHub's description does not allow");
  });

  test("2. GIVEN one stack WHEN npm run up made it (zstd) THEN plain pulumi preview shows no change; WHEN plain pulumi up made it (JSON) THEN npm run preview shows no change", async () => {
    assert.deepEqual(summary(await inline.plain(["preview", "--json", "--stack", "prod"], inlineEnv), "plain preview of the npm-made stack"), {});
    const viaNpm = await plain.run(["preview"], { ...plainEnv, PULUMI_BACKEND_URL: `file://${plain.stateDir}` });
    assert.equal(viaNpm.code, 0, viaNpm.stdout.slice(-3000));
    assert.deepEqual(npmChanges(viaNpm.summary!), {});
  });

  test("2b. GIVEN the stack npm run up wrote with zstd WHEN plain pulumi up, told nothing, THEN nothing changes and the state is written back as JSON, every resource kept; the next npm run up compresses it again", async () => {
    const before = await urns(inline, inlineEnv);
    assert.deepEqual(summary(await inline.plain(["up", "--yes", "--json", "--stack", "prod"], inlineEnv), "plain up of the npm-made stack"), {});
    assert.deepEqual(checkpoints(inline), ["prod.json"]);
    assert.deepEqual(await urns(inline, inlineEnv), before);
    const viaNpm = await inline.run(["up"], inlineEnv);
    assert.equal(viaNpm.code, 0, viaNpm.stdout.slice(-3000));
    assert.deepEqual(npmChanges(viaNpm.summary!), {});
    assert.deepEqual(checkpoints(inline), ["prod.json.zst"]);
  });

  test("3. GIVEN a generated file edited in GitHub's web UI WHEN plain pulumi preview --refresh THEN exactly that file shows", async () => {
    const repo = `${OWNER}/mirror-gokapi`;
    a.putFile(repo, "main", ".mirror/config.yml", `${a.readFile(repo, "main", ".mirror/config.yml")}# edited by hand\n`, "Update config.yml");
    const r = await plain.plain(["preview", "--refresh", "--json"], plainEnv);
    assert.deepEqual(summary(r, "pulumi preview --refresh"), { update: 1 });
    assert.deepEqual(steps(r), ["update gokapi-file-mirror-config-yml"]);
  });

  test("3b. GIVEN a waiver that expires in 10 days WHEN render, npm run preview and plain pulumi preview THEN each path shows the program's warning", async () => {
    const entry = plain.read("mirrors/gokapi.ts");
    const soon = new Date(Date.now() + 10 * 86_400_000).toISOString().slice(0, 10);
    assert.match(entry, /expires: "\d{4}-\d{2}-\d{2}"/);
    plain.write("mirrors/gokapi.ts", entry.replace(/expires: "\d{4}-\d{2}-\d{2}"/, `expires: "${soon}"`));
    const warning = /warning: mirrors\/gokapi\.ts: gate\.waivers\[0\] \(CVE-2026-34986\) expires in (9|10) days, on \d{4}-\d{2}-\d{2}/;
    try {
      const render = await plain.exec(["--import", "tsx", "infra/render.ts", "--out", path.join(plain.base, "render-warning")], plainEnv, 120_000);
      assert.equal(render.code, 0, render.stderr);
      assert.match(render.stdout + render.stderr, warning);
      const viaNpm = await plain.run(["preview"], { ...plainEnv, PULUMI_BACKEND_URL: `file://${plain.stateDir}` });
      assert.equal(viaNpm.code, 0, viaNpm.stdout.slice(-3000));
      assert.match(viaNpm.stdout, warning);
      const viaCli = await plain.plain(["preview"], plainEnv);
      assert.equal(viaCli.code, 0, viaCli.stdout.slice(-3000));
      assert.match(viaCli.stdout + viaCli.stderr, warning);
    } finally {
      plain.write("mirrors/gokapi.ts", entry);
    }
  });

  test("4. GIVEN bad entries in mirrors/ (a wrong field, a syntax error, a stray file) WHEN plain pulumi preview THEN it fails with render's messages (file, field, what is allowed), word for word, before any request reaches GitHub", async () => {
    const bad = `import { defineMirror } from "../components/spec";\nexport default defineMirror({ name: "bad", upstream: { repo: "root-gg/plik", license: "MIT" }, image: "docker.io/bad/bad", override: null });\n`;
    plain.write("mirrors/bad.ts", bad);
    plain.write("mirrors/bad.ts.bak", bad);
    // ts-node (the plain CLI's loader) words this "',' expected."; tsx's esbuild, another way: both report esbuild's words.
    plain.write("mirrors/broken.ts", `import { defineMirror } from "../components/spec";\nexport default defineMirror({ name: "broken" upstream: { repo: "root-gg/plik", license: "MIT" }, override: null });\n`);
    try {
      const render = await plain.exec(["--import", "tsx", "infra/render.ts", "--out", path.join(plain.base, "render-bad")], plainEnv, 120_000);
      assert.notEqual(render.code, 0);
      const message = (render.stderr + render.stdout).split("\n").filter((l) => /mirrors\/(bad|broken)/.test(l));
      // The stack's registry follows the GitHub it deploys to (components/registry.ts): here the stand-in's host.
      assert.deepEqual(message, [
        `  - mirrors/bad.ts: image: "docker.io/bad/bad" is not allowed (allowed: a repository of the stack's registry, 'containers.127.0.0.1/<namespace>/<name>' or a bare '<name>')`,
        `  - mirrors/bad.ts.bak: ${NOT_AN_ENTRY}`,
        `  - mirrors/broken.ts: line 2, column 46: syntax error: Expected "}" but found "upstream"`,
      ]);
      const requests = a.requests.length;
      const r = await plain.plain(["preview"], plainEnv);
      assert.notEqual(r.code, 0);
      const out = r.stdout + r.stderr;
      assert.ok(out.includes("3 problems in mirrors/; nothing was created:"), out.slice(-3000));
      for (const line of message) assert.ok(out.includes(line.trim()), `${line.trim()}\nnot in:\n${out.slice(-3000)}`);
      assert.doesNotMatch(out, /at [\w.]+ \(\/|Unhandled exception/, "a stack trace or the loader's unhandled-exception banner");
      assert.equal(a.requests.length, requests, "requests reached GitHub before the entry was checked");
    } finally {
      for (const f of ["bad.ts", "bad.ts.bak", "broken.ts"]) plain.remove(`mirrors/${f}`);
    }
  });

  test("5. GIVEN a program that declares less than mirrors/ holds (here: nothing) WHEN npm run up THEN nothing is applied and the mirrors are named; with --allow-mirror-deletes the plan is applied", async () => {
    const index = inline.read("infra/index.ts");
    inline.write("infra/index.ts", "export = async () => ({});\n");
    try {
      const writes = b.writes().length;
      const refused = await inline.run(["up"], inlineEnv);
      assert.notEqual(refused.code, 0);
      assert.match(refused.stderr, /mirror-fleet: the plan deletes 2 mirrors gokapi, plik although their entries are still in mirrors\/: the program declared less than mirrors\/ holds \(did it run, in this folder\?\)\. Nothing was changed\./);
      assert.equal(b.writes().length, writes, "a refused up wrote to GitHub");
      assert.ok((await urns(inline, inlineEnv)).some((u) => u.endsWith("::gokapi")), "the state lost a mirror");
      const allowed = await inline.run(["up", "--allow-mirror-deletes"], inlineEnv);
      assert.equal(allowed.code, 0, allowed.stdout.slice(-3000));
      assert.ok((allowed.summary?.changes.delete ?? 0) > 20);
      assert.ok(b.repo(`${OWNER}/mirror-gokapi`), "repositories are kept (retainOnDelete)");
    } finally {
      inline.write("infra/index.ts", index);
    }
  });
});
