/**
 * The pin: `image-pin.yml` on branch `mirror-build/<tag>` and the pull request
 * that merges it. Merging is the rollout (Flux or Argo CD deploy what the
 * default branch pins), so the pull request body is the audit record: which
 * digest, which upstream commits, what the scan found, which waivers applied.
 *
 * Idempotent: the file is compared before it is committed (no empty commits),
 * the branch is created once, and the open pull request of the branch is
 * updated rather than opened again. A pull request a human closed stays closed
 * while the pin it proposes is the same.
 */
import { MIRROR_PATHS, SEVERITIES, verifyCommands } from "../../contract";
import { createOnce, type GitHub, type Repo } from "../github";
import { cell, code, cutMarkdown, postComment, type GateJson } from "./issues";
import { ensureLabels } from "./labels";
import { DIGEST_PATTERN } from "./oci";
import { TAG_PATTERN, versionOf } from "./tags";
import { parseYaml, resolvePlain } from "./yaml";

export const PIN_PATH: string = MIRROR_PATHS.pin;
export const PIN_LABEL = "mirror-build";
export const BRANCH_PREFIX = "mirror-build/";

export interface ScanSummary {
  readonly critical: number;
  readonly high: number;
  readonly medium: number;
  readonly low: number;
  readonly unknown: number;
  /** Always 0: a blocked build is never pinned. */
  readonly blocking: number;
}

export interface AppliedWaiver {
  readonly id: string;
  readonly reason: string | null;
  readonly expires: string | null;
}

export interface PinRecord {
  readonly image: string;
  readonly digest: string;
  readonly tag: string;
  readonly upstream: { readonly repo: string; readonly commit: string };
  /** `sha256`: of `path`, the file that was built; `sourceSha256`: of `source` in the fleet repository (null when the config does not say). */
  readonly override: { readonly path: string; readonly sha256: string; readonly source: string; readonly sourceSha256: string | null } | null;
  /** ISO 8601, from the build (never the clock of this step, so a re-run writes the same file). */
  readonly builtAt: string;
  readonly scan: ScanSummary | null;
  readonly waiversApplied: readonly AppliedWaiver[];
  readonly attestations: readonly string[];
  readonly runUrl: string | null;
  /** The override review that let this build through the drift gate: its issue and who closed it as completed. */
  readonly approval?: { readonly issue: number; readonly by: string } | null;
  /**
   * The cosign signature of the digest (pipeline sign ran before pin): the
   * sha256 of the public key that verifies it and the attestation types it
   * carries. null: not signed (no fleet key).
   */
  readonly signature?: { readonly publicKeySha256: string; readonly attestations: readonly string[] } | null;
  /**
   * The fleet pipeline that built and pinned it, `owner/mirror-fleet-pipeline@<commit>`
   * (the `uses:` of the mirror's workflow): what ran, one hop from the pin. null: not told.
   */
  readonly pipeline?: string | null;
}

/** The scan summary and waivers of a passing gate result; a blocking one is refused. */
export function scanFromGate(gate: GateJson, shown: string): { scan: ScanSummary; waivers: AppliedWaiver[] } {
  if (gate.decision !== "pass" || gate.blocking.length > 0 || gate.unusable.length > 0) {
    throw new Error(`${shown}: the gate decision is "${gate.decision}" with ${gate.blocking.length} blocking finding(s): a blocked build is never pinned`);
  }
  const by = gate.counts.bySeverity as Record<string, unknown> | undefined;
  const count = (sev: string): number => {
    const n = by?.[sev];
    if (typeof n !== "number" || !Number.isInteger(n) || n < 0) {
      throw new Error(`${shown}: counts.bySeverity.${sev}: ${JSON.stringify(n ?? null)} is not allowed (allowed: a count, 0 or more)`);
    }
    return n;
  };
  const [critical, high, medium, low, unknown] = SEVERITIES.map(count);
  const waivers = new Map<string, AppliedWaiver>();
  for (const f of gate.waived) {
    if (!waivers.has(f.id)) waivers.set(f.id, { id: f.id, reason: f.statement ?? null, expires: f.expiredAt ? lastDay(f.expiredAt) : null });
  }
  return {
    scan: { critical, high, medium, low, unknown, blocking: 0 },
    waivers: [...waivers.values()].sort((a, b) => a.id.localeCompare(b.id)),
  };
}

