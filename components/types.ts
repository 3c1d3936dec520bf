/**
 * The data model of the fleet: what a mirror entry declares (MirrorSpec), what
 * the fleet decides for everyone (FleetPolicy), and what the two become once
 * validated and merged (ResolvedMirror). Everything downstream (renderers, the
 * component, the inventory) reads only ResolvedMirror.
 */

import type { BuildConfig, HealthThresholds, RepositoryRole, Severity } from "../contract";

export { SEVERITIES, type Severity } from "../contract";

/** OpenVEX justifications for status not_affected (openvex spec v0.2.0). */
export const VEX_JUSTIFICATIONS = [
  "component_not_present",
  "vulnerable_code_not_present",
  "vulnerable_code_not_in_execute_path",
  "vulnerable_code_cannot_be_controlled_by_adversary",
  "inline_mitigations_already_exist",
] as const;
export type VexJustification = (typeof VEX_JUSTIFICATIONS)[number];

export const NOTIFY_TARGETS = ["slack", "teams"] as const;
export type NotifyTarget = (typeof NOTIFY_TARGETS)[number];

/** A documented, expiring exception to the scan gate. */
export interface Waiver {
  /** Vulnerability id as Trivy reports it (CVE-…, GHSA-…). */
  readonly id: string;
  /** Why the finding is acceptable; becomes the `.trivyignore.yaml` statement and the VEX statement. */
  readonly reason: string;
  /** Last day (YYYY-MM-DD, UTC) the waiver applies; after it the gate blocks again. */
  readonly expires: string;
  /** Who accepted the risk (a GitHub login or a name); recorded in the VEX document. */
  readonly approvedBy: string;
  /** Day (YYYY-MM-DD) the risk was accepted: the VEX statement's timestamp; the newest is the VEX document's. */
  readonly approvedOn?: string;
  /** Limit the waiver to these package URLs. @default every package */
  readonly purls?: readonly string[];
  /** Limit the waiver to these file paths inside the image or source. @default every path */
  readonly paths?: readonly string[];
  /** OpenVEX status. @default "not_affected" */
  readonly status?: "not_affected" | "affected";
  /** OpenVEX justification, for status not_affected; without one, the reason is the statement's impact_statement. */
  readonly justification?: VexJustification;
  /** OpenVEX action statement, required for status affected. */
  readonly action?: string;
}

/** A waiver with its defaults applied. */
export interface ResolvedWaiver extends Waiver {
  readonly status: "not_affected" | "affected";
}

/** Which upstream tags may be built. */
export interface TagPolicy {
  /** A semver range the version must satisfy, e.g. ">=2.0.0 <3". @default "*" */
  readonly range?: string;
  /** Allow prerelease versions (1.2.0-rc.1). @default false */
  readonly prerelease?: boolean;
  /** A prefix stripped before parsing, for monorepo tags like `photos-v1.3.57`. @default none */
  readonly prefix?: string;
}

/** The keys of the base-image table (infra/base-images.ts), by which presets name a base. */
export const BASE_IMAGES = ["goBuilder", "distrolessStaticNonroot"] as const;
export type BaseImage = (typeof BASE_IMAGES)[number];
/** Every base image pinned by digest: `image:tag@sha256:<64 hex>`, by key. */
export type BaseImageTable = Readonly<Record<BaseImage, string>>;

/**
 * Dockerfile text produced by an override preset, with the preset's name for
 * the record. Its FROM lines name bases of the table by key
 * (`{{base.goBuilder}}`); spec.ts puts in the pinned references.
 */
export interface PresetDockerfile {
  readonly preset: string;
  readonly dockerfile: string;
}

