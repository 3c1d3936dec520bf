/**
 * The mirror repository's README: what the mirror is, where its image comes
 * from, how to verify one, what the upstream's license means for the image,
 * and what each label and generated file is for.
 */
import { MIRROR_PATHS, verifyCommands } from "../contract";
import { isHardened, runtimeBase } from "./hardening";
import { header } from "./header";
import { PIPELINE_REPOSITORY_NAME } from "./pipeline-action";
import { registryHost } from "./registry";
import { GITHUB_COM, type ResolvedMirror } from "./types";

function cronText(cron: string): string {
  const [minute, hour, , , dow] = cron.split(" ");
  const hhmm = `${hour.padStart(2, "0")}:${minute.padStart(2, "0")} UTC`;
  const days = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
  return dow === "*" ? `daily at ${hhmm}` : `every ${days[Number(dow)]} at ${hhmm}`;
}

/**
 * What the mirror is, said plainly: only a digest-pinned, minimal runtime base
 * earns "hardened" (components/hardening.ts). A mirror built from upstream's
 * own Dockerfile is a rebuild: scanned and pinned by digest, but on whatever
 * base upstream chose.
 */
function kind(m: ResolvedMirror): string {
  if (isHardened(m)) return "A hardened mirror";
  return m.override ? "A scanned rebuild, with the fleet's Dockerfile on a digest-pinned base that is not minimal," : "A scanned rebuild, on upstream's own Dockerfile and base images,";
}

/** Where the image comes from, for an override: its pinned bases, and whether the runtime one is minimal. */
function overrideOrigin(m: ResolvedMirror, o: NonNullable<ResolvedMirror["override"]>): string {
  const base = runtimeBase(m);
  const runtime = base && base.minimal
    ? `- The image ships on \`${base.ref}\`: minimal, no shell and no package manager.`
    : `- The image ships on \`${base?.ref ?? "its last FROM"}\`, which is pinned but not a minimal base: the override is not called hardened.`;
  return `- Built from upstream's source at the release tag, with the fleet's Dockerfile \`${MIRROR_PATHS.override}\` (from \`${o.source}\` in the fleet repository) instead of upstream's own. Its base images are pinned by digest:\n${o.basePins.map((p) => `  - \`${p}\``).join("\n")}\n${runtime}`;
}

/** "CRITICAL", "CRITICAL and HIGH", "CRITICAL, HIGH and MEDIUM". */
function severityList(severities: readonly string[]): string {
  return severities.length < 2 ? severities.join("") : `${severities.slice(0, -1).join(", ")} and ${severities[severities.length - 1]}`;
}

/**
 * What blocks, named: the severities and the fix rule this mirror's gate
 * applies (its `gate` in the config), and which scans count. A reader should
 * not need the config to know what the gate let through. (A policy change of
 * the severities rewrites this README with the config.)
 */
function gateLines(m: ResolvedMirror): string[] {
  const fix = m.gate.fixedOnly ? "that have a fix available (an unfixed one is reported, and does not block)" : "whether or not a fix is available";
  const where = m.gate.scans.includes("source") ? "in any platform of the image or in the upstream source" : "in any platform of the image";
  const lines = [`- Blocks on ${severityList(m.gate.severities)} findings ${fix}, ${where} (\`gate\` in \`${MIRROR_PATHS.config}\`). A missing or unreadable report, a severity that is not one of Trivy's five, or an expired waiver also blocks (Trivy's \`UNKNOWN\`, a finding not yet rated, blocks only when listed).`];
  const why = m.gate.sourceOffReason?.trim();
  if (why) lines.push(`- The upstream source is scanned too, but its findings do not block: ${/[.!?]$/.test(why) ? why : `${why}.`}`);
  return lines;
}

/** The waiver files, as they are: the OpenVEX document exists only when something is waived (components/waivers.ts). */
function waiversLine(m: ResolvedMirror): string {
  return m.gate.waivers.length
    ? `- Waivers: \`${MIRROR_PATHS.trivyignore}\` (Trivy's format, each with a statement and an expiry date) and the same decisions as an OpenVEX document, \`${MIRROR_PATHS.vex}\`.`
    : `- Waivers: none. \`${MIRROR_PATHS.trivyignore}\` lists none, and there is no OpenVEX document; a waiver in \`${m.sourceFile}\` (\`gate.waivers\`) adds it to both.`;
}

/** Which plan shows the scan in the Security tab: code scanning on a private repository needs GitHub Code Security. */
function securityTab(m: ResolvedMirror): string {
  return m.visibility === "public"
    ? "uploaded to this repository's Security tab (code scanning), which every plan shows for a public repository."
    : "this repository is private, so the Security tab (code scanning) shows them only when GitHub Code Security is enabled for it (sold for the Team and Enterprise plans; not available on Free). Without it the upload fails without failing the run, and the SARIF files are in the run's `audit` artifact (a rescan's, in its `rescan` artifact).";
}

