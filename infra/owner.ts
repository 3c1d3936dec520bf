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
