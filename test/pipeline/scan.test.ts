/**
 * The scan record and what the gate does with it (issue 11 items 2-3, issue
 * 12 item 6, issue 13 item 5), without Trivy: the e2e runs the real scanner
 * (npm run e2e). Here: the OCI layout the scanner is given, a platform
 * without a report, the source switch, waivers that matched nothing, a
 * path-scoped waiver, and a report far past the old stack overflow.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { FleetConfigError, resolveFleet, type MirrorEntry } from "../../components/spec";
import type { StackSettings } from "../../components/types";
import { policy } from "../../infra/policy";
import { layoutImage, OCI_INDEX, OCI_MANIFEST, writeScanIndex } from "../../pipeline/lib/oci";
import { markWaived } from "../../pipeline/lib/scan";
import type { IgnoreEntry, Occurrence } from "../../pipeline/lib/trivy";
import { configYaml, run, tmpDir } from "../fixtures/pipeline/harness";

const TODAY = "2026-11-23";
const hex = (b: string) => createHash("sha256").update(b).digest("hex");

function vuln(id: string, pkg: string, pkgPath?: string, severity = "HIGH") {
  return { VulnerabilityID: id, PkgName: pkg, InstalledVersion: "1.0.0", FixedVersion: "1.0.1", Status: "fixed", Severity: severity, ...(pkgPath ? { PkgPath: pkgPath } : {}), PkgIdentifier: { PURL: `pkg:npm/${pkg}@1.0.0` } };
}

function reportJson(target: string, vulns: unknown[]): string {
  return JSON.stringify({ SchemaVersion: 2, ArtifactName: "x", ArtifactType: "container_image", Results: [{ Target: target, Vulnerabilities: vulns }] });
}

const D = (n: number) => `sha256:${String(n).repeat(64).slice(0, 64)}`;

/** A scan folder: reports by name, and scan.json listing `platforms` (a platform with report null has none). */
function scanDir(platforms: Record<string, string | null>, source: string | null | "skipped", files: Record<string, string>): string {
  const d = tmpDir();
  for (const [f, t] of Object.entries(files)) fs.writeFileSync(path.join(d, f), t);
  // Each platform's report names what Trivy scanned: that platform's manifest (image@<digest>).
  Object.values(platforms).forEach((r, i) => {
    if (r && fs.existsSync(path.join(d, r))) {
      const doc = JSON.parse(fs.readFileSync(path.join(d, r), "utf8"));
      fs.writeFileSync(path.join(d, r), JSON.stringify({ ...doc, ArtifactName: `image@${D(i + 1)}` }));
    }
  });
  const rec = {
    schema: 1,
    kind: "build",
    image: { from: "image.tar", digest: D(9), mediaType: OCI_INDEX },
    platforms: Object.entries(platforms).map(([p, r], i) => (r ? { platform: p, digest: D(i + 1), report: r, sarif: "a.sarif", sbom: "a.cdx.json" } : { platform: p, digest: D(i + 1), error: "trivy image failed: boom" })),
    source: source === "skipped" ? { skipped: "no --source given" } : source ? { path: "upstream", report: source, sarif: "s.sarif", sbom: "s.cdx.json" } : { path: "upstream", error: "trivy fs failed" },
    trivy: { version: "0.74.0" },
    db: { version: 2, updatedAt: "2026-11-23T00:00:00Z", nextUpdate: null },
    suppressed: 0,
    complete: true,
  };
  fs.writeFileSync(path.join(d, "scan.json"), JSON.stringify(rec));
  return d;
}

