/**
 * A user's pull request that adds a valid entry to mirrors/ keeps `npm test`
 * green (issue 18, item 2). A copy of the project gets two more entries of the
 * kinds a user adds (test/fixtures/added-mirrors: a preset override, and
 * upstream's own Dockerfile), then type-checks its mirrors/ and runs, there,
 * every test file that reads mirrors/: those that import
 * test/support/user-fleet.ts, directly or through a helper, found by following
 * their relative imports. A static check keeps every other way of reading
 * mirrors/ out of the other test modules.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { test } from "node:test";
import { PROJECT_ROOT } from "../../infra/mirrors";
import { copyEntries } from "../support/fleets";

const ADDED = path.join(PROJECT_ROOT, "test", "fixtures", "added-mirrors", "mirrors");
/** What a clone has that a copy must not take: git's and the tools' state, build output. */
const NOT_COPIED = new Set([".git", "node_modules", "out", ".pulumi-state", ".pulumi-cli", ".e2e-tmp", ".rehearsal"]);
const THIS = path.relative(PROJECT_ROOT, __filename).split(path.sep).join("/");
/** The one test module that reads the user's mirrors/. */
const GATEWAY = "test/support/user-fleet.ts";

/**
 * Ways a module could read the project's own mirrors/ other than through the
 * gateway: the loader's default folder, the project-root file reader, a path
 * built from the project root to mirrors/, or the program's entry point.
 */
