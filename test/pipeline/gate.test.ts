import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { SEVERITIES } from "../../components/types";
import { parseIgnoreFile, parseTrivyReport, UnusableInput } from "../../pipeline/lib/trivy";
import { configYaml, run, TESTDATA, tmpDir } from "../fixtures/pipeline/harness";

const TRIVY = path.join(TESTDATA, "trivy");
const report = (name: string) => path.join(TRIVY, name);
const TODAY = "2026-11-23";

/** Writes files into a fresh directory and returns it. */
function dirWith(files: Record<string, string>): string {
  const d = tmpDir();
  for (const [f, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(d, f)), { recursive: true });
    fs.writeFileSync(path.join(d, f), text);
  }
  return d;
}

// ---------------------------------------------------------------------------
// The expected outcome, worked out here from the report itself, without the
// pipeline's code: every vulnerability (suppressed ones too), one finding per
// id and package, "has a fix" as the issue defines it.

interface Expect {
  findings: number;
  bySeverity: Record<string, number>;
  fixable: number;
  blocking: string[];
}

function expected(doc: any, severities: string[], fixedOnly: boolean): Expect {
  const vulns: any[] = [];
  for (const r of doc.Results ?? []) {
    vulns.push(...(r.Vulnerabilities ?? []));
    for (const m of r.ExperimentalModifiedFindings ?? []) if (m.Type === "vulnerability") vulns.push(m.Finding);
  }
  const key = (v: any) => `${v.VulnerabilityID} ${v.PkgIdentifier?.PURL || `${v.PkgName}@${v.InstalledVersion}`}`;
  const hasFix = (v: any) => (v.Status ? v.Status === "fixed" : Boolean(v.FixedVersion));
  const worst = new Map<string, string>();
  for (const v of vulns) {
    const k = key(v);
    const before = worst.get(k);
    if (!before || SEVERITIES.indexOf(v.Severity) < SEVERITIES.indexOf(before as never)) worst.set(k, v.Severity);
  }
  const bySeverity: Record<string, number> = Object.fromEntries(SEVERITIES.map((s) => [s, 0]));
  for (const s of worst.values()) bySeverity[s]++;
  return {
    findings: worst.size,
    bySeverity,
    fixable: new Set(vulns.filter(hasFix).map(key)).size,
    blocking: [...new Set(vulns.filter((v) => severities.includes(v.Severity) && (!fixedOnly || hasFix(v))).map((v) => v.VulnerabilityID))].sort(),
  };
}

const POLICIES: Array<{ name: string; flags: string[]; severities: string[]; fixedOnly: boolean }> = [
  { name: "CRITICAL,HIGH with a fix (the fleet default)", flags: ["--severity", "CRITICAL,HIGH", "--fixed-only"], severities: ["CRITICAL", "HIGH"], fixedOnly: true },
  { name: "every severity, fix or not", flags: ["--severity", SEVERITIES.join(","), "--include-unfixed"], severities: [...SEVERITIES], fixedOnly: false },
  { name: "MEDIUM,LOW with a fix", flags: ["--severity", "medium,low", "--fixed-only"], severities: ["MEDIUM", "LOW"], fixedOnly: true },
];

/** Reports that are not Trivy JSON v2, and what the gate must say about each. */
const NOT_V2: Record<string, string> = {
  "real-legacy-array-format.json":
    "real-legacy-array-format.json: legacy Trivy JSON format (a top-level array, from before SchemaVersion 2) is not read: its findings would be counted wrongly; scan again with a current Trivy (--format json writes SchemaVersion 2)",
  "npm-cyclonedx.json": "npm-cyclonedx.json: a CycloneDX document, not a Trivy JSON report (scan with --format json)",
  "alpine-310.sarif": "alpine-310.sarif: not a Trivy JSON report (no SchemaVersion; scan with --format json)",
};

