/**
 * `issue` against the GitHub stand-in: every transition of the lifecycle,
 * each command run twice (the second run must write nothing), and no request
 * that GitHub's OpenAPI description does not allow.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { test } from "node:test";
import { main } from "../../pipeline/main";
import { fingerprint, planIssue, renderBody, type IssueInput } from "../../pipeline/lib/issues";
import { captureIo, runPipelineCommand, withCheckedStandIn, type GitHubStandIn } from "../support/github-standin";

const REPO = "acme/mirror-gokapi";
const TRIVY = path.resolve(__dirname, "../testdata/trivy");

interface Vuln {
  VulnerabilityID: string;
  PkgName: string;
  InstalledVersion: string;
  FixedVersion?: string;
  Severity: string;
  PkgIdentifier?: { PURL?: string };
}

/** Findings of a real Trivy report, shaped like the gate's JSON findings. */
function findingsOf(report: string) {
  const doc = JSON.parse(fs.readFileSync(path.join(TRIVY, report), "utf8")) as { Results: Array<{ Target: string; Vulnerabilities?: Vuln[] }> };
  return doc.Results.flatMap((r) =>
    (r.Vulnerabilities ?? []).map((v) => ({
      id: v.VulnerabilityID,
      severity: v.Severity,
      package: v.PkgName,
      installed: v.InstalledVersion,
      fixed: v.FixedVersion ?? null,
      target: r.Target,
      purl: v.PkgIdentifier?.PURL ?? null,
    })),
  );
}

type Finding = ReturnType<typeof findingsOf>[number];

function gateJson(blocking: readonly Finding[]) {
  return {
    decision: blocking.length ? "block" : "pass",
    unusable: [],
    blocking,
    waived: [],
    expiredWaivers: [],
    counts: { findings: blocking.length, bySeverity: { CRITICAL: 0, HIGH: 0, MEDIUM: blocking.length, LOW: 0, UNKNOWN: 0 }, blocking: blocking.length },
  };
}

/** A comment as a reader sees it: without the hidden id that lets a lost create be found. */
const withoutWriteId = (body: string) => body.replace(/\n<!-- mirror-fleet:write [0-9a-f-]{36} -->\n$/, "");

const UPSTREAM_COMMIT = "c".repeat(40);
const PATCH_SHA = "d".repeat(64);

const ALPINE = findingsOf("alpine-310.json"); // CVE-2019-1549 and CVE-2019-1551 in libcrypto1.1 and libssl1.1
const [CRYPTO_1549, CRYPTO_1551, SSL_1549, SSL_1551] = ALPINE;

class World {
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), "issue-test-"));
  private n = 0;
  constructor(readonly s: GitHubStandIn) {}

  file(name: string, content: unknown): string {
    const p = path.join(this.dir, `${this.n++}-${name}`);
    fs.writeFileSync(p, typeof content === "string" ? content : JSON.stringify(content));
    return p;
  }

  async run(args: string[]) {
    const r = await runPipelineCommand(this.s, REPO, this.dir, ["issue", ...args]);
    return { ...r, writes: r.writes.length };
  }

  /** Runs twice; the second run must report `unchanged` (or the same `none`) and write nothing. */
  async twice(args: string[]) {
    const first = await this.run(args);
    assert.equal(first.code, 0, first.err);
    const again = await this.run(args);
    assert.equal(again.code, 0, again.err);
    assert.equal(again.writes, 0, `re-running ${args.join(" ")} wrote ${again.writes} time(s)`);
    assert.equal(again.json.action, first.json.action === "none" ? "none" : "unchanged");
    return first;
  }

  cve(tag: string, blocking: readonly Finding[], state = "open") {
    return ["--kind", "cve", "--state", state, "--tag", tag, "--gate-json", this.file("gate.json", gateJson(blocking)), "--run-url", "https://github.com/acme/mirror-gokapi/actions/runs/7"];
  }
}

async function withWorld(f: (w: World) => Promise<void>): Promise<void> {
  await withCheckedStandIn(REPO, async (s) => {
    // The closer of an override review needs the policy's role (pipeline/lib/approval.ts).
    s.setRole(REPO, "alice", "write");
    const w = new World(s);
    try {
      await f(w);
    } finally {
      fs.rmSync(w.dir, { recursive: true, force: true });
    }
  });
}

