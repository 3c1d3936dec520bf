/**
 * The fleet report: the inventory (what the fleet is meant to be) joined with
 * what each mirror repository says about itself right now (its image-pin.yml
 * and its open labelled issues), as one static HTML page and the same as
 * Markdown. Pure: no network, no clock; the caller passes `now` and the live
 * data, so the same inputs always give the same bytes.
 *
 * The page works without JavaScript and loads nothing from outside (a CSP
 * meta tag forbids it): every sort order is rendered as its own table, and
 * CSS `:target` shows the one the reader picked, so sorting is a link.
 */
import { parse as parseYaml } from "yaml";
import { daysUntil, parseDay } from "./spec";
import type { Inventory, InventoryEntry } from "./inventory";

/** What the pipeline's `pin` step wrote into image-pin.yml, as far as the report needs it. */
export interface PinState {
  readonly tag: string;
  /** `sha256:<64 hex>`. */
  readonly digest: string;
  /** When the pinned image was built (ISO 8601), if the file says. */
  readonly builtAt?: string;
  /** Findings of the scan that passed the gate, by severity, if the file says. */
  readonly scan?: { readonly critical: number; readonly high: number; readonly medium: number; readonly low: number };
  /** The file records a cosign signature of the digest (`signature.public_key_sha256`, pipeline pin after sign). */
  readonly signed?: boolean;
}

/** An open issue in a mirror repository carrying one of the fleet's labels. */
export interface LiveIssue {
  readonly number: number;
  readonly title: string;
  readonly url: string;
  readonly labels: readonly string[];
}

/** What was read from one mirror repository. `pin: null`: no image-pin.yml yet (never built). */
export interface LiveMirror {
  readonly pin: PinState | null;
  readonly issues: readonly LiveIssue[];
  /** Set when the repository could not be read; the row then says so instead of guessing. */
  readonly error?: string;
}

export interface ReportInput {
  readonly inventory: Inventory;
  /** Live state per mirror name; absent when no token was given. */
  readonly live?: Readonly<Record<string, LiveMirror>>;
  /** The moment the report describes: ages and waiver days are counted to it. */
  readonly now: Date;
  /** Where the live data was read from (the GitHub API's URL), for the header. */
  readonly source?: { readonly url: string };
}

/** The mirrors GitHub could not tell about, grouped by reason (in inventory order). */
export function unreadMirrors(
  inventory: Inventory,
  live: ReportInput["live"],
): { count: number; groups: ReadonlyArray<{ reason: string; mirrors: readonly string[] }> } {
  if (!live) return { count: 0, groups: [] };
  const groups = new Map<string, string[]>();
  for (const e of inventory.mirrors) {
    const reason = live[e.name] ? live[e.name].error : "not read";
    if (reason !== undefined) groups.set(reason, [...(groups.get(reason) ?? []), e.name]);
  }
  return { count: [...groups.values()].reduce((n, m) => n + m.length, 0), groups: [...groups].map(([reason, mirrors]) => ({ reason, mirrors })) };
}

/**
 * The header's account of where the data came from: read from GitHub only
 * when it was, and first of all what could not be read and why.
 */
function provenance(input: ReportInput): { read: string; unread: string[] } {
  const where = input.source ? `GitHub (${input.source.url})` : "GitHub";
  if (!input.live) return { read: "", unread: [] };
  const total = input.inventory.mirrors.length;
  const { count, groups } = unreadMirrors(input.inventory, input.live);
  const unread = groups.map((g) =>
    g.mirrors.length === total
      ? `Nothing could be read from ${where}: ${g.reason}. The table shows the inventory only.`
      : `Could not read ${g.mirrors.length} of ${total} mirrors from ${where}: ${g.reason} (${g.mirrors.join(", ")}).`,
  );
  if (count === total && total > 0) return { read: "", unread };
  const read = count === 0
    ? `Tags, digests, build ages and issues were read from ${where} (image-pin.yml and open labelled issues of each mirror).`
    : `Tags, digests, build ages and issues of the other ${total - count} mirrors were read from ${where}.`;
  return { read, unread };
}