describe("gate: every recorded Trivy report, decisions and counts worked out from the report", () => {
  const files = fs.readdirSync(TRIVY).filter((f) => /\.(json|sarif)$/.test(f)).sort();

  it("GIVEN the test data THEN it holds the reports this table expects", () => {
    assert.equal(files.length, 13);
    for (const f of Object.keys(NOT_V2)) assert.ok(files.includes(f), f);
  });

  for (const f of files) {
    for (const p of POLICIES) {
      it(`GIVEN ${f} and ${p.name} WHEN gate THEN the decision and counts of the report`, async () => {
        const r = await run(["gate", "--report", f, "--today", TODAY, ...p.flags], { cwd: TRIVY });
        if (NOT_V2[f]) {
          assert.equal(r.code, 2);
          assert.equal(r.json.decision, "block");
          assert.deepEqual(r.json.unusable, [NOT_V2[f]]);
          assert.equal(r.stderr.split("\n")[0], `gate: unusable input: ${NOT_V2[f]}`);
          return;
        }
        const want = expected(JSON.parse(fs.readFileSync(report(f), "utf8")), p.severities, p.fixedOnly);
        assert.equal(r.code, want.blocking.length > 0 ? 1 : 0, r.stderr);
        assert.equal(r.json.decision, want.blocking.length > 0 ? "block" : "pass");
        assert.deepEqual(r.json.unusable, []);
        assert.deepEqual([...new Set(r.json.blocking.map((b: any) => b.id))].sort(), want.blocking);
        assert.deepEqual(r.json.counts.bySeverity, want.bySeverity);
        assert.equal(r.json.counts.findings, want.findings);
        assert.equal(r.json.counts.fixable, want.fixable);
        assert.deepEqual(r.outputs, { decision: r.json.decision, blocking_count: String(r.json.counts.blocking) });
      });
    }
  }

  // Counted by hand from the files, so that the table above cannot agree with a shared mistake.
  const anchors: Array<{ file: string; flags: string[]; blocking: number; findings: number }> = [
    { file: "real-alpine-node-36-vulns.json", flags: [], blocking: 21, findings: 36 }, // 2 CRITICAL + 19 HIGH, all fixed
    { file: "debian-buster.json", flags: [], blocking: 1, findings: 2 }, // CVE-2019-18224; bash has no fix
    { file: "debian-buster.json", flags: ["--severity", "LOW", "--include-unfixed"], blocking: 1, findings: 2 }, // bash, no fix
    { file: "debian-buster.json", flags: ["--severity", "LOW", "--fixed-only"], blocking: 0, findings: 2 },
    { file: "gomod.json", flags: ["--severity", "UNKNOWN"], blocking: 2, findings: 3 }, // GMS-2022-20 in three go.mod files is one
    { file: "distroless-base.json", flags: ["--severity", "MEDIUM", "--fixed-only"], blocking: 0, findings: 4 }, // both MEDIUM have no fix
    { file: "distroless-base.json", flags: ["--severity", "MEDIUM", "--include-unfixed"], blocking: 2, findings: 4 },
    { file: "cargo.lock.json", flags: [], blocking: 0, findings: 0 },
  ];
  for (const a of anchors) {
    it(`GIVEN ${a.file} ${a.flags.join(" ") || "(defaults)"} THEN ${a.blocking} blocking of ${a.findings} findings`, async () => {
      const r = await run(["gate", "--report", report(a.file), "--today", TODAY, ...a.flags]);
      assert.equal(r.json.counts.blocking, a.blocking);
      assert.equal(r.json.counts.findings, a.findings);
      assert.equal(r.code, a.blocking > 0 ? 1 : 0);
    });
  }
});

describe("gate: has a fix", () => {
  const table: Array<{ status?: string; fixedVersion?: string; fixable: boolean }> = [
    { status: "fixed", fixedVersion: "1.2.4", fixable: true },
    { status: "fixed", fixable: true },
    { status: "affected", fixable: false },
    { status: "will_not_fix", fixedVersion: "1.2.4", fixable: false },
    { status: "fix_deferred", fixedVersion: "1.2.4", fixable: false },
    { fixedVersion: "1.2.4", fixable: true },
    { fixedVersion: " ", fixable: false },
    { fixable: false },
  ];
  for (const c of table) {
    it(`GIVEN Status ${c.status ?? "absent"} and FixedVersion ${JSON.stringify(c.fixedVersion ?? null)} THEN ${c.fixable ? "" : "no "}fix`, () => {
      const v = { VulnerabilityID: "CVE-1", PkgName: "p", InstalledVersion: "1.2.3", Severity: "HIGH", ...(c.status ? { Status: c.status } : {}), ...(c.fixedVersion ? { FixedVersion: c.fixedVersion } : {}) };
      const doc = { SchemaVersion: 2, ArtifactName: "x", ArtifactType: "container_image", Results: [{ Target: "t", Vulnerabilities: [v] }] };
      assert.equal(parseTrivyReport(JSON.stringify(doc), "r.json")[0].fixable, c.fixable);
    });
  }
});

