/**
 * The GitHub client of every pipeline command: Octokit core with pagination,
 * retries and throttling. Base URL from GITHUB_API_URL (so a GitHub Enterprise
 * Server or the test stand-in works unchanged), token from GITHUB_TOKEN only:
 * nothing reads a token from a file or prints it.
 */
import { Octokit } from "@octokit/core";
import { paginateRest } from "@octokit/plugin-paginate-rest";
import { retry } from "@octokit/plugin-retry";
import { throttling } from "@octokit/plugin-throttling";
import type { Io } from "./cli";

const PipelineOctokit = Octokit.plugin(paginateRest, retry, throttling);
export type GitHub = InstanceType<typeof PipelineOctokit>;

export function github(io: Io, opts: { retries?: number } = {}): GitHub {
  const token = io.env.GITHUB_TOKEN;
  if (!token) throw new Error("GITHUB_TOKEN is not set (the workflow passes the job's token in env)");
  return new PipelineOctokit({
    auth: token,
    baseUrl: io.env.GITHUB_API_URL || "https://api.github.com",
    userAgent: "mirror-fleet-pipeline",
    // `retry.retries`, not `request.retries`: the latter makes plugin-retry repeat every
    // failed request, 404 and 422 included (a POST answered 422 was sent four times).
    retry: { retries: opts.retries ?? 3 },
    throttle: {
      // Octokit paces writes 1-3 s apart; tests against the local stand-in (no rate limits) turn that off.
      enabled: io.env.MIRROR_GITHUB_THROTTLE !== "off",
      // Primary and secondary rate limits: wait and retry a few times, then fail loudly.
      onRateLimit: (retryAfter, options, _octokit, retryCount) => {
        io.stderr(`rate limited on ${options.method} ${options.url}; retrying after ${retryAfter}s\n`);
        return retryCount < 2;
      },
      onSecondaryRateLimit: (retryAfter, options, _octokit, retryCount) => {
        io.stderr(`secondary rate limit on ${options.method} ${options.url}; retrying after ${retryAfter}s\n`);
        return retryCount < 1;
      },
    },
  });
}

/** `owner/name` -> { owner, repo }, strictly. */
export function splitRepo(full: string): { owner: string; repo: string } {
  const m = /^([A-Za-z0-9](?:[A-Za-z0-9-]{0,38}))\/([A-Za-z0-9._-]{1,100})$/.exec(full);
  if (!m) throw new Error(`not an owner/repo: ${JSON.stringify(full)}`);
  return { owner: m[1], repo: m[2] };
}
