/**
 * The deploy-time helpers that run under @pulumi/command: the workflow
 * dispatch and the token they use, against the GitHub API stand-in (which
 * rejects any request GitHub's OpenAPI description does not allow).
 */
import assert from "node:assert/strict";
import { createVerify, generateKeyPairSync } from "node:crypto";
import { test } from "node:test";
import { dispatchWorkflow } from "../../infra/dispatch";
import { appJwt, deployToken } from "../../infra/github-token";
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

test("GIVEN a new mirror WHEN dispatched THEN one documented workflow_dispatch request starts mirror.yml on main", async () => {
  const s = await startGitHubStandIn();
  try {
    s.addRepo("acme-corp/mirror-gokapi");
    await dispatchWorkflow({ apiUrl: s.url, token: s.token, repo: "acme-corp/mirror-gokapi", workflow: "mirror.yml", ref: "main" });
    assert.deepEqual(s.dispatches, [{ repo: "acme-corp/mirror-gokapi", workflow: "mirror.yml", ref: "main" }]);
    assert.deepEqual(s.rejected, []);
    assert.deepEqual(s.unimplemented, []);
  } finally {
    await s.stop();
  }
});

test("GIVEN bad inputs or an API error WHEN dispatched THEN the error says which", async () => {
  const base = { apiUrl: "http://127.0.0.1:9", token: "t", repo: "a/b", workflow: "mirror.yml", ref: "main" };
  await assert.rejects(dispatchWorkflow({ ...base, repo: "a b" }), /REPO: "a b" is not an owner\/name/);
  await assert.rejects(dispatchWorkflow({ ...base, workflow: "../x" }), /WORKFLOW: "\.\.\/x" is not a workflow file name/);
  const fake = (async () => new Response("nope", { status: 403 })) as typeof fetch;
  await assert.rejects(dispatchWorkflow(base, fake), /dispatching mirror\.yml in a\/b failed: HTTP 403 nope/);
});
