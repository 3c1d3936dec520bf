/**
 * MirroredImage: one upstream mirrored into one GitHub repository whose
 * nightly workflow rebuilds, scans, gates, publishes and pins the image.
 *
 * The component takes an already validated ResolvedMirror (components/spec.ts
 * checks every entry of the fleet before any component is constructed, so a
 * bad entry never leaves half a fleet behind) and declares, per mirror: the
 * repository, its labels, the generated files (committed one after another),
 * default-branch protection, the Actions allow-list and webhook secrets.
 */
import * as github from "@pulumi/github";
import * as pulumi from "@pulumi/pulumi";
import { allowedActionPatterns } from "./pins";
import { renderMirrorFiles } from "./render";
import { inventoryEntry, type InventoryEntry } from "./inventory";
import type { FleetPolicy, NotifyTarget, RenderedFiles, ResolvedMirror } from "./types";

/** The branch every mirror works on; the repository is created with it. */
export const DEFAULT_BRANCH = "main";

/** Who the generated-file commits are attributed to. */
export const COMMIT_AUTHOR = { name: "mirror-fleet", email: "mirror-fleet@users.noreply.github.com" } as const;

/** Actions secret names per notification target (the workflow reads these). */
export const WEBHOOK_SECRETS: Readonly<Record<NotifyTarget, string>> = {
  slack: "MIRROR_SLACK_WEBHOOK",
  teams: "MIRROR_TEAMS_WEBHOOK",
};

export interface MirroredImageArgs {
  /** The validated mirror (components/spec.ts `resolveFleet`). */
  readonly mirror: ResolvedMirror;
  /** Labels created in the repository. @default policy labels (cve, blocked, security, …) */
  readonly labels: FleetPolicy["labels"];
  /** Webhook URLs from stack secrets, per target; a target in `mirror.notify` must have one. @default {} */
  readonly webhooks?: Partial<Record<NotifyTarget, pulumi.Input<string>>>;
  /**
   * Who may bypass the default-branch ruleset so that `pulumi up` can commit
   * generated files: the deploying GitHub App's id. @default organization admins
   */
  readonly deployBypassActorId?: number;
  /** The day waiver "days left" are computed for, in the inventory. @default now */
  readonly today?: Date;
}

export class MirroredImage extends pulumi.ComponentResource {
  /** The mirror repository. */
  public readonly repository: github.Repository;
  /** `https://github.com/<owner>/<repo>` */
  public readonly repositoryUrl: pulumi.Output<string>;
  /** Every generated file, in commit order, with its content. */
  public readonly files: RenderedFiles;
  /** This mirror's inventory entry (plain data, known at preview). */
  public readonly inventory: InventoryEntry;

