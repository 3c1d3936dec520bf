/**
 * Red team, issue 12 items 4-5: upstream-derived text in an issue, comment or
 * pull request body stays inert however long it is (DESIGN invariant 10).
 * Upstream controls the length through package and file names and commit
 * subjects; a cut lands only between entries, closes what is open, says how
 * many entries were left out and where the full list is, and every body and
 * comment fits GitHub's 65,536 characters.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { cutMarkdown } from "../../pipeline/lib/issues";
import { renderPrBody, type PinRecord } from "../../pipeline/lib/pin";
import { REPO, digest, finding, gateJson, withWorld } from "./pipeline-world";

const GITHUB_MAX = 65_536;

/** Lines outside fences whose backticks do not pair up: a code span left open renders what follows it live. */
function openSpans(md: string): string[] {
  const bad: string[] = [];
  let fence: string | null = null;
  for (const line of md.split("\n")) {
    const m = /^\s{0,3}(`{3,}|~{3,})/.exec(line);
    if (fence) {
      if (m && m[1][0] === fence[0] && m[1].length >= fence.length && line.trim() === m[1]) fence = null;
      continue;
    }
    if (m) {
      fence = m[1];
      continue;
    }
    if ((line.match(/`/g) ?? []).length % 2) bad.push(line.slice(0, 80));
  }
  if (fence) bad.push(`unclosed fence ${fence}`);
  return bad;
}

