/**
 * Red team, issue 17 item 9: the waivers' `paths` patterns `**\/**` and
 * `a/**\/**` are valid for Trivy but made the gate fail with an internal
 * regular-expression error, blocking the mirror every night. Patterns are now
 * matched by a port of the matcher Trivy uses (pipeline/lib/doublestar.ts),
 * checked here against doublestar v4.10.0's own Match table, copied unchanged
 * into test/testdata/doublestar/match-tests.go.txt, and against answers of the
 * real doublestar.Match for the patterns the red team used.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";
import { doublestarMatch, validatePattern } from "../../pipeline/lib/doublestar";
import { run, TESTDATA, tmpDir } from "../fixtures/pipeline/harness";

/** The table's rows: pattern, path, shouldMatch and expectedErr (the fields Match is tested on). */
function matchTable(): Array<{ pattern: string; name: string; want: boolean | "bad"; line: number }> {
  const go = String.raw`"(?:[^"\\]|\\.)*"`;
  const row = new RegExp(String.raw`^\s*\{(${go}), (${go}), (true|false), (?:true|false), (?:true|false), (nil|ErrBadPattern),`);
  const out: Array<{ pattern: string; name: string; want: boolean | "bad"; line: number }> = [];
  fs.readFileSync(path.join(TESTDATA, "doublestar", "match-tests.go.txt"), "utf8").split("\n").forEach((l, i) => {
    const m = row.exec(l);
    // Go's double-quoted strings here use only escapes JSON shares (\\ and \").
    if (m) out.push({ pattern: JSON.parse(m[1]), name: JSON.parse(m[2]), want: m[4] === "ErrBadPattern" ? "bad" : m[3] === "true", line: i + 1 });
  });
  return out;
}

describe("adversarial (issue 17 #9): waiver path patterns match as Trivy matches them", () => {
  test("GIVEN doublestar v4.10.0's own Match table THEN every row gives doublestar's answer", () => {
    const rows = matchTable();
    assert.equal(rows.length, 177, "the copied table has 177 rows");
    const wrong = rows.filter((r) => doublestarMatch(r.pattern, r.name) !== r.want).map((r) => `line ${r.line}: Match(${JSON.stringify(r.pattern)}, ${JSON.stringify(r.name)}) want ${r.want}`);
    assert.deepEqual(wrong, []);
  });

  test("GIVEN **/** and a/**/** THEN valid, with the answers of the real doublestar.Match (v4.10.0, run 2026-12-07)", () => {
    assert.equal(validatePattern("**/**"), true);
    assert.equal(validatePattern("a/**/**"), true);
    const real: Array<[string, string, boolean]> = [
      ["**/**", "", false],
      ["**/**", "a", true],
      ["**/**", "app/node_modules/lodash/package.json", true],
      ["a/**/**", "a", false],
      ["a/**/**", "a/b", true],
      ["a/**/**", "a/b/c", true],
      ["a/**/**", "b/c", false],
      ["usr/**/**/bin", "usr/bin", true],
      ["usr/**/**/bin", "usr/local/bin", true],
      ["a/**b/**", "a/b", true],
    ];
    assert.deepEqual(real.filter(([p, n, want]) => doublestarMatch(p, n) !== want), []);
  });

  test("GIVEN a waiver scoped to app/**/** WHEN gated THEN it waives the finding under app/ and the gate passes (no internal error)", async () => {
    const dir = tmpDir();
    const vuln = { VulnerabilityID: "CVE-2024-1", PkgName: "lodash", InstalledVersion: "1.0.0", FixedVersion: "1.0.1", Status: "fixed", Severity: "HIGH", PkgPath: "app/node_modules/lodash/package.json" };
    fs.writeFileSync(path.join(dir, "r.json"), JSON.stringify({ SchemaVersion: 2, ArtifactName: "x", ArtifactType: "container_image", Results: [{ Target: "Node.js", Vulnerabilities: [vuln] }] }));
    for (const [pattern, decision] of [["app/**/**", "pass"], ["**/**", "pass"], ["lib/**/**", "block"]] as const) {
      fs.writeFileSync(path.join(dir, "w.yaml"), `vulnerabilities:\n  - id: CVE-2024-1\n    paths: ["${pattern}"]\n    statement: test\n    expired_at: 2027-01-01\n`);
      const r = await run(["gate", "--report", "r.json", "--waivers", "w.yaml", "--today", "2026-11-23"], { cwd: dir });
      assert.equal(r.json?.decision, decision, `${pattern}: exit ${r.code}: ${r.stderr}`);
      assert.deepEqual(r.json.unusable, []);
    }
  });

  test("GIVEN a pattern doublestar refuses ([] or an unclosed {) THEN the waivers file is unusable, naming the entry, as Trivy refuses it", async () => {
    const dir = tmpDir();
    fs.writeFileSync(path.join(dir, "r.json"), JSON.stringify({ SchemaVersion: 2, ArtifactName: "x", ArtifactType: "container_image", Results: [] }));
    fs.writeFileSync(path.join(dir, "w.yaml"), `vulnerabilities:\n  - id: CVE-2024-1\n    paths: ["a/[]", "{a,b"]\n    statement: test\n    expired_at: 2027-01-01\n`);
    const r = await run(["gate", "--report", "r.json", "--waivers", "w.yaml", "--today", "2026-11-23"], { cwd: dir });
    assert.equal(r.code, 2);
    assert.deepEqual(r.json.unusable, [
      'w.yaml: vulnerabilities[0].paths: "a/[]" is not a valid path pattern (allowed: a doublestar glob, as Trivy reads it: *, ?, **, [...], {a,b})',
      'w.yaml: vulnerabilities[0].paths: "{a,b" is not a valid path pattern (allowed: a doublestar glob, as Trivy reads it: *, ?, **, [...], {a,b})',
    ]);
  });
});
