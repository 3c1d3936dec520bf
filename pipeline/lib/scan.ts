/**
 * The scan: every platform of the image and the upstream source, by the real
 * Trivy, into one JSON report each (what the gate reads), SARIF and CycloneDX
 * made from those reports by `trivy convert` (no second scan), and a record
 * of exactly what was scanned. The record is what `gate` and `publish` trust:
 * a platform without a report fails the gate, and publish refuses an archive
 * whose index and platforms the record does not list (DESIGN invariant 1).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { DIGEST_PATTERN, isOciPlatform, layoutImage, verifyLayers, writeScanIndex, type LayoutImage } from "./oci";
import { entryMatches, isExpired, parsePurl, purlMatches, readTrivyReport, type IgnoreEntry, type Occurrence } from "./trivy";

export const SCAN_RECORD_SCHEMA = 1;

/** Runs `trivy` with these arguments (in `cwd` when given); resolves with stdout, rejects with a message quoting stderr. */
export type TrivyRunner = (args: readonly string[], cwd?: string) => Promise<string>;

export interface ScannedReport {
  /** JSON report, SARIF and CycloneDX, relative to the record's folder. */
  readonly report: string;
  readonly sarif: string;
  readonly sbom: string;
}

export interface PlatformScan extends Partial<ScannedReport> {
  readonly platform: string;
  /** The platform's manifest digest: what `--input LAYOUT@digest` scanned. */
  readonly digest: string;
  /** Why there is no report; absent when the scan succeeded. */
  readonly error?: string;
}

export interface ScanRecord {
  readonly schema: typeof SCAN_RECORD_SCHEMA;
  /** `build`: the archive the build job made; `rescan`: the pinned digest, pulled from the registry. */
  readonly kind: "build" | "rescan";
  readonly image: {
    /** The archive path or `image@digest` as given. */
    readonly from: string;
    /** The index digest (or the only manifest's): what is pushed and pinned. */
    readonly digest: string;
    readonly mediaType: string;
  };
  readonly platforms: readonly PlatformScan[];
  readonly source:
    | ({ readonly path: string; readonly error?: string } & Partial<ScannedReport>)
    | { readonly skipped: string };
  readonly trivy: { readonly version: string | null };
  /** The vulnerability DB the scans used (trivy version --format json), null when Trivy did not say. */
  readonly db: { readonly version: number | null; readonly updatedAt: string | null; readonly nextUpdate: string | null };
  /** Findings marked suppressed in SARIF and CycloneDX because an active waiver covers them. */
  readonly suppressed: number;
  /** True when every platform and the source (unless skipped) has its three files. */
  readonly complete: boolean;
}

/**
 * `linux/arm64/v8` -> `linux-arm64-v8`: a file name part. Only for the OCI
 * spec's platform values (pipeline/lib/oci.ts ociPlatform), whose parts are
 * lowercase letters and digits: `/` -> `-` is then one to one, and two
 * platforms can never share a report file.
 */
