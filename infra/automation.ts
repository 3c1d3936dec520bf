/**
 * `npm run preview` / `npm run up`: the same program as `pulumi preview` /
 * `pulumi up`, driven through the Automation API so that a fresh machine
 * needs nothing but `npm ci`:
 *  - the state lives in the local file backend (`.pulumi-state/`, git-ignored)
 *    unless PULUMI_BACKEND_URL says otherwise (s3://…, azblob://…, gs://…,
 *    https://api.pulumi.com);
 *  - the Pulumi CLI on PATH is used when it is the pinned version, otherwise the
 *    pinned version is installed into `.pulumi-cli/` on first use;
 *  - progress is streamed, the inventory printed at the end, and any failure
 *    exits non-zero.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { LocalWorkspace, PulumiCommand, type OpMap, type Stack } from "@pulumi/pulumi/automation";
import * as semver from "semver";
import { builtToolRoot, toolsBinDir } from "../tools/paths";
import { PROJECT_ROOT } from "./mirrors";

/** The CLI version this program is tested against; moves with the @pulumi/pulumi SDK (a test keeps them equal). */
export const PULUMI_CLI_VERSION = "3.276.0";

export interface AutomationOptions {
  readonly command: "preview" | "up";
  readonly stack: string;
  readonly refresh: boolean;
  readonly backendUrl: string;
  /** Where the pinned CLI is installed when none is on PATH. */
  readonly cliRoot: string;
}

export const USAGE = `usage: npm run preview|up -- [--stack NAME] [--refresh]

  preview   show what \`pulumi up\` would change (with --refresh: also drift in the mirror repos)
  up        create or update every mirror repository
  --stack   stack name (default prod; its settings are Pulumi.<stack>.yaml)
  --refresh read the current state of every resource from GitHub first

environment:
  PULUMI_BACKEND_URL        state backend (default: file://<project>/.pulumi-state)
  PULUMI_CONFIG_PASSPHRASE  passphrase of the stack's secrets (local and bucket backends)
  GITHUB_TOKEN              token for the GitHub provider, unless set in stack config
`;

export class AutomationError extends Error {}
/** Bad flags or arguments: the usage follows the message and the exit code is 2. */
export class UsageError extends AutomationError {}

/** `--help` or `-h` anywhere before a bare `--`. */
export function wantsHelp(argv: readonly string[]): boolean {
  const end = argv.indexOf("--");
  return (end < 0 ? argv : argv.slice(0, end)).some((a) => a === "--help" || a === "-h");
}

/** Parses argv and the environment; pure. */
export function parseOptions(argv: readonly string[], env: Readonly<Record<string, string | undefined>>, root = PROJECT_ROOT): AutomationOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: { stack: { type: "string", default: "prod" }, refresh: { type: "boolean", default: false } },
    });
  } catch (e) {
    throw new UsageError(`${(e as Error).message}\n\n${USAGE}`);
  }
  const [command, ...extra] = parsed.positionals;
  if ((command !== "preview" && command !== "up") || extra.length > 0) {
    throw new UsageError(`expected "preview" or "up", got ${JSON.stringify(parsed.positionals.join(" "))}\n\n${USAGE}`);
  }
  const stack = parsed.values.stack!;
  if (!/^[A-Za-z0-9_.-]{1,100}$/.test(stack)) throw new AutomationError(`--stack: ${JSON.stringify(stack)} is not a stack name`);
  return {
    command,
    stack,
    refresh: parsed.values.refresh!,
    backendUrl: env.PULUMI_BACKEND_URL || `file://${path.join(root, ".pulumi-state")}`,
    cliRoot: path.join(root, ".pulumi-cli", PULUMI_CLI_VERSION),
  };
}

/** What the run needs from the outside world; tests replace it. */
export interface AutomationDeps {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly out: (text: string) => void;
  /** The pinned CLI: found on PATH or in cliRoot, else installed there. */
  readonly pulumiCommand: (root: string) => Promise<PulumiCommand>;
  readonly selectStack: (opts: AutomationOptions, cmd: PulumiCommand, env: Readonly<Record<string, string | undefined>>) => Promise<Pick<Stack, "preview" | "up" | "outputs">>;
}

type CliLocator = Pick<typeof PulumiCommand, "get" | "install">;

/**
 * The pinned CLI: the one `npm run engine:build` built (its versioned folder in
 * the tools cache), else the one on PATH or already installed in root, else
 * installed into root.
 */
export async function pinnedPulumi(root: string, cli: CliLocator = PulumiCommand, built = builtToolRoot("pulumi", PULUMI_CLI_VERSION, process.env)): Promise<PulumiCommand> {
  const version = new semver.SemVer(PULUMI_CLI_VERSION);
  if (fs.existsSync(path.join(built, "bin", "pulumi"))) {
    try {
      return await cli.get({ version, root: built });
    } catch {
      // A broken build falls through to PATH or an install.
    }
  }
  try {
    // On PATH or already installed in root, at a compatible version.
    return await cli.get({ version, root: fs.existsSync(root) ? root : undefined });
  } catch {
    try {
      return await cli.install({ version, root });
    } catch (e) {
      throw new AutomationError(
        `the Pulumi CLI ${PULUMI_CLI_VERSION} is not on PATH and could not be installed into ${root}: ${(e as Error).message}\n` +
          `Install it yourself (https://www.pulumi.com/docs/install/) and run again.`,
      );
    }
  }
}

