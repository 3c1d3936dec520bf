/**
 * Which repositories this stack may take as its own (each mirror's, and the
 * pipeline repository whose action every mirror runs; DESIGN invariants 10
 * and 11), decided before anything is declared.
 *
 * Writes are safe to retry: a create that got a 502 or timed out after GitHub
 * applied it leaves a repository on GitHub that the stack's state does not
 * know, and creating it again fails with 422 on every later `up`. Such a
 * repository is adopted with the `import` resource option. But a
 * repository with a mirror's name can also be a stranger's: any member who
 * can create repositories can make `acme-corp/mirror-plik` before the fleet
 * does (names are public in the fleet's pull requests), and importing it
 * would commit the fleet's workflow into a repository its maker administers
 * and write the signing key into its Actions secrets. So:
 *
 * 1. What the stack already manages is read from its own state, through the
 *    engine (`pulumi:pulumi:readStackResourceOutputs` of this stack, the
 *    same on `pulumi up` and `npm run up`): its repositories are managed and
 *    never imported.
 * 2. A repository the state does not hold but GitHub does is adopted only
 *    with proof that it is what the fleet's own create request left: the
 *    settings that request sent, one branch holding only GitHub's initial
 *    commit (a README), and no one and nothing else in it: no collaborator
 *    but the deploying identity, no invitation, team, deploy key, webhook,
 *    Actions secret or variable, self-hosted runner, environment or ruleset,
 *    no fork, no tag. Whoever made a repository that passes has no way into
 *    it, and nothing they left can run or read what the fleet puts there.
 * 3. Anything else stops the run before any write, naming the repository,
 *    what was found, and what to do. A repository the fleet did make and no
 *    longer manages (a mirror removed from mirrors/ and added back) is taken
 *    back only when a person lists it in `mirror-fleet:adoptRepositories`
 *    after checking it (README, "Removing a mirror").
 *
 * Cost: no request for a repository the state holds; one read for each
 * repository the state does not hold; 14 reads for each that exists on
 * GitHub without the state knowing it (rare: a lost answer).
 */
import * as pulumi from "@pulumi/pulumi";
import type { GitHub } from "../pipeline/github";

/** What the MirroredImage declares with `import` (components/mirrored-image.ts `adopt`). */
export interface Existing {
  readonly repository: boolean;
}

/** The stack's own resources, as its last saved state has them. */
export interface Managed {
  /** Repository names (`mirror-x`). */
  readonly repositories: ReadonlySet<string>;
}

const REPOSITORY = "github:index/repository:Repository";

/** Picks the stack's repositories out of readStackResourceOutputs' answer. */
export function managedFrom(outputs: Record<string, { type?: string; outputs?: Record<string, unknown> }>): Managed {
  const repositories = new Set<string>();
  for (const r of Object.values(outputs)) {
    const o = r.outputs ?? {};
    if (r.type === REPOSITORY && typeof o.name === "string") repositories.add(o.name);
  }
  return { repositories };
}

/** This stack's resources from its saved state, read through the engine's builtin invoke. */
export async function managedByStack(): Promise<Managed> {
  const stackName = `${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}`;
  const r = (await pulumi.runtime.invoke("pulumi:pulumi:readStackResourceOutputs", { stackName })) as { outputs?: Record<string, { type?: string; outputs?: Record<string, unknown> }> };
  return managedFrom(r.outputs ?? {});
}

/** What the create request of a mirror repository sets, as `GET /repos/{owner}/{repo}` reads it back. */
export type CreatedSettings = Readonly<Record<string, string | boolean | null>>;

export interface Candidate {
  /** `mirrors/x.ts`, for the message. */
  readonly sourceFile: string;
  readonly repo: string;
  /** What the program's create request sends (components/repository.ts `createdSettings`). */
  readonly settings: CreatedSettings;
  /** What to do when it is not the fleet's. @default rename the mirror (`name` in sourceFile) */
  readonly ifNotOurs?: string;
}

export interface AdoptionInputs {
  readonly owner: string;
  readonly mirrors: readonly Candidate[];
  readonly managed: Managed;
  /** Repository names a person checked and listed in mirror-fleet:adoptRepositories. */
  readonly vouched: readonly string[];
}

/** Refusals, one per repository, thrown together before anything is declared. */
export class AdoptionRefused extends Error {}

