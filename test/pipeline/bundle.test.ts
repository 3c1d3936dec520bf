import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import { builtinModules } from "node:module";
import * as path from "node:path";
import { before, describe, it } from "node:test";
import { header } from "../../components/header";
import { buildPipelineBundle, pipelineBundle } from "../../pipeline/bundle";
import { COMMANDS } from "../../pipeline/main";
import { TESTDATA, tmpDir } from "../fixtures/pipeline/harness";

/** What the bundle may weigh: it is committed into every mirror repo and kept in Pulumi state per mirror. */
const BUDGET_BYTES = 512 * 1024;

describe("bundle: .mirror/pipeline.cjs", () => {
  let bundle: string;
  let dir: string;
  const node = (args: string[]) =>
    spawnSync(process.execPath, [".mirror/pipeline.cjs", ...args], {
      cwd: dir,
      encoding: "utf8",
      // Nothing from the test runner: no tsx loader, no NODE_PATH, no node_modules anywhere up the tree.
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
      timeout: 60_000,
    });

  before(() => {
    bundle = buildPipelineBundle();
    dir = tmpDir();
    fs.mkdirSync(path.join(dir, ".mirror"));
    fs.writeFileSync(path.join(dir, ".mirror/pipeline.cjs"), bundle);
    fs.copyFileSync(path.join(TESTDATA, "trivy/debian-buster.json"), path.join(dir, "image.json"));
    fs.copyFileSync(path.join(TESTDATA, "upstream-tags/plik-tags.txt"), path.join(dir, "tags.txt"));
  });

  it("GIVEN the bundle THEN it starts with the generated-file header, the source version and the body's hash", () => {
    const lines = bundle.split("\n");
    const head = header("//", "pipeline/ (bundled by pipeline/bundle.ts)");
    assert.ok(bundle.startsWith(head));
    const version = JSON.parse(fs.readFileSync(path.resolve(__dirname, "../../package.json"), "utf8")).version;
    assert.match(lines[2], new RegExp(`^// mirror-fleet pipeline ${version.replace(/\./g, "\\.")}; sources sha256:[0-9a-f]{64} \\(\\d+ files\\)$`));
    const m = /^\/\/ bundle body sha256:([0-9a-f]{64}) \(everything after this line\)$/.exec(lines[3]);
    assert.ok(m, lines[3]);
    const body = lines.slice(4).join("\n");
    assert.equal(createHash("sha256").update(body).digest("hex"), m[1]);
  });

  it("GIVEN two builds THEN the same bytes, and pipelineBundle() builds once", () => {
    assert.equal(buildPipelineBundle(), bundle);
    assert.equal(pipelineBundle(), pipelineBundle());
    assert.equal(pipelineBundle(), bundle);
  });

  it("GIVEN the bundle THEN it is readable (not minified) and within its size budget", () => {
    const lines = bundle.split("\n");
    assert.ok(lines.length > 2000, `only ${lines.length} lines: minified?`);
    assert.ok(Math.max(...lines.map((l) => l.length)) < 1000, "a line over 1000 characters: minified?");
    assert.ok(bundle.includes("function resolveTag("), "names are kept");
    const bytes = Buffer.byteLength(bundle);
    assert.ok(bytes < BUDGET_BYTES, `the bundle is ${bytes} bytes; the budget is ${BUDGET_BYTES}`);
  });

  it("GIVEN the bundle THEN it requires Node built-ins only", () => {
    const required = [...bundle.matchAll(/\brequire\("([^"]+)"\)/g)].map((m) => m[1]);
    assert.ok(required.length > 0);
    const builtins = new Set(builtinModules);
    for (const r of required) assert.ok(r.startsWith("node:") || builtins.has(r), `requires ${r}`);
  });

  it("GIVEN an empty directory and plain node WHEN --help THEN every command is listed, exit 0", () => {
    const r = node(["--help"]);
    assert.equal(r.status, 0, r.stderr);
    for (const c of COMMANDS) assert.match(r.stdout, new RegExp(`^  ${c.name} +${c.summary.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`, "m"));
  });

  it("GIVEN plain node WHEN gate --help THEN the gate's usage", () => {
    const r = node(["gate", "--help"]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, COMMANDS.find((c) => c.name === "gate")!.usage);
  });

  it("GIVEN plain node and a recorded report WHEN gate THEN the decision, exit 1 for a blocking CRITICAL", () => {
    const r = node(["gate", "--report", "image.json", "--today", "2026-11-23", "--summary-out", "summary.md"]);
    assert.equal(r.status, 1, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.decision, "block");
    assert.deepEqual(out.blocking.map((b: { id: string }) => b.id), ["CVE-2019-18224"]);
    assert.match(fs.readFileSync(path.join(dir, "summary.md"), "utf8"), /^### Scan gate: BLOCKED\n/);
  });

  it("GIVEN plain node and a tag list WHEN resolve THEN semver works inside the bundle", () => {
    const r = node(["resolve", "--tags-file", "tags.txt", "--range", "~1.2.0"]);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { tag: "1.2.4", lastTag: null, build: true, reason: "nothing is pinned yet: building the newest allowed tag 1.2.4" });
  });

  it("GIVEN plain node and a missing report WHEN gate THEN exit 2 (fails closed)", () => {
    const r = node(["gate", "--report", "fs.json", "--today", "2026-11-23"]);
    assert.equal(r.status, 2);
    assert.deepEqual(JSON.parse(r.stdout).unusable, ["fs.json: report does not exist (the scan did not write it)"]);
  });
});