/** <details> opened and closed outside fences (inside a fence they are text). */
function balancedDetails(md: string): boolean {
  let fence: string | null = null;
  let depth = 0;
  for (const line of md.split("\n")) {
    const m = /^\s{0,3}(`{3,}|~{3,})/.exec(line);
    if (fence) {
      if (m && m[1][0] === fence[0] && m[1].length >= fence.length && line.trim() === m[1]) fence = null;
      continue;
    }
    if (m) {
      fence = m[1];
      continue;
    }
    depth += (line.match(/<details>/g) ?? []).length - (line.match(/<\/details>/g) ?? []).length;
  }
  return depth === 0 && fence === null;
}

/** A package name upstream chose: live Markdown first, then enough padding that any fixed-length cut lands inside it. */
const evilName = (i: number) => `@acme/security-team ![x](https://evil.example/${i}.png) </details> ${"a".repeat(2_900)}-${i}`;

test("GIVEN findings whose names upstream made long WHEN the blocked-build issue is filed THEN the body fits, no code span is left open, and it says how many were left out and where", async () => {
  await withWorld(async (w) => {
    const many = Array.from({ length: 250 }, (_, i) => finding(`CVE-2024-${String(i).padStart(4, "0")}`, evilName(i)));
    const r = await w.run(["issue", "--kind", "cve", "--state", "open", "--tag", "v1.0.0", "--gate-json", w.file("gate.json", gateJson(many))]);
    assert.equal(r.code, 0, r.err);
    const body = w.s.issue(REPO, 1).body!;
    assert.ok(body.length <= GITHUB_MAX, `${body.length} characters`);
    assert.deepEqual(openSpans(body), []);
    const shown = (body.match(/^\| HIGH \|/gm) ?? []).length;
    assert.ok(shown > 0 && shown < 250);
    assert.ok(body.includes(`… ${250 - shown} more blocking finding(s) not shown here. The full list is in the audit bundle (artifact \`audit\` of the workflow run).`), body.slice(-600));
  });
});

test("GIVEN the gate's Markdown summary with a fence and <details> WHEN it is cut THEN the cut is between entries, the fence and <details> are closed, and the note counts the rest", () => {
  const rows = Array.from({ length: 3_000 }, (_, i) => `| HIGH | \`CVE-${i}\` | \`pkg-${i} @team\` |`);
  const commits = Array.from({ length: 3_000 }, (_, i) => `abc${i} subject with \`backticks\` and </details> @someone`);
  const md = ["<details><summary>all</summary>", "", "| Severity | ID | Package |", "|---|---|---|", ...rows, "", "```text", ...commits, "```", "", "</details>"].join("\n");
  for (const max of [1_000, 50_000, 150_000, 200_000]) {
    const out = cutMarkdown(md, max, "the audit bundle");
    assert.ok(out.length <= max, `${max}: ${out.length}`);
    assert.deepEqual(openSpans(out), [], String(max));
    assert.ok(balancedDetails(out), `${max}: <details> left open`);
    const kept = (out.match(/^\| HIGH \|/gm) ?? []).length + (out.match(/^abc\d+ /gm) ?? []).length;
    assert.match(out, new RegExp(`… cut here: ${6_000 - kept} more entries \\(findings, files or commits\\) not shown\\. The full list is in the audit bundle\\.$`));
  }
  assert.equal(cutMarkdown("short `text`", 100, "x"), "short `text`");
});

test("GIVEN 5,000 findings WHEN the rescan comments on the blocked build's issue THEN the comment fits (GitHub answered 422 and it was lost) and names the count", async () => {
  await withWorld(async (w) => {
    await w.run(["issue", "--kind", "cve", "--state", "open", "--tag", "v1.0.0", "--gate-json", w.file("g.json", gateJson([finding("CVE-1", "x")]))]);
    const many = Array.from({ length: 5_000 }, (_, i) => finding(`CVE-2025-${i}`, `github.com/upstream/module-with-a-long-name-${i}`, `v0.0.0-20240101000000-${"f".repeat(12)}`));
    const r = await w.run(["issue", "--kind", "rescan", "--state", "open", "--tag", "v1.0.0", "--gate-json", w.file("r.json", gateJson(many))]);
    assert.equal(r.code, 0, r.err);
    const [comment] = w.s.comments(REPO, 1);
    assert.ok(comment.body.length <= GITHUB_MAX, `${comment.body.length} characters`);
    assert.match(comment.body, /^<!-- mirror-fleet:rescan fingerprint=[0-9a-f]{64} -->\nThe nightly rescan of `v1\.0\.0` finds 5000 finding\(s\)/);
    const listed = (comment.body.match(/^- \*\*HIGH\*\*/gm) ?? []).length;
    assert.ok(comment.body.includes(`… cut here: ${5_000 - listed} more entries (findings, files or commits) not shown. The full list is in the rescan bundle (artifact \`rescan\` of the workflow run).`));
    assert.deepEqual(openSpans(comment.body), []);
  });
});

test("GIVEN 5,000 new findings WHEN the blocked-build issue changes THEN the change comment fits too", async () => {
  await withWorld(async (w) => {
    await w.run(["issue", "--kind", "cve", "--state", "open", "--tag", "v1.0.0", "--gate-json", w.file("g.json", gateJson([finding("CVE-1", "x")]))]);
    const many = Array.from({ length: 5_000 }, (_, i) => finding(`CVE-2025-${i}`, `github.com/upstream/module-with-a-long-name-${i}`));
    const r = await w.run(["issue", "--kind", "cve", "--state", "open", "--tag", "v1.0.0", "--gate-json", w.file("r.json", gateJson(many))]);
    assert.equal(r.json.action, "updated", r.err);
    const comment = w.s.comments(REPO, 1).at(-1)!.body;
    assert.ok(comment.length <= GITHUB_MAX, `${comment.length} characters`);
    assert.match(comment, /… cut here: \d+ more entries \(findings, files or commits\) not shown\. The full list is in the audit bundle/);
    assert.ok(w.s.issue(REPO, 1).body!.length <= GITHUB_MAX);
  });
});

test("GIVEN a diff review longer than a pull request body WHEN the pin is proposed THEN the cut closes the commit fence and the <details> block", () => {
  const subjects = Array.from({ length: 4_000 }, (_, i) => `${"0".repeat(12)} 2026-01-01 Dev: feat ${i} </details> @org/team ![x](https://evil.example/x.png)`);
  const review = ["# Diff review: v1 → v2", "", "## Commits (4000)", "", "````text", ...subjects, "````", "", "## Changed files (1)", "", "| Status | File |", "|---|---|", "| M | `go.mod` |", ""].join("\n");
  const record: PinRecord = {
    image: "ghcr.io/acme/gokapi",
    digest: digest("b"),
    tag: "v2",
    upstream: { repo: "Forceu/Gokapi", commit: "a".repeat(40) },
    override: null,
    builtAt: "2026-03-11T02:14:00Z",
    scan: null,
    waiversApplied: [],
    attestations: [],
    runUrl: null,
  };
  const body = renderPrBody(record, { previous: null, upstreamUrl: null, review, links: {} });
  assert.ok(body.length <= GITHUB_MAX, `${body.length}`);
  assert.deepEqual(openSpans(body), []);
  // The block's own </details> is the last line: nothing after the cut is rendered outside it.
  assert.match(body, /\n````\n\n… cut here: \d+ more entries \(findings, files or commits\) not shown\. The full list is in the audit bundle \(artifact `audit` of the workflow run: `diff-review\.md` and `diff\.patch`\)\.\n\n<\/details>\n$/);
});
