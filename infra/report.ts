/**
 * `npm run report -- --out DIR [--inventory FILE] [--stack prod] [--now YYYY-MM-DD]`
 *
 * Writes DIR/index.html and DIR/report.md: the fleet at a glance. The
 * inventory comes from FILE (DIR/inventory.json of `npm run render`, or
 * `pulumi stack output inventory --json`), else it is computed from mirrors/
 * and Pulumi.<stack>.yaml exactly as `npm run render` does. With GITHUB_TOKEN
 * set, each mirror's image-pin.yml and open labelled issues are read from
 * GitHub (GITHUB_API_URL, default https://api.github.com): two requests per
 * mirror, a few at a time. The token is only ever sent to that API.
 *
 * Reading is bounded (--timeout per request, one retry) and honest: the first
 * mirror is read alone, and when GitHub cannot be reached at all (DNS, no
 * route, refused, no answer) or rejects the token, nothing else is tried. What could not be read,
 * and why, is said at the top of the report; when nothing could be read the
 * report is still written (inventory only) and the exit code is 1.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { fleetSummary, inventoryEntry, type Inventory, type InventoryEntry } from "../components/inventory";
import { renderMirrorFiles } from "../components/render";
import { parsePinFile, renderReportHtml, renderReportMarkdown, reportRows, fleetCounts, unreadMirrors, REPORT_LABELS, type LiveIssue, type LiveMirror } from "../components/report";
import { FleetConfigError, parseDay, resolveFleet } from "../components/spec";
import type { Io } from "../pipeline/cli";
import { github, splitRepo, type GitHub } from "../pipeline/github";
import { MIRROR_PATHS } from "../components/mirror-config";
import { loadMirrorEntries, PROJECT_ROOT, readProjectFile } from "./mirrors";
import { policy } from "./policy";
import { readStackSettings, renderedPipeline } from "./render";

export const USAGE = `usage: npm run report -- --out DIR [--inventory FILE] [--stack prod] [--now YYYY-MM-DD] [--concurrency 8] [--timeout 10]

Writes DIR/index.html and DIR/report.md.
  --inventory FILE  inventory.json from \`npm run render\` or \`pulumi stack output inventory --json\`
                    (default: computed from mirrors/ and Pulumi.<stack>.yaml)
  --now DAY         the day the report describes (default: today, UTC)
  --concurrency N   mirrors read at a time (default 8)
  --timeout S       seconds one GitHub request may take (default 10)
  GITHUB_TOKEN      when set, read each mirror's ${MIRROR_PATHS.pin} and open labelled issues from GitHub
  GITHUB_API_URL    the GitHub API to read (default https://api.github.com)
Exits 1 when GITHUB_TOKEN is set and no mirror could be read.
`;

/** Why a request failed, in words: a lost connection is not an HTTP status. */
export interface ReadFailure {
  readonly message: string;
  /** Every other request would fail the same way (GitHub not reached, or the token rejected): stop reading. */
  readonly unreachable: boolean;
}

const NETWORK_CODES: Readonly<Record<string, (host: string) => string>> = {
  ENOTFOUND: (h) => `DNS: ${h} could not be resolved`,
  EAI_AGAIN: (h) => `DNS: ${h} could not be resolved (temporary failure)`,
  EHOSTUNREACH: (h) => `no route to host ${h}`,
  ENETUNREACH: (h) => `no route to host ${h} (network unreachable)`,
  ECONNREFUSED: (h) => `${h} refused the connection`,
  ECONNRESET: (h) => `${h} reset the connection`,
  UND_ERR_SOCKET: (h) => `${h} closed the connection`,
};

/** Classifies an Octokit error: a network failure (status 500 from the client, with a cause), a timeout, or an HTTP answer. */
export function describeFailure(e: unknown, apiUrl: string, timeoutMs: number): ReadFailure {
  const host = new URL(apiUrl).host;
  const chain: Array<{ name?: string; code?: string; message?: string }> = [];
  for (let c = e as { cause?: unknown } | undefined, i = 0; c && typeof c === "object" && i < 5; c = c.cause as typeof c, i++) chain.push(c as (typeof chain)[number]);
  for (const c of chain) {
    const code = c.code ?? "";
    if (NETWORK_CODES[code]) return { message: `${NETWORK_CODES[code](host)} (${code})`, unreachable: true };
    if (c.name === "TimeoutError" || c.name === "AbortError" || code === "UND_ERR_CONNECT_TIMEOUT" || code === "ETIMEDOUT") {
      return { message: `no answer from ${host} within ${timeoutMs / 1000} s (timeout)`, unreachable: true };
    }
    if (/CERT|SSL|TLS|SELF_SIGNED/.test(code)) return { message: `TLS: ${c.message} (${code})`, unreachable: true };
  }
  const s = status(e);
  const text = (e as Error)?.message ?? String(e);
  if (s === 404) return { message: "repository not found (not created yet, or the token cannot see it)", unreachable: false };
  if (s === 401) return { message: "HTTP 401: GitHub rejected the token (expired, revoked or mistyped)", unreachable: true };
  // Not an HTTP exchange at all: what this mirror holds is wrong (a malformed image-pin.yml), not GitHub.
  if (s === undefined) return { message: text, unreachable: false };
  // The client reports a failed fetch as a 500 with the fetch error as its cause.
  if (s === 500 && chain.length > 1) return { message: `could not reach ${host}: ${text}`, unreachable: true };
  return { message: `HTTP ${s}: ${text}`, unreachable: false };
}

