/**
 * What the e2e checks in every scan output: a report, a SARIF and a
 * CycloneDX file per platform (and for the source), the SARIF valid against
 * SARIF 2.1.0 and the SBOM against CycloneDX 1.6 (schemas read from
 * test/testdata/schemas, copied unchanged with their sources in its README),
 * findings exactly the planted advisories, and waived findings marked as
 * suppressed (SARIF) and not_affected (CycloneDX analysis).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import Ajv, { type ValidateFunction } from "ajv";
import addFormats from "ajv-formats";
import { check, fail } from "./harness";

export const PLATFORMS = ["linux/amd64", "linux/arm64"] as const;

/** The advisories test/e2e/fixtures/trivy-db* plant; the DB holds nothing else. */
export const PLANTED = {
  /** e2e-planted, a dpkg package only the arm64 image installs. */
  armOnly: "CVE-2026-90001",
  /** lodash 4.17.20: the upstream lockfile and the vendored package.json in both images. */
  lockfile: "CVE-2026-90002",
  build: ["CVE-2026-90001", "CVE-2026-90002"],
  /** Added to the DB after the pin: e2e-base, on every platform. */
  rescan: ["CVE-2026-90003"],
} as const;

/** Trivy's own environment for an offline run on the planted DB (the flags the brief names, as TRIVY_* variables). */
export function trivyEnv(cacheDir: string): Record<string, string> {
  return {
    TRIVY_CACHE_DIR: cacheDir,
    TRIVY_SKIP_DB_UPDATE: "true",
    TRIVY_SKIP_JAVA_DB_UPDATE: "true",
    TRIVY_OFFLINE_SCAN: "true",
    TRIVY_SKIP_VERSION_CHECK: "true",
    TRIVY_DISABLE_TELEMETRY: "true",
    TRIVY_NO_PROGRESS: "true",
  };
}

const SCHEMAS = path.resolve(__dirname, "..", "testdata", "schemas");

let validators: { sarif: ValidateFunction; cdx: ValidateFunction } | undefined;

function schema(name: string): Record<string, unknown> {
  const file = path.join(SCHEMAS, name);
  if (!fs.existsSync(file)) fail(`${file} is missing: the e2e validates against the published schemas in test/testdata/schemas`);
  return JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, unknown>;
}

function loadValidators(): { sarif: ValidateFunction; cdx: ValidateFunction } {
  if (validators) return validators;
  // SARIF's schema is draft-04 (`id`, no boolean exclusive bounds); Ajv reads it as draft-07 once the id is `$id`.
  const { id, $schema: _drop, ...sarif } = schema("sarif-schema-2.1.0.json");
  // ajv-formats has no validators for IRIs and internationalised e-mail (CycloneDX uses both): those two formats are not checked.
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: true, formats: { "iri-reference": true, iri: true, "idn-email": true } });
  addFormats(ajv);
  ajv.addSchema(schema("spdx.schema.json"));
  ajv.addSchema(schema("jsf-0.82.schema.json"));
  validators = { sarif: ajv.compile({ ...sarif, $id: String(id) }), cdx: ajv.compile(schema("bom-1.6.schema.json")) };
  return validators;
}

function validate(v: ValidateFunction, file: string, what: string): void {
  const doc = JSON.parse(fs.readFileSync(file, "utf8")) as unknown;
  if (!v(doc)) fail(`${file} is not valid ${what}: ${(v.errors ?? []).slice(0, 3).map((e) => `${e.instancePath} ${e.message}`).join("; ")}`);
}

interface Record_ {
  platforms: Array<{ platform: string; digest: string; report?: string; sarif?: string; sbom?: string }>;
  source: { report?: string; sarif?: string; sbom?: string } | { skipped: string };
  trivy: { version: string | null };
  db: { updatedAt: string | null };
  complete: boolean;
}

/**
 * Checks one scan folder against its record; returns the lines to print.
 * `waived`: the planted ids an active waiver covers, which must be marked in
 * SARIF and CycloneDX (and no other finding may be).
 */
export async function checkScanOutputs(dir: string, record: Record_, o: { platforms: readonly string[]; waived: readonly string[]; source?: boolean }): Promise<string[]> {
  const v = loadValidators();
  check(record.complete, `the scan record says the scan is incomplete: ${JSON.stringify(record.platforms.filter((p) => !p.report))}`);
  const covered = record.platforms.map((p) => p.platform).sort();
  check(JSON.stringify(covered) === JSON.stringify([...o.platforms].sort()), `the scan covered ${covered.join(", ")}, expected ${o.platforms.join(", ")}`);
  const lines: string[] = [];
  const parts: Array<{ name: string; report?: string; sarif?: string; sbom?: string }> = record.platforms.map((p) => ({ name: p.platform, ...p }));
  if (o.source !== false) {
    check(!("skipped" in record.source), "the source was not scanned");
    parts.push({ name: "source", ...(record.source as { report?: string }) });
  }
  const planted = new Set<string>([...PLANTED.build, ...PLANTED.rescan]);
  for (const p of parts) {
    for (const f of [p.report, p.sarif, p.sbom]) check(f && fs.existsSync(path.join(dir, f)), `${p.name}: ${f ?? "a file"} is missing in ${dir}`);
    const report = JSON.parse(fs.readFileSync(path.join(dir, p.report!), "utf8")) as { Results?: Array<{ Vulnerabilities?: Array<{ VulnerabilityID: string }> }> };
    const ids = [...new Set((report.Results ?? []).flatMap((r) => (r.Vulnerabilities ?? []).map((x) => x.VulnerabilityID)))].sort();
    const foreign = ids.filter((id) => !planted.has(id));
    check(foreign.length === 0, `${p.name}: Trivy found ${foreign.join(", ")}, which the e2e DB does not plant`);
    validate(v.sarif, path.join(dir, p.sarif!), "SARIF 2.1.0");
    validate(v.cdx, path.join(dir, p.sbom!), "CycloneDX 1.6");
    const sarif = JSON.parse(fs.readFileSync(path.join(dir, p.sarif!), "utf8")) as { runs: Array<{ results?: Array<{ ruleId: string; suppressions?: unknown[] }> }> };
    const results = sarif.runs.flatMap((r) => r.results ?? []);
    for (const r of results) {
      const want = o.waived.includes(r.ruleId);
      check(Boolean(r.suppressions?.length) === want, `${p.name}: SARIF result ${r.ruleId} is ${r.suppressions?.length ? "" : "not "}suppressed, expected ${want ? "suppressed (waived)" : "not suppressed"}`);
    }
    const bom = JSON.parse(fs.readFileSync(path.join(dir, p.sbom!), "utf8")) as { vulnerabilities?: Array<{ id: string; analysis?: { state?: string } }> };
    for (const x of bom.vulnerabilities ?? []) {
      const want = o.waived.includes(x.id);
      check((x.analysis?.state === "not_affected") === want, `${p.name}: CycloneDX ${x.id} analysis ${JSON.stringify(x.analysis ?? null)}, expected ${want ? "not_affected (waived)" : "none"}`);
    }
    const suppressed = results.filter((r) => r.suppressions?.length).length;
    lines.push(`${p.name}: ${ids.length ? ids.join(", ") : "no findings"} (planted: the DB holds nothing else); SARIF 2.1.0 and CycloneDX 1.6 valid; ${suppressed} of ${results.length} SARIF result(s) suppressed as waived`);
  }
  lines.push(`Trivy ${record.trivy.version}, DB of ${record.db.updatedAt}; every figure above counts planted advisories only`);
  return lines;
}
