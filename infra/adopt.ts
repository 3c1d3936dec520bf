/**
 * Writes to GitHub are safe to retry (DESIGN invariant 10): a create that got
 * a 502 or timed out after GitHub applied it leaves a repository or a label
 * on GitHub that the stack's state does not know. Created again, GitHub says
 * 422 ("already exists") on every later `up`. So before declaring anything,
 * the program looks, per mirror, for its repository and labels on GitHub, and
 * declares what it finds with the `import` resource option: the engine then
 * adopts it (a resource already in the state under the same id is treated
 * like any other, so the option is harmless on a converged fleet).
 *
 * Cost: one read per mirror, and one more for the labels of each repository
 * that exists, at every preview and up.
 */
import type { GitHub } from "../pipeline/github";
import { client, type GitHubReader } from "./upstream-health";

/** What exists on GitHub of one mirror repository. */
export interface Existing {
  readonly repository: boolean;
  /** Names of the fleet's labels that the repository has. */
  readonly labels: readonly string[];
}

/**
 * Looks up each repository of `owner` and its labels. Throws when GitHub
 * cannot be read: a deploy that cannot see what exists must not guess.
 */
export async function findExisting(owner: string, repos: readonly string[], labels: readonly string[], reader: GitHubReader): Promise<Map<string, Existing>> {
  const gh = await client(reader);
  if (typeof gh === "string") throw new Error(`cannot look for existing mirror repositories: ${gh}`);
  const out = new Map<string, Existing>();
  for (const repo of repos) out.set(repo, await existing(gh, owner, repo, labels));
  return out;
}

async function existing(gh: GitHub, owner: string, repo: string, wanted: readonly string[]): Promise<Existing> {
  try {
    await gh.request("GET /repos/{owner}/{repo}", { owner, repo });
  } catch (e) {
    if ((e as { status?: number }).status === 404) return { repository: false, labels: [] };
    throw new Error(`cannot look for ${owner}/${repo} on GitHub: ${(e as Error).message.split("\n")[0].slice(0, 200)}`);
  }
  const names = new Set<string>();
  for await (const page of gh.paginate.iterator("GET /repos/{owner}/{repo}/labels", { owner, repo, per_page: 100 })) {
    for (const l of page.data as Array<{ name: string }>) names.add(l.name);
  }
  return { repository: true, labels: wanted.filter((l) => names.has(l)) };
}
