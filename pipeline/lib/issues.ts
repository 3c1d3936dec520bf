/**
 * The issue lifecycle: one issue per (kind, tag), found again by a hidden
 * marker on its first line, with a record of its findings on the second.
 *
 *   no issue,  findings        -> create
 *   open,      same findings   -> nothing (silent)
 *   open,      other findings  -> update the body, comment what was added and cleared
 *   closed,    same findings   -> stays closed (for override-review: the human's approval)
 *   closed,    other findings  -> reopen, with that comment
 *   open,      resolved        -> update the body, comment, close
 *   no issue or closed, resolved -> nothing
 *
 * Findings are compared by a fingerprint of their sorted keys, so a report that
 * lists the same findings in another order changes nothing. A rescan of a tag
 * whose build is blocked only comments on the build's issue: the build's
 * results own that body.
 */
import { createHash, randomUUID } from "node:crypto";
import { createOnce, type GitHub, type Repo } from "../github";
import { checkApproval, DEFAULT_APPROVER_ROLE, ensureAsked, type RepositoryRole } from "./approval";
import { ensureLabels } from "./labels";

export const ISSUE_KINDS = ["cve", "override-review", "rescan", "upstream-health"] as const;
export type IssueKind = (typeof ISSUE_KINDS)[number];

export const ISSUE_STATES = ["open", "resolved"] as const;
export type IssueState = (typeof ISSUE_STATES)[number];

/** Labels put on a new issue; the first one is how the pipeline lists its issues of that kind. */
export const KIND_LABELS: Readonly<Record<IssueKind, readonly string[]>> = {
  cve: ["cve", "blocked", "security"],
  "override-review": ["override-review", "blocked"],
  rescan: ["cve", "rescan", "security"],
  "upstream-health": ["upstream-health"],
};

/** The label the pipeline lists issues by: it also keeps issues opened by outsiders (who cannot label) out. */
const PRIMARY_LABEL: Readonly<Record<IssueKind, string>> = {
  cve: "cve",
  "override-review": "override-review",
  rescan: "rescan",
  "upstream-health": "upstream-health",
};

export type IssueAction = "created" | "updated" | "reopened" | "unchanged" | "closed" | "none";

/** One finding as an issue tracks it: a stable key (fingerprinted) and a Markdown line for comments. */
export interface Item {
  readonly key: string;
  readonly line: string;
}

export interface IssueInput {
  readonly kind: IssueKind;
  readonly state: IssueState;
  /** Upstream tag (for upstream-health: the upstream `owner/repo`). Checked by the caller against the strict pattern. */
  readonly tag: string;
  readonly title?: string;
  /** The findings; ignored when resolved. */
  readonly items: readonly Item[];
  /** Markdown shown under the intro (findings table, diff review, health details). */
  readonly details: string;
  readonly runUrl?: string;
}

export interface IssueResult {
  readonly action: IssueAction;
  readonly number: number | null;
  readonly state: "open" | "closed" | null;
  /** True only for an override-review issue a human closed as completed while its findings are unchanged. */
  readonly approved: boolean;
  /** Who closed the issue that approves (the actor of the timeline's close event), when approved. */
  readonly approvedBy: string | null;
  readonly url: string | null;
  /** A create that GitHub had applied before its answer was lost, found by its marker and adopted. */
  readonly adopted?: boolean;
  /** Younger issues of the same (kind, tag), made by runs at the same time, closed as duplicates of this one. */
  readonly duplicatesClosed?: readonly number[];
}

/** What the pipeline reads back from an existing issue. */
export interface ExistingIssue {
  readonly number: number;
  /** GitHub's id (not the number): what `duplicate_issue_id` takes. */
  readonly id?: number;
  readonly state: "open" | "closed";
  readonly stateReason: string | null;
  readonly title: string;
  readonly body: string;
  readonly url: string | null;
}

/** What the second line of a body records. */
export interface FindingsRecord {
  readonly state: IssueState;
  readonly fingerprint: string;
  /** The keys, when they fitted (a very long list is fingerprinted only). */
  readonly keys: readonly string[] | null;
}

/** The changes one run makes to GitHub, decided without GitHub. */
export interface Plan {
  readonly action: IssueAction;
  readonly create?: { readonly title: string; readonly body: string; readonly labels: readonly string[] };
  readonly update?: { readonly title?: string; readonly body?: string; readonly state?: "open" | "closed"; readonly state_reason?: "completed" | "reopened" };
  readonly comment?: string;
  readonly approved: boolean;
  /** State of the issue after the plan is applied. */
  readonly state: "open" | "closed" | null;
}