describe("gate: the same finding seen by two scans counts once", () => {
  it("GIVEN the same report as the fs and the image scan WHEN gate THEN the counts of one report", async () => {
    const once = await run(["gate", "--report", report("real-alpine-node-36-vulns.json"), "--today", TODAY]);
    const twice = await run(["gate", "--report", report("real-alpine-node-36-vulns.json"), "--report", report("real-alpine-node-36-vulns.json"), "--today", TODAY]);
    assert.deepEqual({ ...twice.json.counts, occurrences: 0 }, { ...once.json.counts, occurrences: 0 });
    assert.equal(twice.json.counts.occurrences, 2 * once.json.counts.occurrences);
    assert.deepEqual(twice.json.blocking, once.json.blocking);
  });

  it("GIVEN GMS-2022-20 in three go.mod files WHEN gate THEN one finding with its three locations", async () => {
    const r = await run(["gate", "--report", report("gomod.json"), "--severity", "UNKNOWN", "--today", TODAY]);
    const gms = r.json.blocking.filter((b: any) => b.id === "GMS-2022-20");
    assert.equal(gms.length, 1);
    assert.deepEqual(gms[0], {
      id: "GMS-2022-20",
      severity: "UNKNOWN",
      package: "github.com/docker/distribution",
      installed: "v2.7.1+incompatible",
      fixed: "v2.8.0",
      target: "go.mod",
      purl: "pkg:golang/github.com/docker/distribution@v2.7.1%2Bincompatible",
      fixable: true,
      title: gms[0].title,
      locations: ["go.mod", "submod/go.mod", "submod2/go.mod"],
      moreLocations: 0,
      places: [report("gomod.json")],
    });
  });

  it("GIVEN a finding the scanner suppressed (ExperimentalModifiedFindings) WHEN no waiver here covers it THEN it counts and can block", async () => {
    const r = await run(["gate", "--report", report("npm-with-suppressed.json"), "--severity", "LOW", "--today", TODAY]);
    assert.equal(r.code, 1);
    assert.deepEqual(r.json.blocking.map((b: any) => b.id), ["CVE-2017-16137"]);
  });
});

const ALPINE_WAIVERS = `# waivers for the real Alpine + node report
vulnerabilities:
  - id: CVE-2026-22184
    purls:
      - pkg:apk/alpine/zlib
    statement: zlib inflate is only reached by trusted input here
    expired_at: 2027-01-01
  - id: CVE-2021-44906
    statement: minimist is only used by a build script
    expired_at: ${TODAY}
  - id: CVE-2021-3749
    paths: ["app/node_modules/axios/**"]
    statement: axios in the app is never given untrusted URLs
    expired_at: 2027-01-01
  - id: CVE-2025-27152
    paths:
      - usr/local/lib/**
    statement: a path that is not where this axios is
    expired_at: 2027-01-01
  - id: CVE-2024-45590
    purls:
      - pkg:npm/body-parser@1.19.1
    statement: another version than the one installed
    expired_at: 2027-01-01
  - id: CVE-2099-0001
    statement: long fixed
    expired_at: 2020-01-01
`;

