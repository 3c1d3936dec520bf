/**
 * The scan gate: findings + policy + waivers -> pass or block. Pure; the
 * `gate` command reads the files and hands in what it read (or the reasons
 * it could not).
 *
 * The same vulnerability in the same package is one finding, however many
 * places report it: the filesystem scan sees `go.mod`, the image scan sees
 * the binary built from it, and one fix closes both.
 */
import { SEVERITIES, type Severity } from "../../components/types";
import { entryMatches, isExpired, type IgnoreEntry, type Occurrence } from "./trivy";

export interface GatePolicy {
  readonly severities: readonly Severity[];
  /** Only findings that have a fix block. */
  readonly fixedOnly: boolean;
  /** YYYY-MM-DD (UTC): the day waivers are judged against. */
  readonly today: string;
}

/** One vulnerability of one package, however many places reported it; `target` is where it was first seen. */
export interface Finding extends Pick<Occurrence, "id" | "severity" | "package" | "installed" | "fixed" | "target" | "purl" | "fixable" | "title"> {
  /** Every place it was seen (PkgPath when known, else Target), sorted. */
  readonly locations: readonly string[];
}

export interface WaivedFinding extends Finding {
  /** The `.trivyignore.yaml` entry (from 1) that waived it. */
  readonly waiverEntry: number;
  readonly statement: string | null;
  readonly expiredAt: string | null;
}

export interface ExpiredWaiver {
  readonly entry: number;
  readonly id: string;
  readonly expiredAt: string;
  readonly statement: string | null;
  /** Blocking findings that this entry covered before it expired. */
  readonly blocking: number;
  readonly message: string;
}

export interface GateCounts {
  /** Distinct findings, any severity. */
  readonly findings: number;
  readonly bySeverity: Readonly<Record<Severity, number>>;
  /** Distinct findings that have a fix. */
  readonly fixable: number;
  /** Distinct findings the policy applies to (severity, and a fix when fixedOnly). */
  readonly inPolicy: number;
  readonly blocking: number;
  readonly waived: number;
  readonly expiredWaivers: number;
}

export interface GateResult {
  readonly decision: "pass" | "block";
  /** Why input could not be used; non-empty means block with exit code 2. */
  readonly unusable: readonly string[];
  readonly blocking: readonly Finding[];
  readonly waived: readonly WaivedFinding[];
  readonly expiredWaivers: readonly ExpiredWaiver[];
  readonly counts: GateCounts;
  readonly policy: GatePolicy;
  readonly reports: readonly string[];
  readonly waiversFile: string | null;
}

export interface GateInput {
  readonly occurrences: readonly Occurrence[];
  readonly waivers: readonly IgnoreEntry[];
  readonly policy: GatePolicy;
  readonly unusable?: readonly string[];
  readonly reports?: readonly string[];
  readonly waiversFile?: string | null;
}

const RANK: Record<Severity, number> = Object.fromEntries(SEVERITIES.map((s, i) => [s, i])) as Record<Severity, number>;

/** One finding = one vulnerability id in one package version, wherever it was reported. */
export function findingKey(o: Pick<Occurrence, "id" | "purl" | "package" | "installed">): string {
  return `${o.id}|${o.purl ?? `${o.package}@${o.installed}`}`;
}

