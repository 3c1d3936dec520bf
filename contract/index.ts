/**
 * What deploy time (infra/, components/) and pipeline time (pipeline/) agree
 * on, and nothing else: the paths and file names of a mirror repository, the
 * format of `.mirror/config.yml`, the severities, the predicate types of the
 * attestations, the commands that verify them, the marker of a runtime
 * stage override, and github.com's API, where the upstreams are. Both sides import this module; neither imports the other
 * (DESIGN.md, Layers; test/infra/layers.test.ts checks the import graph).
 *
 * A change here changes both runtimes at once: the pipeline bundle that
 * every mirror runs and the files `pulumi up` commits. Keep it data and
 * small pure functions.
 */

/**
 * github.com's REST root: where the upstreams (github.com repositories) are
 * read, at deploy time (infra/github-api.ts) and by the pipeline
 * (pipeline/github.ts `upstreamGithub`), whichever GitHub the fleet is on.
 */
export const GITHUB_COM_API = "https://api.github.com";

/** Paths of the files in a mirror repository, committed by `pulumi up` unless noted. */
export const MIRROR_PATHS = {
  workflow: ".github/workflows/mirror.yml",
  config: ".mirror/config.yml",
  override: "dockerfiles/Dockerfile.override",
  trivyignore: ".trivyignore.yaml",
  vex: ".mirror/waivers.openvex.json",
  codeowners: ".github/CODEOWNERS",
  readme: "README.md",
  /** The fleet's cosign public key, when the stack signs (pipeline sign verifies with it). */
  publicKey: "cosign.pub",
  /** Written by the pipeline's `pin`, never by Pulumi. */
  pin: "image-pin.yml",
  /** The kustomize Component the pipeline's `pin` writes with image-pin.yml. */
  kustomize: "deploy/kustomization.yaml",
} as const;

/** Trivy's severities, most severe first. */
export const SEVERITIES = ["CRITICAL", "HIGH", "MEDIUM", "LOW", "UNKNOWN"] as const;
export type Severity = (typeof SEVERITIES)[number];

/** The in-toto predicate type of the scan gate's result (docs/evidence.md). */
export const SCAN_GATE_PREDICATE_TYPE = "https://mirror-fleet.dev/scan-gate/v1";
/** cosign's short name for the CycloneDX predicate type (https://cyclonedx.org/bom). */
export const SBOM_TYPE = "cyclonedx";

/**
 * The commands anyone runs to verify a pinned digest with the fleet key (the
 * mirror README, the pin pull request). `--insecure-ignore-tlog`: nothing was
 * uploaded to a transparency log, the key alone is the trust.
 */
export function verifyCommands(ref: string, keyFile: string): string[] {
  const common = `--key ${keyFile} --insecure-ignore-tlog`;
  return [
    `cosign verify ${common} ${ref}`,
    `cosign verify-attestation ${common} --type ${SBOM_TYPE} ${ref}`,
    `cosign verify-attestation ${common} --type ${SCAN_GATE_PREDICATE_TYPE} ${ref}`,
  ];
}

/**
 * Marks an override that is not a whole Dockerfile but a runtime stage that
 * the pipeline appends to upstream's own Dockerfile at build time
 * (components/presets.ts `rebaseRuntime` writes it).
 */
export const RUNTIME_STAGE_MARKER = "# mirror-fleet: runtime stage, appended to the upstream Dockerfile at build time";

/** True when an override (as committed, header included) is a runtime stage. */
export function isRuntimeStageOverride(override: string): boolean {
  return override.split("\n").some((l) => l.trim() === RUNTIME_STAGE_MARKER);
}

/** How an image is built, as the entry and the policy decide it. */
export interface BuildConfig {
  readonly args: Readonly<Record<string, string>>;
  readonly platforms: readonly string[];
  readonly dockerfile: string;
  readonly context: string;
}

