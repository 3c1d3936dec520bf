/**
 * How many GitHub API requests the fleet's `pulumi up` and `pulumi preview`
 * make, per resource type and operation: MEASURED with the real engine and
 * the real provider (the Pulumi CLI 3.276.0 and pulumi-resource-github
 * 6.15.0 that `npm run engine:build` builds) against the GitHub stand-in,
 * which logs every request with the operation of GitHub's OpenAPI
 * description it matched (test/support/github-standin.ts).
 *
 * How: a fleet of synthetic mirrors (bench/synthetic.ts) is brought up from
 * empty state, refreshed, and one generated file is changed in every mirror;
 * the stand-in's log of each run is counted per operation
 * (test/engine/api-budget.test.ts, `npm run test:engine`, re-measures it and
 * fails when this table no longer matches what the provider does; `npm run
 * bench` prints the same counts for 10 and 50 mirrors, bench/engine.ts).
 * The table gives each operation to the resource type that sends it;
 * `GET /repos/{owner}/{repo}` is sent by several types and is given to each
 * by the provider's source (integrations/terraform-provider-github: the
 * repository's read-back; BranchDefault's, VulnerabilityAlerts' and
 * Ruleset's create; every file commit checks the repository first). The test
 * checks the sum per operation, which is what GitHub counts.
 *
 * What the stand-in cannot show: the latency of the real GitHub (every
 * request here answers in about a millisecond), and what an organisation's
 * own default branch name adds (the stand-in creates `main`, so BranchDefault
 * renames nothing; elsewhere one more write per mirror).
 *
 * The limits the figures are checked against (docs.github.com, "Rate limits
 * for the REST API" and "Rate limits for GitHub Apps"): a token has 5,000
 * requests an hour; a GitHub App installation 5,000 plus 50 per repository
 * beyond 20, at most 12,500. Independently, no more than 80 content-creating
 * requests a minute and 500 an hour (secondary limits); every write is
 * budgeted as one.
 */

/** Requests per resource, by `METHOD operationId` (GitHub's OpenAPI operation). */
export type Ops = Readonly<Record<string, number>>;

export interface CallCost {
  /** A create from nothing, with the provider's read-back. */
  readonly create: Ops;
  /** One read: what `--refresh` does per resource. */
  readonly read: Ops;
  /** An in-place update of one input, with read-back (measured for the file commit only). */
  readonly update?: Ops;
}

export const CALLS: Readonly<Record<string, CallCost>> = {
  "github:index/repository:Repository": {
    // Create, then the provider's update pass (topics and settings, twice), then read-back (repository and its alerts).
    create: { "POST repos/create-in-org": 1, "PUT repos/replace-all-topics": 2, "PATCH repos/update": 2, "GET repos/get": 1, "GET repos/check-vulnerability-alerts": 1 },
    read: { "GET repos/get": 1, "GET repos/check-vulnerability-alerts": 1 },
  },
  "github:index/branchDefault:BranchDefault": {
    // The stand-in creates `main`: no rename. An organisation whose default is another name adds one POST rename.
    create: { "GET repos/get": 1 },
    read: { "GET repos/get": 1 },
  },
  "github:index/repositoryVulnerabilityAlerts:RepositoryVulnerabilityAlerts": {
    create: { "GET repos/get": 1, "PUT repos/enable-vulnerability-alerts": 1 },
    read: { "GET repos/check-vulnerability-alerts": 1 },
  },
  "github:index/actionsRepositoryPermissions:ActionsRepositoryPermissions": {
    create: {
      "PUT actions/set-github-actions-permissions-repository": 1,
      "PUT actions/set-allowed-actions-repository": 1,
      "GET actions/get-github-actions-permissions-repository": 1,
      "GET actions/get-allowed-actions-repository": 1,
    },
    read: { "GET actions/get-github-actions-permissions-repository": 1, "GET actions/get-allowed-actions-repository": 1 },
  },
  "github:index/actionsRepositoryAccessLevel:ActionsRepositoryAccessLevel": {
    // The pipeline repository's sharing with the organisation (once per fleet): set, then read back.
    create: { "PUT actions/set-workflow-access-to-repository": 1, "GET actions/get-workflow-access-to-repository": 1 },
    read: { "GET actions/get-workflow-access-to-repository": 1 },
  },
  "github:index/workflowRepositoryPermissions:WorkflowRepositoryPermissions": {
    create: { "PUT actions/set-github-actions-default-workflow-permissions-repository": 1, "GET actions/get-github-actions-default-workflow-permissions-repository": 1 },
    read: { "GET actions/get-github-actions-default-workflow-permissions-repository": 1 },
  },
  "github:index/actionsSecret:ActionsSecret": {
    create: { "GET repos/get": 1, "GET actions/get-repo-public-key": 1, "PUT actions/create-or-update-repo-secret": 1, "GET actions/get-repo-secret": 1 },
    read: { "GET actions/get-repo-secret": 1 },
  },
  "github:index/repositoryFile:RepositoryFile": {
    // One commit per file: the repository and branch checked, the path looked up, the commit, then read-back of the file and its commit.
    create: { "GET repos/get": 1, "GET repos/get-branch": 1, "GET repos/get-content": 2, "PUT repos/create-or-update-file-contents": 1, "GET repos/get-commit": 1 },
    read: { "GET repos/get-content": 1, "GET repos/get-commit": 1 },
    update: { "GET repos/get-content": 1, "PUT repos/create-or-update-file-contents": 1, "GET repos/get-commit": 1 },
  },
  "github:index/repositoryRuleset:RepositoryRuleset": {
    create: { "GET repos/get": 1, "POST repos/create-repo-ruleset": 1 },
    read: { "GET repos/get-repo-ruleset": 1 },
  },
};

