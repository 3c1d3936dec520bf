/**
 * What the stack says about its GitHub owner, checked against GitHub before
 * anything is declared: GitHub would otherwise answer only in the middle of
 * an `up`, after some repositories exist.
 *
 * - `mirror-fleet:githubOwner` must be an organisation. A user account is not
 *   supported: the mirrors rely on organisation features (the pin job's pull
 *   requests under the organisation's Actions policy, the review team in
 *   CODEOWNERS, the ruleset's OrganizationAdmin bypass), and the provider,
 *   pointed at a user, creates the repositories under the token's account and
 *   then fails on the first organisation-only request.
 * - The organisation must let Actions create pull requests ("Allow GitHub
 *   Actions to create and approve pull requests", off by default): each
 *   mirror's workflow token setting is refused with 409 otherwise.
 *   `mirror-fleet:actionsCanCreatePullRequests: true` says so; this reads
 *   whether it is true. Reading it needs the organisation's Administration:
 *   read permission; without it the check is skipped with a warning, and
 *   GitHub's own 409 remains the backstop.
 */
import { RULESET_NAME } from "../components/ruleset";
import type { StackSettings } from "../components/types";
import type { GitHub } from "../pipeline/github";
import { ORG_PR_SETTING } from "./settings";

export interface OwnerFacts {
  /** Problems that stop the run, each naming the setting and what to do. */
  readonly problems: readonly string[];
  /** What could not be checked. */
  readonly warnings: readonly string[];
}

const status = (e: unknown): number | undefined => (e as { status?: number }).status;

export async function checkOwner(gh: GitHub, owner: string, apiUrl: string): Promise<OwnerFacts> {
  try {
    await gh.request("GET /orgs/{org}", { org: owner });
  } catch (e) {
    if (status(e) !== 404) throw new Error(`cannot read the organisation ${owner} on ${apiUrl}: ${(e as Error).message.split("\n")[0].slice(0, 200)}`);
    return {
      problems: [
        `mirror-fleet:githubOwner: ${JSON.stringify(owner)} is not an organisation on ${apiUrl} (GET /orgs/${owner}: 404). ` +
          `The fleet's repositories live in an organisation (a user account is not supported); set it to the organisation's login, and point MIRROR_FLEET_GITHUB_API at the GitHub that has it`,
      ],
      warnings: [],
    };
  }
  let allowed: boolean;
  try {
    allowed = ((await gh.request("GET /orgs/{org}/actions/permissions/workflow", { org: owner })).data as { can_approve_pull_request_reviews: boolean }).can_approve_pull_request_reviews;
  } catch (e) {
    if (status(e) !== 403 && status(e) !== 404) throw new Error(`cannot read the Actions settings of ${owner}: ${(e as Error).message.split("\n")[0].slice(0, 200)}`);
    return {
      problems: [],
      warnings: [`could not read whether ${owner} has turned on "${ORG_PR_SETTING}" (GET /orgs/${owner}/actions/permissions/workflow: ${status(e)}; it needs the organisation's Administration: read permission): if it is off, every mirror's workflow permissions are refused with 409 during up`],
    };
  }
  return allowed
    ? { problems: [], warnings: [] }
    : {
        problems: [
          `mirror-fleet:actionsCanCreatePullRequests: true, but ${owner} has "${ORG_PR_SETTING}" turned off (GET /orgs/${owner}/actions/permissions/workflow), so GitHub would refuse every mirror's workflow permissions with 409 half-way through up. ` +
            `Have an owner of ${owner} turn it on (the organisation's Settings > Actions > General > Workflow permissions), then run again`,
        ],
        warnings: [],
      };
}

/**
 * Whether the deploying identity can bypass the mirrors' default-branch
 * ruleset, which every later `up` needs: a drift fix or a policy change
 * commits straight to `main`, and GitHub refuses that ("Repository rule
 * violations found", in the middle of an up) to anyone the ruleset does not
 * list as a bypass actor. Checked before any write:
 * - deploying as a GitHub App (GITHUB_APP_ID, no githubToken), the ruleset's
 *   Integration bypass must name that App: `deployBypassActorId` must be its id;
 * - otherwise, on a repository the stack already manages (the ruleset exists
 *   from the first `up` on), GitHub says it itself: the ruleset's
 *   `current_user_can_bypass` for the caller (two reads per run).
 */
export async function checkBypass(
  gh: () => Promise<GitHub>,
  settings: Pick<StackSettings, "owner" | "branchProtection" | "deployBypassActorId">,
  env: Readonly<Record<string, string | undefined>>,
  configToken: boolean,
  managedRepo: string | undefined,
): Promise<string[]> {
  if (!settings.branchProtection) return [];
  const fix = `Set mirror-fleet:deployBypassActorId to the id of the GitHub App you deploy with (GITHUB_APP_ID), or deploy with an organisation owner's token and leave it unset`;
  const app = !configToken && env.GITHUB_APP_ID && env.GITHUB_APP_INSTALLATION_ID && env.GITHUB_APP_PEM_FILE ? Number(env.GITHUB_APP_ID) : undefined;
  if (app !== undefined && settings.deployBypassActorId !== app) {
    return [
      `mirror-fleet:deployBypassActorId: ${settings.deployBypassActorId ?? "unset (organisation admins)"}, but the fleet deploys as the GitHub App ${app} (GITHUB_APP_ID): ` +
        `every later commit to a mirror's default branch would be refused by its ruleset ("Repository rule violations found"). ${fix}`,
    ];
  }
  if (!managedRepo) return [];
  const api = await gh();
  const p = { owner: settings.owner, repo: managedRepo };
  const list = (await api.request("GET /repos/{owner}/{repo}/rulesets", { ...p, includes_parents: false, per_page: 100 })).data as Array<{ id: number; name: string }>;
  const ours = list.find((r) => r.name === RULESET_NAME);
  if (!ours) return [];
  const r = (await api.request("GET /repos/{owner}/{repo}/rulesets/{ruleset_id}", { ...p, ruleset_id: ours.id })).data as {
    current_user_can_bypass?: string;
    bypass_actors?: Array<{ actor_type?: string; actor_id?: number | null }>;
  };
  if (r.current_user_can_bypass !== "never") return [];
  const actors = (r.bypass_actors ?? []).map((a) => `${a.actor_type}${a.actor_id ? ` ${a.actor_id}` : ""}`).join(", ") || "none";
  return [
    `${settings.owner}/${managedRepo}: the deploying identity cannot bypass the ruleset "${RULESET_NAME}" (its bypass: ${actors}), ` +
      `so every drift fix and policy change would be refused ("Repository rule violations found"). ${fix}`,
  ];
}
