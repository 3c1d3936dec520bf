/**
 * The real engine, measured: `npm run up` and `npm run preview` of a
 * synthetic fleet (bench/synthetic.ts), run as a user runs them (the Pulumi
 * CLI and pulumi-resource-github that `npm run engine:build` built, a local
 * file backend) against a fresh GitHub stand-in per fleet size. Per run: wall
 * time, the engine's change summary, and every request GitHub would have
 * received, split by who sent it (the provider, or the program's own reads:
 * adoption lookups, infra/adopt.ts, and upstream health,
 * infra/upstream-health.ts) and, for the first `up`, by resource type.
 *
 * Who sent a request is told by its User-Agent (the program's client says
 * `mirror-fleet`), which the stand-in does not record: the engine talks to a
 * small forwarding proxy in front of it that does.
 *
 *   node --import tsx bench/engine.ts 10 50     prints the Markdown tables
 */
import { execFileSync } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import * as zlib from "node:zlib";
import { PULUMI_CLI_VERSION } from "../infra/automation";
import { ENGINE_PASSPHRASE, EngineProject, requireBuiltTools, type EngineRun } from "../test/engine/harness";
import { builtToolRoot } from "../tools/paths";
import { startGitHubStandIn, type GitHubStandIn } from "../test/support/github-standin";
import { CALLS, PER_RUN, predictOps } from "./api-budget";
import { SYNTHETIC_DOCKERFILE, SYNTHETIC_SETTINGS, syntheticEntries } from "./synthetic";

const OWNER = SYNTHETIC_SETTINGS.owner;
const WRITE_METHODS = new Set(["POST", "PUT", "PATCH", "DELETE"]);

/** One request as the proxy saw it. */
export interface Seen {
  readonly method: string;
  readonly url: string;
  readonly userAgent: string;
  readonly status: number;
}