test("GIVEN a blocked build WHEN `issue --kind cve` runs through every transition THEN one issue follows the findings, and each re-run writes nothing", async () => {
  await withWorld(async (w) => {
    const { s } = w;
    // create
    const created = await w.twice(w.cve("v2.2.4", [CRYPTO_1549, SSL_1549]));
    assert.deepEqual(created.json, { action: "created", number: 1, state: "open", approved: false, approvedBy: null });
    assert.deepEqual(created.outputs, { action: "created", number: "1", approved: "false", approved_by: "" });
    let issue = s.issue(REPO, 1);
    assert.deepEqual(issue.labels, ["cve", "blocked", "security"]);
    assert.equal(issue.title, "Scan gate blocked the build of v2.2.4");
    assert.ok(issue.body!.startsWith("<!-- mirror-fleet:issue kind=cve tag=v2.2.4 -->\n<!-- mirror-fleet:findings state=open fingerprint="));
    assert.match(issue.body!, /\| MEDIUM \| `CVE-2019-1549` \| `libcrypto1.1` \| `1.1.1c-r0` \| `1.1.1d-r0` \|/);

    // the same findings in another order (and reported twice): silent
    const reordered = await w.run(w.cve("v2.2.4", [SSL_1549, CRYPTO_1549, SSL_1549]));
    assert.equal(reordered.json.action, "unchanged");
    assert.equal(reordered.writes, 0);

    // changed: body updated, one comment with what was added and cleared
    const updated = await w.twice(w.cve("v2.2.4", [CRYPTO_1549, CRYPTO_1551]));
    assert.deepEqual(updated.json, { action: "updated", number: 1, state: "open", approved: false, approvedBy: null });
    assert.equal(updated.writes, 2, "one body update, one comment");
    assert.deepEqual(
      s.comments(REPO, 1).map((c) => withoutWriteId(c.body)),
      [
        "The findings changed in [this run](https://github.com/acme/mirror-gokapi/actions/runs/7).\n\n" +
          "**Added** (1)\n- **MEDIUM** `CVE-2019-1551` in `libcrypto1.1` `1.1.1c-r0` (fixed in `1.1.1d-r2`)\n\n" +
          "**Cleared** (1)\n- `CVE-2019-1549` in `libssl1.1` `1.1.1c-r0`\n",
      ],
    );
    assert.match(s.issue(REPO, 1).body!, /CVE-2019-1551/);

    // closed by a human with the same findings: stays closed
    s.closeIssue(REPO, 1);
    const stays = await w.twice(w.cve("v2.2.4", [CRYPTO_1551, CRYPTO_1549]));
    assert.deepEqual(stays.json, { action: "unchanged", number: 1, state: "closed", approved: false, approvedBy: null });
    assert.equal(stays.writes, 0);
    assert.equal(s.issue(REPO, 1).state, "closed");

    // closed, different findings: reopened with the comment
    const reopened = await w.twice(w.cve("v2.2.4", [CRYPTO_1551, SSL_1551]));
    assert.deepEqual(reopened.json, { action: "reopened", number: 1, state: "open", approved: false, approvedBy: null });
    issue = s.issue(REPO, 1);
    assert.equal(issue.state, "open");
    assert.equal(
      withoutWriteId(s.comments(REPO, 1).at(-1)!.body),
      "Reopened in [this run](https://github.com/acme/mirror-gokapi/actions/runs/7): the findings changed since this issue was closed.\n\n" +
        "**Added** (1)\n- **MEDIUM** `CVE-2019-1551` in `libssl1.1` `1.1.1c-r0` (fixed in `1.1.1d-r2`)\n\n" +
        "**Cleared** (1)\n- `CVE-2019-1549` in `libcrypto1.1` `1.1.1c-r0`\n",
    );

    // resolved: updated and closed
    const resolved = await w.twice(w.cve("v2.2.4", [], "resolved"));
    assert.deepEqual(resolved.json, { action: "closed", number: 1, state: "closed", approved: false, approvedBy: null });
    issue = s.issue(REPO, 1);
    assert.equal(issue.state, "closed");
    assert.equal(issue.stateReason, "completed");
    assert.match(issue.body!, /^<!-- mirror-fleet:issue kind=cve tag=v2\.2\.4 -->\n<!-- mirror-fleet:findings state=resolved /);
    assert.match(issue.body!, /A later build of `v2\.2\.4` passed the scan gate/);
    assert.match(withoutWriteId(s.comments(REPO, 1).at(-1)!.body), /^Resolved in \[this run\]\(.*\): nothing is left\.\n\n\*\*Cleared\*\* \(2\)\n/);

    // a later scan finds them again: reopened (the pipeline, not a human, had closed it)
    const back = await w.twice(w.cve("v2.2.4", [CRYPTO_1551, SSL_1551]));
    assert.equal(back.json.action, "reopened");

    // one issue all along, and another tag gets its own
    const other = await w.twice(w.cve("v2.2.5", [CRYPTO_1549]));
    assert.deepEqual(other.json, { action: "created", number: 2, state: "open", approved: false, approvedBy: null });
    assert.equal(s.issues(REPO).length, 2);
  });
});

