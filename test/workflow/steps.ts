/**
 * Reading a rendered workflow back for tests: parsed YAML, a job, a step by
 * id or name, and running a step's bash script the way GitHub does
 * (`bash --noprofile --norc -eo pipefail`) with a given env, in a temp dir.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parse } from "yaml";
import { PIPELINE_RUNNER_FILE } from "../../components/pipeline-action";

export type Obj = Record<string, unknown>;

export function parseWorkflow(text: string): Obj {
  return parse(text) as Obj;
}

export function jobs(doc: Obj): Record<string, Obj> {
  return doc.jobs as Record<string, Obj>;
}

export function job(doc: Obj, id: string): Obj {
  const j = jobs(doc)[id];
  if (!j) throw new Error(`no job ${id}`);
  return j;
}

export function steps(doc: Obj, jobId: string): Obj[] {
  return job(doc, jobId).steps as Obj[];
}

/** The step whose id is `key`, else the first whose name starts with `key`. */
export function step(doc: Obj, jobId: string, key: string): Obj {
  const all = steps(doc, jobId);
  const s = all.find((x) => x.id === key) ?? all.find((x) => typeof x.name === "string" && x.name.startsWith(key));
  if (!s) throw new Error(`jobs.${jobId}: no step ${key}`);
  return s;
}

export function stepIndex(doc: Obj, jobId: string, key: string): number {
  return steps(doc, jobId).indexOf(step(doc, jobId, key));
}

const created: string[] = [];
process.on("exit", () => {
  for (const d of created) fs.rmSync(d, { recursive: true, force: true });
});

/** A temp directory, removed when the test process exits. */
export function tempDir(prefix = "mirror-wf-"): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  created.push(d);
  return d;
}

export interface ScriptResult {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
  /** GITHUB_OUTPUT as key -> value (simple `k=v` lines and `k<<DELIM` blocks). */
  readonly outputs: Record<string, string>;
  /** GITHUB_PATH lines. */
  readonly paths: string[];
}

function readOutputs(file: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (!fs.existsSync(file)) return out;
  const lines = fs.readFileSync(file, "utf8").split("\n");
  for (let i = 0; i < lines.length; i++) {
    const heredoc = /^([^=<]+)<<(.+)$/.exec(lines[i]);
    if (heredoc) {
      const body: string[] = [];
      for (i++; i < lines.length && lines[i] !== heredoc[2]; i++) body.push(lines[i]);
      out[heredoc[1]] = body.join("\n");
    } else {
      const eq = lines[i].indexOf("=");
      if (eq > 0) out[lines[i].slice(0, eq)] = lines[i].slice(eq + 1);
    }
  }
  return out;
}

/** Runs a step's `run:` script. `env` is added to a minimal environment; PATH may be prefixed with stub dirs. */
export function runStep(s: Obj, cwd: string, env: Record<string, string>, pathPrefix: string[] = []): ScriptResult {
  const script = s.run;
  if (typeof script !== "string") throw new Error(`step ${String(s.name)} has no run script`);
  const runner = tempDir("mirror-runner-");
  const output = path.join(runner, "output");
  const ghPath = path.join(runner, "path");
  const summary = path.join(runner, "summary");
  const file = path.join(runner, "step.sh");
  fs.writeFileSync(file, script);
  const r = spawnSync("bash", ["--noprofile", "--norc", "-eo", "pipefail", file], {
    cwd,
    encoding: "utf8",
    timeout: 60_000,
    env: {
      PATH: [...pathPrefix, process.env.PATH ?? "/usr/bin:/bin"].join(":"),
      HOME: runner,
      RUNNER_TEMP: runner,
      GITHUB_OUTPUT: output,
      GITHUB_PATH: ghPath,
      GITHUB_STEP_SUMMARY: summary,
      GITHUB_SERVER_URL: "https://github.com",
      GITHUB_REPOSITORY: "acme-corp/mirror-test",
      GITHUB_RUN_ID: "42",
      GIT_CONFIG_NOSYSTEM: "1",
      GIT_AUTHOR_NAME: "t",
      GIT_AUTHOR_EMAIL: "t@localhost",
      GIT_COMMITTER_NAME: "t",
      GIT_COMMITTER_EMAIL: "t@localhost",
      ...env,
    },
  });
  const paths = fs.existsSync(ghPath) ? fs.readFileSync(ghPath, "utf8").split("\n").filter(Boolean) : [];
  const result = { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr, outputs: readOutputs(output), paths };
  fs.rmSync(runner, { recursive: true, force: true });
  return result;
}

/**
 * A stand-in for the fleet pipeline's bundle, where the pipeline action puts
 * it (components/pipeline-action.ts): in the job's RUNNER_TEMP, outside the
 * workspace. Pass the returned env to runStep.
 */
export function fakePipeline(script: string): { RUNNER_TEMP: string } {
  const dir = tempDir("mirror-runner-temp-");
  fs.writeFileSync(path.join(dir, PIPELINE_RUNNER_FILE), script);
  return { RUNNER_TEMP: dir };
}

/** Writes an executable stub script into `dir`. */
export function stub(dir: string, name: string, body: string): void {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, name), `#!/usr/bin/env bash\n${body}\n`, { mode: 0o755 });
}

export function git(cwd: string, ...args: string[]): string {
  const r = spawnSync("git", args, {
    cwd,
    encoding: "utf8",
    env: { ...process.env, GIT_CONFIG_NOSYSTEM: "1", GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@localhost", GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@localhost" },
  });
  if (r.status !== 0) throw new Error(`git ${args.join(" ")}: ${r.stderr}`);
  return r.stdout.trim();
}
