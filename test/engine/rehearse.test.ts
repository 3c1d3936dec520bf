/**
 * `npm run rehearse`, the main job on embedded defaults: a real `pulumi up`
 * of this checkout's fleet into the stand-in, leaving the checkout as it was.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { test } from "node:test";
import { NOT_AN_ENTRY } from "../../infra/mirrors";
import { policy } from "../../infra/policy";
import { USER_FLEET } from "../support/user-fleet";
import { requireBuiltTools, ROOT } from "./harness";

/**
 * An entry a user adds (test/fixtures/added-mirrors' uptime-kuma), under a name
 * no user's fleet has, its imports as they read from mirrors/: written into
 * this checkout's mirrors/ as FILE (default ADDED.ts), removed by the caller.
 */
const ADDED = "rehearse-test-added";
function addEntry(file = `${ADDED}.ts`): string {
  const to = path.join(ROOT, "mirrors", file);
  assert.ok(!fs.existsSync(to), `this checkout already has mirrors/${file}`);
  const text = fs.readFileSync(path.join(ROOT, "test", "fixtures", "added-mirrors", "mirrors", "uptime-kuma.ts"), "utf8");
  fs.writeFileSync(to, text.replaceAll('"../../../../', '"../').replace('name: "uptime-kuma",', `name: "${ADDED}",`));
  return to;
}

const rehearse = (args: string[]) =>
  spawnSync(process.execPath, ["--import", "tsx", "tools/rehearse.ts", ...args], { cwd: ROOT, encoding: "utf8", timeout: 300_000 });

const gitStatus = () => spawnSync("git", ["status", "--porcelain", "--untracked-files=all"], { cwd: ROOT, encoding: "utf8" }).stdout;

