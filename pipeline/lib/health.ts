/**
 * Is the upstream still maintained? Archived on GitHub, no commit on its
 * default branch for N days, or no release or tag for M days (the mirror's
 * `health` thresholds) makes it unhealthy: rebuilding a project that stopped
 * shipping only rebuilds its backlog.
 *
 * `assessHealth` is pure; `fetchUpstreamFacts` reads the GitHub API.
 */
import type { GitHub } from "../github";
import { code, type Item } from "./issues";
import { listGitHubTags, TAG_PATTERN, versionOf } from "./tags";

export interface HealthPolicy {
  readonly maxDaysSinceCommit: number;
  readonly maxDaysSinceRelease: number;
}

/** What GitHub says about the upstream. Dates are ISO 8601 timestamps. */
export interface UpstreamFacts {
  readonly repo: string;
  readonly archived: boolean;
  readonly lastCommit: string | null;
  /** The newest release or tag. */
  readonly lastRelease: { readonly name: string; readonly date: string } | null;
  /** Dates of the newest commits of the default branch (lastCommit among them): the head's date alone can be forged. */
  readonly commitDates?: readonly string[];
  /** Every dated release or tag looked at (lastRelease among them). */
  readonly releases?: ReadonlyArray<{ readonly name: string; readonly date: string }>;
}

export interface HealthReport {
  readonly repo: string;
  readonly archived: boolean;
  /** YYYY-MM-DD of the newest commit on the default branch, or null. */
  readonly lastCommit: string | null;
  readonly daysSinceCommit: number | null;
  /** YYYY-MM-DD of the newest release or tag, or null. */
  readonly lastRelease: string | null;
  readonly lastReleaseName: string | null;
  readonly daysSinceRelease: number | null;
  readonly healthy: boolean;
  /** Dates beyond today (and a small clock skew) that were not counted as activity. */
  readonly futureDated: readonly string[];
  /** Why it is unhealthy. Stable from day to day (dates and limits, no day counts), so the issue only changes when the facts do. */
  readonly reasons: readonly string[];
  readonly policy: HealthPolicy;
}

const DAY = 86_400_000;

function day(iso: string): string {
  return new Date(iso).toISOString().slice(0, 10);
}

/** Whole UTC days from `iso` to `today`. */
function daysSince(iso: string, today: Date): number {
  const from = Date.parse(`${day(iso)}T00:00:00Z`);
  const to = Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate());
  return Math.floor((to - from) / DAY);
}

/** Commit dates are the committer's clock: allow this much ahead of ours, no more. */
export const CLOCK_SKEW_MS = 60 * 60_000;

/**
 * `now` is the moment judged from (the health command passes the end of
 * --today). A date after it, beyond CLOCK_SKEW_MS, is not evidence of life:
 * anyone who can push can date a commit in 2099, so it is left out and the
 * reason says so.
 */
export function assessHealth(facts: UpstreamFacts, policy: HealthPolicy, now: Date): HealthReport {
  const future = (iso: string) => Date.parse(iso) > now.getTime() + CLOCK_SKEW_MS;
  const newest = <T>(xs: readonly T[], date: (x: T) => string) => xs.reduce<T | null>((a, b) => (!a || Date.parse(date(b)) > Date.parse(date(a)) ? b : a), null);
  const commits = [...new Set([...(facts.lastCommit ? [facts.lastCommit] : []), ...(facts.commitDates ?? [])])];
  const releases = [...(facts.lastRelease ? [facts.lastRelease] : []), ...(facts.releases ?? [])];
  const lastCommit = newest(commits.filter((d) => !future(d)), (d) => d);
  const lastRelease = newest(releases.filter((r) => !future(r.date)), (r) => r.date);
  const futureCommits = [...new Set(commits.filter(future).map(day))].sort();
  const futureReleases = [...new Map(releases.filter((r) => future(r.date)).map((r) => [r.name, `${r.name} ${day(r.date)}`])).values()].sort();
  const notCounted = (what: string, dates: readonly string[]) =>
    dates.length === 1 ? `; a ${what} dated in the future (${dates[0]}) is not counted` : dates.length ? `; ${what}s dated in the future (${dates.join(", ")}) are not counted` : "";

  const reasons: string[] = [];
  if (facts.archived) reasons.push("the repository is archived");
  const daysSinceCommit = lastCommit ? daysSince(lastCommit, now) : null;
  if (lastCommit === null) reasons.push(`no commit on the default branch${notCounted("commit", futureCommits)}`);
  else if (daysSinceCommit! > policy.maxDaysSinceCommit) {
    reasons.push(`no commit since ${day(lastCommit)} (limit: ${policy.maxDaysSinceCommit} days${notCounted("commit", futureCommits)})`);
  }
  const daysSinceRelease = lastRelease ? daysSince(lastRelease.date, now) : null;
  if (lastRelease === null) reasons.push(`no release or tag${notCounted("tag", futureReleases)}`);
  else if (daysSinceRelease! > policy.maxDaysSinceRelease) {
    reasons.push(`no release or tag since ${day(lastRelease.date)} (${lastRelease.name}; limit: ${policy.maxDaysSinceRelease} days${notCounted("tag", futureReleases)})`);
  }
  return {
    repo: facts.repo,
    archived: facts.archived,
    lastCommit: lastCommit ? day(lastCommit) : null,
    daysSinceCommit,
    lastRelease: lastRelease ? day(lastRelease.date) : null,
    lastReleaseName: lastRelease?.name ?? null,
    daysSinceRelease,
    healthy: reasons.length === 0,
    futureDated: [...futureCommits.map((d) => `commit ${d}`), ...futureReleases.map((r) => `tag ${r}`)],
    reasons,
    policy,
  };
}

