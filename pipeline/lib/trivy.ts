/**
 * Reading Trivy's output and Trivy's waivers file, failing closed: a report
 * that is missing, empty, not JSON, not schema v2, or carries a severity or
 * status this code does not know is unusable, never "no findings" (DESIGN
 * invariant 2). Every problem names the file and the place in it.
 */
import * as fs from "node:fs";
import { SEVERITIES, type Severity } from "../../contract";
import { doublestarMatch, validatePattern } from "./doublestar";
import { parseYaml } from "./yaml";

/** Trivy's vulnerability statuses (pkg/types, dbTypes.Status). */
export const STATUSES = ["unknown", "not_affected", "affected", "fixed", "under_investigation", "will_not_fix", "fix_deferred", "end_of_life"] as const;

/** One vulnerability as one report lists it in one place. */
export interface Occurrence {
  readonly id: string;
  readonly severity: Severity;
  readonly package: string;
  readonly installed: string;
  /** FixedVersion, or null when the report gives none. */
  readonly fixed: string | null;
  /** The Result's Target (an image layer's OS, `go.mod`, `Node.js`, a binary path). */
  readonly target: string;
  readonly purl: string | null;
  /** PkgPath: where a language package sits in the image, when Trivy knows it. */
  readonly pkgPath: string | null;
  readonly status: string | null;
  /** Has a fix: Status `fixed`, or no Status and a FixedVersion. */
  readonly fixable: boolean;
  readonly title: string | null;
  /** The report file it came from, as named on the command line. */
  readonly report: string;
  /** Set when the scanner itself suppressed it (ExperimentalModifiedFindings): the source it named. */
  readonly suppressedBy: string | null;
}

/** Input the gate cannot use; the message says which file and why. */
export class UnusableInput extends Error {
  constructor(readonly problems: readonly string[]) {
    super(problems.join("\n"));
    this.name = "UnusableInput";
  }
}

/** The most problems reported per file: past that, one more line says how many were left out. */
const MAX_PROBLEMS = 20;

/** `artifact`: the ArtifactName the report must carry (what was scanned), when the caller knows it. */
export function readTrivyReport(file: string, shown = file, artifact?: string): Occurrence[] {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UnusableInput([code === "ENOENT" ? `${shown}: report does not exist (the scan did not write it)` : `${shown}: report cannot be read (${code ?? (e as Error).message})`]);
  }
  return parseTrivyReport(text, shown, artifact);
}