/**
 * The last day a waiver applies: the day before Trivy's `expired_at`, which is
 * when it stops (components/waivers.ts). `expires` means that day everywhere
 * else (the entry, the README, the inventory), so it does here too.
 */
function lastDay(expiredAt: string): string {
  const d = new Date(`${expiredAt}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() - 1);
  return d.toISOString().slice(0, 10);
}

/** A YAML scalar that every YAML reader (1.1 or 1.2) reads back as the same string. */
function scalar(v: string | number | null): string {
  if (v === null) return "null";
  if (typeof v === "number") return String(v);
  const plain =
    /^[A-Za-z_./@+-][A-Za-z0-9_./@:+-]*$/.test(v) &&
    resolvePlain(v) === v &&
    // YAML 1.1 booleans (Flux's and Argo CD's Go readers) and a trailing colon.
    !/^(y|n|yes|no|on|off)$/i.test(v) &&
    // Hashes always quoted: one that happens to start with a digit must not look different.
    !/^[0-9a-f]+$/i.test(v) &&
    !v.endsWith(":");
  return plain ? v : JSON.stringify(v);
}

export const PIN_HEADER = [
  "# WRITTEN by the mirror pipeline (`pin` step of the mirror workflow), never by Pulumi: `pulumi up` does not touch this file.",
  "# It records the image that was built once, scanned and pushed for one upstream tag: `ref` is exactly the scanned digest.",
  "# A pull request from branch mirror-build/<tag> changes it; merging that pull request is the rollout (Flux or Argo CD deploy `ref`).",
  "# Do not edit by hand: the next passing build replaces it.",
].join("\n");

export const KUSTOMIZE_PATH: string = MIRROR_PATHS.kustomize;

/**
 * The pin as a kustomize Component, for GitOps: a Flux Kustomization or an
 * Argo CD kustomize source that lists `deploy/` under `components:` deploys
 * the pinned digest of every container using the image, whatever tag its
 * manifests name. Written with image-pin.yml in the same pull request.
 */
export function renderKustomizeComponent(p: PinRecord): string {
  return [
    `# Written by mirror-fleet's pin with ${PIN_PATH}: ${p.tag} at ${p.digest}.`,
    "# Include this folder as a kustomize component to deploy the pinned digest.",
    "apiVersion: kustomize.config.k8s.io/v1alpha1",
    "kind: Component",
    "images:",
    `  - name: ${scalar(p.image)}`,
    `    newName: ${scalar(p.image)}`,
    `    digest: ${scalar(p.digest)}`,
    "",
  ].join("\n");
}

export function renderPinFile(p: PinRecord): string {
  const lines = [
    PIN_HEADER,
    "schema: 1",
    `image: ${scalar(p.image)}`,
    `digest: ${scalar(p.digest)}`,
    `ref: ${scalar(`${p.image}@${p.digest}`)}`,
    `tag: ${scalar(p.tag)}`,
    "upstream:",
    `  repo: ${scalar(p.upstream.repo)}`,
    `  commit: ${scalar(p.upstream.commit)}`,
    `dockerfile_source: ${p.override ? "override" : "upstream"}`,
    `override_path: ${scalar(p.override?.path ?? null)}`,
    `override_sha256: ${scalar(p.override?.sha256 ?? null)}`,
    `override_source: ${scalar(p.override?.source ?? null)}`,
    `override_source_sha256: ${scalar(p.override?.sourceSha256 ?? null)}`,
    `built_at: ${scalar(p.builtAt)}`,
  ];
  if (p.scan) {
    lines.push("scan:", ...(["critical", "high", "medium", "low", "unknown", "blocking"] as const).map((k) => `  ${k}: ${p.scan![k]}`));
  } else {
    lines.push("scan: null");
  }
  if (p.waiversApplied.length) {
    lines.push("waivers_applied:");
    for (const w of p.waiversApplied) lines.push(`  - id: ${scalar(w.id)}`, `    reason: ${scalar(w.reason)}`, `    expires: ${scalar(w.expires)}`);
  } else {
    lines.push("waivers_applied: []");
  }
  if (p.attestations.length) lines.push("attestations:", ...p.attestations.map((a) => `  - ${scalar(a)}`));
  else lines.push("attestations: []");
  if (p.signature) {
    lines.push("signature:", "  tool: cosign", `  public_key_sha256: ${scalar(p.signature.publicKeySha256)}`, "  attestations:", ...p.signature.attestations.map((a) => `    - ${scalar(a)}`));
  } else {
    lines.push("signature: null");
  }
  lines.push(`run_url: ${scalar(p.runUrl)}`);
  if (p.pipeline) lines.push(`pipeline: ${scalar(p.pipeline)}`);
  return lines.join("\n") + "\n";
}

