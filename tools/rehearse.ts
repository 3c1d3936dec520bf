/**
 * `npm run rehearse`: a real `pulumi up` of this fleet into a GitHub stand-in,
 * for someone without an organisation at hand (or before pointing the stack
 * at a real one). It builds the real tools if needed (`npm run engine:build`),
 * starts the stand-in on 127.0.0.1, runs `npm run up` on a throw-away local
 * backend, and prints what GitHub would have received: per mirror repository,
 * its files, labels, ruleset, Actions settings and secrets, and the requests
 * and writes it took. Nothing outside a temporary folder is touched. With
 * `--dir DIR` that folder is DIR and stays: the next rehearsal there starts
 * from what the last one left, so it shows what a change changes.
 *
 * Independent of the user's stack file's secrets: the copy's stack file keeps
 * every plain setting and drops what only the user's passphrase opens (the
 * `encryptionsalt` and the `secure:` values); each dropped secret gets a
 * rehearsal placeholder, set with the rehearsal's own passphrase, and the
 * output says which.
 */
import { execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { parse, stringify } from "yaml";
import { ENGINE_PASSPHRASE, EngineProject } from "../test/engine/harness";
import { startGitHubStandIn, type GitHubStandIn } from "../test/support/github-standin";
import { ORG_PR_SETTING, settingsFromStackFile } from "../infra/settings";

const ROOT = path.resolve(__dirname, "..");

export const USAGE = `usage: npm run rehearse -- [--stack NAME] [--keep] [--dir DIR] [--org-default]

A real \`pulumi up\` of the fleet into a GitHub stand-in on 127.0.0.1: builds the
Pulumi CLI and the GitHub provider if needed (npm run engine:build), runs the
engine on a throw-away local backend, and prints what GitHub would have received.
  --stack NAME    whose settings to use: Pulumi.<NAME>.yaml (default prod)
  --keep          keep the temporary folder (state, request log) and say how to look
  --dir DIR       rehearse in DIR and keep it: the stand-in's repositories and the
                  state stay there, so the next rehearsal with the same DIR shows
                  what a change to mirrors/, the policy or the stack file changes,
                  as \`pulumi preview\` and \`up\` will (a new or empty DIR starts one)
  --org-default   give the stand-in's organisation GitHub's default Actions policy
                  ("${ORG_PR_SETTING}" off) instead of
                  what mirror-fleet:actionsCanCreatePullRequests says it has
`;

interface Options {
  readonly stack: string;
  readonly keep: boolean;
  readonly orgDefault: boolean;
  readonly dir?: string;
}

export function parseOptions(argv: readonly string[]): Options | "help" {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      strict: true,
      options: {
        stack: { type: "string", default: "prod" },
        keep: { type: "boolean", default: false },
        dir: { type: "string" },
        "org-default": { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    });
  } catch (e) {
    throw new UsageError(`${(e as Error).message}\n\n${USAGE}`);
  }
  if (parsed.values.help) return "help";
  return { stack: parsed.values.stack!, keep: parsed.values.keep!, orgDefault: parsed.values["org-default"]!, ...(parsed.values.dir !== undefined ? { dir: path.resolve(parsed.values.dir) } : {}) };
}

/**
 * The stack file without what only the user's passphrase opens: returns the
 * file's text for the copy and the secret keys it dropped. githubToken is
 * dropped for good (the rehearsal's provider uses the stand-in's token).
 */
export function rehearsalStackFile(text: string): { text: string; secrets: string[] } {
  const doc = (parse(text) ?? {}) as { config?: Record<string, unknown>; encryptionsalt?: string };
  const config: Record<string, unknown> = {};
  const secrets: string[] = [];
  for (const [k, v] of Object.entries(doc.config ?? {})) {
    if (v !== null && typeof v === "object" && "secure" in (v as object)) {
      if (k !== "mirror-fleet:githubToken") secrets.push(k);
    } else config[k] = v;
  }
  return { text: stringify({ config }), secrets: secrets.sort() };
}

/** A value a dropped secret gets in the rehearsal: something the program accepts, that nobody mistakes for the real one. */
function placeholder(key: string): string {
  if (key.endsWith("WebhookUrl")) return "https://hooks.example.invalid/mirror-fleet-rehearsal";
  if (key === "mirror-fleet:cosignPrivateKey") return "-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\nrehearsal placeholder\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----";
  return "rehearsal placeholder";
}

class UsageError extends Error {}

