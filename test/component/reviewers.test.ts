/**
 * Who reviews a mirror: the policy's review team, when the entry names no
 * reviewers, is the mirror's CODEOWNERS and makes the default-branch ruleset
 * require a code owner's approval; with no reviewers at all, neither, and
 * preview warns. Under Pulumi mocks, with the program's upstream reads off.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { runUnderMocks, ofType } from "../support/pulumi-mocks";
import type { FleetPolicy, StackSettings } from "../../components/types";
import type { MirrorEntry } from "../../components/spec";

const settings: StackSettings = { owner: "acme-corp", registryNamespace: "acme-corp", visibility: "private", branchProtection: true, attestations: false, githubPlan: "team" };
const entry: MirrorEntry = { file: "mirrors/plik.ts", spec: { name: "plik", upstream: { repo: "root-gg/plik" }, override: null } };

async function run(policy: FleetPolicy, stack: StackSettings = settings) {
  const program = await import("../../infra/program");
  // plik has no override: nothing to read.
  const readFile = (rel: string): string => {
    throw new Error(`ENOENT ${rel}`);
  };
  const noReads: FleetPolicy = { ...policy, deploy: { ...policy.deploy, healthCheck: false } };
  const { resources, result } = await runUnderMocks(() =>
    program.fleetProgram({ entries: [entry], policy: noReads, settings: stack, readFile, today: new Date("2026-11-23T00:00:00Z"), github: { apiUrl: "http://127.0.0.1:9" } }),
  );
  const codeowners = ofType(resources, "github:index/repositoryFile:RepositoryFile").find((r) => r.inputs.file === ".github/CODEOWNERS")!;
  // The mirror's ruleset (the pipeline repository has one too, without code owners).
  const ruleset = ofType(resources, "github:index/repositoryRuleset:RepositoryRuleset").find((r) => r.name === "plik-ruleset");
  return { codeowners: codeowners.inputs.content as string, pullRequest: ruleset?.inputs.rules.pullRequest, warnings: result.warnings };
}

describe("reviewers: the policy's review team", () => {
  test("GIVEN policy.reviewTeam and an entry without reviewers WHEN deployed THEN CODEOWNERS names the team and the ruleset requires a code owner's review", async () => {
    const { policy } = await import("../../infra/policy");
    assert.equal(policy.reviewTeam, "mirror-reviewers");
    const r = await run(policy);
    assert.match(r.codeowners, /\n\* @acme-corp\/mirror-reviewers\n$/);
    assert.equal(r.pullRequest.requireCodeOwnerReview, true);
    assert.deepEqual(r.warnings.filter((w: string) => w.includes("reviewers")), []);
  });

  test("GIVEN no team and no reviewers WHEN deployed THEN no code owner is required, and preview warns", async () => {
    const { policy } = await import("../../infra/policy");
    const r = await run({ ...policy, reviewers: [], reviewTeam: undefined });
    assert.doesNotMatch(r.codeowners, /^\* @/m);
    assert.equal(r.pullRequest.requireCodeOwnerReview, false);
    assert.equal(r.warnings.filter((w: string) => w.startsWith("mirrors/plik.ts: reviewers: none")).length, 1);
  });

  test("GIVEN reviewers WHEN deployed with and without the default-branch ruleset THEN CODEOWNERS says what the ruleset does: a required review that the deploying identity bypasses, or none", async () => {
    const { policy } = await import("../../infra/policy");
    const protectedBranch = await run(policy);
    assert.equal(protectedBranch.pullRequest.requireCodeOwnerReview, true);
    assert.match(protectedBranch.codeowners, /# A pull request to the default branch needs an approving review from one of these owners \(the fleet's ruleset\)\.\n# The identity `pulumi up` deploys with .* bypasses it to commit the generated files\.\n\* @/);
    const open = await run(policy, { ...settings, branchProtection: false });
    assert.equal(open.pullRequest, undefined, "no ruleset without branch protection");
    assert.match(open.codeowners, /The default branch is not protected .*\n# switch is off\), so their review is not required\.\n\* @acme-corp\/mirror-reviewers\n$/);
    assert.doesNotMatch(open.codeowners, /needs an approving review/);
  });
});