/** What the pull request body says about the pin it replaces. */
export interface PreviousPin {
  readonly tag: string | null;
  readonly commit: string | null;
  readonly digest: string | null;
}

/** The earlier pin, read leniently: it only feeds the "since" of the audit record. */
export function readPreviousPin(text: string): PreviousPin | null {
  try {
    const doc = parseYaml(text, PIN_PATH) as Record<string, unknown> | null;
    if (!doc || typeof doc !== "object") return null;
    // The base branch can be edited by hand: only well-formed values reach the body and its links.
    const str = (v: unknown, re: RegExp) => (typeof v === "string" && re.test(v) ? v : null);
    const up = doc.upstream as Record<string, unknown> | undefined;
    return { tag: str(doc.tag, TAG_PATTERN), commit: str(up?.commit, /^[0-9a-f]{40}(?:[0-9a-f]{24})?$/), digest: str(doc.digest, DIGEST_PATTERN) };
  } catch {
    return null;
  }
}

export interface PrContext {
  readonly previous: PreviousPin | null;
  /** https URL of the upstream repository, for the compare link. */
  readonly upstreamUrl: string | null;
  /** The diff review (Markdown) shown folded. */
  readonly review: string | null;
  readonly links: { readonly sarif?: string; readonly sbom?: string };
  /** The base images section (pipeline/lib/bases.ts basesMarkdown): what each FROM resolved to at build time. */
  readonly bases?: readonly string[];
  /** The fleet key's file when the digest was signed (pipeline sign): the body gives the cosign commands that verify it. */
  readonly publicKey?: string;
}

const MAX_BODY = 65_000;

export function prTitle(p: PinRecord): string {
  return `Pin ${p.tag} (${p.digest.slice(0, 19)}…)`;
}

function shortCell(sha: string): string {
  return cell(sha.slice(0, 12));
}

/** The first line of a pin pull request's body: which tag and digest it proposes (what a human's close refers to). */
export function pinMarker(tag: string, digest: string): string {
  return `<!-- mirror-fleet:pin tag=${tag} digest=${digest} -->`;
}

