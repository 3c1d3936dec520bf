/**
 * The stand-in's commits are real git commits, served over git's smart HTTP
 * protocol: a `git clone` of the stand-in checks out the API's files at the
 * API's SHA (what actions/checkout does with a run's GITHUB_SHA), git itself
 * finds every object sound, a private repository needs the token, and a push
 * over git is refused (the pipeline writes through the REST API).
 */
import { strict as assert } from "node:assert";
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { test } from "node:test";
import { startGitHubStandIn } from "./github-standin";

// Asynchronous: the stand-in answers from this same process.
const run = (args: string[], cwd?: string) =>
  new Promise<{ status: number; stdout: string; stderr: string }>((resolve) => {
    execFile("git", args, { cwd, encoding: "utf8", env: { PATH: process.env.PATH, HOME: os.tmpdir(), GIT_CONFIG_NOSYSTEM: "1", GIT_TERMINAL_PROMPT: "0" } }, (err, stdout, stderr) =>
      resolve({ status: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout: stdout.trim(), stderr }),
    );
  });
const git = async (args: string[], cwd?: string) => {
  const r = await run(args, cwd);
  assert.equal(r.status, 0, `git ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
};

test("GIVEN a repository in the stand-in WHEN cloned over HTTP with the token THEN git sees the API's commits, files and SHAs, and fsck finds them sound", async () => {
  const s = await startGitHubStandIn();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "standin-git-test-"));
  try {
    s.addRepo("acme/mirror", { files: { "README.md": "# mirror\n", ".mirror/config.yml": "schema: 1\n", ".github/workflows/mirror.yml": "name: m\n" } });
    const head = s.putFile("acme/mirror", "main", "image-pin.yml", "tag: v1\n", "Pin v1");
    s.addTag("acme/mirror", "v1", head);
    const auth = `http.extraheader=AUTHORIZATION: basic ${Buffer.from(`x-access-token:${s.token}`).toString("base64")}`;
    await git(["-c", auth, "clone", "--quiet", `${s.url}/acme/mirror`, path.join(dir, "c")]);
    const c = path.join(dir, "c");
    assert.equal(await git(["rev-parse", "HEAD"], c), head);
    assert.equal(await git(["rev-parse", "v1^{commit}"], c), head);
    assert.equal(fs.readFileSync(path.join(c, ".mirror/config.yml"), "utf8"), "schema: 1\n");
    assert.equal(await git(["log", "--format=%an <%ae> %s", "-1"], c), "alice <alice@example.com> Pin v1");
    assert.equal(await git(["rev-list", "--count", "HEAD"], c), "2");
    await git(["fsck", "--strict"], c);
    // A fetch by SHA, as actions/checkout does for a push event.
    const f = path.join(dir, "f");
    await git(["init", "--quiet", f]);
    await git(["-c", auth, "fetch", "--quiet", "--depth=1", `${s.url}/acme/mirror`, `+${head}:refs/remotes/origin/main`], f);
    assert.equal(await git(["rev-parse", "refs/remotes/origin/main"], f), head);
  } finally {
    await s.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("GIVEN jobs checking out at once (act runs a workflow's jobs in parallel) WHEN each fetches while the API adds commits THEN every fetch gets its commit", async () => {
  const s = await startGitHubStandIn();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "standin-git-test-"));
  try {
    s.addRepo("acme/mirror", { files: { "README.md": "# mirror\n" } });
    const auth = `http.extraheader=AUTHORIZATION: basic ${Buffer.from(`x-access-token:${s.token}`).toString("base64")}`;
    // Each request rewrites the served repository; before it was written whole, a fetch that met another's rewrite
    // failed with "fatal: expected 'packfile'" (seen in the e2e: two jobs of one night checking out together).
    const fetches = Array.from({ length: 24 }, async (_, i) => {
      const head = s.putFile("acme/mirror", "main", `f${i}.txt`, `${i}\n`, `commit ${i}`);
      const f = path.join(dir, `f${i}`);
      await git(["init", "--quiet", f]);
      await git(["-c", auth, "fetch", "--quiet", "--depth=1", `${s.url}/acme/mirror`, `+${head}:refs/remotes/origin/main`], f);
      assert.equal(await git(["rev-parse", "refs/remotes/origin/main"], f), head);
    });
    await Promise.all(fetches);
  } finally {
    await s.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("GIVEN a private repository WHEN cloned without the token THEN 401; a push over git is refused; an unknown repository is 404", async () => {
  const s = await startGitHubStandIn();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "standin-git-test-"));
  try {
    s.addRepo("acme/mirror");
    const anon = await run(["clone", "--quiet", `${s.url}/acme/mirror`, path.join(dir, "a")]);
    assert.notEqual(anon.status, 0);
    assert.match(anon.stderr, /Authentication failed|could not read Username|401/);
    const unknown = await run(["ls-remote", `${s.url}/acme/nope`]);
    assert.notEqual(unknown.status, 0);
    assert.match(unknown.stderr, /not found|404/i);
    const r = await fetch(`${s.url}/acme/mirror.git/info/refs?service=git-receive-pack`, { headers: { authorization: `basic ${Buffer.from(`x:${s.token}`).toString("base64")}` } });
    assert.equal(r.status, 403);
  } finally {
    await s.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
