/**
 * The fleet: every entry in mirrors/ -> one MirroredImage, plus the
 * inventory. Validation of the whole fleet runs first, so that a bad entry
 * stops the program before any resource is declared (DESIGN invariant 8).
 */
import * as dockerbuild from "@pulumi/docker-build";
import type * as github from "@pulumi/github";
import * as pulumi from "@pulumi/pulumi";
import { GITHUB_COM_API } from "../contract";
import type { GitHub } from "../pipeline/github";
import { findExisting, managedByStack, type Existing } from "./adopt";
import { checkBypass, checkOwner } from "./owner";
import { checkUpstreams, client, newestAllowedTag, type GitHubReader, type HealthByRepo } from "./upstream-health";
import { fleetSummary, inventoryWaivers, type InventoryEntry } from "../components/inventory";
import { MirroredImage } from "../components/mirrored-image";
import { PIPELINE_REPOSITORY_NAME } from "../components/pipeline-action";
import { PipelineRepository, pipelineRepositoryArgs } from "../components/pipeline-repository";
import { createdSettings, createdSettingsOf } from "../components/repository";
import { pipelineBundle } from "../pipeline/bundle";
import { resolveFleet, type MirrorEntry, type ResolvedFleet } from "../components/spec";
import type { FleetPolicy, NotifyTarget, StackSettings } from "../components/types";

export interface FleetInputs {
  readonly entries: readonly MirrorEntry[];
  readonly policy: FleetPolicy;
  readonly settings: StackSettings;
  readonly readFile: (path: string) => string;
  readonly today?: Date;
  readonly webhooks?: Partial<Record<NotifyTarget, pulumi.Input<string>>>;
  /** The fleet's cosign private key and password (stack secrets), with settings.cosignPublicKey. */
  readonly cosign?: { readonly privateKey: pulumi.Input<string>; readonly password: pulumi.Input<string> };
  /**
   * The GitHub provider; default providers are disabled in Pulumi.yaml. The
   * docker-build provider is made here, and only when some mirror has
   * preflight on: a default run needs no docker-build plugin.
   */
  readonly providers?: { readonly github?: github.Provider };
  /**
   * Where the program itself reads GitHub (what exists; upstream health and preflight tags unless `upstreams`):
   * REST root and token. @default github.com, GITHUB_TOKEN or a GitHub App from the environment
   */
  readonly github?: { readonly apiUrl: string; readonly token?: pulumi.Input<string> };
  /**
   * Where the program reads the upstreams when that is not `github`: an
   * Enterprise Server's fleet reads them on api.github.com, with this token
   * only (infra/github-api.ts). @default `github`
   */
  readonly upstreams?: { readonly apiUrl: string; readonly token?: string };
  /** What already exists on GitHub, by repository name (infra/adopt.ts), to adopt rather than create. @default nothing */
  readonly existing?: ReadonlyMap<string, Existing>;
  /** The pipeline bundle's text, committed once to the pipeline repository. @default pipeline/bundle.ts pipelineBundle() */
  readonly bundle?: string;
  /** The entries already resolved from these inputs (resolveProgram), when the caller needed them first. @default resolved here */
  readonly resolved?: ResolvedFleet;
}

export interface Fleet {
  readonly mirrors: readonly MirroredImage[];
  /** The fleet's one pipeline, which every mirror's workflow runs by commit. */
  readonly pipeline: PipelineRepository;
  /** Each mirror's entry is known once the pipeline's commit is (its workflow names it). */
  readonly inventory: {
    readonly generatedFor: string;
    readonly mirrors: readonly pulumi.Output<InventoryEntry>[];
    readonly summary: ReturnType<typeof fleetSummary>;
  };
  readonly warnings: readonly string[];
  /** Upstream health by `owner/repo`, read at this preview/up (policy.deploy.healthCheck). */
  readonly health?: pulumi.Output<HealthByRepo>;
}