export function renderPrBody(p: PinRecord, ctx: PrContext): string {
  const out: string[] = [];
  out.push(pinMarker(p.tag, p.digest));
  out.push(`### ${code(p.image)} ${code(p.tag)}`, "");
  out.push("Merging this pull request rolls the image out: the deployment reads `ref` from `image-pin.yml`.", "");
  out.push("| | |", "|---|---|");
  out.push(`| Image | ${cell(`${p.image}@${p.digest}`)} |`);
  const prev = ctx.previous;
  let range: string;
  if (prev?.commit && prev.tag) {
    const compare = ctx.upstreamUrl ? ` ([compare](${ctx.upstreamUrl}/compare/${prev.commit}...${p.upstream.commit}))` : "";
    range = `${cell(prev.tag)} ${shortCell(prev.commit)} → ${cell(p.tag)} ${shortCell(p.upstream.commit)}${compare}`;
  } else {
    range = `${cell(p.tag)} ${shortCell(p.upstream.commit)} (first pinned build)`;
  }
  out.push(`| Upstream | ${cell(p.upstream.repo)}: ${range} |`);
  out.push(
    `| Dockerfile | ${
      p.override
        ? `${cell(p.override.path)} (built), sha256 ${cell(p.override.sha256)}; from ${cell(p.override.source)} in the fleet repository` +
          (p.override.sourceSha256 ? `, source sha256 ${cell(p.override.sourceSha256)}` : "")
        : "upstream's own"
    } |`,
  );
  out.push(`| Built | ${cell(p.builtAt)} |`);
  if (p.approval) out.push(`| Override review | upstream drift approved in #${p.approval.issue}, closed as completed by ${cell(p.approval.by)} |`);
  if (prev?.digest) out.push(`| Replaces | ${cell(prev.digest)} |`);
  out.push("");
  if (p.scan) {
    out.push("#### Scan", "", "| CRITICAL | HIGH | MEDIUM | LOW | UNKNOWN | blocking |", "|---|---|---|---|---|---|");
    out.push(`| ${p.scan.critical} | ${p.scan.high} | ${p.scan.medium} | ${p.scan.low} | ${p.scan.unknown} | ${p.scan.blocking} |`, "");
  }
  out.push(`#### Waivers applied (${p.waiversApplied.length})`, "");
  if (p.waiversApplied.length) {
    for (const w of p.waiversApplied) {
      out.push(`- ${code(w.id)}: ${w.reason ? code(w.reason) : "no reason recorded"}${w.expires ? ` (through ${code(w.expires)})` : ""}`);
    }
  } else {
    out.push("None.");
  }
  if (ctx.bases?.length) out.push("", ...ctx.bases);
  if (ctx.publicKey) {
    out.push("", "#### Signature and attestations (cosign)", "",
      `Signed with the fleet key (\`${ctx.publicKey}\` in this repository), offline: no transparency log. Before merging, or before deploying:`, "",
      "```sh", ...verifyCommands(`${p.image}@${p.digest}`, ctx.publicKey), "```");
  }
  const links: string[] = [];
  if (p.runUrl) links.push(`- [Workflow run](${p.runUrl})`);
  if (p.pipeline) links.push(`- Pipeline: ${code(p.pipeline)}`);
  if (ctx.links.sarif) links.push(`- [SARIF](${ctx.links.sarif})`);
  if (ctx.links.sbom) links.push(`- [SBOM (CycloneDX)](${ctx.links.sbom})`);
  p.attestations.forEach((a, i) => links.push(`- [Attestation ${i + 1}](${a})`));
  if (links.length) out.push("", "#### Links", "", ...links);
  let body = out.join("\n") + "\n";
  if (ctx.review) {
    const room = MAX_BODY - body.length - 200;
    // Cut between files or commits, with whatever the cut leaves open closed, so nothing after it renders live.
    const review = cutMarkdown(ctx.review.trim(), room, "the audit bundle (artifact `audit` of the workflow run: `diff-review.md` and `diff.patch`)");
    body += `\n<details><summary>Upstream diff review</summary>\n\n${review}\n\n</details>\n`;
  }
  return body;
}

// ---------------------------------------------------------------------------
// GitHub.

export interface PinRequest {
  readonly tag: string;
  readonly content: string;
  readonly title: string;
  readonly body: (previous: PreviousPin | null) => string;
  readonly commitMessage: string;
  /** Base branch; default: the repository's default branch. */
  readonly base?: string;
  /** Tag prefix of the policy, for ordering tags of other pin branches. */
  readonly prefix?: string;
  /** The digest the pin proposes: a pull request a human closed for it stays closed. */
  readonly digest: string;
  /** The login the workflow writes as (its own pull requests and closes are not a human's decision). */
  readonly bot?: string;
  /** Files that go with image-pin.yml on the branch (the kustomize Component). */
  readonly files?: ReadonlyArray<{ readonly path: string; readonly content: string }>;
}

/** `declined`: a person closed the pull request for this digest without merging; it stays closed. */
export type PinAction = "created" | "updated" | "unchanged" | "declined";

