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
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { fleetSummary, inventoryEntry, type Inventory, type InventoryEntry } from "../components/inventory";
import { renderMirrorFiles } from "../components/render";
import { parsePinFile, renderReportHtml, renderReportMarkdown, reportRows, fleetCounts, REPORT_LABELS, type LiveIssue, type LiveMirror } from "../components/report";
import { FleetConfigError, parseDay, resolveFleet } from "../components/spec";
import type { Io } from "../pipeline/cli";
import { github, splitRepo, type GitHub } from "../pipeline/github";
import { MIRROR_PATHS } from "../components/mirror-config";
import { loadMirrorEntries, PROJECT_ROOT, readProjectFile } from "./mirrors";
import { policy } from "./policy";
import { settingsFromStackFile } from "./settings";

export const USAGE = `usage: npm run report -- --out DIR [--inventory FILE] [--stack prod] [--now YYYY-MM-DD] [--concurrency 8]

Writes DIR/index.html and DIR/report.md.
  --inventory FILE  inventory.json from \`npm run render\` or \`pulumi stack output inventory --json\`
                    (default: computed from mirrors/ and Pulumi.<stack>.yaml)
  --now DAY         the day the report describes (default: today, UTC)
  GITHUB_TOKEN      when set, read each mirror's ${MIRROR_PATHS.pin} and open labelled issues from GitHub
`;

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
  const settings = settingsFromStackFile(path.join(PROJECT_ROOT, `Pulumi.${stack}.yaml`));
  const { mirrors } = resolveFleet(loadMirrorEntries(), { policy, settings, readFile: readProjectFile, today });
  const entries = mirrors.map((m) => inventoryEntry(m, renderMirrorFiles(m), today));
  return { generatedFor: settings.owner, mirrors: entries, summary: fleetSummary(entries, policy.waiverNoticeDays) };
}

function status(e: unknown): number | undefined {
  return typeof e === "object" && e !== null && "status" in e && typeof (e as { status: unknown }).status === "number" ? (e as { status: number }).status : undefined;
}

/** Reads one mirror: its pin file (absent = never built) and its open issues with a fleet label. */
export async function readMirror(gh: GitHub, repository: string): Promise<LiveMirror> {
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
    const s = status(e);
    const message = s === 404 ? "repository not found (not created yet, or the token cannot see it)" : s ? `HTTP ${s}` : (e as Error).message;
    return { pin: null, issues: [], error: message };
  }
}

/** Reads every mirror, `concurrency` at a time (the client also waits out rate limits). */
export async function readLive(gh: GitHub, entries: readonly InventoryEntry[], concurrency = 8): Promise<Record<string, LiveMirror>> {
  const out: Record<string, LiveMirror> = {};
  let next = 0;
  const worker = async () => {
    while (next < entries.length) {
      const e = entries[next++];
      out[e.name] = await readMirror(gh, e.repository);
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
        help: { type: "boolean" },
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
  const inventory = values.inventory ? readInventory(path.resolve(io.cwd, values.inventory), policy.waiverNoticeDays) : computeInventory(values.stack!, now);
  const live = io.env.GITHUB_TOKEN ? await readLive(github(io), inventory.mirrors, concurrency) : undefined;

  const out = path.resolve(io.cwd, values.out);
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(path.join(out, "index.html"), renderReportHtml({ inventory, live, now }));
  fs.writeFileSync(path.join(out, "report.md"), renderReportMarkdown({ inventory, live, now }));
  const c = fleetCounts(reportRows({ inventory, live, now }), inventory.summary.noticeDays);
  io.stdout(
    `report: ${c.mirrors} mirrors (${c.blocked} blocked, ${c.attention} need attention, ${c.ok} ok, ${c.unknown} unknown)` +
      `${live ? "" : "; no GITHUB_TOKEN, inventory only"} -> ${path.join(out, "index.html")}, ${path.join(out, "report.md")}\n`,
  );
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
