/**
 * The `prod` stack: the GitHub provider, the fleet policy, every mirror in
 * mirrors/ as a MirroredImage, and the inventory as stack outputs.
 *
 * The entry point of both ways of running the program (DESIGN invariant 12):
 * Pulumi.yaml's `main` names this file, and `npm run preview|up`
 * (infra/automation.ts) runs the same function inline. `export =`, not
 * `export default`: Pulumi's Node loader (@pulumi/pulumi/cmd/run/run.js)
 * `require`s a CommonJS program and calls what it returns only when that is
 * a function; it unwraps `default` only for ES modules, so a default export
 * would be an object with a function inside, and `pulumi up` would declare
 * nothing (and plan to delete the fleet).
 */
import * as github from "@pulumi/github";
import * as pulumi from "@pulumi/pulumi";
import { stackServerUrl } from "../components/spec";
import { githubApi } from "./github-api";
import { loadMirrorEntries, readProjectFile } from "./mirrors";
import { policy } from "./policy";
import { fleetProgram, lookAtGitHub, problemList, resolveProgram, secretProblems } from "./program";
import { readStackConfig } from "./settings";

/**
 * Everything a user can get wrong (the stack settings, the entries in
 * mirrors/, the secrets they need, a repository that is not the fleet's) is
 * checked before anything is declared, and reported the same way on every
 * path: as a RunError, which Pulumi's loader and the Automation API print as
 * its message alone, without a stack trace (@pulumi/pulumi errors.ts).
 */
async function checked<T>(f: () => T | Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    throw e instanceof Error && !(e instanceof TypeError) && !(e instanceof ReferenceError) ? new pulumi.RunError(e.message) : e;
  }
}

/** The program: an async function, so that what exists on GitHub is known before anything is declared. */
async function fleetStack(): Promise<Record<string, unknown>> {
  const env = process.env;
  const { stack, api, inputs, resolved, github: seen } = await checked(async () => {
    const stack = readStackConfig();
    const api = githubApi(env);
    const inputs = {
      // One day for the whole run: waiver expiry and days left agree everywhere.
      today: new Date(),
      entries: loadMirrorEntries(),
      policy,
      settings: stack.settings,
      readFile: readProjectFile,
      webhooks: stack.webhooks,
      ...(stack.cosign ? { cosign: stack.cosign } : {}),
      // The program's own reads (what exists; upstream health and preflight tags on github.com) go where the provider goes, as the same identity.
      github: { apiUrl: api.restUrl, token: stack.githubToken },
      // An Enterprise Server's fleet reads the upstreams on github.com, without that server's credentials.
      ...(api.upstreamRestUrl !== api.restUrl ? { upstreams: { apiUrl: api.upstreamRestUrl, token: env.MIRROR_FLEET_UPSTREAM_TOKEN } } : {}),
    };
    const resolved = resolveProgram(inputs);
    const missing = secretProblems(inputs, resolved);
    if (missing.length) throw new Error(problemList(missing, "created"));
    // The owner is checked; a repository GitHub made but never confirmed is adopted, not created twice; a stranger's is refused.
    return { stack, api, inputs, resolved, github: await lookAtGitHub(inputs, resolved) };
  });

  // Explicit provider: default providers are disabled in Pulumi.yaml, so no
  // resource can silently pick up ambient credentials. Credentials: the
  // githubToken config secret, else a GitHub App from GITHUB_APP_ID,
  // GITHUB_APP_INSTALLATION_ID and GITHUB_APP_PEM_FILE, else GITHUB_TOKEN.
  const provider = new github.Provider("github", {
    owner: stack.settings.owner,
    ...(api.providerBaseUrl ? { baseUrl: api.providerBaseUrl } : {}),
    ...(api.writeDelayMs !== undefined ? { writeDelayMs: api.writeDelayMs } : {}),
    ...(stack.githubToken ? { token: stack.githubToken } : {}),
    // The provider reads a GitHub App's credentials only through appAuth.
    ...(!stack.githubToken && env.GITHUB_APP_ID && env.GITHUB_APP_INSTALLATION_ID && env.GITHUB_APP_PEM_FILE
      ? { appAuth: { id: env.GITHUB_APP_ID, installationId: env.GITHUB_APP_INSTALLATION_ID, pemFile: pulumi.secret(env.GITHUB_APP_PEM_FILE) } }
      : {}),
  });
  const fleet = fleetProgram({ ...inputs, providers: { github: provider }, resolved, existing: seen.existing });

  for (const w of [...fleet.warnings, ...seen.warnings]) pulumi.log.warn(w);

  return {
    inventory: fleet.inventory.mirrors.map((entry, i) => {
      const health: pulumi.Input<unknown> = fleet.health ?? "off (policy.deploy.healthCheck)";
      return pulumi.all([entry, fleet.mirrors[i].repositoryUrl, health]).apply(([e, repositoryUrl, h]) => ({
        ...e,
        repositoryUrl,
        health: typeof h === "string" ? h : (h as Record<string, unknown>)[e.upstream.repo],
      }));
    }),
    // The pipeline every mirror runs, one hop from any of them: repository, commit, bundle sha256.
    pipeline: fleet.pipeline.pin.apply((p) => ({ ...p, url: `${stackServerUrl(stack.settings)}/${p.repository}/tree/${p.commit}` })),
    summary: fleet.inventory.summary,
  };
}

export = fleetStack;
