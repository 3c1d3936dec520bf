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
import * as command from "@pulumi/command";
import * as dockerbuild from "@pulumi/docker-build";
import * as github from "@pulumi/github";
import * as pulumi from "@pulumi/pulumi";
import { MIRROR_PATHS } from "./mirror-config";
import { commandLine } from "./shell";
import { sha256 } from "./spec";
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
  /**
   * Start the workflow once after the repository is created or the workflow
   * changes, with this token (else GITHUB_TOKEN where pulumi runs). @default off
   */
  readonly dispatch?: { readonly token?: pulumi.Input<string> };
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
  /** The preflight build, when `preflight` is on for this mirror. */
  public readonly preflight?: dockerbuild.Image;

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

    // A new mirror builds now instead of at night, and a changed workflow is
    // exercised right away. Runs on create and whenever a trigger changes
    // (a new repository, new workflow bytes); never on an unchanged up.
    if (args.dispatch) {
      const workflow = this.files.find((f) => f.path === MIRROR_PATHS.workflow)!;
      new command.local.Command(
        `${name}-dispatch`,
        {
          create: "node --import tsx infra/dispatch.ts",
          environment: {
            REPO: `${m.owner}/${m.repo}`,
            WORKFLOW: MIRROR_PATHS.workflow.split("/").pop()!,
            REF: DEFAULT_BRANCH,
            ...(args.dispatch.token !== undefined ? { GITHUB_TOKEN: pulumi.secret(args.dispatch.token) } : {}),
          },
          triggers: [this.repository.nodeId, sha256(workflow.content)],
        },
        { parent: this, dependsOn: previous },
      );
    }

    // Preflight: build the override against upstream's newest allowed tag
    // during `pulumi preview`, with no push and a cache-only export, so a
    // broken override fails the fleet repo's pull request instead of a
    // nightly run. The tag is resolved by the pipeline's own `resolve`.
    if (m.preflight && m.override) {
      const tags = m.upstream.tags;
      const resolve = command.local.runOutput(
        {
          command: commandLine([
            "node", "--import", "tsx", "pipeline/main.ts", "resolve",
            "--upstream", m.upstream.fullName, "--range", tags.range,
            ...(tags.prefix ? ["--prefix", tags.prefix] : []),
            ...(tags.prerelease ? ["--prerelease"] : []),
            "--pin", ".no-pin-at-deploy-time/image-pin.yml",
          ]),
        },
        { parent: this },
      );
      const tag = resolve.apply((r) => {
        const t = (JSON.parse(r.stdout ?? "{}") as { tag?: string }).tag;
        if (!t) throw new Error(`${m.sourceFile}: preflight: resolve found no tag for ${m.upstream.fullName}`);
        return t;
      });
      this.preflight = new dockerbuild.Image(
        `${name}-preflight`,
        {
          context: { location: pulumi.interpolate`${m.upstream.url}.git#${tag}` },
          dockerfile: { inline: m.override.content },
          buildArgs: pulumi.output(tag).apply((t) => ({ ...m.build.args, VERSION: t })),
          // The host platform only: the preflight proves the override builds;
          // the nightly build does every platform.
          platforms: ["linux/amd64"],
          push: false,
          exports: [{ cacheonly: {} }],
          buildOnPreview: true,
        },
        { parent: this },
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
