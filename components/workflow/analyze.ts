/**
 * Reads a rendered workflow back (parsed YAML, never string search) and
 * answers the questions the README, the bench and the tests ask:
 *
 * - `workflowCounts`: per kind of run (each schedule, dispatch, push), which
 *   jobs can run and how many image builds and Trivy scans they make; and
 *   how many jobs hold a write token while a third-party scanner runs.
 *   Jobs are followed through their `if:` conditions with a small evaluator
 *   of GitHub's expression language: what is known for the event (its name,
 *   the schedule that fired, the outputs of jobs that are skipped) is
 *   evaluated, everything else is "unknown" and counted as "can run", so
 *   the counts are upper bounds.
 * - `checkWorkflowSecurity`: the security properties every generated
 *   workflow must have, each finding naming the rule and the place.
 */
import { isMap, isScalar, isSeq, parse, parseDocument, type Node, type Pair } from "yaml";
import { PIPELINE_COMMAND } from "../pipeline-action";
import { ACTIONS } from "../pins";

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function asDoc(workflow: string | Obj): Obj {
  const doc = typeof workflow === "string" ? (parse(workflow) as unknown) : workflow;
  if (!isObj(doc)) throw new Error("workflow: expected a YAML mapping at the top");
  return doc;
}

function jobsOf(doc: Obj): Array<[string, Obj]> {
  return isObj(doc.jobs) ? Object.entries(doc.jobs).filter((e): e is [string, Obj] => isObj(e[1])) : [];
}

function stepsOf(job: Obj): Obj[] {
  return Array.isArray(job.steps) ? job.steps.filter(isObj) : [];
}

