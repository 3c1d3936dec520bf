/**
 * The gate at scale: time and peak memory of `gate --scan-record` on
 * synthetic Trivy reports holding 10k, 100k and 1M occurrences (part of
 * `npm run bench`; alone: `tsx bench/gate.ts [--sizes 10000,100000,1000000]`).
 *
 * The reports are split as a scan writes them, one per platform plus the
 * source, at most REPORT_MAX occurrences each (a real report of an image is
 * far smaller); each finding is seen in 10 places (1M occurrences are 100k
 * distinct findings) or in 1000 (1k findings). Every size runs in a fresh process, so peak RSS is
 * the gate's own. Fails (exit 1) when a run crashes, leaves an unusable
 * gate.json, or does not block (every synthetic finding is HIGH and fixed).
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { MAX_LOCATIONS } from "../pipeline/lib/gate";
import { ociPlatforms } from "../pipeline/lib/oci";
import { platformSlug, scannedArtifact } from "../pipeline/lib/scan";

const REPORT_MAX = 100_000;
/** Places per finding: 10 (100k distinct findings in 1M occurrences) and 1000 (1k findings, each capped at MAX_LOCATIONS). */
const PLACES = [10, 1000];

export interface GateMeasure {
  occurrences: number;
  places: number;
  reports: number;
  findings: number;
  blocking: number;
  ms: number;
  peakRssMiB: number;
  gateJsonMiB: number;
  exit: number;
}

/** Writes the reports and scan.json for `n` occurrences into `dir`; returns the record's path. */
export function writeSyntheticScan(dir: string, n: number, places: number): string {
  const reports = Math.max(2, Math.ceil(n / REPORT_MAX));
  const per = Math.ceil(n / reports);
  const platforms: Array<Record<string, string>> = [];
  let written = 0;
  for (let r = 0; r < reports; r++) {
    const count = Math.min(per, n - written);
    // Real platform values: the gate refuses others (pipeline/lib/oci.ts ociPlatform).
    const platform = ociPlatforms()[r];
    if (platform === undefined) throw new Error(`bench/gate.ts: ${reports} reports need more platforms than the OCI spec has`);
    const digest = `sha256:${String(r).padStart(64, "0")}`;
    const name = r === reports - 1 ? "trivy-fs.json" : `trivy-image-${platformSlug(platform)}.json`;
    const fd = fs.openSync(path.join(dir, name), "w");
    const artifact = r === reports - 1 ? "upstream" : scannedArtifact(digest);
    fs.writeSync(fd, `{"SchemaVersion":2,"ArtifactName":"${artifact}","ArtifactType":"container_image","Results":[{"Target":"app","Class":"lang-pkgs","Type":"gomod","Vulnerabilities":[`);
    let chunk = "";
    for (let i = 0; i < count; i++) {
      const k = written + i;
      // Occurrence k is finding k / places, in place k % places.
      const f = Math.floor(k / places);
      chunk +=
        (i ? "," : "") +
        `{"VulnerabilityID":"CVE-2026-${100000 + (f % 900000)}","PkgName":"example.com/m${f}","PkgPath":"app/m${f}/p${k % places}/go.mod",` +
        `"InstalledVersion":"1.0.${f}","FixedVersion":"1.1.0","Status":"fixed","Severity":"HIGH","PkgIdentifier":{"PURL":"pkg:golang/example.com/m${f}@1.0.${f}"}}`;
      if (chunk.length > 1 << 20) {
        fs.writeSync(fd, chunk);
        chunk = "";
      }
    }
    fs.writeSync(fd, `${chunk}]}]}`);
    fs.closeSync(fd);
    written += count;
    if (name !== "trivy-fs.json") platforms.push({ platform, digest, report: name, sarif: "x.sarif", sbom: "x.cdx.json" });
  }
  const record = {
    schema: 1,
    kind: "build",
    image: { from: "image.tar", digest: `sha256:${"a".repeat(64)}`, mediaType: "application/vnd.oci.image.index.v1+json" },
    platforms,
    source: { path: "upstream", report: "trivy-fs.json", sarif: "trivy-fs.sarif", sbom: "sbom-fs.cdx.json" },
    trivy: { version: "0.74.0" },
    db: { version: 2, updatedAt: null, nextUpdate: null },
    suppressed: 0,
    complete: true,
  };
  const file = path.join(dir, "scan.json");
  fs.writeFileSync(file, JSON.stringify(record));
  return file;
}

