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
import { GITHUB_COM_API } from "../contract";
import type { Io } from "./cli";

const PipelineOctokit = Octokit.plugin(paginateRest, retry, throttling);
export type GitHub = InstanceType<typeof PipelineOctokit>;

/** How long one request may take before it is abandoned (and, for a create, looked for before it is sent again). */
const DEFAULT_TIMEOUT_MS = 60_000;

/**
 * The login of the identity the workflow writes as: what the pipeline trusts
 * its own markers from. The mirror workflow passes `github.token`, whose
 * writes are authored by `github-actions[bot]`; a deployment that swaps in a
 * GitHub App's token sets MIRROR_BOT_LOGIN to `<app-slug>[bot]`. Not
 * GITHUB_ACTOR (the person who triggered the run), and not `GET /user`, which
 * an installation token may not call.
 */
export function botLogin(env: Io["env"]): string {
  const login = env.MIRROR_BOT_LOGIN || "github-actions[bot]";
  if (!/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})(?:\[bot\])?$/.test(login)) {
    throw new Error(`MIRROR_BOT_LOGIN: ${JSON.stringify(login)} is not allowed (allowed: a GitHub login, e.g. my-app[bot])`);
  }
  return login;
}

/** Requests that may be sent twice without making a second thing: adding labels to an issue sets them. */
const IDEMPOTENT_POST = /\/issues\/\{issue_number\}\/labels$/;

export function github(io: Io, opts: { retries?: number; anonymous?: boolean } = {}): GitHub {
  const token = opts.anonymous ? undefined : io.env.GITHUB_TOKEN;
  if (!token && !opts.anonymous) throw new Error("GITHUB_TOKEN is not set (the workflow passes the job's token in env)");
  const timeoutMs = Number(io.env.MIRROR_GITHUB_TIMEOUT_MS) > 0 ? Number(io.env.MIRROR_GITHUB_TIMEOUT_MS) : DEFAULT_TIMEOUT_MS;
  const gh = new PipelineOctokit({
    ...(token ? { auth: token } : {}),
    baseUrl: io.env.GITHUB_API_URL || GITHUB_COM_API,
    userAgent: "mirror-fleet-pipeline",
    // A timeout per HTTP call (a retry gets a fresh one); it surfaces as a 500 that may have been applied.
    request: { fetch: (url: string, init: RequestInit) => fetch(url, { ...init, signal: init.signal ?? AbortSignal.timeout(timeoutMs) }) },
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
  gh.hook.before("request", (options) => {
    // A POST creates something: after a 5xx or a timeout GitHub may already have made it, so the
    // retry plugin never re-sends one; the create paths (createOnce) look for it first.
    if (options.method === "POST" && !IDEMPOTENT_POST.test(String(options.url))) options.request = { ...options.request, retries: 0 };
  });
  return gh;
}

/**
 * A client that reads an upstream. Upstreams are on github.com
 * (components/spec.ts): a job on github.com reads them with its own token; a
 * job of an Enterprise Server (GITHUB_SERVER_URL names another host) reads
 * them on api.github.com without one, since its token is not github.com's and
 * must not be sent there (GitHub allows 60 such requests an hour per
 * address; the weekly `health` job of a mirror makes 4 to 7).
 * MIRROR_UPSTREAM_API_URL names the upstreams' API instead (a stand-in that
 * plays github.com); the job's token goes there only when it is the job's own
 * GITHUB_API_URL.
 */
export function upstreamGithub(io: Io): GitHub {
  const own = io.env.GITHUB_API_URL || GITHUB_COM_API;
  const server = io.env.GITHUB_SERVER_URL;
  const api = io.env.MIRROR_UPSTREAM_API_URL || (!server || server === "https://github.com" ? own : GITHUB_COM_API);
  return api === own ? github(io) : github({ ...io, env: { ...io.env, GITHUB_API_URL: api } }, { anonymous: true });
}

/** Whether a failed request may have been applied by GitHub all the same: a 5xx, a timeout or a lost connection. */
export function mayHaveApplied(e: unknown): boolean {
  const status = (e as { status?: number }).status;
  return status === undefined || status >= 500;
}

/**
 * Sends a create at most a few times; after a failure that GitHub may have
 * applied, `find` looks for what the create would have made (by its marker)
 * and adopts it instead of making a second one. Other failures are thrown.
 */
export async function createOnce<T>(create: () => Promise<T>, find: () => Promise<T | undefined>, attempts = 3): Promise<{ value: T; adopted: boolean }> {
  for (let attempt = 1; ; attempt++) {
    try {
      return { value: await create(), adopted: false };
    } catch (e) {
      if (!mayHaveApplied(e) || attempt >= attempts) throw e;
      const found = await find();
      if (found !== undefined) return { value: found, adopted: true };
      await new Promise((r) => setTimeout(r, attempt * attempt * RETRY_BASE_MS));
    }
  }
}

/** Back-off between attempts of a create; tests against the stand-in shorten it. */
let RETRY_BASE_MS = 1000;
export function setCreateRetryDelay(ms: number): void {
  RETRY_BASE_MS = ms;
}

/** A repository as the REST routes name it: `{owner}/{repo}`. */
export interface Repo {
  readonly owner: string;
  readonly repo: string;
}

/** `owner/name` -> { owner, repo }, strictly. */
export function splitRepo(full: string): Repo {
  const m = /^([A-Za-z0-9](?:[A-Za-z0-9-]{0,38}))\/([A-Za-z0-9._-]{1,100})$/.exec(full);
  if (!m) throw new Error(`not an owner/repo: ${JSON.stringify(full)}`);
  return { owner: m[1], repo: m[2] };
}
