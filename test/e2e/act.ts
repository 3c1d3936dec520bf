/**
 * Runs a workflow file with act (nektos/act, built by npm run engine:build),
 * jobs on the host (`-P <runs-on>=-self-hosted`), and reads back what
 * happened from act's JSON log: each job's result, each step's result
 * (by the step's id, or its index when it has none), and every output a step
 * set. The coverage of the workflow across every run is kept here too and
 * written as e2e-coverage.json.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import { check, fail, run, type Cleanup } from "./harness";

export interface ActEvent {
  /** `push`, `schedule`, `workflow_dispatch`, … */
  readonly name: string;
  /** The event payload (github.event). */
  readonly payload: Record<string, unknown>;
}

export interface ActOptions {
  readonly act: string;
  readonly workflow: string;
  /** act's working directory: a clone of the repository at the run's commit (github.sha). */
  readonly workdir: string;
  readonly runsOn: string;
  readonly localRepositories: readonly string[];
  /** Variables of the github context and every step (GITHUB_SERVER_URL, GITHUB_API_URL, …). */
  readonly githubEnv: Readonly<Record<string, string>>;
  readonly secrets: Readonly<Record<string, string>>;
  /** The runner's own environment (the process env act starts with). */
  readonly runnerEnv: Readonly<Record<string, string>>;
  readonly logDir: string;
}

export interface StepRun {
  readonly job: string;
  /** The step's `id`, or its index in the job. */
  readonly stepId: string;
  readonly result: "success" | "failure" | "skipped";
}

export interface ActRun {
  readonly scenario: string;
  readonly code: number;
  readonly jobs: ReadonlyMap<string, string>;
  readonly steps: readonly StepRun[];
  /** job -> step id -> output name -> value */
  readonly outputs: ReadonlyMap<string, ReadonlyMap<string, ReadonlyMap<string, string>>>;
  readonly log: string;
  /** act's own error lines (`Error: …`, not JSON): a failure of a job that has no result line, such as a caller's. */
  readonly errors: readonly string[];
  /** The step output lines of a job's step (raw_output), for messages. */
  lines(job: string, stepId?: string): string[];
}

interface LogLine {
  readonly jobID?: string;
  readonly stepID?: string[];
  readonly stage?: string;
  readonly stepResult?: string;
  readonly jobResult?: string;
  readonly command?: string;
  readonly name?: string;
  readonly arg?: string;
  readonly raw_output?: boolean;
  readonly level?: string;
  readonly msg?: string;
}

export async function runAct(cleanup: Cleanup, scenario: string, event: ActEvent, o: ActOptions): Promise<ActRun> {
  const eventFile = path.join(o.logDir, `${scenario}.event.json`);
  fs.writeFileSync(eventFile, JSON.stringify(event.payload, null, 2));
  const args = [
    event.name,
    "--workflows", o.workflow,
    "--directory", o.workdir,
    "--eventpath", eventFile,
    "--platform", `${o.runsOn}=-self-hosted`,
    // actions/checkout of the workflow's own repository runs (our stand-in), not act's copy of the working directory.
    "--no-skip-checkout",
    "--action-offline-mode",
    // One job at a time. act 0.2.89 crashes ("fatal error: concurrent map
    // writes", pkg/runner/expression.go getWorkflowSecrets) when two jobs of
    // a called workflow with `secrets: inherit` evaluate their expressions at
    // once: each writes into the caller's one secrets map. Seen on a clean
    // clone's CI (the publish and SARIF upload jobs of an approved build).
    // The order still follows `needs:`; GitHub would run such jobs side by side.
    "--concurrent-jobs", "1",
    "--json",
    ...o.localRepositories.flatMap((l) => ["--local-repository", l]),
    ...Object.entries(o.githubEnv).flatMap(([k, v]) => ["--env", `${k}=${v}`]),
    ...Object.entries(o.secrets).flatMap(([k, v]) => ["--secret", `${k}=${v}`]),
  ];
  const r = await run(cleanup, o.act, args, { env: { ...o.runnerEnv }, cwd: o.workdir, timeoutMs: 30 * 60_000 });
  const logFile = path.join(o.logDir, `${scenario}.act.jsonl`);
  fs.writeFileSync(logFile, r.stdout + r.stderr);
  const jobs = new Map<string, string>();
  const steps: StepRun[] = [];
  const outputs = new Map<string, Map<string, Map<string, string>>>();
  const raw: Array<{ job: string; step: string; text: string }> = [];
  const errors: string[] = [];
  for (const text of (r.stdout + "\n" + r.stderr).split("\n")) {
    if (/^Error: /.test(text)) errors.push(text);
    if (!text.startsWith("{")) continue;
    let l: LogLine;
    try {
      l = JSON.parse(text) as LogLine;
    } catch {
      continue;
    }
    if (!l.jobID) continue;
    if (l.jobResult) jobs.set(l.jobID, l.jobResult);
    const top = l.stepID && l.stepID.length === 1 ? l.stepID[0] : undefined;
    if ((l.raw_output || l.level === "error" || l.level === "warning") && l.stepID) raw.push({ job: l.jobID, step: l.stepID[0], text: l.msg ?? "" });
    if (top === undefined) continue;
    if (l.stepResult && l.stage === "Main") steps.push({ job: l.jobID, stepId: top, result: l.stepResult as StepRun["result"] });
    if (l.command === "set-output" && l.name !== undefined) {
      const job = outputs.get(l.jobID) ?? new Map<string, Map<string, string>>();
      const step = job.get(top) ?? new Map<string, string>();
      step.set(l.name, l.arg ?? "");
      job.set(top, step);
      outputs.set(l.jobID, job);
    }
  }
  return {
    scenario,
    code: r.code,
    jobs,
    steps,
    outputs,
    log: logFile,
    errors,
    lines: (job, stepId) => raw.filter((x) => x.job === job && (stepId === undefined || x.step === stepId)).flatMap((x) => x.text.trimEnd().split("\n")),
  };
}

