/**
 * `npm run rehearse`: a real `pulumi up` of this fleet into a GitHub stand-in,
 * for someone without an organisation at hand (or before pointing the stack
 * at a real one). It builds the real tools if needed (`npm run engine:build`),
 * starts the stand-in on 127.0.0.1, runs `npm run up` on a throw-away local
 * backend, and prints what GitHub would have received: per mirror repository,
 * its files, labels, ruleset, Actions settings and secrets, and the requests
 * and writes it took. Nothing outside a temporary folder is touched.
 */
import { execFileSync, spawn } from "node:child_process";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { EngineProject } from "../test/engine/harness";
import { startGitHubStandIn, type GitHubStandIn } from "../test/support/github-standin";
import { settingsFromStackFile } from "../infra/settings";

const ROOT = path.resolve(__dirname, "..");

export const USAGE = `usage: npm run rehearse -- [--stack NAME] [--keep]

A real \`pulumi up\` of the fleet into a GitHub stand-in on 127.0.0.1: builds the
Pulumi CLI and the GitHub provider if needed (npm run engine:build), runs the
engine on a throw-away local backend, and prints what GitHub would have received.
  --stack NAME  whose settings to use: Pulumi.<NAME>.yaml (default prod)
  --keep        keep the temporary folder (state, request log) and say where
`;

interface Options {
  readonly stack: string;
  readonly keep: boolean;
}

export function parseOptions(argv: readonly string[]): Options | "help" {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], strict: true, options: { stack: { type: "string", default: "prod" }, keep: { type: "boolean", default: false }, help: { type: "boolean", short: "h", default: false } } });
  } catch (e) {
    throw new UsageError(`${(e as Error).message}\n\n${USAGE}`);
  }
  if (parsed.values.help) return "help";
  return { stack: parsed.values.stack!, keep: parsed.values.keep! };
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
  const settings = settingsFromStackFile(path.join(ROOT, `Pulumi.${opts.stack}.yaml`));
  // A copy of the project: the engine writes the stack file (encryptionsalt)
  // on its first run, and a rehearsal must leave the checkout as it was.
  const p = EngineProject.create("mirror-fleet-rehearsal-");
  const s = await startGitHubStandIn();
  // The stack promises (mirror-fleet:actionsCanCreatePullRequests) that the
  // organisation lets Actions create pull requests; the stand-in org agrees.
  s.addOrg(settings.owner, { canApprovePullRequestReviews: true });
  try {
    process.stdout.write(`mirror-fleet rehearsal: GitHub stand-in at ${s.url}, project copy and state in ${p.base}\n`);
    const env = p.env(`${s.url}/`, s.token);
    const code = await new Promise<number>((resolve, reject) => {
      const child = spawn(process.execPath, ["--import", "tsx", "infra/automation.ts", "up", "--stack", opts.stack], { cwd: p.dir, env, stdio: "inherit" });
      child.on("error", reject);
      child.on("close", (c) => resolve(c ?? 1));
    });
    process.stdout.write(`\nWhat GitHub received (${s.requests.length} requests, ${s.writes().length} writes, ${s.rejected.length} refused by GitHub's description):\n`);
    for (const name of s.repoNames()) {
      if (name.startsWith(`${settings.owner}/`)) process.stdout.write(`${describeRepo(s, name)}\n`);
    }
    process.stdout.write("Upstream health in the inventory says \"unavailable\": the stand-in holds no upstream repositories.\n");
    if (s.rejected.length > 0) process.stdout.write(`refused:\n${s.rejected.map((r) => `  ${r.method} ${r.url}: ${r.reason}`).join("\n")}\n`);
    return code !== 0 ? code : s.rejected.length > 0 ? 1 : 0;
  } finally {
    await s.stop();
    if (opts.keep) process.stdout.write(`kept: ${p.base}\n`);
    else p.cleanup();
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
