/**
 * The mirror repository's README: what the mirror is, where its image comes
 * from, how to verify one, what the upstream's license means for the image,
 * and what each label and generated file is for.
 */
import { header } from "./header";
import { MIRROR_PATHS } from "./mirror-config";
import type { ResolvedMirror } from "./types";

function cronText(cron: string): string {
  const [minute, hour, , , dow] = cron.split(" ");
  const hhmm = `${hour.padStart(2, "0")}:${minute.padStart(2, "0")} UTC`;
  const days = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
  return dow === "*" ? `daily at ${hhmm}` : `every ${days[Number(dow)]} at ${hhmm}`;
}

export function renderReadme(m: ResolvedMirror): string {
  const tags = m.upstream.tags;
  const policy = [
    `semver range \`${tags.range}\``,
    tags.prerelease ? "prereleases allowed" : "no prereleases",
    tags.prefix ? `tag prefix \`${tags.prefix}\`` : "",
  ].filter(Boolean).join(", ");
  const lines: string[] = [
    `# ${m.repo}`,
    "",
    `A hardened mirror of [${m.upstream.fullName}](${m.upstream.url}). Every night a workflow looks for a new upstream release tag (${policy}), rebuilds it from source, scans the image with Trivy and, when the scan passes, pushes it to \`${m.image}\` and opens a pull request that pins its digest in \`${MIRROR_PATHS.pin}\`. Nothing reaches a cluster until a human merges that pull request.`,
    "",
    "## Where the image comes from",
    "",
    m.override
      ? `- Built from upstream's source at the release tag, with the hardened Dockerfile \`${MIRROR_PATHS.override}\` (from \`${m.override.source}\` in the fleet repository) instead of upstream's own. Its base images are pinned by digest:\n${m.override.basePins.map((p) => `  - \`${p}\``).join("\n")}`
      : `- Built from upstream's source at the release tag with upstream's own Dockerfile (\`${m.build.dockerfile}\`), unchanged.`,
    `- Platforms: ${m.build.platforms.map((p) => `\`${p}\``).join(", ")}.`,
    `- The image is built once; the archive that was scanned is the one pushed, and the push is checked: the registry's digest must equal the scanned digest.`,
    `- A change to ${m.watch.map((w) => `\`${w}\``).join(", ")} upstream since the last built tag blocks the build until a human closes the \`override-review\` issue.`,
    "",
    "## The scan gate",
    "",
    // The severities are stated once, in the config: a fleet-wide policy
    // change then rewrites one file per mirror, not two (DESIGN invariant 6).
    `- Blocks on the findings selected by \`gate\` in \`${MIRROR_PATHS.config}\` (severities, and whether only findings with a fix count). A missing or unreadable report, an unknown severity or an expired waiver also blocks.`,
    `- A blocked build pushes nothing and opens (or updates) one issue labelled \`cve\`, \`blocked\`, \`security\`.`,
    `- A rescan of the pinned digest against the current vulnerability database runs ${cronText(m.cron.rescan)}; new findings open an issue labelled \`rescan\`, and it closes itself when a later scan is clean.`,
    `- Waivers: \`${MIRROR_PATHS.trivyignore}\` (Trivy's format, each with a statement and an expiry date) and the same decisions as an OpenVEX document, \`${MIRROR_PATHS.vex}\`.`,
    "",
  ];
  if (m.gate.waivers.length) {
    lines.push("| Waiver | Expires | Approved by | Reason |", "|---|---|---|---|");
    for (const w of m.gate.waivers) lines.push(`| ${w.id} | ${w.expires} | ${w.approvedBy} | ${w.reason.replace(/\|/g, "\\|")} |`);
    lines.push("");
  }
  lines.push(
    "## Verify an image",
    "",
    "Deploy by digest, never by tag. The digest to deploy is the one in `image-pin.yml` on the default branch:",
    "",
    "```sh",
    `digest=$(grep '^digest:' ${MIRROR_PATHS.pin} | awk '{print $2}')`,
    `docker buildx imagetools inspect ${m.image}@$digest`,
    "```",
    "",
  );
  if (m.attestations) {
    lines.push(
      "Every published digest carries a build provenance and an SBOM attestation, signed by this repository's workflow:",
      "",
      "```sh",
      `gh attestation verify oci://${m.image}@$digest --owner ${m.owner}`,
      `gh attestation verify oci://${m.image}@$digest --owner ${m.owner} --predicate-type https://cyclonedx.org/bom`,
      "```",
      "",
    );
  } else {
    lines.push(
      `Attestations are off for this mirror${m.visibility === "private" ? " (artifact attestations on private repositories need GitHub Enterprise Cloud)" : ""}. The evidence is the workflow run linked from the pin pull request: its audit bundle holds the scan reports, the SBOM and the diff review.`,
      "",
    );
  }
  lines.push(
    "## License",
    "",
    `The image contains ${m.upstream.fullName}, licensed ${m.upstream.license}; the mirrored image carries the same license. The mirror does not change upstream's source, so upstream's repository is where that source is. Read upstream's LICENSE before publishing the image to a public registry.`,
    "",
    "## Labels",
    "",
    "| Label | Meaning |",
    "|---|---|",
    "| `cve` | a vulnerability found by the scan |",
    "| `blocked` | a build was blocked and nothing was pushed |",
    "| `security` | security relevant |",
    "| `rescan` | found by the nightly rescan of the pinned digest |",
    "| `override-review` | upstream changed a watched file; review the override, then close the issue to let the build through |",
    "| `mirror-build` | a pull request pinning a newly built digest |",
    "| `upstream-health` | the upstream looks archived or stale |",
    "",
    "Watch this repository for issues with the `cve` and `override-review` labels to be told when a human is needed.",
    "",
    "## Schedule",
    "",
    `- Build: ${cronText(m.cron.build)}. Rescan: ${cronText(m.cron.rescan)}. Upstream health: ${cronText(m.cron.health)}.`,
    `- Default branch protection: ${m.branchProtection ? "on (pull request with an approving review)" : "off (set by the fleet's branchProtection switch; GitHub Free cannot protect private repositories)"}.`,
    "",
    "## Files",
    "",
    `Everything here except \`${MIRROR_PATHS.pin}\` is generated by mirror-fleet from \`${m.sourceFile}\` and the fleet policy, and overwritten by the next \`pulumi up\`: change it there. \`${MIRROR_PATHS.pin}\` is written only by this repository's pipeline, through pull requests.`,
    "",
  );
  return header("<!--", m.sourceFile) + "\n" + lines.join("\n");
}