// ---------------------------------------------------------------- the workflow's shape

interface WfStep {
  readonly id?: string;
  readonly name?: string;
  readonly run?: string;
  readonly uses?: string;
}

interface WfJob {
  readonly steps?: WfStep[];
  readonly outputs?: Record<string, string>;
}

export interface WorkflowShape {
  readonly jobs: ReadonlyArray<{ readonly id: string; readonly outputs: Readonly<Record<string, string>>; readonly steps: ReadonlyArray<{ readonly stepId: string; readonly name: string; readonly kind: "run" | "uses" }> }>;
  /** Every `needs.<job>.outputs.<name>` the workflow reads. */
  readonly consumed: readonly string[];
}

/** The jobs, steps and consumed outputs of a workflow's text: for a mirror, its shared workflow's (the caller has no steps). */
export function workflowShape(text: string): WorkflowShape {
  const wf = parseYaml(text) as { jobs: Record<string, WfJob> };
  const jobs = Object.entries(wf.jobs).map(([id, j]) => ({
    id,
    outputs: j.outputs ?? {},
    steps: (j.steps ?? []).map((s, i) => ({ stepId: s.id ?? String(i), name: s.name ?? s.uses ?? s.run?.split("\n")[0] ?? `#${i}`, kind: (s.run !== undefined ? "run" : "uses") as "run" | "uses" })),
  }));
  const consumed = [...new Set([...text.matchAll(/needs\.([A-Za-z0-9_-]+)\.outputs\.([A-Za-z0-9_-]+)/g)].map((m) => m[0]))].sort();
  return { jobs, consumed };
}

/** What a scenario wants of each job: its result, or "absent" (act did not start it). */
export type JobsWanted = Readonly<Record<string, "success" | "failure" | "absent">>;

/** The job results of a run, in the workflow's order; a job act did not start is absent. */
export function jobResults(shape: WorkflowShape, r: ActRun): string {
  return shape.jobs.filter((j) => r.jobs.has(j.id)).map((j) => `${j.id}=${r.jobs.get(j.id)}`).join(" ");
}

/**
 * Stops the run unless every job ended as wanted, with the last `tail` lines
 * of the step that failed, and unless act's exit code agrees: a caller's job
 * (`uses:` of a reusable workflow) gets no result line in act's log, so a
 * failure there shows only as act's exit code and its `Error:` line.
 */