function withConfig(dir: string, scans?: string[], reason?: string): string {
  let yaml = configYaml({ range: "*", prerelease: false, prefix: "" }, { severities: ["CRITICAL", "HIGH"], fixedOnly: true, waivers: ".trivyignore.yaml" });
  if (scans) yaml = yaml.replace("  waivers: .trivyignore.yaml\n", `  waivers: .trivyignore.yaml\n  scans:\n${scans.map((s) => `    - ${s}\n`).join("")}${reason ? `  sourceOffReason: ${reason}\n` : ""}`);
  fs.mkdirSync(path.join(dir, ".mirror"), { recursive: true });
  fs.writeFileSync(path.join(dir, ".mirror/config.yml"), yaml);
  if (!fs.existsSync(path.join(dir, ".trivyignore.yaml"))) fs.writeFileSync(path.join(dir, ".trivyignore.yaml"), "vulnerabilities: []\n");
  return dir;
}

describe("scan layout: every platform manifest becomes a top-level entry Trivy can pick by digest", () => {
  it("GIVEN an index over amd64 and arm64 WHEN read and rewritten THEN index.json lists both manifests with their platforms", () => {
    const d = tmpDir();
    fs.mkdirSync(path.join(d, "blobs/sha256"), { recursive: true });
    const blob = (t: string) => {
      fs.writeFileSync(path.join(d, "blobs/sha256", hex(t)), t);
      return { digest: `sha256:${hex(t)}`, size: Buffer.byteLength(t) };
    };
    const man = (arch: string) => blob(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: blob(JSON.stringify({ os: "linux", architecture: arch })), layers: [] }));
    const a = man("amd64");
    const b = man("arm64");
    const idx = blob(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [{ mediaType: OCI_MANIFEST, ...a, platform: { os: "linux", architecture: "amd64" } }, { mediaType: OCI_MANIFEST, ...b, platform: { os: "linux", architecture: "arm64" } }] }));
    fs.writeFileSync(path.join(d, "index.json"), JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: OCI_INDEX, ...idx }] }));
    const image = layoutImage(d);
    assert.equal(image.digest, idx.digest);
    assert.deepEqual(image.platforms.map((p) => [p.platform, p.digest]), [["linux/amd64", a.digest], ["linux/arm64", b.digest]]);
    writeScanIndex(d, image);
    const top = JSON.parse(fs.readFileSync(path.join(d, "index.json"), "utf8")) as { manifests: Array<{ digest: string; platform: unknown }> };
    assert.deepEqual(top.manifests.map((m) => [m.digest, m.platform]), [[a.digest, { os: "linux", architecture: "amd64" }], [b.digest, { os: "linux", architecture: "arm64" }]]);
  });

  it("GIVEN an index entry without a platform WHEN read THEN it fails closed naming the entry", () => {
    const d = tmpDir();
    fs.mkdirSync(path.join(d, "blobs/sha256"), { recursive: true });
    const m = JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, layers: [] });
    fs.writeFileSync(path.join(d, "blobs/sha256", hex(m)), m);
    const i = JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [{ mediaType: OCI_MANIFEST, digest: `sha256:${hex(m)}`, size: m.length }] });
    fs.writeFileSync(path.join(d, "blobs/sha256", hex(i)), i);
    fs.writeFileSync(path.join(d, "index.json"), JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: OCI_INDEX, digest: `sha256:${hex(i)}`, size: i.length }] }));
    assert.throws(() => layoutImage(d), { message: `${d}: index sha256:${hex(i)} manifests[0] names no platform (os/architecture): it cannot be scanned as one` });
  });
});

