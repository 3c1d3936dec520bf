/**
 * The scan gate: findings + policy + waivers -> pass or block. Pure; the
 * `gate` command reads the files and hands in what it read (or the reasons
 * it could not).
 *
 * The same vulnerability in the same package is one finding, however many
 * places report it: the filesystem scan sees `go.mod`, the image scan sees
 * the binary built from it, and one fix closes both.
 */
import { SEVERITIES, type Severity } from "../../contract";
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
  /** Where it was seen (PkgPath when known, else Target), sorted; at most MAX_LOCATIONS of them. */
  readonly locations: readonly string[];
  /** How many more locations there were beyond those listed. */
  readonly moreLocations: number;
  /** The scans that reported it: a platform (`linux/arm64`), `source`, or the report's name. */
  readonly places: readonly string[];
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

/** An active waiver that covered nothing in these reports: stale, or scoped wrongly. */
export interface UnmatchedWaiver {
  readonly entry: number;
  readonly id: string;
  readonly expiredAt: string | null;
  readonly message: string;
}

export interface GateCounts {
  /** Occurrences read from all reports (one finding in three places counts three). */
  readonly occurrences: number;
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
  readonly unmatchedWaivers: number;
}

export interface GateResult {
  readonly decision: "pass" | "block";
  /** Why input could not be used; non-empty means block with exit code 2. */
  readonly unusable: readonly string[];
  readonly blocking: readonly Finding[];
  readonly waived: readonly WaivedFinding[];
  readonly expiredWaivers: readonly ExpiredWaiver[];
  readonly unmatchedWaivers: readonly UnmatchedWaiver[];
  readonly counts: GateCounts;
  readonly policy: GatePolicy;
  readonly reports: readonly string[];
  readonly waiversFile: string | null;
  /** The scan record the reports came from, when the gate read one. */
  readonly scan?: GateScan;
}