test("GIVEN no issue WHEN `issue --state resolved` runs THEN nothing is created (action none)", async () => {
  await withWorld(async (w) => {
    const r = await w.twice(w.cve("v2.2.4", [], "resolved"));
    assert.deepEqual(r.json, { action: "none", number: null, state: null, approved: false, approvedBy: null });
    assert.deepEqual(r.outputs, { action: "none", number: "", approved: "false", approved_by: "" });
    assert.equal(w.s.writes().length, 0);
  });
});

test("GIVEN upstream drift WHEN a human closes the override-review issue THEN `issue` reports approved until the drift changes", async () => {
  await withWorld(async (w) => {
    const { s } = w;
    const review = w.file("diff-review.md", "### Dockerfile\n\n```diff\n-FROM golang:1.22\n+FROM golang:1.23\n```\n");
    const drift = (files: string[]) => [
      "--kind", "override-review", "--state", "open", "--tag", "v2.2.4",
      "--drift-json", w.file("drift.json", { status: "changed", files, commit: UPSTREAM_COMMIT, patchSha256: PATCH_SHA }), "--body-file", review,
    ];
    const created = await w.twice(drift(["Dockerfile"]));
    assert.deepEqual(created.json, { action: "created", number: 1, state: "open", approved: false, approvedBy: null });
    assert.deepEqual(s.issue(REPO, 1).labels, ["override-review", "blocked"]);
    assert.match(s.issue(REPO, 1).body!, /\*\*Close this issue as completed to approve\*\*/);
    assert.match(s.issue(REPO, 1).body!, /\+FROM golang:1\.23/);

    // approval: a human closes it as completed
    s.closeIssue(REPO, 1, { reason: "completed" });
    const approved = await w.twice(drift(["Dockerfile"]));
    assert.deepEqual(approved.json, { action: "unchanged", number: 1, state: "closed", approved: true, approvedBy: "alice" });
    assert.equal(approved.outputs.approved, "true");

    // the drift changes: the approval no longer holds
    const reopened = await w.twice(drift(["Dockerfile", "go.mod"]));
    assert.deepEqual(reopened.json, { action: "reopened", number: 1, state: "open", approved: false, approvedBy: null });
    // The change, then the request for review of the body as it now stands.
    assert.match(withoutWriteId(s.comments(REPO, 1).at(-2)!.body), /\*\*Added\*\* \(1\)\n- `go\.mod`\n$/);
    assert.match(s.comments(REPO, 1).at(-1)!.body, /^<!-- mirror-fleet:ask fingerprint=[0-9a-f]{64} body-sha256=[0-9a-f]{64} -->\n/);

    // closed as not planned: a rejection, the build stays blocked
    s.closeIssue(REPO, 1, { reason: "not_planned" });
    const rejected = await w.twice(drift(["go.mod", "Dockerfile"]));
    assert.deepEqual(rejected.json, { action: "unchanged", number: 1, state: "closed", approved: false, approvedBy: null });
    assert.equal(rejected.outputs.approved, "false");
  });
});

