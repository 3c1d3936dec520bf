/**
 * `npm run rehearse`: a real `pulumi up` of this fleet into a GitHub stand-in,
 * for someone without an organisation at hand (or before pointing the stack
 * at a real one). It builds the real tools if needed (`npm run engine:build`),
 * starts the stand-in on 127.0.0.1, runs `npm run up` on a throw-away local
 * backend, and prints what GitHub would have received: per mirror repository,
 * its files, labels, ruleset, Actions settings and secrets, and the requests
 * and writes it took. Nothing outside a temporary folder is touched.
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

export const USAGE = `usage: npm run rehearse -- [--stack NAME] [--keep] [--org-default]

A real \`pulumi up\` of the fleet into a GitHub stand-in on 127.0.0.1: builds the
Pulumi CLI and the GitHub provider if needed (npm run engine:build), runs the
engine on a throw-away local backend, and prints what GitHub would have received.
  --stack NAME    whose settings to use: Pulumi.<NAME>.yaml (default prod)
  --keep          keep the temporary folder (state, request log) and say how to look
  --org-default   give the stand-in's organisation GitHub's default Actions policy
                  ("${ORG_PR_SETTING}" off) instead of
                  what mirror-fleet:actionsCanCreatePullRequests says it has
`;

interface Options {
  readonly stack: string;
  readonly keep: boolean;
  readonly orgDefault: boolean;
}

export function parseOptions(argv: readonly string[]): Options | "help" {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      strict: true,
      options: { stack: { type: "string", default: "prod" }, keep: { type: "boolean", default: false }, "org-default": { type: "boolean", default: false }, help: { type: "boolean", short: "h", default: false } },
    });
  } catch (e) {
    throw new UsageError(`${(e as Error).message}\n\n${USAGE}`);
  }
  if (parsed.values.help) return "help";
  return { stack: parsed.values.stack!, keep: parsed.values.keep!, orgDefault: parsed.values["org-default"]! };
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

async function main(opts: Options): Promise<number> {
  execFileSync("bash", [path.join(ROOT, "tools", "build.sh"), "pulumi", "github"], { stdio: "inherit" });
  const stackFile = path.join(ROOT, `Pulumi.${opts.stack}.yaml`);
  const settings = settingsFromStackFile(stackFile);
  // A copy of the project: the engine writes the stack file (encryptionsalt)
  // on its first run, and a rehearsal must leave the checkout as it was.
  const p = EngineProject.create("mirror-fleet-rehearsal-");
  const log = path.join(p.base, "requests.jsonl");
  const s = await startGitHubStandIn({ logFile: log });
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
    fs.writeFileSync(path.join(p.dir, `Pulumi.${opts.stack}.yaml`), copy.text);
    fs.mkdirSync(p.stateDir, { recursive: true });
    const init = await p.pulumi(["stack", "init", opts.stack], env);
    if (init.code !== 0) throw new Error(`pulumi stack init ${opts.stack}: ${init.stderr.trim()}`);
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
    if (opts.keep) {
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
