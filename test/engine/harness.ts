/**
 * The real engine against the GitHub stand-in: a copy of the project in a
 * temporary folder (so a scenario can add a mirror or change the policy
 * without touching the checkout), a local file backend, and `npm run
 * preview|up` run as a user runs it, in a child process, with the Pulumi CLI
 * and the GitHub provider that `npm run engine:build` built.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { builtToolRoot, toolsBinDir } from "../../tools/paths";
import { PULUMI_CLI_VERSION } from "../../infra/automation";
import { copyEntries, FIXTURE_FLEET } from "../support/fleets";

export const ROOT = path.resolve(__dirname, "..", "..");

/** The passphrase of every throw-away stack here (tests, `npm run rehearse`). */
export const ENGINE_PASSPHRASE = "engine-scenarios";

/**
 * What the project copy needs to run the program and render it. Its mirrors/
 * is the fixture fleet (the shipped examples gokapi and plik), not the user's:
 * the scenarios assert what those two declare, and a user's own mirrors/ may
 * hold anything.
 */
const COPIED = ["infra", "components", "contract", "pipeline", "tools", "package.json", "package-lock.json", "tsconfig.json"];

/**
 * Fails with the way out when a tool the engine scenarios need has not been
 * built. `plainCli`: also the substitute for Pulumi's Node language host
 * (tools/language-host), which the plain `pulumi preview|up` starts.
 */
export function requireBuiltTools(opts: { plainCli?: boolean } = {}): void {
  const missing = [
    path.join(builtToolRoot("pulumi", PULUMI_CLI_VERSION), "bin", "pulumi"),
    path.join(toolsBinDir(), "pulumi-resource-github"),
    ...(opts.plainCli ? [path.join(toolsBinDir(), "pulumi-language-nodejs")] : []),
  ].filter((f) => !fs.existsSync(f));
  if (missing.length > 0) {
    throw new Error(`the real engine is not built (${missing.join(", ")} missing): run \`npm run engine:build\` first`);
  }
}

/** The operation counts of a run other than `same`. */
export function changedOps(ops: Readonly<Record<string, number>> | undefined): Record<string, number> {
  return Object.fromEntries(Object.entries(ops ?? {}).filter(([op, n]) => op !== "same" && n > 0));
}

/** The same, of a run's change summary. */
export function changes(summary: Pick<NonNullable<EngineRun["summary"]>, "changes">): Record<string, number> {
  return changedOps(summary.changes);
}

/** The stack's `pipeline` output (infra/index.ts). */
export interface PipelineOutput {
  readonly repository: string;
  readonly commit: string;
  readonly bundleSha256: string;
  /** Shared workflow file name -> the commit that wrote it. */
  readonly workflows: Readonly<Record<string, string>>;
}

export interface EngineRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** The last line of stdout, parsed: the engine's change summary. */
  readonly summary: { command: string; stack: string; changes: Record<string, number>; outputs?: string[] } | undefined;
  /** When the run was interrupted (EngineProject.interrupt): ms from the SIGINT until it ended, and until every process of its group was gone. */
  readonly interrupted?: { readonly endedMs: number; readonly groupGoneMs: number };
}

export class EngineProject {
  readonly dir: string;
  readonly stateDir: string;

  private constructor(readonly base: string) {
    this.dir = path.join(base, "project");
    this.stateDir = path.join(base, "state");
  }