// GitHub refuses bodies and comments over 65,536 characters; leave some room.
export const MAX_BODY = 65_000;
const MAX_KEYS_JSON = 20_000;

export function issueMarker(kind: IssueKind, tag: string): string {
  return `<!-- mirror-fleet:issue kind=${kind} tag=${tag} -->`;
}

export function fingerprint(keys: Iterable<string>): string {
  return createHash("sha256").update([...new Set(keys)].sort().join("\n")).digest("hex");
}

function recordLine(state: IssueState, items: readonly Item[]): string {
  const keys = [...new Set(items.map((i) => i.key))].sort();
  // `<` and `>` escaped so no key can end the HTML comment early.
  const json = JSON.stringify(keys).replace(/</g, "\\u003c").replace(/>/g, "\\u003e");
  const keyPart = json.length <= MAX_KEYS_JSON ? ` keys=${json}` : "";
  return `<!-- mirror-fleet:findings state=${state} fingerprint=${fingerprint(keys)}${keyPart} -->`;
}

/** The record on a body's second line, or null for a body the pipeline did not write. */
export function parseRecord(body: string): FindingsRecord | null {
  const line = body.split(/\r?\n/, 2)[1]?.trim() ?? "";
  const m = /^<!-- mirror-fleet:findings state=(open|resolved) fingerprint=([0-9a-f]{64})(?: keys=(\[.*\]))? -->$/.exec(line);
  if (!m) return null;
  let keys: string[] | null = null;
  if (m[3]) {
    try {
      const parsed: unknown = JSON.parse(m[3]);
      keys = Array.isArray(parsed) && parsed.every((k) => typeof k === "string") ? parsed : null;
    } catch {
      keys = null;
    }
  }
  return { state: m[1] as IssueState, fingerprint: m[2], keys };
}

/** Whether a body belongs to (kind, tag): its first line is exactly the marker. */
export function isMarked(body: string | null | undefined, kind: IssueKind, tag: string): boolean {
  return (body ?? "").split(/\r?\n/, 1)[0].trim() === issueMarker(kind, tag);
}

export function defaultTitle(kind: IssueKind, tag: string): string {
  switch (kind) {
    case "cve":
      return `Scan gate blocked the build of ${tag}`;
    case "override-review":
      return `Review the Dockerfile override before building ${tag}`;
    case "rescan":
      return `Rescan found vulnerabilities in the pinned image ${tag}`;
    case "upstream-health":
      return `Upstream ${tag} looks unmaintained`;
  }
}

function intro(kind: IssueKind, state: IssueState, tag: string): string {
  const t = code(tag);
  if (state === "resolved") {
    switch (kind) {
      case "cve":
        return `A later build of ${t} passed the scan gate. Nothing blocks it anymore; this issue closed itself.`;
      case "override-review":
        return `The upstream no longer changes a watched file for ${t}. No review is needed; this issue closed itself.`;
      case "rescan":
        return `The latest rescan of the pinned image ${t} is clean; this issue closed itself.`;
      case "upstream-health":
        return `The upstream ${t} looks maintained again; this issue closed itself.`;
    }
  }
  switch (kind) {
    case "cve":
      return (
        `The build of ${t} was **blocked** by the scan gate: nothing was pushed and no pull request was opened.\n\n` +
        "To unblock it: wait for a rebuild once upstream ships the fix, raise the base image or toolchain in the fleet repository, " +
        "or add a waiver there, with a reason and an expiry date."
      );
    case "override-review":
      return (
        `Upstream changed files that the Dockerfile override relies on, between the last built tag and ${t}. ` +
        "The build is **blocked** until someone reviews the change below and, if needed, updates the override in the fleet repository.\n\n" +
        "**Close this issue as completed to approve**: the next run builds the tag. Closing it as not planned or as a duplicate keeps the build blocked. " +
        "The approval holds for the upstream commit and the diff shown here only: if the tag moves or the diff changes, this issue reopens with the new diff."
      );
    case "rescan":
      return (
        `The nightly rescan of the pinned image ${t} against today's vulnerability database found the findings below. ` +
        "The image is already deployed: rebuild it (a newer upstream tag, base image or toolchain) or waive the findings in the fleet repository."
      );
    case "upstream-health":
      return (
        `The upstream ${t} looks unmaintained. Rebuilding a project that no longer ships only rebuilds its backlog: ` +
        "consider a maintained fork or a replacement, and keep watching its advisories."
      );
  }
}