export function expectJobResults(shape: WorkflowShape, r: ActRun, want: JobsWanted, tail: number): void {
  const anyFailed = [...r.jobs.values()].includes("failure");
  if ((r.code === 0) === anyFailed) fail(`${r.scenario}: act exited ${r.code} and ${anyFailed ? "a" : "no"} job failed (jobs: ${jobResults(shape, r)}; log ${r.log})${r.errors.length ? `:\n    ${r.errors.join("\n    ")}` : ""}`);
  for (const [job, result] of Object.entries(want)) {
    const got = r.jobs.get(job) ?? "absent";
    if (got !== result) {
      const failed = r.steps.find((s) => s.job === job && s.result === "failure");
      const why = failed ? `\n    its step ${failed.stepId} failed:\n    ${r.lines(job, failed.stepId).slice(-tail).join("\n    ")}` : "";
      fail(`${r.scenario}: job ${job} is ${got}, expected ${result} (act exit ${r.code}; jobs: ${jobResults(shape, r)}; log ${r.log})${why}`);
    }
  }
}

// ---------------------------------------------------------------- coverage

export interface Exemption {
  readonly job: string;
  readonly step: string;
  readonly why: string;
}

/** What every act run of one workflow executed and produced, as e2e-coverage.json reports it. */
export class Coverage {
  private readonly runs: ActRun[] = [];

  constructor(
    readonly shape: WorkflowShape,
    readonly engine: string,
    readonly exempt: readonly Exemption[],
    /** The workflow whose steps and outputs are counted: a path, or `owner/repo/<path>@<commit>`. */
    readonly workflow: string,
  ) {}

  add(r: ActRun): void {
    this.runs.push(r);
  }

  /** The value a job output had in a run: act computes it from the step output its expression names. */
  private outputValue(r: ActRun, job: string, name: string): string | undefined {
    const j = this.shape.jobs.find((x) => x.id === job);
    const source = j?.outputs[name];
    const m = source && /^\$\{\{\s*steps\.([A-Za-z0-9_-]+)\.outputs\.([A-Za-z0-9_-]+)\s*\}\}$/.exec(source);
    if (!m) return undefined;
    return r.outputs.get(job)?.get(m[1])?.get(m[2]);
  }

  report(): {
    workflow: string;
    engine: string;
    steps: Array<{ job: string; step: string; kind: "run" | "uses"; executed: boolean; scenarios: string[] }>;
    outputs: Array<{ expr: string; value: string }>;
    exempt: readonly Exemption[];
  } {
    const steps = this.shape.jobs.flatMap((j) =>
      j.steps.map((s) => {
        const scenarios = this.runs.filter((r) => r.steps.some((x) => x.job === j.id && x.stepId === s.stepId && x.result !== "skipped")).map((r) => r.scenario);
        return { job: j.id, step: s.name, kind: s.kind, executed: scenarios.length > 0, scenarios };
      }),
    );
    const outputs = this.shape.consumed.map((e) => {
      const [, job, , name] = e.split(".");
      for (const r of this.runs) {
        const v = this.outputValue(r, job, name);
        if (v) return { expr: e, value: v };
      }
      return { expr: e, value: "" };
    });
    return { workflow: this.workflow, engine: this.engine, steps, outputs, exempt: this.exempt };
  }

  write(file: string): { steps: string; outputs: string; missing: string[] } {
    const rep = this.report();
    fs.writeFileSync(file, JSON.stringify(rep, null, 2) + "\n");
    const runSteps = rep.steps.filter((s) => s.kind === "run");
    const exempted = (s: { job: string; step: string }) => rep.exempt.some((x) => x.job === s.job && x.step === s.step);
    const missing = [
      ...runSteps.filter((s) => !s.executed && !exempted(s)).map((s) => `run step never executed: ${s.job} / ${s.step}`),
      ...rep.outputs.filter((o) => !o.value).map((o) => `job output never seen with a value: ${o.expr}`),
    ];
    check(rep.exempt.length <= 2, `${rep.exempt.length} exemptions (at most 2)`);
    return {
      steps: `${runSteps.filter((s) => s.executed).length}/${runSteps.length} run steps executed (${rep.steps.filter((s) => s.executed).length}/${rep.steps.length} steps in all)`,
      outputs: `${rep.outputs.filter((o) => o.value).length}/${rep.outputs.length} job outputs seen with a value`,
      missing,
    };
  }
}