  /**
   * A copy of the project at `source` (default: this checkout, with the
   * fixture fleet as its mirrors/), with this checkout's node_modules. Another
   * source (an older commit of the project) brings its own mirrors/;
   * `mirrors: "source"` takes this checkout's own too (the rehearsal: the
   * user's fleet, not the tests').
   */
  static create(prefix = "mirror-fleet-engine-", source = ROOT, mirrors: "fixture" | "source" = source === ROOT ? "fixture" : "source", base?: string): EngineProject {
    const p = new EngineProject(base ?? fs.mkdtempSync(path.join(os.tmpdir(), prefix)));
    fs.mkdirSync(p.dir, { recursive: true });
    const stackFiles = fs.readdirSync(source).filter((f) => /^Pulumi(\.[A-Za-z0-9_.-]+)?\.yaml$/.test(f));
    for (const name of [...COPIED.filter((c) => fs.existsSync(path.join(source, c))), ...stackFiles]) fs.cpSync(path.join(source, name), path.join(p.dir, name), { recursive: true });
    if (mirrors === "fixture") copyEntries(path.join(FIXTURE_FLEET.root, "mirrors"), path.join(p.dir, "mirrors"));
    else fs.cpSync(path.join(source, "mirrors"), path.join(p.dir, "mirrors"), { recursive: true });
    fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(p.dir, "node_modules"));
    return p;
  }

  /**
   * Replaces the copy's program (every copied folder and file but mirrors/
   * and the stack files, which stay the user's) with this checkout's: the
   * next run is the new program on the old state, as after a `git pull`.
   */
  upgradeTo(source = ROOT): void {
    for (const name of COPIED) {
      fs.rmSync(path.join(this.dir, name), { recursive: true, force: true });
      if (fs.existsSync(path.join(source, name))) fs.cpSync(path.join(source, name), path.join(this.dir, name), { recursive: true });
    }
  }

  /**
   * A copy made before, at `base`, brought up to `source` (program and
   * mirrors/; the copy's stack files and state stay): what a user's next
   * `up` of their changed checkout sees.
   */
  static reopen(base: string, source = ROOT): EngineProject {
    const p = new EngineProject(base);
    p.upgradeTo(source);
    fs.rmSync(path.join(p.dir, "mirrors"), { recursive: true, force: true });
    fs.cpSync(path.join(source, "mirrors"), path.join(p.dir, "mirrors"), { recursive: true });
    return p;
  }

  write(rel: string, content: string): void {
    fs.mkdirSync(path.dirname(path.join(this.dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(this.dir, rel), content);
  }

  read(rel: string): string {
    return fs.readFileSync(path.join(this.dir, rel), "utf8");
  }

  remove(rel: string): void {
    fs.rmSync(path.join(this.dir, rel), { force: true });
  }

  /** The environment of every run: the stand-in as GitHub, the local backend, no plugin downloads. */
  env(githubApi: string, token: string): Record<string, string> {
    return {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? os.homedir(),
      ...(process.env.MIRROR_FLEET_TOOLS ? { MIRROR_FLEET_TOOLS: process.env.MIRROR_FLEET_TOOLS } : {}),
      ...(process.env.XDG_CACHE_HOME ? { XDG_CACHE_HOME: process.env.XDG_CACHE_HOME } : {}),
      PULUMI_BACKEND_URL: `file://${this.stateDir}`,
      PULUMI_CONFIG_PASSPHRASE: ENGINE_PASSPHRASE,
      PULUMI_HOME: path.join(this.base, "pulumi-home"),
      PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
      PULUMI_SKIP_UPDATE_CHECK: "true",
      PULUMI_SKIP_CONFIRMATIONS: "true",
      MIRROR_FLEET_GITHUB_API: githubApi,
      // The stand-in plays github.com too, where the upstreams are (its root, not /api/v3), for the same identity.
      MIRROR_FLEET_UPSTREAM_API: githubApi,
      ...(token ? { MIRROR_FLEET_UPSTREAM_TOKEN: token } : {}),
      MIRROR_FLEET_WRITE_DELAY_MS: "0",
      GITHUB_TOKEN: token,
    };
  }

  /** `npm run <preview|up> -- args` in the copy; bounded by timeoutMs. */
  run(args: readonly string[], env: Record<string, string>, timeoutMs = 300_000): Promise<EngineRun> {
    return this.exec(["--import", "tsx", "infra/automation.ts", ...args], env, timeoutMs);
  }

  /**
   * `npm run <args>` as run() does, and Ctrl-C once `when` holds (polled
   * every 100 ms): SIGINT to the run's whole process group, as a terminal
   * sends it to the program, the CLI and the providers alike.
   */
  interrupt(args: readonly string[], env: Record<string, string>, when: () => boolean, timeoutMs = 300_000): Promise<EngineRun> {
    return this.exec(["--import", "tsx", "infra/automation.ts", ...args], env, timeoutMs, when);
  }

  /** `pulumi <args>` with the built CLI, in the copy (e.g. stack output). */
  pulumi(args: readonly string[], env: Record<string, string>, timeoutMs = 60_000): Promise<EngineRun> {
    const cli = path.join(builtToolRoot("pulumi", PULUMI_CLI_VERSION), "bin", "pulumi");
    return spawnBounded(cli, ["--non-interactive", ...args], this.dir, env, timeoutMs);
  }

  /**
   * `pulumi <args>` as a user types it in the project folder: the built CLI,
   * which starts the Node language host found on PATH (here the substitute
   * in the tools cache's bin/, tools/language-host) and so the SDK's own
   * loader on Pulumi.yaml's `main`. No `npm run`, no Automation API.
   */
  plain(args: readonly string[], env: Record<string, string>, timeoutMs = 300_000): Promise<EngineRun> {
    const cli = path.join(builtToolRoot("pulumi", PULUMI_CLI_VERSION), "bin", "pulumi");
    return spawnBounded(cli, ["--non-interactive", ...args], this.dir, { ...env, PATH: [toolsBinDir(), env.PATH].join(path.delimiter) }, timeoutMs);
  }

  /**
   * `pulumi config set [--secret] KEY VALUE` in the copy's stack, created on
   * first use (a stack setting or secret, as a user sets one).
   */
  async setConfig(env: Record<string, string>, key: string, value: string, opts: { secret?: boolean; stack?: string } = {}): Promise<void> {
    const stack = opts.stack ?? "prod";
    fs.mkdirSync(this.stateDir, { recursive: true });
    const list = await this.pulumi(["stack", "ls", "--json"], env);
    if (list.code !== 0) throw new Error(`pulumi stack ls failed: ${list.stderr}`);
    if (!(JSON.parse(list.stdout || "[]") as Array<{ name: string }>).some((s) => s.name === stack)) {
      const init = await this.pulumi(["stack", "init", stack], env);
      if (init.code !== 0) throw new Error(`pulumi stack init ${stack} failed: ${init.stderr}`);
    }
    // `--` before the value: a PEM starts with dashes (and `pulumi` would append its flag after it).
    const cli = path.join(builtToolRoot("pulumi", PULUMI_CLI_VERSION), "bin", "pulumi");
    const set = await spawnBounded(cli, ["config", "set", ...(opts.secret ? ["--secret"] : []), "--stack", stack, "--non-interactive", "--", key, value], this.dir, env, 60_000);
    if (set.code !== 0) throw new Error(`pulumi config set ${key} failed: ${set.stderr}`);
  }

  /** `pulumi stack output pipeline --json`: action.yml's commit, the bundle's sha256 and each shared workflow's commit. */
  async pipelineOutput(env: Record<string, string>): Promise<PipelineOutput> {
    const r = await this.pulumi(["stack", "output", "pipeline", "--json", "--stack", "prod"], env);
    if (r.code !== 0) throw new Error(`pulumi stack output pipeline failed: ${r.stderr}`);
    return JSON.parse(r.stdout) as PipelineOutput;
  }

  /** `npm run render -- --out OUT --pipeline FILE` with the stack's pipeline output, as the README says: what the stand-in must hold. */
  async render(env: Record<string, string>, out = path.join(this.base, `render-${Date.now()}`)): Promise<string> {
    const file = path.join(this.base, `pipeline-${Date.now()}.json`);
    fs.writeFileSync(file, JSON.stringify(await this.pipelineOutput(env)));
    const r = await this.exec(["--import", "tsx", "infra/render.ts", "--out", out, "--pipeline", file], env, 120_000);
    if (r.code !== 0) throw new Error(`render failed: ${r.stderr}`);
    return out;
  }

  exec(nodeArgs: readonly string[], env: Record<string, string>, timeoutMs: number, interruptWhen?: () => boolean): Promise<EngineRun> {
    return spawnBounded(process.execPath, nodeArgs, this.dir, env, timeoutMs, interruptWhen);
  }

  cleanup(): void {
    fs.rmSync(this.base, { recursive: true, force: true });
  }
}

/** Whether any process of the group `pgid` is left. */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

function spawnBounded(cmd: string, args: readonly string[], cwd: string, env: Record<string, string>, timeoutMs: number, interruptWhen?: () => boolean): Promise<EngineRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, [...args], { cwd, env, stdio: ["ignore", "pipe", "pipe"], detached: true });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    let interruptedAt: number | undefined;
    const poll = interruptWhen
      ? setInterval(() => {
          if (interruptedAt !== undefined || !interruptWhen()) return;
          interruptedAt = Date.now();
          try {
            process.kill(-child.pid!, "SIGINT");
          } catch {
            /* already gone */
          }
        }, 100)
      : undefined;
    const timer = setTimeout(() => {
      clearInterval(poll);
      // The whole group: the CLI and the providers it started.
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        /* already gone */
      }
      reject(new Error(`${cmd} ${args.join(" ")} did not finish in ${timeoutMs} ms\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.on("error", (e) => (clearTimeout(timer), clearInterval(poll), reject(e)));
    child.on("close", async (code) => {
      clearTimeout(timer);
      clearInterval(poll);
      const last = stdout.trimEnd().split("\n").at(-1) ?? "";
      let summary: EngineRun["summary"];
      try {
        summary = last.startsWith("{") ? JSON.parse(last) : undefined;
      } catch {
        summary = undefined;
      }
      let interrupted: EngineRun["interrupted"];
      if (interruptedAt !== undefined) {
        const endedMs = Date.now() - interruptedAt;
        // The CLI and the providers may outlive the program: wait for them, 60 s at most, then end them.
        for (let i = 0; i < 600 && groupAlive(child.pid!); i++) await new Promise((r) => setTimeout(r, 100));
        const groupGoneMs = groupAlive(child.pid!) ? Infinity : Date.now() - interruptedAt;
        if (groupGoneMs === Infinity) process.kill(-child.pid!, "SIGKILL");
        interrupted = { endedMs, groupGoneMs };
      }
      resolve({ code: code ?? -1, stdout, stderr, summary, ...(interrupted ? { interrupted } : {}) });
    });
  });
}
