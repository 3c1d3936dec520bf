/**
 * `sign`: the scan-gate predicate, what is signed and attested, and the
 * refusals before anything is signed. The key checks run the real cosign
 * (npm run engine:build -- cosign); signing into a real registry and
 * verifying runs in `npm run e2e`.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, describe, it } from "node:test";
import { COSIGN_SIGN_RELEASE } from "../../components/workflow/sign";
import type { Io } from "../../pipeline/cli";
import { main } from "../../pipeline/main";
import { readScanRecord } from "../../pipeline/lib/scan";
import { SCAN_GATE_PREDICATE_TYPE, scanGatePredicate, SignError, signPlan } from "../../pipeline/lib/sign";
import { toolPath, toolVersions } from "../support/tools";

const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), "sign-test-"));
after(() => fs.rmSync(tmpRoot, { recursive: true, force: true }));
let n = 0;
const tmp = () => fs.mkdtempSync(path.join(tmpRoot, `${n++}-`));
const hex = (b: string | Buffer) => createHash("sha256").update(b).digest("hex");

const IMAGE = "ghcr.io/acme/demo";
const INDEX = `sha256:${"a".repeat(64)}`;
const AMD = `sha256:${"b".repeat(64)}`;
const ARM = `sha256:${"c".repeat(64)}`;
const COMMIT = "1".repeat(40);

/** An audit folder as the build job leaves it: scan.json, every report, gate.json, the diff review. */
function audit(opts: { decision?: "pass" | "block"; gateDigest?: string; dropSbom?: boolean } = {}) {
  const dir = tmp();
  const write = (f: string, text: string) => fs.writeFileSync(path.join(dir, f), text);
  const platforms = [
    { platform: "linux/amd64", digest: AMD, slug: "linux-amd64" },
    { platform: "linux/arm64", digest: ARM, slug: "linux-arm64" },
  ];
  for (const p of platforms) {
    write(`trivy-image-${p.slug}.json`, `{"report":"${p.slug}"}`);
    write(`trivy-image-${p.slug}.sarif`, "{}");
    if (!(opts.dropSbom && p.slug === "linux-arm64")) write(`sbom-image-${p.slug}.cdx.json`, `{"bomFormat":"CycloneDX","serialNumber":"urn:uuid:${p.slug}"}`);
  }
  for (const f of ["trivy-fs.json", "trivy-fs.sarif", "sbom-fs.cdx.json"]) write(f, `{"f":"${f}"}`);
  write("scan.json", JSON.stringify({
    schema: 1,
    kind: "build",
    image: { from: "image.tar", digest: INDEX, mediaType: "application/vnd.oci.image.index.v1+json" },
    platforms: platforms.map((p) => ({ platform: p.platform, digest: p.digest, report: `trivy-image-${p.slug}.json`, sarif: `trivy-image-${p.slug}.sarif`, sbom: `sbom-image-${p.slug}.cdx.json` })),
    source: { path: "upstream", report: "trivy-fs.json", sarif: "trivy-fs.sarif", sbom: "sbom-fs.cdx.json" },
    trivy: { version: "0.74.0" },
    db: { version: 2, updatedAt: "2026-12-01T00:00:00Z", nextUpdate: null },
    suppressed: 1,
    complete: true,
  }));
  const waived = { id: "CVE-2026-1", severity: "HIGH", package: "p", installed: "1", statement: "not reachable: the CLI is not shipped", expiredAt: "2027-01-31" };
  write("gate.json", JSON.stringify({
    decision: opts.decision ?? "pass",
    unusable: [],
    blocking: opts.decision === "block" ? [{ ...waived, statement: undefined }] : [],
    waived: [waived, { ...waived, places: ["linux/arm64"] }],
    expiredWaivers: [],
    unmatchedWaivers: [],
    counts: { bySeverity: { CRITICAL: 0, HIGH: 1, MEDIUM: 0, LOW: 0, UNKNOWN: 0 } },
    policy: { severities: ["CRITICAL", "HIGH"], fixedOnly: false, today: "2026-12-04" },
    scan: { record: "scan.json", digest: opts.gateDigest ?? INDEX, platforms: [], source: "upstream", trivy: "0.74.0", dbUpdatedAt: "2026-12-01T00:00:00Z" },
    decidedAt: "2026-12-04T02:17:00.000Z",
  }));
  write("diff-review.md", "# review\n");
  write("diff.patch", "diff --git a/Dockerfile b/Dockerfile\n");
  return dir;
}

