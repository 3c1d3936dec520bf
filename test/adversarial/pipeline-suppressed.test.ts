/**
 * Red team, issue 17 item 14: a finding Trivy suppressed (a VEX statement or
 * an ignore file seen by the scanner) comes back in
 * `ExperimentalModifiedFindings` and is judged again against the mirror's
 * own waivers. One whose `Type` was not exactly `vulnerability` was dropped
 * without a word: a report edited to say `Vulnerability` (or any other type)
 * hid a blocking finding. The report here is Trivy's own golden
 * (test/testdata/trivy/npm-with-suppressed.json) with the finding made HIGH.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";
import { run, TESTDATA, tmpDir } from "../fixtures/pipeline/harness";

function report(type: unknown): string {
  const doc = JSON.parse(fs.readFileSync(path.join(TESTDATA, "trivy", "npm-with-suppressed.json"), "utf8"));
  const modified = doc.Results[0].ExperimentalModifiedFindings[0];
  modified.Finding.Severity = "HIGH";
  modified.Type = type;
  doc.Results[0].Vulnerabilities = [];
  const dir = tmpDir();
  fs.writeFileSync(path.join(dir, "r.json"), JSON.stringify(doc));
  return dir;
}

describe("adversarial (issue 17 #14): a suppressed finding of an unknown Type is unusable input, not dropped", () => {
  test("GIVEN the suppressed finding as Trivy writes it (Type vulnerability) THEN it is judged and blocks", async () => {
    const r = await run(["gate", "--report", "r.json", "--severity", "HIGH", "--include-unfixed", "--today", "2026-11-23"], { cwd: report("vulnerability") });
    assert.equal(r.code, 1, r.stderr);
    assert.deepEqual(r.json.blocking.map((f: { id: string }) => f.id), ["CVE-2017-16137"]);
  });

  for (const type of ["Vulnerability", "vuln", "misconfiguration", null, 1]) {
    test(`GIVEN a suppressed finding with Type ${JSON.stringify(type)} THEN the gate stops on unusable input naming the field`, async () => {
      const r = await run(["gate", "--report", "r.json", "--severity", "HIGH", "--include-unfixed", "--today", "2026-11-23"], { cwd: report(type) });
      assert.equal(r.code, 2, `exit ${r.code}: ${r.stderr}`);
      assert.equal(r.json.decision, "block");
      assert.deepEqual(r.json.unusable, [
        `r.json: Results[0].ExperimentalModifiedFindings[0].Type: ${JSON.stringify(type)} is not allowed (allowed: vulnerability; the scans run with --scanners vuln)`,
      ]);
    });
  }
});
