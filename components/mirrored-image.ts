/**
 * MirroredImage: one upstream mirrored into one GitHub repository whose
 * nightly workflow rebuilds, scans, gates, publishes and pins the image.
 *
 * The component takes an already validated ResolvedMirror (components/spec.ts
 * checks every entry of the fleet before any component is constructed, so a
 * bad entry never leaves half a fleet behind) and declares, per mirror: the
 * repository, the generated files (committed one after another),
 * default-branch protection, the Actions allow-list and webhook secrets.
 */
import * as dockerbuild from "@pulumi/docker-build";
import * as github from "@pulumi/github";
import * as pulumi from "@pulumi/pulumi";
import { allowedActionPatterns } from "./pins";
import { repositoryArgs } from "./repository";
import { defaultBranchRuleset } from "./ruleset";
import { inventoryEntry, type InventoryEntry } from "./inventory";
import type { PipelinePin } from "./pipeline-action";
import { mirrorFiles } from "./render";
import type { GithubPlan, NotifyTarget, RenderedFiles, ResolvedMirror } from "./types";
import { declareSigningKey } from "./signing-key";

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
  /** The fleet's pipeline the workflow runs: PipelineRepository's `pin` (the commit, known once it is committed). */
  readonly pipeline: pulumi.Input<PipelinePin>;
  /** Webhook URLs from stack secrets, per target; a target in `mirror.notify` must have one. @default {} */
  readonly webhooks?: Partial<Record<NotifyTarget, pulumi.Input<string>>>;
  /** The fleet's cosign private key and password (stack secrets); required when `mirror.signing` is set. */
  readonly cosign?: { readonly privateKey: pulumi.Input<string>; readonly password: pulumi.Input<string> };
  /**
   * Who may bypass the default-branch ruleset so that `pulumi up` can commit
   * generated files: the deploying GitHub App's id. @default organization admins
   */
  readonly deployBypassActorId?: number;
  /** The day waiver "days left" are computed for, in the inventory. @default now */
  readonly today?: Date;
  /** The owner's GitHub plan: private repositories below Enterprise get no allow-list by pattern. @default "team" */
  readonly githubPlan?: GithubPlan;
  /**
   * The upstream tag the preflight builds, read by the program at preview
   * (infra/upstream-health.ts). Needed when the mirror's preflight is on.
   */
  readonly preflightTag?: pulumi.Input<string>;
  /**
   * What of this mirror exists on GitHub that the stack does not hold and
   * infra/adopt.ts proved the fleet's own: declared with `import`, so that a
   * create GitHub applied but never answered is adopted instead of failing
   * with 422 on every later `up`. @default nothing
   */
  readonly adopt?: { readonly repository: boolean };
}

export class MirroredImage extends pulumi.ComponentResource {
  /** The mirror repository. */
  public readonly repository: github.Repository;
  /** `https://github.com/<owner>/<repo>` */
  public readonly repositoryUrl: pulumi.Output<string>;
  /** Every generated file, in commit order, with its content (the workflow's names the pipeline's commit). */
  public readonly files: pulumi.Output<RenderedFiles>;
  /** This mirror's inventory entry, known once the pipeline's commit is. */
  public readonly inventory: pulumi.Output<InventoryEntry>;
  /** The preflight build, when `preflight` is on for this mirror. */
  public readonly preflight?: dockerbuild.Image;