/** Inline code for untrusted text: no Markdown, mentions or HTML get through. */
export function code(text: string): string {
  const clean = text.replace(/[\r\n]+/g, " ").replace(/`/g, "'");
  return clean ? `\`${clean}\`` : "";
}

/** `code` for a table cell, where an unescaped `|` would split the cell (GFM unescapes it inside code). */
export function cell(text: string): string {
  return code(text).replace(/\|/g, "\\|");
}

/** Where the full list is, per kind of issue: the artifact of the workflow run that holds it. */
const FULL_LIST: Readonly<Record<IssueKind, string>> = {
  cve: "the audit bundle (artifact `audit` of the workflow run)",
  "override-review": "the diff review (artifact `diff-review` of the workflow run: `diff-review.md` and `diff.patch`)",
  rescan: "the rescan bundle (artifact `rescan` of the workflow run)",
  "upstream-health": "the health step's log of the workflow run",
};

const ENTRY = /^\s{0,3}(?:[-*+]|\d{1,9}[.)])\s|^\s{0,3}\|/;
const TABLE_RULE = /^\s{0,3}\|?\s*:?-{3,}:?\s*(?:\|\s*:?-{3,}:?\s*)*\|?\s*$/;
const FENCE = /^\s{0,3}(`{3,}|~{3,})/;

interface MdState {
  /** The opening fence (its character and length) while inside a fenced block. */
  fence: string | null;
  comment: boolean;
  details: number;
}

function step(st: MdState, line: string): void {
  if (st.fence) {
    const m = FENCE.exec(line);
    if (m && m[1][0] === st.fence[0] && m[1].length >= st.fence.length && line.trim() === m[1]) st.fence = null;
    return;
  }
  if (st.comment) {
    if (line.includes("-->")) st.comment = false;
    return;
  }
  const m = FENCE.exec(line);
  if (m && !(m[1][0] === "`" && line.slice(line.indexOf(m[1]) + m[1].length).includes("`"))) {
    st.fence = m[1];
    return;
  }
  st.details += (line.match(/<details[\s>]/gi) ?? []).length - (line.match(/<\/details\s*>/gi) ?? []).length;
  if (st.details < 0) st.details = 0;
  const open = line.lastIndexOf("<!--");
  if (open >= 0 && !line.slice(open + 4).includes("-->")) st.comment = true;
}

function closing(st: MdState): string {
  return (st.fence ? `\n${st.fence}` : "") + (st.comment ? "\n-->" : "") + "\n\n</details>".repeat(st.details);
}

/** Whether a block may end after `line` (cutting before `next`): never inside a paragraph, where a code span may continue. */
function blockEnds(line: string, next: string | undefined): boolean {
  return next === undefined || line.trim() === "" || next.trim() === "" || ENTRY.test(next) || /^\s{0,3}(?:#|<|>)/.test(next) || ENTRY.test(line) || /^\s{0,3}#/.test(line);
}

/**
 * Markdown cut to at most `max` characters where it stays inert: only at the end
 * of a block (between findings, files or commits: list items, table rows, lines
 * of a fence), never inside a paragraph; whatever is open there (a fence, an HTML
 * comment, `<details>`) is closed, and a last line says how many entries were
 * left out and where the full list is. Text that fits is returned with anything
 * left open closed.
 */
export function cutMarkdown(text: string, max: number, fullList: string): string {
  const lines = text.split("\n");
  const st: MdState = { fence: null, comment: false, details: 0 };
  const note = (n: number) => `\n\n… cut here: ${n} more ${n === 1 ? "entry" : "entries"} (findings, files or commits) not shown. The full list is in ${fullList}.`;
  const whole = (() => {
    const s: MdState = { fence: null, comment: false, details: 0 };
    for (const l of lines) step(s, l);
    return text + closing(s);
  })();
  if (whole.length <= max) return whole;
  // Entries after each line, counted from the end: list items, table body rows, lines inside fences.
  const entries = new Array<number>(lines.length + 1).fill(0);
  {
    const s: MdState = { fence: null, comment: false, details: 0 };
    const isEntry = lines.map((l, i) => {
      const inFence = s.fence !== null;
      step(s, l);
      if (inFence) return s.fence !== null; // the closing fence line is not an entry
      return ENTRY.test(l) && !TABLE_RULE.test(l) && !TABLE_RULE.test(lines[i + 1] ?? "");
    });
    for (let i = lines.length - 1; i >= 0; i--) entries[i] = entries[i + 1] + (isEntry[i] ? 1 : 0);
  }
  let best = { lines: 0, close: "" };
  let length = 0;
  for (let i = 0; i < lines.length; i++) {
    length += lines[i].length + 1;
    step(st, lines[i]);
    if (st.fence === null && !st.comment && !blockEnds(lines[i], lines[i + 1])) continue;
    const close = closing(st);
    if (length - 1 + close.length + note(entries[i + 1]).length > max) break;
    best = { lines: i + 1, close };
  }
  return `${lines.slice(0, best.lines).join("\n")}${best.close}${note(entries[best.lines])}`;
}

/** A key as a comment line when only the key is left (cleared findings). */
function keyLine(key: string): string {
  const [kind, ...rest] = key.split("|");
  if (kind === "file" && rest.length) return code(rest.join("|"));
  if (kind === "commit" && rest.length) return `upstream commit ${code(rest.join("|"))}`;
  if (kind === "drift-patch" && rest.length) return `drift patch sha256 ${code(rest.join("|"))}`;
  if (kind === "expired-waiver" && rest.length) return `waiver for ${code(rest.join("|"))} has expired`;
  if (kind === "unusable" && rest.length) return `the gate could not use its input: ${code(rest.join("|"))}`;
  // The pipeline's own sentences (health reasons): no untrusted text in them.
  if (kind === "health" && rest.length) return rest.join("|");
  if (rest.length === 2) return `${code(kind)} in ${code(rest[0])} ${code(rest[1])}`;
  return code(key);
}

export function renderBody(input: IssueInput): string {
  const items = input.state === "resolved" ? [] : input.items;
  const head = `${issueMarker(input.kind, input.tag)}\n${recordLine(input.state, items)}\n`;
  const footer =
    "\n\n---\n" +
    `<sub>Maintained by the mirror pipeline (kind ${code(input.kind)}, tag ${code(input.tag)}): it updates this issue when the findings change, ` +
    "reopens it when they come back and closes it when a later run is clean. Edits to this body are overwritten." +
    (input.runUrl ? ` Last change: [workflow run](${input.runUrl}).` : "") +
    "</sub>\n";
  const room = MAX_BODY - head.length - footer.length - 2_000;
  const details = input.details.trim() ? cutMarkdown(input.details.trim(), room, FULL_LIST[input.kind]) : "";
  return `${head}${intro(input.kind, input.state, input.tag)}${details ? `\n\n${details}` : ""}${footer}`;
}

function changeComment(kind: "changed" | "reopened" | "resolved", before: FindingsRecord, items: readonly Item[], runUrl: string | undefined, issueKind: IssueKind): string {
  const now = new Map(items.map((i) => [i.key, i.line]));
  const where = runUrl ? ` in [this run](${runUrl})` : "";
  const lines: string[] = [];
  if (kind === "resolved") lines.push(`Resolved${where}: nothing is left.`);
  else if (kind === "reopened") lines.push(`Reopened${where}: the findings changed since this issue was closed.`);
  else lines.push(`The findings changed${where}.`);
  if (before.keys) {
    const old = new Set(before.keys);
    const added = [...now.keys()].filter((k) => !old.has(k)).sort();
    const cleared = [...old].filter((k) => !now.has(k)).sort();
    if (added.length) lines.push("", `**Added** (${added.length})`, ...added.map((k) => `- ${now.get(k)}`));
    if (cleared.length) lines.push("", `**Cleared** (${cleared.length})`, ...cleared.map((k) => `- ${keyLine(k)}`));
  } else {
    lines.push("", `Now ${now.size} finding(s); the earlier list was too long to compare item by item.`);
  }
  return cutMarkdown(lines.join("\n"), MAX_BODY, FULL_LIST[issueKind]) + "\n";
}

/** Decides what one run does to the (kind, tag) issue. Pure: the tests drive every transition through it. */
export function planIssue(input: IssueInput, existing: ExistingIssue | undefined): Plan {
  const items = input.state === "resolved" ? [] : input.items;
  const fp = fingerprint(items.map((i) => i.key));
  const title = input.title ?? defaultTitle(input.kind, input.tag);
  if (!existing) {
    if (input.state === "resolved") return { action: "none", approved: false, state: null };
    return { action: "created", create: { title, body: renderBody(input), labels: KIND_LABELS[input.kind] }, approved: false, state: "open" };
  }
  // A body the pipeline cannot read (edited by hand) counts as "different findings": rewrite it.
  const before = parseRecord(existing.body) ?? { state: "open" as const, fingerprint: "", keys: [] };
  const same = before.fingerprint === fp && before.state === input.state;

  if (existing.state === "open") {
    if (input.state === "resolved") {
      return {
        action: "closed",
        update: { body: renderBody(input), state: "closed", state_reason: "completed" },
        comment: changeComment("resolved", before, [], input.runUrl, input.kind),
        approved: false,
        state: "closed",
      };
    }
    if (same) return { action: "unchanged", approved: false, state: "open" };
    return {
      action: "updated",
      update: { body: renderBody(input), ...(existing.title !== title ? { title } : {}) },
      comment: changeComment("changed", before, items, input.runUrl, input.kind),
      approved: false,
      state: "open",
    };
  }

  // Closed.
  if (input.state === "resolved") return { action: "unchanged", approved: false, state: "closed" };
  if (same) {
    // Closed by a human with these findings (for an override review: this upstream commit and this
    // drift patch) as completed: the approval. Not planned, duplicate or no reason approve nothing.
    const approved = input.kind === "override-review" && before.state === "open" && existing.stateReason === "completed";
    return { action: "unchanged", approved, state: "closed" };
  }
  return {
    action: "reopened",
    update: { body: renderBody(input), state: "open", state_reason: "reopened", ...(existing.title !== title ? { title } : {}) },
    comment: changeComment("reopened", before, items, input.runUrl, input.kind),
    approved: false,
    state: "open",
  };
}

/** Every issue of a kind and tag (oldest first), by the primary label, the marker and the pipeline's own authorship. */
async function findIssues(gh: GitHub, repo: Repo, kind: IssueKind, tag: string, state: "open" | "all", bot: string): Promise<ExistingIssue[]> {
  const all = await gh.paginate("GET /repos/{owner}/{repo}/issues", {
    ...repo,
    state,
    labels: PRIMARY_LABEL[kind],
    sort: "created",
    direction: "asc",
    per_page: 100,
  });
  return all
    // Only what the workflow's identity wrote carries a trusted marker and record: anyone who can
    // label (triage) could open an issue with the same first two lines.
    .filter((i) => !i.pull_request && i.user?.login === bot && isMarked(i.body, kind, tag))
    .map((i) => ({
      number: i.number,
      id: Number(i.id),
      state: i.state === "closed" ? ("closed" as const) : ("open" as const),
      stateReason: i.state_reason ?? null,
      title: i.title,
      body: i.body ?? "",
      url: i.html_url ?? null,
    }));
}

/** The login the pipeline writes as, when the caller does not say (the mirror workflow's `github.token`). */
const DEFAULT_BOT = "github-actions[bot]";

/** A hidden id at the end of a comment the pipeline posts, so a create whose answer was lost can be found. */
function withWriteId(body: string): { body: string; id: string } {
  const id = randomUUID();
  return { body: `${body.replace(/\n*$/, "\n")}\n<!-- mirror-fleet:write ${id} -->\n`, id };
}

/** Posts a comment once: after a lost answer, a comment of ours carrying its write id is adopted. */
export async function postComment(gh: GitHub, repo: Repo, number: number, text: string, bot: string): Promise<void> {
  const { body, id } = withWriteId(text);
  await createOnce(
    async () => {
      await gh.request("POST /repos/{owner}/{repo}/issues/{issue_number}/comments", { ...repo, issue_number: number, body });
      return true;
    },
    async () => {
      const comments = await gh.paginate("GET /repos/{owner}/{repo}/issues/{issue_number}/comments", { ...repo, issue_number: number, per_page: 100 });
      return comments.some((c) => c.user?.login === bot && (c.body ?? "").includes(`<!-- mirror-fleet:write ${id} -->`)) ? true : undefined;
    },
  );
}

/**
 * Applies the lifecycle for one (kind, tag) to GitHub. `bot` is the login the
 * workflow writes as; `approverRole` the role an override review's closer
 * needs (pipeline/lib/approval.ts).
 */
export async function syncIssue(gh: GitHub, repo: Repo, input: IssueInput, bot: string = DEFAULT_BOT, approverRole: RepositoryRole = DEFAULT_APPROVER_ROLE): Promise<IssueResult> {
  if (input.kind === "rescan") {
    // While a build of this tag is blocked, the build's issue holds the findings; a rescan only comments there.
    const [build] = await findIssues(gh, repo, "cve", input.tag, "open", bot);
    if (build) return commentOnBuildIssue(gh, repo, build, input, bot);
  }
  const [existing] = await findIssues(gh, repo, input.kind, input.tag, "all", bot);
  const plan = planIssue(input, existing);
  let number = existing?.number ?? null;
  let url = existing?.url ?? null;
  let adopted = false;
  let duplicatesClosed: number[] = [];
  if (plan.create) {
    const create = plan.create;
    await ensureLabels(gh, repo, create.labels);
    const made = await createOnce(
      async () => {
        const { data } = await gh.request("POST /repos/{owner}/{repo}/issues", { ...repo, title: create.title, body: create.body, labels: [...create.labels] });
        return { number: data.number, url: data.html_url as string | null };
      },
      async () => (await findIssues(gh, repo, input.kind, input.tag, "all", bot))[0],
    );
    adopted = made.adopted;
    number = made.value.number;
    url = made.value.url;
    // Two runs at once can both find nothing and both create: the oldest issue (lowest number) stays,
    // the younger ones are closed as its duplicates, whichever run gets here first.
    const all = await findIssues(gh, repo, input.kind, input.tag, "all", bot);
    const keep = all.reduce<ExistingIssue | undefined>((a, b) => (!a || b.number < a.number ? b : a), undefined);
    if (keep && keep.number !== number) {
      number = keep.number;
      url = keep.url;
    }
    if (keep) duplicatesClosed = await closeDuplicates(gh, repo, keep, all, bot);
  } else if (number !== null) {
    // The body first, then the comment: if the run dies in between, the next run sees the new
    // findings and stays silent (a lost comment) rather than commenting twice.
    if (plan.update) await gh.request("PATCH /repos/{owner}/{repo}/issues/{issue_number}", { ...repo, issue_number: number, ...plan.update });
    if (plan.comment) await postComment(gh, repo, number, plan.comment, bot);
  }
  let { action, state, approved } = plan;
  let approvedBy: string | null = null;
  if (input.kind === "override-review" && number !== null) {
    const fp = fingerprint(input.items.map((i) => i.key));
    if (approved) {
      const a = await checkApproval(gh, repo, number, fp, approverRole, bot);
      if (a.approved) approvedBy = a.by;
      else {
        // Closed as completed, but not an approval that holds: ask again, saying why.
        await gh.request("PATCH /repos/{owner}/{repo}/issues/{issue_number}", { ...repo, issue_number: number, body: renderBody(input), state: "open", state_reason: "reopened" });
        await postComment(gh, repo, number, `Not approved: ${a.why}. Reopened${input.runUrl ? ` by [this run](${input.runUrl})` : ""}; close it as completed to approve.`, bot);
        [action, state, approved] = ["reopened", "open", false];
      }
    }
    if (state === "open") {
      const n = number;
      await ensureAsked(gh, repo, n, fp, approverRole, bot, {
        fresh: plan.create !== undefined || plan.update?.body !== undefined || action === "reopened",
        rewrite: async () => void (await gh.request("PATCH /repos/{owner}/{repo}/issues/{issue_number}", { ...repo, issue_number: n, body: renderBody(input) })),
        post: (text) => postComment(gh, repo, n, text, bot),
      });
    }
  }
  return {
    action,
    number,
    state,
    approved,
    approvedBy,
    url,
    ...(adopted ? { adopted } : {}),
    ...(duplicatesClosed.length ? { duplicatesClosed } : {}),
  };
}

async function closeDuplicates(gh: GitHub, repo: Repo, keep: ExistingIssue, all: readonly ExistingIssue[], bot: string): Promise<number[]> {
  const closed: number[] = [];
  for (const d of all) {
    if (d.number === keep.number || d.state !== "open") continue;
    await postComment(gh, repo, d.number, `Duplicate of #${keep.number}: two runs filed this issue at the same time. Closed by the mirror pipeline.`, bot);
    await gh.request("PATCH /repos/{owner}/{repo}/issues/{issue_number}", {
      ...repo,
      issue_number: d.number,
      state: "closed",
      state_reason: "duplicate",
      ...(keep.id !== undefined ? { duplicate_issue_id: keep.id } : {}),
    });
    closed.push(d.number);
  }
  return closed;
}

