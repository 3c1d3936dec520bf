/**
 * Where GitHub is, for every deploy-time caller: the provider and the
 * program's own reads. MIRROR_FLEET_GITHUB_API points the whole deploy at
 * another GitHub: a GitHub Enterprise Server (https://ghe.example.com/) or the
 * stand-in a rehearsal starts on 127.0.0.1. The provider then sends its
 * requests to <base>/api/v3/… (its Enterprise Server convention), and so do we.
 *
 * The upstreams are on github.com (components/spec.ts), whichever GitHub the
 * fleet deploys to: the program reads them on api.github.com, or where
 * MIRROR_FLEET_UPSTREAM_API says (a stand-in that plays github.com).
 */
import { GITHUB_COM_API } from "../contract";

type Env = Readonly<Record<string, string | undefined>>;

export interface GitHubApi {
  /** The provider's `baseUrl`, or undefined for github.com (the provider's default). */
  readonly providerBaseUrl: string | undefined;
  /** The REST root for our own calls, without a trailing slash. */
  readonly restUrl: string;
  /** Its web address, without a trailing slash, or undefined for github.com: what links in generated files name. */
  readonly serverUrl: string | undefined;
  /** The provider's pause after each write: 1000 ms unless MIRROR_FLEET_WRITE_DELAY_MS says otherwise. */
  readonly writeDelayMs: number | undefined;
  /** The REST root the upstreams are read on, without a trailing slash: the deploy's credentials go there only when it is `restUrl`. */
  readonly upstreamRestUrl: string;
}

/** An http(s) URL from `name`, or an error naming it and what is allowed. */
function httpUrl(name: string, raw: string, example: string): URL {
  const url = URL.canParse(raw) ? new URL(raw) : undefined;
  if (url?.protocol !== "https:" && url?.protocol !== "http:") {
    throw new Error(`${name}: ${JSON.stringify(raw)} is not allowed (allowed: an http(s) URL such as ${example})`);
  }
  return url;
}

export function githubApi(env: Env = process.env): GitHubApi {
  const raw = env.MIRROR_FLEET_GITHUB_API;
  const delay = env.MIRROR_FLEET_WRITE_DELAY_MS;
  if (delay !== undefined && !/^\d{1,6}$/.test(delay)) {
    throw new Error(`MIRROR_FLEET_WRITE_DELAY_MS: ${JSON.stringify(delay)} is not allowed (allowed: milliseconds, 0 to 999999)`);
  }
  const writeDelayMs = delay === undefined ? undefined : Number(delay);
  const upstream = env.MIRROR_FLEET_UPSTREAM_API;
  const upstreamRestUrl = upstream ? httpUrl("MIRROR_FLEET_UPSTREAM_API", upstream, GITHUB_COM_API).href.replace(/\/$/, "") : GITHUB_COM_API;
  if (!raw) return { providerBaseUrl: undefined, restUrl: GITHUB_COM_API, serverUrl: undefined, writeDelayMs, upstreamRestUrl };
  const url = httpUrl("MIRROR_FLEET_GITHUB_API", raw, "https://ghe.example.com/");
  const base = url.href.endsWith("/") ? url.href : `${url.href}/`;
  return { providerBaseUrl: base, restUrl: `${base}api/v3`, serverUrl: base.slice(0, -1), writeDelayMs, upstreamRestUrl };
}