export function platformSlug(platform: string): string {
  if (!isOciPlatform(platform)) throw new Error(`platform ${JSON.stringify(platform).slice(0, 80)} is not an OCI platform value (os/architecture[/variant]); no report name is made for it`);
  return platform.replace(/\//g, "-");
}

/** What Trivy names a report of `--input image@<digest>` (pkg/fanal/image/archive.go: the --input as given). */
export function scannedArtifact(digest: string): string {
  return `image@${digest}`;
}

export interface ScanInput {
  readonly kind: ScanRecord["kind"];
  readonly from: string;
  /** An OCI layout the image was written to (extracted archive or skopeo copy). */
  readonly layout: string;
  /** Platforms the mirror builds (build.platforms): one the index lacks is a platform without a report. */
  readonly platforms?: readonly string[];
  /** The digest the caller expects at the top of the layout (the registry reference's digest); unchecked when absent. */
  readonly expectDigest?: string;
  /** The ref name in the layout's index.json (skopeo `oci:DIR:NAME`), when it holds several. */
  readonly layoutRef?: string;
  readonly out: string;
  /** Upstream source tree, or why it is not scanned. */
  readonly source: { readonly dir: string; readonly shown: string } | { readonly skipped: string };
  readonly waivers: readonly IgnoreEntry[];
  readonly vex: VexStatus;
  readonly today: string;
  readonly trivy: TrivyRunner;
  readonly log: (line: string) => void;
}

const COMMON = ["--scanners", "vuln", "--list-all-pkgs", "--timeout", "20m", "--format", "json"];

export async function scan(input: ScanInput): Promise<ScanRecord> {
  const { out, log } = input;
  fs.mkdirSync(out, { recursive: true });
  const image: LayoutImage = layoutImage(input.layout, input.layoutRef);
  if (input.expectDigest !== undefined && image.digest !== input.expectDigest) {
    throw new Error(`${input.from}: the layout holds ${image.digest}, not ${input.expectDigest}; nothing was scanned`);
  }
  // Trivy splits --input at the first '@' (or ':'), and names OS results after
  // the input: scanned from the layout's parent as `image@<digest>`, the
  // report says which platform manifest it read, not a temporary path.
  if (path.basename(input.layout) !== "image") throw new Error(`the scan layout must be a folder named image (got ${input.layout})`);
  await verifyLayers(input.layout, image);
  writeScanIndex(input.layout, image);

  const active = input.waivers.filter((w) => !isExpired(w, input.today));
  let suppressed = 0;
  const convert = async (base: string, report: string): Promise<ScannedReport> => {
    const sarif = `${base}.sarif`;
    const sbom = `${base.replace(/^trivy-/, "sbom-")}.cdx.json`;
    await input.trivy(["convert", "--format", "sarif", "--output", path.join(out, sarif), path.join(out, report)]);
    await input.trivy(["convert", "--format", "cyclonedx", "--output", path.join(out, sbom), path.join(out, report)]);
    const occ = readTrivyReport(path.join(out, report), report);
    suppressed += markWaived(path.join(out, sarif), path.join(out, sbom), occ, active, input.vex);
    return { report, sarif, sbom };
  };

  const platforms: PlatformScan[] = [];
  const names = new Set<string>();
  for (const p of image.platforms) {
    const base = `trivy-image-${platformSlug(p.platform)}`;
    // One file per platform: a second scan must never overwrite the first's report.
    if (names.has(base)) throw new Error(`${input.from}: two platforms would share the report ${base}.json; nothing was scanned`);
    names.add(base);
    const report = `${base}.json`;
    log(`scanning ${p.platform} (${p.digest})`);
    try {
      await input.trivy(["image", ...COMMON, "--output", path.join(out, report), "--input", scannedArtifact(p.digest)], path.dirname(input.layout));
      platforms.push({ platform: p.platform, digest: p.digest, ...(await convert(base, report)) });
    } catch (e) {
      log(`${p.platform}: no report: ${(e as Error).message}`);
      platforms.push({ platform: p.platform, digest: p.digest, error: (e as Error).message });
    }
  }

  let source: ScanRecord["source"];
  if ("skipped" in input.source) source = { skipped: input.source.skipped };
  else {
    log(`scanning the source ${input.source.shown}`);
    try {
      await input.trivy(["fs", ...COMMON, "--output", path.join(out, "trivy-fs.json"), input.source.dir]);
      source = { path: input.source.shown, ...(await convert("trivy-fs", "trivy-fs.json")) };
    } catch (e) {
      log(`source: no report: ${(e as Error).message}`);
      source = { path: input.source.shown, error: (e as Error).message };
    }
  }

  let version: string | null = null;
  let db: ScanRecord["db"] = { version: null, updatedAt: null, nextUpdate: null };
  try {
    const v = JSON.parse(await input.trivy(["version", "--format", "json"])) as {
      Version?: unknown;
      VulnerabilityDB?: { Version?: unknown; UpdatedAt?: unknown; NextUpdate?: unknown };
    };
    version = typeof v.Version === "string" ? v.Version : null;
    const d = v.VulnerabilityDB;
    db = {
      version: typeof d?.Version === "number" ? d.Version : null,
      updatedAt: typeof d?.UpdatedAt === "string" ? d.UpdatedAt : null,
      nextUpdate: typeof d?.NextUpdate === "string" ? d.NextUpdate : null,
    };
  } catch (e) {
    log(`trivy version: ${(e as Error).message}`);
  }

  for (const want of input.platforms ?? []) {
    if (!image.platforms.some((p) => p.platform === want)) {
      log(`${want}: the image has no manifest for it`);
      platforms.push({ platform: want, digest: `sha256:${"0".repeat(64)}`, error: `the image index has no ${want} manifest (build.platforms lists it)` });
    }
  }
  const complete = platforms.every((p) => p.report !== undefined) && ("skipped" in source || source.report !== undefined);
  const record: ScanRecord = {
    schema: SCAN_RECORD_SCHEMA,
    kind: input.kind,
    image: { from: input.from, digest: image.digest, mediaType: image.mediaType },
    platforms,
    source,
    trivy: { version },
    db,
    suppressed,
    complete,
  };
  fs.writeFileSync(path.join(out, "scan.json"), JSON.stringify(record, null, 2) + "\n");
  return record;
}

// ---------------------------------------------------------------------------
// Reading the record back (gate, publish): fail closed on anything unexpected.

export class ScanRecordError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ScanRecordError";
  }
}