export type Status = "blocked" | "attention" | "unknown" | "ok";
export type Health = "unhealthy" | "unknown" | "healthy";

export interface ReportRow {
  readonly name: string;
  readonly repository: string;
  readonly repositoryUrl: string;
  readonly upstream: string;
  readonly upstreamUrl: string;
  readonly image: string;
  readonly tag: string | null;
  readonly digest: string | null;
  readonly builtAt: string | null;
  /** The pinned image's scan, by severity, when image-pin.yml records it. */
  readonly scan: PinState["scan"] | null;
  /** Whole days since the pinned image was built; null when unknown or never built. */
  readonly ageDays: number | null;
  /** True when GitHub was read and the mirror has no image-pin.yml; false when it has one; null when not known. */
  readonly neverBuilt: boolean | null;
  /** Whether the pinned digest is signed and attested (image-pin.yml's signature); null when nothing is pinned or not known. */
  readonly signed: boolean | null;
  readonly status: Status;
  /** Why the status is what it is, one line each; empty for ok. */
  readonly reasons: readonly string[];
  readonly waivers: ReadonlyArray<{ readonly id: string; readonly expires: string; readonly daysLeft: number }>;
  readonly health: Health;
  readonly healthReasons: readonly string[];
}

/** Labels (contract/index.ts FLEET_LABELS) that say something about a mirror's state, and what they mean. */
const STATUS_LABELS: ReadonlyArray<{ label: string; status: Status; what: string }> = [
  { label: "blocked", status: "blocked", what: "blocked" },
  { label: "rescan", status: "attention", what: "rescan" },
  { label: "override-review", status: "attention", what: "override review" },
  { label: "cve", status: "attention", what: "vulnerability" },
];
export const REPORT_LABELS = ["blocked", "cve", "security", "rescan", "override-review", "upstream-health"] as const;

const DIGEST = /^sha256:[0-9a-f]{64}$/;

/**
 * Reads image-pin.yml. Tolerant of the field names a pin file may use
 * (`tag`/`version`, `digest` or an `image@sha256:…` reference, `builtAt`/`built_at`/`created`),
 * strict about what it returns: a tag and a well-formed digest, or an error naming the field.
 */
export function parsePinFile(text: string, where = "image-pin.yml"): PinState {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    throw new Error(`${where}: not YAML (${(e as Error).message.split("\n")[0]})`);
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) throw new Error(`${where}: expected a mapping`);
  const d = flatten(doc as Record<string, unknown>);
  const pick = (...keys: string[]) => {
    for (const k of keys) if (typeof d[k] === "string" && d[k]) return d[k] as string;
    return undefined;
  };
  const tag = pick("tag", "version", "upstream.tag", "image.tag", "build.tag");
  let digest = pick("digest", "image.digest", "build.digest");
  const ref = ["ref", "image", "reference", "image.ref", "image.reference"].map((k) => d[k]).find((v): v is string => typeof v === "string" && v.includes("@"));
  if (!digest && ref) digest = ref.slice(ref.indexOf("@") + 1);
  if (!tag) throw new Error(`${where}: tag: missing (allowed: the upstream tag that was built)`);
  if (!digest || !DIGEST.test(digest)) throw new Error(`${where}: digest: ${JSON.stringify(digest ?? null)} is not allowed (allowed: sha256:<64 hex>)`);
  const builtAt = pick("builtAt", "built_at", "built", "createdAt", "created", "image.created", "build.builtAt", "build.at", "pinnedAt");
  const counts = (["critical", "high", "medium", "low"] as const).map((k) => d[`scan.${k}`]);
  const scan = counts.every((n) => typeof n === "number" && Number.isInteger(n) && n >= 0)
    ? { critical: counts[0] as number, high: counts[1] as number, medium: counts[2] as number, low: counts[3] as number }
    : undefined;
  const signed = typeof d["signature.public_key_sha256"] === "string" && /^[0-9a-f]{64}$/.test(d["signature.public_key_sha256"] as string);
  return { tag, digest, ...(builtAt && !Number.isNaN(Date.parse(builtAt)) ? { builtAt } : {}), ...(scan ? { scan } : {}), ...(signed ? { signed } : {}) };
}