const RESCAN_COMMENT = /^<!-- mirror-fleet:rescan fingerprint=([0-9a-f]{64}) -->/;

async function commentOnBuildIssue(gh: GitHub, repo: Repo, build: ExistingIssue, input: IssueInput, bot: string): Promise<IssueResult> {
  const items = input.state === "resolved" ? [] : input.items;
  const fp = fingerprint(items.map((i) => i.key));
  const comments = await gh.paginate("GET /repos/{owner}/{repo}/issues/{issue_number}/comments", { ...repo, issue_number: build.number, per_page: 100 });
  const last = comments
    // Anyone who can comment could post the marker with a fingerprint: only the workflow's own count.
    .filter((c) => c.user?.login === bot)
    .map((c) => RESCAN_COMMENT.exec(c.body ?? "")?.[1])
    .filter((x): x is string => Boolean(x))
    .pop();
  const result = { number: build.number, state: "open" as const, approved: false, approvedBy: null, url: build.url };
  // No rescan comment yet means the rescan has reported nothing so far.
  if ((last ?? fingerprint([])) === fp) return { action: "unchanged", ...result };
  const where = input.runUrl ? ` ([run](${input.runUrl}))` : "";
  const body =
    `<!-- mirror-fleet:rescan fingerprint=${fp} -->\n` +
    (items.length
      ? `The nightly rescan of ${code(input.tag)}${where} finds ${items.length} finding(s). The build's results stay the body of this issue.\n\n` +
        items.map((i) => `- ${i.line}`).join("\n")
      : `The nightly rescan of ${code(input.tag)}${where} is clean.`);
  await postComment(gh, repo, build.number, cutMarkdown(body, MAX_BODY, FULL_LIST.rescan), bot);
  return { action: "updated", ...result };
}