const READS_MIRRORS: ReadonlyArray<[RegExp, string]> = [
  [/loadMirrorEntries\(\s*\)/, "loadMirrorEntries() (its default folder is the project's mirrors/)"],
  [/\breadProjectFile\b/, "readProjectFile (reads under the project root)"],
  [/(?:PROJECT_ROOT|ROOT|__dirname|["']\.\.["'])\s*,\s*(?:["']\.\.["']\s*,\s*)*["']mirrors["']/, "a path from the project root to mirrors/"],
  [/["'](?:\.\.\/)+mirrors\//, "a relative path to mirrors/"],
  [/["'](?:\.\.\/)+infra(?:\/index)?["']/, "the program's entry point (infra/index.ts)"],
];

/** TypeScript modules under test/ that `npm test` loads (the engine's and the e2e's aside), repo-relative. */
function testModules(): string[] {
  return fs
    .readdirSync(path.join(PROJECT_ROOT, "test"), { recursive: true, encoding: "utf8" })
    .map((f) => `test/${f.split(path.sep).join("/")}`)
    .filter((f) => f.endsWith(".ts") && !f.startsWith("test/engine/") && !f.startsWith("test/e2e/") && !f.startsWith("test/fixtures/") && !f.startsWith("test/testdata/"))
    .sort();
}

/** The test files that read the user's mirrors/: they reach the gateway. */
function userFleetTests(): string[] {
  return testModules().filter((f) => f.endsWith(".test.ts") && f !== THIS && reach(f).has(GATEWAY));
}

/** Every repo-relative module `file` reaches through relative imports (static, dynamic and require). */
function reach(file: string, seen = new Set<string>()): Set<string> {
  if (seen.has(file)) return seen;
  seen.add(file);
  const text = fs.readFileSync(path.join(PROJECT_ROOT, file), "utf8");
  for (const m of text.matchAll(/(?:\bfrom\s+|\bimport\(\s*|\brequire\(\s*)["'](\.{1,2}\/[^"']+)["']/g)) {
    const base = path.posix.normalize(path.posix.join(path.posix.dirname(file), m[1]));
    const found = [base, `${base}.ts`, `${base}/index.ts`].find((c) => fs.existsSync(path.join(PROJECT_ROOT, c)) && fs.statSync(path.join(PROJECT_ROOT, c)).isFile());
    if (found) reach(found, seen);
  }
  return seen;
}

/** The project copied into `dir`, node_modules as hard links (the same bytes at the copy's own path: a bundle built there is the checkout's). */
function copyProject(dir: string): void {
  for (const name of fs.readdirSync(PROJECT_ROOT)) {
    if (!NOT_COPIED.has(name)) fs.cpSync(path.join(PROJECT_ROOT, name), path.join(dir, name), { recursive: true });
  }
  const linked = spawnSync("cp", ["-al", path.join(PROJECT_ROOT, "node_modules"), path.join(dir, "node_modules")], { encoding: "utf8" });
  if (linked.status !== 0) {
    // Another file system (a tmpfs /tmp): copy the files instead.
    fs.rmSync(path.join(dir, "node_modules"), { recursive: true, force: true });
    const copied = spawnSync("cp", ["-a", path.join(PROJECT_ROOT, "node_modules"), path.join(dir, "node_modules")], { encoding: "utf8" });
    assert.equal(copied.status, 0, `copying node_modules: ${linked.stderr}${copied.stderr}`);
  }
}

test("GIVEN the test files WHEN their imports are followed THEN those reading mirrors/ are found, and the renderer's own are not among them (the search is live)", () => {
  const files = userFleetTests();
  for (const f of ["test/component/mirrored-image.test.ts", "test/workflow/linters.test.ts", "test/spec/resolve.test.ts", "test/infra/render.test.ts"]) assert.ok(files.includes(f), f);
  for (const f of ["test/golden/render.test.ts", "test/pipeline/gate.test.ts"]) assert.ok(!files.includes(f), f);
});

test("GIVEN every other test module WHEN read THEN none reads mirrors/ but through test/support/user-fleet.ts", () => {
  const found = testModules()
    .filter((f) => f !== GATEWAY && f !== THIS)
    .flatMap((f) => {
      const text = fs.readFileSync(path.join(PROJECT_ROOT, f), "utf8");
      return READS_MIRRORS.filter(([re]) => re.test(text)).map(([, what]) => `${f}: ${what}`);
    });
  assert.deepEqual(found, [], "read the user's mirrors/ through test/support/user-fleet.ts, or render a fixture fleet (test/support/fleets.ts)");
  // The patterns are live: the gateway itself reads mirrors/ one of these ways.
  assert.ok(READS_MIRRORS.some(([re]) => re.test('loadMirrorEntries()')) && READS_MIRRORS.some(([re]) => re.test('path.join(PROJECT_ROOT, "mirrors")')));
});

test("GIVEN a copy of the project with two more valid entries in mirrors/ WHEN its mirrors/ is type-checked and every test that can read mirrors/ runs there THEN all pass, and the new entries were among those tested", { timeout: 15 * 60_000 }, () => {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), "mirror-fleet-user-fleet-"));
  try {
    // base/copy/mirror-fleet is the copy; base/tmp its temporary folder, not beside it: the copy's
    // read guard refuses what lies beside its checkout, as ours does.
    const dir = path.join(base, "copy", "mirror-fleet");
    fs.mkdirSync(dir, { recursive: true });
    copyProject(dir);
    const added = copyEntries(ADDED, path.join(dir, "mirrors"));
    assert.deepEqual(added, ["miniflux.ts", "uptime-kuma.ts"]);
    const tmp = path.join(base, "tmp");
    fs.mkdirSync(tmp);
    // NODE_TEST_CONTEXT unset: with it, Node's runner in the child thinks it is nested and runs nothing.
    const { NODE_TEST_CONTEXT: _, ...parent } = process.env;
    const env = { ...parent, TMPDIR: tmp, UPDATE_GOLDEN: "" };

    // The entries as `npm run typecheck` sees them (the rest of the project is the checkout's, checked by npm test itself).
    fs.writeFileSync(path.join(dir, "tsconfig.mirrors.json"), JSON.stringify({ extends: "./tsconfig.json", include: ["mirrors"] }));
    const tsc = spawnSync(process.execPath, ["node_modules/typescript/bin/tsc", "-p", "tsconfig.mirrors.json"], { cwd: dir, env, encoding: "utf8" });
    assert.equal(tsc.status, 0, `tsc in the copy:\n${tsc.stdout}${tsc.stderr}`);

    const files = userFleetTests();
    const run = spawnSync(
      process.execPath,
      // The reporters of package.json's `test`: strict-reporter makes a suite that breaks while it is set up fail the run.
      ["--import", "tsx", "--import", "./test/support/checkout-only.ts", "--test", "--test-reporter=spec", "--test-reporter-destination=stdout", "--test-reporter=./test/support/strict-reporter.mjs", "--test-reporter-destination=stderr", ...files],
      { cwd: dir, env, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 },
    );
    const failing = run.stdout.slice(run.stdout.lastIndexOf("failing tests:"));
    assert.equal(run.status, 0, `the tests that read mirrors/ failed with two more entries:\n${run.status === 0 ? "" : failing}${run.stderr}`);
    for (const f of added) assert.match(run.stdout, new RegExp(`mirrors/${f.replace(".", "\\.")}`), `no test named mirrors/${f}: was it rendered?`);
  } finally {
    fs.rmSync(base, { recursive: true, force: true });
  }
});