/**
 * What of each mirror exists on GitHub and may be adopted. Throws
 * AdoptionRefused naming every repository that exists but is not provably the
 * fleet's; throws when GitHub cannot be read (a deploy that cannot see what
 * exists must not guess).
 */
export async function findExisting(inputs: AdoptionInputs, api: () => Promise<GitHub>): Promise<Map<string, Existing>> {
  const out = new Map<string, Existing>();
  const refusals: string[] = [];
  const names = new Set(inputs.mirrors.map((m) => m.repo));
  for (const v of inputs.vouched.filter((r) => !names.has(r))) {
    refusals.push(`mirror-fleet:adoptRepositories: ${JSON.stringify(v)} is not allowed (allowed: a repository of this fleet: ${[...names].join(", ")})`);
  }
  let deployer: string | null | undefined;
  for (const m of inputs.mirrors) {
    if (inputs.managed.repositories.has(m.repo)) {
      out.set(m.repo, { repository: false });
      continue;
    }
    const found = await getRepo(await api(), inputs.owner, m.repo);
    if (!found) {
      out.set(m.repo, { repository: false });
      continue;
    }
    if (found.archived === true) {
      // The provider does not unarchive (its `archived` is documented as one-way), and every write to an archived repository is refused.
      refusals.push(
        `${m.sourceFile}: ${inputs.owner}/${m.repo} exists and is archived. If it is this fleet's (a mirror removed and added back), unarchive it ` +
          `(its Settings > Danger Zone > Unarchive, or: gh api --method PATCH repos/${inputs.owner}/${m.repo} -F archived=false) and run again; ` +
          `if it is not, ${ifNotOurs(m)}`,
      );
      continue;
    }
    if (!inputs.vouched.includes(m.repo)) {
      if (deployer === undefined) deployer = await deployingLogin(await api());
      const problems = await provenance(await api(), inputs.owner, m.repo, found, m.settings, deployer);
      if (problems.length) {
        refusals.push(refusal(inputs.owner, m, problems));
        continue;
      }
    }
    out.set(m.repo, { repository: true });
  }
  if (refusals.length) {
    throw new AdoptionRefused(
      `${refusals.length} ${refusals.length === 1 ? "repository" : "repositories"} of this fleet ${refusals.length === 1 ? "exists" : "exist"} on GitHub that this stack did not create; nothing was written:\n  - ${refusals.join("\n  - ")}`,
    );
  }
  return out;
}

function refusal(owner: string, m: Candidate, problems: readonly string[]): string {
  return (
    `${m.sourceFile}: ${owner}/${m.repo} already exists and is not what this fleet's create request leaves (${problems.join("; ")}). ` +
    `If it is not this fleet's, ${ifNotOurs(m)}. ` +
    `If it is this fleet's own (a repository this stack managed before: a mirror removed and added back, a stack made again), check its collaborators, secrets, webhooks, deploy keys and workflows by hand, ` +
    `then list it: pulumi config set --path 'mirror-fleet:adoptRepositories[0]' ${m.repo}`
  );
}

function ifNotOurs(m: Candidate): string {
  return m.ifNotOurs ?? `rename the mirror (\`name\` in ${m.sourceFile}) or have its owner rename it`;
}

async function getRepo(gh: GitHub, owner: string, repo: string): Promise<Record<string, unknown> | undefined> {
  try {
    return (await gh.request("GET /repos/{owner}/{repo}", { owner, repo })).data as Record<string, unknown>;
  } catch (e) {
    if ((e as { status?: number }).status === 404) return undefined;
    throw new Error(`cannot look for ${owner}/${repo} on GitHub: ${(e as Error).message.split("\n")[0].slice(0, 200)}`);
  }
}

/** The login of the token's user; null for a GitHub App's installation token (which may not call GET /user). */
async function deployingLogin(gh: GitHub): Promise<string | null> {
  try {
    return ((await gh.request("GET /user")).data as { login: string }).login;
  } catch {
    return null;
  }
}

/**
 * Why the repository is not what the fleet's create request left, as short
 * phrases; empty when it is. Reads fail closed: an answer we cannot get is a
 * reason, not a pass.
 */
