/**
 * Red team, issue 17 item 7: the fleet's signing key was a plain repository
 * secret and the publish job had no `environment:`: anyone who can push a
 * branch to a mirror could add a workflow that prints it. Now, where GitHub
 * gives the repository environments (public repositories; private ones on
 * Pro, Team and Enterprise), the key is a secret of the `mirror-signing`
 * environment, whose deployment-branch policy lists the default branch only,
 * and the two jobs that sign are the only ones that enter it. Private
 * repositories on GitHub Free keep repository secrets (README, "Signing").
 *
 * The component runs under Pulumi mocks; its inputs are checked against the
 * provider's own schema (test/testdata/schemas/pulumi-github-schema.json).
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";
import { MirroredImage } from "../../components/mirrored-image";
import type { GithubPlan, StackSettings } from "../../components/types";
import { renderEffectiveWorkflow } from "../../components/workflow";
import { TESTDATA } from "../fixtures/pipeline/harness";
import { runUnderMocks, ofType } from "../support/pulumi-mocks";
import { FLEET_PUBLIC_KEY, resolveOne, SETTINGS, PIPELINE } from "../workflow/fixtures";
import { parseWorkflow, type Obj } from "../workflow/steps";

const SCHEMA = JSON.parse(fs.readFileSync(path.join(TESTDATA, "schemas", "pulumi-github-schema.json"), "utf8")) as {
  resources: Record<string, { inputProperties: Record<string, unknown>; requiredInputs?: string[] }>;
};

function signed(settings: Partial<StackSettings>) {
  return resolveOne({ name: "signed", upstream: { repo: "acme/signed" }, override: null }, { ...SETTINGS, cosignPublicKey: FLEET_PUBLIC_KEY, ...settings });
}

async function declared(settings: Partial<StackSettings>, plan: GithubPlan) {
  const mirror = signed({ ...settings, githubPlan: plan });
  const { resources } = await runUnderMocks(() => new MirroredImage("signed", { mirror, pipeline: PIPELINE, cosign: { privateKey: "ENCRYPTED KEY", password: "pw" }, githubPlan: plan }));
  return { mirror, resources };
}

/** Jobs whose text names the key, with their environment. */
function jobsHoldingKey(text: string): Array<[string, unknown]> {
  const jobs = (parseWorkflow(text).jobs ?? {}) as Record<string, Obj>;
  return Object.entries(jobs).filter(([, j]) => JSON.stringify(j).includes("secrets.COSIGN_")).map(([id, j]) => [id, j.environment]);
}

describe("adversarial (issue 17 #7): the signing key is readable only by the default branch's signing jobs, where the plan allows", () => {
  for (const [label, settings, plan] of [["private, team plan", {}, "team"], ["private, enterprise", {}, "enterprise"], ["public, free plan", { visibility: "public" as const }, "free"]] as const) {
    test(`GIVEN ${label} WHEN deployed THEN the key is a secret of the mirror-signing environment (default branch only), and only publish and reattest enter it`, async () => {
      const { mirror, resources } = await declared(settings, plan);
      const envs = ofType(resources, "github:index/repositoryEnvironment:RepositoryEnvironment");
      assert.deepEqual(envs.map((e) => [e.inputs.environment, e.inputs.deploymentBranchPolicy]), [["mirror-signing", { protectedBranches: false, customBranchPolicies: true }]]);
      const branches = ofType(resources, "github:index/repositoryEnvironmentDeploymentPolicy:RepositoryEnvironmentDeploymentPolicy");
      assert.deepEqual(branches.map((b) => [b.inputs.environment, b.inputs.branchPattern, b.inputs.tagPattern]), [["mirror-signing", "main", undefined]]);
      const secrets = ofType(resources, "github:index/actionsEnvironmentSecret:ActionsEnvironmentSecret");
      assert.deepEqual(secrets.map((s) => [s.inputs.environment, s.inputs.secretName]).sort(), [["mirror-signing", "COSIGN_PASSWORD"], ["mirror-signing", "COSIGN_PRIVATE_KEY"]]);
      assert.deepEqual(ofType(resources, "github:index/actionsSecret:ActionsSecret").map((s) => s.inputs.secretName), [], "no repository secret holds the key");
      assert.deepEqual(jobsHoldingKey(renderEffectiveWorkflow(mirror, PIPELINE)), [["publish", "mirror-signing"], ["reattest", "mirror-signing"]]);

      // Every input is one the provider declares, every required one is given.
      for (const r of [...envs, ...branches, ...secrets]) {
        const s = SCHEMA.resources[r.type];
        assert.ok(s, `${r.type} is not in the provider's schema`);
        for (const k of Object.keys(r.inputs)) assert.ok(k in s.inputProperties, `${r.type}: ${k} is not an input of the provider`);
        for (const k of s.requiredInputs ?? []) assert.ok(r.inputs[k] !== undefined, `${r.type}: required input ${k} is missing`);
      }
    });
  }

  test("GIVEN a private repository on GitHub Free (no environments there) WHEN deployed THEN the key stays a repository secret and no job claims an environment GitHub would not enforce", async () => {
    const { mirror, resources } = await declared({}, "free");
    assert.equal(mirror.signing?.environment, null);
    assert.deepEqual(ofType(resources, "github:index/repositoryEnvironment:RepositoryEnvironment"), []);
    assert.deepEqual(ofType(resources, "github:index/actionsSecret:ActionsSecret").map((s) => s.inputs.secretName).sort(), ["COSIGN_PASSWORD", "COSIGN_PRIVATE_KEY"]);
    assert.deepEqual(jobsHoldingKey(renderEffectiveWorkflow(mirror, PIPELINE)), [["publish", undefined], ["reattest", undefined]]);
  });
});