test("GIVEN this checkout WHEN rehearsed THEN the fleet is created in the stand-in, every request was one GitHub allows, and the checkout is unchanged", () => {
  requireBuiltTools();
  const before = gitStatus();
  const r = rehearse([]);
  assert.equal(r.status, 0, `${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}`);
  const summary = JSON.parse(/^\{"command":"up".*$/m.exec(r.stdout)![0]);
  assert.ok(summary.changes.create > 20, JSON.stringify(summary));
  assert.match(r.stdout, /What GitHub received \(\d+ requests, \d+ writes, 0 refused by GitHub's description\):/);
  // This checkout's own fleet, whatever the user keeps in mirrors/: one repository per entry, its
  // inventory link on the stand-in (an Enterprise Server to the provider, which names itself), not github.com.
  const standIn = /GitHub stand-in at (http:\/\/[^,]+),/.exec(r.stdout)![1].replace(/\./g, "\\.");
  for (const e of USER_FLEET.entries()) {
    const name = (e.spec as { name: string }).name;
    assert.match(r.stdout, new RegExp(`^[A-Za-z0-9-]+/${policy.repoPrefix}${name} \\((?:private|public), default branch main\\)$`, "m"), e.file);
    assert.match(r.stdout, new RegExp(`"repositoryUrl": "${standIn}/[A-Za-z0-9-]+/${policy.repoPrefix}${name}"`), e.file);
  }
  // The nine GitHub gives every new repository: the fleet declares none (its pipeline makes its own where it uses them).
  assert.match(r.stdout, /^ {2}labels: bug, documentation, duplicate, enhancement, good first issue, help wanted, invalid, question, wontfix$/m);
  assert.equal(gitStatus(), before, "the rehearsal changed the checkout");
});

test("GIVEN one more entry in this checkout's mirrors/ WHEN rehearsed THEN its repository is created too: the rehearsal deploys the user's fleet, not the tests' fixture; a stray file there fails it as render does", () => {
  requireBuiltTools();
  const files: string[] = [];
  try {
    files.push(addEntry());
    const r = rehearse([]);
    assert.equal(r.status, 0, `${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}`);
    assert.match(r.stdout, new RegExp(`^[A-Za-z0-9-]+/${policy.repoPrefix}${ADDED} \\(private, default branch main\\)$`, "m"));
    files.push(addEntry(`${ADDED}.ts.bak`));
    const refused = rehearse([]);
    assert.notEqual(refused.status, 0);
    assert.match(refused.stdout + refused.stderr, new RegExp(`  - mirrors/${ADDED}\\.ts\\.bak: ${NOT_AN_ENTRY.replace(/[()<>.]/g, "\\$&")}`));
    assert.match(refused.stdout, /What GitHub received before it stopped \(\d+ requests, 0 writes, 0 refused/);
  } finally {
    for (const f of files) fs.rmSync(f, { force: true });
  }
});

test("GIVEN --dir WHEN rehearsed, again unchanged, then with one more entry THEN the fleet is created, then nothing changes, then only the new mirror is created; a folder that is not a rehearsal's is refused", () => {
  requireBuiltTools();
  const base = fs.mkdtempSync(path.join(os.tmpdir(), "mirror-fleet-rehearse-dir-"));
  const dir = path.join(base, "rehearsal");
  let added: string | undefined;
  const changes = (r: ReturnType<typeof rehearse>) => {
    assert.equal(r.status, 0, `${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}`);
    return JSON.parse(/^\{"command":"up".*$/m.exec(r.stdout)![0]).changes as Record<string, number>;
  };
  try {
    const first = changes(rehearse(["--dir", dir]));
    assert.deepEqual(Object.keys(first), ["create"]);
    const again = rehearse(["--dir", dir]);
    assert.deepEqual(changes(again), { same: first.create });
    assert.match(again.stdout, /Rehearsing on the stack and stand-in kept in .*: what follows is what this checkout changes there\./);
    added = addEntry();
    const grown = rehearse(["--dir", dir]);
    const c = changes(grown);
    assert.deepEqual(Object.keys(c).sort(), ["create", "same"]);
    assert.equal(c.same, first.create, "the mirrors already there are unchanged");
    assert.match(grown.stdout, new RegExp(`^[A-Za-z0-9-]+/${policy.repoPrefix}${ADDED} \\(private, default branch main\\)$`, "m"));
    const other = path.join(base, "other");
    fs.mkdirSync(other);
    fs.writeFileSync(path.join(other, "notes.txt"), "mine\n");
    const refused = rehearse(["--dir", other]);
    assert.equal(refused.status, 2);
    assert.match(refused.stderr, /--dir .*\/other: not empty, and not an earlier rehearsal's \(no rehearsal\.json\)/);
    assert.equal(fs.readFileSync(path.join(other, "notes.txt"), "utf8"), "mine\n");
  } finally {
    if (added) fs.rmSync(added, { force: true });
    fs.rmSync(base, { recursive: true, force: true });
  }
});

test("GIVEN a stack file the user's own runs changed (encryptionsalt of another passphrase, encrypted secrets) WHEN rehearsed THEN it runs on placeholders and says which", () => {
  requireBuiltTools();
  const file = path.join(ROOT, "Pulumi.rehearsal-test.yaml");
  const prod = fs.readFileSync(path.join(ROOT, "Pulumi.prod.yaml"), "utf8");
  fs.writeFileSync(
    file,
    `${prod}  mirror-fleet:slackWebhookUrl:\n    secure: v1:AAAAAAAAAAAAAAAA:ciphertext-of-another-passphrase\n  mirror-fleet:githubToken:\n    secure: v1:AAAAAAAAAAAAAAAA:ciphertext\nencryptionsalt: v1:EXdnALK51IE=:v1:jpRBPkSth1OcsPqK:U+mtagwct3HKsmimPbeekTXuFCOlcg==\n`,
  );
  try {
    const r = rehearse(["--stack", "rehearsal-test"]);
    assert.equal(r.status, 0, `${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}`);
    assert.match(r.stdout, /the rehearsal gives these placeholders instead: mirror-fleet:slackWebhookUrl\n/);
    assert.match(r.stdout, /What GitHub received \(\d+ requests, \d+ writes, 0 refused/);
  } finally {
    fs.rmSync(file, { force: true });
  }
});

test("GIVEN --org-default (GitHub's own default: Actions may not open pull requests) WHEN rehearsed THEN the up fails before any write, naming the organisation setting, and the rehearsal says it failed", () => {
  requireBuiltTools();
  const r = rehearse(["--org-default"]);
  assert.notEqual(r.status, 0);
  assert.match(r.stdout + r.stderr, /mirror-fleet:actionsCanCreatePullRequests: true, but acme-corp has "Allow GitHub Actions to create and approve pull requests" turned off/);
  assert.match(r.stdout, /The rehearsal's up FAILED \(exit 1; its error is above\)\. What GitHub received before it stopped \(\d+ requests, 0 writes, 0 refused/);
});

test("GIVEN --help or an unknown option WHEN rehearse runs THEN usage with exit 0, or usage with exit 2", () => {
  const help = rehearse(["--help"]);
  assert.equal(help.status, 0);
  assert.match(help.stdout, /^usage: npm run rehearse -- \[--stack NAME\] \[--keep\] \[--dir DIR\] \[--org-default\]/);
  const bad = rehearse(["--bogus"]);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /Unknown option '--bogus'[\s\S]*usage: npm run rehearse/);
});