export function readScanRecord(file: string, shown = file): ScanRecord {
  let doc: unknown;
  try {
    doc = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ScanRecordError(
      code === "ENOENT" ? `${shown}: scan record does not exist (the scan did not run or did not finish)` : `${shown}: scan record is not readable JSON (${code ?? (e as Error).message})`,
    );
  }
  const r = doc as Partial<ScanRecord>;
  const bad = (what: string): never => {
    throw new ScanRecordError(`${shown}: ${what}`);
  };
  if (!r || typeof r !== "object" || r.schema !== SCAN_RECORD_SCHEMA) bad(`schema is ${JSON.stringify(r?.schema ?? null)} (allowed: ${SCAN_RECORD_SCHEMA})`);
  if (r.kind !== "build" && r.kind !== "rescan") bad(`kind is ${JSON.stringify(r.kind ?? null)} (allowed: build, rescan)`);
  if (!r.image || !DIGEST_PATTERN.test(String(r.image.digest))) bad("image.digest is not sha256:<64 hex>");
  if (!Array.isArray(r.platforms) || r.platforms.length === 0) bad("platforms: no platform was scanned");
  for (const [i, p] of r.platforms!.entries()) {
    if (typeof p?.platform !== "string" || !DIGEST_PATTERN.test(String(p?.digest))) bad(`platforms[${i}]: no platform and manifest digest`);
    if (!isOciPlatform(p.platform)) bad(`platforms[${i}]: ${JSON.stringify(p.platform).slice(0, 80)} is not an OCI platform (allowed: os/architecture[/variant] from the OCI image index specification)`);
  }
  const seen = r.platforms!.map((p) => p.platform);
  const twice = seen.find((p, i) => seen.indexOf(p) !== i);
  if (twice !== undefined) bad(`platforms: ${twice} is listed twice`);
  const reports = r.platforms!.map((p) => p.report).filter((x) => x !== undefined);
  const shared = reports.find((x, i) => reports.indexOf(x) !== i);
  if (shared !== undefined) bad(`platforms: two platforms name the same report ${JSON.stringify(shared)}`);
  if (!r.source || typeof r.source !== "object") bad("source: missing");
  return r as ScanRecord;
}

/** What the gate reads from a record: the reports to read, and what is missing (unusable input). */
export interface RecordReport {
  readonly file: string;
  readonly shown: string;
  readonly place: string;
  /** The ArtifactName the report must carry: a platform's report is of that platform's manifest digest. */
  readonly artifact?: string;
}