export function parseTrivyReport(text: string, shown: string, artifact?: string): Occurrence[] {
  if (text.trim() === "") throw new UnusableInput([`${shown}: report is empty (a scan that wrote nothing is not a clean scan)`]);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new UnusableInput([`${shown}: report is not JSON (${(e as Error).message})`]);
  }
  if (Array.isArray(doc)) {
    throw new UnusableInput([
      `${shown}: legacy Trivy JSON format (a top-level array, from before SchemaVersion 2) is not read: ` +
        `its findings would be counted wrongly; scan again with a current Trivy (--format json writes SchemaVersion 2)`,
    ]);
  }
  if (!isObj(doc)) throw new UnusableInput([`${shown}: not a Trivy JSON report (expected an object with SchemaVersion 2)`]);
  if (doc.bomFormat !== undefined) throw new UnusableInput([`${shown}: a ${plain(String(doc.bomFormat))} document, not a Trivy JSON report (scan with --format json)`]);
  if (doc.SchemaVersion !== 2) {
    throw new UnusableInput([
      doc.SchemaVersion === undefined
        ? `${shown}: not a Trivy JSON report (no SchemaVersion; scan with --format json)`
        : `${shown}: SchemaVersion ${JSON.stringify(doc.SchemaVersion)} is not supported (allowed: 2)`,
    ]);
  }
  if (typeof doc.ArtifactName !== "string" || typeof doc.ArtifactType !== "string") {
    throw new UnusableInput([`${shown}: not a Trivy JSON report (ArtifactName and ArtifactType are missing)`]);
  }
  if (artifact !== undefined && doc.ArtifactName !== artifact) {
    throw new UnusableInput([`${shown}: the report is of ${plain(doc.ArtifactName)}, not of ${artifact}: it is not this platform's scan`]);
  }
  // Trivy omits Results when it detected nothing at all; anything else must be a list.
  const results = doc.Results === undefined ? [] : doc.Results;
  if (!Array.isArray(results)) throw new UnusableInput([`${shown}: Results is ${JSON.stringify(results)} (allowed: a list)`]);

  const problems: string[] = [];
  const out: Occurrence[] = [];
  results.forEach((r, i) => {
    const at = `Results[${i}]`;
    if (!isObj(r) || typeof r.Target !== "string") {
      problems.push(`${shown}: ${at}: not a result with a Target`);
      return;
    }
    for (const [field, suppressed] of [["Vulnerabilities", false], ["ExperimentalModifiedFindings", true]] as const) {
      const list = r[field];
      if (list === undefined || list === null) continue;
      if (!Array.isArray(list)) {
        problems.push(`${shown}: ${at}.${field}: ${JSON.stringify(list).slice(0, 60)} is not a list`);
        continue;
      }
      list.forEach((item, j) => {
        const here = `${at}.${field}[${j}]`;
        if (suppressed) {
          // A suppressed finding is judged again against our waivers. The scans run with
          // `--scanners vuln`, so Trivy writes only Type "vulnerability" (pkg/types/finding.go
          // FindingTypeVulnerability); any other Type, or a near miss such as "Vulnerability",
          // is a report this gate does not understand, never a finding to drop.
          if (!isObj(item)) {
            problems.push(`${shown}: ${here}: not a suppressed finding (expected an object with Type and Finding)`);
            return;
          }
          if (item.Type !== "vulnerability") {
            problems.push(`${shown}: ${here}.Type: ${JSON.stringify(item.Type ?? null).slice(0, 60)} is not allowed (allowed: vulnerability; the scans run with --scanners vuln)`);
            return;
          }
          const o = occurrence(item.Finding, `${here}.Finding`, r.Target as string, shown, problems, typeof item.Source === "string" ? item.Source : "the scanner");
          if (o) out.push(o);
          return;
        }
        const o = occurrence(item, here, r.Target as string, shown, problems, null);
        if (o) out.push(o);
      });
    }
  });
  if (problems.length > 0) {
    const shownProblems = problems.slice(0, MAX_PROBLEMS);
    if (problems.length > MAX_PROBLEMS) shownProblems.push(`${shown}: … and ${problems.length - MAX_PROBLEMS} more problems`);
    throw new UnusableInput(shownProblems);
  }
  return out;
}

function occurrence(v: unknown, at: string, target: string, shown: string, problems: string[], suppressedBy: string | null): Occurrence | undefined {
  if (!isObj(v) || typeof v.VulnerabilityID !== "string" || v.VulnerabilityID === "") {
    problems.push(`${shown}: ${at}: not a vulnerability (no VulnerabilityID)`);
    return undefined;
  }
  const id = v.VulnerabilityID;
  // Report text in a message: quoted unless plain, so no line break (or `::` workflow command) gets through.
  const name = `${at} (${plain(id)})`;
  const before = problems.length;
  if (typeof v.PkgName !== "string" || v.PkgName === "") problems.push(`${shown}: ${name}: PkgName is missing`);
  if (!(SEVERITIES as readonly unknown[]).includes(v.Severity)) {
    problems.push(`${shown}: ${name}: unknown severity ${JSON.stringify(v.Severity ?? null)} (allowed: ${SEVERITIES.join(", ")})`);
  }
  const status = v.Status === undefined || v.Status === "" ? null : v.Status;
  if (status !== null && !(STATUSES as readonly unknown[]).includes(status)) {
    problems.push(`${shown}: ${name}: unknown status ${JSON.stringify(status)} (allowed: ${STATUSES.join(", ")})`);
  }
  for (const f of ["InstalledVersion", "FixedVersion", "PkgPath", "Title"] as const) {
    if (v[f] !== undefined && typeof v[f] !== "string") problems.push(`${shown}: ${name}: ${f} is not a string`);
  }
  const ident = v.PkgIdentifier;
  const purl = isObj(ident) && typeof ident.PURL === "string" && ident.PURL !== "" ? ident.PURL : null;
  if (problems.length > before) return undefined;
  const fixed = typeof v.FixedVersion === "string" && v.FixedVersion.trim() !== "" ? v.FixedVersion : null;
  return {
    id,
    severity: v.Severity as Severity,
    package: v.PkgName as string,
    installed: (v.InstalledVersion as string | undefined) ?? "",
    fixed,
    target,
    purl,
    pkgPath: typeof v.PkgPath === "string" && v.PkgPath !== "" ? v.PkgPath : null,
    status: status as string | null,
    fixable: status === "fixed" || (status === null && fixed !== null),
    title: typeof v.Title === "string" ? v.Title : null,
    report: shown,
    suppressedBy,
  };
}