/** What one mirror repository received, read back from the stand-in. */
export function describeRepo(s: GitHubStandIn, fullName: string): string {
  const repo = s.repo(fullName);
  const head = s.head(fullName, repo.defaultBranch);
  const files = head ? [...head.tree.keys()].sort() : [];
  const prefix = `/api/v3/repos/${fullName}/`;
  const mine = s.requests.filter((r) => r.url.startsWith(prefix) || r.url === `/api/v3/repos/${fullName}`);
  const writes = mine.filter((r) => r.method !== "GET").length;
  const lines = [
    `${fullName} (${repo.private ? "private" : "public"}, default branch ${repo.defaultBranch})`,
    `  files (${files.length}): ${files.join(", ")}`,
    `  labels: ${[...repo.labels.keys()].sort().join(", ")}`,
    `  requests: ${mine.length} (${writes} writes)`,
  ];
  for (const [what, value] of Object.entries(s.settingsOf(fullName) ?? {})) lines.push(`  ${what}: ${JSON.stringify(value)}`);
  return lines.join("\n");
}

/**
 * The file that marks a folder as a rehearsal's (--dir): the stacks it has,
 * and the stand-in's port, which the stack's GitHub address names (a new port
 * would show as a change of every link).
 */
const MARK = "rehearsal.json";
interface Mark {
  readonly stacks: readonly string[];
  readonly port?: number;
}

/**
 * The rehearsal's folder: new (a temporary one, or an empty or new DIR), or
 * the DIR of an earlier rehearsal, brought up to this checkout. A folder that
 * holds anything else is refused: nothing of the user's is overwritten.
 */
function rehearsalFolder(dir: string | undefined): { p: EngineProject; mark: Mark } {
  if (dir === undefined) return { p: EngineProject.create("mirror-fleet-rehearsal-", ROOT, "source"), mark: { stacks: [] } };
  if (fs.existsSync(path.join(dir, MARK))) return { p: EngineProject.reopen(dir, ROOT), mark: JSON.parse(fs.readFileSync(path.join(dir, MARK), "utf8")) as Mark };
  if (fs.existsSync(dir) && fs.readdirSync(dir).length > 0) throw new UsageError(`--dir ${dir}: not empty, and not an earlier rehearsal's (no ${MARK}): give a new or empty folder, or the one an earlier rehearsal kept`);
  const p = EngineProject.create("", ROOT, "source", dir);
  fs.writeFileSync(path.join(dir, MARK), `${JSON.stringify({ stacks: [] })}\n`);
  return { p, mark: { stacks: [] } };
}

