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
import { LocalWorkspace, PulumiCommand, type EngineEvent, type OpMap, type Stack } from "@pulumi/pulumi/automation";
import * as semver from "semver";
import { builtToolRoot, toolsBinDir } from "../tools/paths";
import { loadMirrorEntries, PROJECT_ROOT } from "./mirrors";

/** The CLI version this program is tested against; moves with the @pulumi/pulumi SDK (a test keeps them equal). */
export const PULUMI_CLI_VERSION = "3.276.0";

export interface AutomationOptions {
  readonly command: "preview" | "up";
  readonly stack: string;
  readonly refresh: boolean;
  /** up: apply a plan that deletes mirrors whose entries are still in mirrors/ (see `lostMirrors`). */
  readonly allowMirrorDeletes: boolean;
  readonly backendUrl: string;
  /** Where the pinned CLI is installed when none is on PATH. */
  readonly cliRoot: string;
}

export const USAGE = `usage: npm run preview|up -- [--stack NAME] [--refresh] [--allow-mirror-deletes]

  preview   show what \`pulumi up\` would change (with --refresh: also drift in the mirror repos)
  up        create or update every mirror repository; previews first, and stops
            if the plan deletes a mirror whose entry is still in mirrors/
  --stack   stack name (default prod; its settings are Pulumi.<stack>.yaml)
  --refresh read the current state of every resource from GitHub first
  --allow-mirror-deletes
            up: apply such a plan anyway (a mirror is removed by deleting its
            file in mirrors/, which needs no flag)

environment:
  PULUMI_BACKEND_URL           state backend (default: file://<project>/.pulumi-state)
  PULUMI_CONFIG_PASSPHRASE     passphrase of the stack's secrets (local and bucket backends)
  PULUMI_DIY_BACKEND_ZSTD      those backends write the state compressed (default here: true;
                               a value you set, or PULUMI_DIY_BACKEND_GZIP, is kept)
  GITHUB_TOKEN                 token for the GitHub provider, unless set in stack config
  MIRROR_FLEET_GITHUB_API      another GitHub: a GitHub Enterprise Server or the stand-in
                               (https://ghe.example.com/; requests go to <base>/api/v3)
  MIRROR_FLEET_UPSTREAM_TOKEN  a github.com token for the upstreams' health and preflight tags,
                               when MIRROR_FLEET_GITHUB_API names another GitHub
  MIRROR_FLEET_UPSTREAM_API    where the upstreams are read (default https://api.github.com/)
  MIRROR_FLEET_WRITE_DELAY_MS  the provider's pause after each write (default 1000)
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
      options: { stack: { type: "string", default: "prod" }, refresh: { type: "boolean", default: false }, "allow-mirror-deletes": { type: "boolean", default: false } },
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
  if (parsed.values["allow-mirror-deletes"] && command !== "up") throw new UsageError(`--allow-mirror-deletes: only for up\n\n${USAGE}`);
  return {
    command,
    stack,
    refresh: parsed.values.refresh!,
    allowMirrorDeletes: parsed.values["allow-mirror-deletes"]!,
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
  /** The `name` of every entry in mirrors/ (what the program must declare). */
  readonly mirrorNames: () => readonly string[];
}

type CliLocator = Pick<typeof PulumiCommand, "get" | "install">;

/**
 * The pinned CLI: the one `npm run engine:build` built (its versioned folder in
 * the tools cache), else the one on PATH or already installed in root when it
 * is that very version, else installed into root. The SDK's own lookup takes
 * any newer CLI of the same major (a runner image's, say); the program is
 * tested against this one.
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
    // On PATH or already installed in root, at the pinned version.
    const found = await cli.get({ version, root: fs.existsSync(root) ? root : undefined });
    if (found.version !== null && semver.eq(found.version, version)) return found;
  } catch {
    // Not there: installed below.
  }
  try {
    return await cli.install({ version, root });
  } catch (e) {
    throw new AutomationError(
      `the Pulumi CLI ${PULUMI_CLI_VERSION} is not on PATH and could not be installed into ${root}: ${(e as Error).message}\n` +
        `Install it yourself (https://www.pulumi.com/docs/install/) and run again.`,
    );
  }
}

