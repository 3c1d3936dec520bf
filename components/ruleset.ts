/**
 * The default-branch ruleset of every repository the fleet manages (the
 * mirrors and the pipeline repository): no deletion, no force push, changes
 * by reviewed pull request, and a bypass for the deploying identity so that
 * `pulumi up` can commit generated files.
 */
import type * as github from "@pulumi/github";
import type * as pulumi from "@pulumi/pulumi";

/** The ruleset's name (infra/owner.ts reads whether the deploying identity can bypass it). */
export const RULESET_NAME = "mirror-fleet: default branch";

export function defaultBranchRuleset(
  repository: pulumi.Input<string>,
  o: { readonly deployBypassActorId?: number; readonly requireCodeOwnerReview: boolean },
): github.RepositoryRulesetArgs {
  return {
    repository,
    name: RULESET_NAME,
    target: "branch",
    enforcement: "active",
    conditions: { refName: { includes: ["~DEFAULT_BRANCH"], excludes: [] } },
    bypassActors: [
      o.deployBypassActorId !== undefined
        ? { actorId: o.deployBypassActorId, actorType: "Integration", bypassMode: "always" }
        : // Organisation admins, for a deploy with an admin's token. No actorId:
          // GitHub ignores it for this type and reads it back as 0, so any
          // value set here would show as a diff on every preview.
          { actorType: "OrganizationAdmin", bypassMode: "always" },
    ],
    rules: {
      deletion: true,
      nonFastForward: true,
      pullRequest: {
        requiredApprovingReviewCount: 1,
        requireCodeOwnerReview: o.requireCodeOwnerReview,
        dismissStaleReviewsOnPush: true,
        requireLastPushApproval: true,
        requiredReviewThreadResolution: false,
      },
    },
  };
}
