import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { before, describe, it } from "node:test";
import { isWatched } from "../../pipeline/lib/review";
import { gitRepo, run, tmpDir } from "../fixtures/pipeline/harness";

/**
 * An upstream with four tags:
 *   v1.0.0  Dockerfile, go.mod, main.go, build/entry.sh, docs/old.md
 *   v1.1.0  main.go and README changed (no watched path)
 *   v1.2.0  Dockerfile changed, docs/old.md renamed, a binary file added
 *   v1.3.0  build/entry.sh renamed to scripts/entry.sh (out of a watched directory)
 */
describe("review: diff review and drift gate over a real git repository", () => {
  let repo: ReturnType<typeof gitRepo>;
  const sha: Record<string, string> = {};
  before(() => {
    repo = gitRepo();
    sha.v100 = repo.commit(
      {
        Dockerfile: "FROM golang:1.22 AS build\nRUN go build\nFROM alpine:3.19\n",
        "go.mod": "module example.org/app\n\ngo 1.22\n",
        "main.go": "package main\n\nfunc main() {}\n",
        "build/entry.sh": "#!/bin/sh\nexec /app\n",
        "docs/old.md": "# Old\n\nline 1\nline 2\nline 3\n",
      },
      "initial import",
    );
    repo.git("tag", "v1.0.0");
    repo.commit({ "main.go": "package main\n\nfunc main() { println(1) }\n" }, "feat: print | a `pipe` and *stars* @someone <b> ```end of fence?");
    sha.v110 = repo.commit({ "README.md": "# App\n" }, "docs: readme");
    repo.git("tag", "-a", "v1.1.0", "-m", "v1.1.0");
    repo.commit({ Dockerfile: "FROM golang:1.23 AS build\nRUN go build\nFROM alpine:3.20\n" }, "build: bump images");
    fs.mkdirSync(path.join(repo.dir, "docs"), { recursive: true });
    repo.git("mv", "docs/old.md", "docs/new.md");
    repo.commit({ "logo.bin": "\0\x01\x02binary\0" }, "docs: rename, add logo");
    sha.v120 = repo.git("rev-parse", "HEAD");
    repo.git("tag", "v1.2.0");
    fs.mkdirSync(path.join(repo.dir, "scripts"), { recursive: true });
    repo.git("mv", "build/entry.sh", "scripts/entry.sh");
    sha.v130 = repo.commit({}, "move entry script");
    repo.git("tag", "v1.3.0");
  });

  const read = (out: string, f: string) => fs.readFileSync(path.join(out, f), "utf8");
  /** sha256 of `git diff --binary --full-index` of the watched paths: what an approval binds to. */
  const driftSha = (paths: string[], from: string, to: string) =>
    createHash("sha256").update(execFileSync("git", ["-C", repo.dir, "diff", "--binary", "--full-index", "-M", from, to, "--", ...paths])).digest("hex");

  it("GIVEN no previous tag WHEN review THEN an initial-build review, an empty patch, drift initial, exit 0", async () => {
    const out = path.join(tmpDir(), "review");
    const r = await run(["review", "--src", repo.dir, "--from", "", "--to", "v1.0.0", "--watch", "Dockerfile,go.mod", "--out", out]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(read(out, "drift.json")), { status: "initial", files: [] });
    assert.equal(read(out, "diff.patch"), "");
    assert.deepEqual(r.outputs, { drift: "initial", drift_files: "" });
    assert.equal(
      read(out, "diff-review.md"),
      [
        "# Diff review: v1.0.0 (initial build)",
        "",
        "There is no previously built tag to compare with, so there is no diff. This first build is reviewed as a whole: the upstream tree at the tag below, built with the mirror's override.",
        "",
        "| | |",
        "|---|---|",
        `| Tag | \`v1.0.0\` (\`${sha.v100.slice(0, 12)}\`) |`,
        "| Files in the tree | 5 |",
        "| Watched paths | `Dockerfile`, `go.mod` |",
        "| Watched files present | `Dockerfile`, `go.mod` |",
        "",
        "Drift gate: **initial**: the override was written against this tree; later builds compare the watched paths with it.",
        "",
      ].join("\n"),
    );
  });

  it("GIVEN --from absent WHEN review THEN also an initial build", async () => {
    const out = path.join(tmpDir(), "review");
    const r = await run(["review", "--src", repo.dir, "--to", "v1.0.0", "--watch", "Dockerfile", "--out", out]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json.drift, "initial");
  });

  it("GIVEN only unwatched files changed WHEN review THEN drift none, exit 0, the commit log, files and patch", async () => {
    const out = path.join(tmpDir(), "review");
    const r = await run(["review", "--src", repo.dir, "--from", "v1.0.0", "--to", "v1.1.0", "--watch", "Dockerfile,go.mod", "--out", out]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(read(out, "drift.json")), { status: "none", files: [] });
    assert.deepEqual(r.outputs, { drift: "none", drift_files: "" });
    const md = read(out, "diff-review.md");
    assert.match(md, /^# Diff review: v1\.0\.0 → v1\.1\.0\n/);
    assert.match(md, /\| Commits \| 2 \|\n\| Files changed \| 2 \(\+2 −1\) \|\n/);
    assert.match(md, /Drift gate: \*\*none\*\*: no watched path changed\./);
    assert.match(md, /\| A \| `README\.md` \| 1 \| 0 \|/);
    assert.match(md, /\| M \| `main\.go` \| 1 \| 1 \|/);
    // Upstream's commit subject is text inside a fence longer than any backtick run in it: no markup, no mention, no HTML.
    assert.match(md, /\n````text\n[0-9a-f]{12} 2026-01-01 Upstream Dev: docs: readme\n[0-9a-f]{12} 2026-01-01 Upstream Dev: feat: print \| a `pipe` and \*stars\* @someone <b> ```end of fence\?\n````\n/);
    const patch = read(out, "diff.patch");
    assert.match(patch, /^diff --git a\/README\.md b\/README\.md\n/m);
    assert.match(patch, /^\+func main\(\) \{ println\(1\) \}$/m);
  });

  it("GIVEN a watched file changed WHEN review THEN drift changed with the file, exit 1, outputs for the workflow", async () => {
    const out = path.join(tmpDir(), "review");
    const r = await run(["review", "--src", repo.dir, "--from", "v1.1.0", "--to", "v1.2.0", "--watch", "Dockerfile,go.mod", "--out", out]);
    assert.equal(r.code, 1, r.stderr);
    assert.deepEqual(JSON.parse(read(out, "drift.json")), { status: "changed", files: ["Dockerfile"], commit: sha.v120, patchSha256: driftSha(["Dockerfile", "go.mod"], sha.v110, sha.v120) });
    assert.deepEqual(r.outputs, { drift: "changed", drift_files: "Dockerfile" });
    assert.equal(r.json.drift, "changed");
    const md = read(out, "diff-review.md");
    assert.match(md, /Drift gate: \*\*changed\*\*: 1 watched file changed upstream\. The override replaces them; a human must check that it still builds what upstream meant to ship\.\n\n- `Dockerfile`\n/);
    assert.match(md, /\| M \| `Dockerfile` \(watched\) \| 2 \| 2 \|/);
    assert.match(md, /\| R \| `docs\/old\.md` → `docs\/new\.md` \| 0 \| 0 \|/);
    assert.match(md, /\| A \| `logo\.bin` \| bin \| bin \|/);
    assert.match(read(out, "diff.patch"), /^-FROM alpine:3\.19\n\+FROM alpine:3\.20$/m);
  });

  it("GIVEN a file moved out of a watched directory WHEN review THEN drift names the old path", async () => {
    const out = path.join(tmpDir(), "review");
    const r = await run(["review", "--src", repo.dir, "--from", "v1.2.0", "--to", "v1.3.0", "--watch", "build/", "--out", out]);
    assert.equal(r.code, 1, r.stderr);
    assert.deepEqual(JSON.parse(read(out, "drift.json")), { status: "changed", files: ["build/entry.sh"], commit: sha.v130, patchSha256: driftSha(["build"], sha.v120, sha.v130) });
  });

  it("GIVEN the watch list of a config WHEN review without --watch THEN the config's paths are used", async () => {
    const cwd = tmpDir();
    fs.mkdirSync(path.join(cwd, ".mirror"));
    const { configYaml } = await import("../fixtures/pipeline/harness");
    fs.writeFileSync(path.join(cwd, ".mirror/config.yml"), configYaml({ range: "*", prerelease: false, prefix: "" }));
    const r = await run(["review", "--src", repo.dir, "--from", "v1.1.0", "--to", "v1.2.0", "--out", "out"], { cwd });
    assert.equal(r.code, 1, r.stderr);
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(cwd, "out/drift.json"), "utf8")).files, ["Dockerfile"]);
    assert.match(fs.readFileSync(path.join(cwd, "out/diff-review.md"), "utf8"), /^# Diff review: Forceu\/Gokapi v1\.1\.0 → v1\.2\.0\n/);
  });

  const bad: Array<{ name: string; args: string[]; stderr: string | RegExp }> = [
    {
      name: "a --to tag with shell characters",
      args: ["--from", "v1.0.0", "--to", "v1.1.0;id", "--watch", "Dockerfile"],
      stderr:
        'review: --to "v1.1.0;id" is not allowed (allowed: a name matching ^[A-Za-z0-9][A-Za-z0-9._+/-]{0,127}$; git also allows characters such as ; $ ( | in tag names, which this pipeline never passes on)\n',
    },
    {
      name: "a --from tag the checkout does not have",
      args: ["--from", "v0.9.0", "--to", "v1.1.0", "--watch", "Dockerfile"],
      stderr: /^review: --from v0\.9\.0 is not a tag in \S+ \(clone the upstream with its tags and full history, e\.g\. fetch-depth: 0\)\n$/,
    },
    { name: "a watch path leaving the checkout", args: ["--to", "v1.1.0", "--watch", "../etc/passwd"], stderr: /^review: --watch: "\.\.\/etc\/passwd" is not allowed \(allowed: a relative path inside the upstream checkout\)\n\nusage:/ },
    { name: "no --watch and no config", args: ["--to", "v1.1.0"], stderr: /^review: --watch is required \(or a config with watch\)\n\nusage:/ },
  ];
  for (const c of bad) {
    it(`GIVEN ${c.name} WHEN review THEN exit 2 and a message that says which`, async () => {
      const r = await run(["review", "--src", repo.dir, "--out", path.join(tmpDir(), "o"), ...c.args]);
      assert.equal(r.code, 2);
      if (typeof c.stderr === "string") assert.equal(r.stderr, c.stderr);
      else assert.match(r.stderr, c.stderr);
    });
  }
});

describe("review: which paths are watched", () => {
  const table: Array<[string, string[], boolean]> = [
    ["Dockerfile", ["Dockerfile"], true],
    ["Dockerfile.alpine", ["Dockerfile"], false],
    ["build/Dockerfile", ["Dockerfile"], false],
    ["build/entry.sh", ["build"], true],
    ["build/entry.sh", ["build/"], true],
    ["buildx/entry.sh", ["build"], false],
    ["docker/a/b/c", ["docker/a"], true],
  ];
  for (const [file, watch, want] of table) {
    it(`GIVEN watch ${JSON.stringify(watch)} THEN ${file} is ${want ? "" : "not "}watched`, () => {
      assert.equal(isWatched(file, watch), want);
    });
  }
});
