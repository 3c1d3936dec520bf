/**
 * What the program reads from GitHub at preview and up (upstream health,
 * preflight tags) and the token it reads with, against the GitHub API
 * stand-in (which rejects any request GitHub's OpenAPI description does not
 * allow).
 */
import assert from "node:assert/strict";
import { createVerify, generateKeyPairSync } from "node:crypto";
import { test } from "node:test";
import { appJwt, deployToken } from "../../infra/github-token";
import { checkUpstreams, newestAllowedTag } from "../../infra/upstream-health";
import { startGitHubStandIn } from "../support/github-standin";

const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
const pem = privateKey.export({ type: "pkcs1", format: "pem" }).toString();

test("GIVEN an App's key WHEN a JWT is made THEN it is RS256, signed by that key, issued by the App, nine minutes long", () => {
  const now = Date.UTC(2026, 10, 23, 12, 0, 0);
  const [h, p, sig] = appJwt("12345", pem, now).split(".");
  assert.deepEqual(JSON.parse(Buffer.from(h, "base64url").toString()), { alg: "RS256", typ: "JWT" });
  assert.deepEqual(JSON.parse(Buffer.from(p, "base64url").toString()), { iat: now / 1000 - 60, exp: now / 1000 - 60 + 540, iss: "12345" });
  assert.ok(createVerify("RSA-SHA256").update(`${h}.${p}`).verify(publicKey, Buffer.from(sig, "base64url")));
});

test("GIVEN GITHUB_TOKEN WHEN a deploy token is asked for THEN it is used as is, with no request", async () => {
  assert.equal(await deployToken({ GITHUB_TOKEN: "t" }, (() => assert.fail("no request")) as never), "t");
  assert.equal(await deployToken({}), undefined);
});

test("GIVEN only App credentials WHEN a deploy token is asked for THEN an installation token is minted through the documented endpoint", async () => {
  const s = await startGitHubStandIn();
  try {
    s.addApp("12345", publicKey.export({ type: "spki", format: "pem" }).toString());
    const token = await deployToken({ GITHUB_API_URL: s.url, GITHUB_APP_ID: "12345", GITHUB_APP_INSTALLATION_ID: "678", GITHUB_APP_PEM_FILE: pem });
    assert.equal(token, "ghs_standin_installation_678");
    assert.deepEqual(s.installationTokens.map((t) => t.installation), [678]);
    assert.deepEqual(s.rejected, []);
    // Signed by another key: refused.
    const other = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ type: "pkcs1", format: "pem" }).toString();
    await assert.rejects(deployToken({ GITHUB_API_URL: s.url, GITHUB_APP_ID: "12345", GITHUB_APP_INSTALLATION_ID: "678", GITHUB_APP_PEM_FILE: other }), /HTTP 401/);
    await assert.rejects(deployToken({ GITHUB_APP_ID: "1", GITHUB_APP_INSTALLATION_ID: "x", GITHUB_APP_PEM_FILE: pem }), /GITHUB_APP_INSTALLATION_ID: "x" is not a number/);
  } finally {
    await s.stop();
  }
});

const POLICY = { maxDaysSinceCommit: 365, maxDaysSinceRelease: 365 };
const TODAY = new Date("2026-11-23T00:00:00Z");

test("GIVEN no credentials where pulumi runs WHEN upstream health is read THEN every upstream says why, and no request is made", async () => {
  const s = await startGitHubStandIn();
  try {
    const health = await checkUpstreams(["a/b", "c/d"], POLICY, { apiUrl: s.url, env: {} }, TODAY);
    const why = "no githubToken, GITHUB_TOKEN or GitHub App credentials where pulumi runs";
    assert.deepEqual(health, { "a/b": { unavailable: why, checkedAt: "2026-11-23" }, "c/d": { unavailable: why, checkedAt: "2026-11-23" } });
    assert.deepEqual(s.requests, []);
  } finally {
    await s.stop();
  }
});