describe("gate: waivers (.trivyignore.yaml) as Trivy applies them, expiry failing closed", () => {
  it("GIVEN waivers by purl, by path, expired today, and not matching WHEN gate THEN only the live matching ones waive", async () => {
    const cwd = dirWith({ ".trivyignore.yaml": ALPINE_WAIVERS });
    const r = await run(["gate", "--report", report("real-alpine-node-36-vulns.json"), "--waivers", ".trivyignore.yaml", "--today", TODAY], { cwd });
    assert.equal(r.code, 1);
    assert.deepEqual(
      r.json.waived.map((w: any) => [w.id, w.waiverEntry, w.expiredAt, w.statement]),
      [
        ["CVE-2026-22184", 1, "2027-01-01", "zlib inflate is only reached by trusted input here"],
        ["CVE-2021-3749", 3, "2027-01-01", "axios in the app is never given untrusted URLs"],
      ],
    );
    assert.equal(r.json.counts.blocking, 19);
    const ids = r.json.blocking.map((b: any) => b.id);
    for (const id of ["CVE-2021-44906", "CVE-2025-27152", "CVE-2024-45590"]) assert.ok(ids.includes(id), id);
    assert.deepEqual(r.json.expiredWaivers, [
      {
        entry: 2,
        id: "CVE-2021-44906",
        expiredAt: TODAY,
        statement: "minimist is only used by a build script",
        blocking: 1,
        message: `waiver CVE-2021-44906 (.trivyignore.yaml, entry 2) expired on ${TODAY}: the finding it covered blocks again; fix it, or renew the waiver with a new statement and date`,
      },
      {
        entry: 6,
        id: "CVE-2099-0001",
        expiredAt: "2020-01-01",
        statement: "long fixed",
        blocking: 0,
        message: "waiver CVE-2099-0001 (.trivyignore.yaml, entry 6) expired on 2020-01-01; it covers no blocking finding now: remove it",
      },
    ]);
    assert.match(r.stderr, /^gate: waiver CVE-2021-44906 \(\.trivyignore\.yaml, entry 2\) expired on 2026-11-23: the finding it covered blocks again/m);
  });

  it("GIVEN the day before expired_at WHEN gate THEN the waiver still applies (Trivy: expired once expired_at is past midnight UTC)", async () => {
    const cwd = dirWith({ ".trivyignore.yaml": ALPINE_WAIVERS });
    const r = await run(["gate", "--report", report("real-alpine-node-36-vulns.json"), "--waivers", ".trivyignore.yaml", "--today", "2026-11-22"], { cwd });
    assert.deepEqual(r.json.waived.map((w: any) => w.id), ["CVE-2021-44906", "CVE-2026-22184", "CVE-2021-3749"]);
    assert.deepEqual(r.json.expiredWaivers.map((w: any) => w.id), ["CVE-2099-0001"]);
  });

  it("GIVEN the only blocking finding is waived WHEN gate THEN pass, exit 0, the waiver in the summary", async () => {
    const cwd = dirWith({ "w.yaml": "vulnerabilities:\n  - id: CVE-2019-18224\n    statement: libidn2 is not reachable from @mallory's input | really\n    expired_at: 2027-02-01\n" });
    const r = await run(["gate", "--report", report("debian-buster.json"), "--waivers", "w.yaml", "--today", TODAY, "--summary-out", "out/summary.md"], { cwd });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json.decision, "pass");
    assert.deepEqual(r.outputs, { decision: "pass", blocking_count: "0" });
    const md = fs.readFileSync(path.join(cwd, "out/summary.md"), "utf8");
    assert.match(md, /^### Scan gate: PASSED\n/);
    assert.match(
      md,
      /\| CRITICAL \| `CVE-2019-18224` \| `libidn2-0` \| `2\.0\.5-1` \| `2\.0\.5-1\+deb10u1` \| entry 1 \| before 2027-02-01 \| libidn2 is not reachable from @\u200bmallory's input \\\| really \|/,
    );
  });

  it("GIVEN the waiver files in the test data WHEN parsed THEN their entries, as Trivy reads them; the docs' example, without expiry or statement, is refused", () => {
    const read = (f: string) => parseIgnoreFile(fs.readFileSync(report(f), "utf8"), f);
    assert.throws(() => read("example.trivyignore.yaml"), (e: UnusableInput) => {
      assert.deepEqual(e.problems, [0, 1].flatMap((i) => [
        `example.trivyignore.yaml: vulnerabilities[${i}].expired_at: null is not allowed (allowed: a date YYYY-MM-DD)`,
        `example.trivyignore.yaml: vulnerabilities[${i}].statement: null is not allowed (allowed: the waiver's reason, who accepted it and until when)`,
      ]));
      return true;
    });
    assert.deepEqual(read("real-trivyignore.yaml"), [
      { entry: 1, id: "GHSA-mx64-mj3q-7prj", paths: [], purls: [], expiredAt: "2027-01-01", statement: "Waiting for upstream fix in github.com/hamba/avro/v2" },
    ]);
  });

  const badWaivers: Array<{ name: string; text: string; message: string }> = [
    {
      name: "a misspelt key (Trivy would ignore it and waive forever)",
      text: "vulnerabilities:\n  - id: CVE-2019-18224\n    statement: s\n    expired_at: 2027-01-01\n    expires_at: 2020-01-01\n",
      message: "w.yaml: vulnerabilities[0].expires_at: unknown key (allowed: id, paths, purls, expired_at, statement)",
    },
    { name: "a date that is not one", text: "vulnerabilities:\n  - id: CVE-2019-18224\n    statement: s\n    expired_at: 2026-02-30\n", message: 'w.yaml: vulnerabilities[0].expired_at: "2026-02-30" is not allowed (allowed: a date YYYY-MM-DD)' },
    { name: "a purl that is not one", text: "vulnerabilities:\n  - id: CVE-2019-18224\n    purls: [libidn2]\n    statement: s\n    expired_at: 2027-01-01\n", message: 'w.yaml: vulnerabilities[0].purls: "libidn2" is not a package URL (allowed: pkg:<type>/<namespace>/<name>@<version>)' },
    { name: "an entry without id", text: "vulnerabilities:\n  - statement: x\n    expired_at: 2027-01-01\n", message: "w.yaml: vulnerabilities[0].id: null is not allowed (allowed: a vulnerability id)" },
    {
      name: "an entry without expired_at (Trivy would waive it forever)",
      text: "vulnerabilities:\n  - id: CVE-2019-18224\n    statement: s\n",
      message: "w.yaml: vulnerabilities[0].expired_at: null is not allowed (allowed: a date YYYY-MM-DD)",
    },
    {
      name: "an entry with an empty statement",
      text: "vulnerabilities:\n  - id: CVE-2019-18224\n    statement: \" \"\n    expired_at: 2027-01-01\n",
      message: "w.yaml: vulnerabilities[0].statement: \" \" is not allowed (allowed: the waiver's reason, who accepted it and until when)",
    },
    { name: "YAML the reader does not accept", text: "vulnerabilities:\n  - id: &a CVE-2019-18224\n", message: "waivers file is not readable YAML: w.yaml:2: anchors, aliases and tags are not supported" },
    { name: "a missing file", text: "", message: "w.yaml: waivers file does not exist" },
  ];
  for (const c of badWaivers) {
    it(`GIVEN a waivers file with ${c.name} WHEN gate THEN unusable, exit 2, naming it`, async () => {
      const cwd = c.text ? dirWith({ "w.yaml": c.text }) : tmpDir();
      const r = await run(["gate", "--report", report("debian-buster.json"), "--waivers", "w.yaml", "--today", TODAY], { cwd });
      assert.equal(r.code, 2);
      assert.equal(r.json.decision, "block");
      assert.deepEqual(r.json.unusable, [c.message]);
    });
  }
});