export function recordReports(record: ScanRecord, recordFile: string, shown: string, wantSource: boolean): { reports: RecordReport[]; missing: string[] } {
  const dir = path.dirname(recordFile);
  const shownDir = path.dirname(shown);
  const reports: RecordReport[] = [];
  const missing: string[] = [];
  const rel = (f: string) => (shownDir === "." ? f : `${shownDir}/${f}`);
  for (const p of record.platforms) {
    if (p.report === undefined || !safeName(p.report)) missing.push(`${shown}: platform ${p.platform} (${p.digest}) has no report${p.error ? `: ${oneLine(p.error)}` : ""}`);
    else reports.push({ file: path.join(dir, p.report), shown: rel(p.report), place: p.platform, artifact: scannedArtifact(p.digest) });
  }
  if ("skipped" in record.source) {
    if (wantSource && record.kind === "build") missing.push(`${shown}: the source was not scanned (${oneLine(record.source.skipped)}), but gate.scans includes source`);
  } else if (record.source.report === undefined || !safeName(record.source.report)) {
    // Also where the source does not gate: a build whose source scan failed is not published
    // (publish checkScanned), so the gate must not pass it either (red team 2026-12-07).
    if (wantSource || record.kind === "build") missing.push(`${shown}: the source ${record.source.path} has no report${record.source.error ? `: ${oneLine(record.source.error)}` : ""}`);
  } else if (wantSource) reports.push({ file: path.join(dir, record.source.report), shown: rel(record.source.report), place: "source" });
  return { reports, missing };
}

/** Report names in a record are plain file names next to it, never paths elsewhere. */
function safeName(f: string): boolean {
  return /^[A-Za-z0-9._-]+$/.test(f) && !f.startsWith(".");
}

function oneLine(s: string): string {
  return s.replace(/\s+/g, " ").slice(0, 300);
}

// ---------------------------------------------------------------------------
// Waived findings in SARIF and CycloneDX. Trivy 0.74.0 cannot mark them: its
// SARIF writer has no `suppressions` and drops what --ignorefile or --vex
// filtered (pkg/report/sarif.go), and its CycloneDX leaves them out, so the
// Security tab would show nothing where the gate shows "waived". So the
// reports are converted unfiltered and the findings an active waiver covers
// are marked here, with the same matching the gate uses (entryMatches).

/** OpenVEX status and justification per vulnerability id, from the mirror's waivers document. */
export type VexStatus = ReadonlyMap<string, { readonly status: string; readonly justification?: string }>;

export function readVexStatus(file: string | undefined): VexStatus {
  const out = new Map<string, { status: string; justification?: string }>();
  if (file === undefined || !fs.existsSync(file)) return out;
  const doc = JSON.parse(fs.readFileSync(file, "utf8")) as { statements?: Array<{ vulnerability?: { name?: string }; status?: string; justification?: string }> };
  for (const s of doc.statements ?? []) {
    if (typeof s.vulnerability?.name === "string" && typeof s.status === "string") {
      out.set(s.vulnerability.name, { status: s.status, ...(s.justification ? { justification: s.justification } : {}) });
    }
  }
  return out;
}

/** OpenVEX justifications as CycloneDX 1.6 analysis justifications. */
const CDX_JUSTIFICATION: Readonly<Record<string, string>> = {
  component_not_present: "requires_dependency",
  vulnerable_code_not_present: "code_not_present",
  vulnerable_code_not_in_execute_path: "code_not_reachable",
  vulnerable_code_cannot_be_controlled_by_adversary: "protected_by_mitigating_control",
  inline_mitigations_already_exist: "protected_by_mitigating_control",
};

function waiverFor(o: Occurrence, active: readonly IgnoreEntry[]): IgnoreEntry | undefined {
  return active.find((w) => entryMatches(w, o));
}

function justification(w: IgnoreEntry): string {
  return `Waived (.trivyignore.yaml entry ${w.entry}${w.expiredAt ? `, before ${w.expiredAt}` : ""})${w.statement ? `: ${w.statement}` : ""}`;
}