// ---------------------------------------------------------------------------
// Waivers: Trivy's `.trivyignore.yaml`.

export interface IgnoreEntry {
  /** Position in the file's `vulnerabilities` list, from 1, for messages. */
  readonly entry: number;
  readonly id: string;
  /** Glob patterns (doublestar syntax), matched against the Target and the PkgPath. */
  readonly paths: readonly string[];
  readonly purls: readonly string[];
  /** YYYY-MM-DD; from that day on the entry no longer applies (Trivy: expired when before now). */
  readonly expiredAt: string;
  readonly statement: string;
}

const ENTRY_KEYS = ["id", "paths", "purls", "expired_at", "statement"];
const FILE_KEYS = ["vulnerabilities", "misconfigurations", "secrets", "licenses"];

export function readIgnoreFile(file: string, shown = file): IgnoreEntry[] {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UnusableInput([code === "ENOENT" ? `${shown}: waivers file does not exist` : `${shown}: waivers file cannot be read (${code ?? (e as Error).message})`]);
  }
  return parseIgnoreFile(text, shown);
}

/**
 * Stricter than Trivy in one way on purpose: an unknown key is an error.
 * Trivy ignores it, so a typo such as `expires_at` would silently make a
 * waiver permanent.
 */
export function parseIgnoreFile(text: string, shown: string): IgnoreEntry[] {
  let doc: unknown;
  try {
    doc = parseYaml(text, shown);
  } catch (e) {
    throw new UnusableInput([`waivers file is not readable YAML: ${(e as Error).message}`]);
  }
  if (doc === null) return [];
  const problems: string[] = [];
  if (!isObj(doc)) throw new UnusableInput([`${shown}: expected a mapping with a 'vulnerabilities' list`]);
  for (const k of Object.keys(doc)) if (!FILE_KEYS.includes(k)) problems.push(`${shown}: ${plain(k)}: unknown key (allowed: ${FILE_KEYS.join(", ")})`);
  const list = doc.vulnerabilities ?? [];
  if (!Array.isArray(list)) throw new UnusableInput([...problems, `${shown}: vulnerabilities: not a list`]);
  const out: IgnoreEntry[] = [];
  list.forEach((e, i) => {
    const at = `${shown}: vulnerabilities[${i}]`;
    if (!isObj(e)) {
      problems.push(`${at}: not a mapping`);
      return;
    }
    const before = problems.length;
    for (const k of Object.keys(e)) if (!ENTRY_KEYS.includes(k)) problems.push(`${at}.${plain(k)}: unknown key (allowed: ${ENTRY_KEYS.join(", ")})`);
    if (typeof e.id !== "string" || !/^[\x21-\x7e]{1,100}$/.test(e.id)) problems.push(`${at}.id: ${JSON.stringify(e.id ?? null)} is not allowed (allowed: a vulnerability id)`);
    const strings = (k: string): string[] => {
      const v = e[k];
      if (v === undefined || v === null) return [];
      if (!Array.isArray(v) || v.some((x) => typeof x !== "string" || x === "")) {
        problems.push(`${at}.${k}: ${JSON.stringify(v)} is not allowed (allowed: a list of strings)`);
        return [];
      }
      return v as string[];
    };
    const paths = strings("paths");
    // Trivy refuses the whole file on a pattern doublestar cannot read (pkg/result/ignore.go).
    for (const p of paths) if (!validatePattern(p)) problems.push(`${at}.paths: ${JSON.stringify(p)} is not a valid path pattern (allowed: a doublestar glob, as Trivy reads it: *, ?, **, [...], {a,b})`);
    const purls = strings("purls");
    for (const p of purls) if (!parsePurl(p)) problems.push(`${at}.purls: ${JSON.stringify(p)} is not a package URL (allowed: pkg:<type>/<namespace>/<name>@<version>)`);
    // Trivy takes an entry without either; the fleet writes both (components/waivers.ts), and a waiver
    // that never expires or says nothing is not one the gate may apply.
    if (typeof e.expired_at !== "string" || !isDay(e.expired_at)) problems.push(`${at}.expired_at: ${JSON.stringify(e.expired_at ?? null)} is not allowed (allowed: a date YYYY-MM-DD)`);
    if (typeof e.statement !== "string" || e.statement.trim() === "") problems.push(`${at}.statement: ${JSON.stringify(e.statement ?? null)} is not allowed (allowed: the waiver's reason, who accepted it and until when)`);
    if (problems.length > before) return;
    out.push({ entry: i + 1, id: e.id as string, paths, purls, expiredAt: e.expired_at as string, statement: e.statement as string });
  });
  if (problems.length > 0) throw new UnusableInput(problems);
  return out;
}