function flatten(o: Record<string, unknown>, prefix = "", out: Record<string, unknown> = {}): Record<string, unknown> {
  for (const [k, v] of Object.entries(o)) {
    const key = prefix + k;
    if (v instanceof Date) out[key] = v.toISOString();
    else if (typeof v === "object" && v !== null && !Array.isArray(v)) flatten(v as Record<string, unknown>, `${key}.`, out);
    else out[key] = v;
  }
  return out;
}

/** One row per mirror, in inventory order. */
export function reportRows(input: ReportInput): ReportRow[] {
  return input.inventory.mirrors.map((e) => row(e, input.live?.[e.name], input.live !== undefined, input.now, input.inventory.summary.noticeDays));
}

function row(e: InventoryEntry, live: LiveMirror | undefined, haveLive: boolean, now: Date, noticeDays: number): ReportRow {
  const reasons: Array<{ status: Status; text: string }> = [];
  const waivers = e.waivers
    .map((w) => ({ id: w.id, expires: w.expires, daysLeft: parseDay(w.expires) ? daysUntil(w.expires, now) : w.daysLeft }))
    .sort((a, b) => a.daysLeft - b.daysLeft || cmp(a.id, b.id));
  for (const w of waivers) {
    if (w.daysLeft < 0) reasons.push({ status: "attention", text: `waiver ${w.id} expired on ${w.expires}: the next build blocks on it` });
    else if (w.daysLeft <= noticeDays) reasons.push({ status: "attention", text: `waiver ${w.id} expires in ${plural(w.daysLeft, "day")}` });
  }

  let pin: PinState | null = null;
  if (!haveLive) {
    reasons.push({ status: "unknown", text: "no live data (run the report with GITHUB_TOKEN)" });
  } else if (!live) {
    reasons.push({ status: "unknown", text: "not read from GitHub" });
  } else if (live.error) {
    reasons.push({ status: "unknown", text: `could not read the repository: ${live.error}` });
  } else {
    pin = live.pin;
    if (!pin) reasons.push({ status: "attention", text: "no image built yet (no image-pin.yml)" });
    else if (e.signing && !pin.signed) reasons.push({ status: "attention", text: "signing is on, but the pinned digest is not signed (image-pin.yml records no signature)" });
    for (const issue of live.issues) {
      const hit = STATUS_LABELS.find((s) => issue.labels.includes(s.label));
      if (hit) reasons.push({ status: hit.status, text: `${hit.what}: #${issue.number} ${issue.title}` });
    }
  }

  const healthReasons: string[] = [];
  let health: Health = "unknown";
  if (e.health) {
    health = e.health.healthy ? "healthy" : "unhealthy";
    healthReasons.push(...e.health.reasons);
  }
  if (haveLive && live && !live.error) {
    const open = live.issues.filter((i) => i.labels.includes("upstream-health"));
    if (open.length) {
      health = "unhealthy";
      healthReasons.push(...open.map((i) => `#${i.number} ${i.title}`));
    } else if (health === "unknown") health = "healthy";
  }

  const status = (["blocked", "attention", "unknown"] as const).find((s) => reasons.some((r) => r.status === s)) ?? "ok";
  const builtAt = pin?.builtAt ?? null;
  return {
    name: e.name,
    repository: e.repository,
    repositoryUrl: e.repositoryUrl,
    upstream: e.upstream.repo,
    upstreamUrl: e.upstream.url,
    image: e.image,
    tag: pin?.tag ?? null,
    digest: pin?.digest ?? null,
    builtAt,
    scan: pin?.scan ?? null,
    ageDays: builtAt ? Math.max(0, Math.floor((now.getTime() - Date.parse(builtAt)) / 86_400_000)) : null,
    neverBuilt: haveLive && live && !live.error ? pin === null : null,
    signed: pin ? pin.signed === true : null,
    status,
    // Worst first, so the first line is the headline.
    reasons: reasons.sort((a, b) => STATUS_ORDER[a.status] - STATUS_ORDER[b.status]).map((r) => r.text),
    waivers,
    health,
    healthReasons: [...new Set(healthReasons)],
  };
}

