/**
 * Where a mirror repository keeps the fleet's cosign private key and its
 * password. Where the plan has environments for the repository
 * (ResolvedMirror.signing.environment, components/workflow/sign.ts), they
 * are secrets of that environment, whose deployment-branch policy names the
 * default branch only: a workflow run of any other branch (a pushed branch,
 * a pull request) cannot enter it, so its jobs never receive the key. Only the
 * two jobs that sign run in it (publish and reattest). Elsewhere (private
 * repositories on GitHub Free) they are repository secrets, which every
 * workflow run of the repository can read (README, "Signing").
 *
 * Inputs as the provider's schema names them (pulumi-github v6.15.0:
 * RepositoryEnvironment, RepositoryEnvironmentDeploymentPolicy,
 * ActionsEnvironmentSecret; test/testdata/schemas/pulumi-github-schema.json).
 */
import * as github from "@pulumi/github";
import * as pulumi from "@pulumi/pulumi";
import type { ResolvedMirror } from "./types";
import { COSIGN_SECRETS } from "./workflow/sign";

export interface SigningKeyArgs {
  readonly mirror: ResolvedMirror;
  readonly repository: pulumi.Input<string>;
  /** The branch allowed to deploy to the environment: the repository's default. */
  readonly branch: string;
  readonly cosign: { readonly privateKey: pulumi.Input<string>; readonly password: pulumi.Input<string> };
  /** Resources the environment waits for (the repository's default-branch rename). */
  readonly dependsOn: pulumi.Resource[];
}

/** Declares the key's home for one mirror; child names derive from `name` (the component's). */
export function declareSigningKey(parent: pulumi.Resource, name: string, args: SigningKeyArgs): void {
  const env = args.mirror.signing?.environment ?? null;
  const values = { privateKey: args.cosign.privateKey, password: args.cosign.password };
  if (env === null) {
    for (const k of ["privateKey", "password"] as const) {
      new github.ActionsSecret(`${name}-secret-cosign-${k}`, { repository: args.repository, secretName: COSIGN_SECRETS[k], value: pulumi.secret(values[k]) }, { parent });
    }
    return;
  }
  // Only listed branches may deploy, and the list is the default branch. Nothing
  // else is set: for a private repository on Pro or Team GitHub takes only the
  // branch policy (the provider's go-github v88 repos_environments.go retries a
  // 422 with deployment_branch_policy alone), so any other field would read
  // back as GitHub's default and show as a change on every preview.
  const environment = new github.RepositoryEnvironment(
    `${name}-signing-environment`,
    { repository: args.repository, environment: env, deploymentBranchPolicy: { protectedBranches: false, customBranchPolicies: true } },
    { parent, dependsOn: args.dependsOn },
  );
  new github.RepositoryEnvironmentDeploymentPolicy(
    `${name}-signing-branch`,
    { repository: args.repository, environment: env, branchPattern: args.branch },
    { parent, dependsOn: [environment] },
  );
  for (const k of ["privateKey", "password"] as const) {
    new github.ActionsEnvironmentSecret(
      `${name}-env-secret-cosign-${k}`,
      { repository: args.repository, environment: env, secretName: COSIGN_SECRETS[k], value: pulumi.secret(values[k]) },
      { parent, dependsOn: [environment] },
    );
  }
}
