/**
 * What the program reads from GitHub at every preview and up, as plain async
 * code in the program (no command plugin): each upstream's health for the
 * inventory (policy.deploy.healthCheck; same logic as the mirrors' weekly
 * `health` job, pipeline/lib/health.ts) and, for a mirror with preflight on,
 * the upstream tag its override is built against. Reads only: it creates
 * nothing and shows no diff.
 *
 * Where: the upstreams are on github.com. When the fleet deploys there, with
 * the program's token (the githubToken stack secret), else GITHUB_TOKEN or a
 * GitHub App's installation token (infra/github-token.ts). When it deploys to
 * another GitHub (MIRROR_FLEET_GITHUB_API: an Enterprise Server), on
 * api.github.com with MIRROR_FLEET_UPSTREAM_TOKEN only: that GitHub's
 * credentials are not sent to github.com (infra/github-api.ts).
 */
import type { Io } from "../pipeline/cli";
import { github, splitRepo, type GitHub } from "../pipeline/github";
import { assessHealth, fetchUpstreamFacts, type HealthPolicy, type HealthReport } from "../pipeline/lib/health";
import { listGitHubTags, resolveTag, type TagPolicy } from "../pipeline/lib/tags";
import { deployToken } from "./github-token";

type Env = Readonly<Record<string, string | undefined>>;

export type HealthByRepo = Record<string, (HealthReport & { checkedAt: string }) | { unavailable: string; checkedAt: string }>;

/** Where and as whom the program reads GitHub. */
export interface GitHubReader {
  /** REST root, e.g. https://api.github.com or http://127.0.0.1:P/api/v3. */
  readonly apiUrl: string;
  /** The program's token; unset: GITHUB_TOKEN or a GitHub App from `env`, unless `ambient` is false. */
  readonly token?: string;
  readonly env: Env;
  /** Whether GITHUB_TOKEN or a GitHub App from `env` may stand in for `token`: not on another GitHub than the deploy's. @default true */
  readonly ambient?: boolean;
}

/** A client for `reader`, or why there is none (no credentials). */
export async function client(reader: GitHubReader): Promise<GitHub | string> {
  const env = { ...reader.env, GITHUB_API_URL: reader.apiUrl };
  const ambient = reader.ambient ?? true;
  const token = reader.token || (ambient ? await deployToken(env) : undefined);
  if (!token) {
    return ambient
      ? "no githubToken, GITHUB_TOKEN or GitHub App credentials where pulumi runs"
      : `no MIRROR_FLEET_UPSTREAM_TOKEN where pulumi runs: the upstreams are read on ${reader.apiUrl}, not on the GitHub the fleet deploys to, whose credentials are not sent there`;
  }
  const io: Io = { env: { ...env, GITHUB_TOKEN: token }, cwd: process.cwd(), stdout: () => undefined, stderr: (t) => void process.stderr.write(t) };
  // One retry: an unreachable API must not hold a preview for minutes.
  return github(io, { retries: 1 });
}

/**
 * Health of each upstream (`owner/repo`). Never throws: a missing token or an
 * unreachable API is reported per upstream as `unavailable`, not turned into
 * a failed deploy.
 */
export async function checkUpstreams(repos: readonly string[], policy: HealthPolicy, reader: GitHubReader, today = new Date()): Promise<HealthByRepo> {
  const checkedAt = today.toISOString().slice(0, 10);
  const out: HealthByRepo = {};
  let gh: GitHub | string;
  try {
    gh = await client(reader);
  } catch (e) {
    gh = (e as Error).message;
  }
  for (const repo of repos) {
    if (typeof gh === "string") {
      out[repo] = { unavailable: gh, checkedAt };
      continue;
    }
    try {
      out[repo] = { ...assessHealth(await fetchUpstreamFacts(gh, repo), policy, today), checkedAt };
    } catch (e) {
      const why = (e as Error).message.split("\n")[0].slice(0, 200);
      out[repo] = { unavailable: why, checkedAt };
      // No HTTP answer at all: GitHub is unreachable, so the rest would only wait for the same error.
      if (!(e as { response?: unknown }).response) gh = `GitHub unreachable at ${reader.apiUrl}: ${why}`;
    }
  }
  return out;
}

/** The newest upstream tag the tag policy allows (the pipeline's `resolve`, with nothing pinned). Throws when there is none. */
export async function newestAllowedTag(upstream: string, policy: TagPolicy, reader: GitHubReader): Promise<string> {
  const gh = await client(reader);
  if (typeof gh === "string") throw new Error(`preflight: cannot list the tags of ${upstream}: ${gh}`);
  const { owner, repo } = splitRepo(upstream);
  return resolveTag(await listGitHubTags(gh, owner, repo), policy, { lastTag: null, force: false }).tag;
}