describe("gate --scan-record", () => {
  const arm = reportJson("image (debian 12)", [vuln("CVE-1", "libarm"), vuln("CVE-2", "lodash", "app/node_modules/lodash/package.json")]);
  const amd = reportJson("image (debian 12)", [vuln("CVE-2", "lodash", "app/node_modules/lodash/package.json")]);
  const fs_ = reportJson("package-lock.json", [vuln("CVE-2", "lodash")]);

  it("GIVEN two platforms and the source WHEN gated THEN each finding is listed once with every place it was seen", async () => {
    const d = withConfig(scanDir({ "linux/amd64": "amd.json", "linux/arm64": "arm.json" }, "fs.json", { "amd.json": amd, "arm.json": arm, "fs.json": fs_ }));
    const r = await run(["gate", "--scan-record", "scan.json", "--today", TODAY], { cwd: d });
    assert.equal(r.code, 1, r.stderr);
    assert.deepEqual(r.json.blocking.map((f: any) => [f.id, f.places, f.locations]), [
      ["CVE-1", ["linux/arm64"], ["image (debian 12)"]],
      ["CVE-2", ["linux/amd64", "linux/arm64", "source"], ["app/node_modules/lodash/package.json", "package-lock.json"]],
    ]);
    assert.equal(r.json.counts.occurrences, 4);
    assert.deepEqual(r.json.scan, { record: "scan.json", digest: D(9), platforms: [{ platform: "linux/amd64", digest: D(1) }, { platform: "linux/arm64", digest: D(2) }], source: "upstream", trivy: "0.74.0", dbUpdatedAt: "2026-11-23T00:00:00Z" });
  });

  it("GIVEN a platform whose scan wrote no report WHEN gated THEN unusable input (exit 2), naming the platform, even with no finding elsewhere", async () => {
    const d = withConfig(scanDir({ "linux/amd64": "amd.json", "linux/arm64": null }, "fs.json", { "amd.json": reportJson("t", []), "fs.json": reportJson("t", []) }));
    const r = await run(["gate", "--scan-record", "scan.json", "--today", TODAY], { cwd: d });
    assert.equal(r.code, 2);
    assert.deepEqual(r.json.unusable, [`scan.json: platform linux/arm64 (${D(2)}) has no report: trivy image failed: boom`]);
    assert.equal(r.json.decision, "block");
  });

  it("GIVEN a record whose report file is missing WHEN gated THEN unusable (a listed report that is not there is no clean scan)", async () => {
    const d = withConfig(scanDir({ "linux/amd64": "amd.json" }, "fs.json", { "fs.json": reportJson("t", []) }));
    const r = await run(["gate", "--scan-record", "scan.json", "--today", TODAY], { cwd: d });
    assert.equal(r.code, 2);
    assert.deepEqual(r.json.unusable, ["amd.json: report does not exist (the scan did not write it)"]);
  });

  it("GIVEN no scan record WHEN gated THEN unusable, naming the file", async () => {
    const d = withConfig(tmpDir());
    const r = await run(["gate", "--scan-record", "audit/scan.json", "--today", TODAY], { cwd: d });
    assert.equal(r.code, 2);
    assert.deepEqual(r.json.unusable, ["audit/scan.json: scan record does not exist (the scan did not run or did not finish)"]);
  });

  it("GIVEN the source skipped while gate.scans includes source WHEN gated THEN unusable", async () => {
    const d = withConfig(scanDir({ "linux/amd64": "amd.json" }, "skipped", { "amd.json": reportJson("t", []) }));
    const r = await run(["gate", "--scan-record", "scan.json", "--today", TODAY], { cwd: d });
    assert.equal(r.code, 2);
    assert.deepEqual(r.json.unusable, ["scan.json: the source was not scanned (no --source given), but gate.scans includes source"]);
  });

  // Red team 2026-12-07: the gate passed (and said "scanned") while publish refused the build for its missing source report.
  it("GIVEN gate.scans [image] and a source scan that failed WHEN gated THEN unusable, as publish refuses it, and the record says it failed", async () => {
    const d = withConfig(scanDir({ "linux/amd64": "amd.json" }, null, { "amd.json": reportJson("t", []) }), ["image"], "dev-only lockfile entries never ship");
    const r = await run(["gate", "--scan-record", "scan.json", "--today", TODAY], { cwd: d });
    assert.equal(r.code, 2);
    assert.deepEqual(r.json.unusable, ["scan.json: the source upstream has no report: trivy fs failed"]);
    assert.equal(r.json.scan.source, "scan failed, not gating (dev-only lockfile entries never ship)");
  });

  it("GIVEN gate.scans [image] with a reason WHEN gated THEN a source-only finding does not block and the record says why", async () => {
    const d = withConfig(scanDir({ "linux/amd64": "amd.json" }, "fs.json", { "amd.json": reportJson("t", []), "fs.json": fs_ }), ["image"], "dev-only lockfile entries never ship");
    const r = await run(["gate", "--scan-record", "scan.json", "--today", TODAY], { cwd: d });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json.scan.source, "scanned, not gating (dev-only lockfile entries never ship)");
    assert.deepEqual(r.json.reports, ["amd.json"]);
  });
});