/** Script lines without comments (a `# trivy image` comment is not a scan). */
function scriptLines(step: Obj): string[] {
  return typeof step.run === "string" ? step.run.split("\n").map((l) => l.replace(/(^|\s)#.*$/, "")) : [];
}

const TRIVY_SCAN = /(?:^|[\s;|&(])trivy\s+(?:image|i|fs|filesystem|rootfs|repo|repository|vm|sbom|k8s|kubernetes|config|conf)(?=\s|$)/g;
const TRIVY_ANY = /(?:^|[\s;|&(/])trivy(?=\s|$)/;
const IMAGE_BUILD = /(?:^|[\s;|&(])(?:docker\s+(?:buildx\s+)?(?:build|bake)|buildah\s+(?:bud|build)|podman\s+(?:build|buildx\s+build)|kaniko|img\s+build)(?=\s|$)/g;
const BUILD_ACTIONS = ["docker/build-push-action", "docker/bake-action", "redhat-actions/buildah-build"];
const SCANNER_ACTIONS = ["aquasecurity/trivy-action", "aquasecurity/setup-trivy"];

function usesName(step: Obj): string | undefined {
  return typeof step.uses === "string" ? step.uses.split("@")[0] : undefined;
}

function count(lines: string[], re: RegExp): number {
  return lines.reduce((n, l) => n + (l.match(re)?.length ?? 0), 0);
}

function stepBuilds(step: Obj): number {
  const u = usesName(step);
  return (u && BUILD_ACTIONS.includes(u) ? 1 : 0) + count(scriptLines(step), IMAGE_BUILD);
}

/** The pipeline's own scan: Trivy once per platform of the step's PLATFORMS, and once more for --source. */
const PIPELINE_SCAN = new RegExp(`${PIPELINE_COMMAND.replace(/[.*+?^${}()|[\]\\$]/g, "\\$&")}\\s+scan(?=\\s|$)`);

function pipelineScans(step: Obj): number {
  const env = (step.env ?? {}) as Obj;
  const platforms = String(env.PLATFORMS ?? "").split(",").filter((p) => p.trim() !== "").length || 1;
  return scriptLines(step)
    .filter((l) => PIPELINE_SCAN.test(l))
    .reduce((n, l) => n + platforms + (/\s--source(?=[\s=])/.test(l) ? 1 : 0), 0);
}

function stepScans(step: Obj): number {
  const u = usesName(step);
  return (u === "aquasecurity/trivy-action" ? 1 : 0) + count(scriptLines(step), TRIVY_SCAN) + pipelineScans(step);
}

function stepRunsScanner(step: Obj): boolean {
  const u = usesName(step);
  return (u !== undefined && SCANNER_ACTIONS.includes(u)) || scriptLines(step).some((l) => TRIVY_ANY.test(l) || PIPELINE_SCAN.test(l));
}

/** Whether the job's token can write anything: its own permissions, else the workflow's, else GitHub's default (may write). */
function holdsWriteToken(doc: Obj, job: Obj): boolean {
  const p = "permissions" in job ? job.permissions : doc.permissions;
  if (p === undefined || p === null) return true;
  if (typeof p === "string") return p !== "read-all";
  return isObj(p) && Object.values(p).some((v) => v === "write");
}

function matrixSize(job: Obj): number {
  const s = isObj(job.strategy) ? job.strategy : undefined;
  if (!s || !isObj(s.matrix)) return 1;
  let n = 1;
  for (const [k, v] of Object.entries(s.matrix)) {
    if (k === "include" || k === "exclude") continue;
    if (Array.isArray(v)) n *= Math.max(v.length, 1);
  }
  const inc = Array.isArray(s.matrix.include) ? s.matrix.include.length : 0;
  return n + inc;
}

// ---------------------------------------------------------------------------
// GitHub expressions, evaluated with "unknown".

const UNKNOWN = Symbol("unknown");
type V = string | number | boolean | null | typeof UNKNOWN;

export interface Scope {
  lookup(path: readonly string[]): V;
  call(name: string, args: V[]): V;
}

type Tok = { t: "id" | "str" | "num" | "op"; v: string };

function tokenize(src: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    if (/\s/.test(c)) {
      i++;
    } else if (c === "'") {
      let s = "";
      i++;
      for (;;) {
        if (i >= src.length) throw new Error(`expression: unterminated string in ${src}`);
        if (src[i] === "'" && src[i + 1] === "'") {
          s += "'";
          i += 2;
        } else if (src[i] === "'") {
          i++;
          break;
        } else s += src[i++];
      }
      out.push({ t: "str", v: s });
    } else if (/[0-9]/.test(c)) {
      const m = /^[0-9]+(\.[0-9]+)?/.exec(src.slice(i))!;
      out.push({ t: "num", v: m[0] });
      i += m[0].length;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_-]*/.exec(src.slice(i))!;
      out.push({ t: "id", v: m[0] });
      i += m[0].length;
    } else {
      const two = src.slice(i, i + 2);
      if (["==", "!=", "&&", "||", "<=", ">="].includes(two)) {
        out.push({ t: "op", v: two });
        i += 2;
      } else if ("!()[].,<>*".includes(c)) {
        out.push({ t: "op", v: c });
        i++;
      } else throw new Error(`expression: unexpected ${JSON.stringify(c)} in ${src}`);
    }
  }
  return out;
}

function truthy(v: V): boolean | typeof UNKNOWN {
  if (v === UNKNOWN) return UNKNOWN;
  if (typeof v === "number") return v !== 0 && !Number.isNaN(v);
  return v !== false && v !== null && v !== "";
}

function toNumber(v: Exclude<V, typeof UNKNOWN>): number {
  if (v === null) return 0;
  if (typeof v === "boolean") return v ? 1 : 0;
  if (typeof v === "number") return v;
  const t = v.trim();
  return t === "" ? 0 : Number(t);
}

/** GitHub's loose equality: strings case-insensitively, mixed types as numbers. */
function equals(a: V, b: V): V {
  if (a === UNKNOWN || b === UNKNOWN) return UNKNOWN;
  if (typeof a === "string" && typeof b === "string") return a.toLowerCase() === b.toLowerCase();
  if (typeof a === typeof b) return a === b;
  const x = toNumber(a);
  const y = toNumber(b);
  return !Number.isNaN(x) && x === y;
}

export function evaluate(src: string, scope: Scope): V {
  const toks = tokenize(src.trim().replace(/^\$\{\{([\s\S]*)\}\}$/, "$1"));
  let pos = 0;
  const peek = (v?: string) => (pos < toks.length && (v === undefined || toks[pos].v === v) ? toks[pos] : undefined);
  const take = (v: string) => {
    if (!peek(v)) throw new Error(`expression: expected ${v} in ${src}`);
    pos++;
  };
  const orExpr = (): V => {
    let left = andExpr();
    while (peek("||")) {
      pos++;
      const right = andExpr();
      const l = truthy(left);
      if (l === true) continue;
      if (l === false) left = right;
      else left = truthy(right) === true ? right : UNKNOWN;
    }
    return left;
  };
  const andExpr = (): V => {
    let left = cmpExpr();
    while (peek("&&")) {
      pos++;
      const right = cmpExpr();
      const l = truthy(left);
      if (l === false) continue;
      if (l === true) left = right;
      else left = truthy(right) === false ? false : UNKNOWN;
    }
    return left;
  };
  const cmpExpr = (): V => {
    let left = unary();
    for (;;) {
      const op = peek("==") ?? peek("!=") ?? peek("<") ?? peek(">") ?? peek("<=") ?? peek(">=");
      if (!op || op.t !== "op") return left;
      pos++;
      const right = unary();
      if (op.v === "==") left = equals(left, right);
      else if (op.v === "!=") {
        const e = equals(left, right);
        left = e === UNKNOWN ? UNKNOWN : !e;
      } else left = UNKNOWN;
    }
  };
  const unary = (): V => {
    if (peek("!")) {
      pos++;
      const t = truthy(unary());
      return t === UNKNOWN ? UNKNOWN : !t;
    }
    return primary();
  };
  const primary = (): V => {
    const t = toks[pos++];
    if (!t) throw new Error(`expression: unexpected end of ${src}`);
    if (t.t === "str") return t.v;
    if (t.t === "num") return Number(t.v);
    if (t.t === "op" && t.v === "(") {
      const v = orExpr();
      take(")");
      return v;
    }
    if (t.t !== "id") throw new Error(`expression: unexpected ${t.v} in ${src}`);
    if (t.v === "true" || t.v === "false") return t.v === "true";
    if (t.v === "null") return null;
    if (peek("(")) {
      pos++;
      const args: V[] = [];
      while (!peek(")")) {
        args.push(orExpr());
        if (peek(",")) pos++;
      }
      take(")");
      return scope.call(t.v.toLowerCase(), args);
    }
    const path = [t.v];
    for (;;) {
      if (peek(".")) {
        pos++;
        const n = toks[pos++];
        if (!n || (n.t !== "id" && n.v !== "*")) throw new Error(`expression: bad property in ${src}`);
        path.push(n.v);
      } else if (peek("[")) {
        pos++;
        const k = orExpr();
        take("]");
        path.push(typeof k === "string" ? k : "*");
      } else break;
    }
    return scope.lookup(path);
  };
  const v = orExpr();
  if (pos !== toks.length) throw new Error(`expression: trailing ${toks[pos].v} in ${src}`);
  return v;
}

const STATUS_FUNCTIONS = /\b(?:success|failure|always|cancelled)\s*\(/;

/** A kind of run: the event and, for a schedule, the cron that fired. */
export interface RunKind {
  readonly event: "schedule" | "workflow_dispatch" | "push" | string;
  readonly schedule?: string;
}

type JobState = "skipped" | "may-run";

/**
 * `needs` of a job plus theirs, transitively. GitHub's implicit `success()`
 * looks at all of them: a job whose direct needs succeeded is still skipped
 * when an ancestor further up was skipped (actions/runner#491).
 */
function ancestorsOf(jobs: ReadonlyMap<string, Obj>, id: string, seen = new Set<string>()): string[] {
  for (const n of needsOf(jobs.get(id) ?? {})) {
    if (seen.has(n)) continue;
    seen.add(n);
    ancestorsOf(jobs, n, seen);
  }
  return [...seen];
}

function scopeFor(run: RunKind, ancestors: readonly string[], states: ReadonlyMap<string, JobState>): Scope {
  return {
    lookup(path) {
      const [root, a, b] = path;
      if (root === "github") {
        if (a === "event_name") return run.event;
        if (a === "event" && b === "schedule") return run.event === "schedule" ? (run.schedule ?? UNKNOWN) : null;
        return UNKNOWN;
      }
      if (root === "inputs") return run.event === "workflow_dispatch" ? UNKNOWN : null;
      if (root === "needs" && a !== undefined) {
        const s = states.get(a);
        if (s === "skipped") return b === "result" ? "skipped" : b === "outputs" ? "" : null;
        return UNKNOWN;
      }
      return UNKNOWN;
    },
    call(name) {
      const ns = ancestors.map((n) => states.get(n));
      if (name === "always") return true;
      if (name === "cancelled") return false;
      if (name === "success") return ns.some((s) => s === "skipped") ? false : ns.length === 0 ? true : UNKNOWN;
      if (name === "failure") return ns.every((s) => s === "skipped") ? false : UNKNOWN;
      return UNKNOWN;
    },
  };
}

function needsOf(job: Obj): string[] {
  if (typeof job.needs === "string") return [job.needs];
  return Array.isArray(job.needs) ? job.needs.filter((n): n is string => typeof n === "string") : [];
}

function conditionHolds(cond: unknown, scope: Scope): boolean {
  if (cond === undefined || cond === null) return truthy(scope.call("success", [])) !== false;
  if (typeof cond === "boolean") return cond;
  const src = String(cond);
  const full = STATUS_FUNCTIONS.test(src) ? src : `success() && (${src.trim().replace(/^\$\{\{([\s\S]*)\}\}$/, "$1")})`;
  return truthy(evaluate(full, scope)) !== false;
}

/** Jobs that can run for this kind of run, in dependency order. */
export function jobsThatCanRun(workflow: string | Obj, run: RunKind): string[] {
  const doc = asDoc(workflow);
  const jobs = new Map(jobsOf(doc));
  const states = new Map<string, JobState>();
  const order: string[] = [];
  const visit = (id: string, stack: string[]) => {
    if (states.has(id)) return;
    if (stack.includes(id)) throw new Error(`jobs.${id}: needs form a cycle (${[...stack, id].join(" -> ")})`);
    const job = jobs.get(id);
    if (!job) throw new Error(`jobs: ${stack[stack.length - 1]} needs ${id}, which does not exist`);
    const needs = needsOf(job);
    for (const n of needs) visit(n, [...stack, id]);
    const scope = scopeFor(run, ancestorsOf(jobs, id), states);
    states.set(id, conditionHolds(job.if, scope) ? "may-run" : "skipped");
    order.push(id);
  };
  for (const id of jobs.keys()) visit(id, []);
  return order.filter((id) => states.get(id) === "may-run");
}

/** Every kind of run the workflow's triggers can start. */
export function runKinds(workflow: string | Obj): RunKind[] {
  const doc = asDoc(workflow);
  const on = doc.on ?? (doc as Obj)["true"];
  const kinds: RunKind[] = [];
  const events = typeof on === "string" ? [on] : Array.isArray(on) ? on.map(String) : isObj(on) ? Object.keys(on) : [];
  for (const e of events) {
    if (e === "schedule" && isObj(on) && Array.isArray(on.schedule)) {
      for (const s of on.schedule) if (isObj(s) && typeof s.cron === "string") kinds.push({ event: "schedule", schedule: s.cron });
    } else kinds.push({ event: e });
  }
  return kinds;
}

export interface RunCounts {
  readonly run: RunKind;
  readonly jobs: readonly string[];
  readonly builds: number;
  readonly trivyScans: number;
}

export interface WorkflowCounts {
  /** Image builds in the run that builds the most (the build run: 1). */
  readonly buildsPerRun: number;
  /** Trivy scans in the run that scans the most (the build run: filesystem + image = 2). */
  readonly trivyScansPerRun: number;
  /** Jobs that hold any write scope while running a third-party scanner (0). */
  readonly writeTokenJobsWhileScanning: number;
  readonly writeTokenScannerJobs: readonly string[];
  readonly perRun: readonly RunCounts[];
}

/** The counts the README and the bench report, computed from a rendered workflow (YAML text or parsed). */
export function workflowCounts(workflow: string | Obj): WorkflowCounts {
  const doc = asDoc(workflow);
  const jobs = new Map(jobsOf(doc));
  const perRun = runKinds(doc).map((run): RunCounts => {
    const ids = jobsThatCanRun(doc, run);
    let builds = 0;
    let trivyScans = 0;
    for (const id of ids) {
      const job = jobs.get(id)!;
      const states = new Map<string, JobState>([...jobs.keys()].map((j) => [j, ids.includes(j) ? "may-run" : "skipped"] as const));
      const scope = scopeFor(run, ancestorsOf(jobs, id), states);
      const stepScope: Scope = { lookup: (p) => (p[0] === "steps" ? UNKNOWN : scope.lookup(p)), call: (n, a) => (n === "success" || n === "failure" ? UNKNOWN : scope.call(n, a)) };
      for (const step of stepsOf(job)) {
        if (step.if !== undefined && truthy(evaluate(String(step.if), stepScope)) === false) continue;
        builds += stepBuilds(step) * matrixSize(job);
        trivyScans += stepScans(step) * matrixSize(job);
      }
    }
    return { run, jobs: ids, builds, trivyScans };
  });
  const writeTokenScannerJobs = [...jobs].filter(([, j]) => stepsOf(j).some(stepRunsScanner) && holdsWriteToken(doc, j)).map(([id]) => id);
  return {
    buildsPerRun: Math.max(0, ...perRun.map((r) => r.builds)),
    trivyScansPerRun: Math.max(0, ...perRun.map((r) => r.trivyScans)),
    writeTokenJobsWhileScanning: writeTokenScannerJobs.length,
    writeTokenScannerJobs,
    perRun,
  };
}

// ---------------------------------------------------------------------------
// Security properties.

export type SecurityRule =
  | "top-permissions"
  | "job-permissions"
  | "pinned-uses"
  | "persist-credentials"
  | "expression-in-run"
  | "timeout"
  | "concurrency"
  | "scanner-with-write-token";

export interface SecurityFinding {
  readonly rule: SecurityRule;
  /** `jobs.<id>` or `jobs.<id>.steps[<n>]`, or the top-level key. */
  readonly where: string;
  readonly message: string;
}

const VERSIONS = new Map<string, string>(Object.values(ACTIONS).map((a) => [`${a.uses}@${a.sha}`, a.version]));

/** The `# vX.Y.Z` comment after each `uses:` value, read from the YAML document (comments are not in plain parsed data). */
function usesComments(text: string): Map<string, string | undefined> {
  const out = new Map<string, string | undefined>();
  const doc = parseDocument(text);
  const jobs = doc.get("jobs", true);
  if (!isMap(jobs)) return out;
  for (const jp of jobs.items as Pair[]) {
    const id = isScalar(jp.key) ? String(jp.key.value) : "?";
    const steps = isMap(jp.value) ? jp.value.get("steps", true) : undefined;
    if (!isSeq(steps)) continue;
    steps.items.forEach((s: unknown, i: number) => {
      if (!isMap(s)) return;
      const u = s.get("uses", true) as Node | undefined;
      if (isScalar(u)) out.set(`jobs.${id}.steps[${i}]`, u.comment?.trim());
    });
  }
  return out;
}

/**
 * Every violated security property of a rendered workflow; empty when all
 * hold. `pipelineRepository` (owner/name) is the fleet's own pipeline: its
 * `uses:` is not in the pin table but must be pinned to a full commit SHA too.
 */
export function checkWorkflowSecurity(workflowText: string, opts: { readonly pipelineRepository?: string } = {}): SecurityFinding[] {
  const doc = asDoc(workflowText);
  const f: SecurityFinding[] = [];
  const add = (rule: SecurityRule, where: string, message: string) => f.push({ rule, where, message });

  if (!isObj(doc.permissions) || Object.keys(doc.permissions).length !== 0) {
    add("top-permissions", "permissions", `must be {} (got ${JSON.stringify(doc.permissions ?? null)})`);
  }
  const conc = doc.concurrency;
  if (!isObj(conc) || typeof conc.group !== "string" || conc.group.trim() === "" || conc["cancel-in-progress"] !== false) {
    add("concurrency", "concurrency", "must set a group and cancel-in-progress: false, so two runs never race on one tag");
  }
  const comments = usesComments(workflowText);
  for (const [id, job] of jobsOf(doc)) {
    const where = `jobs.${id}`;
    if (!isObj(job.permissions)) add("job-permissions", where, `must state its permissions as a mapping (got ${JSON.stringify(job.permissions ?? null)})`);
    const t = job["timeout-minutes"];
    if (typeof t !== "number" || !Number.isInteger(t) || t <= 0) add("timeout", where, `must set timeout-minutes (got ${JSON.stringify(t ?? null)})`);
    if (typeof job.uses === "string") add("pinned-uses", where, `reusable workflow ${job.uses} is not in the pin table`);
    stepsOf(job).forEach((step, i) => {
      const at = `${where}.steps[${i}]`;
      if (typeof step.run === "string" && step.run.includes("${{")) {
        add("expression-in-run", at, "run script holds ${{ }}; pass data through env:");
      }
      if (typeof step.uses === "string") {
        const version = VERSIONS.get(step.uses);
        const fleetPipeline = opts.pipelineRepository !== undefined && usesName(step) === opts.pipelineRepository;
        if (!/^[^@\s]+@[0-9a-f]{40}$/.test(step.uses)) add("pinned-uses", at, `${step.uses} is not pinned to a 40-hex commit SHA`);
        else if (fleetPipeline) {
          // The fleet's pipeline: pinned by commit, and told which bundle it must find there.
          const w = isObj(step.with) ? step.with : {};
          if (!/^[0-9a-f]{64}$/.test(String(w["bundle-sha256"] ?? ""))) add("pinned-uses", at, `${step.uses} must be given bundle-sha256 (64 hex)`);
        } else if (!version) add("pinned-uses", at, `${step.uses} is not in the pin table (components/pins.ts)`);
        else if (comments.get(at) !== version) add("pinned-uses", at, `${step.uses} must carry the comment # ${version} (got ${JSON.stringify(comments.get(at) ?? null)})`);
        if (usesName(step) === "actions/checkout") {
          const w = isObj(step.with) ? step.with : {};
          if (w["persist-credentials"] !== false) add("persist-credentials", at, "checkout must set persist-credentials: false");
        }
      }
    });
    if (stepsOf(job).some(stepRunsScanner) && holdsWriteToken(doc, job)) {
      add("scanner-with-write-token", where, "runs a third-party scanner while holding a write token");
    }
  }
  return f;
}

export interface ChainFinding {
  readonly rule: "implicit-success-after-skip";
  readonly where: string;
  readonly message: string;
}

/**
 * Jobs that would be skipped by GitHub's transitive implicit `success()`:
 * a job without a status function in its `if:` that needs a job which
 * itself runs past skipped ancestors (its `if:` has `!cancelled()`,
 * `always()`…). When such an ancestor is skipped, this job is skipped too,
 * even though its direct needs succeeded.
 */
export function checkJobChains(workflow: string | Obj): ChainFinding[] {
  const doc = asDoc(workflow);
  const jobs = new Map(jobsOf(doc));
  const out: ChainFinding[] = [];
  for (const [id, job] of jobs) {
    const cond = job.if === undefined ? "" : String(job.if);
    if (STATUS_FUNCTIONS.test(cond)) continue;
    for (const n of needsOf(job)) {
      const need = jobs.get(n);
      if (!need || needsOf(need).length === 0) continue;
      if (STATUS_FUNCTIONS.test(need.if === undefined ? "" : String(need.if))) {
        out.push({
          rule: "implicit-success-after-skip",
          where: `jobs.${id}`,
          message: `needs ${n}, which runs after skipped jobs, with an implicit success(): ${id} is skipped whenever one of ${n}'s ancestors is (start its if: with !cancelled() and check needs.<job>.result)`,
        });
      }
    }
  }
  return out;
}