/** Forwards every request to `target` unchanged and records it with its User-Agent. */
export async function recordingProxy(target: string): Promise<{ url: string; seen: Seen[]; stop(): Promise<void> }> {
  const seen: Seen[] = [];
  const to = new URL(target);
  const server = http.createServer((req, res) => {
    const up = http.request(
      { host: to.hostname, port: to.port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        seen.push({ method: (req.method ?? "GET").toUpperCase(), url: req.url ?? "/", userAgent: String(req.headers["user-agent"] ?? ""), status: answer.statusCode ?? 0 });
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    up.on("error", (e) => res.writeHead(502).end(String(e)));
    req.pipe(up);
  });
  // The provider keeps connections alive; close() alone would wait for them.
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    stop: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
}

/** The program's own client (pipeline/github.ts, infra/github-token.ts); everything else is the provider. */
export function fromProgram(r: Seen): boolean {
  return /^mirror-fleet/.test(r.userAgent);
}

/** What the program's own reads were for: the owner, its mirror repositories (adoption) or the upstreams (health, preflight). */
export function programPurpose(r: Seen, owner: string): "owner" | "adopt" | "health" {
  if (r.url === `/api/v3/orgs/${owner}` || r.url.startsWith(`/api/v3/orgs/${owner}/`) || /^\/api\/v3\/repos\/[^/]+\/[^/]+\/rulesets/.test(r.url)) return "owner";
  return r.url.startsWith(`/api/v3/repos/${owner}/`) ? "adopt" : "health";
}

/**
 * The resource type that sends `op` (`METHOD operationId`), from the
 * measured table: the one type that lists it, or a shared row naming them
 * all (`GET repos/get` is sent by several).
 */
export function resourceTypeOf(op: string): string {
  const short = (t: string) => t.split(":").at(-1)!;
  const types = Object.entries(CALLS)
    .filter(([, c]) => [c.create, c.read, c.update ?? {}].some((ops) => op in ops))
    .map(([t]) => short(t));
  if (op in PER_RUN) return "provider start (once per run)";
  if (types.length === 1) return types[0];
  if (types.length > 1) return `shared \`${op}\` (${types.join(", ")})`;
  return `not in bench/api-budget.ts: \`${op}\``;
}

export interface RunMeasure {
  readonly ms: number;
  /** The engine's change summary, `same` left out. */
  readonly changes: Record<string, number>;
  readonly requests: number;
  readonly writes: number;
  /** Requests the program itself sent (all reads): the owner check, adoption lookups and upstream health. */
  readonly owner: number;
  readonly adopt: number;
  readonly health: number;
  /** Provider requests by `METHOD operationId`. */
  readonly ops: Record<string, number>;
  /** Provider requests by resource type (resourceTypeOf): requests and writes. */
  readonly byType: Record<string, { requests: number; writes: number }>;
}

/**
 * How the engine runs, beyond the defaults a user's `npm run up` has: the
 * provider's pause after each write (0 here unless set; its default is
 * 1000 ms), Pulumi's PULUMI_SKIP_CHECKPOINTS (the state written once, at
 * the end, instead of after every step: faster, and a run that dies mid-way
 * loses from the state what it created; never set by the program), and the
 * state written as JSON instead of zstd (PULUMI_DIY_BACKEND_ZSTD=false, what
 * the plain CLI does unless told otherwise; infra/automation.ts engineEnv),
 * and the pipeline bundle replaced by a one-line program (STUB_PIPELINE: the
 * same resources, without the bundle's bytes in the state; a measurement
 * only, the mirrors' runs would fail).
 */
export interface EngineMode {
  readonly writeDelayMs: number;
  readonly skipCheckpoints: boolean;
  readonly uncompressedState: boolean;
  readonly stubPipeline: boolean;
}

export const DEFAULT_ENGINE_MODE: EngineMode = { writeDelayMs: 0, skipCheckpoints: false, uncompressedState: false, stubPipeline: false };

/** The copy's pipeline entry point under `stubPipeline`: the bundle built from it is a few hundred bytes. */
export const STUB_PIPELINE = `console.log("mirror-fleet bench: a stub, not the pipeline");\n`;

export interface EngineMeasure {
  readonly n: number;
  readonly mode: EngineMode;
  /** Distinct upstreams (the health check reads each once). */
  readonly upstreams: number;
  /** Entries whose `notify` was left out (a target needs a webhook secret). */
  readonly droppedNotify: number;
  /** Resources in the state after the first up, by type (e.g. `github:index/repositoryFile:RepositoryFile`). */
  readonly resources: Record<string, number>;
  /** Size of the stack's checkpoint after the first up, as JSON (the local backend serialises and rewrites it after every step). */
  readonly stateBytes: number;
  /** Of the same, the bytes in the file: zstd-compressed unless `uncompressedState`. */
  readonly stateWrittenBytes: number;
  /** Of that, the pipeline repository's resources (once per fleet, the bundle among them). */
  readonly pipelineStateBytes: number;
  readonly firstUp: RunMeasure;
  readonly preview: RunMeasure;
  readonly refresh: RunMeasure;
  /** `--engine-save-cost`: one save's work on the state after the first up, as saved and without a part (SAVE_COST_VARIANTS). */
  readonly saveCost?: readonly SaveCost[];
}

export interface SaveCost {
  /** What of the state was timed (SAVE_COST_VARIANTS). */
  readonly state: string;
  /** The checkpoint's bytes as the save serialises them. */
  readonly bytes: number;
  /** How many saves were timed. */
  readonly saves: number;
  readonly msPerSave: number;
}

interface StateResource {
  readonly urn: string;
  readonly type: string;
  readonly inputs?: Record<string, unknown>;
  readonly outputs?: Record<string, unknown>;
  readonly [k: string]: unknown;
}

const FILE_TYPE = "github:index/repositoryFile:RepositoryFile";
const withoutContent = (r: StateResource): StateResource =>
  r.type !== FILE_TYPE ? r : { ...r, inputs: { ...r.inputs, content: "" }, outputs: { ...r.outputs, content: "" } };

/**
 * The states `--engine-save-cost` times: the checkpoint as the first up left
 * it, and the same without one part, so that the difference is what that part
 * costs every save.
 */
export const SAVE_COST_VARIANTS: ReadonlyArray<readonly [string, (r: StateResource) => StateResource]> = [
  ["as saved", (r) => r],
  ["without the source positions and stack traces (the Pulumi SDK sends them)", ({ sourcePosition: _p, stackTrace: _s, ...r }) => r as StateResource],
  ["without the mirrors' README contents", (r) => (r.urn.endsWith("-file-readme-md") && !r.urn.includes("PipelineRepository") ? withoutContent(r) : r)],
  ["without any file content (input and output)", withoutContent],
];

/** How long each state is timed (at least 3 saves): a 10-mirror save takes about 30 ms. */
export const SAVE_SECONDS = 3;

/**
 * tools/go/pulumi/savecost, built on first use into the tools cache (keyed by
 * the CLI version and its source) from the module the CLI is built from.
 */
function saveCostBinary(): string {
  const src = path.join(__dirname, "..", "tools", "go", "pulumi");
  const key = crypto.createHash("sha256").update(fs.readFileSync(path.join(src, "savecost", "main.go"))).update(fs.readFileSync(path.join(src, "go.sum"))).digest("hex").slice(0, 12);
  const bin = path.join(builtToolRoot("savecost", `${PULUMI_CLI_VERSION}-${key}`), "bin", "savecost");
  if (!fs.existsSync(bin)) {
    execFileSync("go", ["build", "-o", bin, "./savecost"], { cwd: src, stdio: ["ignore", "ignore", "inherit"], env: { ...process.env, CGO_ENABLED: "0", GOFLAGS: "-buildvcs=false", GOTOOLCHAIN: process.env.GOTOOLCHAIN ?? "local" } });
  }
  return bin;
}

/**
 * The synthetic fleet as files in the copy: mirrors/<name>.ts and the
 * override Dockerfiles. `notify` is left out unless `keepNotify` (a target
 * needs its webhook as a stack secret: EngineSession.setSecret).
 */
export function writeSyntheticFleet(p: EngineProject, n: number, keepNotify = false): { droppedNotify: number } {
  for (const f of fs.readdirSync(path.join(p.dir, "mirrors"))) p.remove(`mirrors/${f}`);
  let droppedNotify = 0;
  for (const e of syntheticEntries(n)) {
    const spec = { ...(e.spec as Record<string, unknown>) };
    if ("notify" in spec && !keepNotify) (delete spec.notify, droppedNotify++);
    p.write(e.file, `import { defineMirror } from "../components/spec";\nexport default defineMirror(${JSON.stringify(spec, null, 2)});\n`);
    const override = spec.override as { file?: string } | null;
    if (override?.file) p.write(`mirrors/${override.file}`, SYNTHETIC_DOCKERFILE);
  }
  return { droppedNotify };
}

/** Releases each seeded upstream has (a release carries its date: no tag commit is looked up). */
export const UPSTREAM_RELEASES = ["v1.4.0", "v1.4.1", "v1.4.2"];

/** The distinct upstreams of the synthetic fleet, seeded as public repositories with releases. */
function seedUpstreams(s: GitHubStandIn, n: number): number {
  const repos = new Set(syntheticEntries(n).map((e) => (e.spec as { upstream: { repo: string } }).upstream.repo));
  for (const repo of repos) {
    s.addRepo(repo, { private: false, date: "2026-11-01T00:00:00Z" });
    UPSTREAM_RELEASES.forEach((tag, i) => s.addRelease(repo, { tag, date: `2026-11-0${i + 1}T00:00:00Z` }));
  }
  return repos.size;
}

/** Resources in a stack export, by type. */
export function typesOf(exported: { deployment: { resources?: Array<{ type: string }> } }): Record<string, number> {
  const out: Record<string, number> = {};
  for (const res of exported.deployment.resources ?? []) out[res.type] = (out[res.type] ?? 0) + 1;
  return out;
}

/**
 * A synthetic fleet of `n` mirrors in a copy of the project, a fresh
 * stand-in seeded with the owner and the upstreams, and the recording proxy
 * in front of it; `run` measures one `npm run up|preview`.
 */
export class EngineSession {
  readonly upstreams: number;
  readonly droppedNotify: number;
  readonly env: Record<string, string>;

  private constructor(
    readonly n: number,
    readonly s: GitHubStandIn,
    readonly proxy: Awaited<ReturnType<typeof recordingProxy>>,
    readonly p: EngineProject,
    keepNotify: boolean,
    readonly mode: EngineMode,
  ) {
    s.addOrg(OWNER, { canApprovePullRequestReviews: true });
    this.upstreams = seedUpstreams(s, n);
    this.droppedNotify = writeSyntheticFleet(p, n, keepNotify).droppedNotify;
    if (mode.stubPipeline) p.write("pipeline/main.ts", STUB_PIPELINE);
    // A throw-away stack with the copy's own passphrase: a salt from the checkout's stack would not match it.
    p.write("Pulumi.prod.yaml", p.read("Pulumi.prod.yaml").replace(/^encryptionsalt:.*\n?/m, ""));
    this.env = {
      ...p.env(`${proxy.url}/`, s.token),
      MIRROR_FLEET_WRITE_DELAY_MS: String(mode.writeDelayMs),
      ...(mode.skipCheckpoints ? { PULUMI_SKIP_CHECKPOINTS: "true" } : {}),
      ...(mode.uncompressedState ? { PULUMI_DIY_BACKEND_ZSTD: "false" } : {}),
    };
  }

  static async start(n: number, opts: { keepNotify?: boolean; mode?: EngineMode } = {}): Promise<EngineSession> {
    requireBuiltTools();
    // No hourly limit here: a first up of 100 mirrors sends about 6,000 requests, more than the 5,000 an
    // hour GitHub gives a token, and the released provider stops when the limit is spent (docs/scale.md;
    // test/engine/rate-limit.test.ts). This measures the engine and the state, not that limit.
    const s = await startGitHubStandIn({ rateLimit: { limit: 1_000_000, windowMs: 3_600_000 } });
    const proxy = await recordingProxy(s.url);
    return new EngineSession(n, s, proxy, EngineProject.create("mirror-fleet-bench-"), opts.keepNotify ?? false, opts.mode ?? DEFAULT_ENGINE_MODE);
  }

  /** Creates the stack and sets one secret in its config (e.g. `mirror-fleet:slackWebhookUrl`). */
  async setSecret(key: string, value: string): Promise<void> {
    fs.mkdirSync(this.p.stateDir, { recursive: true });
    for (const args of [["stack", "init", "prod"], ["config", "set", "--secret", key, value, "--stack", "prod"]]) {
      const r = await this.p.pulumi(args, this.env);
      if (r.code !== 0) throw new Error(`pulumi ${args[0]} ${args[1]} failed: ${r.stderr}`);
    }
  }

  /** Generous: the first up of 50 mirrors is ~1,200 resources on 2 cores; each mirror makes about 23 writes. */
  private get timeout(): number {
    return 120_000 + this.n * (30_000 + 25 * this.mode.writeDelayMs);
  }

  async run(args: string[]): Promise<RunMeasure> {
    const { s, proxy, p } = this;
    const fromStandIn = s.requests.length;
    const fromProxy = proxy.seen.length;
    const t0 = performance.now();
    const r: EngineRun = await p.run(args, this.env, this.timeout);
    const ms = performance.now() - t0;
    if (r.code !== 0 || !r.summary) {
      throw new Error(`npm run ${args.join(" ")} failed (${r.code}):\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-2000)}`);
    }
    if (s.rejected.length || s.unimplemented.length) {
      throw new Error(`requests the stand-in refused: ${JSON.stringify([...s.rejected, ...s.unimplemented].slice(0, 5))}`);
    }
    const seen = proxy.seen.slice(fromProxy);
    // The stand-in matched each request to an operation; by method and URL, so the proxy's order does not matter.
    const opOf = new Map<string, string | null>();
    for (const q of s.requests.slice(fromStandIn)) opOf.set(`${q.method} ${q.url}`, q.operationId);
    const byType: Record<string, { requests: number; writes: number }> = {};
    const ops: Record<string, number> = {};
    const program = { owner: 0, adopt: 0, health: 0 };
    for (const q of seen) {
      if (fromProgram(q)) {
        program[programPurpose(q, OWNER)]++;
        continue;
      }
      const op = `${q.method} ${opOf.get(`${q.method} ${q.url}`) ?? q.url.replace(/\?.*$/, "")}`;
      ops[op] = (ops[op] ?? 0) + 1;
      const slot = (byType[resourceTypeOf(op)] ??= { requests: 0, writes: 0 });
      slot.requests++;
      if (WRITE_METHODS.has(q.method)) slot.writes++;
    }
    return {
      ms,
      changes: Object.fromEntries(Object.entries(r.summary.changes).filter(([op, c]) => op !== "same" && c > 0)),
      requests: seen.length,
      writes: seen.filter((q) => WRITE_METHODS.has(q.method)).length,
      ...program,
      ops,
      byType,
    };
  }

  /** Resources in the stack's state, by type. */
  async resources(): Promise<Record<string, number>> {
    const r = await this.p.pulumi(["stack", "export", "--stack", "prod"], this.env, 120_000);
    if (r.code !== 0) throw new Error(`pulumi stack export failed: ${r.stderr}`);
    return typesOf(JSON.parse(r.stdout));
  }

  /**
   * Bytes of the stack's checkpoint in the local backend, read once: as JSON
   * (compact, as the engine serialises it), as written (`prod.json` or
   * `prod.json.zst`), and of the JSON the pipeline repository's resources.
   */
  stateBytes(): { json: number; written: number; pipeline: number } {
    const { written, json, doc } = this.checkpoint();
    const pipeline = (doc.checkpoint.latest.resources ?? []).filter((r) => r.urn.includes("mirror-fleet:index:PipelineRepository")).reduce((n, r) => n + JSON.stringify(r).length, 0);
    return { json: json.length, written: written.length, pipeline };
  }

  /** One save's work on the stack's checkpoint, as saved and without each part of SAVE_COST_VARIANTS. */
  saveCost(): SaveCost[] {
    const { doc } = this.checkpoint();
    const dir = fs.mkdtempSync(path.join(this.p.base, "save-cost-"));
    const files = SAVE_COST_VARIANTS.map(([, change], i) => {
      const f = path.join(dir, `${i}.json`);
      fs.writeFileSync(f, JSON.stringify({ ...doc, checkpoint: { ...doc.checkpoint, latest: { ...doc.checkpoint.latest, resources: (doc.checkpoint.latest.resources ?? []).map(change) } } }));
      return f;
    });
    const out = execFileSync(saveCostBinary(), [String(SAVE_SECONDS), ...files], { encoding: "utf8", env: { PATH: process.env.PATH, HOME: process.env.HOME, PULUMI_CONFIG_PASSPHRASE: ENGINE_PASSPHRASE } });
    const lines = out.trim().split("\n").map((l) => JSON.parse(l) as { bytes: number; saves: number; msPerSave: number });
    return lines.map((l, i) => ({ state: SAVE_COST_VARIANTS[i][0], bytes: l.bytes, saves: l.saves, msPerSave: l.msPerSave }));
  }

  /** The stack's checkpoint: its bytes as written, as JSON, and parsed. */
  private checkpoint(): { written: Buffer; json: Buffer; doc: { checkpoint: { latest: { resources?: StateResource[] } } } } {
    const file = this.checkpointFile();
    const written = fs.readFileSync(file);
    const json = file.endsWith(".zst") ? zlib.zstdDecompressSync(written) : written;
    return { written, json, doc: JSON.parse(json.toString("utf8")) };
  }

  /** The one checkpoint file the backend keeps: compressed or not, as the last run wrote it. */
  private checkpointFile(): string {
    const base = path.join(this.p.stateDir, ".pulumi", "stacks", "mirror-fleet", "prod.json");
    const found = [base, `${base}.zst`].filter((f) => fs.existsSync(f));
    if (found.length !== 1) throw new Error(`expected one checkpoint of the stack, found ${found.length}: ${found.join(", ") || "none"}`);
    return found[0];
  }

  async stop(): Promise<void> {
    await this.proxy.stop();
    await this.s.stop();
    this.p.cleanup();
  }
}

/** First `up` from empty state, then a no-op `preview` and `preview --refresh`, of `n` synthetic mirrors against a fresh stand-in. */
export async function measureEngine(n: number, log: (t: string) => void = () => undefined, mode: EngineMode = DEFAULT_ENGINE_MODE, saveCost = false): Promise<EngineMeasure> {
  const e = await EngineSession.start(n, { mode });
  try {
    log(`bench: engine, ${n} mirrors: up…\n`);
    const firstUp = await e.run(["up"]);
    const resources = await e.resources();
    const { json: stateBytes, written: stateWrittenBytes, pipeline: pipelineStateBytes } = e.stateBytes();
    if (saveCost) log(`bench: engine, ${n} mirrors: one save's cost (tools/go/pulumi/savecost)…\n`);
    const costs = saveCost ? e.saveCost() : undefined;
    log(`bench: engine, ${n} mirrors: preview…\n`);
    const preview = await e.run(["preview"]);
    log(`bench: engine, ${n} mirrors: preview --refresh…\n`);
    const refresh = await e.run(["preview", "--refresh"]);
    for (const [what, m] of [["preview", preview], ["preview --refresh", refresh]] as const) {
      if (Object.keys(m.changes).length) throw new Error(`a ${what} right after up was not a no-op: ${JSON.stringify(m.changes)}`);
    }
    return { n, mode, upstreams: e.upstreams, droppedNotify: e.droppedNotify, resources, stateBytes, stateWrittenBytes, pipelineStateBytes, firstUp, preview, refresh, ...(costs ? { saveCost: costs } : {}) };
  } finally {
    await e.stop();
  }
}

/** Operations whose measured count differs from what bench/api-budget.ts predicts for the state's resources, as "op: measured vs table". */
export function mismatches(measured: Readonly<Record<string, number>>, predicted: Readonly<Record<string, number>>): string[] {
  const ops = [...new Set([...Object.keys(measured), ...Object.keys(predicted)])].sort();
  return ops.filter((op) => (measured[op] ?? 0) !== (predicted[op] ?? 0)).map((op) => `${op}: ${measured[op] ?? 0} measured vs ${predicted[op] ?? 0} in the table`);
}

/**
 * The first up and the refresh of one size against the committed table. The
 * first `npm run up` runs the engine twice (the plan, then the update), each
 * starting the provider; its refreshes read nothing (the state is empty).
 */
export function engineCheck(r: EngineMeasure): { ok: boolean; text: string } {
  const withRun = (ops: Record<string, number>, runs: number) => ({ ...ops, ...Object.fromEntries(Object.entries(PER_RUN).map(([k, c]) => [k, (ops[k] ?? 0) + c * runs])) });
  const bad = [
    ...mismatches(r.firstUp.ops, withRun(predictOps(r.resources, "create"), 2)).map((m) => `first up, ${m}`),
    ...mismatches(r.refresh.ops, withRun(predictOps(r.resources, "read"), 1)).map((m) => `refresh, ${m}`),
  ];
  return bad.length
    ? { ok: false, text: `At ${r.n} mirrors the provider's requests differ from bench/api-budget.ts (re-measure it: npm run test:engine): ${bad.join("; ")}.` }
    : { ok: true, text: `At ${r.n} mirrors the provider's requests per operation, first up and refresh, are exactly what bench/api-budget.ts predicts.` };
}

const f1 = (x: number) => x.toFixed(1);
const kib = (bytes: number) => (bytes / 1024).toFixed(1);
const per = (x: number, n: number) => (x / n).toFixed(1);

export function engineTable(rows: readonly EngineMeasure[]): string {
  const lines = [
    "| mirrors | resources | first `up`: wall / per mirror | requests / writes per mirror | state per mirror as JSON (of it, the pipeline's share; as written) | no-op `preview`: wall | requests per mirror (program: owner + adoption + health) | `preview --refresh`: wall | requests per mirror |",
    "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
  ];
  for (const r of rows) {
    const total = Object.values(r.resources).reduce((a, b) => a + b, 0);
    lines.push(
      `| ${r.n} | ${total} | ${f1(r.firstUp.ms / 1000)} s / ${f1(r.firstUp.ms / 1000 / r.n)} s | ${per(r.firstUp.requests, r.n)} / ${per(r.firstUp.writes, r.n)} | ${kib(r.stateBytes / r.n)} KiB (${kib(r.pipelineStateBytes / r.n)} KiB; ${kib(r.stateWrittenBytes / r.n)} KiB) | ` +
        `${f1(r.preview.ms / 1000)} s | ${per(r.preview.requests, r.n)} (${per(r.preview.owner, r.n)} + ${per(r.preview.adopt, r.n)} + ${per(r.preview.health, r.n)}) | ` +
        `${f1(r.refresh.ms / 1000)} s | ${per(r.refresh.requests, r.n)} |`,
    );
  }
  return lines.join("\n");
}

/** The first up's provider requests per resource of each type: the measured cost. */
export function perTypeTable(r: EngineMeasure): string {
  const count = (short: string) => Object.entries(r.resources).find(([t]) => t.endsWith(`:${short}`))?.[1];
  const lines = [
    `| resource type (first \`up\`, ${r.n} mirrors) | resources | requests | writes | requests / writes per resource | requests per mirror |`,
    "|---|---:|---:|---:|---:|---:|",
  ];
  for (const [t, c] of Object.entries(r.firstUp.byType).sort((a, b) => b[1].requests - a[1].requests)) {
    const k = count(t);
    lines.push(`| ${t} | ${k ?? "—"} | ${c.requests} | ${c.writes} | ${k ? `${(c.requests / k).toFixed(2)} / ${(c.writes / k).toFixed(2)}` : "—"} | ${per(c.requests, r.n)} |`);
  }
  lines.push(`| program reads (owner + adoption + health) | — | ${r.firstUp.owner + r.firstUp.adopt + r.firstUp.health} | 0 | — | ${per(r.firstUp.owner + r.firstUp.adopt + r.firstUp.health, r.n)} |`);
  return lines.join("\n");
}

if (require.main === module) {
  (async () => {
    const sizes = process.argv.slice(2).map(Number);
    const rows = [];
    for (const n of sizes) rows.push(await measureEngine(n, (t) => process.stderr.write(t)));
    process.stdout.write(`${engineTable(rows)}\n\n${perTypeTable(rows.at(-1)!)}\n\n${JSON.stringify(rows)}\n`);
  })().catch((e) => {
    process.stderr.write(`bench/engine: ${(e as Error).message}\n`);
    process.exitCode = 1;
  });
}
