/**
 * An override review is approved by closing its issue as completed. What
 * binds that approval (DESIGN invariant 9):
 *
 * - What the closer saw. Anyone with write access can edit an issue's body,
 *   also after it was closed, and GitHub's REST API keeps no history of the
 *   body. So whenever the pipeline writes the body it posts an "ask" comment
 *   recording the findings' fingerprint and the sha256 of the body as GitHub
 *   stored it. An approval holds only when the issue's timeline shows that
 *   ask, unedited (its updated_at is its created_at), before the close
 *   event, with today's fingerprint, and the body still hashes to what the
 *   ask recorded: an edit after the pipeline wrote it, before or after the
 *   close, voids it. (An edit reverted before the pipeline reads the issue
 *   again leaves no trace in the REST API; the ask comment itself, which
 *   holds the fingerprint and is shown to the closer, cannot be edited
 *   without that showing.)
 * - Who closed it. The closer of the timeline's last `closed` event must
 *   hold the role the fleet policy names (policy.overrideReview.approverRole)
 *   or a higher one, as `GET …/collaborators/{user}/permission` reports it:
 *   closing an issue needs only triage.
 *
 * A closed-as-completed issue whose approval does not hold is reopened with
 * the reason, so that someone with the role can look again.
 */
import { createHash } from "node:crypto";
import { DEFAULT_APPROVER_ROLE, REPOSITORY_ROLES, type RepositoryRole } from "../../contract";
import type { GitHub, Repo } from "../github";

// GitHub's repository roles, lowest first (docs: "Repository roles for an
// organization"), and the fleet's default: deploy time writes the role into
// the config, so they are in contract/.
export { DEFAULT_APPROVER_ROLE, REPOSITORY_ROLES, type RepositoryRole };

const ASK = /^<!-- mirror-fleet:ask fingerprint=([0-9a-f]{64}) body-sha256=([0-9a-f]{64}) -->/;

export function bodySha256(body: string | null | undefined): string {
  return createHash("sha256").update(body ?? "").digest("hex");
}

export function askComment(fingerprint: string, bodyHash: string, role: RepositoryRole): string {
  return (
    `<!-- mirror-fleet:ask fingerprint=${fingerprint} body-sha256=${bodyHash} -->\n` +
    `Review requested for the diff in this issue as it stands now. **Close it as completed to approve** ` +
    `(needs the ${role} role or higher on this repository). An edit of the issue text voids the approval: the pipeline then asks again.`
  );
}

interface TimelineItem {
  readonly event?: string;
  readonly actor?: { readonly login?: string } | null;
  readonly user?: { readonly login?: string } | null;
  readonly body?: string | null;
  readonly created_at?: string;
  readonly updated_at?: string;
  readonly state_reason?: string | null;
}

async function timeline(gh: GitHub, repo: Repo, number: number): Promise<TimelineItem[]> {
  return (await gh.paginate("GET /repos/{owner}/{repo}/issues/{issue_number}/timeline", { ...repo, issue_number: number, per_page: 100 })) as TimelineItem[];
}

/** The pipeline's own ask comments, in timeline order, with their position. */
function asks(items: readonly TimelineItem[], bot: string): Array<{ at: number; fingerprint: string; body: string; edited: boolean }> {
  const out: Array<{ at: number; fingerprint: string; body: string; edited: boolean }> = [];
  items.forEach((t, at) => {
    if (t.event !== "commented" || (t.user?.login ?? t.actor?.login) !== bot) return;
    const m = ASK.exec(t.body ?? "");
    if (m) out.push({ at, fingerprint: m[1], body: m[2], edited: t.updated_at !== t.created_at });
  });
  return out;
}

export interface AskOptions {
  /** Writes the pipeline's own body (the issue text for today's findings). */
  readonly rewrite: () => Promise<void>;
  /** The pipeline wrote the body in this run already. */
  readonly fresh: boolean;
  readonly post: (text: string) => Promise<void>;
}

/**
 * Keeps an open review asked for: nothing when the newest ask, unedited,
 * records today's fingerprint and the body as it stands. Otherwise the
 * request is made again for a body the pipeline wrote in this run (rewritten
 * first unless `fresh`), never for text someone else left in the issue.
 */
export async function ensureAsked(gh: GitHub, repo: Repo, number: number, fingerprint: string, role: RepositoryRole, bot: string, o: AskOptions): Promise<boolean> {
  const current = async () => bodySha256((await gh.request("GET /repos/{owner}/{repo}/issues/{issue_number}", { ...repo, issue_number: number })).data.body);
  const hash = await current();
  const last = asks(await timeline(gh, repo, number), bot).pop();
  if (last && !last.edited && last.fingerprint === fingerprint && last.body === hash) return false;
  if (!o.fresh) await o.rewrite();
  await o.post(askComment(fingerprint, o.fresh ? hash : await current(), role));
  return true;
}

export type Approval = { readonly approved: true; readonly by: string } | { readonly approved: false; readonly why: string };

function rank(role: string): number {
  return (REPOSITORY_ROLES as readonly string[]).indexOf(role);
}

/** Whether `login` holds `role` or higher: the role name when it is a built-in one, else the legacy base permission where that decides. */
async function holdsRole(gh: GitHub, repo: Repo, login: string, role: RepositoryRole): Promise<{ ok: boolean; has: string }> {
  let data: { permission?: string; role_name?: string };
  try {
    data = (await gh.request("GET /repos/{owner}/{repo}/collaborators/{username}/permission", { ...repo, username: login })).data;
  } catch (e) {
    if ((e as { status?: number }).status === 404) return { ok: false, has: "no access" };
    throw e;
  }
  const name = data.role_name ?? "";
  if (rank(name) >= 0) return { ok: rank(name) >= rank(role), has: name };
  // A custom role: its legacy base permission (admin, write, read) decides only where the named role is one of those.
  const base = data.permission ?? "none";
  const decides = role === "read" || role === "write" || role === "admin";
  return { ok: decides && rank(base) >= rank(role), has: `custom role ${JSON.stringify(name)} (base ${base})` };
}

/** Whether the issue's last close is an approval of `fingerprint` by someone with `role` (see the header). */
export async function checkApproval(gh: GitHub, repo: Repo, number: number, fingerprint: string, role: RepositoryRole, bot: string): Promise<Approval> {
  const items = await timeline(gh, repo, number);
  const closeAt = items.map((t) => t.event).lastIndexOf("closed");
  if (closeAt < 0) return { approved: false, why: "the timeline shows no close" };
  const close = items[closeAt];
  if (close.state_reason !== "completed") return { approved: false, why: `it was closed as ${close.state_reason ?? "no reason"}, not as completed` };
  const by = close.actor?.login;
  if (!by) return { approved: false, why: "the close event names nobody" };
  const ask = asks(items.slice(0, closeAt), bot).pop();
  if (!ask) return { approved: false, why: `${by} closed it before the pipeline had asked for this review` };
  if (ask.edited) return { approved: false, why: "the pipeline's request for review was edited" };
  if (ask.fingerprint !== fingerprint) return { approved: false, why: "the approval was for other findings (another commit or diff)" };
  const { data } = await gh.request("GET /repos/{owner}/{repo}/issues/{issue_number}", { ...repo, issue_number: number });
  if (bodySha256(data.body) !== ask.body) return { approved: false, why: "the issue text was edited after the pipeline wrote it: what was approved is not what it shows" };
  const held = await holdsRole(gh, repo, by, role);
  if (!held.ok) return { approved: false, why: `${by} closed it with ${held.has}; approving needs the ${role} role or higher (policy.overrideReview.approverRole)` };
  return { approved: true, by };
}
