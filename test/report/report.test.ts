/**
 * The fleet report, without a browser: which state each mirror is in and
 * why, the sort orders, the Markdown, and the CLI against a GitHub stand-in.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as http from "node:http";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import { renderPinFile, type PinRecord } from "../../pipeline/lib/pin";
import { featuresLine, parsePinFile, renderReportHtml, renderReportMarkdown, reportRows, SORTS, type LiveMirror } from "../../components/report";
import type { Io } from "../../pipeline/cli";
import { describeFailure, main } from "../../infra/report";
import { fixtureInventory, ISSUES, PIN_FILES, startGitHubStandIn, TODAY, TOKEN, type StandIn } from "./fixture";

const D = (c: string) => `sha256:${c.repeat(64)}`;

/** What GitHub says, built straight from the fixture (the CLI test reads it over HTTP instead). */
function fixtureLive(): Record<string, LiveMirror> {
  const live: Record<string, LiveMirror> = {};
  for (const e of fixtureInventory().mirrors) {
    const repo = e.repository.split("/")[1];
    const issues = ISSUES[repo];
    if (!issues) {
      live[e.name] = { pin: null, issues: [], error: "repository not found (not created yet, or the token cannot see it)" };
      continue;
    }
    live[e.name] = {
      pin: PIN_FILES[repo] ? parsePinFile(PIN_FILES[repo]) : null,
      issues: issues
        .filter((i) => !i.pull_request && i.labels.some((l) => l !== "question"))
        .map((i) => ({ number: i.number, title: i.title, url: `https://github.com/${e.repository}/issues/${i.number}`, labels: i.labels })),
    };
  }
  return live;
}

describe("parsePinFile", () => {
  const ok: Array<[string, string, { tag: string; digest: string; builtAt?: string }]> = [
    ["flat keys", `tag: v1.2.3\ndigest: ${D("a")}\nbuiltAt: "2026-11-20T02:13:00Z"\n`, { tag: "v1.2.3", digest: D("a"), builtAt: "2026-11-20T02:13:00Z" }],
    ["digest from an image reference", `image: ghcr.io/acme/x@${D("b")}\nversion: 1.0.0\n`, { tag: "1.0.0", digest: D("b") }],
    ["nested image block, unquoted timestamp", `image:\n  tag: v2\n  digest: ${D("c")}\n  created: 2026-11-01T00:00:00Z\n`, { tag: "v2", digest: D("c"), builtAt: "2026-11-01T00:00:00Z" }],
    ["snake_case time", `tag: v3\ndigest: ${D("d")}\nbuilt_at: "2026-10-10"\n`, { tag: "v3", digest: D("d"), builtAt: "2026-10-10" }],
  ];
  for (const [what, text, want] of ok) {
    test(`GIVEN ${what} WHEN parsed THEN tag, digest and build time are read`, () => {
      assert.deepEqual(parsePinFile(text), want);
    });
  }
  test("GIVEN the file the pipeline's pin step writes WHEN parsed THEN tag, digest, build time and scan are read", () => {
    const text = renderPinFile({
      image: "ghcr.io/acme-corp/gokapi",
      digest: D("e"),
      tag: "v2.2.4",
      upstream: { repo: "Forceu/Gokapi", commit: "f".repeat(40) },
      override: null,
      builtAt: "2026-03-11T02:14:00Z",
      scan: { critical: 0, high: 1, medium: 3, low: 7, unknown: 0, blocking: 0 },
      waiversApplied: [],
      attestations: [],
      runUrl: null,
    });
    assert.deepEqual(parsePinFile(text), { tag: "v2.2.4", digest: D("e"), builtAt: "2026-03-11T02:14:00Z", scan: { critical: 0, high: 1, medium: 3, low: 7 } });
  });
  const bad: Array<[string, string, string]> = [
    ["no tag", `digest: ${D("a")}\n`, "image-pin.yml: tag: missing (allowed: the upstream tag that was built)"],
    ["short digest", "tag: v1\ndigest: sha256:abc\n", `image-pin.yml: digest: "sha256:abc" is not allowed (allowed: sha256:<64 hex>)`],
    ["no digest", "tag: v1\n", "image-pin.yml: digest: null is not allowed (allowed: sha256:<64 hex>)"],
    ["a list", "- a\n- b\n", "image-pin.yml: expected a mapping"],
  ];
  for (const [what, text, message] of bad) {
    test(`GIVEN ${what} WHEN parsed THEN it fails naming the field`, () => {
      assert.throws(() => parsePinFile(text), { message });
    });
  }
});

