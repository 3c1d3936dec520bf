/**
 * `pin`: writes image-pin.yml on branch mirror-build/<tag> and opens or
 * updates its pull request (pipeline/lib/pin.ts).
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { parseFlags, setOutputs, UsageError, type Command, type Io } from "../cli";
import { botLogin, github, splitRepo } from "../github";
import { loadConfigOption } from "../lib/config";
import { readGateJson } from "../lib/issues";
import { DIGEST_PATTERN } from "../lib/oci";
import { KUSTOMIZE_PATH, prTitle, renderKustomizeComponent, renderPinFile, renderPrBody, scanFromGate, syncPin, type PinRecord } from "../lib/pin";
import { checkImage } from "../lib/publish";
import { checkTagName } from "../lib/tags";
import { basesMarkdown, readBaseRecord } from "../lib/bases";
import { SBOM_TYPE, SCAN_GATE_PREDICATE_TYPE } from "../lib/sign";

const USAGE = `usage: mirror-pipeline pin --digest sha256:… --tag TAG --commit SHA --gate-json FILE [flags]

Writes image-pin.yml (image@digest, tag, upstream commit, Dockerfile source and
override hash, built_at, scan summary, waivers applied, attestations, run) on
branch mirror-build/TAG with the contents API and opens or updates the pull
request (label mirror-build). Open pull requests of older mirror-build/*
branches are closed as superseded. Re-running with the same inputs changes
nothing: no commit, no second branch or pull request.

  --image IMAGE        ghcr.io/<namespace>/<name> (default: config image)
  --digest DIGEST      the scanned and pushed digest, sha256:<64 hex>
  --tag TAG            the upstream tag that was built
  --commit SHA         the upstream commit of the tag
  --gate-json FILE     the gate's JSON result (must be a pass): the scan summary and waivers
  --review-file FILE   the diff review (diff-review.md), folded into the pull request
  --bases-file FILE    what each FROM resolved to (base-images.json of \`bases\`), as a table
  --public-key FILE    the fleet key the digest was signed with (cosign.pub, after \`sign\`):
                       the pull request gives the cosign verify commands for the digest
  --run-url URL        the workflow run
  --pipeline REF       the fleet pipeline that ran, OWNER/REPO@<40-hex commit> (the
                       workflow's uses:), recorded as pipeline: in image-pin.yml
  --sarif-url URL      where the SARIF report is (code scanning or artifact)
  --sbom-url URL       where the CycloneDX SBOM is
  --attestation URL    an attestation of the digest (repeatable)
  --built-at TIME      when the image was built, ISO 8601 UTC: the build job's output, so that
                       a re-run writes the same file (default: env MIRROR_BUILT_AT; required)
  --approval-issue N   the override-review issue whose close let this build through the drift gate
  --approved-by LOGIN  who closed it as completed (both shown in the pull request's audit record)
  --config FILE        mirror config (default .mirror/config.yml; required: upstream and override)
  --repo OWNER/NAME    the mirror repository (default: env GITHUB_REPOSITORY, else config repository)
  --base BRANCH        base branch (default: the repository's default branch)

Prints {action, number, url, branch, superseded}; action is created, updated,
unchanged, or declined: a person closed the pull request for this digest
without merging, and it stays closed. Outputs: pr_url, pr_number, action.
Env: GITHUB_TOKEN, GITHUB_API_URL, MIRROR_BOT_LOGIN (default github-actions[bot]).
`;

const URL_PATTERN = /^https?:\/\/[^\s()<>\[\]]+$/;
const COMMIT = /^[0-9a-f]{40}(?:[0-9a-f]{24})?$/;
const PIPELINE_REF = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})\/[A-Za-z0-9._-]{1,100}@[0-9a-f]{40}$/;
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?Z$/;

function readFile(io: Io, flag: string, file: string): string {
  try {
    return fs.readFileSync(path.resolve(io.cwd, file), "utf8");
  } catch (e) {
    throw new Error(`${flag} ${file}: cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

function url(flag: string, v: string | undefined): string | undefined {
  if (v !== undefined && !URL_PATTERN.test(v)) throw new UsageError(`${flag}: ${JSON.stringify(v)} is not allowed (allowed: an http(s) URL)`);
  return v;
}

/** drift.json becomes a list of files; Markdown is shown as it is. */
function reviewText(text: string): string {
  if (!text.trimStart().startsWith("{")) return text;
  try {
    const d = JSON.parse(text) as { status?: unknown; files?: unknown };
    const files = Array.isArray(d.files) ? d.files.filter((x): x is string => typeof x === "string") : [];
    return `Watched files: ${String(d.status)}${files.length ? `\n\n${files.map((x) => `- \`${x.replace(/`/g, "'")}\``).join("\n")}` : ""}`;
  } catch {
    return text;
  }
}