/** The entries checked and resolved (components/spec.ts): every bad entry fails here, before anything is read or declared. */
export function resolveProgram(inputs: FleetInputs): ResolvedFleet {
  return resolveFleet(inputs.entries, { policy: inputs.policy, settings: inputs.settings, readFile: inputs.readFile, today: inputs.today ?? new Date() });
}

/**
 * What the program must know from GitHub before it declares anything: that
 * the owner is an organisation that lets Actions open pull requests
 * (infra/owner.ts), and what of the resolved mirrors exists there that this
 * stack does not hold and may adopt (infra/adopt.ts). A problem with either
 * stops the run here, before any write.
 */
export async function lookAtGitHub(inputs: FleetInputs, resolved: ResolvedFleet): Promise<{ existing: Map<string, Existing>; warnings: string[] }> {
  const where = inputs.github ?? { apiUrl: GITHUB_COM_API };
  const token = await new Promise<string | undefined>((resolve) => void pulumi.output(where.token).apply(resolve));
  let gh: GitHub | undefined;
  const api = async (): Promise<GitHub> => {
    if (gh) return gh;
    const c = await client({ apiUrl: where.apiUrl, token, env: process.env });
    if (typeof c === "string") throw new Error(`cannot read ${where.apiUrl} before deploying: ${c}`);
    return (gh = c);
  };
  const managed = await managedByStack();
  const owner = await checkOwner(await api(), inputs.settings.owner, where.apiUrl);
  const bypass = await checkBypass(api, inputs.settings, process.env, token !== undefined, resolved.mirrors.map((m) => m.repo).find((r) => managed.repositories.has(r)));
  // A preview writes nothing, and the fleet workflow previews as its read-only preview App (docs/fleet-ci.md),
  // which is never the ruleset's bypass actor: there the bypass is a warning; `up` (after its own preview) stops on it.
  const preview = pulumi.runtime.isDryRun();
  const problems = [...owner.problems, ...(preview ? [] : bypass)];
  if (problems.length) throw new Error(problemList(problems, "written"));
  const existing = await findExisting(
    {
      owner: inputs.settings.owner,
      mirrors: [
        ...resolved.mirrors.map((m) => ({ sourceFile: m.sourceFile, repo: m.repo, settings: createdSettings(m) })),
        // The pipeline repository: a stranger's with its name would hold the code every mirror runs.
        {
          sourceFile: "the fleet's pipeline repository",
          repo: PIPELINE_REPOSITORY_NAME,
          settings: createdSettingsOf(pipelineRepositoryArgs(pipelineVisibility(inputs.settings))),
          ifNotOurs: "have its owner rename or delete it (the fleet's pipeline repository takes this name)",
        },
      ],
      managed,
      vouched: inputs.settings.adoptRepositories ?? [],
    },
    api,
  );
  return { existing, warnings: [...owner.warnings, ...(preview ? bypass.map((b) => `${b} (a preview writes nothing; \`up\` as this identity stops here)`) : [])] };
}

function pipelineVisibility(settings: StackSettings): "private" | "public" {
  return settings.pipelineVisibility ?? settings.visibility;
}

/** `N problem(s); nothing was …:` and one bullet per problem. */
export function problemList(problems: readonly string[], nothing: string): string {
  return `${problems.length} problem${problems.length === 1 ? "" : "s"}; nothing was ${nothing}:\n  - ${problems.join("\n  - ")}`;
}

/**
 * Problems of the stack's secrets for this fleet: a notification target
 * without its webhook secret, a public key without its private half. Checked
 * for the whole fleet before the first component (or provider) is declared.
 */