test("GIVEN a blocked build of the pinned tag WHEN the rescan runs THEN it only comments on the build's issue; once the build passes it files its own", async () => {
  await withWorld(async (w) => {
    const { s } = w;
    await w.twice(w.cve("v2.2.4", [CRYPTO_1549]));
    const bodyBefore = s.issue(REPO, 1).body;
    const rescan = (blocking: Finding[], state = "open") => [
      "--kind", "rescan", "--state", state, "--tag", "v2.2.4", "--gate-json", w.file("rescan.json", gateJson(blocking)),
    ];

    const commented = await w.twice(rescan([CRYPTO_1549, SSL_1551]));
    assert.deepEqual(commented.json, { action: "updated", number: 1, state: "open", approved: false, approvedBy: null });
    assert.equal(s.issue(REPO, 1).body, bodyBefore, "the build's results own the body");
    assert.equal(s.issues(REPO).length, 1, "no rescan issue while the build is blocked");
    assert.match(s.comments(REPO, 1)[0].body, /^<!-- mirror-fleet:rescan fingerprint=[0-9a-f]{64} -->\nThe nightly rescan of `v2\.2\.4` finds 2 finding\(s\)/);

    const clean = await w.twice(rescan([], "resolved"));
    assert.equal(clean.json.action, "updated");
    assert.match(withoutWriteId(s.comments(REPO, 1)[1].body), /The nightly rescan of `v2\.2\.4` is clean\.\n$/);

    // the build passes: its issue closes; the rescan now owns its own issue
    await w.twice(w.cve("v2.2.4", [], "resolved"));
    const own = await w.twice(rescan([SSL_1551]));
    assert.deepEqual(own.json, { action: "created", number: 2, state: "open", approved: false, approvedBy: null });
    assert.deepEqual(s.issue(REPO, 2).labels, ["cve", "rescan", "security"]);
    assert.equal(s.issue(REPO, 2).title, "Rescan found vulnerabilities in the pinned image v2.2.4");
    const closed = await w.twice(rescan([], "resolved"));
    assert.equal(closed.json.action, "closed");
  });
});

test("GIVEN an issue an outsider opened with the marker but without the label WHEN `issue` runs THEN the pipeline ignores it and files its own", async () => {
  await withWorld(async (w) => {
    const { s } = w;
    const gh = await fetch(`${s.url}/repos/${REPO}/issues`, {
      method: "POST",
      headers: { authorization: `token ${s.token}` },
      body: JSON.stringify({ title: "spoof", body: "<!-- mirror-fleet:issue kind=override-review tag=v2.2.4 -->\n" }),
    });
    assert.equal(gh.status, 201);
    s.closeIssue(REPO, 1, { by: "mallory" });
    const r = await w.run(["--kind", "override-review", "--state", "open", "--tag", "v2.2.4", "--drift-json", w.file("d.json", { status: "changed", files: ["Dockerfile"], commit: UPSTREAM_COMMIT, patchSha256: PATCH_SHA })]);
    assert.deepEqual(r.json, { action: "created", number: 2, state: "open", approved: false, approvedBy: null });
  });
});

test("GIVEN bad input WHEN `issue` runs THEN exit 2 with a message that names the flag, and no request", async () => {
  await withWorld(async (w) => {
    const cases: Array<{ args: string[]; message: string }> = [
      { args: ["--kind", "cves", "--state", "open", "--tag", "v1"], message: 'issue: --kind: "cves" is not allowed (allowed: cve, override-review, rescan, upstream-health)' },
      { args: ["--kind", "cve", "--state", "closed", "--tag", "v1"], message: 'issue: --state: "closed" is not allowed (allowed: open, resolved)' },
      { args: ["--kind", "cve", "--state", "open", "--tag", "v1"], message: "issue: --state open needs the findings: --gate-json FILE" },
      { args: ["--kind", "cve", "--state", "open", "--tag", "v1;curl${IFS}x|sh", "--gate-json", "g"], message: 'issue: --tag "v1;curl${IFS}x|sh" is not allowed' },
      { args: ["--kind", "cve", "--state", "open", "--tag", "v1", "--gate-json", "missing.json"], message: "issue: --gate-json missing.json: cannot be read (ENOENT)" },
      { args: ["--kind", "cve", "--state", "open", "--tag", "v1", "--run-url", "javascript:alert(1)", "--gate-json", "g"], message: 'issue: --run-url: "javascript:alert(1)" is not allowed (allowed: an http(s) URL)' },
    ];
    for (const c of cases) {
      const r = await w.run(c.args);
      assert.equal(r.code, 2, c.args.join(" "));
      assert.ok(r.err.startsWith(c.message), `${c.args.join(" ")}\n  got: ${r.err.split("\n")[0]}`);
    }
    const bad = w.file("gate.json", { decision: "blocked", blocking: [] });
    const r = await w.run(["--kind", "cve", "--state", "open", "--tag", "v1", "--gate-json", bad]);
    assert.equal(r.code, 2);
    assert.equal(r.err, `issue: ${bad}: decision: "blocked" is not allowed (allowed: "pass" or "block")\n`);
    assert.equal(w.s.requests.length, 0);
  });
});

