/**
 * `npm run standin`: the stand-in as a server process whose state outlives it
 * (a second process on the same folder sees the same repositories), with
 * GitHub's answers on the provider's /api/v3 paths and a JSON line per request.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { test } from "node:test";
import sodium from "libsodium-wrappers";
import { secretValueIn } from "./github-standin";

const MAIN = path.join(__dirname, "standin-main.ts");

function run(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ["--import", "tsx", MAIN, ...args], { encoding: "utf8" });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Starts the server and waits for its JSON line. */
async function serve(args: string[]): Promise<{ child: ChildProcess; url: string; token: string; log: string }> {
  const child = spawn(process.execPath, ["--import", "tsx", MAIN, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  const line = await new Promise<string>((resolve, reject) => {
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      if (out.includes("\n")) resolve(out.split("\n")[0]);
    });
    child.once("exit", (code) => reject(new Error(`standin exited ${code} before listening: ${err}`)));
  });
  return { child, ...(JSON.parse(line) as { url: string; token: string; log: string }) };
}

async function stop(child: ChildProcess): Promise<number | null> {
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  child.kill("SIGTERM");
  return exited;
}

test("GIVEN --help or an unknown option THEN usage with exit 0, or the option named with exit 2", () => {
  const help = run(["--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^usage: npm run standin -- --port P --state DIR/);
  const bad = run(["--port", "0", "--state", os.tmpdir(), "--bogus"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /Unknown option '--bogus'/);
  const noState = run(["--port", "0"]);
  assert.equal(noState.code, 2);
  assert.match(noState.stderr, /--state DIR is required/);
  assert.equal(run(["--port", "http", "--state", os.tmpdir()]).code, 2);
});

test("GIVEN a state folder WHEN a second server starts on it THEN it serves what the first one was sent, under /api/v3 with GitHub's answers", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "standin-main-"));
  try {
    const first = await serve(["--port", "0", "--state", dir, "--org", "acme"]);
    const call = (base: string, token: string, method: string, p: string, body?: unknown) =>
      fetch(`${base}/api/v3${p}`, { method, headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });
    try {
      assert.equal((await call(first.url, first.token, "POST", "/orgs/acme/repos", { name: "r", auto_init: true, private: true })).status, 201);
      assert.equal((await call(first.url, first.token, "POST", "/orgs/nobody/repos", { name: "r" })).status, 404);
      assert.equal((await call(first.url, first.token, "POST", "/repos/acme/r/labels", { name: "cve", color: "b60205" })).status, 201);
      const dup = await call(first.url, first.token, "POST", "/repos/acme/r/labels", { name: "CVE", color: "b60205" });
      assert.equal(dup.status, 422);
      assert.deepEqual(((await dup.json()) as { errors: unknown[] }).errors, [{ resource: "Label", code: "already_exists", field: "name" }]);
      const put = (sha?: string) =>
        call(first.url, first.token, "PUT", "/repos/acme/r/contents/a.txt", { message: "add a", content: Buffer.from(`v${sha ?? 0}\n`).toString("base64"), branch: "main", ...(sha ? { sha } : {}) });
      const created = (await (await put()).json()) as { content: { sha: string } };
      assert.equal((await put(created.content.sha)).status, 200);
      assert.equal((await put(created.content.sha)).status, 409, "a stale sha");
      assert.equal((await call(first.url, first.token, "GET", "/repos/acme/r/no-such-thing")).status, 400, "not in GitHub's description");
    } finally {
      assert.equal(await stop(first.child), 0);
    }
    const lines = fs.readFileSync(first.log, "utf8").trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(
      lines.map((l) => [l.method, l.status, l.write]),
      [
        ["POST", 201, true],
        ["POST", 404, true],
        ["POST", 201, true],
        ["POST", 422, true],
        ["PUT", 201, true],
        ["PUT", 200, true],
        ["PUT", 409, true],
        ["GET", 400, false],
      ],
    );
    assert.equal(lines[0].path, "/api/v3/orgs/acme/repos");

    const second = await serve(["--port", "0", "--state", dir]);
    try {
      assert.equal(second.token, first.token, "the token is kept in the state folder");
      const repo = await call(second.url, second.token, "GET", "/repos/acme/r");
      assert.equal(repo.status, 200);
      assert.equal(((await repo.json()) as { private: boolean }).private, true);
      assert.equal((await call(second.url, second.token, "GET", "/repos/acme/r/labels/cve")).status, 200);
      const file = (await (await call(second.url, second.token, "GET", "/repos/acme/r/contents/a.txt?ref=main")).json()) as { content: string };
      assert.match(Buffer.from(file.content, "base64").toString(), /^v[0-9a-f]{40}\n$/);
      assert.equal((await call(second.url, second.token, "GET", "/orgs/acme")).status, 200, "organisations are kept too");
    } finally {
      assert.equal(await stop(second.child), 0);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("GIVEN --identities with a bad entry THEN every problem is named with the file, the field and what is allowed, exit 2", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "standin-main-"));
  try {
    const file = path.join(dir, "identities.json");
    fs.writeFileSync(
      file,
      JSON.stringify({
        "ghp_owner_token_1": { kind: "owner", login: "ada" },
        "ghp_member_token_1": { kind: "member", login: "bob", role: "boss" },
        "ghs_app_token_1": { kind: "app", appId: 7, installationId: 8, permissions: { contents: "write", workflow: "write", issues: "admin" } },
        "ghs_other_token": { kind: "robot" },
      }),
    );
    const r = run(["--port", "0", "--state", dir, "--identities", file]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`identity 2 \\(token ghp_…\\)\\.role: "boss" is not allowed \\(allowed: read, triage, write, maintain, admin\\)`));
    assert.match(r.stderr, /identity 3 \(token ghs_…\)\.permissions\.workflow: not a GitHub permission \(allowed: actions, administration, /);
    assert.match(r.stderr, /identity 3 \(token ghs_…\)\.permissions\.issues: "admin" is not allowed \(allowed: read, write\)/);
    assert.match(r.stderr, /identity 4 \(token ghs_…\)\.kind: "robot" is not allowed \(allowed: owner, member, app\)/);
    assert.ok(r.stderr.includes(file), "the file is named");
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("GIVEN --identities, --allow-actions-prs and --default-branch WHEN tokens call THEN each is what its identity may do in an organisation set up that way", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "standin-main-"));
  try {
    const file = path.join(dir, "identities.json");
    fs.writeFileSync(file, JSON.stringify({ "ghp_owner_token_1": { kind: "owner", login: "ada" }, "ghp_member_token_1": { kind: "member", login: "bob", role: "write" } }));
    const s = await serve(["--port", "0", "--state", dir, "--org", "acme", "--identities", file, "--allow-actions-prs", "--default-branch", "trunk"]);
    const call = (token: string, method: string, p: string, body?: unknown) =>
      fetch(`${s.url}/api/v3${p}`, { method, headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });
    try {
      assert.equal(s.token, "ghp_owner_token_1", "the first identity's token");
      const created = await call("ghp_owner_token_1", "POST", "/orgs/acme/repos", { name: "r", auto_init: true, private: true });
      assert.equal(((await created.json()) as { default_branch: string }).default_branch, "trunk");
      const setting = await call("ghp_member_token_1", "PATCH", "/repos/acme/r", { has_wiki: false });
      assert.equal(setting.status, 403);
      assert.equal(((await setting.json()) as { message: string }).message, "Must have admin rights to Repository.");
      assert.equal((await call("ghp_member_token_1", "PUT", "/repos/acme/r/actions/permissions/workflow", { can_approve_pull_request_reviews: true })).status, 403, "a member is no admin");
      assert.equal((await call("ghp_owner_token_1", "PUT", "/repos/acme/r/actions/permissions/workflow", { can_approve_pull_request_reviews: true })).status, 204, "the organisation allows it");
      assert.equal((await call("not-a-token", "GET", "/repos/acme/r")).status, 401);
      // A secret sealed to the repository's key: its plaintext is in the state folder for a test to read back.
      const key = (await (await call("ghp_owner_token_1", "GET", "/repos/acme/r/actions/secrets/public-key")).json()) as { key: string; key_id: string };
      await sodium.ready;
      const sealed = Buffer.from(sodium.crypto_box_seal(sodium.from_string("cosign-key-material"), Buffer.from(key.key, "base64"))).toString("base64");
      assert.equal((await call("ghp_owner_token_1", "PUT", "/repos/acme/r/actions/secrets/COSIGN_PRIVATE_KEY", { encrypted_value: sealed, key_id: key.key_id })).status, 201);
    } finally {
      assert.equal(await stop(s.child), 0);
    }
    assert.equal(secretValueIn(dir, "acme/r", "COSIGN_PRIVATE_KEY"), "cosign-key-material");
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
