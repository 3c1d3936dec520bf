import assert from "node:assert/strict";
import { test } from "node:test";
import { githubApi } from "../../infra/github-api";

test("GIVEN no MIRROR_FLEET_GITHUB_API WHEN resolved THEN github.com and the provider's own defaults", () => {
  assert.deepEqual(githubApi({}), { providerBaseUrl: undefined, restUrl: "https://api.github.com", serverUrl: undefined, writeDelayMs: undefined, upstreamRestUrl: "https://api.github.com" });
});

test("GIVEN a stand-in or Enterprise Server WHEN resolved THEN the provider and our calls both use <base>/api/v3, and its web pages are at <base>", () => {
  assert.deepEqual(githubApi({ MIRROR_FLEET_GITHUB_API: "http://127.0.0.1:4010", MIRROR_FLEET_WRITE_DELAY_MS: "0" }), {
    providerBaseUrl: "http://127.0.0.1:4010/",
    restUrl: "http://127.0.0.1:4010/api/v3",
    serverUrl: "http://127.0.0.1:4010",
    writeDelayMs: 0,
    // The upstreams stay on github.com.
    upstreamRestUrl: "https://api.github.com",
  });
});

test("GIVEN MIRROR_FLEET_UPSTREAM_API WHEN resolved THEN the upstreams are read there, the deploy's GitHub unchanged", () => {
  const api = githubApi({ MIRROR_FLEET_GITHUB_API: "http://127.0.0.1:4010/", MIRROR_FLEET_UPSTREAM_API: "http://127.0.0.1:4010/" });
  assert.deepEqual([api.restUrl, api.upstreamRestUrl], ["http://127.0.0.1:4010/api/v3", "http://127.0.0.1:4010"]);
});

for (const [env, message] of [
  [{ MIRROR_FLEET_GITHUB_API: "ftp://x/" }, 'MIRROR_FLEET_GITHUB_API: "ftp://x/" is not allowed (allowed: an http(s) URL such as https://ghe.example.com/)'],
  [{ MIRROR_FLEET_GITHUB_API: "127.0.0.1:80" }, 'MIRROR_FLEET_GITHUB_API: "127.0.0.1:80" is not allowed (allowed: an http(s) URL such as https://ghe.example.com/)'],
  [{ MIRROR_FLEET_UPSTREAM_API: "api.github.com" }, 'MIRROR_FLEET_UPSTREAM_API: "api.github.com" is not allowed (allowed: an http(s) URL such as https://api.github.com)'],
  [{ MIRROR_FLEET_WRITE_DELAY_MS: "1s" }, 'MIRROR_FLEET_WRITE_DELAY_MS: "1s" is not allowed (allowed: milliseconds, 0 to 999999)'],
] as const) {
  test(`GIVEN ${JSON.stringify(env)} WHEN resolved THEN the error names the variable and what is allowed`, () => {
    assert.throws(() => githubApi(env), { message });
  });
}