describe("gate: unusable reports block with a message that says which (fails closed)", () => {
  const good = fs.readFileSync(report("debian-buster.json"), "utf8");
  const mutate = (f: (doc: any) => void) => {
    const doc = JSON.parse(good);
    f(doc);
    return JSON.stringify(doc);
  };
  const cases: Array<{ name: string; text: string | null; message: string }> = [
    { name: "a missing file", text: null, message: "bad.json: report does not exist (the scan did not write it)" },
    { name: "an empty file", text: "", message: "bad.json: report is empty (a scan that wrote nothing is not a clean scan)" },
    { name: "a truncated file", text: good.slice(0, 200), message: "" },
    { name: "an unknown severity", text: mutate((d) => (d.Results[0].Vulnerabilities[1].Severity = "SEVERE")), message: 'bad.json: Results[0].Vulnerabilities[1] (CVE-2019-18224): unknown severity "SEVERE" (allowed: CRITICAL, HIGH, MEDIUM, LOW, UNKNOWN)' },
    { name: "no severity", text: mutate((d) => delete d.Results[0].Vulnerabilities[0].Severity), message: "bad.json: Results[0].Vulnerabilities[0] (CVE-2019-18276): unknown severity null (allowed: CRITICAL, HIGH, MEDIUM, LOW, UNKNOWN)" },
    {
      name: "a line break and a workflow command in report text",
      text: mutate((d) => Object.assign(d.Results[0].Vulnerabilities[1], { VulnerabilityID: "CVE-1\n::add-mask::x", Severity: "x" })),
      message: 'bad.json: Results[0].Vulnerabilities[1] ("CVE-1\\n::add-mask::x"): unknown severity "x" (allowed: CRITICAL, HIGH, MEDIUM, LOW, UNKNOWN)',
    },
    { name: "an unknown status", text: mutate((d) => (d.Results[0].Vulnerabilities[1].Status = "patched")), message: 'bad.json: Results[0].Vulnerabilities[1] (CVE-2019-18224): unknown status "patched" (allowed: unknown, not_affected, affected, fixed, under_investigation, will_not_fix, fix_deferred, end_of_life)' },
    { name: "another schema version", text: mutate((d) => (d.SchemaVersion = 3)), message: "bad.json: SchemaVersion 3 is not supported (allowed: 2)" },
    { name: "Results that are not a list", text: mutate((d) => (d.Results = {})), message: "bad.json: Results is {} (allowed: a list)" },
    { name: "a vulnerability without an id", text: mutate((d) => delete d.Results[0].Vulnerabilities[0].VulnerabilityID), message: "bad.json: Results[0].Vulnerabilities[0]: not a vulnerability (no VulnerabilityID)" },
  ];
  for (const c of cases) {
    it(`GIVEN ${c.name} next to a good report WHEN gate THEN exit 2, block, the message, and the good report still read`, async () => {
      const cwd = c.text === null ? tmpDir() : dirWith({ "bad.json": c.text });
      const r = await run(["gate", "--report", report("alpine-310.json"), "--report", "bad.json", "--severity", "MEDIUM", "--today", TODAY, "--summary-out", "s.md"], { cwd });
      assert.equal(r.code, 2);
      assert.equal(r.json.decision, "block");
      assert.deepEqual(r.outputs.decision, "block");
      if (c.message) assert.deepEqual(r.json.unusable, [c.message]);
      else assert.match(r.json.unusable[0], /^bad\.json: report is not JSON \(.+\)$/);
      assert.equal(r.json.counts.findings, 4, "the readable report's findings are still listed");
      const md = fs.readFileSync(path.join(cwd, "s.md"), "utf8");
      assert.match(md, /^### Scan gate: BLOCKED \(unusable scan input\)\n/);
      assert.match(md, /\n#### Unusable input\n\nThe gate fails closed: these problems block the build until they are fixed\.\n\n- bad\.json: /);
    });
  }

  it("GIVEN only a legacy-format report WHEN gate THEN never clean: exit 2 and no findings claimed", async () => {
    const r = await run(["gate", "--report", report("real-legacy-array-format.json"), "--today", TODAY]);
    assert.equal(r.code, 2);
    assert.equal(r.json.decision, "block");
    assert.equal(r.json.counts.findings, 0);
  });
});

describe("gate: flags, config defaults and the summary", () => {
  const usageErrors: Array<{ args: string[]; message: string }> = [
    { args: ["--severity", "CRITICAL,SEVERE"], message: 'gate: --severity: "SEVERE" is not a severity (allowed: a comma-separated list of CRITICAL, HIGH, MEDIUM, LOW, UNKNOWN)' },
    { args: ["--today", "23.11.2026"], message: 'gate: --today "23.11.2026" is not a date (allowed: YYYY-MM-DD)' },
    { args: ["--fixed-only", "--include-unfixed"], message: "gate: --fixed-only and --include-unfixed cannot both be given" },
  ];
  for (const c of usageErrors) {
    it(`GIVEN ${c.args.join(" ")} WHEN gate THEN exit 2 with the usage`, async () => {
      const r = await run(["gate", "--report", report("alpine-310.json"), ...c.args]);
      assert.equal(r.code, 2);
      assert.equal(r.stdout, "");
      assert.ok(r.stderr.startsWith(`${c.message}\n\nusage: mirror-pipeline gate`), r.stderr);
    });
  }

  it("GIVEN no --report WHEN gate THEN exit 2", async () => {
    const r = await run(["gate"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^gate: --scan-record or --report is required \(the scan record, or one or more Trivy JSON reports\)\n/);
  });

  it("GIVEN .mirror/config.yml WHEN gate without policy flags THEN its severities, fixedOnly and waivers file", async () => {
    const cwd = dirWith({
      ".mirror/config.yml": configYaml({ range: "*", prerelease: false, prefix: "" }, { severities: ["MEDIUM"], fixedOnly: true, waivers: "waivers/ignore.yaml" }),
      "waivers/ignore.yaml": "vulnerabilities:\n  - id: CVE-2019-1549\n    statement: s\n    expired_at: 2027-01-01\n",
    });
    const r = await run(["gate", "--report", report("alpine-310.json"), "--today", TODAY], { cwd });
    assert.equal(r.code, 1);
    assert.deepEqual(r.json.policy, { severities: ["MEDIUM"], fixedOnly: true, today: TODAY });
    assert.equal(r.json.waiversFile, "waivers/ignore.yaml");
    assert.deepEqual(r.json.waived.map((w: any) => `${w.id} ${w.package}`), ["CVE-2019-1549 libcrypto1.1", "CVE-2019-1549 libssl1.1"]);
    assert.deepEqual(r.json.blocking.map((w: any) => `${w.id} ${w.package}`), ["CVE-2019-1551 libcrypto1.1", "CVE-2019-1551 libssl1.1"]);
  });

  it("GIVEN a config whose waivers file is missing WHEN gate THEN unusable, naming the file", async () => {
    const cwd = dirWith({ ".mirror/config.yml": configYaml({ range: "*", prerelease: false, prefix: "" }) });
    const r = await run(["gate", "--report", report("cargo.lock.json"), "--today", TODAY], { cwd });
    assert.equal(r.code, 2);
    assert.deepEqual(r.json.unusable, [".trivyignore.yaml: waivers file does not exist"]);
  });

  it("GIVEN debian-buster and the default policy WHEN gate --summary-out THEN this exact Markdown", async () => {
    const cwd = tmpDir();
    const r = await run(["gate", "--report", report("debian-buster.json"), "--today", TODAY, "--summary-out", "summary.md"], { cwd });
    assert.equal(r.code, 1);
    assert.equal(
      fs.readFileSync(path.join(cwd, "summary.md"), "utf8"),
      [
        "### Scan gate: BLOCKED",
        "",
        `Policy: block CRITICAL, HIGH findings, with or without a fix; waivers from none as of ${TODAY}.`,
        `Reports: \`${report("debian-buster.json")}\`.`,
        "",
        "#### Blocking findings (1)",
        "",
        "| Severity | ID | Package | Installed | Fixed in | Where |",
        "|---|---|---|---|---|---|",
        "| CRITICAL | `CVE-2019-18224` | `libidn2-0` | `2.0.5-1` | `2.0.5-1+deb10u1` | `testdata/fixtures/images/debian-buster.tar.gz (debian 10.1)` |",
        "",
        "#### Counts",
        "",
        "| | CRITICAL | HIGH | MEDIUM | LOW | UNKNOWN | total |",
        "|---|---:|---:|---:|---:|---:|---:|",
        "| findings | 1 | 0 | 0 | 1 | 0 | 2 |",
        "",
        "1 with a fix; 1 under the policy: 1 blocking, 0 waived. 2 occurrence(s) in 1 report(s); a finding seen in several places counts once.",
        "",
      ].join("\n"),
    );
  });

  it("GIVEN report text with table and markup characters WHEN summarised THEN it cannot break the table or mention anyone", async () => {
    const doc = JSON.parse(fs.readFileSync(report("debian-buster.json"), "utf8"));
    doc.Results[0].Target = "evil | <img src=x> @admin";
    doc.Results[0].Vulnerabilities[1].PkgName = "pkg`with|pipes";
    const cwd = dirWith({ "r.json": JSON.stringify(doc) });
    await run(["gate", "--report", "r.json", "--today", TODAY, "--summary-out", "s.md"], { cwd });
    const row = fs.readFileSync(path.join(cwd, "s.md"), "utf8").split("\n").find((l) => l.startsWith("| CRITICAL"));
    assert.equal(row, "| CRITICAL | `CVE-2019-18224` | `pkg'with\\|pipes` | `2.0.5-1` | `2.0.5-1+deb10u1` | `evil \\| <img src=x> @admin` |");
  });
});