/** Accepts an Inventory, or the bare array of entries that the `inventory` stack output is. */
export function readInventory(file: string, noticeDays: number): Inventory {
  let doc: unknown;
  try {
    doc = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (e) {
    throw new Error(`--inventory ${file}: ${(e as Error).message}`);
  }
  if (Array.isArray(doc)) {
    const mirrors = doc as InventoryEntry[];
    const owner = mirrors[0]?.repository?.split("/")[0] ?? "fleet";
    return { generatedFor: owner, mirrors, summary: fleetSummary(mirrors, noticeDays) };
  }
  const inv = doc as Partial<Inventory>;
  if (!inv || !Array.isArray(inv.mirrors) || typeof inv.generatedFor !== "string") {
    throw new Error(`--inventory ${file}: not an inventory (allowed: {generatedFor, mirrors, summary} or an array of entries)`);
  }
  return { generatedFor: inv.generatedFor, mirrors: inv.mirrors, summary: inv.summary ?? fleetSummary(inv.mirrors, noticeDays) };
}

/** The inventory of the fleet in mirrors/, as `npm run render` computes it. */
export function computeInventory(stack: string, today: Date): Inventory {
  const settings = readStackSettings(stack);
  const { mirrors } = resolveFleet(loadMirrorEntries(), { policy, settings, readFile: readProjectFile, today });
  // Without a stack, the pipeline's commit is render's placeholder (infra/render.ts).
  const { pin } = renderedPipeline(settings.owner, mirrors);
  const entries = mirrors.map((m) => inventoryEntry(m, renderMirrorFiles(m, pin), today));
  return { generatedFor: settings.owner, mirrors: entries, summary: fleetSummary(entries, policy.waiverNoticeDays) };
}

function status(e: unknown): number | undefined {
  return typeof e === "object" && e !== null && "status" in e && typeof (e as { status: unknown }).status === "number" ? (e as { status: number }).status : undefined;
}

/** Reads one mirror: its pin file (absent = never built) and its open issues with a fleet label. */
export async function readMirror(gh: GitHub, repository: string, explain: (e: unknown) => ReadFailure = defaultExplain): Promise<LiveMirror & { unreachable?: boolean }> {
  const { owner, repo } = splitRepo(repository);
  try {
    const issues = (await gh.paginate("GET /repos/{owner}/{repo}/issues", { owner, repo, state: "open", per_page: 100 }))
      .filter((i) => !("pull_request" in i && i.pull_request))
      .map((i): LiveIssue => ({
        number: i.number,
        title: i.title,
        url: i.html_url,
        labels: i.labels.map((l) => (typeof l === "string" ? l : (l.name ?? ""))).filter((l) => l),
      }))
      .filter((i) => i.labels.some((l) => (REPORT_LABELS as readonly string[]).includes(l)))
      .sort((a, b) => a.number - b.number);
    let pin: LiveMirror["pin"] = null;
    try {
      const res = await gh.request("GET /repos/{owner}/{repo}/contents/{path}", {
        owner,
        repo,
        path: MIRROR_PATHS.pin,
        headers: { accept: "application/vnd.github.raw+json" },
      });
      // The raw media type may come back as text or, for an unknown content type, as bytes.
      const data: unknown = res.data;
      const text = typeof data === "string" ? data : data instanceof ArrayBuffer ? new TextDecoder().decode(data) : String(data);
      pin = parsePinFile(text, `${repository}: ${MIRROR_PATHS.pin}`);
    } catch (e) {
      if (status(e) !== 404) throw e;
    }
    return { pin, issues };
  } catch (e) {
    const f = explain(e);
    return { pin: null, issues: [], error: f.message, ...(f.unreachable ? { unreachable: true } : {}) };
  }
}

const defaultExplain = (e: unknown) => describeFailure(e, "https://api.github.com", 60_000);

/**
 * Reads every mirror, `concurrency` at a time (the client also waits out rate
 * limits). The first is read alone: when it finds GitHub unreachable, every
 * mirror gets that reason and nothing else is sent.
 */
export async function readLive(gh: GitHub, entries: readonly InventoryEntry[], concurrency = 8, explain = defaultExplain): Promise<Record<string, LiveMirror>> {
  const out: Record<string, LiveMirror> = {};
  if (entries.length === 0) return out;
  const { unreachable, ...first } = await readMirror(gh, entries[0].repository, explain);
  out[entries[0].name] = first;
  if (unreachable) {
    for (const e of entries) out[e.name] = first;
    return out;
  }
  let next = 1;
  const worker = async () => {
    while (next < entries.length) {
      const e = entries[next++];
      const { unreachable: _, ...m } = await readMirror(gh, e.repository, explain);
      out[e.name] = m;
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, entries.length)) }, worker));
  return out;
}

