/**
 * The mirror's config for the pipeline: the one file (`.mirror/config.yml`)
 * through which deploy time tells pipeline time what to do. The pipeline
 * reads nothing else of the fleet: the workflow passes its path to every
 * command. Its format (MirrorConfig, CONFIG_SCHEMA) and the repository's
 * paths are in contract/, which both runtimes import.
 */
import { createHash } from "node:crypto";
import { CONFIG_SCHEMA, MIRROR_PATHS, type MirrorConfig } from "../contract";
import { header } from "./header";
import type { ResolvedMirror } from "./types";

export { MIRROR_PATHS, type MirrorConfig };

export function mirrorConfig(m: ResolvedMirror): MirrorConfig {
  return {
    schema: CONFIG_SCHEMA,
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