export interface PinResult {
  readonly action: PinAction;
  readonly number: number | null;
  readonly url: string | null;
  readonly branch: string;
  /** Pull requests of older tags closed as superseded. */
  readonly superseded: readonly number[];
  /** For `declined`: who closed the pull request. */
  readonly closedBy?: string | null;
  /** The create of the pull request was applied though its answer was lost: found and adopted. */
  readonly adopted?: boolean;
}

function status(e: unknown): number | undefined {
  return (e as { status?: number }).status;
}

/** Commits image-pin.yml (or `file`) on `branch`; `sha` is the blob it replaces, if any. A retried write that already landed is taken as done. */
async function putPinFile(gh: GitHub, repo: Repo, branch: string, req: PinRequest, sha: string | undefined, file = { path: PIN_PATH, content: req.content }): Promise<void> {
  try {
    await gh.request("PUT /repos/{owner}/{repo}/contents/{path}", {
      ...repo,
      path: file.path,
      message: req.commitMessage,
      content: Buffer.from(file.content, "utf8").toString("base64"),
      branch,
      ...(sha ? { sha } : {}),
    });
  } catch (e) {
    // A 5xx or timeout after GitHub committed (or the retry of it, answered 409 for the old sha).
    if ((await getFile(gh, repo, branch, file.path))?.content === file.content) return;
    throw e;
  }
}

/** The files that go with image-pin.yml (the kustomize Component): written after it, compared like it. */
async function syncExtraFiles(gh: GitHub, repo: Repo, branch: string, req: PinRequest): Promise<boolean> {
  let changed = false;
  for (const f of req.files ?? []) {
    const now = await getFile(gh, repo, branch, f.path);
    if (now?.content === f.content) continue;
    await putPinFile(gh, repo, branch, req, now?.sha, f);
    changed = true;
  }
  return changed;
}

async function getFile(gh: GitHub, repo: Repo, ref: string, file = PIN_PATH): Promise<{ sha: string; content: string } | null> {
  try {
    const { data } = await gh.request("GET /repos/{owner}/{repo}/contents/{path}", { ...repo, path: file, ref });
    if (Array.isArray(data) || data.type !== "file" || !("content" in data)) throw new Error(`${file} on ${ref} is not a file`);
    return { sha: data.sha, content: Buffer.from(data.content, "base64").toString("utf8") };
  } catch (e) {
    if (status(e) === 404) return null;
    throw e;
  }
}

async function getRef(gh: GitHub, repo: Repo, branch: string): Promise<string | null> {
  try {
    const { data } = await gh.request("GET /repos/{owner}/{repo}/git/ref/{ref}", { ...repo, ref: `heads/${branch}` });
    return data.object.sha;
  } catch (e) {
    if (status(e) === 404) return null;
    throw e;
  }
}

/** Whether the pin branch of `other` is older than `tag`: by version when both are versions, else yes (the newest build wins). */
export function isOlderTag(other: string, tag: string, prefix = ""): boolean {
  const a = versionOf(other, prefix);
  const b = versionOf(tag, prefix);
  return a && b ? a.version.compare(b.version) < 0 : true;
}

