/**
 * Repository rulesets, evaluated on every write to a ref the way GitHub
 * documents them, for the GitHub stand-in.
 *
 * Sources (read 2026-12-07 through the search tool):
 * - "About rulesets" and "Available rules for rulesets",
 *   https://docs.github.com/en/repositories/configuring-branches-and-merges-in-your-repository/managing-rulesets/about-rulesets
 *   and …/available-rules-for-rulesets: every active ruleset whose
 *   conditions match a ref applies (they aggregate); `evaluate` and
 *   `disabled` rulesets are not enforced; `ref_name` includes/excludes are
 *   fnmatch patterns on the full ref, `~DEFAULT_BRANCH` and `~ALL`.
 * - The REST description's `repository-ruleset-bypass-actor`: `Integration`
 *   is a GitHub App by app id, `OrganizationAdmin` matches organisation
 *   owners (its id ignored), `RepositoryRole` a base role (maintain 2,
 *   write 4, admin 5, as terraform-provider-github v6.13.0's
 *   docs/resources/repository_ruleset.md lists them), `Team` a team id,
 *   `User` a user id; `bypass_mode` `always`, `pull_request` (only when
 *   merging a pull request) or `exempt`. `current_user_can_bypass` is the
 *   caller's own answer (always, pull_requests_only, never, exempt).
 * - The answers GitHub gives, as seen by its users: the contents API 409 and
 *   git refs 422 "Repository rule violations found\n\n<rule>\n\n"
 *   ("Changes must be made through a pull request.", "Cannot force-push to
 *   this branch", "Cannot delete this branch", "Cannot create ref due to
 *   creations being restricted.", "Cannot update this protected ref."), and
 *   the merge endpoint 405 with the same message.
 *
 * A rule the stand-in does not evaluate is not waved through: the write is
 * refused as unimplemented (a ruleset with required status checks, say),
 * so no test can pass because a rule was ignored.
 */
import type { RepoRole } from "./github-access";

type Obj = Record<string, unknown>;

/** Who is writing, as rulesets see them. */
export interface RuleActor {
  readonly login: string;
  readonly userId: number;
  /** Organisation owner (OrganizationAdmin). */
  readonly orgOwner: boolean;
  readonly appId?: number;
  readonly role?: RepoRole;
  readonly teams: readonly number[];
}

/** One change to one ref. `merge`: a pull request being merged (with its approvals). */
export interface RefChange {
  readonly ref: string;
  readonly kind: "create" | "update" | "delete";
  /** For updates: whether the new commit descends from the old one. */
  readonly fastForward?: boolean;
  /** The commits added carry a merge commit (required_linear_history). */
  readonly mergeCommit?: boolean;
  readonly merge?: { readonly approvals: number; readonly lastPushApproved: boolean };
}

export type Bypass = "always" | "pull_requests_only" | "never" | "exempt";

const ROLE_IDS: Readonly<Record<number, RepoRole>> = { 2: "maintain", 4: "write", 5: "admin" };
const ROLES: readonly RepoRole[] = ["read", "triage", "write", "maintain", "admin"];

