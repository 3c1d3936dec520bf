import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import { builtinModules } from "node:module";
import * as path from "node:path";
import { before, describe, it } from "node:test";
import { buildPipelineBundle, bundledPackages, pipelineBundle } from "../../pipeline/bundle";
import { COMMANDS } from "../../pipeline/main";
import { TESTDATA, tmpDir } from "../fixtures/pipeline/harness";

/** What the bundle may weigh: it is committed to the pipeline repository and kept in Pulumi state, once per fleet (each run copies it out of the pipeline action). */
const BUDGET_BYTES = 512 * 1024;

describe("bundle: pipeline.cjs (run here from a folder of its own, with nothing else around it)", () => {
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

  it("GIVEN the bundle THEN it starts with the source version and the body's hash (the generated-file header is the renderer's)", () => {
    const lines = bundle.split("\n");
    const version = JSON.parse(fs.readFileSync(path.resolve(__dirname, "../../package.json"), "utf8")).version;
    assert.match(lines[0], new RegExp(`^// mirror-fleet pipeline ${version.replace(/\./g, "\\.")}; sources sha256:[0-9a-f]{64} \\(\\d+ files\\)$`));
    const at = lines.findIndex((l) => l.startsWith("// bundle body sha256:"));
    const m = /^\/\/ bundle body sha256:([0-9a-f]{64}) \(everything after this line\)$/.exec(lines[at]);
    assert.ok(m, lines[at]);
    assert.ok(lines.slice(0, at).every((l) => l.startsWith("//")), "the header is comments only");
    const body = lines.slice(at + 1).join("\n");
    assert.equal(createHash("sha256").update(body).digest("hex"), m[1]);
  });

  it("GIVEN two builds THEN the same bytes, and pipelineBundle() builds once", () => {
    assert.equal(buildPipelineBundle(), bundle);
    assert.equal(pipelineBundle(), pipelineBundle());
    assert.equal(pipelineBundle(), bundle);
  });

  // Issue 18 item 10: the rehearsal's copy links node_modules to the checkout's,
  // and the bundle carried the path to it, so its hash differed from render's.
  it("GIVEN a copy of the project elsewhere whose node_modules is a symbolic link WHEN bundled THEN the same bytes, naming no path outside the project", () => {
    const root = path.resolve(__dirname, "../..");
    const copy = path.join(tmpDir(), "elsewhere", "project");
    fs.mkdirSync(copy, { recursive: true });
    for (const f of ["pipeline", "contract", "package.json", "tsconfig.json"]) fs.cpSync(path.join(root, f), path.join(copy, f), { recursive: true });
    fs.symlinkSync(path.join(root, "node_modules"), path.join(copy, "node_modules"));
    const there = buildPipelineBundle(copy);
    assert.ok(!there.includes(root) && !there.includes(copy) && !/\.\.\/node_modules\//.test(there), "a path outside the project is in the bundle");
    assert.equal(there, bundle);
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

describe("bundle: the packages it carries, with version and licence", () => {
  const ROOT = path.resolve(__dirname, "../..");
  const lock = JSON.parse(fs.readFileSync(path.join(ROOT, "package-lock.json"), "utf8")) as { packages: Record<string, { version: string; license?: string }> };

  it("GIVEN the bundle WHEN its header is read THEN it lists every package esbuild put in, each with the lock file's version and licence", () => {
    const bundle = pipelineBundle();
    const listed = [...bundle.matchAll(/^\/\/ {3}(\S+) (\S+) +(\S+)$/gm)].map((m) => ({ name: m[1], version: m[2], license: m[3] }));
    // What went into the bundle: the metafile's inputs, which bundledPackages groups by package.
    const { metafile } = require("esbuild").buildSync({ absWorkingDir: ROOT, entryPoints: ["pipeline/main.ts"], bundle: true, platform: "node", format: "cjs", metafile: true, write: false, logLevel: "silent" });
    const packages = bundledPackages(Object.keys(metafile.inputs));
    assert.deepEqual(listed, packages.map(({ name, version, license }) => ({ name, version, license })));
    for (const p of packages) {
      assert.equal(lock.packages[p.dir]?.version, p.version, `${p.dir}: the version in package-lock.json`);
      if (lock.packages[p.dir].license) assert.equal(lock.packages[p.dir].license, p.license, `${p.dir}: the licence in package-lock.json`);
    }
    assert.ok(listed.some((p) => p.name === "@octokit/core") && listed.some((p) => p.name === "semver"), JSON.stringify(listed));
    assert.match(bundle, new RegExp(`^// Licence: mirror-fleet's own code Apache-2\\.0\\. Bundled packages \\(${listed.length}\\), name version licence;$`, "m"));
  });

  it("GIVEN package.json licence forms WHEN read THEN SPDX, { type } and licenses[] all give a licence", () => {
    const dir = tmpDir();
    const write = (name: string, pkg: object) => {
      fs.mkdirSync(path.join(dir, "node_modules", name), { recursive: true });
      fs.writeFileSync(path.join(dir, "node_modules", name, "package.json"), JSON.stringify({ name, version: "1.0.0", ...pkg }));
    };
    write("a", { license: "MIT" });
    write("b", { license: { type: "BSD-3-Clause" } });
    write("c", { licenses: [{ type: "MIT" }, { type: "Apache-2.0" }] });
    write("d", {});
    assert.deepEqual(
      bundledPackages(["node_modules/a/x.js", "node_modules/b/y.js", "node_modules/c/z.js", "node_modules/d/i.js", "pipeline/main.ts"], dir).map((p) => p.license),
      ["MIT", "BSD-3-Clause", "(MIT OR Apache-2.0)", "UNKNOWN"],
    );
  });
});
