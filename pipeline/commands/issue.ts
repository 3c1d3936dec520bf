/**
 * `issue`: files, updates, reopens or closes the one issue of a (kind, tag),
 * idempotently (pipeline/lib/issues.ts has the lifecycle).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parseFlags, setOutputs, UsageError, type Command, type Io } from "../cli";
import { botLogin, github, splitRepo } from "../github";
import { healthItems } from "../lib/health";
import {
  fullListOf,
  gateDetails,
  gateItems,
  ISSUE_KINDS,
  ISSUE_STATES,
  readDriftItems,
  readGateJson,
  syncIssue,
  type IssueKind,
  type IssueState,
  type Item,
} from "../lib/issues";
import { withdrawPins } from "../lib/pin";
import { checkTagName } from "../lib/tags";
import { DEFAULT_APPROVER_ROLE } from "../lib/approval";
import { loadConfigOption } from "../lib/config";

const USAGE = `usage: mirror-pipeline issue --kind KIND --state open|resolved --tag TAG [flags]

Files, updates, reopens or closes the one issue of (KIND, TAG), found again by a
hidden marker. Same findings: nothing happens. Changed findings: the body is
updated and a comment says what was added and cleared (a closed issue reopens).
--state resolved: the issue is updated and closed. A rescan of a tag whose build
is blocked only comments on the build's cve issue.

  --kind KIND          cve | override-review | rescan | upstream-health
  --state STATE        open | resolved
  --tag TAG            the upstream tag (upstream-health: the upstream owner/repo)
  --gate-json FILE     the gate's JSON result (cve, rescan): findings and their table
  --summary-file FILE  the gate's Markdown summary, shown in the body (or its JSON result)
  --drift-json FILE    review's drift.json (override-review): the watched files that changed
  --health-json FILE   health's JSON result (upstream-health)
  --body-file FILE     more Markdown for the body (override-review: diff-review.md)
  --title TITLE        issue title (default per kind)
  --run-url URL        link to the workflow run
  --repo OWNER/NAME    the mirror repository (default: env GITHUB_REPOSITORY)
  --config FILE        mirror config (default .mirror/config.yml when present):
                       overrideReview.approverRole, the role an approving closer needs

A blocked build (--kind cve --state open) also withdraws the open pin pull
request of TAG, which pins an earlier digest: closed, with a comment naming the issue.

Prints {action, number, state, approved, approvedBy, withdrawn?}; action is created,
updated, reopened, unchanged, closed or none. approved is true only for an
override-review issue that a human closed as completed while its findings (the
changed watched files, the upstream commit and the drift patch's hash) are
unchanged, by someone with overrideReview.approverRole (default ${DEFAULT_APPROVER_ROLE})
or higher, while the issue text is what the pipeline wrote when it asked for
the review (pipeline/lib/approval.ts): the approval that lets the drift gate
pass; approvedBy is who closed it. A close that is no such approval reopens
the issue, saying why.
Only issues and comments written by the workflow's identity are read as the
pipeline's (MIRROR_BOT_LOGIN, default github-actions[bot]).
Outputs: action, number, approved, approved_by. Env: GITHUB_TOKEN, GITHUB_API_URL.
`;

const RUN_URL = /^https?:\/\/[^\s()<>\[\]]+$/;

function readFile(io: Io, flag: string, file: string): string {
  try {
    return fs.readFileSync(path.resolve(io.cwd, file), "utf8");
  } catch (e) {
    throw new Error(`${flag} ${file}: cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

export const command: Command = {
  name: "issue",
  summary: "file, update, reopen or close the issue of a (kind, tag), idempotently",
  usage: USAGE,
  async run(argv, io) {
    const f = parseFlags(argv, {
      kind: { type: "string" },
      state: { type: "string" },
      tag: { type: "string" },
      title: { type: "string" },
      "body-file": { type: "string" },
      "summary-file": { type: "string" },
      "gate-json": { type: "string" },
      "drift-json": { type: "string" },
      "health-json": { type: "string" },
      "run-url": { type: "string" },
      repo: { type: "string" },
      config: { type: "string" },
    });
    if (!f.kind || !(ISSUE_KINDS as readonly string[]).includes(f.kind)) {
      throw new UsageError(`--kind: ${JSON.stringify(f.kind ?? null)} is not allowed (allowed: ${ISSUE_KINDS.join(", ")})`);
    }
    if (!f.state || !(ISSUE_STATES as readonly string[]).includes(f.state)) {
      throw new UsageError(`--state: ${JSON.stringify(f.state ?? null)} is not allowed (allowed: ${ISSUE_STATES.join(", ")})`);
    }
    if (!f.tag) throw new UsageError("--tag is required");
    const kind = f.kind as IssueKind;
    const state = f.state as IssueState;
    // The tag goes into a hidden HTML comment and the title: hold it to the strict pattern.
    const tag = checkTagName(f.tag, "--tag");
    const full = f.repo ?? io.env.GITHUB_REPOSITORY;
    if (!full) throw new UsageError("--repo is required (or env GITHUB_REPOSITORY)");
    const repo = splitRepo(full);
    if (f["run-url"] !== undefined && !RUN_URL.test(f["run-url"])) {
      throw new UsageError(`--run-url: ${JSON.stringify(f["run-url"])} is not allowed (allowed: an http(s) URL)`);
    }

    // Findings (fingerprinted) and the Markdown shown with them.
    const items: Item[] = [];
    const details: string[] = [];
    let findingsGiven = false;
    let summary = f["summary-file"] !== undefined ? readFile(io, "--summary-file", f["summary-file"]) : undefined;
    let gateText = f["gate-json"] !== undefined ? readFile(io, "--gate-json", f["gate-json"]) : undefined;
    let gateShown = f["gate-json"] ?? "";
    if (gateText === undefined && summary !== undefined && summary.trimStart().startsWith("{")) {
      // --summary-file given the gate's JSON result instead of its Markdown.
      gateText = summary;
      gateShown = f["summary-file"]!;
      summary = undefined;
    }
    if (gateText !== undefined) {
      const gate = readGateJson(gateText, gateShown);
      items.push(...gateItems(gate));
      details.push(summary ?? gateDetails(gate, fullListOf(kind)));
      findingsGiven = true;
    } else if (summary !== undefined) {
      details.push(summary);
    }
    if (f["drift-json"] !== undefined) {
      items.push(...readDriftItems(readFile(io, "--drift-json", f["drift-json"]), f["drift-json"]));
      findingsGiven = true;
    }
    if (f["health-json"] !== undefined) {
      const text = readFile(io, "--health-json", f["health-json"]);
      let reasons: unknown;
      try {
        reasons = (JSON.parse(text) as { reasons?: unknown }).reasons;
      } catch (e) {
        throw new Error(`--health-json ${f["health-json"]}: not JSON (${(e as Error).message})`);
      }
      if (!Array.isArray(reasons) || !reasons.every((r) => typeof r === "string")) {
        throw new Error(`--health-json ${f["health-json"]}: reasons: expected a list of strings (health's JSON result)`);
      }
      items.push(...healthItems({ reasons }));
      details.push(reasons.map((r) => `- ${r}`).join("\n"));
      findingsGiven = true;
    }
    if (f["body-file"] !== undefined) details.push(readFile(io, "--body-file", f["body-file"]));
    if (state === "open" && !findingsGiven) {
      const want = { cve: "--gate-json", rescan: "--gate-json", "override-review": "--drift-json", "upstream-health": "--health-json" }[kind];
      // Without findings there is nothing to fingerprint: every run would look like a change, or none would.
      throw new UsageError(`--state open needs the findings: ${want} FILE`);
    }

    const config = loadConfigOption(io.cwd, f.config);
    const gh = github(io);
    const bot = botLogin(io.env);
    const result = await syncIssue(gh, repo, {
      kind,
      state,
      tag,
      ...(f.title !== undefined ? { title: f.title } : {}),
      items,
      details: details.join("\n\n"),
      ...(f["run-url"] !== undefined ? { runUrl: f["run-url"] } : {}),
    }, bot, config?.overrideReview?.approverRole ?? DEFAULT_APPROVER_ROLE);
    const withdrawn = kind === "cve" && state === "open" && result.number !== null ? await withdrawPins(gh, repo, tag, result.number, bot) : [];
    io.stderr(
      `issue ${kind} ${tag}: ${result.action}${result.number !== null ? ` #${result.number}` : ""}` +
        (result.approved ? ` (closed as completed by ${result.approvedBy ?? "someone"}: approved)` : "") +
        (result.adopted ? " (its create had been applied though the answer was lost: adopted)" : "") +
        (result.duplicatesClosed?.length ? `; closed ${result.duplicatesClosed.map((n) => `#${n}`).join(", ")} as duplicates` : "") +
        (withdrawn.length ? `; withdrew pin pull request ${withdrawn.map((n) => `#${n}`).join(", ")}` : "") +
        "\n",
    );
    io.stdout(
      JSON.stringify({
        action: result.action,
        number: result.number,
        state: result.state,
        approved: result.approved,
        approvedBy: result.approvedBy,
        ...(withdrawn.length ? { withdrawn } : {}),
      }) + "\n",
    );
    setOutputs(io, {
      action: result.action,
      number: result.number === null ? "" : String(result.number),
      approved: String(result.approved),
      approved_by: result.approvedBy ?? "",
    });
    return 0;
  },
};