const STATUS_ORDER: Readonly<Record<Status, number>> = { blocked: 0, attention: 1, unknown: 2, ok: 3 };
const HEALTH_ORDER: Readonly<Record<Health, number>> = { unhealthy: 0, unknown: 1, healthy: 2 };

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/** The sort orders a reader can pick; the first is the default (worst first). */
export const SORTS = [
  { id: "by-status", column: "status", label: "status, worst first", compare: (a: ReportRow, b: ReportRow) => STATUS_ORDER[a.status] - STATUS_ORDER[b.status] || cmp(a.name, b.name) },
  { id: "by-name", column: "name", label: "mirror name", compare: (a: ReportRow, b: ReportRow) => cmp(a.name, b.name) },
  { id: "by-upstream", column: "upstream", label: "upstream", compare: (a: ReportRow, b: ReportRow) => cmp(a.upstream.toLowerCase(), b.upstream.toLowerCase()) || cmp(a.name, b.name) },
  { id: "by-tag", column: "tag", label: "tag built", compare: (a: ReportRow, b: ReportRow) => nullsLast(a.tag, b.tag, cmp) || cmp(a.name, b.name) },
  // Oldest build first; never built before everything else, not known after it.
  { id: "by-age", column: "age", label: "last build, oldest first", compare: (a: ReportRow, b: ReportRow) => age(b) - age(a) || cmp(a.name, b.name) },
  { id: "by-waivers", column: "waivers", label: "waiver expiry, soonest first", compare: (a: ReportRow, b: ReportRow) => soonest(a) - soonest(b) || cmp(a.name, b.name) },
  { id: "by-health", column: "health", label: "upstream health, worst first", compare: (a: ReportRow, b: ReportRow) => HEALTH_ORDER[a.health] - HEALTH_ORDER[b.health] || cmp(a.name, b.name) },
] as const;

function nullsLast<T>(a: T | null, b: T | null, c: (x: T, y: T) => number): number {
  if (a === null) return b === null ? 0 : 1;
  if (b === null) return -1;
  return c(a, b);
}
function age(r: ReportRow): number {
  if (r.neverBuilt) return Number.MAX_SAFE_INTEGER;
  if (r.ageDays !== null) return r.ageDays;
  return r.tag !== null ? -1 : -2;
}
function soonest(r: ReportRow): number {
  return r.waivers.length ? r.waivers[0].daysLeft : Number.MAX_SAFE_INTEGER;
}

export interface FleetCounts {
  readonly mirrors: number;
  readonly blocked: number;
  readonly attention: number;
  readonly unknown: number;
  readonly ok: number;
  readonly unhealthy: number;
  readonly neverBuilt: number;
  readonly waivers: number;
  readonly waiversExpiringSoon: number;
  readonly noticeDays: number;
}

export function fleetCounts(rows: readonly ReportRow[], noticeDays: number): FleetCounts {
  const count = (f: (r: ReportRow) => boolean) => rows.filter(f).length;
  return {
    mirrors: rows.length,
    blocked: count((r) => r.status === "blocked"),
    attention: count((r) => r.status === "attention"),
    unknown: count((r) => r.status === "unknown"),
    ok: count((r) => r.status === "ok"),
    unhealthy: count((r) => r.health === "unhealthy"),
    neverBuilt: count((r) => r.neverBuilt === true),
    waivers: rows.reduce((n, r) => n + r.waivers.length, 0),
    waiversExpiringSoon: rows.reduce((n, r) => n + r.waivers.filter((w) => w.daysLeft <= noticeDays).length, 0),
    noticeDays,
  };
}

function sorted(rows: readonly ReportRow[], id: (typeof SORTS)[number]["id"]): ReportRow[] {
  const s = SORTS.find((x) => x.id === id)!;
  return [...rows].sort(s.compare);
}

function day(d: Date): string {
  return d.toISOString().slice(0, 10);
}

function signedText(signed: boolean): string {
  return signed ? "signed, SBOM and scan-gate attested (cosign)" : "not signed";
}