/**
 * The environment of the CLI and the providers it starts: the backend, no
 * update check, and the tools cache first on PATH so that the engine finds the
 * provider plugins `npm run engine:build` made (`pulumi-resource-<name>` on
 * PATH is how the engine finds a plugin that is not in its plugin cache).
 */
export function engineEnv(opts: AutomationOptions, env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  return {
    PULUMI_BACKEND_URL: opts.backendUrl,
    PULUMI_SKIP_UPDATE_CHECK: "true",
    PATH: [toolsBinDir(env), env.PATH ?? ""].filter(Boolean).join(path.delimiter),
  };
}

/**
 * The program runs inline, in this process: the SDK serves the language
 * runtime itself and the CLI connects to it (`--client`). The project,
 * Pulumi.yaml's config rules and the stack settings are the same as for
 * `pulumi up` in this folder; no separate Node language host is needed.
 */
async function selectStack(opts: AutomationOptions, cmd: PulumiCommand, env: Readonly<Record<string, string | undefined>>): Promise<Stack> {
  if (opts.backendUrl.startsWith("file://")) fs.mkdirSync(opts.backendUrl.slice("file://".length), { recursive: true });
  return LocalWorkspace.createOrSelectStack(
    { stackName: opts.stack, projectName: "mirror-fleet", program: async () => (await import("./index")).default() },
    { workDir: PROJECT_ROOT, pulumiCommand: cmd, envVars: engineEnv(opts, env) },
  );
}

/** The last line of every run: one JSON object a script can read. */
export function summaryLine(command: "preview" | "up", stack: string, changes: OpMap | Record<string, number> | undefined, outputs?: readonly string[]): string {
  const counts = Object.fromEntries(Object.entries(changes ?? {}).sort(([a], [b]) => a.localeCompare(b)));
  return `${JSON.stringify({ command, stack, changes: counts, ...(outputs ? { outputs: [...outputs].sort() } : {}) })}\n`;
}

export async function run(opts: AutomationOptions, deps: AutomationDeps): Promise<number> {
  const isLocalish = !/^https?:\/\//.test(opts.backendUrl);
  if (isLocalish && deps.env.PULUMI_CONFIG_PASSPHRASE === undefined && deps.env.PULUMI_CONFIG_PASSPHRASE_FILE === undefined) {
    throw new AutomationError(
      `PULUMI_CONFIG_PASSPHRASE is not set: the ${opts.backendUrl.split(":")[0]} backend encrypts this stack's secrets with a passphrase.\n` +
        `Choose one, keep it in your password manager, and run: PULUMI_CONFIG_PASSPHRASE=… npm run ${opts.command}`,
    );
  }
  deps.out(`mirror-fleet: ${opts.command} stack ${opts.stack} on ${opts.backendUrl}\n`);
  const cmd = await deps.pulumiCommand(opts.cliRoot);
  const stack = await deps.selectStack(opts, cmd, deps.env);
  const onOutput = (t: string) => deps.out(t);
  if (opts.command === "preview") {
    const result = await stack.preview({ onOutput, diff: true, refresh: opts.refresh });
    deps.out(summaryLine("preview", opts.stack, result.changeSummary));
    return 0;
  }
  const result = await stack.up({ onOutput, refresh: opts.refresh });
  const outputs = await stack.outputs();
  deps.out(`\ninventory:\n${JSON.stringify(outputs.inventory?.value ?? [], null, 2)}\n`);
  deps.out(`summary:\n${JSON.stringify(outputs.summary?.value ?? {}, null, 2)}\n`);
  // The commit every mirror's workflow runs, for `npm run render -- --pipeline-commit` and the auditor.
  if (outputs.pipeline) deps.out(`pipeline:\n${JSON.stringify(outputs.pipeline.value, null, 2)}\n`);
  deps.out(summaryLine("up", opts.stack, result.summary.resourceChanges, Object.keys(outputs)));
  return 0;
}

if (require.main === module) {
  const env = process.env;
  const out = (t: string) => void process.stdout.write(t);
  (async () => {
    try {
      if (wantsHelp(process.argv.slice(2))) {
        out(USAGE);
        return;
      }
      const opts = parseOptions(process.argv.slice(2), env);
      process.exitCode = await run(opts, { env, out, pulumiCommand: (r) => pinnedPulumi(r), selectStack });
    } catch (e) {
      process.stderr.write(`mirror-fleet: ${(e as Error).message}\n`);
      process.exitCode = e instanceof UsageError ? 2 : 1;
    }
  })();
}