export async function main(argv: readonly string[], io: Io): Promise<number> {
  let values;
  try {
    values = parseArgs({
      args: [...argv],
      strict: true,
      options: {
        out: { type: "string" },
        inventory: { type: "string" },
        stack: { type: "string", default: "prod" },
        now: { type: "string" },
        concurrency: { type: "string", default: "8" },
        timeout: { type: "string", default: "10" },
        help: { type: "boolean", short: "h" },
      },
    }).values;
  } catch (e) {
    io.stderr(`report: ${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    io.stdout(USAGE);
    return 0;
  }
  if (!values.out) {
    io.stderr(`report: --out is required\n\n${USAGE}`);
    return 2;
  }
  const now = values.now ? parseDay(values.now) : new Date();
  if (!now) {
    io.stderr(`report: --now: ${JSON.stringify(values.now)} is not allowed (allowed: a date YYYY-MM-DD)\n`);
    return 2;
  }
  const concurrency = Number(values.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 32) {
    io.stderr(`report: --concurrency: ${JSON.stringify(values.concurrency)} is not allowed (allowed: a whole number from 1 to 32)\n`);
    return 2;
  }
  const timeout = Number(values.timeout);
  if (!Number.isInteger(timeout) || timeout < 1 || timeout > 300) {
    io.stderr(`report: --timeout: ${JSON.stringify(values.timeout)} is not allowed (allowed: whole seconds from 1 to 300)\n`);
    return 2;
  }
  const inventory = values.inventory ? readInventory(path.resolve(io.cwd, values.inventory), policy.waiverNoticeDays) : computeInventory(values.stack!, now);
  const apiUrl = io.env.GITHUB_API_URL || "https://api.github.com";
  const source = { url: apiUrl };
  let live: Record<string, LiveMirror> | undefined;
  if (io.env.GITHUB_TOKEN) {
    // One retry and a bounded wait per request: the report is a snapshot, re-run it rather than wait.
    const gh = github({ ...io, env: { ...io.env, MIRROR_GITHUB_TIMEOUT_MS: String(timeout * 1000) } }, { retries: 1 });
    live = await readLive(gh, inventory.mirrors, concurrency, (e) => describeFailure(e, apiUrl, timeout * 1000));
  }

  const out = path.resolve(io.cwd, values.out);
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(path.join(out, "index.html"), renderReportHtml({ inventory, live, now, source }));
  fs.writeFileSync(path.join(out, "report.md"), renderReportMarkdown({ inventory, live, now, source }));
  const c = fleetCounts(reportRows({ inventory, live, now }), inventory.summary.noticeDays);
  const unread = unreadMirrors(inventory, live);
  io.stdout(
    `report: ${c.mirrors} mirrors (${c.blocked} blocked, ${c.attention} need attention, ${c.ok} ok, ${c.unknown} unknown)` +
      `${live ? "" : "; no GITHUB_TOKEN, inventory only"} -> ${path.join(out, "index.html")}, ${path.join(out, "report.md")}\n`,
  );
  for (const g of unread.groups) io.stderr(`report: could not read ${g.mirrors.length} of ${c.mirrors} mirrors from ${apiUrl}: ${g.reason} (${g.mirrors.join(", ")})\n`);
  if (live && c.mirrors > 0 && unread.count === c.mirrors) {
    io.stderr(`report: nothing could be read from ${apiUrl}; the report shows the inventory only\n`);
    return 1;
  }
  return 0;
}

if (require.main === module) {
  const io: Io = { env: process.env, cwd: process.cwd(), stdout: (t) => process.stdout.write(t), stderr: (t) => process.stderr.write(t) };
  main(process.argv.slice(2), io).then(
    (code) => {
      process.exitCode = code;
    },
    (e) => {
      process.stderr.write(e instanceof FleetConfigError ? `${e.message}\n` : `report: ${(e as Error).message}\n`);
      process.exitCode = 1;
    },
  );
}