  constructor(name: string, args: MirroredImageArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mirror-fleet:index:MirroredImage", name, {}, opts);
    const m = args.mirror;
    const webhooks = args.webhooks ?? {};
    const today = args.today ?? new Date();
    const plan = args.githubPlan ?? "team";
    for (const target of m.notify) {
      if (webhooks[target] === undefined) {
        throw new Error(`${m.sourceFile}: notify: ${target} needs the stack secret mirror-fleet:${target}WebhookUrl (set it with pulumi config set --secret)`);
      }
    }
    if (m.signing && !args.cosign) {
      throw new Error(`${m.sourceFile}: signing needs the stack secrets mirror-fleet:cosignPrivateKey and mirror-fleet:cosignPassword (set them with pulumi config set --secret)`);
    }

    // Only the workflow needs the pipeline's commit; every other file is
    // known at preview, and only a changed pipeline changes the workflow.
    const pipeline = pulumi.output(args.pipeline);
    const planned = mirrorFiles(m).map((f) => ({ path: f.path, content: "content" in f ? pulumi.output(f.content) : pipeline.apply(f.pinned) }));
    this.files = pulumi.all(planned.map((f) => f.content)).apply((contents) => planned.map((f, i) => ({ path: f.path, content: contents[i] })));
    this.inventory = this.files.apply((files) => inventoryEntry(m, files, today));

    // retainOnDelete: the repository holds the audit trail (issues, pin PRs,
    // Security tab); removing a mirror from mirrors/ drops it from the stack
    // and leaves it on GitHub (README: archive it by hand). Not `protect`:
    // the engine refuses to drop a protected resource, so removing a mirror
    // would fail every later `up`. Not archiveOnDestroy: under retainOnDelete
    // the provider's delete never runs.
    this.repository = new github.Repository(
      `${name}-repo`,
      repositoryArgs(m),
      // hasDownloads: GitHub reads it back as true, the provider never sends
      // it on create and setting it is deprecated: left alone, every preview
      // would show an update (seen with the real engine, test/engine).
      // import: only what infra/adopt.ts proved this fleet's own.
      { parent: this, retainOnDelete: true, ignoreChanges: ["hasDownloads"], ...(args.adopt?.repository ? { import: m.repo } : {}) },
    );
    this.repositoryUrl = this.repository.htmlUrl;
    const repo = this.repository.name;

    // The repository is created on the owner's default branch name; make it
    // `main` whatever that was, before anything is committed to it.
    const branch = new github.BranchDefault(
      `${name}-default-branch`,
      // waitForRename: GitHub applies a rename of the default branch a moment
      // later (the provider's docs); the first file commit must find `main`.
      // It only acts when the provider renames, so a mirror created before it
      // was set needs no update for it (ignoreChanges).
      { repository: repo, branch: DEFAULT_BRANCH, rename: true, waitForRename: true },
      { parent: this, ignoreChanges: ["waitForRename"] },
    );

    // No labels here: the pipeline makes the fleet's labels where it first
    // puts them on (pipeline/lib/labels.ts). A stack deployed with them as
    // resources drops them on its next `up` and leaves them on GitHub: they
    // were retainOnDelete, since a deleted label strips itself off every issue.

    // Dependabot alerts: on, as audit checklists expect of every repository,
    // though nothing here is in their reach: a mirror holds no package
    // manifest, and GitHub raises no alert for an action named by commit SHA
    // (its docs, "About Dependabot alerts"), as the workflow names the
    // pipeline and the pipeline every action. The image is Trivy's. Not
    // dropped: that would disable them on every mirror deployed with them, an
    // audit-log event (`repository_vulnerability_alerts.disable`) that
    // security monitoring flags. A resource of its own:
    // Repository.vulnerabilityAlerts is deprecated. retainOnDelete: its delete
    // turns them off, and it is replaced when the repository is renamed (its
    // `repository` is ForceNew, terraform-provider-github v6
    // resource_github_repository_vulnerability_alerts.go): the old one's delete
    // would go to the old name, which GitHub redirects to the renamed
    // repository (the stand-in answers 404, and every later `up` failed).
    // Removing a mirror leaves them on, too.
    new github.RepositoryVulnerabilityAlerts(`${name}-vulnerability-alerts`, { repository: repo, enabled: true }, { parent: this, retainOnDelete: true });

    // Every action must be pinned by full commit SHA, on every plan.
    const actions = new github.ActionsRepositoryPermissions(
      `${name}-actions`,
      { repository: repo, enabled: true, allowedActions: "selected", allowedActionsConfig: allowedActions(m, plan), shaPinningRequired: true },
      { parent: this },
    );
    // The job token is read-only unless a job asks for more; the pin job opens
    // its pull request with that token, which this setting allows (and which
    // the organisation must allow first: infra/settings.ts checks the stack
    // says so). Approval still needs a human: the ruleset requires a review.
    new github.WorkflowRepositoryPermissions(
      `${name}-workflow-permissions`,
      { repository: repo, defaultWorkflowPermissions: "read", canApprovePullRequestReviews: true },
      { parent: this },
    );

    for (const target of m.notify) {
      new github.ActionsSecret(
        `${name}-secret-${target}`,
        { repository: repo, secretName: WEBHOOK_SECRETS[target], value: pulumi.secret(webhooks[target]!) },
        { parent: this },
      );
    }
    // The fleet key: in an environment only the default branch's signing jobs enter, where the plan has one.
    if (m.signing && args.cosign) declareSigningKey(this, name, { mirror: m, repository: repo, branch: DEFAULT_BRANCH, cosign: args.cosign, dependsOn: [branch] });

    // The provider makes one commit per file, and parallel writes to one
    // branch fail with 409: each file waits for the one before it, and every
    // file for the rename to `main` (else a commit can race the rename). The
    // workflow is committed last (render order), once the config it reads is
    // in place, and after the pipeline it names (its content needs that
    // commit); its own push starts the first run (its `on.push` paths name
    // it), so a new mirror builds without waiting for the night.
    let previous: pulumi.Resource[] = [actions];
    for (const f of planned) {
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
        { parent: this, dependsOn: [branch, ...previous] },
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
        defaultBranchRuleset(repo, { deployBypassActorId: args.deployBypassActorId, requireCodeOwnerReview: m.reviewers.length > 0 }),
        { parent: this, dependsOn: previous },
      );
    }