describe("gate: waivers that matched nothing, and path-scoped waivers (issue 13 item 5)", () => {
  const two = reportJson("app", [vuln("CVE-5", "lodash", "a/node_modules/lodash/package.json"), vuln("CVE-5", "lodash", "b/node_modules/lodash/package.json")]);

  it("GIVEN a waiver for an id no report has WHEN gated THEN it is listed in gate.json and the summary, and does not block", async () => {
    const d = tmpDir();
    fs.writeFileSync(path.join(d, "r.json"), reportJson("t", []));
    fs.writeFileSync(path.join(d, "w.yaml"), "vulnerabilities:\n  - id: CVE-2099-1\n    statement: gone long ago\n    expired_at: 2027-01-01\n");
    const r = await run(["gate", "--report", "r.json", "--waivers", "w.yaml", "--today", TODAY, "--summary-out", "s.md"], { cwd: d });
    assert.equal(r.code, 0);
    assert.deepEqual(r.json.unmatchedWaivers, [{ entry: 1, id: "CVE-2099-1", expiredAt: "2027-01-01", message: "waiver CVE-2099-1 (w.yaml, entry 1) matched no finding in 1 report(s): remove it if the finding is gone, or fix its paths or purls" }]);
    assert.match(fs.readFileSync(path.join(d, "s.md"), "utf8"), /#### Waivers that matched nothing\n\n.*\n\n- waiver CVE-2099-1 \\\(w\.yaml, entry 1\\\) matched no finding/);
  });

  it("GIVEN a waiver scoped to one of two paths WHEN gated THEN the finding blocks listing only the other path", async () => {
    const d = tmpDir();
    fs.writeFileSync(path.join(d, "r.json"), two);
    fs.writeFileSync(path.join(d, "w.yaml"), "vulnerabilities:\n  - id: CVE-5\n    paths: [\"a/**\"]\n    statement: s\n    expired_at: 2027-01-01\n");
    const r = await run(["gate", "--report", "r.json", "--waivers", "w.yaml", "--today", TODAY], { cwd: d });
    assert.equal(r.code, 1);
    assert.deepEqual(r.json.blocking.map((f: any) => f.locations), [["b/node_modules/lodash/package.json"]]);
    assert.deepEqual(r.json.unmatchedWaivers, []);
  });
});

describe("gate at scale (issue 12 item 6)", () => {
  it("GIVEN one report of 200,000 occurrences WHEN gated THEN it blocks with a usable gate.json (no 'Maximum call stack size exceeded')", async () => {
    const d = tmpDir();
    const parts: string[] = [];
    for (let i = 0; i < 200_000; i++) parts.push(JSON.stringify(vuln(`CVE-2026-${i % 2000}`, `p${i % 2000}`, `m/${i}/package.json`)));
    fs.writeFileSync(path.join(d, "big.json"), `{"SchemaVersion":2,"ArtifactName":"x","ArtifactType":"container_image","Results":[{"Target":"t","Vulnerabilities":[${parts.join(",")}]}]}`);
    const r = await run(["gate", "--report", "big.json", "--today", TODAY], { cwd: d });
    assert.equal(r.code, 1, r.stderr.slice(0, 500));
    assert.equal(r.json.counts.occurrences, 200_000);
    // 2000 findings, each in 100 places: 50 kept, the rest counted.
    assert.equal(r.json.blocking.length, 2000);
    assert.deepEqual([r.json.blocking[0].locations.length, r.json.blocking[0].moreLocations], [50, 50]);
  });
});

describe("gate.scans in the entry", () => {
  const settings: StackSettings = { owner: "acme-corp", registryNamespace: "acme-corp", visibility: "private", branchProtection: true, attestations: false };
  const entry = (gate: unknown): MirrorEntry => ({ file: "mirrors/x.ts", spec: { name: "x", upstream: { repo: "a/b" }, override: null, gate } as never });
  const resolve = (gate: unknown) => resolveFleet([entry(gate)], { policy, settings, readFile: () => "", today: new Date("2026-11-23T00:00:00Z") });
  const problems = (gate: unknown): readonly string[] => {
    try {
      resolve(gate);
    } catch (e) {
      if (e instanceof FleetConfigError) return e.problems;
      throw e;
    }
    return [];
  };

  it("GIVEN nothing WHEN resolved THEN both scans gate", () => {
    assert.deepEqual(resolve(undefined).mirrors[0].gate.scans, ["image", "source"]);
  });
  it("GIVEN source: false with a reason WHEN resolved THEN only the image gates, and the config says why", () => {
    const m = resolve({ scans: { source: false, reason: "the lockfile lists dev-only tools that never ship" } }).mirrors[0];
    assert.deepEqual([m.gate.scans, m.gate.sourceOffReason], [["image"], "the lockfile lists dev-only tools that never ship"]);
  });
  it("GIVEN source: false without a reason WHEN resolved THEN the entry is rejected, naming the field", () => {
    assert.deepEqual(problems({ scans: { source: false } }), [
      "mirrors/x.ts: gate.scans.reason: undefined is not allowed (allowed: a sentence of 20 characters or more saying why the source scan does not block)",
    ]);
  });
  it("GIVEN a reason while the source scan stays on WHEN resolved THEN rejected", () => {
    assert.deepEqual(problems({ scans: { source: true, reason: "a reason that changes nothing at all" } }), [
      "mirrors/x.ts: gate.scans.reason: only with source: false (allowed: remove it, or turn the source scan off)",
    ]);
  });
});

describe("scan: bad input", () => {
  const cases: Array<[string, string[], string]> = [
    ["no --out", ["--archive", "image.tar"], "scan: --out is required\n"],
    ["both --archive and --image", ["--archive", "a.tar", "--image", "ghcr.io/a/b", "--digest", D(1), "--out", "o"], "scan: give exactly one of --archive FILE or --image REF --digest DIGEST\n"],
    ["--image without --digest", ["--image", "ghcr.io/a/b", "--out", "o"], "scan: --digest null is not allowed (allowed: sha256:<64 hex>, with --image)\n"],
    ["a bad platform", ["--archive", "a.tar", "--out", "o", "--platforms", "linux/amd64,Linux"], 'scan: --platforms: "Linux" is not allowed (allowed: os/arch[/variant] from the OCI image index specification, e.g. linux/arm64)\n'],
  ];
  for (const [what, args, message] of cases) {
    it(`GIVEN ${what} WHEN scan THEN exit 2 with the usage`, async () => {
      const r = await run(["scan", ...args]);
      assert.equal(r.code, 2);
      assert.ok(r.stderr.startsWith(message), r.stderr);
      assert.ok(r.stderr.includes("usage: mirror-pipeline scan"));
    });
  }

  it("GIVEN a docker-archive instead of an OCI archive WHEN scan THEN exit 2 naming the file, and no Trivy runs", async () => {
    const d = tmpDir();
    // A tar with manifest.json only: what `docker save` writes.
    const { execFileSync } = await import("node:child_process");
    fs.writeFileSync(path.join(d, "manifest.json"), "[]");
    execFileSync("tar", ["-cf", path.join(d, "image.tar"), "-C", d, "manifest.json"]);
    const r = await run(["scan", "--archive", "image.tar", "--out", "audit", "--platforms", "linux/amd64"], { cwd: d, env: { PATH: "/nonexistent" } });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^scan: .*image\.tar: not an OCI image archive \(no oci-layout\)\n$/);
  });
});

