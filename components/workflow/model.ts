/**
 * A typed model of a GitHub Actions workflow (readonly camelCase interfaces)
 * and the one render step that maps it to GitHub's keys. The mirror workflow
 * (components/workflow.ts) is written against this model, never as YAML
 * text, so that:
 * - a `${{ }}` expression can only come from `expr()` and its helpers, and
 *   a `run:` script can never contain one (rendering throws): untrusted data
 *   (tag names, issue text) reaches scripts only through `env:`;
 * - `uses:` can only name a key of the pin table (components/pins.ts), the
 *   fleet's pipeline action at a checked commit (PipelineAction), or, for a
 *   caller's one job, a shared workflow of the pipeline repository at a
 *   checked commit (SharedWorkflowRef);
 * - every job must state its permissions and its timeout (the types say so).
 */
import { checkPin, type PipelinePin } from "../pipeline-action";
import { ACTIONS, uses, type ActionKey } from "../pins";

/** A GitHub Actions expression. Rendered as `${{ source }}`; build it with the helpers below. */
export class Expr {
  constructor(readonly source: string) {}
  toString(): string {
    return `\${{ ${this.source} }}`;
  }
}

export function expr(source: string): Expr {
  if (source.includes("${{") || source.includes("}}")) throw new Error(`expression ${JSON.stringify(source)} must not contain \${{ or }}`);
  return new Expr(source);
}