/** Trivy: an entry applies while `now` is before midnight UTC at the start of expired_at. */
export function isExpired(entry: IgnoreEntry, today: string): boolean {
  return entry.expiredAt <= today;
}

/** Trivy's match: the id, any path pattern against the Target or the PkgPath, any purl against the finding's. */
export function entryMatches(entry: IgnoreEntry, o: Occurrence): boolean {
  if (entry.id !== o.id) return false;
  if (entry.paths.length > 0) {
    const places = [o.target, o.pkgPath].filter((x): x is string => x !== null && x !== "");
    if (!entry.paths.some((p) => places.some((x) => doublestarMatch(p, x) === true))) return false;
  }
  if (entry.purls.length > 0) {
    // Trivy lets a purl-scoped entry match a finding that has no purl; a waiver scoped to a
    // package should not cover an unknown one, so here it does not.
    const target = o.purl === null ? undefined : parsePurl(o.purl);
    if (!target) return false;
    if (!entry.purls.some((p) => purlMatches(parsePurl(p)!, target))) return false;
  }
  return true;
}

export function isDay(s: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(s)) return false;
  const d = new Date(`${s}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === s;
}

// ---------------------------------------------------------------------------
// Package URLs (purl-spec), enough to match as Trivy does.

export interface Purl {
  readonly type: string;
  readonly namespace: string;
  readonly name: string;
  readonly version: string;
  readonly qualifiers: Readonly<Record<string, string>>;
  readonly subpath: string;
}

export function parsePurl(s: string): Purl | undefined {
  const m = /^pkg:\/*([A-Za-z.+-][A-Za-z0-9.+-]*)\/([^?#]+?)(?:\?([^#]*))?(?:#(.*))?$/.exec(s);
  if (!m) return undefined;
  let path = m[2].replace(/\/+$/, "");
  let version = "";
  const at = path.lastIndexOf("@");
  if (at >= 0) {
    version = path.slice(at + 1);
    path = path.slice(0, at);
  }
  const segs = path.split("/").filter((x) => x !== "");
  if (segs.length === 0) return undefined;
  const dec = (x: string): string | undefined => {
    try {
      return decodeURIComponent(x);
    } catch {
      return undefined;
    }
  };
  const name = dec(segs[segs.length - 1]);
  const namespace = segs.slice(0, -1).map(dec);
  const ver = dec(version);
  if (name === undefined || ver === undefined || namespace.some((x) => x === undefined)) return undefined;
  const qualifiers: Record<string, string> = {};
  for (const pair of (m[3] ?? "").split("&").filter((x) => x !== "")) {
    const eq = pair.indexOf("=");
    if (eq <= 0) return undefined;
    const v = dec(pair.slice(eq + 1));
    if (v === undefined) return undefined;
    qualifiers[pair.slice(0, eq).toLowerCase()] = v;
  }
  const subpath = (m[4] ?? "").split("/").filter((x) => x !== "" && x !== "." && x !== "..").join("/");
  return { type: m[1].toLowerCase(), namespace: namespace.join("/"), name, version: ver, qualifiers, subpath };
}

/** Trivy's purl.Match: the constraint's version, subpath and qualifiers only count when it has them. */
export function purlMatches(constraint: Purl, target: Purl): boolean {
  if (constraint.type !== target.type || constraint.namespace !== target.namespace || constraint.name !== target.name) return false;
  if (constraint.version !== "" && constraint.version !== target.version) return false;
  if (constraint.subpath !== "" && constraint.subpath !== target.subpath) return false;
  return Object.entries(constraint.qualifiers).every(([k, v]) => target.qualifiers[k] === v);
}

/**
 * Text from a report or waivers file inside a message: as is when it is plain
 * printable ASCII, else quoted, so that no line break (and no `::` workflow
 * command at the start of a log line) gets through.
 */
function plain(s: string): string {
  return /^[\x21-\x7e]{1,100}$/.test(s) ? s : JSON.stringify(s);
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
