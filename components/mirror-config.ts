/**
 * The mirror's config for the pipeline: the one file (`.mirror/config.yml`)
 * through which deploy time tells pipeline time what to do. The pipeline
 * reads nothing else of the fleet: the workflow passes its path to every
 * command. Keep this type and `schema` in step with pipeline/ (it imports the
 * type; a changed meaning needs a new schema number).
 */
import { createHash } from "node:crypto";
import { header } from "./header";
import type { RepositoryRole } from "../pipeline/lib/approval";
import type { ResolvedMirror, Severity } from "./types";

/** Paths of the generated files inside a mirror repository. */
export const MIRROR_PATHS = {
  workflow: ".github/workflows/mirror.yml",
  bundle: ".mirror/pipeline.cjs",
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
} as const;

export interface MirrorConfig {
  readonly schema: 1;
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
  readonly build: ResolvedMirror["build"];
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
  readonly health: ResolvedMirror["health"];
  readonly attestations: boolean;
  readonly reviewers: readonly string[];
  /** Who may approve an override review by closing its issue: this repository role or higher (pipeline/lib/approval.ts). */
  readonly overrideReview?: { readonly approverRole: RepositoryRole };
}

export function mirrorConfig(m: ResolvedMirror): MirrorConfig {
  return {
    schema: 1,
    name: m.name,
    repository: `${m.owner}/${m.repo}`,
    upstream: { repo: m.upstream.fullName, url: m.upstream.url, license: m.upstream.license, tags: m.upstream.tags },
    image: m.image,
    override: m.override
      ? {
          path: MIRROR_PATHS.override,
          sha256: createHash("sha256").update(renderOverride(m)!).digest("hex"),
          source: m.override.source,
          sourceSha256: m.override.sha256,
          basePins: m.override.basePins,
        }
      : null,
    build: m.build,
    watch: m.watch,
    gate: {
      severities: m.gate.severities,
      fixedOnly: m.gate.fixedOnly,
      waivers: MIRROR_PATHS.trivyignore,
      scans: m.gate.scans,
      ...(m.gate.sourceOffReason ? { sourceOffReason: m.gate.sourceOffReason } : {}),
    },
    health: m.health,
    attestations: m.attestations,
    reviewers: m.reviewers,
    overrideReview: { approverRole: m.overrideApproverRole },
  };
}

/** `dockerfiles/Dockerfile.override` as committed and built: the generated-file header, then the override's text. */
export function renderOverride(m: ResolvedMirror): string | undefined {
  if (!m.override) return undefined;
  const where = m.override.source.startsWith("preset:")
    ? `${m.sourceFile} (override ${m.override.source.slice("preset:".length)}, components/presets.ts)`
    : m.override.source;
  return header("#", where) + m.override.content;
}