/** Once per engine run, whatever the fleet's size: the provider reads the owner when it starts. */
export const PER_RUN: Ops = { "GET orgs/get": 1 };

/**
 * The program's own reads at every preview and up (measured the same way).
 * The owner (infra/owner.ts): the organisation and its Actions workflow
 * policy, once per run; and, once the stack manages a repository with branch
 * protection on, whether the deploying identity can bypass its ruleset. Adoption (infra/adopt.ts): nothing for a repository
 * the stack's state holds, one read for one it does not (the
 * 14 more reads of a repository that exists without the stack knowing it are
 * the rare case of a lost answer, left out). Upstream health
 * (infra/upstream-health.ts, pipeline/lib/health.ts): the repository, a page
 * of commits, the tags and the releases (one page each per 100): 4 for an
 * upstream whose versions are releases (measured). Tags without a release
 * cost up to 3 more reads (the commit dates of the three highest), so 7 at
 * most below 100 tags.
 *
 * `npm run up` previews before it applies (the plan must keep every mirror in
 * mirrors/): it pays the program's reads and the provider's start twice, and
 * with --refresh the refresh twice.
 */
export const OWNER_CHECK_PER_RUN = 2;
/** The deploying identity's bypass of the ruleset (infra/owner.ts checkBypass): its list and the ruleset, once the stack manages a repository with branch protection on. */
export const BYPASS_CHECK_PER_RUN = 2;
/** infra/adopt.ts: per repository the fleet declares (each mirror's and the pipeline repository), one read when the state lacks it. */
export const ADOPTION_PER_REPOSITORY = { missing: 1, managed: 0 } as const;
export const HEALTH_CHECK_PER_UPSTREAM = 4;
export const HEALTH_CHECK_PER_UPSTREAM_MAX = 7;

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

const isWrite = (op: string) => !op.startsWith("GET ");

/** Requests and writes of a set of operations. */
export function cost(ops: Ops): Budget {
  let requests = 0;
  let writes = 0;
  for (const [op, c] of Object.entries(ops)) {
    requests += c;
    if (isWrite(op)) writes += c;
  }
  return { requests, writes };
}

function costOf(type: string, op: "create" | "read"): Ops {
  const c = CALLS[type];
  if (!c) throw new Error(`no measured API cost for ${type}: add it to bench/api-budget.ts (measure it with test/engine/api-budget.test.ts)`);
  return c[op];
}

/** Per operation, what `count` resources of each type cost (types that make no request, like the stack and components, are skipped). */
export function predictOps(resources: Readonly<Record<string, number>>, op: "create" | "read"): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [type, count] of Object.entries(resources)) {
    if (!type.startsWith("github:index/")) continue;
    for (const [k, c] of Object.entries(costOf(type, op))) out[k] = (out[k] ?? 0) + c * count;
  }
  return out;
}

/** Per-mirror resource counts by type -> provider requests for N mirrors of one operation. */
export function budget(perMirror: Readonly<Record<string, number>>, n: number, op: "create" | "read"): Budget {
  const b = cost(predictOps(perMirror, op));
  return { requests: Math.round(b.requests * n), writes: Math.round(b.writes * n) };
}

/** Hours the operation needs at least, given the hourly request limit and the content-creation limit. */
export function hoursAtLeast(b: Budget, requestsPerHour: number): number {
  return Math.max(b.requests / requestsPerHour, b.writes / LIMITS.writesPerHour);
}