/** One size, in a fresh process that only runs the gate: `tsx bench/gate.ts one N RECORD`. */
async function measureOne(n: number, places: number, record: string): Promise<GateMeasure> {
  const { main } = await import("../pipeline/main");
  const dir = path.dirname(record);
  {
    const out = path.join(dir, "gate.json");
    const fd = fs.openSync(out, "w");
    const t0 = process.hrtime.bigint();
    const exit = await main(["gate", "--scan-record", record, "--today", "2026-12-03", "--summary-out", path.join(dir, "gate-summary.md")], {
      env: {},
      cwd: dir,
      stdout: (t) => fs.writeSync(fd, t),
      stderr: () => undefined,
    });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    fs.closeSync(fd);
    const peakRssMiB = process.resourceUsage().maxRSS / 1024;
    const gateJsonMiB = fs.statSync(out).size / 2 ** 20;
    const g = JSON.parse(fs.readFileSync(out, "utf8")) as { decision: string; counts: { occurrences: number; findings: number; blocking: number }; reports: string[] };
    if (g.decision !== "block" || g.counts.occurrences !== n) throw new Error(`gate on ${n} occurrences: decision ${g.decision}, ${g.counts.occurrences} occurrences read`);
    return { occurrences: n, places, reports: g.reports.length, findings: g.counts.findings, blocking: g.counts.blocking, ms, peakRssMiB, gateJsonMiB, exit };
  }
}

export function gateBench(sizes: readonly number[], log: (t: string) => void = () => undefined): GateMeasure[] {
  return PLACES.flatMap((places) => sizes.map((n) => {
    log(`bench: gate on ${n} occurrences, ${places} per finding…\n`);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mirror-bench-gate-"));
    try {
      // The reports are written here, so the child's peak memory is the gate's alone.
      const record = writeSyntheticScan(dir, n, places);
      const r = spawnSync(process.execPath, ["--import", "tsx", __filename, "one", String(n), String(places), record], { encoding: "utf8", maxBuffer: 16 * 2 ** 20, timeout: 30 * 60_000 });
      if (r.status !== 0) throw new Error(`bench/gate.ts one ${n} failed (${r.status ?? r.signal}):\n${r.stderr.slice(-2000)}`);
      return JSON.parse(r.stdout.trim().split("\n").at(-1)!) as GateMeasure;
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }));
}

export function gateTable(rows: readonly GateMeasure[]): string {
  const f = (x: number, d = 0) => x.toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d });
  return [
    `The gate (\`gate --scan-record\`, one fresh process per size; synthetic reports, at most ${f(REPORT_MAX)} occurrences each, all HIGH with a fix; ` +
      `memory grows with the largest report and the distinct findings (at most ${MAX_LOCATIONS} places kept each), not with the number of occurrences):`,
    "",
    "| occurrences | places per finding | reports | distinct findings | blocking | time | peak RSS | gate.json |",
    "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ...rows.map((r) => `| ${f(r.occurrences)} | ${f(r.places)} | ${r.reports} | ${f(r.findings)} | ${f(r.blocking)} | ${f(r.ms / 1000, 2)} s | ${f(r.peakRssMiB)} MiB | ${f(r.gateJsonMiB, 1)} MiB |`),
  ].join("\n");
}

if (require.main === module) {
  if (process.argv[2] === "one") {
    measureOne(Number(process.argv[3]), Number(process.argv[4]), process.argv[5]).then(
      (m) => process.stdout.write(JSON.stringify(m) + "\n"),
      (e) => {
        process.stderr.write(`${(e as Error).stack}\n`);
        process.exitCode = 1;
      },
    );
  } else {
    const { values } = parseArgs({ args: process.argv.slice(2), strict: true, options: { sizes: { type: "string", default: "10000,100000,1000000" } } });
    const sizes = values.sizes!.split(",").map(Number);
    process.stdout.write(gateTable(gateBench(sizes, (t) => process.stderr.write(t))) + "\n");
  }
}
