import type { FleetPolicy } from "../components/types";
import { BASE_IMAGES } from "./base-images";

/**
 * The fleet policy: defaults every mirror inherits. A change here is one pull
 * request in the fleet repo; `pulumi preview` then shows, per mirror, exactly
 * the generated files that the change touches.
 */
export const policy: FleetPolicy = {
  repoPrefix: "mirror-",
  // Block on CRITICAL and HIGH findings that have a fix: an unfixable finding
  // cannot be acted on by rebuilding, so it is reported but does not block.
  gate: { severities: ["CRITICAL", "HIGH"], fixedOnly: true },
  // 01:00-05:00 UTC; each mirror gets its own minute inside the window.
  schedule: { startHour: 1, hours: 4 },
  reviewers: [],
  // Every mirror without reviewers of its own is owned by this team of the
  // stack's organisation (CODEOWNERS, code-owner review on the pin PR). Create
  // it and give it write access to the mirrors; unset, preview warns per mirror.
  reviewTeam: "mirror-reviewers",
  // Closing an override-review issue as completed approves the upstream drift,
  // but closing needs only triage: the closer must hold this role or higher
  // (checked by the pipeline when it reads the close, pipeline/lib/approval.ts).
  overrideReview: { approverRole: "write" },
  notify: [],
  platforms: ["linux/amd64"],
  // transfer.sh (last tag 2023-12-04) fails both; Gokapi passes both.
  health: { maxDaysSinceCommit: 365, maxDaysSinceRelease: 365 },
  waiverNoticeDays: 30,
  artifactRetentionDays: 90,
  baseImages: BASE_IMAGES,
  // v0.69.4 was a malicious release (GHSA-69fq-xp46-6x23); never float this.
  trivy: { version: "0.74.0" },
  nodeVersion: "24",
  deploy: {
    healthCheck: true,
    // Off: it needs a Docker engine wherever `pulumi preview` runs.
    preflight: false,
  },
};
