/**
 * `health`: is the upstream archived or stale? Reads the GitHub API and, with
 * --issue, files or closes the upstream-health issue of the mirror.
 */
import { parseFlags, setOutputs, UsageError, type Command } from "../cli";
import { botLogin, github, splitRepo, upstreamGithub } from "../github";
import { loadConfigOption } from "../lib/config";
import { assessHealth, fetchUpstreamFacts, healthDetails, healthItems, type HealthPolicy } from "../lib/health";
import { syncIssue } from "../lib/issues";
import { isDay } from "../lib/trivy";

const USAGE = `usage: mirror-pipeline health [flags]

Decides from the GitHub API whether the upstream is maintained: archived, the
newest commit on its default branch, the newest release or tag (the dates of
the highest version tags are looked up, since tags are listed by name).
Unhealthy when archived or past either threshold.

  --repo OWNER/NAME          the upstream (default: config upstream.repo)
  --today YYYY-MM-DD         the day to judge against (default: today, UTC)
  --max-days-since-commit N  (default: config health.maxDaysSinceCommit)
  --max-days-since-release N (default: config health.maxDaysSinceRelease)
  --issue                    also file, update or close the upstream-health issue
                             in the mirror repository (env GITHUB_REPOSITORY, else config repository)
  --run-url URL              link to the workflow run, for the issue
  --config FILE              mirror config (default .mirror/config.yml when present)

Prints {repo, archived, lastCommit, daysSinceCommit, lastRelease, lastReleaseName,
daysSinceRelease, healthy, reasons[], issue?}. Output: healthy. Exit 0 either way
(a stale upstream is reported, not a failed run); 2 on bad input.
Env: GITHUB_TOKEN, GITHUB_API_URL; the upstream is read on github.com: with
GITHUB_TOKEN where GITHUB_SERVER_URL is github.com (or unset), else on
api.github.com without a token; MIRROR_UPSTREAM_API_URL names another API.
`;

const RUN_URL = /^https?:\/\/[^\s()<>\[\]]+$/;

function days(flag: string, v: string | undefined, fallback: number | undefined): number {
  if (v === undefined) {
    if (fallback === undefined) throw new UsageError(`${flag} is required without a mirror config (health thresholds)`);
    return fallback;
  }
  if (!/^[1-9][0-9]{0,5}$/.test(v)) throw new UsageError(`${flag}: ${JSON.stringify(v)} is not allowed (allowed: a whole number of days, 1 or more)`);
  return Number(v);
}

export const command: Command = {
  name: "health",
  summary: "flag an archived or stale upstream (and file or close its issue)",
  usage: USAGE,
  async run(argv, io) {
    const f = parseFlags(argv, {
      repo: { type: "string" },
      today: { type: "string" },
      "max-days-since-commit": { type: "string" },
      "max-days-since-release": { type: "string" },
      issue: { type: "boolean" },
      "run-url": { type: "string" },
      config: { type: "string" },
    });
    const config = loadConfigOption(io.cwd, f.config);
    const upstream = f.repo ?? config?.upstream.repo;
    if (!upstream) throw new UsageError("--repo is required without a mirror config (the upstream owner/name)");
    const { owner, repo } = splitRepo(upstream);
    let today = new Date();
    if (f.today !== undefined) {
      // Not components/spec's parseDay: that would bundle spec.ts and all of semver.
      if (!isDay(f.today)) throw new UsageError(`--today: ${JSON.stringify(f.today)} is not allowed (allowed: a date YYYY-MM-DD)`);
      // The end of that day: a commit made during it is not "in the future".
      today = new Date(`${f.today}T23:59:59Z`);
    }
    const policy: HealthPolicy = {
      maxDaysSinceCommit: days("--max-days-since-commit", f["max-days-since-commit"], config?.health.maxDaysSinceCommit),
      maxDaysSinceRelease: days("--max-days-since-release", f["max-days-since-release"], config?.health.maxDaysSinceRelease),
    };
    if (f["run-url"] !== undefined && !RUN_URL.test(f["run-url"])) {
      throw new UsageError(`--run-url: ${JSON.stringify(f["run-url"])} is not allowed (allowed: an http(s) URL)`);
    }
    const mirror = f.issue ? (io.env.GITHUB_REPOSITORY ?? config?.repository) : undefined;
    if (f.issue && !mirror) throw new UsageError("--issue needs the mirror repository: env GITHUB_REPOSITORY or a config");

    const facts = await fetchUpstreamFacts(upstreamGithub(io), `${owner}/${repo}`, { prefix: config?.upstream.tags.prefix ?? "" });
    const report = assessHealth(facts, policy, today);
    let issue: { action: string; number: number | null } | undefined;
    if (mirror) {
      const r = await syncIssue(github(io), splitRepo(mirror), {
        kind: "upstream-health",
        state: report.healthy ? "resolved" : "open",
        // The name as configured (not GitHub's spelling), so every run finds the same issue.
        tag: `${owner}/${repo}`,
        items: healthItems(report),
        details: healthDetails(report),
        ...(f["run-url"] !== undefined ? { runUrl: f["run-url"] } : {}),
      }, botLogin(io.env));
      issue = { action: r.action, number: r.number };
    }
    const { policy: _policy, futureDated, ...shown } = report;
    if (futureDated.length) io.stderr(`health ${report.repo}: dated in the future, not counted as activity: ${futureDated.join(", ")}\n`);
    io.stderr(
      `health ${report.repo}: ${report.healthy ? "healthy" : `unhealthy: ${report.reasons.join("; ")}`}` +
        (issue ? `; issue ${issue.action}${issue.number !== null ? ` #${issue.number}` : ""}` : "") +
        "\n",
    );
    io.stdout(JSON.stringify({ ...shown, ...(futureDated.length ? { futureDated } : {}), ...(issue ? { issue } : {}) }) + "\n");
    setOutputs(io, { healthy: String(report.healthy) });
    return 0;
  },
};
