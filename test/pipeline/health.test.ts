/**
 * `health` against the GitHub stand-in, seeded with the real tag lists of
 * test/testdata/upstream-tags: transfer.sh (last tag 2023-12-04) is flagged
 * on its first run, Gokapi (v2.2.4 of 2026-03-10) is not. --today is fixed.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { test } from "node:test";
import { upstreamGithub } from "../../pipeline/github";
import { assessHealth } from "../../pipeline/lib/health";
import { main } from "../../pipeline/main";
import { captureIo, readStepOutputs, startGitHubStandIn, type GitHubStandIn } from "../support/github-standin";

const TAGS = path.resolve(__dirname, "../testdata/upstream-tags");
const MIRROR = "acme/mirror-transfersh";
// Day of the run: 83 days after Gokapi's v2.2.4, 910 after transfer.sh's v1.6.1.
const TODAY = "2026-06-01";

async function run(s: GitHubStandIn, args: string[]) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "health-test-"));
  try {
    const out = path.join(dir, "github-output");
    const io = captureIo({ ...s.env(MIRROR), GITHUB_OUTPUT: out }, dir);
    const before = s.writes().length;
    const code = await main(["health", ...args], io);
    const text = io.out.join("");
    return { code, json: text ? (JSON.parse(text) as Record<string, unknown>) : {}, err: io.err.join(""), outputs: readStepOutputs(out), writes: s.writes().length - before };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function withStandIn(f: (s: GitHubStandIn) => Promise<void>): Promise<void> {
  const s = await startGitHubStandIn();
  try {
    s.addRepo(MIRROR);
    s.addRepo("dutchcoders/transfer.sh", { private: false, date: "2019-03-01T00:00:00Z" });
    s.seedTagLines("dutchcoders/transfer.sh", fs.readFileSync(path.join(TAGS, "transfer.sh-tags.txt"), "utf8"));
    s.addRepo("Forceu/Gokapi", { private: false, date: "2021-03-01T00:00:00Z" });
    s.seedTagLines("Forceu/Gokapi", fs.readFileSync(path.join(TAGS, "Gokapi-tags.txt"), "utf8"));
    await f(s);
    assert.deepEqual(s.rejected, [], "no request outside GitHub's OpenAPI description");
    assert.deepEqual(s.unimplemented, []);
  } finally {
    await s.stop();
  }
}

const THRESHOLDS = ["--max-days-since-commit", "180", "--max-days-since-release", "365"];

test("GIVEN the real tag lists WHEN `health` runs THEN transfer.sh is flagged on its first run and Gokapi is not", async () => {
  await withStandIn(async (s) => {
    const cases = [
      {
        repo: "dutchcoders/transfer.sh",
        json: {
          repo: "dutchcoders/transfer.sh",
          archived: false,
          lastCommit: "2023-12-04",
          daysSinceCommit: 910,
          lastRelease: "2023-12-04",
          lastReleaseName: "v1.6.1",
          daysSinceRelease: 910,
          healthy: false,
          reasons: ["no commit since 2023-12-04 (limit: 180 days)", "no release or tag since 2023-12-04 (v1.6.1; limit: 365 days)"],
        },
      },
      {
        repo: "Forceu/Gokapi",
        json: {
          repo: "Forceu/Gokapi",
          archived: false,
          lastCommit: "2026-03-10",
          daysSinceCommit: 83,
          lastRelease: "2026-03-10",
          lastReleaseName: "v2.2.4",
          daysSinceRelease: 83,
          healthy: true,
          reasons: [],
        },
      },
    ];
    for (const c of cases) {
      const r = await run(s, ["--repo", c.repo, "--today", TODAY, ...THRESHOLDS]);
      assert.equal(r.code, 0, r.err);
      assert.deepEqual(r.json, c.json, c.repo);
      assert.deepEqual(r.outputs, { healthy: String(c.json.healthy) });
      assert.equal(r.writes, 0, "without --issue nothing is written");
    }
  });
});

test("GIVEN a stale upstream WHEN `health --issue` runs THEN the upstream-health issue is filed once, updated when archived, closed when it ships again", async () => {
  await withStandIn(async (s) => {
    const args = ["--repo", "dutchcoders/transfer.sh", "--today", TODAY, "--issue", ...THRESHOLDS];
    const first = await run(s, args);
    assert.deepEqual(first.json.issue, { action: "created", number: 1 });
    const again = await run(s, args);
    assert.deepEqual(again.json.issue, { action: "unchanged", number: 1 });
    assert.equal(again.writes, 0);
    const issue = s.issue(MIRROR, 1);
    assert.deepEqual(issue.labels, ["upstream-health"]);
    assert.equal(issue.title, "Upstream dutchcoders/transfer.sh looks unmaintained");
    assert.ok(issue.body!.startsWith("<!-- mirror-fleet:issue kind=upstream-health tag=dutchcoders/transfer.sh -->\n"));
    assert.match(issue.body!, /\| Last release or tag \| `v1\.6\.1` 2023-12-04 \(limit: 365 days\) \|/);

    // A day later nothing changed but the day count: still silent.
    const nextDay = await run(s, ["--repo", "dutchcoders/transfer.sh", "--today", "2026-06-02", "--issue", ...THRESHOLDS]);
    assert.deepEqual(nextDay.json.issue, { action: "unchanged", number: 1 });
    assert.equal(nextDay.writes, 0);

    s.repo("dutchcoders/transfer.sh").archived = true;
    const archived = await run(s, args);
    assert.deepEqual(archived.json.issue, { action: "updated", number: 1 });
    assert.equal(s.comments(MIRROR, 1).at(-1)!.body.replace(/\n<!-- mirror-fleet:write [0-9a-f-]{36} -->\n$/, ""), "The findings changed.\n\n**Added** (1)\n- the repository is archived\n");

    s.repo("dutchcoders/transfer.sh").archived = false;
    const sha = s.addCommit("dutchcoders/transfer.sh", { date: "2026-05-20T10:00:00Z", message: "release v1.7.0" });
    s.addTag("dutchcoders/transfer.sh", "v1.7.0", sha);
    const healthy = await run(s, args);
    assert.equal(healthy.json.healthy, true);
    assert.deepEqual(healthy.json.issue, { action: "closed", number: 1 });
    assert.equal(s.issue(MIRROR, 1).state, "closed");
    const quiet = await run(s, args);
    assert.deepEqual(quiet.json.issue, { action: "unchanged", number: 1 });
    assert.equal(quiet.writes, 0);
    assert.equal(s.issues(MIRROR).length, 1);
  });
});

test("GIVEN a job of an Enterprise Server WHEN `health --issue` runs THEN the upstream is read on github.com's API without the job's token, and the issue is filed with it on the job's GitHub", async () => {
  // Two stand-ins: the job's own GitHub (an Enterprise Server, holding the mirror) and github.com (holding the upstream).
  const dotcom = await startGitHubStandIn();
  try {
    dotcom.addRepo("dutchcoders/transfer.sh", { private: false, date: "2019-03-01T00:00:00Z" });
    dotcom.seedTagLines("dutchcoders/transfer.sh", fs.readFileSync(path.join(TAGS, "transfer.sh-tags.txt"), "utf8"));
    await withStandIn(async (ghes) => {
      const io = captureIo({ ...ghes.env(MIRROR), GITHUB_SERVER_URL: ghes.url, MIRROR_UPSTREAM_API_URL: dotcom.url }, "/");
      assert.equal(await main(["health", "--repo", "dutchcoders/transfer.sh", "--today", TODAY, "--issue", ...THRESHOLDS], io), 0, io.err.join(""));
      assert.deepEqual((JSON.parse(io.out.join("")) as { issue: unknown }).issue, { action: "created", number: 1 });
      assert.ok(dotcom.requests.length > 0);
      assert.deepEqual([...new Set(dotcom.requests.map((r) => `${r.method} ${r.status} ${r.actor}`))], ["GET 200 (anonymous)"], "github.com got reads without credentials only");
      assert.deepEqual(ghes.requests.filter((r) => r.url.includes("transfer.sh")), [], "the job's GitHub was not asked for the upstream");
      assert.equal(ghes.issue(MIRROR, 1).title, "Upstream dutchcoders/transfer.sh looks unmaintained");
    });
    assert.deepEqual(dotcom.rejected, []);
  } finally {
    await dotcom.stop();
  }
});

test("GIVEN where a job runs WHEN its upstream client is made THEN github.com's API, with the job's token only when that API is the job's own (table)", async () => {
  const rows: Array<[string, Record<string, string>, string, "token" | "unauthenticated"]> = [
    ["a job on github.com", { GITHUB_SERVER_URL: "https://github.com", GITHUB_API_URL: "https://api.github.com" }, "https://api.github.com", "token"],
    ["no runner variables", {}, "https://api.github.com", "token"],
    ["a job of an Enterprise Server", { GITHUB_SERVER_URL: "https://ghe.example.com", GITHUB_API_URL: "https://ghe.example.com/api/v3" }, "https://api.github.com", "unauthenticated"],
    ["the upstreams' API named, the job's own", { GITHUB_SERVER_URL: "http://127.0.0.1:9", GITHUB_API_URL: "http://127.0.0.1:9", MIRROR_UPSTREAM_API_URL: "http://127.0.0.1:9" }, "http://127.0.0.1:9", "token"],
    ["the upstreams' API named, another", { GITHUB_API_URL: "https://api.github.com", MIRROR_UPSTREAM_API_URL: "http://127.0.0.1:9" }, "http://127.0.0.1:9", "unauthenticated"],
  ];
  for (const [what, env, baseUrl, auth] of rows) {
    const gh = upstreamGithub(captureIo({ GITHUB_TOKEN: "ghs_job", ...env }, "/"));
    assert.equal(gh.request.endpoint.DEFAULTS.baseUrl, baseUrl, what);
    assert.equal(((await gh.auth()) as { type: string }).type, auth, what);
  }
});

test("GIVEN tags whose name order is not their version order WHEN `health` runs THEN the newest version's date counts", async () => {
  await withStandIn(async (s) => {
    s.addRepo("acme/upstream", { date: "2020-01-01T00:00:00Z" });
    // Listed by name, v1.9.x come before v1.10.0: the newest tag would be missed by taking the first ones.
    s.seedTagLines("acme/upstream", ["v1.9.0", "v1.9.1", "v1.9.2", "v1.9.3", "v1.9.4"].map((t, i) => `${t} 2021-0${i + 1}-01 12:00:00 +0000`).join("\n"));
    s.seedTagLines("acme/upstream", "v1.10.0 2026-05-01 12:00:00 +0000\n");
    s.addCommit("acme/upstream", { date: "2026-05-02T00:00:00Z" });
    const r = await run(s, ["--repo", "acme/upstream", "--today", TODAY, ...THRESHOLDS]);
    assert.equal(r.json.lastReleaseName, "v1.10.0");
    assert.equal(r.json.lastRelease, "2026-05-01");
    assert.equal(r.json.healthy, true);
  });
});

test("GIVEN bad input WHEN `health` runs THEN exit 2 naming the flag, and no request", async () => {
  await withStandIn(async (s) => {
    const cases: Array<{ args: string[]; message: string }> = [
      { args: ["--today", TODAY, ...THRESHOLDS], message: "health: --repo is required without a mirror config (the upstream owner/name)" },
      { args: ["--repo", "Forceu/Gokapi", "--today", "2026-02-30", ...THRESHOLDS], message: 'health: --today: "2026-02-30" is not allowed (allowed: a date YYYY-MM-DD)' },
      { args: ["--repo", "Forceu/Gokapi", "--today", TODAY], message: "health: --max-days-since-commit is required without a mirror config (health thresholds)" },
      { args: ["--repo", "Forceu/Gokapi", "--max-days-since-commit", "0", "--max-days-since-release", "1"], message: 'health: --max-days-since-commit: "0" is not allowed (allowed: a whole number of days, 1 or more)' },
    ];
    const before = s.requests.length;
    for (const c of cases) {
      const r = await run(s, c.args);
      assert.equal(r.code, 2, c.args.join(" "));
      assert.ok(r.err.startsWith(c.message), `${c.args.join(" ")}\n  got: ${r.err.split("\n")[0]}`);
    }
    assert.equal(s.requests.length, before);
  });
});

test("GIVEN facts WHEN assessed THEN thresholds are exclusive and reasons stable (table)", () => {
  const policy = { maxDaysSinceCommit: 180, maxDaysSinceRelease: 365 };
  const today = new Date("2026-06-01T00:00:00Z");
  const cases = [
    { what: "exactly at the limit", lastCommit: "2025-12-03T23:00:00Z", release: "2025-06-01T08:00:00Z", archived: false, reasons: [] as string[] },
    { what: "a day past", lastCommit: "2025-12-02T23:00:00Z", release: "2025-05-31T08:00:00Z", archived: false, reasons: ["no commit since 2025-12-02 (limit: 180 days)", "no release or tag since 2025-05-31 (v1; limit: 365 days)"] },
    { what: "archived, fresh", lastCommit: "2026-05-30T00:00:00Z", release: "2026-05-30T00:00:00Z", archived: true, reasons: ["the repository is archived"] },
    { what: "nothing at all", lastCommit: null, release: null, archived: false, reasons: ["no commit on the default branch", "no release or tag"] },
  ];
  for (const c of cases) {
    const r = assessHealth(
      { repo: "a/b", archived: c.archived, lastCommit: c.lastCommit, lastRelease: c.release ? { name: "v1", date: c.release } : null },
      policy,
      today,
    );
    assert.deepEqual(r.reasons, c.reasons, c.what);
    assert.equal(r.healthy, c.reasons.length === 0, c.what);
  }
});

test("GIVEN a mirror config WHEN `health --issue` runs without flags THEN the upstream and thresholds come from it", async () => {
  await withStandIn(async (s) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "health-config-"));
    try {
      const config = {
        schema: 1,
        name: "transfersh",
        repository: MIRROR,
        upstream: { repo: "dutchcoders/transfer.sh", url: "https://github.com/dutchcoders/transfer.sh", license: "MIT", tags: { range: "*", prerelease: false, prefix: "" } },
        image: "ghcr.io/acme/transfersh",
        override: null,
        build: { args: {}, platforms: ["linux/amd64"], dockerfile: "Dockerfile", context: "." },
        watch: ["Dockerfile"],
        gate: { severities: ["CRITICAL", "HIGH"], fixedOnly: true, waivers: ".trivyignore.yaml" },
        // Thresholds far enough that transfer.sh passes: proves they are read from here.
        health: { maxDaysSinceCommit: 1000, maxDaysSinceRelease: 1000 },
        attestations: false,
        reviewers: [],
      };
      const file = path.join(dir, "config.yml");
      fs.writeFileSync(file, JSON.stringify(config)); // JSON is YAML (flow style on one line)
      const r = await run(s, ["--config", file, "--today", TODAY, "--issue"]);
      assert.equal(r.code, 0, r.err);
      assert.equal(r.json.repo, "dutchcoders/transfer.sh");
      assert.equal(r.json.healthy, true);
      assert.deepEqual(r.json.issue, { action: "none", number: null });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

test("GIVEN the fleet policy's thresholds and the day of writing (2026-11-23) WHEN `health` runs THEN transfer.sh is flagged and Gokapi is not", async () => {
  const { policy } = await import("../../infra/policy");
  const thresholds = ["--max-days-since-commit", String(policy.health.maxDaysSinceCommit), "--max-days-since-release", String(policy.health.maxDaysSinceRelease)];
  await withStandIn(async (s) => {
    const transfer = await run(s, ["--repo", "dutchcoders/transfer.sh", "--today", "2026-11-23", ...thresholds]);
    const gokapi = await run(s, ["--repo", "Forceu/Gokapi", "--today", "2026-11-23", ...thresholds]);
    assert.equal(transfer.json.healthy, false);
    assert.equal(gokapi.json.healthy, true, JSON.stringify(gokapi.json));
  });
});