/**
 * The file and bucket backends' settings for how the state is written: a user's
 * own choice stands (Pulumi refuses gzip and zstd together).
 */
export const STATE_COMPRESSION_VARS = ["PULUMI_DIY_BACKEND_ZSTD", "PULUMI_SELF_MANAGED_STATE_ZSTD", "PULUMI_DIY_BACKEND_GZIP", "PULUMI_SELF_MANAGED_STATE_GZIP"];

/**
 * The environment of the CLI and the providers it starts: the backend, no
 * update check, and the tools cache first on PATH so that the engine finds the
 * provider plugins `npm run engine:build` made (`pulumi-resource-<name>` on
 * PATH is how the engine finds a plugin that is not in its plugin cache).
 *
 * The file and bucket backends write the whole state after every step;
 * PULUMI_DIY_BACKEND_ZSTD makes that write `<stack>.json.zst`, about a
 * tenth of the bytes, and a first `up` of 100 mirrors a fifth faster
 * (docs/scale.md). Either form is read whatever is set, so the plain CLI
 * without it reads this state and writes it back uncompressed. Pulumi Cloud
 * ignores it.
 */
export function engineEnv(opts: AutomationOptions, env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  return {
    PULUMI_BACKEND_URL: opts.backendUrl,
    PULUMI_SKIP_UPDATE_CHECK: "true",
    ...(STATE_COMPRESSION_VARS.some((k) => env[k] !== undefined) ? {} : { PULUMI_DIY_BACKEND_ZSTD: "true" }),
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
    // The very function Pulumi.yaml's `main` exports (`export =`), loaded when the engine asks for it.
    { stackName: opts.stack, projectName: "mirror-fleet", program: async () => (await import("./index")).default() },
    { workDir: PROJECT_ROOT, pulumiCommand: cmd, envVars: engineEnv(opts, env) },
  );
}

const COMPONENT = "mirror-fleet:index:MirroredImage";

/**
 * The mirrors a plan deletes although their entries are still in mirrors/:
 * only a program that did not run (an entry point the loader could not call)
 * or ran on the wrong folder plans that. Removing a mirror the README's way
 * deletes its file first, so it never shows here.
 */
export function lostMirrors(events: readonly EngineEvent[], entries: readonly string[]): string[] {
  const deleted = events
    .map((e) => e.resourcePreEvent?.metadata)
    .filter((m) => m?.op === "delete" && m.type === COMPONENT)
    .map((m) => m!.urn.slice(m!.urn.lastIndexOf("::") + 2));
  return [...new Set(deleted)].filter((name) => entries.includes(name)).sort();
}

/**
 * What the engine said went wrong, without the Automation API's wrapping
 * (the command line and all of its output, each twice): the error
 * diagnostics of the run's events, once each. A program's own refusals (a
 * bad entry, a stranger's repository) then read as they do from `npm run
 * render` and `pulumi up`.
 */
export function engineErrors(e: unknown, events: readonly EngineEvent[]): Error {
  if (!(e as { commandResult?: unknown }).commandResult) return e as Error;
  const messages = events
    .map((ev) => ev.diagnosticEvent)
    .filter((d) => d?.severity === "error")
    .map((d) => d!.message.trim())
    .filter((m) => m && m !== "update failed" && m !== "preview failed");
  const unique = [...new Set(messages)];
  const spent = unique.map((m) => RATE_LIMIT_SPENT.exec(m)).find((m) => m);
  if (spent) unique.push(rateLimitAdvice(spent[1], spent[2]));
  return new AutomationError(unique.length ? unique.join("\n") : ((e as Error).message.split("\n").slice(-20).join("\n")));
}

/**
 * go-github's own refusal once a response said no request is left
 * (`checkRateLimitBeforeDo`, google/go-github v88 github.go), for every
 * request started after it. The provider's transport waits for the reset
 * only on a 403 it receives: a request already waiting for its lock
 * (docs/scale.md). A run that spends the limit itself stops here, perhaps
 * after that wait.
 */
const RATE_LIMIT_SPENT = /API rate limit of (\d+) still exceeded until ([^,]+), not making remote request/;

function rateLimitWait(until: string): string {
  return (
    `GitHub's rate limit for the deploying identity is spent until ${until}. The provider refuses the requests left, ` +
    `and waits for that reset on those it had already sent: this run may sit until then before it ends. Ctrl-C ends it at once; what was applied stays in the state.`
  );
}