// Red team 2026-12-07: a waiver scoped to one binary's path marked the same CVE in another binary as
// accepted (SARIF) and not_affected (CycloneDX), while the gate blocked on it.
describe("scan: the SARIF and SBOM marks follow the gate's waivers, place by place", () => {
  const occ = (target: string): Occurrence => ({ id: "CVE-2026-0001", severity: "HIGH", package: "golang.org/x/crypto", installed: "v0.1.0", fixed: "v0.2.0", target, purl: "pkg:golang/golang.org/x/crypto@v0.1.0", pkgPath: null, status: "fixed", fixable: true, title: null, report: "r.json", suppressedBy: null });
  const waiver: IgnoreEntry = { entry: 1, id: "CVE-2026-0001", paths: ["usr/bin/a"], purls: [], expiredAt: "2027-01-01", statement: "a never parses untrusted keys" };
  const files = () => {
    const d = tmpDir();
    const result = (uri: string) => ({ ruleId: "CVE-2026-0001", message: { text: "Package: golang.org/x/crypto\nInstalled Version: v0.1.0\nVulnerability CVE-2026-0001\n" }, locations: [{ physicalLocation: { artifactLocation: { uri } } }] });
    fs.writeFileSync(path.join(d, "s.sarif"), JSON.stringify({ runs: [{ results: [result("usr/bin/a"), result("usr/bin/b")] }] }));
    const purl = "pkg:golang/golang.org/x/crypto@v0.1.0";
    fs.writeFileSync(path.join(d, "s.cdx.json"), JSON.stringify({ components: [{ "bom-ref": "a", purl }, { "bom-ref": "b", purl }], vulnerabilities: [{ id: "CVE-2026-0001", affects: [{ ref: "a" }, { ref: "b" }] }] }));
    return d;
  };
  const read = (d: string) => ({
    sarif: JSON.parse(fs.readFileSync(path.join(d, "s.sarif"), "utf8")).runs[0].results.map((r: any) => r.suppressions?.[0]?.status ?? null),
    cdx: JSON.parse(fs.readFileSync(path.join(d, "s.cdx.json"), "utf8")).vulnerabilities[0].analysis ?? null,
  });

  it("GIVEN one CVE in two binaries and a waiver for one path WHEN marked THEN only that binary's result is suppressed, and the SBOM's vulnerability (one for both) is not", () => {
    const d = files();
    assert.equal(markWaived(path.join(d, "s.sarif"), path.join(d, "s.cdx.json"), [occ("usr/bin/a"), occ("usr/bin/b")], [waiver], new Map()), 1);
    assert.deepEqual(read(d), { sarif: ["accepted", null], cdx: null });
  });

  it("GIVEN both places waived WHEN marked THEN both results are suppressed, and the SBOM's vulnerability says what the VEX document says, no more", () => {
    const both = [{ ...waiver, paths: ["usr/bin/*"] }];
    for (const [vex, want] of [
      [new Map(), { state: "exploitable", response: ["will_not_fix"] }],
      [new Map([["CVE-2026-0001", { status: "not_affected" }]]), { state: "not_affected" }],
      [new Map([["CVE-2026-0001", { status: "not_affected", justification: "vulnerable_code_not_present" }]]), { state: "not_affected", justification: "code_not_present" }],
    ] as const) {
      const d = files();
      assert.equal(markWaived(path.join(d, "s.sarif"), path.join(d, "s.cdx.json"), [occ("usr/bin/a"), occ("usr/bin/b")], both, vex as never), 2);
      const { detail, ...analysis } = read(d).cdx;
      assert.deepEqual([read(d).sarif, analysis], [["accepted", "accepted"], want]);
      assert.match(detail, /^Waived \(\.trivyignore\.yaml entry 1, before 2027-01-01\): a never parses untrusted keys$/);
    }
  });
});