async function main(opts: Options): Promise<number> {
  execFileSync("bash", [path.join(ROOT, "tools", "build.sh"), "pulumi", "github"], { stdio: "inherit" });
  const stackFile = path.join(ROOT, `Pulumi.${opts.stack}.yaml`);
  const settings = settingsFromStackFile(stackFile);
  // A copy of the project with this checkout's mirrors/: the engine writes the
  // stack file (encryptionsalt) on its first run, and a rehearsal must leave
  // the checkout as it was.
  const { p, mark } = rehearsalFolder(opts.dir);
  const log = path.join(p.base, "requests.jsonl");
  // With --dir, the stand-in's repositories and its token outlive the run.
  const github = path.join(p.base, "github");
  const tokenFile = path.join(github, "token");
  const s = await startGitHubStandIn({
    logFile: log,
    ...(mark.port !== undefined ? { port: mark.port } : {}),
    ...(opts.dir ? { stateDir: github } : {}),
    ...(opts.dir && fs.existsSync(tokenFile) ? { token: fs.readFileSync(tokenFile, "utf8").trim() } : {}),
  }).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== "EADDRINUSE") throw e;
    throw new Error(`the stand-in of the rehearsal in ${p.base} listens on 127.0.0.1:${mark.port}, and something else uses that port now: stop it, or rehearse in a new --dir`);
  });
  const remember = (stacks: readonly string[]) => fs.writeFileSync(path.join(p.base, MARK), `${JSON.stringify({ stacks, port: Number(new URL(s.url).port) })}\n`);
  if (opts.dir) {
    fs.mkdirSync(github, { recursive: true });
    fs.writeFileSync(tokenFile, `${s.token}\n`, { mode: 0o600 });
    remember(mark.stacks);
  }
  const allows = !opts.orgDefault;
  s.addOrg(settings.owner, { canApprovePullRequestReviews: allows });
  try {
    process.stdout.write(`mirror-fleet rehearsal: GitHub stand-in at ${s.url}, project copy and state in ${p.base}\n`);
    process.stdout.write(
      allows
        ? `The stand-in's organisation ${settings.owner} has "${ORG_PR_SETTING}" turned on, as mirror-fleet:actionsCanCreatePullRequests in Pulumi.${opts.stack}.yaml says; on GitHub it is off until an owner turns it on (--org-default rehearses that).\n`
        : `The stand-in's organisation ${settings.owner} has "${ORG_PR_SETTING}" off, GitHub's default.\n`,
    );
    const env = p.env(`${s.url}/`, s.token);
    const copy = rehearsalStackFile(fs.readFileSync(stackFile, "utf8"));
    const copyFile = path.join(p.dir, `Pulumi.${opts.stack}.yaml`);
    const known = mark.stacks.includes(opts.stack);
    // An earlier rehearsal's stack keeps its salt: the state's secrets were encrypted with it.
    const salt = known ? (parse(fs.readFileSync(copyFile, "utf8")) as { encryptionsalt?: string } | null)?.encryptionsalt : undefined;
    fs.writeFileSync(copyFile, salt ? `${copy.text}encryptionsalt: ${salt}\n` : copy.text);
    fs.mkdirSync(p.stateDir, { recursive: true });
    if (!known) {
      const init = await p.pulumi(["stack", "init", opts.stack], env);
      if (init.code !== 0) throw new Error(`pulumi stack init ${opts.stack}: ${init.stderr.trim()}`);
      if (opts.dir) remember([...mark.stacks, opts.stack]);
    } else process.stdout.write(`Rehearsing on the stack and stand-in kept in ${p.base}: what follows is what this checkout changes there.\n`);
    for (const key of copy.secrets) {
      const r = await p.pulumi(["config", "set", "--stack", opts.stack, "--secret", key, "--", placeholder(key)], env);
      if (r.code !== 0) throw new Error(`pulumi config set --secret ${key}: ${r.stderr.trim()}`);
    }
    if (copy.secrets.length) process.stdout.write(`Secrets of Pulumi.${opts.stack}.yaml are encrypted with your passphrase; the rehearsal gives these placeholders instead: ${copy.secrets.join(", ")}\n`);
    const code = await new Promise<number>((resolve, reject) => {
      const child = spawn(process.execPath, ["--import", "tsx", "infra/automation.ts", "up", "--stack", opts.stack], { cwd: p.dir, env, stdio: "inherit" });
      child.on("error", reject);
      child.on("close", (c) => resolve(c ?? 1));
    });
    const received = `${s.requests.length} requests, ${s.writes().length} writes, ${s.rejected.length} refused by GitHub's description`;
    process.stdout.write(code === 0 ? `\nWhat GitHub received (${received}):\n` : `\nThe rehearsal's up FAILED (exit ${code}; its error is above). What GitHub received before it stopped (${received}):\n`);
    for (const name of s.repoNames()) {
      if (name.startsWith(`${settings.owner}/`)) process.stdout.write(`${describeRepo(s, name)}\n`);
    }
    process.stdout.write("Upstream health in the inventory says \"unavailable\": the stand-in holds no upstream repositories.\n");
    if (s.rejected.length > 0) process.stdout.write(`refused:\n${s.rejected.map((r) => `  ${r.method} ${r.url}: ${r.reason}`).join("\n")}\n`);
    return code !== 0 ? code : s.rejected.length > 0 ? 1 : 0;
  } finally {
    await s.stop();
    if (opts.dir) {
      process.stdout.write(`kept: ${p.base}; rehearse again with --dir ${p.base} to see what a change to mirrors/, the policy or the stack file changes\n`);
    } else if (opts.keep) {
      process.stdout.write(
        `kept: ${p.base} (project copy, state, stand-in request log requests.jsonl)\n` +
          `  its stack: cd ${p.dir} && PULUMI_CONFIG_PASSPHRASE=${ENGINE_PASSPHRASE} PULUMI_BACKEND_URL=file://${p.stateDir} PULUMI_HOME=${path.join(p.base, "pulumi-home")} pulumi stack export --stack ${opts.stack}\n`,
      );
    } else p.cleanup();
  }
}

if (require.main === module) {
  (async () => {
    try {
      const opts = parseOptions(process.argv.slice(2));
      if (opts === "help") {
        process.stdout.write(USAGE);
        return;
      }
      process.exitCode = await main(opts);
    } catch (e) {
      process.stderr.write(`mirror-fleet rehearse: ${(e as Error).message}\n`);
      process.exitCode = e instanceof UsageError ? 2 : 1;
    }
  })();
}