/** A string literal inside an expression: single quotes, `'` doubled. */
export function lit(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

export const needsOutput = (job: string, name: string): Expr => expr(`needs.${job}.outputs.${name}`);
export const stepOutput = (step: string, name: string): Expr => expr(`steps.${step}.outputs.${name}`);
export const secret = (name: string): Expr => expr(`secrets.${name}`);
export const githubToken = (): Expr => expr("github.token");

/** `a && b && …` over expression sources, each parenthesised when it holds a lower-precedence operator. */
export function and(...parts: Array<Expr | string>): Expr {
  return expr(parts.map((p) => group(typeof p === "string" ? p : p.source)).join(" && "));
}

export function or(...parts: Array<Expr | string>): Expr {
  return expr(parts.map((p) => group(typeof p === "string" ? p : p.source)).join(" || "));
}

function group(source: string): string {
  return /\|\||&&/.test(source) ? `(${source})` : source;
}

export type Value = string | number | boolean | Expr;

export type PermissionScope =
  | "actions"
  | "attestations"
  | "contents"
  | "id-token"
  | "issues"
  | "packages"
  | "pull-requests"
  | "security-events";
export type PermissionLevel = "read" | "write";
export type Permissions = Readonly<Partial<Record<PermissionScope, PermissionLevel>>>;

interface StepBase {
  readonly name: string;
  readonly id?: string;
  /** Condition, without `${{ }}`. */
  readonly if?: Expr;
  readonly env?: Readonly<Record<string, Value>>;
  readonly continueOnError?: boolean;
}

export interface RunStep extends StepBase {
  /** A bash script. Never holds `${{ }}`: data comes in through `env`. */
  readonly run: string;
}

/**
 * The fleet's own pipeline action (components/pipeline-action.ts), the one
 * `uses:` outside the pin table: pinned by the full commit SHA the stack
 * committed it at.
 */
export class PipelineAction {
  readonly ref: string;
  constructor(pin: PipelinePin) {
    checkPin(pin);
    this.ref = `${pin.repository}@${pin.commit}`;
  }
}

export interface UsesStep extends StepBase {
  readonly uses: ActionKey | PipelineAction;
  readonly with?: Readonly<Record<string, Value>>;
}

export type Step = RunStep | UsesStep;

export interface Job {
  readonly name: string;
  readonly needs?: readonly string[];
  readonly if?: Expr;
  /** Least privilege, stated per job; `{}` is no token scope at all. */
  readonly permissions: Permissions;
  readonly timeoutMinutes: number;
  /** A GitHub environment: its secrets reach only this job, on the branches its deployment policy allows. */
  readonly environment?: string;
  readonly continueOnError?: boolean;
  readonly outputs?: Readonly<Record<string, Expr>>;
  readonly env?: Readonly<Record<string, Value>>;
  readonly steps: readonly Step[];
}

export interface DispatchInput {
  readonly description: string;
  readonly type: "string" | "boolean";
  readonly required: boolean;
  readonly default: string | boolean;
}

/** An input of a shared (reusable) workflow: what its caller passes in `with:`. */
export interface CallInput {
  readonly description: string;
  readonly type: "string" | "boolean" | "number";
  readonly required: boolean;
  readonly default?: string | boolean | number;
}

export interface Triggers {
  readonly schedule?: ReadonlyArray<{ readonly cron: string }>;
  readonly workflowDispatch?: { readonly inputs: Readonly<Record<string, DispatchInput>> };
  readonly push?: { readonly paths: readonly string[] };
  /** A shared workflow: only ever run by a caller's `uses:`, with these inputs and secrets. */
  readonly workflowCall?: {
    readonly inputs: Readonly<Record<string, CallInput>>;
    readonly secrets: Readonly<Record<string, { readonly description: string; readonly required: boolean }>>;
  };
}

const FILE = /^[A-Za-z0-9._-]+\.yml$/;

/**
 * A shared workflow in the fleet's pipeline repository, pinned by the full
 * commit SHA the stack committed it at: the one `uses:` a caller job has.
 */
export class SharedWorkflowRef {
  readonly ref: string;
  constructor(pin: PipelinePin, file: string, commit: string) {
    checkPin({ ...pin, commit });
    if (!FILE.test(file)) throw new Error(`shared workflow: file ${JSON.stringify(file)} is not allowed (allowed: a .yml name)`);
    this.ref = `${pin.repository}/.github/workflows/${file}@${commit}`;
  }
}

/** A job that runs a shared workflow: it holds no steps, only the ceiling of the token the called jobs may ask for. */
export interface CallJob {
  readonly name: string;
  readonly uses: SharedWorkflowRef;
  /** The most the called jobs' tokens may hold (each job asks for its own, at most this). */
  readonly permissions: Permissions;
  readonly with: Readonly<Record<string, Value>>;
  /**
   * Every secret the caller can read, its environments' included: GitHub
   * gives a called job its environment's secrets only this way
   * (actions/runner#1490; a live run: 47ng/actions-clever-cloud#259).
   */
  readonly secrets: "inherit";
}

export interface Workflow {
  readonly name: string;
  readonly on: Triggers;
  /** A caller's; a shared workflow runs in its caller's group. */
  readonly concurrency?: { readonly group: Value; readonly cancelInProgress: boolean };
  readonly runsOn: string;
  /** Jobs in the order they are written. */
  readonly jobs: Readonly<Record<string, Job | CallJob>>;
}

function sortedPermissions(p: Permissions): Record<string, string> {
  return Object.fromEntries(Object.entries(p).sort(([a], [b]) => (a < b ? -1 : 1)));
}

function value(v: Value): string | number | boolean {
  return v instanceof Expr ? v.toString() : v;
}

function record(r: Readonly<Record<string, Value>> | undefined): Record<string, string | number | boolean> | undefined {
  if (!r || Object.keys(r).length === 0) return undefined;
  return Object.fromEntries(Object.entries(r).map(([k, v]) => [k, value(v)]));
}

/** Drops undefined values so the YAML has no `key: null` noise; keeps key order. */
function compact<T extends Record<string, unknown>>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function renderStep(s: Step, where: string): Record<string, unknown> {
  const base = { name: s.name, id: s.id, if: s.if?.toString() };
  if ("run" in s) {
    if (s.run.includes("${{")) {
      throw new Error(`${where}: step "${s.name}": run script holds \${{ }} (allowed: pass data through env:)`);
    }
    return compact({ ...base, env: record(s.env), run: s.run, "continue-on-error": s.continueOnError });
  }
  const ref = s.uses instanceof PipelineAction ? s.uses.ref : s.uses in ACTIONS ? uses(s.uses) : undefined;
  if (ref === undefined) throw new Error(`${where}: step "${s.name}": ${String(s.uses)} is not in the pin table (components/pins.ts)`);
  return compact({ ...base, uses: ref, with: record(s.with), env: record(s.env), "continue-on-error": s.continueOnError });
}

/**
 * The model in GitHub's shape (kebab-case keys, `${{ }}` strings), ready for
 * `toYaml`. Checks what the types cannot: jobs named in `needs` exist and
 * come earlier, step ids are unique per job, timeouts are positive.
 */
export function toGithub(w: Workflow): Record<string, unknown> {
  const seen = new Set<string>();
  const jobs: Record<string, unknown> = {};
  for (const [id, j] of Object.entries(w.jobs)) {
    const where = `jobs.${id}`;
    if ("uses" in j) {
      seen.add(id);
      jobs[id] = compact({ name: j.name, permissions: sortedPermissions(j.permissions), uses: j.uses.ref, with: record(j.with), secrets: j.secrets });
      continue;
    }
    for (const n of j.needs ?? []) {
      if (!seen.has(n)) throw new Error(`${where}.needs: ${n} is not a job written before ${id}`);
    }
    if (!Number.isInteger(j.timeoutMinutes) || j.timeoutMinutes <= 0) throw new Error(`${where}.timeout-minutes: ${j.timeoutMinutes} (allowed: a positive whole number)`);
    const ids = j.steps.map((s) => s.id).filter((x): x is string => x !== undefined);
    const dup = ids.find((x, i) => ids.indexOf(x) !== i);
    if (dup) throw new Error(`${where}: step id ${dup} is used twice`);
    seen.add(id);
    jobs[id] = compact({
      name: j.name,
      needs: j.needs && j.needs.length > 0 ? [...j.needs] : undefined,
      if: j.if?.toString(),
      "runs-on": w.runsOn,
      environment: j.environment,
      "timeout-minutes": j.timeoutMinutes,
      permissions: sortedPermissions(j.permissions),
      "continue-on-error": j.continueOnError,
      outputs: record(j.outputs),
      env: record(j.env),
      steps: j.steps.map((s) => renderStep(s, where)),
    });
  }
  const on: Record<string, unknown> = {};
  if (w.on.schedule) on.schedule = w.on.schedule.map((s) => ({ cron: s.cron }));
  if (w.on.workflowDispatch) {
    on.workflow_dispatch = {
      inputs: Object.fromEntries(
        Object.entries(w.on.workflowDispatch.inputs).map(([k, i]) => [k, { description: i.description, type: i.type, required: i.required, default: i.default }]),
      ),
    };
  }
  if (w.on.push) on.push = { paths: [...w.on.push.paths] };
  if (w.on.workflowCall) {
    on.workflow_call = {
      inputs: Object.fromEntries(Object.entries(w.on.workflowCall.inputs).map(([k, i]) => [k, compact({ description: i.description, type: i.type, required: i.required, default: i.default })])),
      ...(Object.keys(w.on.workflowCall.secrets).length > 0
        ? { secrets: Object.fromEntries(Object.entries(w.on.workflowCall.secrets).map(([k, s]) => [k, { description: s.description, required: s.required }])) }
        : {}),
    };
  }
  const steps = Object.values(w.jobs).some((j) => !("uses" in j));
  return compact({
    name: w.name,
    on,
    // Nothing by default: a job that forgets to ask gets no token scope at all.
    permissions: {},
    concurrency: w.concurrency ? { group: value(w.concurrency.group), "cancel-in-progress": w.concurrency.cancelInProgress } : undefined,
    defaults: steps ? { run: { shell: "bash" } } : undefined,
    jobs,
  });
}