/** Which evidence features the fleet has on, from the inventory: one sentence for the page's header. */
export function featuresLine(inventory: Inventory): string {
  const n = inventory.mirrors.length;
  const on = (f: (e: InventoryEntry) => boolean) => `${inventory.mirrors.filter(f).length} of ${n}`;
  return `Branch protection (ruleset) on for ${on((e) => e.branchProtection)} mirrors; cosign signatures and attestations in the registry for ${on((e) => e.signing)}; GitHub artifact attestations for ${on((e) => e.attestations)}.`;
}

function shortDigest(d: string): string {
  return d.slice(0, "sha256:".length + 12);
}

function scanText(s: NonNullable<PinState["scan"]>): string {
  return `C ${s.critical} · H ${s.high} · M ${s.medium} · L ${s.low}`;
}

function ageText(r: ReportRow): string {
  if (r.ageDays !== null) return r.ageDays === 0 ? "< 1 day ago" : `${plural(r.ageDays, "day")} ago`;
  if (r.tag !== null) return "date not recorded";
  return r.neverBuilt ? "never built" : "unknown";
}

// ---------------------------------------------------------------- HTML

const esc = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);

const CSS = `
:root { color-scheme: light; --fg: #1f2328; --muted: #59636e; --line: #d1d9e0; --bg: #fff; --head: #f6f8fa;
  --blocked: #b60205; --attention: #9a6700; --unknown: #59636e; --ok: #1a7f37; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); margin: 1.5rem; }
h1 { font-size: 1.5rem; margin: 0 0 .25rem; }
p.meta { color: var(--muted); margin: 0 0 1rem; }
p.unread { border: 1px solid var(--blocked); border-radius: 6px; padding: .5rem .9rem; color: var(--blocked); font-weight: 600; margin: 0 0 .75rem; }
ul.tiles { display: flex; flex-wrap: wrap; gap: .75rem; list-style: none; padding: 0; margin: 0 0 1rem; }
ul.tiles li { border: 1px solid var(--line); border-radius: 6px; padding: .5rem .9rem; min-width: 9rem; }
ul.tiles b { display: block; font-size: 1.6rem; line-height: 1.1; }
ul.tiles li.blocked b { color: var(--blocked); } ul.tiles li.attention b { color: var(--attention); }
nav.sorts { margin: 0 0 .75rem; } nav.sorts a { margin-right: .75rem; }
table { border-collapse: collapse; width: 100%; }
th, td { border-bottom: 1px solid var(--line); padding: .4rem .5rem; text-align: left; vertical-align: top; }
thead th { background: var(--head); position: sticky; top: 0; white-space: nowrap; }
th a { color: inherit; text-decoration: none; } th a:hover { text-decoration: underline; }
th[aria-sort] a::after { content: " \\25BC"; font-size: .75em; }
td.num { white-space: nowrap; }
code { font: 12px ui-monospace, SFMono-Regular, Menlo, monospace; }
.badge { display: inline-block; border-radius: 2em; padding: 0 .6em; font-weight: 600; color: #fff; font-size: 12px; }
.badge.blocked { background: var(--blocked); } .badge.attention { background: var(--attention); }
.badge.unknown { background: var(--unknown); } .badge.ok { background: var(--ok); }
.badge.unhealthy { background: var(--blocked); } .badge.healthy { background: var(--ok); }
ul.reasons { margin: .2rem 0 0; padding-left: 1.1rem; color: var(--muted); }
.soon { color: var(--attention); font-weight: 600; } .expired { color: var(--blocked); font-weight: 600; }
/* One table per sort order; the targeted one is shown, else the default (last in the page). */
section.view { display: none; }
section.view:target, section.view.default { display: block; }
section.view:target ~ section.view.default:not(:target) { display: none; }
section.view h2 { font-size: 1rem; margin: .5rem 0; }
`;