/** fnmatch as rulesets use it: `*` stays within a path segment, `**` crosses them, `?` one character. */
export function fnmatch(pattern: string, value: string): boolean {
  let re = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === "*" && pattern[i + 1] === "*") {
      re += ".*";
      i++;
    } else if (c === "*") re += "[^/]*";
    else if (c === "?") re += "[^/]";
    else re += c.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${re}$`).test(value);
}

function patternMatches(pattern: string, ref: string, defaultBranch: string): boolean {
  if (pattern === "~ALL") return true;
  if (pattern === "~DEFAULT_BRANCH") return ref === `refs/heads/${defaultBranch}`;
  return fnmatch(pattern, ref);
}

/** Whether a ruleset applies to `ref` (target and ref_name conditions). */
export function applies(ruleset: Obj, ref: string, defaultBranch: string): boolean {
  const target = (ruleset.target as string | undefined) ?? "branch";
  if (target === "branch" && !ref.startsWith("refs/heads/")) return false;
  if (target === "tag" && !ref.startsWith("refs/tags/")) return false;
  const refName = ((ruleset.conditions as Obj | null)?.ref_name ?? {}) as { include?: string[]; exclude?: string[] };
  const include = refName.include ?? [];
  const exclude = refName.exclude ?? [];
  return include.some((p) => patternMatches(p, ref, defaultBranch)) && !exclude.some((p) => patternMatches(p, ref, defaultBranch));
}

/** The caller's bypass of one ruleset (`current_user_can_bypass`). */
export function bypassOf(ruleset: Obj, who: RuleActor): Bypass {
  let best: Bypass = "never";
  const rank: Record<Bypass, number> = { never: 0, pull_requests_only: 1, always: 2, exempt: 3 };
  for (const a of (ruleset.bypass_actors as Obj[] | undefined) ?? []) {
    const id = a.actor_id as number | null | undefined;
    const matches =
      (a.actor_type === "OrganizationAdmin" && who.orgOwner) ||
      (a.actor_type === "Integration" && who.appId !== undefined && id === who.appId) ||
      (a.actor_type === "RepositoryRole" && id !== null && id !== undefined && ROLE_IDS[id] !== undefined && who.role !== undefined && ROLES.indexOf(who.role) >= ROLES.indexOf(ROLE_IDS[id])) ||
      (a.actor_type === "Team" && id !== null && id !== undefined && who.teams.includes(id)) ||
      (a.actor_type === "User" && who.appId === undefined && id === who.userId);
    if (!matches) continue;
    const mode = (a.bypass_mode as string | undefined) ?? "always";
    const b: Bypass = mode === "pull_request" ? "pull_requests_only" : mode === "exempt" ? "exempt" : "always";
    if (rank[b] > rank[best]) best = b;
  }
  return best;
}

/** Rule types the stand-in evaluates; any other rule in an applying ruleset refuses the write as unimplemented. */
const EVALUATED = new Set(["deletion", "non_fast_forward", "pull_request", "creation", "update", "required_linear_history"]);

export interface Verdict {
  /** GitHub's rule messages, in ruleset order; empty: allowed. */
  readonly violations: readonly string[];
  /** A rule the stand-in cannot evaluate applied: the caller must refuse the write as unimplemented. */
  readonly unimplemented?: string;
}

/** Evaluates every active ruleset of a repository for one ref change by one actor. */
export function evaluate(rulesets: Iterable<Obj>, change: RefChange, who: RuleActor, defaultBranch: string): Verdict {
  const violations: string[] = [];
  for (const rs of rulesets) {
    if (rs.enforcement !== "active" || !applies(rs, change.ref, defaultBranch)) continue;
    const bypass = bypassOf(rs, who);
    if (bypass === "always" || bypass === "exempt") continue;
    for (const rule of (rs.rules as Obj[] | undefined) ?? []) {
      const type = String(rule.type);
      const p = (rule.parameters as Obj | undefined) ?? {};
      if (!EVALUATED.has(type)) return { violations, unimplemented: `ruleset ${JSON.stringify(rs.name)} has a ${type} rule, which the stand-in does not evaluate` };
      if (type === "deletion" && change.kind === "delete") violations.push("Cannot delete this branch");
      if (type === "creation" && change.kind === "create") violations.push("Cannot create ref due to creations being restricted.");
      if (type === "update" && change.kind === "update" && !(p.update_allows_fetch_and_merge === true && change.fastForward)) violations.push("Cannot update this protected ref.");
      if (type === "non_fast_forward" && change.kind === "update" && change.fastForward === false) violations.push("Cannot force-push to this branch");
      if (type === "required_linear_history" && change.kind !== "delete" && change.mergeCommit) violations.push("This branch must not contain merge commits.");
      if (type === "pull_request" && change.kind === "update") {
        if (!change.merge) {
          violations.push("Changes must be made through a pull request.");
          continue;
        }
        // Merging a pull request: `pull_request` bypass mode lets the actor skip the reviews.
        if (bypass === "pull_requests_only") continue;
        if (p.require_code_owner_review === true) {
          return { violations, unimplemented: `ruleset ${JSON.stringify(rs.name)} requires code owner review, which the stand-in does not evaluate on a merge` };
        }
        const need = Number(p.required_approving_review_count ?? 0);
        if (change.merge.approvals < need) violations.push(`At least ${need} approving review${need === 1 ? " is" : "s are"} required by reviewers with write access.`);
        else if (p.require_last_push_approval === true && !change.merge.lastPushApproved) violations.push("The most recent push must be approved by someone other than the person who pushed it.");
      }
    }
  }
  return { violations };
}

/** GitHub's message for a refused ref write. */
export function violationMessage(violations: readonly string[]): string {
  return `Repository rule violations found\n\n${violations.map((v) => `${v}\n\n`).join("")}`;
}