/** The reasons as issue findings (the reason text is its own stable key). */
export function healthItems(report: Pick<HealthReport, "reasons">): Item[] {
  return report.reasons.map((r) => ({ key: `health|${r}`, line: r }));
}

/** Markdown for the upstream-health issue. */
export function healthDetails(report: HealthReport): string {
  const row = (what: string, value: string) => `| ${what} | ${value} |`;
  return [
    `#### Upstream ${code(report.repo)}`,
    "",
    "| | |",
    "|---|---|",
    row("Archived", report.archived ? "**yes**" : "no"),
    row("Last commit", report.lastCommit ? `${report.lastCommit} (limit: ${report.policy.maxDaysSinceCommit} days)` : "none"),
    row(
      "Last release or tag",
      report.lastRelease ? `${code(report.lastReleaseName ?? "")} ${report.lastRelease} (limit: ${report.policy.maxDaysSinceRelease} days)` : "none",
    ),
    ...(report.futureDated.length
      ? [row("Dated in the future, not counted", report.futureDated.map((d) => code(d)).join(", "))]
      : []),
    "",
    report.reasons.length ? `**Why it is flagged**\n\n${report.reasons.map((r) => `- ${r}`).join("\n")}` : "Nothing is flagged.",
  ].join("\n");
}

/** Commits of the default branch read for their dates (one request). */
const COMMIT_PAGE = 30;

/** How many of the highest versions get their commit date looked up: tags are listed by name, not date. */
const TAG_DATE_LOOKUPS = 3;

/**
 * Reads archived, the newest commit of the default branch and the newest
 * release or tag. Releases carry a date; a tag only a commit, so the dates of
 * the few highest versions are looked up (the tag list is ordered by name).
 */
export async function fetchUpstreamFacts(gh: GitHub, fullName: string, opts: { prefix?: string } = {}): Promise<UpstreamFacts> {
  const [owner, repo] = fullName.split("/");
  const { data: r } = await gh.request("GET /repos/{owner}/{repo}", { owner, repo });
  let lastCommit: string | null = null;
  let commitDates: string[] = [];
  try {
    // A page of commits, not just the head: a head dated in the future is not counted, the ones under it are.
    const { data: commits } = await gh.request("GET /repos/{owner}/{repo}/commits", { owner, repo, sha: r.default_branch, per_page: COMMIT_PAGE });
    commitDates = commits.map((c) => c.commit.committer?.date ?? c.commit.author?.date ?? null).filter((d): d is string => Boolean(d));
    lastCommit = commitDates[0] ?? null;
  } catch (e) {
    // 409: the repository is empty.
    if ((e as { status?: number }).status !== 409) throw e;
  }
  // Names outside the strict pattern are not versions (and would be untrusted text in the issue).
  const tags = (await listGitHubTags(gh, owner, repo)).filter((t) => TAG_PATTERN.test(t.name));
  const dated = tags.filter((t) => t.date).map((t) => ({ name: t.name, date: t.date! }));
  const undated = tags.filter((t) => !t.date && t.commit);
  const byVersion = undated
    .map((t) => ({ t, v: versionOf(t.name, opts.prefix ?? "") }))
    .filter((x) => x.v)
    .sort((a, b) => b.v!.version.compare(a.v!.version))
    .map((x) => x.t);
  for (const t of (byVersion.length ? byVersion : undated).slice(0, TAG_DATE_LOOKUPS)) {
    const { data: c } = await gh.request("GET /repos/{owner}/{repo}/commits/{ref}", { owner, repo, ref: t.commit! });
    const date = c.commit.committer?.date ?? c.commit.author?.date;
    if (date) dated.push({ name: t.name, date });
  }
  const lastRelease = dated.reduce<{ name: string; date: string } | null>((a, b) => (!a || Date.parse(b.date) > Date.parse(a.date) ? b : a), null);
  return { repo: r.full_name, archived: r.archived, lastCommit, lastRelease, commitDates, releases: dated };
}
