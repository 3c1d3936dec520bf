/**
 * The one table of base images every override builds on, pinned by digest.
 * A tag can be repointed overnight; a digest moves only when this table
 * changes in a reviewed pull request. Renovate (renovate.json, pinDigests)
 * opens that pull request, and `pulumi up` rolls it out to the whole fleet.
 *
 * Source of the digests: the pinned override THEKROLL-LTD/oss-mirror-build @
 * f4aa3e7, examples/gokapi/Dockerfile.override (read 2026-11-23).
 *
 * Passed in with the policy (policy.baseImages): presets name a base by its
 * key, and components/spec.ts puts in the pinned reference from here.
 */
import type { BaseImageTable } from "../components/types";

export const BASE_IMAGES = {
  // renovate: datasource=docker depName=golang
  goBuilder: "golang:1.26.2-alpine@sha256:f85330846cde1e57ca9ec309382da3b8e6ae3ab943d2739500e08c86393a21b1",
  // renovate: datasource=docker depName=gcr.io/distroless/static
  distrolessStaticNonroot: "gcr.io/distroless/static:nonroot@sha256:e3f945647ffb95b5839c07038d64f9811adf17308b9121d8a2b87b6a22a80a39",
} as const satisfies BaseImageTable;