export function secretProblems(inputs: Pick<FleetInputs, "webhooks" | "settings" | "cosign">, resolved: ResolvedFleet): string[] {
  const missing = resolved.mirrors.flatMap((m) =>
    m.notify.filter((t) => inputs.webhooks?.[t] === undefined).map((t) => `${m.sourceFile}: notify: ${t} needs the stack secret mirror-fleet:${t}WebhookUrl (pulumi config set --secret mirror-fleet:${t}WebhookUrl …)`),
  );
  if (inputs.settings.cosignPublicKey !== undefined && !inputs.cosign) {
    missing.push("mirror-fleet:cosignPublicKey is set: signing needs the stack secrets mirror-fleet:cosignPrivateKey and mirror-fleet:cosignPassword (pulumi config set --secret …)");
  }
  return missing;
}

export function fleetProgram(inputs: FleetInputs): Fleet {
  const today = inputs.today ?? new Date();
  const fleetResolved = inputs.resolved ?? resolveProgram({ ...inputs, today });
  const { mirrors: resolved, warnings } = fleetResolved;
  const missing = secretProblems(inputs, fleetResolved);
  if (missing.length) throw new Error(problemList(missing, "created"));

  // The program's reads of the upstreams: on the deploy's GitHub with its
  // token once known (unsecret: the results hold no secret, only the token
  // that fetched them is one), or on `upstreams` with its own token only.
  const gh = inputs.github ?? { apiUrl: GITHUB_COM_API };
  const up = inputs.upstreams;
  const readUpstreams = <T>(f: (reader: GitHubReader) => Promise<T>): pulumi.Output<T> =>
    up
      ? pulumi.output(up.token).apply((token) => f({ apiUrl: up.apiUrl, token, env: process.env, ambient: false }))
      : pulumi.unsecret(pulumi.output(gh.token).apply((token) => f({ apiUrl: gh.apiUrl, token, env: process.env })));

  const preflight = resolved.filter((m) => m.preflight && m.override);
  const providers = [
    ...(inputs.providers?.github ? [inputs.providers.github] : []),
    ...(preflight.length ? [new dockerbuild.Provider("docker-build", {})] : []),
  ];
  const opts: pulumi.ComponentResourceOptions = providers.length ? { providers } : {};
  // The pipeline, once for the fleet; each mirror's workflow names its commit.
  const pipeline = new PipelineRepository(
    "pipeline",
    {
      owner: inputs.settings.owner,
      bundle: inputs.bundle ?? pipelineBundle(),
      mirrors: resolved,
      visibility: pipelineVisibility(inputs.settings),
      adopt: inputs.existing?.get(PIPELINE_REPOSITORY_NAME)?.repository ?? false,
      branchProtection: inputs.settings.branchProtection,
      deployBypassActorId: inputs.settings.deployBypassActorId,
    },
    opts,
  );
  const mirrors = resolved.map(
    (m) =>
      new MirroredImage(
        m.name,
        {
          mirror: m,
          pipeline: pipeline.pinOf(m),
          webhooks: inputs.webhooks,
          ...(inputs.cosign ? { cosign: inputs.cosign } : {}),
          deployBypassActorId: inputs.settings.deployBypassActorId,
          githubPlan: inputs.settings.githubPlan,
          today,
          ...(inputs.existing?.get(m.repo) ? { adopt: inputs.existing.get(m.repo) } : {}),
          ...(preflight.includes(m) ? { preflightTag: readUpstreams((r) => newestAllowedTag(m.upstream.fullName, m.upstream.tags, r)) } : {}),
        },
        opts,
      ),
  );
  const entries = mirrors.map((m) => m.inventory);
  // One read for the whole fleet; the inventory says "unavailable" rather than failing.
  const upstreams = [...new Set(resolved.map((m) => m.upstream.fullName))];
  const health = inputs.policy.deploy.healthCheck ? readUpstreams((r) => checkUpstreams(upstreams, inputs.policy.health, r, today)) : undefined;
  return {
    mirrors,
    pipeline,
    warnings,
    health,
    inventory: {
      generatedFor: inputs.settings.owner,
      mirrors: entries,
      summary: fleetSummary(resolved.map((m) => ({ name: m.name, waivers: inventoryWaivers(m, today) })), inputs.policy.waiverNoticeDays),
    },
  };
}
