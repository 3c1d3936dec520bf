/**
 * How many GitHub API requests a `pulumi up` of the fleet makes, per
 * resource type and operation, from the provider's source
 * (integrations/terraform-provider-github, which @pulumi/github bridges).
 * RepositoryFile and IssueLabel are read straight from their CRUD functions;
 * the others are the calls their create/read functions make, rounded up.
 * The bench multiplies these by the resources the program actually declares.
 *
 * What they are checked against (docs.github.com, "Rate limits for the REST
 * API" and "Rate limits for GitHub Apps"): a token has 5,000 requests an
 * hour; a GitHub App installation 5,000 plus 50 per repository beyond 20, at
 * most 12,500. Independently, no more than 80 content-creating requests a
 * minute and 500 an hour (secondary limits); every write is budgeted as one.
 */
export interface CallCost {
  /** Requests for a create, including the provider's read-back; `writes` of them change something. */
  readonly create: number;
  readonly createWrites: number;
  /** Requests for an in-place update, with read-back. */
  readonly update: number;
  readonly updateWrites: number;
  /** Requests for one read (what `--refresh` does per resource). */
  readonly read: number;
}

export const CALLS: Readonly<Record<string, CallCost>> = {
  // POST /orgs/{org}/repos, PUT topics, PUT vulnerability-alerts, PATCH settings; read: GET repo + GET vulnerability-alerts.
  "github:index/repository:Repository": { create: 6, createWrites: 4, update: 3, updateWrites: 1, read: 2 },
  // POST branches/{b}/rename; read: GET repo.
  "github:index/branchDefault:BranchDefault": { create: 3, createWrites: 1, update: 3, updateWrites: 1, read: 1 },
  // GET label (exists?), POST or PATCH, GET (read-back).
  "github:index/issueLabel:IssueLabel": { create: 3, createWrites: 1, update: 3, updateWrites: 1, read: 1 },
  // PUT actions/permissions, PUT selected-actions; read: both GETs.
  "github:index/actionsRepositoryPermissions:ActionsRepositoryPermissions": { create: 4, createWrites: 2, update: 4, updateWrites: 2, read: 2 },
  // PUT actions/permissions/workflow; read: GET.
  "github:index/workflowRepositoryPermissions:WorkflowRepositoryPermissions": { create: 2, createWrites: 1, update: 2, updateWrites: 1, read: 1 },
  // GET public key, PUT secret; read: GET secret.
  "github:index/actionsSecret:ActionsSecret": { create: 3, createWrites: 1, update: 3, updateWrites: 1, read: 1 },
  // create: GET branch, GET contents (exists?), PUT contents (a commit), then read; read: GET branch, GET contents, GET commit.
  "github:index/repositoryFile:RepositoryFile": { create: 6, createWrites: 1, update: 5, updateWrites: 1, read: 3 },
  // POST rulesets; read: GET ruleset.
  "github:index/repositoryRuleset:RepositoryRuleset": { create: 2, createWrites: 1, update: 2, updateWrites: 1, read: 1 },
  // The post-deploy workflow dispatch (infra/dispatch.ts): one POST when its triggers change; a local command, never read.
  "command:local:Command": { create: 1, createWrites: 1, update: 1, updateWrites: 1, read: 0 },
};

/**
 * The fleet's upstream-health check (policy.deploy.healthCheck, infra/upstream-health.ts) runs at
 * every preview and up, per distinct upstream: the repository, its newest commit, its tags (one
 * page or more) and up to three tag commits (pipeline/lib/health.ts).
 */
export const HEALTH_CHECK_PER_UPSTREAM = 6;

export const LIMITS = {
  tokenPerHour: 5_000,
  appBasePerHour: 5_000,
  appPerRepoPerHour: 50,
  appMaxPerHour: 12_500,
  writesPerMinute: 80,
  writesPerHour: 500,
} as const;

/** An App installation's hourly limit with `repos` repositories (the mirrors plus the fleet repo). */
export function appLimit(repos: number): number {
  return Math.min(LIMITS.appMaxPerHour, LIMITS.appBasePerHour + Math.max(0, repos - 20) * LIMITS.appPerRepoPerHour);
}

export interface Budget {
  readonly requests: number;
  readonly writes: number;
}

/** Per-mirror resource counts by type -> requests for N mirrors of one operation. */
export function budget(perMirror: Readonly<Record<string, number>>, n: number, op: "create" | "read"): Budget {
  let requests = 0;
  let writes = 0;
  for (const [type, count] of Object.entries(perMirror)) {
    const c = CALLS[type];
    if (!c) throw new Error(`no API cost known for ${type}: add it to bench/api-budget.ts`);
    requests += count * n * (op === "create" ? c.create : c.read);
    writes += count * n * (op === "create" ? c.createWrites : 0);
  }
  return { requests: Math.round(requests), writes: Math.round(writes) };
}

/** Hours the operation needs at least, given the hourly request limit and the content-creation limit. */
export function hoursAtLeast(b: Budget, requestsPerHour: number): number {
  return Math.max(b.requests / requestsPerHour, b.writes / LIMITS.writesPerHour);
}