export const command: Command = {
  name: "pin",
  summary: "write image-pin.yml on mirror-build/<tag> and open or update its pull request",
  usage: USAGE,
  async run(argv, io) {
    const f = parseFlags(argv, {
      image: { type: "string" },
      digest: { type: "string" },
      tag: { type: "string" },
      commit: { type: "string" },
      "gate-json": { type: "string" },
      "review-file": { type: "string" },
      "bases-file": { type: "string" },
      "public-key": { type: "string" },
      "run-url": { type: "string" },
      pipeline: { type: "string" },
      "sarif-url": { type: "string" },
      "sbom-url": { type: "string" },
      attestation: { type: "string", multiple: true },
      "built-at": { type: "string" },
      "approval-issue": { type: "string" },
      "approved-by": { type: "string" },
      config: { type: "string" },
      repo: { type: "string" },
      base: { type: "string" },
    });
    for (const k of ["digest", "tag", "commit", "gate-json"] as const) if (!f[k]) throw new UsageError(`--${k} is required`);
    const config = loadConfigOption(io.cwd, f.config);
    if (!config) throw new UsageError("the mirror config is required (--config FILE, or .mirror/config.yml): the pin records the upstream and the Dockerfile override from it");
    const image = checkImage(f.image ?? config.image);
    if (!DIGEST_PATTERN.test(f.digest!)) throw new UsageError(`--digest: ${JSON.stringify(f.digest)} is not allowed (allowed: sha256:<64 lowercase hex>)`);
    const tag = checkTagName(f.tag!, "--tag");
    if (!COMMIT.test(f.commit!)) throw new UsageError(`--commit: ${JSON.stringify(f.commit)} is not allowed (allowed: a full commit id, 40 lowercase hex)`);
    // Never this step's clock: a re-run would write another file, commit again and reopen what a person closed.
    const builtAt = f["built-at"] ?? io.env.MIRROR_BUILT_AT;
    if (!builtAt) throw new UsageError("--built-at is required (or env MIRROR_BUILT_AT): the build job's time, so that a re-run writes the same image-pin.yml");
    if (!ISO_UTC.test(builtAt) || Number.isNaN(Date.parse(builtAt))) {
      throw new UsageError(`--built-at (or MIRROR_BUILT_AT): ${JSON.stringify(builtAt)} is not allowed (allowed: ISO 8601 UTC, e.g. 2026-03-11T02:14:00Z)`);
    }
    let approval: PinRecord["approval"] = null;
    if (f["approval-issue"] || f["approved-by"]) {
      if (!f["approval-issue"] || !/^[1-9][0-9]{0,9}$/.test(f["approval-issue"])) {
        throw new UsageError(`--approval-issue: ${JSON.stringify(f["approval-issue"] ?? null)} is not allowed (allowed: an issue number, with --approved-by)`);
      }
      if (!f["approved-by"] || !/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})(?:\[bot\])?$/.test(f["approved-by"])) {
        throw new UsageError(`--approved-by: ${JSON.stringify(f["approved-by"] ?? null)} is not allowed (allowed: the GitHub login that closed the override-review issue, with --approval-issue)`);
      }
      approval = { issue: Number(f["approval-issue"]), by: f["approved-by"] };
    }
    const runUrl = url("--run-url", f["run-url"]);
    if (f.pipeline !== undefined && !PIPELINE_REF.test(f.pipeline)) {
      throw new UsageError(`--pipeline: ${JSON.stringify(f.pipeline)} is not allowed (allowed: OWNER/REPO@<40 lowercase hex>, the workflow's uses: of the fleet pipeline)`);
    }
    const sarif = url("--sarif-url", f["sarif-url"]);
    const sbom = url("--sbom-url", f["sbom-url"]);
    const attestations = (f.attestation ?? []).map((a) => url("--attestation", a)!);
    const full = f.repo ?? io.env.GITHUB_REPOSITORY ?? config.repository;
    const repo = splitRepo(full);
    const { scan, waivers } = scanFromGate(readGateJson(readFile(io, "--gate-json", f["gate-json"]!), f["gate-json"]!), f["gate-json"]!);
    const review = f["review-file"] !== undefined ? reviewText(readFile(io, "--review-file", f["review-file"])) : null;
    const bases = f["bases-file"] !== undefined ? basesMarkdown(readBaseRecord(readFile(io, "--bases-file", f["bases-file"]), f["bases-file"])) : undefined;
    // Read only to fail early on a missing file: the body names it for the reader.
    const publicKey = f["public-key"] !== undefined ? readFile(io, "--public-key", f["public-key"]) : undefined;

    const record: PinRecord = {
      image,
      digest: f.digest!,
      tag,
      upstream: { repo: config.upstream.repo, commit: f.commit! },
      override: config.override
        ? { path: config.override.path, sha256: config.override.sha256, source: config.override.source, sourceSha256: config.override.sourceSha256 ?? null }
        : null,
      builtAt,
      scan,
      waiversApplied: waivers,
      attestations,
      runUrl: runUrl ?? null,
      approval,
      signature: publicKey === undefined ? null : { publicKeySha256: createHash("sha256").update(publicKey).digest("hex"), attestations: [SBOM_TYPE, SCAN_GATE_PREDICATE_TYPE] },
      pipeline: f.pipeline ?? null,
    };
    const result = await syncPin(github(io), repo, {
      tag,
      content: renderPinFile(record),
      files: [{ path: KUSTOMIZE_PATH, content: renderKustomizeComponent(record) }],
      title: prTitle(record),
      body: (previous) =>
        renderPrBody(record, {
          previous,
          upstreamUrl: config.upstream.url,
          review,
          links: { ...(sarif ? { sarif } : {}), ...(sbom ? { sbom } : {}) },
          ...(bases ? { bases } : {}),
          ...(f["public-key"] !== undefined ? { publicKey: f["public-key"] } : {}),
        }),
      commitMessage: `Pin ${tag} at ${f.digest}`,
      ...(f.base ? { base: f.base } : {}),
      prefix: config.upstream.tags.prefix,
      digest: f.digest!,
      bot: botLogin(io.env),
    });
    if (result.action === "declined") {
      io.stderr(
        `pin ${tag}: pull request #${result.number} for ${f.digest} was closed without merging by ${result.closedBy ?? "someone"}; ` +
          "it stays closed and nothing was written (a new digest opens a new pull request)\n",
      );
    }
    io.stderr(
      `pin ${tag}: ${result.action}${result.number !== null ? ` #${result.number}` : ""} on ${result.branch}` +
        (result.superseded.length ? `; superseded ${result.superseded.map((n) => `#${n}`).join(", ")}` : "") +
        "\n",
    );
    io.stdout(
      JSON.stringify({
        action: result.action,
        number: result.number,
        url: result.url,
        branch: result.branch,
        superseded: result.superseded,
        ...(result.action === "declined" ? { closedBy: result.closedBy ?? null } : {}),
      }) + "\n",
    );
    setOutputs(io, { pr_url: result.url ?? "", pr_number: result.number === null ? "" : String(result.number), action: result.action });
    return 0;
  },
};