function predicateOf(dir: string) {
  const recordFile = path.join(dir, "scan.json");
  const gateFile = path.join(dir, "gate.json");
  return scanGatePredicate({
    image: IMAGE,
    digest: INDEX,
    record: readScanRecord(recordFile),
    recordDir: dir,
    recordFile,
    gate: JSON.parse(fs.readFileSync(gateFile, "utf8")),
    gateFile,
    upstream: { repo: "acme/demo", tag: "v1.1.0", commit: COMMIT },
    review: { summary: path.join(dir, "diff-review.md"), diff: path.join(dir, "diff.patch") },
    runUrl: null,
  });
}

describe("the scan-gate predicate", () => {
  it("GIVEN a passing gate of the pushed digest THEN every report is hashed, waivers carry reason and expiry once, Trivy, DB, upstream and the reviewed diff are named", () => {
    const dir = audit();
    const p = predicateOf(dir);
    assert.equal(p.decision, "pass");
    assert.deepEqual(p.image.platforms, [{ platform: "linux/amd64", digest: AMD }, { platform: "linux/arm64", digest: ARM }]);
    assert.deepEqual(p.reports.map((r) => [r.scan, r.report.name, r.report.sha256]), [
      ["linux/amd64", "trivy-image-linux-amd64.json", hex('{"report":"linux-amd64"}')],
      ["linux/arm64", "trivy-image-linux-arm64.json", hex('{"report":"linux-arm64"}')],
      ["source", "trivy-fs.json", hex('{"f":"trivy-fs.json"}')],
    ]);
    assert.deepEqual(p.waivers, [{ id: "CVE-2026-1", reason: "not reachable: the CLI is not shipped", expires: "2027-01-31" }]);
    assert.deepEqual(p.scanner, { name: "trivy", version: "0.74.0", db: { version: 2, updatedAt: "2026-12-01T00:00:00Z", nextUpdate: null } });
    assert.deepEqual(p.upstream, { repo: "acme/demo", tag: "v1.1.0", commit: COMMIT });
    assert.equal(p.review?.diff.sha256, hex("diff --git a/Dockerfile b/Dockerfile\n"));
    assert.equal(p.gate.result.sha256, hex(fs.readFileSync(path.join(dir, "gate.json"))));
    assert.deepEqual(p.gate.bySeverity, { CRITICAL: 0, HIGH: 1, MEDIUM: 0, LOW: 0, UNKNOWN: 0 });
    assert.deepEqual([p.scan, p.gate.decidedAt], ["build", "2026-12-04T02:17:00.000Z"]);
  });

  it("GIVEN a blocking gate, a gate of another digest, or a missing SBOM THEN SignError naming the file and nothing is signed", () => {
    assert.throws(() => predicateOf(audit({ decision: "block" })), (e) => e instanceof SignError && e.message === 'gate.json: decision "block" with 1 blocking finding(s): only a passing gate is attested; nothing was signed');
    assert.throws(() => predicateOf(audit({ gateDigest: AMD })), new SignError(`gate.json: scan.digest is "${AMD}", not the pushed ${INDEX}; nothing was signed`));
    assert.throws(() => predicateOf(audit({ dropSbom: true })), /^SignError: sbom-image-linux-arm64\.cdx\.json: cannot be read \(ENOENT\); nothing was signed$/);
  });
});