/** One upstream mirror, as written in mirrors/<name>.ts: plain data. */
export interface MirrorSpec {
  /** Short name: lowercase letters, digits and `-`. Names the mirror repo (`<repoPrefix><name>`) and Pulumi resources. */
  readonly name: string;
  readonly upstream: {
    /** GitHub `owner/repo` of the upstream project. */
    readonly repo: string;
    /** Which tags are built. @default every stable semver tag */
    readonly tags?: TagPolicy;
    /** SPDX id of the upstream license, shown in the mirror README. @default "see upstream LICENSE" */
    readonly license?: string;
  };
  /** GHCR image: a name under the stack's registry namespace, or `ghcr.io/<namespace>/<name>`. @default name */
  readonly image?: string;
  /**
   * The hardened Dockerfile: a file next to the entry (`{ file: "gokapi.Dockerfile" }`),
   * Dockerfile text from a preset in components/presets.ts (`{ preset: goStaticDistroless({...}) }`),
   * or `null` to build upstream's own Dockerfile unchanged.
   */
  readonly override: { readonly file: string } | { readonly preset: PresetDockerfile } | null;
  readonly build?: {
    /** Build args passed to the build (VERSION is always set to the tag). @default {} */
    readonly args?: Readonly<Record<string, string>>;
    /** Target platforms. @default ["linux/amd64"] */
    readonly platforms?: readonly string[];
    /** Upstream's Dockerfile, used when there is no override. @default "Dockerfile" */
    readonly dockerfile?: string;
    /** Build context inside the upstream checkout. @default "." */
    readonly context?: string;
  };
  /** Upstream paths whose change since the last built tag needs an override review. @default [build.dockerfile] */
  readonly watch?: readonly string[];
  /** The scan gate; unset fields inherit the fleet policy. */
  readonly gate?: {
    readonly severities?: readonly Severity[];
    readonly fixedOnly?: boolean;
    readonly waivers?: readonly Waiver[];
    /**
     * Which scans block. Every platform of the image always does; the upstream
     * source scan (lockfiles that never ship, as in Elixir, Python or Node
     * builds) does too unless `source: false`, with `reason` saying why (it is
     * still scanned for the Security tab and the audit bundle).
     * @default { source: true }
     */
    readonly scans?: { readonly source: boolean; readonly reason?: string };
  };
  /** GitHub users (`alice`) or teams (`org/team`) who own the mirror: CODEOWNERS and PR reviewers. @default policy.reviewers */
  readonly reviewers?: readonly string[];
  /** Nightly window in UTC; the exact minute is spread per mirror. @default policy.schedule */
  readonly schedule?: { readonly startHour?: number; readonly hours?: number };
  /** Webhooks to notify on pass and block. @default policy.notify */
  readonly notify?: readonly NotifyTarget[];
  /** Publish provenance and SBOM attestations. @default stack config `attestations` */
  readonly attestations?: boolean;
  /** Build the override at `pulumi preview` (docker-build, no push), so a broken override fails in the fleet repo's PR. @default policy.deploy.preflight */
  readonly preflight?: boolean;
}

/** Fleet-wide defaults: change one here and every mirror follows. */
export interface FleetPolicy {
  /** Mirror repository name prefix. */
  readonly repoPrefix: string;
  readonly gate: { readonly severities: readonly Severity[]; readonly fixedOnly: boolean };
  readonly schedule: { readonly startHour: number; readonly hours: number };
  /** Users (`alice`) or teams (`org/team`) who review every mirror whose entry sets no reviewers. */
  readonly reviewers: readonly string[];
  /**
   * Slug of a team in the stack's organisation that reviews every mirror whose
   * entry sets no reviewers, with policy.reviewers: it is the mirror's CODEOWNERS,
   * and the default-branch ruleset then requires a code owner's approval. The
   * team needs write access to the mirror repositories to count as a code owner.
   */
  readonly reviewTeam?: string;
  /**
   * The repository role (read, triage, write, maintain, admin) whose holders
   * approve an override review by closing its issue as completed; closing
   * alone needs only triage. @default "write"
   */
  readonly overrideReview?: { readonly approverRole: RepositoryRole };
  readonly notify: readonly NotifyTarget[];
  readonly platforms: readonly string[];
  /** An upstream is unhealthy when archived or past either threshold. */
  readonly health: HealthThresholds;
  /** Waivers expiring within this many days are warned about at preview time. */
  readonly waiverNoticeDays: number;
  /** Audit bundle (artifact) retention in days. */
  readonly artifactRetentionDays: number;
  /** The base images overrides and presets build on, pinned by digest (infra/base-images.ts). */
  readonly baseImages: BaseImageTable;
  /** Trivy binary installed in the workflow, by version. */
  readonly trivy: { readonly version: string };
  /** Node.js version that runs the pipeline bundle in Actions. */
  readonly nodeVersion: string;
  /** Checks that run at preview/up time; each needs network and credentials there. */
  readonly deploy: {
    /** Read every upstream's health from the GitHub API into the inventory (one run per preview/up). */
    readonly healthCheck: boolean;
    /** Build each override against upstream's newest allowed tag at preview (needs a Docker engine). @see MirrorSpec.preflight */
    readonly preflight: boolean;
  };
}