  constructor(name: string, args: MirroredImageArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mirror-fleet:index:MirroredImage", name, {}, opts);
    const m = args.mirror;
    const webhooks = args.webhooks ?? {};
    const today = args.today ?? new Date();
    for (const target of m.notify) {
      if (webhooks[target] === undefined) {
        throw new Error(`${m.sourceFile}: notify: ${target} needs the stack secret mirror-fleet:${target}WebhookUrl (set it with pulumi config set --secret)`);
      }
    }

    this.files = renderMirrorFiles(m);
    this.inventory = inventoryEntry(m, this.files, today);

    // autoInit: the repository starts with a commit on its default branch,
    // which the file commits and the branch ruleset both need to exist.
    // protect + retainOnDelete: the repository holds the audit trail (issues,
    // pin PRs, Security tab); removing a mirror from mirrors/ must never
    // delete it. archiveOnDestroy covers a deliberate `pulumi destroy`.
    this.repository = new github.Repository(
      `${name}-repo`,
      {
        name: m.repo,
        description: `Hardened mirror of ${m.upstream.fullName}: rebuilt, scanned and digest-pinned by mirror-fleet`,
        homepageUrl: m.upstream.url,
        visibility: m.visibility,
        hasIssues: true,
        hasWiki: false,
        hasProjects: false,
        hasDiscussions: false,
        autoInit: true,
        deleteBranchOnMerge: true,
        // Merge commits keep the reviewer and the pin PR in the default branch's history.
        allowMergeCommit: true,
        allowSquashMerge: false,
        allowRebaseMerge: false,
        allowAutoMerge: false,
        vulnerabilityAlerts: true,
        archiveOnDestroy: true,
        topics: ["mirror-fleet", "container-image"],
      },
      { parent: this, protect: true, retainOnDelete: true },
    );
    this.repositoryUrl = this.repository.htmlUrl;
    const repo = this.repository.name;

    // The repository is created on the owner's default branch name; make it
    // `main` whatever that was, before anything is committed to it.
    const branch = new github.BranchDefault(
      `${name}-default-branch`,
      { repository: repo, branch: DEFAULT_BRANCH, rename: true },
      { parent: this },
    );

    // Labels strip themselves off every issue when deleted, so they stay.
    for (const label of args.labels) {
      new github.IssueLabel(
        `${name}-label-${label.name}`,
        { repository: repo, name: label.name, color: label.color, description: label.description },
        { parent: this, retainOnDelete: true, dependsOn: [this.repository] },
      );
    }

    // Only the pinned actions may run, and only by full commit SHA.
    const actions = new github.ActionsRepositoryPermissions(
      `${name}-actions`,
      {
        repository: repo,
        enabled: true,
        allowedActions: "selected",
        allowedActionsConfig: { githubOwnedAllowed: false, verifiedAllowed: false, patternsAlloweds: allowedActionPatterns() },
        shaPinningRequired: true,
      },
      { parent: this },
    );
    // The job token is read-only unless a job asks for more; the pin job opens
    // its pull request with that token, which this setting allows. Approval
    // still needs a human: the ruleset requires a code owner's review.
    new github.WorkflowRepositoryPermissions(
      `${name}-workflow-permissions`,
      { repository: repo, defaultWorkflowPermissions: "read", canApprovePullRequestReviews: true },
      { parent: this },
    );

    for (const target of m.notify) {
      new github.ActionsSecret(
        `${name}-secret-${target}`,
        { repository: repo, secretName: WEBHOOK_SECRETS[target], plaintextValue: pulumi.secret(webhooks[target]!) },
        { parent: this },
      );
    }

    // The provider makes one commit per file, and parallel writes to one
    // branch fail with 409: each file waits for the one before it. The
    // workflow is committed last (render order), once the bundle and config
    // it runs are in place.
    let previous: pulumi.Resource[] = [branch, actions];
    for (const f of this.files) {
      const file = new github.RepositoryFile(
        `${name}-file-${fileSlug(f.path)}`,
        {
          repository: repo,
          branch: DEFAULT_BRANCH,
          file: f.path,
          content: f.content,
          commitMessage: `mirror-fleet: update ${f.path}\n\nGenerated from ${m.sourceFile} by pulumi up.`,
          commitAuthor: COMMIT_AUTHOR.name,
          commitEmail: COMMIT_AUTHOR.email,
          overwriteOnCreate: true,
        },
        { parent: this, dependsOn: previous },
      );
      previous = [file];
    }

    // Protection comes after the files: the first `up` commits to the
    // default branch before the ruleset exists; later ups pass through the
    // bypass. GitHub Free cannot protect private repositories: a policy
    // switch (config branchProtection), not a crash.
    if (m.branchProtection) {
      new github.RepositoryRuleset(
        `${name}-ruleset`,
        {
          repository: repo,
          name: "mirror-fleet: default branch",
          target: "branch",
          enforcement: "active",
          conditions: { refName: { includes: ["~DEFAULT_BRANCH"], excludes: [] } },
          bypassActors: [
            args.deployBypassActorId !== undefined
              ? { actorId: args.deployBypassActorId, actorType: "Integration", bypassMode: "always" }
              : // Organization admins (actor id 1 by GitHub's convention), for a deploy with an admin's token.
                { actorId: 1, actorType: "OrganizationAdmin", bypassMode: "always" },
          ],
          rules: {
            deletion: true,
            nonFastForward: true,
            pullRequest: {
              requiredApprovingReviewCount: 1,
              requireCodeOwnerReview: m.reviewers.length > 0,
              dismissStaleReviewsOnPush: true,
              requireLastPushApproval: true,
              requiredReviewThreadResolution: false,
            },
          },
        },
        { parent: this, dependsOn: previous },
      );
    }

    this.registerOutputs({ repositoryUrl: this.repositoryUrl, inventory: this.inventory });
  }
}

/** `.github/workflows/mirror.yml` -> `github-workflows-mirror-yml`: stable, URN-safe child names. */
export function fileSlug(path: string): string {
  return path
    .replace(/^\.+/, "")
    .replace(/[^A-Za-z0-9]+/g, "-")
    .replace(/^-|-$/g, "")
    .toLowerCase();
}
