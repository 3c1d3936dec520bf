/**
 * What the pipeline prints when a command fails. A failed GitHub API call is
 * shown as its status, method and path and GitHub's own short message, never
 * verbatim: Octokit's message appends the response's `errors` list, which
 * can echo what was sent (issue bodies with upstream text, field values),
 * and a proxy's error page is whatever it is. Logs of public repositories
 * are public.
 */

interface ApiError {
  readonly status: number;
  readonly request: { readonly method?: string; readonly url?: string };
  readonly response?: { readonly data?: unknown };
}

/** An Octokit RequestError (name "HttpError", a numeric status and the request it answered). */
export function isApiError(e: unknown): e is ApiError {
  const x = e as Partial<ApiError> & { name?: string };
  return typeof x === "object" && x !== null && x.name === "HttpError" && typeof x.status === "number" && typeof x.request === "object" && x.request !== null;
}

/** GitHub's message when it is short plain text and holds nothing token-shaped; else nothing. */
function shortMessage(data: unknown): string | undefined {
  const message = typeof data === "object" && data !== null ? (data as { message?: unknown }).message : undefined;
  if (typeof message !== "string") return undefined;
  const m = message.trim();
  if (!/^[A-Za-z0-9 .,'()_/:-]{1,120}$/.test(m)) return undefined;
  if (/\b(?:gh[opsur]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})/.test(m)) return undefined;
  return m;
}

/** A timeout or a lost connection: the kind of failure (ECONNREFUSED, TimeoutError), never a message that may quote the URL. */
function failureCode(e: unknown): string {
  const cause = (e as { cause?: { code?: unknown; name?: unknown; cause?: { code?: unknown } } }).cause;
  const code = cause?.cause?.code ?? cause?.code ?? cause?.name;
  return typeof code === "string" && /^[A-Za-z0-9_]{1,40}$/.test(code) ? code : "request failed";
}

function pathOf(url: string | undefined): string {
  if (!url) return "(unknown path)";
  try {
    return new URL(url).pathname;
  } catch {
    return url.split(/[?#]/)[0];
  }
}

/** One line for stderr: sanitised for a GitHub API error, the message otherwise. */
export function describeError(e: unknown): string {
  if (isApiError(e)) {
    const where = `GitHub API ${e.request.method ?? "?"} ${pathOf(e.request.url)}`;
    if (!e.response) return `${where} got no answer (${failureCode(e)})`;
    const message = shortMessage(e.response.data);
    return `${where} answered ${e.status}${message ? `: ${message}` : " (its message is not shown)"}`;
  }
  return e instanceof Error ? e.message : String(e);
}