/** Stack-level settings (Pulumi config), resolved once. */
export interface StackSettings {
  /** GitHub owner of every mirror repository. */
  readonly owner: string;
  /** Registry namespace (GHCR: the owner, lowercase). */
  readonly registryNamespace: string;
  /**
   * Container registry host the mirrors push to: `ghcr.io` for github.com, the
   * Enterprise Server's own registry host otherwise (infra/github-api.ts);
   * config `mirror-fleet:registry` overrides it. @default "ghcr.io"
   */
  readonly registry?: string;
  /**
   * Web address of the GitHub the mirrors live on, without a trailing slash:
   * what the links in generated files name (a README's kustomize URL and `gh`
   * commands, the inventory, the OpenVEX `@id`). Set from
   * MIRROR_FLEET_GITHUB_API (infra/github-api.ts). @default GITHUB_COM
   */
  readonly serverUrl?: string;
  readonly visibility: "private" | "public";
  /**
   * Visibility of the pipeline repository (components/pipeline-repository.ts).
   * @default visibility: private mirrors use it through its Actions access setting (GitHub Team or Enterprise)
   */
  readonly pipelineVisibility?: "private" | "public";
  readonly branchProtection: boolean;
  readonly attestations: boolean;
  /** Integration id allowed to bypass the ruleset (the deploying GitHub App). */
  readonly deployBypassActorId?: number;
  /** The owner's GitHub plan: decides the Actions allow-list private repositories can have. @default "team" */
  readonly githubPlan?: GithubPlan;
  /** The fleet's cosign public key (PEM): when set, every mirror signs and attests what it pushes. */
  readonly cosignPublicKey?: string;
  /**
   * How long a passing scan-gate result admits its digest: `<n>h`, `<n>m` or
   * `<n>s`. Longer than the time between two nightly rescans, or a clean
   * image is denied in between. @default "48h"
   */
  readonly admissionWindow?: string;
  /** Image patterns (Kyverno wildcards: `*`, `?`) the admission policy admits besides the fleet's registry, e.g. `registry.k8s.io/*`. @default [] */
  readonly admissionAllowedImages?: readonly string[];
  /**
   * Mirror repositories (names, `mirror-x`) that exist on GitHub and that a
   * person checked and vouches for as the fleet's own (a mirror removed and
   * added back): adopted although the stack did not create them. @default []
   */
  readonly adoptRepositories?: readonly string[];
}

/** GitHub plans, as far as the settings a mirror needs differ (Pro counts as Team). */
export const GITHUB_PLANS = ["free", "team", "enterprise"] as const;
export type GithubPlan = (typeof GITHUB_PLANS)[number];

/** github.com's web address: where the mirrors live unless the stack deploys to an Enterprise Server, and where upstreams are. */
export const GITHUB_COM = "https://github.com";

/** A mirror after validation and defaults: everything renderers need, nothing optional that has a default. */
export interface ResolvedMirror {
  readonly name: string;
  /** Mirror repository name (without owner). */
  readonly repo: string;
  readonly owner: string;
  /** Web address of the GitHub the mirror lives on (StackSettings.serverUrl), e.g. `https://github.com`. */
  readonly serverUrl: string;
  readonly visibility: "private" | "public";
  readonly upstream: {
    readonly owner: string;
    readonly repo: string;
    /** `owner/repo` */
    readonly fullName: string;
    readonly url: string;
    readonly license: string;
    readonly tags: { readonly range: string; readonly prerelease: boolean; readonly prefix: string };
  };
  /** Full image repository, `<registry>/<namespace>/<name>` (`ghcr.io/acme/gokapi`), no tag. */
  readonly image: string;
  readonly override: {
    /** Where the text came from: a file in the fleet repo (`mirrors/gokapi.Dockerfile`) or `preset:<name>`. */
    readonly source: string;
    readonly content: string;
    /** sha256 of content, hex. */
    readonly sha256: string;
    /** `image@sha256:…` references of every FROM line. */
    readonly basePins: readonly string[];
  } | null;
  readonly build: BuildConfig;
  readonly watch: readonly string[];
  readonly gate: {
    readonly severities: readonly Severity[];
    readonly fixedOnly: boolean;
    readonly waivers: readonly ResolvedWaiver[];
    /** Scans whose findings block; `image` always. */
    readonly scans: readonly ("image" | "source")[];
    /** Why the source scan does not block; null while it does. */
    readonly sourceOffReason: string | null;
  };
  readonly reviewers: readonly string[];
  /** The role that approves an override review (policy.overrideReview.approverRole). */
  readonly overrideApproverRole: RepositoryRole;
  /** Cron for the nightly build (`m h * * *`), spread over the window from the mirror's name. */
  readonly cron: { readonly build: string; readonly rescan: string; readonly health: string };
  readonly notify: readonly NotifyTarget[];
  readonly attestations: boolean;
  /** cosign signing with the fleet key (pipeline sign); null when the stack sets no key: nothing is signed. */
  readonly signing: {
    readonly publicKey: string;
    /**
     * The GitHub environment that holds the private key, readable only by jobs
     * of the default branch; null where the plan has no environments for the
     * repository (private on GitHub Free): then the key is a repository secret.
     */
    readonly environment: string | null;
  } | null;
  readonly preflight: boolean;
  readonly branchProtection: boolean;
  readonly health: FleetPolicy["health"];
  readonly artifactRetentionDays: number;
  readonly trivyVersion: string;
  readonly nodeVersion: string;
  /** The entry file this mirror came from, for messages. */
  readonly sourceFile: string;
}

/** What the renderers produce for one mirror repo: path -> content, in commit order. */
export type RenderedFiles = ReadonlyArray<{ readonly path: string; readonly content: string }>;