export async function syncPin(gh: GitHub, repo: Repo, req: PinRequest): Promise<PinResult> {
  const branch = `${BRANCH_PREFIX}${req.tag}`;
  const base = req.base ?? (await gh.request("GET /repos/{owner}/{repo}", { ...repo })).data.default_branch;
  const baseSha = await getRef(gh, repo, base);
  if (!baseSha) throw new Error(`base branch ${JSON.stringify(base)} does not exist in ${repo.owner}/${repo.repo}`);
  const baseFile = await getFile(gh, repo, base);
  const previous = baseFile ? readPreviousPin(baseFile.content) : null;
  const body = req.body(previous);
  const pulls = await gh.paginate("GET /repos/{owner}/{repo}/pulls", {
    ...repo,
    state: "all",
    head: `${repo.owner}:${branch}`,
    sort: "created",
    direction: "desc",
    per_page: 100,
  });
  const bot = req.bot ?? "github-actions[bot]";
  const open = pulls.find((p) => p.state === "open");

  let action: PinAction = "unchanged";
  let adopted = false;
  let pr: { number: number; url: string } | null = open ? { number: open.number, url: open.html_url } : null;
  if (!open && baseFile?.content === req.content) {
    // Already pinned on the base branch (merged earlier): nothing to propose.
    pr = pulls[0] ? { number: pulls[0].number, url: pulls[0].html_url } : null;
  } else if (open) {
    const file = await getFile(gh, repo, branch);
    if (file?.content !== req.content) {
      await putPinFile(gh, repo, branch, req, file?.sha);
      action = "updated";
    }
    if (await syncExtraFiles(gh, repo, branch, req)) action = "updated";
    if (open.title !== req.title || (open.body ?? "") !== body) {
      await gh.request("PATCH /repos/{owner}/{repo}/pulls/{pull_number}", { ...repo, pull_number: open.number, title: req.title, body });
      action = "updated";
    }
  } else {
    const declined = await closedByHuman(gh, repo, pulls, req, bot);
    if (declined) {
      // A person closed the pull request proposing this digest: respect it until the digest changes.
      pr = { number: declined.number, url: declined.html_url };
      action = "declined";
      // Nothing supersedes an older tag's pull request: the newer one was turned down.
      return { action, number: pr.number, url: pr.url, branch, superseded: [], closedBy: declined.closedBy };
    }
    // A fresh branch from the base, so the new pull request has exactly one change.
    const branchSha = await getRef(gh, repo, branch);
    if (!branchSha) {
      try {
        await gh.request("POST /repos/{owner}/{repo}/git/refs", { ...repo, ref: `refs/heads/${branch}`, sha: baseSha });
      } catch (e) {
        // Made by a create whose answer was lost, or by a run at the same time: move it to the base.
        const now = await getRef(gh, repo, branch);
        if (now === null) throw e;
        if (now !== baseSha) await gh.request("PATCH /repos/{owner}/{repo}/git/refs/{ref}", { ...repo, ref: `heads/${branch}`, sha: baseSha, force: true });
      }
    } else if (branchSha !== baseSha) {
      await gh.request("PATCH /repos/{owner}/{repo}/git/refs/{ref}", { ...repo, ref: `heads/${branch}`, sha: baseSha, force: true });
    }
    await putPinFile(gh, repo, branch, req, baseFile?.sha);
    await syncExtraFiles(gh, repo, branch, req);
    const findOpen = async () => {
      const [p] = await gh.paginate("GET /repos/{owner}/{repo}/pulls", { ...repo, state: "open", head: `${repo.owner}:${branch}`, per_page: 100 });
      return p ? { number: p.number, url: p.html_url } : undefined;
    };
    let made: { value: { number: number; url: string }; adopted: boolean };
    try {
      made = await createOnce(
        async () => {
          const { data } = await gh.request("POST /repos/{owner}/{repo}/pulls", { ...repo, title: req.title, head: branch, base, body });
          return { number: data.number, url: data.html_url };
        },
        findOpen,
      );
    } catch (e) {
      // 422 "A pull request already exists": a run at the same time (or a lost answer) made it.
      const found = (e as { status?: number }).status === 422 ? await findOpen() : undefined;
      if (!found) throw e;
      made = { value: found, adopted: true };
    }
    pr = made.value;
    adopted = made.adopted;
    action = "created";
  }
  // Also for an adopted pull request, whose labelling the lost answer skipped (adding a label is idempotent).
  // The open one's labels come with the list: no issues-API read (the pin job holds pull-requests, not issues).
  const unlabelled = open !== undefined && !open.labels.some((l) => l.name === PIN_LABEL);
  if (pr && (action === "created" || unlabelled)) {
    await ensureLabels(gh, repo, [PIN_LABEL]);
    await gh.request("POST /repos/{owner}/{repo}/issues/{issue_number}/labels", { ...repo, issue_number: pr.number, labels: [PIN_LABEL] });
  }

  const superseded = await supersede(gh, repo, { base, branch, tag: req.tag, prefix: req.prefix ?? "", by: pr?.number ?? null, bot });
  return { action, number: pr?.number ?? null, url: pr?.url ?? null, branch, superseded, ...(adopted ? { adopted } : {}) };
}