describe("the sign plan", () => {
  it("GIVEN a two-platform index THEN the index and both manifests are signed; each SBOM goes on its manifest and the index; the scan gate on all three", () => {
    const dir = audit();
    const plan = signPlan(IMAGE, readScanRecord(path.join(dir, "scan.json")), dir, "/p/scan-gate.json");
    assert.deepEqual(plan.subjects, [`${IMAGE}@${INDEX}`, `${IMAGE}@${AMD}`, `${IMAGE}@${ARM}`]);
    assert.deepEqual(plan.attestations.map((a) => [a.subject.split("@")[1].slice(7, 8), a.type, path.basename(a.predicate)]), [
      ["b", "cyclonedx", "sbom-image-linux-amd64.cdx.json"],
      ["a", "cyclonedx", "sbom-image-linux-amd64.cdx.json"],
      ["c", "cyclonedx", "sbom-image-linux-arm64.cdx.json"],
      ["a", "cyclonedx", "sbom-image-linux-arm64.cdx.json"],
      ["a", SCAN_GATE_PREDICATE_TYPE, "scan-gate.json"],
      ["b", SCAN_GATE_PREDICATE_TYPE, "scan-gate.json"],
      ["c", SCAN_GATE_PREDICATE_TYPE, "scan-gate.json"],
    ]);
  });
});

describe("sign: refusals before anything is signed (the real cosign)", () => {
  const cosign = toolPath("cosign");
  const keys = tmp();
  for (const pair of ["fleet", "other"]) {
    fs.mkdirSync(path.join(keys, pair));
    execFileSync(cosign, ["generate-key-pair"], { cwd: path.join(keys, pair), env: { PATH: process.env.PATH, HOME: keys, COSIGN_PASSWORD: "pw" }, stdio: "ignore" });
  }
  const run = async (dir: string, env: Record<string, string | undefined>) => {
    const out: string[] = [];
    const err: string[] = [];
    const io: Io = {
      env: { PATH: `${path.dirname(cosign)}:${process.env.PATH}`, HOME: keys, TMPDIR: dir, ...env },
      cwd: dir,
      stdout: (t) => void out.push(t),
      stderr: (t) => void err.push(t),
    };
    const code = await main(["sign", "--image", IMAGE, "--digest", INDEX, "--scan-record", "scan.json", "--gate-json", "gate.json", "--public-key", path.join(keys, "fleet", "cosign.pub"),
      "--tag", "v1.1.0", "--commit", COMMIT, "--review-file", "diff-review.md", "--diff-file", "diff.patch"], io);
    return { code, out: out.join(""), err: err.join("") };
  };
  const key = (pair: string) => fs.readFileSync(path.join(keys, pair, "cosign.key"), "utf8");

  it("GIVEN no COSIGN_PRIVATE_KEY (the mirror's secret is not set) THEN exit 1 naming the stack secret", async () => {
    const r = await run(audit(), { COSIGN_PASSWORD: "pw" });
    assert.equal(r.code, 1);
    assert.equal(r.err, "sign: COSIGN_PRIVATE_KEY is empty: the mirror's Actions secret is not set (stack secret mirror-fleet:cosignPrivateKey; README, Signing); nothing was signed\n");
  });

  it("GIVEN a private key that is not the pair of --public-key THEN exit 1 before anything is pushed", async () => {
    const r = await run(audit(), { COSIGN_PRIVATE_KEY: key("other"), COSIGN_PASSWORD: "pw" });
    assert.equal(r.code, 1, r.err);
    assert.match(r.err, /^sign: COSIGN_PRIVATE_KEY is not the pair of .*cosign\.pub: signatures made with it would not verify/);
    assert.equal(r.out, "");
  });

  it("GIVEN the right key and a wrong password THEN exit 2 with cosign's reason", async () => {
    const r = await run(audit(), { COSIGN_PRIVATE_KEY: key("fleet"), COSIGN_PASSWORD: "wrong" });
    assert.equal(r.code, 2);
    assert.match(r.err, /^sign: cosign public-key failed: .*decrypt/);
  });

  it("GIVEN a blocking gate THEN exit 1 and cosign never runs a signature", async () => {
    const r = await run(audit({ decision: "block" }), { COSIGN_PRIVATE_KEY: key("fleet"), COSIGN_PASSWORD: "pw" });
    assert.equal(r.code, 1);
    assert.equal(r.err, 'sign: gate.json: decision "block" with 1 blocking finding(s): only a passing gate is attested; nothing was signed\n');
  });

  it("GIVEN the workflow's cosign release THEN it is the version tools/versions.sh builds and the e2e verifies with", () => {
    assert.equal(COSIGN_SIGN_RELEASE, `v${toolVersions().cosign}`);
  });
});
