/**
 * `npm run rehearse`, the main job on embedded defaults: a real `pulumi up`
 * of this checkout's fleet into the stand-in, leaving the checkout as it was.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { requireBuiltTools, ROOT } from "./harness";

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
  assert.match(r.stdout, /^acme-corp\/mirror-gokapi \(private, default branch main\)$/m);
  // The fleet's labels, next to the nine GitHub gives every new repository.
  assert.match(r.stdout, /^ {2}labels: blocked, bug, cve, documentation, duplicate, enhancement, good first issue, help wanted, invalid, mirror-build, override-review, question, rescan, security, upstream-health, wontfix$/m);
  assert.equal(gitStatus(), before, "the rehearsal changed the checkout");
});

test("GIVEN --help or an unknown option WHEN rehearse runs THEN usage with exit 0, or usage with exit 2", () => {
  const help = rehearse(["--help"]);
  assert.equal(help.status, 0);
  assert.match(help.stdout, /^usage: npm run rehearse -- \[--stack NAME\] \[--keep\]/);
  const bad = rehearse(["--bogus"]);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /Unknown option '--bogus'[\s\S]*usage: npm run rehearse/);
});
