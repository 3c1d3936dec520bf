/**
 * The e2e's table of action stand-ins (test/e2e/actions.ts) against what the
 * workflows use and what the README of test/actions says; the tool versions
 * the stand-ins hand out against the versions the workflow asks for.
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import { ACTIONS, type ActionKey } from "../../components/pins";
import { renderSharedWorkflow, renderWorkflow, sharedWorkflowFile } from "../../components/workflow";
import { COSIGN_SIGN_RELEASE } from "../../components/workflow/sign";
import { COSIGN_RELEASE } from "../../components/workflow/trivy";
import { resolveFleet } from "../../components/spec";
import { readProjectFile } from "../../infra/mirrors";
import { policy } from "../../infra/policy";
import { toolVersions } from "../support/tools";
import { calledWorkflow, STAND_INS, usesOf } from "./actions";
import spec from "./fixtures/e2e-hello";
import { renderActionFile, SHARED_WORKFLOW_DIR } from "../../components/pipeline-action";
import { PIPELINE, pinFor, SHARED_COMMIT } from "../workflow/fixtures";

const ROOT = path.resolve(__dirname, "..", "..");
/** The e2e mirror's committed pair, as act runs it: its caller and the shared workflow the caller names. */
const e2eWorkflows = () => {
  const settings = { owner: "e2e-org", registryNamespace: "e2e-org", registry: "127.0.0.1:5000", visibility: "private" as const, branchProtection: false, attestations: false, cosignPublicKey: "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n" };
  const m = resolveFleet([{ file: "test/e2e/fixtures/e2e-hello.ts", spec: { ...spec, notify: ["slack"] } }], { policy, settings, readFile: readProjectFile }).mirrors[0];
  return { m, caller: renderWorkflow(m, pinFor(m)), shared: renderSharedWorkflow(m, PIPELINE) };
};

test("GIVEN the e2e mirror's rendered caller, the shared workflow it calls and the pipeline action that runs WHEN their uses: are read THEN each is a pinned action with a stand-in folder that has an action.yml, but the fleet's own pipeline (exported from the GitHub stand-in)", () => {
  const { m, caller, shared } = e2eWorkflows();
  // The caller names only its shared workflow, at the commit that wrote it (what actions.ts maps, then reads on).
  assert.deepEqual(usesOf(caller), [`${PIPELINE.repository}/${SHARED_WORKFLOW_DIR}/${sharedWorkflowFile(m, PIPELINE.repository)}@${SHARED_COMMIT}`]);
  assert.deepEqual(calledWorkflow(caller), { repository: PIPELINE.repository, path: `${SHARED_WORKFLOW_DIR}/${sharedWorkflowFile(m, PIPELINE.repository)}`, commit: SHARED_COMMIT });
  const workflowUses = usesOf(shared);
  const pipeline = workflowUses.filter((ref) => ref.startsWith(`${PIPELINE.repository}@`));
  assert.deepEqual(pipeline, [`${PIPELINE.repository}@${PIPELINE.commit}`], "the workflow runs the fleet's pipeline at one commit");
  // What the pipeline action uses in turn (actions.ts maps those too).
  const uses = [...workflowUses.filter((ref) => !pipeline.includes(ref)), ...usesOf(renderActionFile(PIPELINE.bundleSha256))];
  assert.ok(uses.length >= 5, `only ${uses.length} uses:`);
  for (const ref of uses) {
    const key = (Object.keys(ACTIONS) as ActionKey[]).find((k) => ref === `${ACTIONS[k].uses}@${ACTIONS[k].sha}`);
    assert.ok(key, `${ref} is not a pinned action of components/pins.ts`);
    const s = STAND_INS[key];
    assert.ok(s, `${ref} (${key}) has no stand-in in test/e2e/actions.ts`);
    const sub = ACTIONS[key].uses.split("/").slice(2).join("/");
    assert.ok(fs.existsSync(path.join(ROOT, "test", "actions", s.dir, sub, "action.yml")), `test/actions/${s.dir}/${sub}/action.yml is missing`);
  }
});

test("GIVEN the stand-in table WHEN compared with test/actions/README.md THEN every stand-in is a row with its pinned SHA and release", () => {
  const readme = fs.readFileSync(path.join(ROOT, "test", "actions", "README.md"), "utf8");
  for (const [key, s] of Object.entries(STAND_INS) as Array<[ActionKey, { dir: string }]>) {
    const a = ACTIONS[key];
    const row = readme.split("\n").find((l) => l.includes(`\`${a.uses}@${a.sha}\``));
    assert.ok(row, `test/actions/README.md has no row for ${a.uses}@${a.sha}`);
    assert.ok(row.includes(`| ${a.version} |`) && row.includes(`\`${s.dir}/`), `the row of ${a.uses} names another release or folder: ${row}`);
  }
});

test("GIVEN the releases the workflow asks for WHEN compared with tools/versions.sh THEN the stand-ins have them built", () => {
  const v = toolVersions();
  assert.equal(COSIGN_RELEASE, `v${v.cosign_v3}`, "the cosign that verifies Trivy's release (components/workflow/trivy.ts) is COSIGN_V3_VERSION");
  assert.equal(COSIGN_SIGN_RELEASE, `v${v.cosign}`, "the cosign that signs is COSIGN_VERSION");
  assert.equal(v.mirror_node.split(".")[0], policy.nodeVersion, "MIRROR_NODE_VERSION is a release of the Node.js major the workflow's setup-node asks for");
});