export async function provenance(
  gh: GitHub,
  owner: string,
  repo: string,
  got: Record<string, unknown>,
  sent: CreatedSettings,
  deployer: string | null,
): Promise<string[]> {
  const problems: string[] = [];
  const p = { owner, repo };
  const differ = Object.entries(sent).filter(([k, v]) => got[k] !== v).map(([k]) => k);
  if (differ.length) problems.push(`its ${differ.join(", ")} differ from what the fleet's create request sets`);
  if (got.fork === true) problems.push("it is a fork");
  if (got.is_template === true) problems.push("it is a template");
  if (Number(got.forks_count ?? 0) > 0) problems.push(`it has ${got.forks_count} fork(s)`);
  const list = async (route: string, what: string, count: (data: unknown) => unknown[], params: Record<string, unknown> = {}): Promise<unknown[]> => {
    try {
      return count((await gh.request(route, { ...p, ...params })).data);
    } catch (e) {
      problems.push(`its ${what} could not be read (${(e as { status?: number }).status ?? (e as Error).message.split("\n")[0]})`);
      return [];
    }
  };
  const arr = (d: unknown) => d as unknown[];
  const field = (f: string) => (d: unknown) => ((d as Record<string, unknown[]>)[f] ?? []) as unknown[];
  const branches = await list("GET /repos/{owner}/{repo}/branches", "branches", arr, { per_page: 2 });
  const commits = await list("GET /repos/{owner}/{repo}/commits", "commits", arr, { per_page: 2 });
  if (branches.length !== 1) problems.push(`${branches.length} branches`);
  const first = commits[0] as { sha?: string; parents?: unknown[]; commit?: { tree?: { sha?: string } } } | undefined;
  if (commits.length !== 1 || (first?.parents ?? []).length !== 0) problems.push(`${commits.length === 2 ? "more than one" : commits.length} commit(s)`);
  else {
    const tree = await list("GET /repos/{owner}/{repo}/git/trees/{tree_sha}", "files", field("tree"), { tree_sha: first!.commit?.tree?.sha ?? first!.sha });
    const paths = (tree as Array<{ path: string }>).map((t) => t.path);
    if (paths.length !== 1 || paths[0] !== "README.md") problems.push(`its first commit holds ${paths.map((x) => JSON.stringify(x)).join(", ") || "nothing"}, not only GitHub's README.md`);
  }
  const tags = await list("GET /repos/{owner}/{repo}/tags", "tags", arr, { per_page: 1 });
  if (tags.length) problems.push("tags");
  const collaborators = (await list("GET /repos/{owner}/{repo}/collaborators", "collaborators", arr, { affiliation: "direct", per_page: 100 })) as Array<{ login: string; role_name?: string }>;
  const others = collaborators.filter((c) => c.login !== deployer);
  if (others.length) problems.push(`collaborator(s) ${others.map((c) => `${c.login}${c.role_name ? ` (${c.role_name})` : ""}`).join(", ")}`);
  const counted: Array<[string, string, (d: unknown) => unknown[], Record<string, unknown>?]> = [
    ["GET /repos/{owner}/{repo}/invitations", "invitation(s)", arr, { per_page: 100 }],
    ["GET /repos/{owner}/{repo}/teams", "team(s) with access", arr, { per_page: 100 }],
    ["GET /repos/{owner}/{repo}/keys", "deploy key(s)", arr, { per_page: 100 }],
    ["GET /repos/{owner}/{repo}/hooks", "webhook(s)", arr, { per_page: 100 }],
    ["GET /repos/{owner}/{repo}/actions/secrets", "Actions secret(s)", field("secrets"), { per_page: 100 }],
    ["GET /repos/{owner}/{repo}/actions/variables", "Actions variable(s)", field("variables"), { per_page: 30 }],
    ["GET /repos/{owner}/{repo}/actions/runners", "self-hosted runner(s)", field("runners"), { per_page: 100 }],
    ["GET /repos/{owner}/{repo}/environments", "environment(s)", field("environments"), { per_page: 100 }],
    ["GET /repos/{owner}/{repo}/rulesets", "ruleset(s)", arr, { includes_parents: false, per_page: 100 }],
  ];
  for (const [route, what, count, params] of counted) {
    const n = (await list(route, what, count, params)).length;
    if (n) problems.push(`${n} ${what}`);
  }
  return problems;
}