/**
 * Verifying an image is checking that three digests agree: the one pinned
 * (what a cluster deploys), the one the run scanned (its audit bundle), and
 * the one the registry serves, hashed from the manifest itself.
 */
function verifySection(m: ResolvedMirror): string[] {
  // The host `gh` must be told on an Enterprise Server (`--repo HOST/OWNER/REPO`, `--hostname`); none on github.com, its default.
  const host = m.serverUrl === GITHUB_COM ? undefined : new URL(m.serverUrl).host;
  return [
    "## Verify an image",
    "",
    `Deploy by digest, never by tag. An image is verified when three digests are the same: the one in \`${MIRROR_PATHS.pin}\` on the default branch (what is deployed), the one in the audit bundle of the run that built it (what was scanned and gated), and the one the registry serves.`,
    "",
    "```sh",
    `# 1. What is pinned, and the run that built it (from ${MIRROR_PATHS.pin} on the default branch)`,
    `digest=$(grep '^digest:' ${MIRROR_PATHS.pin} | grep -oE 'sha256:[0-9a-f]{64}')`,
    `run_url=$(grep '^run_url:' ${MIRROR_PATHS.pin} | grep -o 'https://[^"]*')`,
    "",
    `# 2. What that run scanned: its audit bundle (kept ${m.artifactRetentionDays} days)`,
    `gh run download "\${run_url##*/}" --repo ${host ? `${host}/` : ""}${m.owner}/${m.repo} --name audit --dir audit`,
    `if [ "$(cat audit/digest.txt)" = "$digest" ]; then echo "pinned digest = scanned digest"; else echo "MISMATCH: the run scanned $(cat audit/digest.txt)"; fi`,
    "",
    "# 3. What the registry serves: the manifest's own sha256 must be the digest (any one of these)",
    `skopeo inspect --raw "docker://${m.image}@$digest" | sha256sum    # prints the digest without its sha256: prefix`,
    `crane digest "${m.image}@$digest"`,
    `docker buildx imagetools inspect "${m.image}@$digest" --format '{{json .Manifest.Digest}}'`,
    "```",
    "",
    `${m.visibility === "private" ? `The image is private: log in with a token that may read packages (\`gh auth login\` does not ask for it: \`gh auth refresh${host ? ` --hostname ${host}` : ""} --scopes read:packages\` once), \`gh auth token${host ? ` --hostname ${host}` : ""} | docker login ${registryHost(m.image)} -u <you> --password-stdin\`; skopeo and crane read the same credentials. ` : ""}A digest that is missing from the registry, or differs in any of the three places, is not an image this mirror built: do not deploy it.`,
    "",
  ];
}

/** The pin's kustomize Component, as a Flux or Argo CD app includes it. */
function gitopsSection(m: ResolvedMirror): string[] {
  return [
    "## Deploy with GitOps",
    "",
    `Each pin pull request also writes \`${MIRROR_PATHS.kustomize}\`, a kustomize Component that sets \`${m.image}\` to the pinned digest in every container that uses it, whatever tag the manifests name. List it under \`components:\` in your app's kustomization; Flux (a kustomize-controller \`Kustomization\` whose \`path\` is the app's folder) and Argo CD (an Application whose source is that folder) build it like \`kustomize build\`, so merging the pin pull request is the rollout:`,
    "",
    "```yaml",
    "apiVersion: kustomize.config.k8s.io/v1beta1",
    "kind: Kustomization",
    "resources:",
    "  - deployment.yaml",
    "components:",
    `  - ${m.serverUrl}/${m.owner}/${m.repo}//deploy?ref=main`,
    "```",
    "",
    m.visibility === "private"
      ? "This repository is private. Argo CD lends kustomize only the credentials of the Application's own repository, so the URL above loads when they also read this one (one GitHub App or token for both). Flux's kustomize-controller lends none: give this repository a `GitRepository` with its own secret, include it in your app's (`spec.include`, `fromPath: deploy`, `toPath: <folder>`), and list the component by that folder's relative path."
      : "This repository is public: no credentials are needed to fetch the component. (A Flux kustomize-controller started with `--no-remote-bases` refuses it: include this repository in your app's `GitRepository` instead, `spec.include` with `fromPath: deploy`, and list the component by its local path.)",
    "",
  ];
}