export function evaluateGate(input: GateInput): GateResult {
  const { policy } = input;
  const waiversFile = input.waiversFile ?? null;
  const active = input.waivers.filter((w) => !isExpired(w, policy.today));
  const expired = input.waivers.filter((w) => isExpired(w, policy.today));

  interface Group {
    occ: Occurrence[];
    blocking: Occurrence[];
    waived: Array<{ o: Occurrence; w: IgnoreEntry }>;
  }
  const groups = new Map<string, Group>();
  const expiredHits = new Map<number, Set<string>>();
  for (const o of input.occurrences) {
    const key = findingKey(o);
    const g = groups.get(key) ?? { occ: [], blocking: [], waived: [] };
    groups.set(key, g);
    g.occ.push(o);
    const inPolicy = policy.severities.includes(o.severity) && (!policy.fixedOnly || o.fixable);
    if (!inPolicy) continue;
    const w = active.find((x) => entryMatches(x, o));
    if (w) {
      g.waived.push({ o, w });
      continue;
    }
    g.blocking.push(o);
    for (const x of expired) {
      if (!entryMatches(x, o)) continue;
      const hits = expiredHits.get(x.entry) ?? new Set<string>();
      hits.add(key);
      expiredHits.set(x.entry, hits);
    }
  }

  const blocking: Finding[] = [];
  const waived: WaivedFinding[] = [];
  const bySeverity = Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<Severity, number>;
  let fixable = 0;
  for (const g of groups.values()) {
    const worst = [...g.occ].sort((a, b) => RANK[a.severity] - RANK[b.severity])[0];
    bySeverity[worst.severity]++;
    if (g.occ.some((o) => o.fixable)) fixable++;
    if (g.blocking.length > 0) blocking.push(toFinding(g.blocking, g.occ));
    else if (g.waived.length > 0) {
      const { w } = g.waived[0];
      waived.push({ ...toFinding(g.waived.map((x) => x.o), g.occ), waiverEntry: w.entry, statement: w.statement, expiredAt: w.expiredAt });
    }
  }
  blocking.sort(compareFindings);
  waived.sort(compareFindings);

  const where = waiversFile ?? "the waivers file";
  const expiredWaivers: ExpiredWaiver[] = expired.map((w) => {
    const n = expiredHits.get(w.entry)?.size ?? 0;
    const head = `waiver ${w.id} (${where}, entry ${w.entry}) expired on ${w.expiredAt}`;
    return {
      entry: w.entry,
      id: w.id,
      expiredAt: w.expiredAt!,
      statement: w.statement,
      blocking: n,
      message:
        n > 0
          ? `${head}: ${n === 1 ? "the finding it covered blocks" : `the ${n} findings it covered block`} again; fix ${n === 1 ? "it" : "them"}, or renew the waiver with a new statement and date`
          : `${head}; it covers no blocking finding now: remove it`,
    };
  });

  const unusable = input.unusable ?? [];
  return {
    decision: unusable.length > 0 || blocking.length > 0 ? "block" : "pass",
    unusable,
    blocking,
    waived,
    expiredWaivers,
    counts: {
      findings: groups.size,
      bySeverity,
      fixable,
      inPolicy: blocking.length + waived.length,
      blocking: blocking.length,
      waived: waived.length,
      expiredWaivers: expiredWaivers.length,
    },
    policy,
    reports: input.reports ?? [],
    waiversFile,
  };
}

/** Exit code of the gate: 0 pass, 1 block on findings, 2 unusable input (also a block). */
export function gateExitCode(r: GateResult): 0 | 1 | 2 {
  return r.unusable.length > 0 ? 2 : r.decision === "block" ? 1 : 0;
}

function toFinding(chosen: Occurrence[], all: Occurrence[]): Finding {
  const o = [...chosen].sort((a, b) => RANK[a.severity] - RANK[b.severity])[0];
  const locations = [...new Set(all.map((x) => x.pkgPath ?? x.target))].sort();
  return {
    id: o.id,
    severity: o.severity,
    package: o.package,
    installed: o.installed,
    fixed: chosen.map((x) => x.fixed).find((x) => x !== null) ?? null,
    target: o.target,
    purl: o.purl,
    fixable: chosen.some((x) => x.fixable),
    title: o.title,
    locations,
  };
}