/** Marks the waived findings in place; returns how many SARIF results it marked. */
export function markWaived(sarifFile: string, sbomFile: string, occurrences: readonly Occurrence[], active: readonly IgnoreEntry[], vex: VexStatus): number {
  if (!occurrences.some((o) => waiverFor(o, active) !== undefined)) return 0;
  let marked = 0;

  // SARIF: ruleId is the vulnerability id; the message names package and version; the location is the Target or PkgPath.
  const sarif = JSON.parse(fs.readFileSync(sarifFile, "utf8")) as { runs?: Array<{ results?: Array<Record<string, unknown>> }> };
  for (const run of sarif.runs ?? []) {
    for (const r of run.results ?? []) {
      const text = String((r.message as { text?: unknown } | undefined)?.text ?? "");
      const uris = ((r.locations as Array<{ physicalLocation?: { artifactLocation?: { uri?: string } } }> | undefined) ?? []).map((l) => l.physicalLocation?.artifactLocation?.uri ?? "");
      // Every finding this result may stand for, waived or not: it is marked only when all are
      // waived, so a path-scoped waiver never marks the place it does not cover (red team 2026-12-07).
      const same = occurrences.filter((o) => r.ruleId === o.id && text.includes(`Package: ${o.package}\n`) && text.includes(`Installed Version: ${o.installed}\n`));
      const located = same.filter((o) => uris.some((u) => u === o.target || (o.pkgPath !== null && (u === o.pkgPath || u.endsWith(`/${o.pkgPath}`)))));
      // Trivy locates an OS package at `library/<image>`, not at its Target: package and version name it.
      const candidates = located.length > 0 ? located : same;
      const by = candidates.map((o) => waiverFor(o, active));
      if (by.length === 0 || by.some((w) => w === undefined)) continue;
      r.suppressions = [{ kind: "external", status: "accepted", justification: justification(by[0]!) }];
      marked++;
    }
  }
  fs.writeFileSync(sarifFile, JSON.stringify(sarif, null, 2) + "\n");

  // CycloneDX: one vulnerability per id, affecting components by bom-ref; marked only when every affected component is waived.
  const bom = JSON.parse(fs.readFileSync(sbomFile, "utf8")) as {
    components?: Array<{ "bom-ref"?: string; purl?: string }>;
    vulnerabilities?: Array<{ id?: string; affects?: Array<{ ref?: string }>; analysis?: unknown }>;
  };
  const purlOf = new Map((bom.components ?? []).map((c) => [c["bom-ref"], c.purl]));
  for (const v of bom.vulnerabilities ?? []) {
    const refs = (v.affects ?? []).map((a) => a.ref);
    // As for SARIF: each affected component's findings (by id and purl) must all be waived; two copies
    // of one package version share a purl, and a waiver scoped to the path of one does not cover the other.
    const covering = refs.map((ref) => {
      const p = purlOf.get(ref) ?? ref;
      const target = p ? parsePurl(p) : undefined;
      const by = occurrences.filter((o) => o.id === v.id && o.purl !== null && target !== undefined && purlMatches(parsePurl(o.purl)!, target)).map((o) => waiverFor(o, active));
      return by.length > 0 && by.every((w) => w !== undefined) ? by[0] : undefined;
    });
    if (refs.length === 0 || covering.some((c) => c === undefined)) continue;
    const w = covering[0]!;
    const s = vex.get(v.id ?? "");
    // not_affected only where the mirror's VEX document says so, with its justification when it gives
    // one; a waiver with no such statement is an accepted risk.
    v.analysis =
      s?.status === "not_affected"
        ? { state: "not_affected", ...(s.justification && CDX_JUSTIFICATION[s.justification] ? { justification: CDX_JUSTIFICATION[s.justification] } : {}), detail: justification(w) }
        : { state: "exploitable", response: ["will_not_fix"], detail: justification(w) };
  }
  fs.writeFileSync(sbomFile, JSON.stringify(bom, null, 2) + "\n");
  return marked;
}
