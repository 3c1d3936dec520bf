/**
 * The `prod` stack: the GitHub provider, the fleet policy, every mirror in
 * mirrors/ as a MirroredImage, and the inventory as stack outputs.
 * Run with `npm run preview` / `npm run up` (Automation API, infra/automation.ts)
 * or the plain `pulumi preview` / `pulumi up`.
 */
import * as github from "@pulumi/github";
import * as pulumi from "@pulumi/pulumi";
import { githubApi } from "./github-api";
import { loadMirrorEntries, readProjectFile } from "./mirrors";
import { policy } from "./policy";
import { existingOnGitHub, fleetProgram, resolveProgram } from "./program";
import { readStackConfig } from "./settings";

/** The program: an async function, so that what exists on GitHub is known before anything is declared. */
export default async function fleetStack(): Promise<Record<string, unknown>> {
  const stack = readStackConfig();

  // Explicit provider: default providers are disabled in Pulumi.yaml, so no
  // resource can silently pick up ambient credentials. Credentials: the
  // githubToken config secret, else a GitHub App from GITHUB_APP_ID,
  // GITHUB_APP_INSTALLATION_ID and GITHUB_APP_PEM_FILE, else GITHUB_TOKEN.
  const app = process.env;
  const api = githubApi(app);
  const provider = new github.Provider("github", {
    owner: stack.settings.owner,
    ...(api.providerBaseUrl ? { baseUrl: api.providerBaseUrl } : {}),
    ...(api.writeDelayMs !== undefined ? { writeDelayMs: api.writeDelayMs } : {}),
    ...(stack.githubToken ? { token: stack.githubToken } : {}),
    // The provider reads a GitHub App's credentials only through appAuth.
    ...(!stack.githubToken && app.GITHUB_APP_ID && app.GITHUB_APP_INSTALLATION_ID && app.GITHUB_APP_PEM_FILE
      ? { appAuth: { id: app.GITHUB_APP_ID, installationId: app.GITHUB_APP_INSTALLATION_ID, pemFile: pulumi.secret(app.GITHUB_APP_PEM_FILE) } }
      : {}),
  });

  const inputs = {
    // One day for the whole run: waiver expiry and days left agree everywhere.
    today: new Date(),
    entries: loadMirrorEntries(),
    policy,
    settings: stack.settings,
    readFile: readProjectFile,
    webhooks: stack.webhooks,
    ...(stack.cosign ? { cosign: stack.cosign } : {}),
    providers: { github: provider },
    // The program's own reads (upstream health, preflight tags, what exists) go where the provider goes, as the same identity.
    github: { apiUrl: api.restUrl, token: stack.githubToken },
  };
  // A repository or label GitHub made but never confirmed is adopted, not created twice.
  const resolved = resolveProgram(inputs);
  const fleet = fleetProgram({ ...inputs, resolved, existing: await existingOnGitHub(inputs, resolved) });

  for (const w of fleet.warnings) pulumi.log.warn(w);

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
    pipeline: fleet.pipeline.pin.apply((p) => ({ ...p, url: `https://github.com/${p.repository}/tree/${p.commit}` })),
    summary: fleet.inventory.summary,
  };
}