/**
 * The newest pull request of the branch that proposed this digest and that a
 * person closed without merging (not the pipeline superseding or withdrawing
 * it): the answer for that digest was no.
 */
async function closedByHuman(
  gh: GitHub,
  repo: Repo,
  pulls: ReadonlyArray<{ number: number; state: string; merged_at: string | null; body: string | null; html_url: string; user: { login: string } | null }>,
  req: PinRequest,
  bot: string,
): Promise<{ number: number; html_url: string; closedBy: string | null } | null> {
  const marker = pinMarker(req.tag, req.digest);
  for (const p of pulls) {
    if (p.state !== "closed" || p.merged_at || p.user?.login !== bot) continue;
    if ((p.body ?? "").split(/\r?\n/, 1)[0].trim() !== marker) continue;
    // Pull requests carry no closer; the issue view of the same number does (`closed_by`).
    let by: string | null = null;
    try {
      by = (await gh.request("GET /repos/{owner}/{repo}/issues/{issue_number}", { ...repo, issue_number: p.number })).data.closed_by?.login ?? null;
    } catch (e) {
      // Not readable with this token: count it as a person's decision, the side that proposes nothing again.
      if ((e as { status?: number }).status !== 403 && (e as { status?: number }).status !== 404) throw e;
    }
    if (by !== bot) return { number: p.number, html_url: p.html_url, closedBy: by };
  }
  return null;
}

/**
 * A blocked build of `tag` withdraws the open pin pull request of that tag (an
 * earlier digest): closed, with a comment naming the issue that blocks it.
 */
export async function withdrawPins(gh: GitHub, repo: Repo, tag: string, issue: number, bot = "github-actions[bot]"): Promise<number[]> {
  const branch = `${BRANCH_PREFIX}${tag}`;
  const open = await gh.paginate("GET /repos/{owner}/{repo}/pulls", { ...repo, state: "open", head: `${repo.owner}:${branch}`, per_page: 100 });
  const closed: number[] = [];
  for (const p of open) {
    if (p.head.ref !== branch || p.user?.login !== bot) continue;
    await postComment(gh, repo, p.number, `Withdrawn: a later build of ${code(tag)} was blocked by the scan gate (#${issue}). This pull request pins an earlier digest of that tag; closed by the mirror pipeline.`, bot);
    await gh.request("PATCH /repos/{owner}/{repo}/pulls/{pull_number}", { ...repo, pull_number: p.number, state: "closed" });
    closed.push(p.number);
  }
  return closed;
}

/** Closes the open pull requests of older pin branches, each with a comment naming its successor. */
async function supersede(gh: GitHub, repo: Repo, s: { base: string; branch: string; tag: string; prefix: string; by: number | null; bot: string }): Promise<number[]> {
  const open = await gh.paginate("GET /repos/{owner}/{repo}/pulls", { ...repo, state: "open", base: s.base, per_page: 100 });
  const closed: number[] = [];
  for (const p of open) {
    const ref = p.head.ref;
    if (!ref.startsWith(BRANCH_PREFIX) || ref === s.branch) continue;
    if (p.head.repo?.full_name?.toLowerCase() !== `${repo.owner}/${repo.repo}`.toLowerCase()) continue;
    // Only the workflow identity's own pin pull requests, as withdrawPins: a person
    // can push a mirror-build/* branch and open a pull request from it too.
    if (p.user?.login !== s.bot) continue;
    if (!isOlderTag(ref.slice(BRANCH_PREFIX.length), s.tag, s.prefix)) continue;
    const by = s.by !== null ? `#${s.by} (${code(s.tag)})` : code(s.tag);
    await postComment(gh, repo, p.number, `Superseded by ${by}: a newer upstream tag was built. Closed by the mirror pipeline.`, s.bot);
    await gh.request("PATCH /repos/{owner}/{repo}/pulls/{pull_number}", { ...repo, pull_number: p.number, state: "closed" });
    closed.push(p.number);
  }
  return closed;
}