describe("reportRows", () => {
  test("GIVEN the fixture fleet and live data WHEN reported THEN each mirror's status, reasons, age and health are right", () => {
    const rows = reportRows({ inventory: fixtureInventory(), live: fixtureLive(), now: TODAY });
    const got = Object.fromEntries(rows.map((r) => [r.name, { status: r.status, reasons: r.reasons, ageDays: r.ageDays, tag: r.tag, health: r.health }]));
    assert.deepEqual(got, {
      gokapi: { status: "attention", reasons: ["waiver CVE-2026-34986 expires in 17 days"], ageDays: 2, tag: "v2.2.4", health: "healthy" },
      "transfer-sh": { status: "blocked", reasons: ["blocked: #7 Blocked: 4 CRITICAL, 16 HIGH in v1.6.1"], ageDays: 52, tag: "v1.6.1", health: "unhealthy" },
      plik: { status: "ok", reasons: [], ageDays: 0, tag: "1.3.8", health: "healthy" },
      "uptime-kuma": { status: "attention", reasons: ["no image built yet (no image-pin.yml)"], ageDays: null, tag: null, health: "healthy" },
      wikijs: { status: "attention", reasons: ["rescan: #3 Rescan: CVE-2026-1111 (HIGH) in the pinned digest"], ageDays: 82, tag: "v2.5.300", health: "healthy" },
      ghost: { status: "unknown", reasons: ["could not read the repository: repository not found (not created yet, or the token cannot see it)"], ageDays: null, tag: null, health: "unknown" },
    });
    assert.deepEqual(rows.find((r) => r.name === "transfer-sh")!.healthReasons, ["#9 Upstream looks stale: last release 2023-12-04"]);
  });

  test("GIVEN no live data WHEN reported THEN every mirror is unknown and waivers still count down", () => {
    const rows = reportRows({ inventory: fixtureInventory(), now: new Date("2026-12-12T00:00:00Z") });
    assert.deepEqual(
      rows.map((r) => [r.name, r.status, r.reasons[0]]),
      [
        ["gokapi", "attention", "waiver CVE-2026-34986 expired on 2026-12-10: the next build blocks on it"],
        ["transfer-sh", "unknown", "no live data (run the report with GITHUB_TOKEN)"],
        ["plik", "unknown", "no live data (run the report with GITHUB_TOKEN)"],
        ["uptime-kuma", "unknown", "no live data (run the report with GITHUB_TOKEN)"],
        ["wikijs", "unknown", "no live data (run the report with GITHUB_TOKEN)"],
        ["ghost", "unknown", "no live data (run the report with GITHUB_TOKEN)"],
      ],
    );
    assert.deepEqual(rows[0].waivers, [{ id: "CVE-2026-34986", expires: "2026-12-10", daysLeft: -2 }]);
  });

  const orders: Array<[string, string[]]> = [
    ["by-status", ["transfer-sh", "gokapi", "uptime-kuma", "wikijs", "ghost", "plik"]],
    ["by-name", ["ghost", "gokapi", "plik", "transfer-sh", "uptime-kuma", "wikijs"]],
    ["by-age", ["uptime-kuma", "wikijs", "transfer-sh", "gokapi", "plik", "ghost"]],
    ["by-waivers", ["gokapi", "wikijs", "ghost", "plik", "transfer-sh", "uptime-kuma"]],
    ["by-health", ["transfer-sh", "ghost", "gokapi", "plik", "uptime-kuma", "wikijs"]],
  ];
  for (const [id, want] of orders) {
    test(`GIVEN the fixture WHEN sorted ${id} THEN rows come in that order`, () => {
      const rows = reportRows({ inventory: fixtureInventory(), live: fixtureLive(), now: TODAY });
      const sort = SORTS.find((s) => s.id === id)!;
      assert.deepEqual([...rows].sort(sort.compare).map((r) => r.name), want);
    });
  }
});