/** An upstream is unhealthy when archived or past either threshold. */
export interface HealthThresholds {
  readonly maxDaysSinceCommit: number;
  readonly maxDaysSinceRelease: number;
}

/** GitHub's repository roles, lowest first (docs: "Repository roles for an organization"): who may approve an override review holds one or higher. */
export const REPOSITORY_ROLES = ["read", "triage", "write", "maintain", "admin"] as const;
export type RepositoryRole = (typeof REPOSITORY_ROLES)[number];
/** The role the fleet policy names when it names none (infra/policy.ts overrideReview.approverRole). */
export const DEFAULT_APPROVER_ROLE: RepositoryRole = "write";

/** The `schema` of `.mirror/config.yml`; a changed meaning needs a new number (the pipeline refuses others). */
export const CONFIG_SCHEMA = 1;

/**
 * `.mirror/config.yml`: the one file through which deploy time tells
 * pipeline time what to do (components/mirror-config.ts writes it,
 * pipeline/lib/config.ts reads and checks it).
 */
export interface MirrorConfig {
  readonly schema: typeof CONFIG_SCHEMA;
  readonly name: string;
  /** `owner/repo` of the mirror repository itself. */
  readonly repository: string;
  readonly upstream: {
    readonly repo: string;
    readonly url: string;
    readonly license: string;
    readonly tags: { readonly range: string; readonly prerelease: boolean; readonly prefix: string };
  };
  /** `ghcr.io/<namespace>/<name>`, no tag. */
  readonly image: string;
  /**
   * `sha256` is the hash of the file that is built (`path`, with its generated
   * header); `sourceSha256` the hash of the fleet repository's `source`, which
   * differs by that header. An auditor compares each with its own file.
   */
  readonly override: {
    readonly path: string;
    readonly sha256: string;
    readonly source: string;
    readonly sourceSha256?: string;
    readonly basePins: readonly string[];
  } | null;
  readonly build: BuildConfig;
  /** Upstream paths whose change needs an override review (the drift gate). */
  readonly watch: readonly string[];
  readonly gate: {
    readonly severities: readonly Severity[];
    readonly fixedOnly: boolean;
    /** Path of the waivers file (Trivy's YAML ignore format) in the mirror repo. */
    readonly waivers: string;
    /** Scans whose findings block: every image platform, and the upstream source unless the entry turned it off. */
    readonly scans?: readonly ("image" | "source")[];
    /** The entry's reason for a source scan that does not block. */
    readonly sourceOffReason?: string;
  };
  readonly health: HealthThresholds;
  readonly attestations: boolean;
  readonly reviewers: readonly string[];
  /** Who may approve an override review by closing its issue: this repository role or higher (pipeline/lib/approval.ts). */
  readonly overrideReview?: { readonly approverRole: RepositoryRole };
}

/** A label of a mirror repository's issues and pin pull requests. */
export interface Label {
  readonly name: string;
  readonly color: string;
  readonly description: string;
}

/**
 * The labels the pipeline puts on a mirror's issues and pin pull requests.
 * The pipeline creates each in the mirror repository when it first needs it
 * and the repository has none of that name; one it has is used as it is,
 * never changed or deleted (pipeline/lib/labels.ts). The mirror README says
 * what each means.
 */
export const FLEET_LABELS: readonly Label[] = [
  { name: "cve", color: "b60205", description: "Vulnerability found by the mirror's scan" },
  { name: "blocked", color: "d93f0b", description: "A build was blocked; nothing was pushed" },
  { name: "security", color: "e11d21", description: "Security relevant" },
  { name: "rescan", color: "fbca04", description: "Found by the nightly rescan of the pinned digest" },
  { name: "override-review", color: "5319e7", description: "Upstream changed a watched Dockerfile; review the override" },
  { name: "mirror-build", color: "0e8a16", description: "Pull request pinning a newly built digest" },
  { name: "upstream-health", color: "c5def5", description: "The upstream looks archived or stale" },
];