/** What the scan record says was scanned: repeated in gate.json for the issue and the pin PR. */
export interface GateScan {
  readonly record: string;
  readonly digest: string;
  readonly platforms: ReadonlyArray<{ readonly platform: string; readonly digest: string }>;
  readonly source: string;
  readonly trivy: string | null;
  readonly dbUpdatedAt: string | null;
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

/** Locations kept per finding: a finding vendored in ten thousand places must not hold ten thousand strings. */
export const MAX_LOCATIONS = 50;

/**
 * One finding = one vulnerability id in one package version, wherever it was
 * reported. The purl's `arch` qualifier is left out: the same Debian package
 * version on amd64 and arm64 is one finding, seen on two platforms.
 */
export function findingKey(o: Pick<Occurrence, "id" | "purl" | "package" | "installed">): string {
  const purl = o.purl === null ? null : o.purl.replace(/([?&])arch=[^&#]*(&?)/, (_m, sep: string, amp: string) => (amp ? sep : "")).replace(/[?&](?=#|$)/, "");
  return `${o.id}|${purl ?? `${o.package}@${o.installed}`}`;
}

/** Where a finding sits: locations (capped) and the scans that saw it. */
class Where {
  readonly locations = new Set<string>();
  more = 0;
  readonly places = new Set<string>();
  /** The worst occurrence of this part, for the finding's display fields. */
  first: Occurrence | undefined;
  fixed: string | null = null;
  fixable = false;
  n = 0;

  add(o: Occurrence, place: string): void {
    this.n++;
    const loc = o.pkgPath ?? o.target;
    if (!this.locations.has(loc)) {
      if (this.locations.size < MAX_LOCATIONS) this.locations.add(loc);
      else this.more++;
    }
    this.places.add(place);
    if (this.first === undefined || RANK[o.severity] < RANK[this.first.severity]) this.first = o;
    if (this.fixed === null && o.fixed !== null) this.fixed = o.fixed;
    if (o.fixable) this.fixable = true;
  }

  finding(): Finding {
    const o = this.first!;
    return {
      id: o.id,
      severity: o.severity,
      package: o.package,
      installed: o.installed,
      fixed: this.fixed,
      target: o.target,
      purl: o.purl,
      fixable: this.fixable,
      title: o.title,
      locations: [...this.locations].sort(),
      moreLocations: this.more,
      places: [...this.places].sort(),
    };
  }
}

interface Group {
  worst: Severity;
  fixable: boolean;
  blocking: Where;
  waived: Where;
  waiver: IgnoreEntry | undefined;
}

/**
 * The gate, fed one report at a time: memory grows with the distinct
 * findings (and at most MAX_LOCATIONS places each), never with the
 * occurrences, so a million occurrences still end in a usable gate.json.
 */
export class GateAccumulator {
  private readonly groups = new Map<string, Group>();
  private readonly active: IgnoreEntry[];
  private readonly expired: IgnoreEntry[];
  private readonly expiredHits = new Map<number, Set<string>>();
  private readonly matched = new Set<number>();
  private occurrences = 0;
  private readonly unusable: string[] = [];
  private readonly reports: string[] = [];

  constructor(
    private readonly waivers: readonly IgnoreEntry[],
    private readonly policy: GatePolicy,
  ) {
    this.active = waivers.filter((w) => !isExpired(w, policy.today));
    this.expired = waivers.filter((w) => isExpired(w, policy.today));
  }

  addUnusable(problems: readonly string[]): void {
    for (const p of problems) this.unusable.push(p);
  }

  /** One report's occurrences; `place` names the scan (a platform, `source`, or the report file). */
  add(occurrences: readonly Occurrence[], report: string, place = report): void {
    this.reports.push(report);
    const { policy } = this;
    for (const o of occurrences) {
      this.occurrences++;
      const key = findingKey(o);
      let g = this.groups.get(key);
      if (!g) {
        g = { worst: o.severity, fixable: false, blocking: new Where(), waived: new Where(), waiver: undefined };
        this.groups.set(key, g);
      }
      if (RANK[o.severity] < RANK[g.worst]) g.worst = o.severity;
      if (o.fixable) g.fixable = true;
      const w = this.active.find((x) => entryMatches(x, o));
      if (w) this.matched.add(w.entry);
      const inPolicy = policy.severities.includes(o.severity) && (!policy.fixedOnly || o.fixable);
      if (!inPolicy) continue;
      if (w) {
        g.waived.add(o, place);
        g.waiver ??= w;
        continue;
      }
      g.blocking.add(o, place);
      for (const x of this.expired) {
        if (!entryMatches(x, o)) continue;
        const hits = this.expiredHits.get(x.entry) ?? new Set<string>();
        hits.add(key);
        this.expiredHits.set(x.entry, hits);
      }
    }
  }

  result(waiversFile: string | null, scan?: GateScan): GateResult {
    const blocking: Finding[] = [];
    const waived: WaivedFinding[] = [];
    const bySeverity = Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<Severity, number>;
    let fixable = 0;
    for (const g of this.groups.values()) {
      bySeverity[g.worst]++;
      if (g.fixable) fixable++;
      // A path-scoped waiver leaves the finding blocking only where it does not apply: list those places only.
      if (g.blocking.n > 0) blocking.push(g.blocking.finding());
      else if (g.waived.n > 0) {
        const w = g.waiver!;
        waived.push({ ...g.waived.finding(), waiverEntry: w.entry, statement: w.statement, expiredAt: w.expiredAt });
      }
    }
    blocking.sort(compareFindings);
    waived.sort(compareFindings);

    const where = waiversFile ?? "the waivers file";
    const expiredWaivers: ExpiredWaiver[] = this.expired.map((w) => {
      const n = this.expiredHits.get(w.entry)?.size ?? 0;
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
    const unmatchedWaivers: UnmatchedWaiver[] =
      this.unusable.length > 0
        ? [] // with a report missing, "matched nothing" would be a guess
        : this.active
            .filter((w) => !this.matched.has(w.entry))
            .map((w) => ({
              entry: w.entry,
              id: w.id,
              expiredAt: w.expiredAt,
              message: `waiver ${w.id} (${where}, entry ${w.entry}) matched no finding in ${this.reports.length} report(s): remove it if the finding is gone, or fix its paths or purls`,
            }));

    return {
      decision: this.unusable.length > 0 || blocking.length > 0 ? "block" : "pass",
      unusable: this.unusable,
      blocking,
      waived,
      expiredWaivers,
      unmatchedWaivers,
      counts: {
        occurrences: this.occurrences,
        findings: this.groups.size,
        bySeverity,
        fixable,
        inPolicy: blocking.length + waived.length,
        blocking: blocking.length,
        waived: waived.length,
        expiredWaivers: expiredWaivers.length,
        unmatchedWaivers: unmatchedWaivers.length,
      },
      policy: this.policy,
      reports: this.reports,
      waiversFile,
      ...(scan ? { scan } : {}),
    };
  }
}

export function evaluateGate(input: GateInput): GateResult {
  const acc = new GateAccumulator(input.waivers, input.policy);
  acc.addUnusable(input.unusable ?? []);
  const reports = input.reports ?? [];
  // Occurrences carry the report they came from: group them by it, in the order given.
  const byReport = new Map<string, Occurrence[]>(reports.map((r) => [r, []]));
  for (const o of input.occurrences) {
    const list = byReport.get(o.report);
    if (list) list.push(o);
    else byReport.set(o.report, [o]);
  }
  for (const [r, occ] of byReport) acc.add(occ, r);
  const result = acc.result(input.waiversFile ?? null);
  return { ...result, reports };
}

/** Exit code of the gate: 0 pass, 1 block on findings, 2 unusable input (also a block). */
export function gateExitCode(r: GateResult): 0 | 1 | 2 {
  return r.unusable.length > 0 ? 2 : r.decision === "block" ? 1 : 0;
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
  if (r.scan) {
    const s = r.scan;
    out.push(
      `Scanned: image ${code(s.digest)}, ${s.platforms.length} platform(s) (${s.platforms.map((p) => code(p.platform)).join(", ")}), source: ${text(s.source)}; ` +
        `Trivy ${s.trivy ? code(s.trivy) : "version unknown"}, vulnerability DB of ${s.dbUpdatedAt ? code(s.dbUpdatedAt) : "unknown date"}.`,
    );
  }
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
  if (r.unmatchedWaivers.length > 0) {
    out.push("#### Waivers that matched nothing", "", "A waiver that covers nothing is stale or scoped wrongly; it does not block, but remove or fix it.", "");
    for (const w of r.unmatchedWaivers) out.push(`- ${text(w.message)}`);
    out.push("");
  }
  out.push(`#### Blocking findings (${r.blocking.length})`, "");
  if (r.blocking.length === 0) out.push("None.", "");
  else out.push(...table(["Severity", "ID", "Package", "Installed", "Fixed in", "Where"], r.blocking.map((f) => findingRow(f, r.reports.length > 1))), "");
  if (r.waived.length > 0) {
    out.push(`#### Waived findings (${r.waived.length})`, "");
    out.push(
      ...table(
        ["Severity", "ID", "Package", "Installed", "Fixed in", "Waiver", "Until", "Statement"],
        r.waived.map((w) => [...findingRow(w, false).slice(0, 5), `entry ${w.waiverEntry}`, w.expiredAt ? `before ${w.expiredAt}` : "no expiry", text(w.statement ?? "")]),
      ),
      "",
    );
  }
  const c = r.counts;
  out.push("#### Counts", "");
  out.push(`| | ${SEVERITIES.join(" | ")} | total |`, `|---|${SEVERITIES.map(() => "---:").join("|")}|---:|`);
  out.push(`| findings | ${SEVERITIES.map((s) => c.bySeverity[s]).join(" | ")} | ${c.findings} |`, "");
  out.push(
    `${c.fixable} with a fix; ${c.inPolicy} under the policy: ${c.blocking} blocking, ${c.waived} waived. ` +
      `${c.occurrences} occurrence(s) in ${r.reports.length} report(s); a finding seen in several places counts once.`,
    "",
  );
  return out.join("\n");
}

/** `places`: name the scans (platforms, source) too; only worth it when there were several. */
function findingRow(f: Finding, places: boolean): string[] {
  const n = f.locations.length + (f.moreLocations ?? 0);
  const at = n > 1 ? `${code(f.locations[0])} and ${n - 1} more` : code(f.locations[0] ?? f.target);
  const where = places && f.places?.length ? `${f.places.map(code).join(", ")}: ${at}` : at;
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
