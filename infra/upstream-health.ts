/**
 * Upstream health for the inventory, read from the GitHub API at every
 * preview and up: one run for the whole fleet, through @pulumi/command's
 * `local.run` invoke (infra/program.ts), so it shows no diff and creates no
 * resource. Same logic as the mirrors' weekly `health` job
 * (pipeline/lib/health.ts).
 *
 *   node --import tsx infra/upstream-health.ts --max-days-since-commit N --max-days-since-release M owner/repo…
 *
 * Prints `{ "<owner/repo>": HealthReport | { unavailable: "<why>" } }` and
 * always exits 0: a missing token or an unreachable API is reported in the
 * inventory, not turned into a failed deploy.
 */
import { parseArgs } from "node:util";
import type { Io } from "../pipeline/cli";
import { github } from "../pipeline/github";
import { assessHealth, fetchUpstreamFacts, type HealthReport } from "../pipeline/lib/health";
import { deployToken } from "./github-token";

export type HealthByRepo = Record<string, (HealthReport & { checkedAt: string }) | { unavailable: string; checkedAt: string }>;

export async function checkUpstreams(repos: readonly string[], policy: { maxDaysSinceCommit: number; maxDaysSinceRelease: number }, io: Io, today = new Date()): Promise<HealthByRepo> {
  const checkedAt = today.toISOString().slice(0, 10);
  const out: HealthByRepo = {};
  let token: string | undefined;
  try {
    token = await deployToken(io.env);
  } catch (e) {
    for (const r of repos) out[r] = { unavailable: (e as Error).message, checkedAt };
    return out;
  }
  if (!token) {
    for (const r of repos) out[r] = { unavailable: "no GITHUB_TOKEN or GitHub App credentials where pulumi runs", checkedAt };
    return out;
  }
  const gh = github({ ...io, env: { ...io.env, GITHUB_TOKEN: token } });
  for (const repo of repos) {
    try {
      out[repo] = { ...assessHealth(await fetchUpstreamFacts(gh, repo), policy, today), checkedAt };
    } catch (e) {
      out[repo] = { unavailable: (e as Error).message.split("\n")[0].slice(0, 200), checkedAt };
    }
  }
  return out;
}

if (require.main === module) {
  const { values, positionals } = parseArgs({
    args: process.argv.slice(2),
    allowPositionals: true,
    options: { "max-days-since-commit": { type: "string" }, "max-days-since-release": { type: "string" } },
  });
  const io: Io = { env: process.env, cwd: process.cwd(), stdout: (t) => process.stdout.write(t), stderr: (t) => process.stderr.write(t) };
  checkUpstreams(positionals, { maxDaysSinceCommit: Number(values["max-days-since-commit"]), maxDaysSinceRelease: Number(values["max-days-since-release"]) }, io).then(
    (r) => process.stdout.write(JSON.stringify(r) + "\n"),
    (e) => {
      process.stdout.write(JSON.stringify(Object.fromEntries(positionals.map((p) => [p, { unavailable: String((e as Error).message), checkedAt: new Date().toISOString().slice(0, 10) }]))) + "\n");
    },
  );
}