describe("renderReportHtml", () => {
  const html = renderReportHtml({ inventory: fixtureInventory(), live: fixtureLive(), now: TODAY });

  test("GIVEN the page WHEN inspected THEN it loads nothing from outside and runs no script", () => {
    assert.doesNotMatch(html, /<script|<link|<img|<iframe|\ssrc=|@import|url\(/i);
    assert.match(html, /<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'/);
  });

  test("GIVEN the page WHEN inspected THEN every sort order is one table with one row per mirror, default last", () => {
    const sections = [...html.matchAll(/<section class="view( default)?" id="([a-z-]+)"/g)].map((m) => m[2] + (m[1] ? "*" : ""));
    assert.deepEqual(sections, ["by-name", "by-upstream", "by-tag", "by-age", "by-waivers", "by-health", "by-status*"]);
    assert.equal((html.match(/<tr data-name=/g) ?? []).length, 6 * SORTS.length);
  });

  test("GIVEN hostile text in an issue title WHEN rendered THEN it is escaped", () => {
    const live = fixtureLive();
    live.plik = { pin: null, issues: [{ number: 1, title: `<img src=x onerror=alert(1)> | "q"`, url: "u", labels: ["blocked"] }] };
    const page = renderReportHtml({ inventory: fixtureInventory(), live, now: TODAY });
    assert.doesNotMatch(page, /<img/);
    assert.match(page, /blocked: #1 &lt;img src=x onerror=alert\(1\)&gt; \| &quot;q&quot;/);
    assert.match(renderReportMarkdown({ inventory: fixtureInventory(), live, now: TODAY }), /blocked: #1 <img src=x onerror=alert\(1\)> \\\| "q"/);
  });

  test("GIVEN the same inputs WHEN rendered twice THEN the bytes are the same", () => {
    assert.equal(renderReportHtml({ inventory: fixtureInventory(), live: fixtureLive(), now: TODAY }), html);
  });
});

describe("signatures in the report (issue 14)", () => {
  const SIGNED = `tag: v2.2.4\ndigest: sha256:${"a".repeat(64)}\nbuilt_at: "2026-11-20T02:13:00Z"\nsignature:\n  tool: cosign\n  public_key_sha256: ${"c".repeat(64)}\n  attestations:\n    - cyclonedx\n    - https://mirror-fleet.dev/scan-gate/v1\n`;
  test("GIVEN image-pin.yml with a cosign signature WHEN parsed THEN it is signed; without one, or with a malformed key hash, it is not", () => {
    assert.equal(parsePinFile(SIGNED).signed, true);
    assert.equal(parsePinFile(SIGNED.replace(/public_key_sha256: c+/, "public_key_sha256: nope")).signed, undefined);
    assert.equal(parsePinFile(SIGNED.replace(/signature:[\s\S]*$/, "signature: null\n")).signed, undefined);
  });
  test("GIVEN the pin step's own writer WHEN it records a signature THEN the report reads the file as signed", () => {
    const record: PinRecord = {
      image: "ghcr.io/acme-corp/gokapi",
      digest: `sha256:${"a".repeat(64)}`,
      tag: "v2.2.4",
      upstream: { repo: "Forceu/Gokapi", commit: "b".repeat(40) },
      override: null,
      builtAt: "2026-11-20T02:13:00Z",
      scan: null,
      waiversApplied: [],
      attestations: [],
      runUrl: null,
      signature: { publicKeySha256: "c".repeat(64), attestations: ["cyclonedx", "https://mirror-fleet.dev/scan-gate/v1"] },
    };
    assert.equal(parsePinFile(renderPinFile(record)).signed, true);
    assert.equal(parsePinFile(renderPinFile({ ...record, signature: null })).signed, undefined);
  });

  test("GIVEN signing on for a mirror WHEN its pinned digest is signed or not THEN the row says so, and an unsigned pin needs attention", () => {
    const inventory = fixtureInventory();
    const gokapi = inventory.mirrors.find((m) => m.name === "gokapi")!;
    const withSigning = { ...inventory, mirrors: inventory.mirrors.map((m) => (m === gokapi ? { ...m, signing: true } : m)) };
    const rowOf = (pinText: string) =>
      reportRows({ inventory: withSigning, live: { ...fixtureLive(), gokapi: { pin: parsePinFile(pinText), issues: [] } }, now: TODAY }).find((r) => r.name === "gokapi")!;
    const signed = rowOf(SIGNED);
    const NOT_SIGNED = "signing is on, but the pinned digest is not signed (image-pin.yml records no signature)";
    assert.equal(signed.signed, true);
    assert.ok(!signed.reasons.includes(NOT_SIGNED), signed.reasons.join("; "));
    const unsigned = rowOf(SIGNED.replace(/signature:[\s\S]*$/, ""));
    assert.equal(unsigned.signed, false);
    assert.equal(unsigned.status, "attention");
    assert.deepEqual(unsigned.reasons.filter((r) => !signed.reasons.includes(r)), [NOT_SIGNED]);
    assert.equal(
      featuresLine(withSigning),
      `Branch protection (ruleset) on for ${withSigning.mirrors.filter((m) => m.branchProtection).length} of 6 mirrors; cosign signatures and attestations in the registry for 1 of 6; GitHub artifact attestations for ${withSigning.mirrors.filter((m) => m.attestations).length} of 6.`,
    );
  });
});

describe("renderReportMarkdown", () => {
  test("GIVEN the fixture WHEN rendered THEN the summary and the worst-first table are there", () => {
    const text = renderReportMarkdown({ inventory: fixtureInventory(), live: fixtureLive(), now: TODAY });
    const lines = text.split("\n");
    assert.equal(lines[0], "# mirror-fleet report: acme-corp");
    assert.ok(lines.includes("| 6 | 1 | 3 | 1 | 1 | 1 | 1 | 2 |"), text);
    assert.ok(lines.includes(featuresLine(fixtureInventory())), text);
    const rows = lines.filter((l) => l.startsWith("| ["));
    assert.deepEqual(
      rows.map((l) => /^\| \[([a-z-]+)\]/.exec(l)![1]),
      ["transfer-sh", "gokapi", "uptime-kuma", "wikijs", "ghost", "plik"],
    );
    assert.equal(
      rows[0],
      "| [transfer-sh](https://github.com/acme-corp/mirror-transfer-sh) | [dutchcoders/transfer.sh](https://github.com/dutchcoders/transfer.sh) | `v1.6.1` | `sha256:bbbbbbbbbbbb` (not signed) | 52 days ago | **blocked**: blocked: #7 Blocked: 4 CRITICAL, 16 HIGH in v1.6.1 | — | unhealthy: #9 Upstream looks stale: last release 2023-12-04 |",
    );
  });
});

describe("npm run report", () => {
  let gh: StandIn;
  let out: string;
  before(async () => {
    gh = await startGitHubStandIn();
    out = fs.mkdtempSync(path.join(os.tmpdir(), "report-cli-"));
    fs.writeFileSync(path.join(out, "inventory.json"), JSON.stringify(fixtureInventory()));
  });
  after(async () => {
    await gh.close();
    fs.rmSync(out, { recursive: true, force: true });
  });

  function io(env: Record<string, string>) {
    const o = { stdout: "", stderr: "" };
    const x: Io = { env, cwd: out, stdout: (t) => void (o.stdout += t), stderr: (t) => void (o.stderr += t) };
    return { io: x, o };
  }

  test("GIVEN a token WHEN run THEN it reads each mirror over the API and writes the page and the Markdown", async () => {
    const { io: x, o } = io({ GITHUB_TOKEN: TOKEN, GITHUB_API_URL: gh.url });
    const code = await main(["--out", "site", "--inventory", "inventory.json", "--now", "2026-11-23", "--concurrency", "2"], x);
    assert.equal(code, 0, o.stderr);
    assert.equal(o.stdout, `report: 6 mirrors (1 blocked, 3 need attention, 1 ok, 1 unknown) -> ${path.join(out, "site", "index.html")}, ${path.join(out, "site", "report.md")}\n`);
    const md = fs.readFileSync(path.join(out, "site", "report.md"), "utf8");
    assert.equal(md, renderReportMarkdown({ inventory: fixtureInventory(), live: fixtureLive(), now: TODAY, source: { url: gh.url } }));
    assert.match(md, new RegExp(`^# mirror-fleet report: acme-corp\n\n> \\*\\*Could not read 1 of 6 mirrors from GitHub \\(${gh.url.replace(/\./g, "\\.")}\\): repository not found \\(not created yet, or the token cannot see it\\) \\(ghost\\)\\.\\*\\*\n`));
    assert.equal(o.stderr, `report: could not read 1 of 6 mirrors from ${gh.url}: repository not found (not created yet, or the token cannot see it) (ghost)\n`);
    // Two requests per mirror, one for the repository that does not exist; a 404 is not retried.
    assert.equal(gh.requests.length, 11, gh.requests.join("\n"));
    assert.ok(gh.requests.includes("GET /repos/acme-corp/mirror-plik/issues?state=open&per_page=100"), gh.requests.join("\n"));
  });

  test("GIVEN no token WHEN run THEN it writes an inventory-only report and says so", async () => {
    const { io: x, o } = io({});
    const code = await main(["--out", "plain", "--inventory", "inventory.json", "--now", "2026-11-23"], x);
    assert.equal(code, 0, o.stderr);
    assert.match(o.stdout, /^report: 6 mirrors \(0 blocked, 1 need attention, 0 ok, 5 unknown\); no GITHUB_TOKEN, inventory only -> /);
    assert.match(fs.readFileSync(path.join(out, "plain", "index.html"), "utf8"), /Inventory only: tags, digests, build ages and issues need live data/);
  });

  const usage: Array<[string, string[], string]> = [
    ["no --out", [], "report: --out is required\n"],
    ["a bad day", ["--out", "x", "--now", "2026-02-30"], `report: --now: "2026-02-30" is not allowed (allowed: a date YYYY-MM-DD)\n`],
    ["a bad concurrency", ["--out", "x", "--concurrency", "0"], `report: --concurrency: "0" is not allowed (allowed: a whole number from 1 to 32)\n`],
  ];
  for (const [what, argv, message] of usage) {
    test(`GIVEN ${what} WHEN run THEN it exits 2 with the message`, async () => {
      const { io: x, o } = io({});
      assert.equal(await main(argv, x), 2);
      assert.ok(o.stderr.startsWith(message), o.stderr);
    });
  }
});

describe("npm run report when GitHub cannot be reached", () => {
  let out: string;
  const servers: net.Server[] = [];
  before(() => {
    out = fs.mkdtempSync(path.join(os.tmpdir(), "report-unreachable-"));
    fs.writeFileSync(path.join(out, "inventory.json"), JSON.stringify(fixtureInventory()));
  });
  after(() => {
    for (const s of servers) s.close();
    fs.rmSync(out, { recursive: true, force: true });
  });
  const listen = async (onConnection: (s: net.Socket) => void): Promise<number> => {
    const server = net.createServer(onConnection);
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    return (server.address() as net.AddressInfo).port;
  };
  async function report(apiUrl: string, extra: string[] = []) {
    const o = { stdout: "", stderr: "" };
    const io: Io = { env: { GITHUB_TOKEN: TOKEN, GITHUB_API_URL: apiUrl, MIRROR_GITHUB_THROTTLE: "off" }, cwd: out, stdout: (t) => void (o.stdout += t), stderr: (t) => void (o.stderr += t) };
    const t0 = Date.now();
    const code = await main(["--out", "site", "--inventory", "inventory.json", "--now", "2026-11-23", ...extra], io);
    return { code, ...o, seconds: (Date.now() - t0) / 1000, html: fs.readFileSync(path.join(out, "site", "index.html"), "utf8"), md: fs.readFileSync(path.join(out, "site", "report.md"), "utf8") };
  }

  test("GIVEN a port nothing listens on WHEN run THEN it says the connection was refused, at the top, and exits 1", async () => {
    const port = await listen(() => {});
    servers.pop()!.close();
    await new Promise((r) => setTimeout(r, 50));
    const r = await report(`http://127.0.0.1:${port}`);
    const why = `127.0.0.1:${port} refused the connection (ECONNREFUSED)`;
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr,
      `report: could not read 6 of 6 mirrors from http://127.0.0.1:${port}: ${why} (gokapi, transfer-sh, plik, uptime-kuma, wikijs, ghost)\n` +
        `report: nothing could be read from http://127.0.0.1:${port}; the report shows the inventory only\n`,
    );
    assert.ok(r.md.startsWith(`# mirror-fleet report: acme-corp\n\n> **Nothing could be read from GitHub (http://127.0.0.1:${port}): ${why}. The table shows the inventory only.**\n\nState on 2026-11-23 (UTC).\n`), r.md);
    assert.match(r.html, new RegExp(`<h1>[^\n]*</h1>\n<p class="unread" role="alert">Nothing could be read from GitHub \\(http://127\\.0\\.0\\.1:${port}\\): ${why.replace(/[().]/g, "\\$&")}\\.`));
    assert.doesNotMatch(r.html + r.md, /read from GitHub \(image-pin|HTTP 500|were read from/);
    assert.ok(r.seconds < 5, `took ${r.seconds} s`);
  });

  test("GIVEN a host that accepts and never answers WHEN run with --timeout 1 THEN it gives up within seconds and says it timed out", async () => {
    const port = await listen(() => {});
    const r = await report(`http://127.0.0.1:${port}`, ["--timeout", "1"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`^report: could not read 6 of 6 mirrors from http://127\\.0\\.0\\.1:${port}: no answer from 127\\.0\\.0\\.1:${port} within 1 s \\(timeout\\) \\(gokapi, `));
    assert.ok(r.seconds < 8, `took ${r.seconds} s`);
  });

  test("GIVEN a name that does not resolve WHEN run THEN it says DNS, not HTTP 500", async () => {
    const r = await report("http://mirror-fleet-test.invalid");
    assert.equal(r.code, 1);
    assert.match(r.md, /^# mirror-fleet report: acme-corp\n\n> \*\*Nothing could be read from GitHub \(http:\/\/mirror-fleet-test\.invalid\): DNS: mirror-fleet-test\.invalid could not be resolved \((ENOTFOUND|EAI_AGAIN)\)\./);
  });
});

describe("describeFailure", () => {
  const api = "https://api.github.com";
  // The shape @octokit/request throws for a failed fetch: status 500, the fetch TypeError as cause, the socket error under it.
  const network = (code: string) => Object.assign(new Error("connect failed"), { status: 500, cause: Object.assign(new TypeError("fetch failed"), { cause: Object.assign(new Error(code), { code }) }) });
  const cases: Array<[string, unknown, { message: string; unreachable: boolean }]> = [
    ["no route to the host", network("EHOSTUNREACH"), { message: "no route to host api.github.com (EHOSTUNREACH)", unreachable: true }],
    ["an unreachable network", network("ENETUNREACH"), { message: "no route to host api.github.com (network unreachable) (ENETUNREACH)", unreachable: true }],
    ["a DNS failure", network("ENOTFOUND"), { message: "DNS: api.github.com could not be resolved (ENOTFOUND)", unreachable: true }],
    ["a real HTTP 500", Object.assign(new Error("Internal Server Error"), { status: 500 }), { message: "HTTP 500: Internal Server Error", unreachable: false }],
    ["a 401", Object.assign(new Error("Bad credentials"), { status: 401 }), { message: "HTTP 401: GitHub rejected the token (expired, revoked or mistyped)", unreachable: true }],
    ["a 404", Object.assign(new Error("Not Found"), { status: 404 }), { message: "repository not found (not created yet, or the token cannot see it)", unreachable: false }],
    ["a malformed pin file", new Error("acme-corp/mirror-x: image-pin.yml: tag: missing (allowed: the upstream tag that was built)"), { message: "acme-corp/mirror-x: image-pin.yml: tag: missing (allowed: the upstream tag that was built)", unreachable: false }],
    ["a fetch failure with no known code", Object.assign(new Error("other side closed"), { status: 500, cause: new TypeError("fetch failed") }), { message: "could not reach api.github.com: other side closed", unreachable: true }],
  ];
  for (const [what, e, want] of cases) {
    test(`GIVEN ${what} WHEN described THEN ${JSON.stringify(want.message)}`, () => {
      assert.deepEqual(describeFailure(e, api, 10_000), want);
    });
  }
});

describe("npm run report with a token GitHub rejects", () => {
  test("GIVEN a 401 on the first mirror WHEN run THEN no other mirror is asked, the reason is at the top, and exit 1", async () => {
    const requests: string[] = [];
    const server = http.createServer((req, res) => {
      requests.push(`${req.method} ${req.url}`);
      res.writeHead(401, { "content-type": "application/json" });
      res.end(JSON.stringify({ message: "Bad credentials", documentation_url: "https://docs.github.com/rest" }));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
    const out = fs.mkdtempSync(path.join(os.tmpdir(), "report-401-"));
    try {
      fs.writeFileSync(path.join(out, "inventory.json"), JSON.stringify(fixtureInventory()));
      const o = { stdout: "", stderr: "" };
      const io: Io = { env: { GITHUB_TOKEN: "ghs_revoked", GITHUB_API_URL: url, MIRROR_GITHUB_THROTTLE: "off" }, cwd: out, stdout: (t) => void (o.stdout += t), stderr: (t) => void (o.stderr += t) };
      const code = await main(["--out", "site", "--inventory", "inventory.json", "--now", "2026-11-23"], io);
      assert.equal(code, 1);
      assert.deepEqual(requests, ["GET /repos/acme-corp/mirror-gokapi/issues?state=open&per_page=100"]);
      assert.match(fs.readFileSync(path.join(out, "site", "report.md"), "utf8"), /> \*\*Nothing could be read from GitHub \(http:\/\/127\.0\.0\.1:\d+\): HTTP 401: GitHub rejected the token \(expired, revoked or mistyped\)\. The table shows the inventory only\.\*\*/);
    } finally {
      server.close();
      fs.rmSync(out, { recursive: true, force: true });
    }
  });
});