// ---------------------------------------------------------------------------
// Findings from the other commands' JSON results.

/** A finding as the gate reports it (pipeline/lib/gate.ts); only what issues and pins read. */
export interface GateFinding {
  readonly id: string;
  readonly severity: string;
  readonly package: string;
  readonly installed: string;
  readonly fixed?: string | null;
  readonly target?: string;
  /** Every place it was seen (the gate merges the filesystem and image scans). */
  readonly locations?: readonly string[];
  readonly purl?: string | null;
  /** On waived findings: the waiver's statement (its reason) and last day. */
  readonly statement?: string | null;
  readonly expiredAt?: string | null;
}

/** The gate's JSON result, as far as this module reads it. */
export interface GateJson {
  readonly decision: "pass" | "block";
  /** Why the gate could not use its input (a block of its own). */
  readonly unusable: readonly string[];
  readonly blocking: readonly GateFinding[];
  readonly waived: readonly GateFinding[];
  readonly expiredWaivers: readonly unknown[];
  /** `bySeverity` (CRITICAL…UNKNOWN -> distinct findings) is what pins read. */
  readonly counts: Readonly<Record<string, unknown>>;
}

/** Parses and checks the gate's JSON result; errors name the file and the field. */
export function readGateJson(text: string, shown: string): GateJson {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new Error(`${shown}: not JSON (${(e as Error).message}); expected the gate's JSON result`);
  }
  const o = doc as Record<string, unknown>;
  if (!o || typeof o !== "object" || Array.isArray(o)) throw new Error(`${shown}: expected the gate's JSON result (an object), got ${JSON.stringify(doc)?.slice(0, 40)}`);
  if (o.decision !== "pass" && o.decision !== "block") throw new Error(`${shown}: decision: ${JSON.stringify(o.decision)} is not allowed (allowed: "pass" or "block")`);
  const findings = (field: string): GateFinding[] => {
    const list = o[field] ?? [];
    if (!Array.isArray(list)) throw new Error(`${shown}: ${field}: expected a list of findings`);
    return list.map((f, i) => {
      const x = f as Record<string, unknown>;
      for (const k of ["id", "severity", "package", "installed"]) {
        if (typeof x?.[k] !== "string") throw new Error(`${shown}: ${field}[${i}].${k}: ${JSON.stringify(x?.[k])} is not allowed (allowed: a string)`);
      }
      return x as unknown as GateFinding;
    });
  };
  const expired = o.expiredWaivers ?? [];
  if (!Array.isArray(expired)) throw new Error(`${shown}: expiredWaivers: expected a list`);
  const counts = o.counts ?? {};
  if (typeof counts !== "object" || counts === null || Array.isArray(counts)) throw new Error(`${shown}: counts: expected an object`);
  const unusable = o.unusable ?? [];
  if (!Array.isArray(unusable) || !unusable.every((u) => typeof u === "string")) throw new Error(`${shown}: unusable: expected a list of strings`);
  return {
    decision: o.decision,
    unusable,
    blocking: findings("blocking"),
    waived: findings("waived"),
    expiredWaivers: expired,
    counts: counts as Record<string, unknown>,
  };
}