    // Preflight: build the override against upstream's newest allowed tag
    // during `pulumi preview`, with no push and a cache-only export, so a
    // broken override fails the fleet repo's pull request instead of a
    // nightly run. The program reads the tag (the pipeline's own tag policy)
    // and gives this component the docker-build provider only then.
    if (m.preflight && m.override) {
      if (args.preflightTag === undefined) throw new Error(`${m.sourceFile}: preflight: no upstream tag was given to build`);
      const tag = pulumi.output(args.preflightTag);
      this.preflight = new dockerbuild.Image(
        `${name}-preflight`,
        {
          context: { location: pulumi.interpolate`${m.upstream.url}.git#${tag}` },
          dockerfile: { inline: m.override.content },
          buildArgs: tag.apply((t) => ({ ...m.build.args, VERSION: t })),
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

    // The inventory is the stack's output (infra/index.ts), kept once in the state, not here too.
    this.registerOutputs({ repositoryUrl: this.repositoryUrl });
  }
}

/**
 * The Actions allow-list a repository can have. The allow-list by pattern
 * (`patterns_allowed`) applies to public repositories, and to private ones
 * only on Enterprise; elsewhere the strongest choice that still runs the
 * workflow is GitHub's own actions plus verified Marketplace creators (docker,
 * sigstore: every third-party owner in components/pins.ts), with SHA pinning
 * required either way.
 */
export function allowedActions(m: Pick<ResolvedMirror, "visibility" | "attestations">, plan: GithubPlan): github.types.input.ActionsRepositoryPermissionsAllowedActionsConfig {
  if (m.visibility === "public" || plan === "enterprise") {
    return { githubOwnedAllowed: false, verifiedAllowed: false, patternsAlloweds: allowedActionPatterns({ attestations: m.attestations }) };
  }
  return { githubOwnedAllowed: true, verifiedAllowed: true };
}

/** `.github/workflows/mirror.yml` -> `github-workflows-mirror-yml`: stable, URN-safe child names. */
export function fileSlug(path: string): string {
  return path
    .replace(/^\.+/, "")
    .replace(/[^A-Za-z0-9]+/g, "-")
    .replace(/^-|-$/g, "")
    .toLowerCase();
}