function rateLimitAdvice(limit: string, until: string): string {
  return (
    `GitHub's rate limit for the deploying identity (${limit} requests an hour) is spent, and the provider refused the requests left rather than wait: ` +
    `run the same command again after ${until}. A refresh reads about 34 times per mirror, a new mirror about 70 (docs/scale.md); ` +
    `a GitHub App's limit grows with the organisation.`
  );
}

/**
 * The run's warnings, once each: the program's (a waiver about to expire, a
 * mirror without reviewers) and the engine's. The Automation API streams a
 * preview's diff on stdout and its diagnostics on stderr, where they were
 * lost; they are printed from the engine's events instead.
 */
export function warningsOf(events: readonly EngineEvent[]): string[] {
  const out = events
    .map((e) => e.diagnosticEvent)
    .filter((d) => d?.severity === "warning" && !d.ephemeral)
    .map((d) => d!.message.trim())
    .map((m) =>
      /^using pulumi-resource-\S+ from \$PATH/.test(m)
        ? `${m} (the provider \`npm run engine:build\` built; the engine names any plugin that is not in its own plugin cache)`
        : m,
    );
  return [...new Set(out)];
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
  const events: EngineEvent[] = [];
  let spentSaid = false;
  const onEvent = (e: EngineEvent) => {
    events.push(e);
    // Said when it happens: what the provider had already sent waits for the reset, and so may the run.
    const spent = !spentSaid && e.diagnosticEvent?.severity === "error" ? RATE_LIMIT_SPENT.exec(e.diagnosticEvent.message) : null;
    if (spent) {
      spentSaid = true;
      deps.out(`mirror-fleet: ${rateLimitWait(spent[2])}\n`);
    }
  };
  const failed = (e: unknown) => Promise.reject(engineErrors(e, events));
  if (opts.command === "preview") {
    const result = await stack.preview({ onOutput, onEvent, diff: true, refresh: opts.refresh }).catch(failed);
    for (const w of warningsOf(events)) deps.out(`warning: ${w}\n`);
    deps.out(summaryLine("preview", opts.stack, result.changeSummary));
    return 0;
  }
  // The plan first: a program that declared less than mirrors/ holds must not delete the fleet.
  await stack.preview({ onEvent, refresh: opts.refresh }).catch(failed);
  const lost = lostMirrors(events, deps.mirrorNames());
  if (lost.length && !opts.allowMirrorDeletes) {
    throw new AutomationError(
      `the plan deletes ${lost.length === 1 ? "the mirror" : `${lost.length} mirrors`} ${lost.join(", ")} although ${lost.length === 1 ? "its entry is" : "their entries are"} still in mirrors/: ` +
        `the program declared less than mirrors/ holds (did it run, in this folder?). Nothing was changed. ` +
        `To remove a mirror, delete its file in mirrors/; to apply this plan anyway, run: npm run up -- --allow-mirror-deletes`,
    );
  }
  deps.out(`mirror-fleet: the plan keeps every mirror in mirrors/; applying it\n`);
  const result = await stack.up({ onOutput, onEvent, refresh: opts.refresh }).catch(failed);
  const outputs = await stack.outputs();
  deps.out(`\ninventory:\n${JSON.stringify(outputs.inventory?.value ?? [], null, 2)}\n`);
  deps.out(`summary:\n${JSON.stringify(outputs.summary?.value ?? {}, null, 2)}\n`);
  for (const w of warningsOf(events)) deps.out(`warning: ${w}\n`);
  // The commits every mirror's workflow runs, for `npm run render -- --pipeline FILE` and the auditor.
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
      const mirrorNames = () => loadMirrorEntries().flatMap((e) => (e.spec && typeof (e.spec as { name?: unknown }).name === "string" ? [(e.spec as { name: string }).name] : []));
      process.exitCode = await run(opts, { env, out, pulumiCommand: (r) => pinnedPulumi(r), selectStack, mirrorNames });
    } catch (e) {
      process.stderr.write(`mirror-fleet: ${(e as Error).message}\n`);
      process.exitCode = e instanceof UsageError ? 2 : 1;
    }
  })();
}