export function findingKey(f: GateFinding): string {
  return `${f.id}|${f.package}|${f.installed}`;
}

/** A severity as Trivy spells it is shown plain; anything else as code. */
function severity(s: string): string {
  return /^[A-Z]{1,12}$/.test(s) ? s : code(s);
}

function findingLine(f: GateFinding): string {
  return `**${severity(f.severity)}** ${code(f.id)} in ${code(f.package)} ${code(f.installed)}${f.fixed ? ` (fixed in ${code(f.fixed)})` : " (no fix yet)"}`;
}

function expiredId(w: unknown): string {
  if (typeof w === "string") return w;
  const o = w as Record<string, unknown> | null;
  return typeof o?.id === "string" ? o.id : JSON.stringify(w);
}

/** The blocking findings (one item per id, package and version, whatever the target), expired waivers and unusable input. */
export function gateItems(gate: GateJson): Item[] {
  const items = new Map<string, Item>();
  for (const u of gate.unusable) items.set(`unusable|${u}`, { key: `unusable|${u}`, line: `the gate could not use its input: ${code(u)}` });
  for (const f of gate.blocking) if (!items.has(findingKey(f))) items.set(findingKey(f), { key: findingKey(f), line: findingLine(f) });
  for (const w of gate.expiredWaivers) {
    const id = expiredId(w);
    items.set(`expired-waiver|${id}`, { key: `expired-waiver|${id}`, line: `waiver for ${code(id)} has expired` });
  }
  return [...items.values()];
}