test("GIVEN the token in env WHEN `issue` runs THEN the token appears in no output, body or comment", async () => {
  await withWorld(async (w) => {
    const r1 = await w.run(w.cve("v1.0.0", [CRYPTO_1549]));
    const r2 = await w.run(w.cve("v1.0.0", [SSL_1549]));
    const everything = JSON.stringify([r1, r2, w.s.issues(REPO), w.s.comments(REPO, 1)]);
    assert.equal(everything.includes(w.s.token), false);
  });
});

test("GIVEN planIssue WHEN given each existing state THEN the plan is the lifecycle's (table)", () => {
  const items = [{ key: "CVE-1|a|1", line: "a" }];
  const input = (state: "open" | "resolved", kind: IssueInput["kind"] = "cve", it = items): IssueInput => ({ kind, state, tag: "v1", items: it, details: "" });
  const existing = (state: "open" | "closed", body: string, stateReason: string | null = null) => ({ number: 3, state, stateReason, title: "Scan gate blocked the build of v1", body, url: null });
  const same = renderBody(input("open"));
  const resolvedBody = renderBody(input("resolved"));
  const cases: Array<{ what: string; input: IssueInput; existing?: ReturnType<typeof existing>; action: string; approved?: boolean }> = [
    { what: "none, open", input: input("open"), action: "created" },
    { what: "none, resolved", input: input("resolved"), action: "none" },
    { what: "open, same", input: input("open"), existing: existing("open", same), action: "unchanged" },
    { what: "open, changed", input: input("open", "cve", [{ key: "CVE-2|a|1", line: "b" }]), existing: existing("open", same), action: "updated" },
    { what: "open, resolved", input: input("resolved"), existing: existing("open", same), action: "closed" },
    { what: "closed, same", input: input("open"), existing: existing("closed", same), action: "unchanged" },
    { what: "closed, changed", input: input("open", "cve", []), existing: existing("closed", same), action: "reopened" },
    { what: "closed by the pipeline, findings back", input: input("open"), existing: existing("closed", resolvedBody), action: "reopened" },
    { what: "closed, resolved", input: input("resolved"), existing: existing("closed", same), action: "unchanged" },
    { what: "a body edited by hand", input: input("open"), existing: existing("open", "hello"), action: "updated" },
    { what: "review closed as completed", input: input("open", "override-review"), existing: existing("closed", renderBody(input("open", "override-review")), "completed"), action: "unchanged", approved: true },
    { what: "review closed as not planned", input: input("open", "override-review"), existing: existing("closed", renderBody(input("open", "override-review")), "not_planned"), action: "unchanged", approved: false },
    { what: "cve closed: never an approval", input: input("open"), existing: existing("closed", same, "completed"), action: "unchanged", approved: false },
  ];
  for (const c of cases) {
    const plan = planIssue(c.input, c.existing);
    assert.equal(plan.action, c.action, c.what);
    assert.equal(plan.approved, c.approved ?? false, c.what);
  }
  assert.equal(fingerprint(["b", "a", "a"]), fingerprint(["a", "b"]));
});

test("GIVEN the gate's own JSON result on a real report WHEN `issue` reads it THEN the issue lists its blocking findings", async () => {
  await withWorld(async (w) => {
    const gateIo = captureIo({}, w.dir);
    const code = await main(["gate", "--report", path.join(TRIVY, "alpine-310.json"), "--severity", "MEDIUM", "--today", "2026-01-01"], gateIo);
    assert.equal(code, 1, gateIo.err.join(""));
    const gate = w.file("gate.json", gateIo.out.join(""));
    const r = await w.twice(["--kind", "cve", "--state", "open", "--tag", "v2.2.4", "--gate-json", gate]);
    assert.equal(r.json.action, "created");
    const body = w.s.issue(REPO, 1).body!;
    assert.match(body, /#### Blocking findings \(4\)/);
    assert.match(body, /keys=\["CVE-2019-1549\|libcrypto1\.1\|1\.1\.1c-r0","CVE-2019-1549\|libssl1\.1\|1\.1\.1c-r0","CVE-2019-1551\|libcrypto1\.1\|1\.1\.1c-r0","CVE-2019-1551\|libssl1\.1\|1\.1\.1c-r0"\]/);
  });
});