function compareFindings(a: Finding, b: Finding): number {
  return RANK[a.severity] - RANK[b.severity] || cmp(a.id, b.id) || cmp(a.package, b.package) || cmp(a.installed, b.installed);
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

// ---------------------------------------------------------------------------
// The Markdown summary: issue bodies, pull request bodies, the step summary.

/** Rows per table: an issue body holds at most 65536 characters. */
const MAX_ROWS = 100;

export function renderGateSummary(r: GateResult): string {
  const out: string[] = [];
  const verdict = r.unusable.length > 0 ? "BLOCKED (unusable scan input)" : r.decision === "block" ? "BLOCKED" : "PASSED";
  out.push(`### Scan gate: ${verdict}`, "");
  out.push(
    `Policy: block ${r.policy.severities.join(", ")} findings${r.policy.fixedOnly ? " that have a fix" : ", with or without a fix"}; ` +
      `waivers from ${r.waiversFile ? code(r.waiversFile) : "none"} as of ${r.policy.today}.`,
  );
  if (r.reports.length) out.push(`Reports: ${r.reports.map(code).join(", ")}.`);
  out.push("");
  if (r.unusable.length > 0) {
    out.push("#### Unusable input", "", "The gate fails closed: these problems block the build until they are fixed.", "");
    for (const u of r.unusable) out.push(`- ${text(u)}`);
    out.push("");
  }
  if (r.expiredWaivers.length > 0) {
    out.push("#### Expired waivers", "");
    for (const w of r.expiredWaivers) out.push(`- ${text(w.message)}`);
    out.push("");
  }
  out.push(`#### Blocking findings (${r.blocking.length})`, "");
  if (r.blocking.length === 0) out.push("None.", "");
  else out.push(...table(["Severity", "ID", "Package", "Installed", "Fixed in", "Where"], r.blocking.map(findingRow)), "");
  if (r.waived.length > 0) {
    out.push(`#### Waived findings (${r.waived.length})`, "");
    out.push(
      ...table(
        ["Severity", "ID", "Package", "Installed", "Fixed in", "Waiver", "Until", "Statement"],
        r.waived.map((w) => [...findingRow(w).slice(0, 5), `entry ${w.waiverEntry}`, w.expiredAt ? `before ${w.expiredAt}` : "no expiry", text(w.statement ?? "")]),
      ),
      "",
    );
  }
  const c = r.counts;
  out.push("#### Counts", "");
  out.push(`| | ${SEVERITIES.join(" | ")} | total |`, `|---|${SEVERITIES.map(() => "---:").join("|")}|---:|`);
  out.push(`| findings | ${SEVERITIES.map((s) => c.bySeverity[s]).join(" | ")} | ${c.findings} |`, "");
  out.push(`${c.fixable} with a fix; ${c.inPolicy} under the policy: ${c.blocking} blocking, ${c.waived} waived.`, "");
  return out.join("\n");
}

function findingRow(f: Finding): string[] {
  const where = f.locations.length > 1 ? `${code(f.locations[0])} and ${f.locations.length - 1} more` : code(f.locations[0] ?? f.target);
  return [f.severity, code(f.id), code(f.package), code(f.installed), f.fixed ? code(f.fixed) : "no fix", where];
}

function table(head: string[], rows: string[][]): string[] {
  const lines = [`| ${head.join(" | ")} |`, `|${head.map(() => "---").join("|")}|`];
  for (const r of rows.slice(0, MAX_ROWS)) lines.push(`| ${r.join(" | ")} |`);
  if (rows.length > MAX_ROWS) lines.push("", `… and ${rows.length - MAX_ROWS} more in the gate's JSON output.`);
  return lines;
}

/**
 * Report text is not ours (package names, paths, statements): in a code span
 * it cannot mention people, link or render HTML. A table cell also needs its
 * pipes escaped, and a code span cannot hold a backtick.
 */
function code(s: string): string {
  return "`" + s.replace(/[\r\n]+/g, " ").replace(/`/g, "'").replace(/\|/g, "\\|") + "`";
}

/** Free text (statements, messages): markup and mentions neutralised, one line. */
function text(s: string): string {
  return s
    .replace(/[\r\n]+/g, " ")
    .replace(/[\\`*_{}[\]<>()#+!|~]/g, (c) => `\\${c}`)
    .replace(/@/g, "@\u200b");
}