/** Characters of table rows in an issue body: the rest is counted, not shown (bodies stop at 65,536). */
const ROWS_BUDGET = 45_000;

/** Where the full list is for an issue of `kind` (an artifact of the workflow run). */
export function fullListOf(kind: IssueKind): string {
  return FULL_LIST[kind];
}

/** Markdown tables of the blocking and waived findings; rows past the budget are counted and pointed to. */
export function gateDetails(gate: GateJson, fullList: string = FULL_LIST.cve): string {
  const rows = new Map<string, { f: GateFinding; targets: Set<string> }>();
  for (const f of gate.blocking) {
    const row = rows.get(findingKey(f)) ?? { f, targets: new Set<string>() };
    for (const where of f.locations?.length ? f.locations : f.target ? [f.target] : []) row.targets.add(where);
    rows.set(findingKey(f), row);
  }
  const out: string[] = [];
  if (gate.unusable.length) {
    out.push(`#### The gate could not use its input (${gate.unusable.length})`, "", ...gate.unusable.map((u) => `- ${code(u)}`), "");
  }
  const sorted = [...rows.values()].sort((a, b) => findingKey(a.f).localeCompare(findingKey(b.f)));
  out.push(`#### Blocking findings (${sorted.length})`, "");
  if (sorted.length) {
    out.push("| Severity | ID | Package | Installed | Fixed in | Where |", "|---|---|---|---|---|---|");
    let used = 0;
    let shown = 0;
    for (const { f, targets } of sorted) {
      const row = `| ${/^[A-Z]{1,12}$/.test(f.severity) ? f.severity : cell(f.severity)} | ${cell(f.id)} | ${cell(f.package)} | ${cell(f.installed)} | ${f.fixed ? cell(f.fixed) : "no fix yet"} | ${[...targets].map(cell).join(", ")} |`;
      if (used + row.length + 1 > ROWS_BUDGET) break;
      out.push(row);
      used += row.length + 1;
      shown++;
    }
    if (shown < sorted.length) out.push("", `… ${sorted.length - shown} more blocking finding(s) not shown here. The full list is in ${fullList}.`);
  } else {
    out.push("None listed.");
  }
  if (gate.expiredWaivers.length) {
    out.push("", `#### Expired waivers (${gate.expiredWaivers.length})`, "", ...gate.expiredWaivers.map((w) => `- ${code(expiredId(w))}: renew it with a new reason and date, or remove it`));
  }
  if (gate.waived.length) {
    const ids = [...new Set(gate.waived.map((f) => f.id))].sort();
    out.push("", `#### Waived (${ids.length})`, "", ids.map(code).join(", "));
  }
  return out.join("\n");
}