test("GIVEN the program's token or GITHUB_TOKEN WHEN upstream health is read THEN the program's token wins, and a missing upstream is reported, not thrown", async () => {
  const s = await startGitHubStandIn();
  try {
    s.addRepo("acme-oss/tool", { private: false, date: "2026-10-01T00:00:00Z" });
    s.addTag("acme-oss/tool", "v1.0.0");
    const repos = ["acme-oss/tool", "acme-oss/gone"];
    for (const reader of [{ apiUrl: s.url, env: { GITHUB_TOKEN: s.token } }, { apiUrl: s.url, token: s.token, env: { GITHUB_TOKEN: "not-the-token" } }]) {
      const health = await checkUpstreams(repos, POLICY, reader, TODAY);
      assert.equal((health["acme-oss/tool"] as { healthy: boolean }).healthy, true, JSON.stringify(health));
      assert.match((health["acme-oss/gone"] as { unavailable: string }).unavailable, /Not Found/);
    }
    assert.deepEqual(s.rejected, []);
  } finally {
    await s.stop();
  }
});

test("GIVEN the upstreams on another GitHub than the deploy's WHEN their health is read THEN only MIRROR_FLEET_UPSTREAM_TOKEN is sent there, never GITHUB_TOKEN or a GitHub App's", async () => {
  const s = await startGitHubStandIn();
  try {
    s.addRepo("acme-oss/tool", { private: false, date: "2026-10-01T00:00:00Z" });
    s.addTag("acme-oss/tool", "v1.0.0");
    const env = { GITHUB_TOKEN: s.token, GITHUB_APP_ID: "1", GITHUB_APP_INSTALLATION_ID: "2", GITHUB_APP_PEM_FILE: "/nonexistent" };
    const without = await checkUpstreams(["acme-oss/tool"], POLICY, { apiUrl: s.url, env, ambient: false }, TODAY);
    assert.deepEqual(without["acme-oss/tool"], {
      unavailable: `no MIRROR_FLEET_UPSTREAM_TOKEN where pulumi runs: the upstreams are read on ${s.url}, not on the GitHub the fleet deploys to, whose credentials are not sent there`,
      checkedAt: "2026-11-23",
    });
    assert.equal(s.requests.length, 0, "no request without the upstreams' own token");
    s.addIdentity("ghp_upstream_reader", { kind: "member", login: "someone-on-github-com" });
    const withToken = await checkUpstreams(["acme-oss/tool"], POLICY, { apiUrl: s.url, token: "ghp_upstream_reader", env, ambient: false }, TODAY);
    assert.equal((withToken["acme-oss/tool"] as { healthy: boolean }).healthy, true, JSON.stringify(withToken));
    assert.deepEqual([...new Set(s.requests.map((r) => r.actor))], ["someone-on-github-com"]);
  } finally {
    await s.stop();
  }
});

test("GIVEN an unreachable API WHEN upstream health is read THEN each upstream is unavailable after one failed read, and the read never throws", async () => {
  const start = Date.now();
  const health = await checkUpstreams(["a/b", "c/d", "e/f"], POLICY, { apiUrl: "http://127.0.0.1:9", token: "t", env: {} }, TODAY);
  for (const r of ["a/b", "c/d", "e/f"]) assert.ok("unavailable" in health[r], JSON.stringify(health));
  assert.match((health["c/d"] as { unavailable: string }).unavailable, /^GitHub unreachable at http:\/\/127\.0\.0\.1:9: /);
  assert.ok(Date.now() - start < 10_000, "bounded: the first failure stops the reads");
});

test("GIVEN an upstream's tags WHEN the preflight asks THEN it gets the newest tag the policy allows, or an error naming the policy", async () => {
  const s = await startGitHubStandIn();
  try {
    s.addRepo("acme-oss/tool", { private: false });
    for (const t of ["v1.9.0", "v2.0.0", "v2.1.0-rc.1", "v3.0.0"]) s.addTag("acme-oss/tool", t);
    const reader = { apiUrl: s.url, token: s.token, env: {} };
    assert.equal(await newestAllowedTag("acme-oss/tool", { range: "<3", prerelease: false, prefix: "" }, reader), "v2.0.0");
    await assert.rejects(newestAllowedTag("acme-oss/tool", { range: ">=4", prerelease: false, prefix: "" }, reader), /no upstream tag matches the tag policy/);
    await assert.rejects(newestAllowedTag("acme-oss/tool", { range: "*", prerelease: false, prefix: "" }, { apiUrl: s.url, env: {} }), {
      message: "preflight: cannot list the tags of acme-oss/tool: no githubToken, GITHUB_TOKEN or GitHub App credentials where pulumi runs",
    });
    assert.deepEqual(s.rejected, []);
  } finally {
    await s.stop();
  }
});
