/**
 * Every command of the project answers `--help` with its usage on stdout and
 * exit 0, and an unknown option with the usage on stderr and exit 2. Each is
 * run as npm runs it (a fresh Node process with tsx), so the test sees the
 * real exit code and streams.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";
import { USAGE as BENCH } from "../../bench/fleet";
import { MIRROR_PATHS } from "../../components/mirror-config";
import { USAGE as AUTOMATION } from "../../infra/automation";
import { USAGE as RENDER } from "../../infra/render";
import { USAGE as REPORT } from "../../infra/report";
import { COMMANDS, usage as pipelineUsage } from "../../pipeline/main";
import { USAGE as E2E } from "../e2e/run";
import { USAGE as E2E_FLEET } from "../e2e/fleet";

const ROOT = path.resolve(__dirname, "../..");

function run(file: string, args: string[]) {
  const r = spawnSync(process.execPath, ["--import", "tsx", path.join(ROOT, file), ...args], {
    cwd: ROOT,
    encoding: "utf8",
    timeout: 60_000,
    env: { PATH: process.env.PATH, HOME: process.env.HOME },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const commands: Array<[string, string, string[], string]> = [
  ["npm run preview", "infra/automation.ts", ["preview"], AUTOMATION],
  ["npm run up", "infra/automation.ts", ["up"], AUTOMATION],
  ["npm run render", "infra/render.ts", [], RENDER],
  ["npm run report", "infra/report.ts", [], REPORT],
  ["npm run bench", "bench/fleet.ts", [], BENCH],
  ["npm run e2e", "test/e2e/run.ts", [], E2E],
  ["npm run e2e:fleet", "test/e2e/fleet.ts", [], E2E_FLEET],
  ...COMMANDS.map((c): [string, string, string[], string] => [`npm run pipeline -- ${c.name}`, "pipeline/main.ts", [c.name], c.usage]),
];

describe("every command: --help and unknown options", () => {
  test("GIVEN package.json's scripts WHEN read THEN every command but the test runners is one process running its file, so what follows `--` (--help) reaches it", () => {
    const scripts = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")).scripts as Record<string, string>;
    const runners = new Set(["typecheck", "test", "test:engine", "test:all"]);
    assert.deepEqual(Object.entries(scripts).filter(([n, s]) => !runners.has(n) && /&&|\|\||;|\||\$\(/.test(s)).map(([n]) => n), []);
    for (const [name, file] of commands) assert.ok(scripts[/^npm run ([\w:]+)/.exec(name)![1]].includes(file), `${name}: ${file}`);
  });

  test("GIVEN the preview/up usage WHEN read THEN flags go after one `--`", () => {
    assert.match(AUTOMATION, /^usage: npm run preview\|up -- \[--stack NAME\] \[--refresh\] \[--allow-mirror-deletes\]\n/);
  });

  for (const [name, file, pre, usage] of commands) {
    test(`GIVEN ${name} --help WHEN run THEN the usage on stdout and exit 0`, () => {
      const r = run(file, [...pre, "--help"]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, usage);
    });
    test(`GIVEN ${name} --no-such-flag WHEN run THEN the usage on stderr and exit 2`, () => {
      const r = run(file, [...pre, "--no-such-flag"]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /--no-such-flag/);
      assert.ok(r.stderr.trimEnd().endsWith(usage.trimEnd()), r.stderr);
      assert.equal(r.stdout.includes("usage:"), false);
    });
  }

  test("GIVEN npm run bench -- --engine-write-delay-ms 1s WHEN run THEN exit 2 naming the flag and what it takes, before measuring anything", () => {
    const r = run("bench/fleet.ts", ["--engine-write-delay-ms", "1s", "--sizes", "1", "--engine-sizes", "0"]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /^bench: --engine-write-delay-ms takes milliseconds, 0 to 999999\n/);
    assert.doesNotMatch(r.stderr, /bench: 1 mirrors/);
  });

  test("GIVEN dockerfile --help WHEN read THEN it names the path the override is committed at", () => {
    const usage = COMMANDS.find((c) => c.name === "dockerfile")!.usage;
    assert.ok(usage.includes(`--override FILE       the override as committed (${MIRROR_PATHS.override})`), usage);
    assert.doesNotMatch(usage, /\.mirror\/Dockerfile/);
  });

  test("GIVEN npm run pipeline with no command WHEN run THEN the command list on stderr and exit 2; with --help on stdout and exit 0", () => {
    const none = run("pipeline/main.ts", []);
    assert.deepEqual([none.code, none.stdout, none.stderr], [2, "", pipelineUsage()]);
    const help = run("pipeline/main.ts", ["--help"]);
    assert.deepEqual([help.code, help.stdout], [0, pipelineUsage()]);
  });
});