/** cosign: signed by the fleet key on any plan, or said to be off. */
function signingSection(m: ResolvedMirror): string[] {
  if (!m.signing) {
    return [
      "Signatures are off for this mirror: the fleet's stack sets no cosign key pair (mirror-fleet:cosignPublicKey, cosignPrivateKey, cosignPassword; the fleet repository's README, Signing). Nothing in the registry proves an image came from this workflow; check the three digests above.",
      "",
    ];
  }
  return [
    `Every pushed digest (the index and each platform's manifest) is signed with the fleet's cosign key, and carries two attestations: each platform's CycloneDX SBOM and the scan gate's result (type \`https://mirror-fleet.dev/scan-gate/v1\`: decision, report hashes, waivers, Trivy and its database, upstream commit, reviewed diff). The public key is \`${MIRROR_PATHS.publicKey}\` in this repository. Signed offline: nothing is in a transparency log, so cosign is told to ignore it and trusts the key alone.`,
    "",
    "```sh",
    ...verifyCommands(`${m.image}@$digest`, MIRROR_PATHS.publicKey),
    "```",
    "",
    "An image that is unsigned, signed with another key, or reached through a tag that was moved to another digest fails these commands: do not deploy it.",
    "",
  ];
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
    `${kind(m)} of [${m.upstream.fullName}](${m.upstream.url}). Every night a workflow looks for a new upstream release tag (${policy}), rebuilds it from source, scans every platform of the image and the upstream source with Trivy and, when the scan passes, pushes it to \`${m.image}\` and opens a pull request that pins its digest in \`${MIRROR_PATHS.pin}\`. Nothing is rolled out until a human merges that pull request.`,
    "",
    "## Where the image comes from",
    "",
    m.override
      ? overrideOrigin(m, m.override)
      : `- Built from upstream's source at the release tag with upstream's own Dockerfile (\`${m.build.dockerfile}\`), unchanged: its base images are upstream's choice, not pinned by digest here and not checked to be minimal. Each build records the digest every \`FROM\` resolved to in the audit bundle (\`audit/base-images.json\`) and in the pin pull request, so the base of every pinned image is on record.`,
    `- Platforms: ${m.build.platforms.map((p) => `\`${p}\``).join(", ")}.`,
    `- The image is built once; the archive that was scanned is the one pushed, and the push is checked: the registry's digest must equal the scanned digest.`,
    // The drift gate exists only where there is an override to keep in step (components/workflow.ts).
    m.override
      ? `- A change to ${m.watch.map((w) => `\`${w}\``).join(", ")} upstream since the last built tag blocks the build until a human closes the \`override-review\` issue.`
      : `- A change to ${m.watch.map((w) => `\`${w}\``).join(", ")} upstream since the last built tag does not block the build: there is no override to keep in step, upstream's own Dockerfile is what is built. The pin pull request shows the diff review (commit log, changed files, patch) for the human who merges it.`,
    "",
    "## The scan gate",
    "",
    ...gateLines(m),
    `- A blocked build pushes nothing and opens (or updates) one issue labelled \`cve\`, \`blocked\`, \`security\`.`,
    `- A rescan of the pinned digest against the current vulnerability database runs ${cronText(m.cron.rescan)}; new findings open an issue labelled \`rescan\`, and it closes itself when a later scan is clean.`,
    waiversLine(m),
    `- Findings as SARIF: ${securityTab(m)} Each run's job summary says where its SARIF went.`,
    "",
  ];
  if (m.gate.waivers.length) {
    lines.push("| Waiver | Expires | Approved by | Reason |", "|---|---|---|---|");
    for (const w of m.gate.waivers) lines.push(`| ${w.id} | ${w.expires} | ${w.approvedBy} | ${w.reason.replace(/\|/g, "\\|")} |`);
    lines.push("");
  }
  lines.push(...verifySection(m));
  if (m.attestations) {
    lines.push(
      "Every published digest carries a build provenance and an SBOM attestation, signed by the workflow this repository's workflow calls (the fleet's, in the same organisation):",
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
  lines.push(...signingSection(m), ...gitopsSection(m));
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
    "The pipeline makes each label here the first time it puts it on an issue or a pull request, unless the repository has one of that name already, which it uses as it is. Watch this repository for issues with the `cve` and `override-review` labels to be told when a human is needed.",
    "",
    "## Schedule",
    "",
    `- Build: ${cronText(m.cron.build)}. Rescan: ${cronText(m.cron.rescan)}. Upstream health: ${cronText(m.cron.health)}.`,
    `- Default branch protection: ${m.branchProtection ? "on (pull request with an approving review)" : "off (set by the fleet's branchProtection switch; GitHub Free cannot protect private repositories)"}.`,
    "",
    "## Files",
    "",
    `Everything here except \`${MIRROR_PATHS.pin}\` and \`${MIRROR_PATHS.kustomize}\` is generated by mirror-fleet from \`${m.sourceFile}\` and the fleet policy, and overwritten by the next \`pulumi up\`: change it there. Those two are written only by this repository's pipeline, through pin pull requests.`,
    "",
    `The pipeline itself is not here: \`${MIRROR_PATHS.workflow}\` calls a shared workflow of the fleet's pipeline repository \`${m.owner}/${PIPELINE_REPOSITORY_NAME}\` at the full commit SHA it names. Its jobs run the fleet's one pipeline, the action of that repository (\`action.yml\` and the bundle \`pipeline.cjs\`), at the full commit SHA they name, checked by the bundle's sha256. \`${MIRROR_PATHS.pin}\` records that action commit as \`pipeline:\` for each pinned image: the exact pipeline code that built it.`,
    "",
  );
  return header("<!--", m.sourceFile) + "\n" + lines.join("\n");
}
