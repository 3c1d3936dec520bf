/**
 * Starts a mirror's workflow once, right after `pulumi up` created the mirror
 * or changed its workflow, so a new mirror builds without waiting for the
 * night. Run by a @pulumi/command resource (components/mirrored-image.ts):
 *   node --import tsx infra/dispatch.ts
 * with REPO, WORKFLOW, REF and optionally GITHUB_API_URL in env, and
 * GITHUB_TOKEN or a GitHub App's credentials (infra/github-token.ts).
 * Never prints the token.
 */
import { deployToken } from "./github-token";
export interface DispatchRequest {
  readonly apiUrl: string;
  readonly token: string;
  /** `owner/name` */
  readonly repo: string;
  /** Workflow file name, e.g. `mirror.yml`. */
  readonly workflow: string;
  readonly ref: string;
}

export async function dispatchWorkflow(req: DispatchRequest, fetchImpl: typeof fetch = fetch): Promise<void> {
  if (!/^[A-Za-z0-9-]+\/[A-Za-z0-9._-]+$/.test(req.repo)) throw new Error(`REPO: ${JSON.stringify(req.repo)} is not an owner/name`);
  if (!/^[A-Za-z0-9._-]+\.ya?ml$/.test(req.workflow)) throw new Error(`WORKFLOW: ${JSON.stringify(req.workflow)} is not a workflow file name`);
  const url = `${req.apiUrl.replace(/\/$/, "")}/repos/${req.repo}/actions/workflows/${req.workflow}/dispatches`;
  // A brand-new workflow file can take a moment to be registered: retry a
  // 404 a few times, with a bounded wait.
  for (let attempt = 1; ; attempt++) {
    const res = await fetchImpl(url, {
      method: "POST",
      headers: {
        authorization: `Bearer ${req.token}`,
        accept: "application/vnd.github+json",
        "content-type": "application/json",
        "x-github-api-version": "2022-11-28",
        "user-agent": "mirror-fleet",
      },
      body: JSON.stringify({ ref: req.ref }),
    });
    if (res.status === 204 || res.status === 200) return;
    if (res.status === 404 && attempt < 5) {
      await new Promise((r) => setTimeout(r, attempt * 2000));
      continue;
    }
    throw new Error(`dispatching ${req.workflow} in ${req.repo} failed: HTTP ${res.status} ${(await res.text()).slice(0, 300)}`);
  }
}

if (require.main === module) {
  const env = process.env;
  // A dispatch that cannot happen must not fail the deploy: the nightly
  // schedule builds the mirror anyway. Say so loudly and exit 0.
  const warn = (why: string) => process.stderr.write(`warning: the first run of ${env.WORKFLOW} in ${env.REPO} was not started (${why}); it runs at its nightly time, or start it by hand\n`);
  deployToken(env).then(
    (token) => {
      if (!token) return warn("no GITHUB_TOKEN or GitHub App credentials where pulumi runs");
      return dispatchWorkflow({
        apiUrl: env.GITHUB_API_URL || "https://api.github.com",
        token,
        repo: env.REPO ?? "",
        workflow: env.WORKFLOW ?? "",
        ref: env.REF ?? "main",
      }).then(() => void process.stdout.write(`dispatched ${env.WORKFLOW} in ${env.REPO}\n`));
    },
  ).catch((e) => warn((e as Error).message));
}