function htmlRow(r: ReportRow, noticeDays: number): string {
  const reasons = r.reasons.length ? `<ul class="reasons">${r.reasons.map((x) => `<li>${esc(x)}</li>`).join("")}</ul>` : "";
  const waivers = r.waivers.length
    ? r.waivers
        .map((w) => {
          const cls = w.daysLeft < 0 ? "expired" : w.daysLeft <= noticeDays ? "soon" : "";
          const left = w.daysLeft < 0 ? `expired ${plural(-w.daysLeft, "day")} ago` : `${plural(w.daysLeft, "day")} left`;
          return `<div><code>${esc(w.id)}</code> <span${cls ? ` class="${cls}"` : ""}>${left}</span> <small>(${esc(w.expires)})</small></div>`;
        })
        .join("")
    : "—";
  const health = r.healthReasons.length ? `<ul class="reasons">${r.healthReasons.map((x) => `<li>${esc(x)}</li>`).join("")}</ul>` : "";
  return [
    `<tr data-name="${esc(r.name)}" data-status="${r.status}">`,
    `<td><a href="${esc(r.repositoryUrl)}">${esc(r.name)}</a><br><small><code>${esc(r.image)}</code></small></td>`,
    `<td><a href="${esc(r.upstreamUrl)}">${esc(r.upstream)}</a></td>`,
    `<td>${r.tag ? `<code>${esc(r.tag)}</code>` : "—"}</td>`,
    `<td>${r.digest ? `<code title="${esc(r.digest)}">${esc(shortDigest(r.digest))}</code>` : "—"}${r.scan ? `<br><small title="findings of the scan that passed the gate">${scanText(r.scan)}</small>` : ""}${r.signed === null ? "" : `<br><small>${signedText(r.signed)}</small>`}</td>`,
    `<td class="num">${esc(ageText(r))}${r.builtAt ? `<br><small>${esc(r.builtAt.slice(0, 10))}</small>` : ""}</td>`,
    `<td><span class="badge ${r.status}">${r.status}</span>${reasons}</td>`,
    `<td>${waivers}</td>`,
    `<td><span class="badge ${r.health}">${r.health}</span>${health}</td>`,
    `</tr>`,
  ].join("");
}

const COLUMNS: ReadonlyArray<{ column: string; title: string }> = [
  { column: "name", title: "Mirror" },
  { column: "upstream", title: "Upstream" },
  { column: "tag", title: "Tag built" },
  { column: "digest", title: "Digest" },
  { column: "age", title: "Last build" },
  { column: "status", title: "Status" },
  { column: "waivers", title: "Waivers" },
  { column: "health", title: "Upstream health" },
];

function htmlTable(rows: readonly ReportRow[], current: (typeof SORTS)[number], noticeDays: number): string {
  const head = COLUMNS.map((c) => {
    const s = SORTS.find((x) => x.column === c.column);
    if (!s) return `<th scope="col">${c.title}</th>`;
    const aria = s.id === current.id ? ` aria-sort="${c.column === "name" || c.column === "upstream" || c.column === "tag" ? "ascending" : "descending"}"` : "";
    return `<th scope="col"${aria}><a href="#${s.id}" title="Sort by ${s.label}">${c.title}</a></th>`;
  }).join("");
  return `<table><caption class="visually-hidden">Mirrors sorted by ${current.label}</caption><thead><tr>${head}</tr></thead><tbody>\n${rows
    .map((r) => htmlRow(r, noticeDays))
    .join("\n")}\n</tbody></table>`;
}

export function renderReportHtml(input: ReportInput): string {
  const rows = reportRows(input);
  const noticeDays = input.inventory.summary.noticeDays;
  const c = fleetCounts(rows, noticeDays);
  const owner = input.inventory.generatedFor;
  const prov = provenance(input);
  const tiles: Array<[string, number, string]> = [
    ["", c.mirrors, "mirrors"],
    ["blocked", c.blocked, "blocked"],
    ["attention", c.attention, "need attention"],
    ["", c.ok, "ok"],
    ["attention", c.unhealthy, "unhealthy upstreams"],
    ["", c.neverBuilt, "never built"],
    ["attention", c.waiversExpiringSoon, `waivers expiring ≤ ${noticeDays} days`],
    ["", c.waivers, "waivers"],
  ];
  // The default view goes last so that `:target ~ .default` can hide it.
  const [first, ...others] = SORTS;
  const view = (s: (typeof SORTS)[number], isDefault: boolean) =>
    `<section class="view${isDefault ? " default" : ""}" id="${s.id}" aria-label="sorted by ${s.label}">\n<h2>Sorted by ${s.label}</h2>\n${htmlTable(sorted(rows, s.id), s, noticeDays)}\n</section>`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src 'none'; base-uri 'none'; form-action 'none'">
<title>mirror-fleet report: ${esc(owner)}</title>
<style>${CSS}.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }</style>
</head>
<body>
<h1>mirror-fleet report: ${esc(owner)}</h1>
${prov.unread.map((u) => `<p class="unread" role="alert">${esc(u)}</p>\n`).join("")}<p class="meta">State on ${day(input.now)} (UTC). ${
    !input.live
      ? "Inventory only: tags, digests, build ages and issues need live data (run <code>npm run report</code> with GITHUB_TOKEN)."
      : esc(prov.read)
  }</p>