/**
 * review's drift.json: the watched files that changed, one item each, and what
 * an approval binds to: the upstream commit and a hash of the drift patch. A
 * moved tag or a changed diff is another finding, so a closed review reopens.
 */
export function readDriftItems(text: string, shown: string): Item[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new Error(`${shown}: not JSON (${(e as Error).message}); expected review's drift.json`);
  }
  const d = (doc ?? {}) as { files?: unknown; commit?: unknown; patchSha256?: unknown; status?: unknown };
  const files = d.files;
  if (!Array.isArray(files) || !files.every((f) => typeof f === "string")) throw new Error(`${shown}: files: expected a list of paths`);
  const items = [...new Set(files as string[])].map((f) => ({ key: `file|${f}`, line: code(f) }));
  if (d.status === "initial" || d.status === "none") return items;
  if (typeof d.commit !== "string" || !/^[0-9a-f]{40}(?:[0-9a-f]{24})?$/.test(d.commit)) {
    throw new Error(`${shown}: commit: ${JSON.stringify(d.commit ?? null)} is not allowed (allowed: the full upstream commit id the drift was reviewed at)`);
  }
  if (typeof d.patchSha256 !== "string" || !/^[0-9a-f]{64}$/.test(d.patchSha256)) {
    throw new Error(`${shown}: patchSha256: ${JSON.stringify(d.patchSha256 ?? null)} is not allowed (allowed: the sha256 of the drift patch, 64 hex)`);
  }
  return [
    ...items,
    { key: `commit|${d.commit}`, line: `upstream commit ${code(d.commit)}` },
    { key: `drift-patch|${d.patchSha256}`, line: `drift patch sha256 ${code(d.patchSha256)}` },
  ];
}