<p class="meta">${esc(featuresLine(input.inventory))}</p>
<ul class="tiles">
${tiles.map(([cls, n, label]) => `<li${cls && n > 0 ? ` class="${cls}"` : ""}><b>${n}</b>${esc(label)}</li>`).join("\n")}
</ul>
<nav class="sorts" aria-label="sort order">Sort by: ${SORTS.map((s) => `<a href="#${s.id}">${esc(s.label)}</a>`).join(" ")}</nav>
${others.map((s) => view(s, false)).join("\n")}
${view(first, true)}
</body>
</html>
`;
}

// ---------------------------------------------------------------- Markdown

const md = (s: string) => s.replace(/\\/g, "\\\\").replace(/\|/g, "\\|").replace(/[\r\n]+/g, " ");

export function renderReportMarkdown(input: ReportInput): string {
  const rows = sorted(reportRows(input), "by-status");
  const noticeDays = input.inventory.summary.noticeDays;
  const c = fleetCounts(rows, noticeDays);
  const prov = provenance(input);
  const lines = [
    `# mirror-fleet report: ${md(input.inventory.generatedFor)}`,
    "",
    ...prov.unread.flatMap((u) => [`> **${md(u)}**`, ""]),
    `State on ${day(input.now)} (UTC). ${
      input.live ? prov.read : "Inventory only: run `npm run report` with GITHUB_TOKEN for tags, digests, build ages and issues."
    }`.trimEnd(),
    "",
    featuresLine(input.inventory),
    "",
    `| Mirrors | Blocked | Need attention | OK | Unhealthy upstreams | Never built | Waivers expiring ≤ ${noticeDays} days | Waivers |`,
    "|---:|---:|---:|---:|---:|---:|---:|---:|",
    `| ${c.mirrors} | ${c.blocked} | ${c.attention} | ${c.ok} | ${c.unhealthy} | ${c.neverBuilt} | ${c.waiversExpiringSoon} | ${c.waivers} |`,
    "",
    "## Mirrors, worst first",
    "",
    "| Mirror | Upstream | Tag built | Digest | Last build | Status | Waivers | Upstream health |",
    "|---|---|---|---|---|---|---|---|",
    ...rows.map((r) =>
      [
        `[${md(r.name)}](${r.repositoryUrl})`,
        `[${md(r.upstream)}](${r.upstreamUrl})`,
        r.tag ? `\`${md(r.tag)}\`` : "—",
        r.digest ? `\`${shortDigest(r.digest)}\`${r.signed === null ? "" : ` (${signedText(r.signed)})`}` : "—",
        md(ageText(r)),
        `**${r.status}**${r.reasons.length ? `: ${r.reasons.map(md).join("; ")}` : ""}`,
        r.waivers.length ? r.waivers.map((w) => `${md(w.id)} (${w.daysLeft < 0 ? "expired" : plural(w.daysLeft, "day") + " left"})`).join("; ") : "—",
        `${r.health}${r.healthReasons.length ? `: ${r.healthReasons.map(md).join("; ")}` : ""}`,
      ]
        .join(" | ")
        .replace(/^/, "| ")
        .concat(" |"),
    ),
    "",
  ];
  return lines.join("\n");
}
