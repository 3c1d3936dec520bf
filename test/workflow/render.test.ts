/**
 * The rendered mirror workflow against the outside world's checkers:
 * actionlint (native, test/support/actionlint.ts; zizmor too in linters.test.ts) and SchemaStore's
 * schema, for the fixture fleet, edge-case specs and every mirror in the user's mirrors/; the golden files of
 * the fixture fleet's Gokapi and plik; and the
 * guards of the workflow model.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";
import { header } from "../../components/header";
import { MIRROR_PATHS } from "../../components/mirror-config";
import { renderMirrorFiles } from "../../components/render";
import type { ResolvedMirror } from "../../components/types";
import { renderSharedWorkflow, renderWorkflow, RUNNER, sharedWorkflowFile } from "../../components/workflow";
import { expr, toGithub, type Job, type Workflow } from "../../components/workflow/model";
import { checkTrivyVersion } from "../../components/workflow/trivy";
import { PROJECT_ROOT } from "../../infra/mirrors";
import { describeFindings, lintWorkflow } from "../support/actionlint";
import { allMirrors } from "./all-mirrors";
import { fixtureMirror, pinFor, schemaErrors, PIPELINE } from "./fixtures";

const GOLDEN_DIR = path.join(PROJECT_ROOT, "test", "golden", "workflows");
const GOLDEN = ["gokapi", "plik"];

describe("rendered workflows: actionlint and schema", () => {
  for (const { label, mirror } of allMirrors()) {
    test(`GIVEN ${label} WHEN its workflow and its shared workflow are rendered THEN actionlint reports nothing on either`, async () => {
      assert.deepEqual(describeFindings(await lintWorkflow(renderWorkflow(mirror, pinFor(mirror)), MIRROR_PATHS.workflow)), []);
      const shared = renderSharedWorkflow(mirror, PIPELINE);
      assert.deepEqual(describeFindings(await lintWorkflow(shared, `.github/workflows/${sharedWorkflowFile(mirror, PIPELINE.repository)}`)), []);
      // The scope that actionlint before v1.7 rejected is really in the file where attestations are on.
      assert.equal(shared.includes("      attestations: write\n"), mirror.attestations);
    });

    test(`GIVEN ${label} WHEN rendered THEN the workflow and its shared workflow are valid against SchemaStore's github-workflow schema`, () => {
      assert.deepEqual(schemaErrors(renderWorkflow(mirror, pinFor(mirror))), []);
      assert.deepEqual(schemaErrors(renderSharedWorkflow(mirror, PIPELINE)), []);
    });
  }

  test("GIVEN a workflow with known mistakes WHEN linted THEN actionlint reports them (the linter is really running)", async () => {
    const broken = `on: push\njobs:\n  a:\n    runs-on: ${RUNNER}\n    needs: [nope]\n    steps:\n      - run: echo \${{ github.event.issue.title }}\n`;
    const kinds = (await lintWorkflow(broken, MIRROR_PATHS.workflow)).map((f) => f.kind).sort();
    assert.deepEqual(kinds, ["expression", "job-needs"]);
  });

  // One mistake each, made in a rendered workflow: what a newer actionlint
  // accepts (the scope, the label) is still checked, not waved through.
  const attested = () => allMirrors().find((c) => c.label === "attestations on (stack setting)")!.mirror;
  const mistakes: Array<[string, () => ResolvedMirror, string, string, string, RegExp]> = [
    ["a misspelt permission scope", attested, "      attestations: write\n", "      attestation: write\n", "permissions", /^unknown permission scope "attestation"\./],
    ["an unknown runner label", () => fixtureMirror("gokapi"), `    runs-on: ${RUNNER}\n`, "    runs-on: ubuntu-14.04\n", "runner-label", /^label "ubuntu-14\.04" is unknown\./],
    ["an expression reading a job it does not need", () => fixtureMirror("plik"), "needs.resolve.outputs.", "needs.resolv.outputs.", "expression", /^property "resolv" is not defined in object type \{/],
  ];
  for (const [what, mirror, from, to, kind, message] of mistakes) {
    test(`GIVEN a rendered workflow with ${what} WHEN linted THEN actionlint reports exactly that (${kind})`, async () => {
      const text = renderSharedWorkflow(mirror(), PIPELINE);
      const broken = text.replace(from, to);
      assert.notEqual(broken, text, `the rendered workflow no longer holds ${JSON.stringify(from)}`);
      const found = await lintWorkflow(broken, MIRROR_PATHS.workflow);
      assert.deepEqual(found.map((f) => f.kind), [kind], describeFindings(found).join("\n"));
      assert.match(found[0].message, message);
    });
  }

  test("GIVEN a workflow with a bad permission level WHEN validated THEN the schema rejects it (the schema is really checked)", () => {
    const text = renderSharedWorkflow(fixtureMirror("gokapi"), PIPELINE).replace("      contents: read\n", "      contents: admin\n");
    assert.notDeepEqual(schemaErrors(text), []);
  });

  test("GIVEN a mirror WHEN rendered THEN every job runs on the pinned runner image, never a moving label", () => {
    const labels = [...renderSharedWorkflow(fixtureMirror("gokapi"), PIPELINE).matchAll(/^ {4}runs-on: (.*)$/gm)].map((x) => x[1]);
    assert.ok(labels.length > 0);
    assert.deepEqual([...new Set(labels)], ["ubuntu-24.04"]);
  });
});

describe("rendered workflows: golden files", () => {
  for (const name of GOLDEN) {
    test(`GIVEN the fixture fleet's mirrors/${name}.ts WHEN rendered THEN its workflow and its shared workflow equal test/golden/workflows/${name}.yml and ${name}.shared.yml (UPDATE_GOLDEN=1 rewrites them)`, () => {
      const m = fixtureMirror(name);
      for (const [file, text] of [
        [path.join(GOLDEN_DIR, `${name}.yml`), renderWorkflow(m, pinFor(m))],
        [path.join(GOLDEN_DIR, `${name}.shared.yml`), renderSharedWorkflow(m, PIPELINE)],
      ]) {
        if (process.env.UPDATE_GOLDEN === "1") {
          fs.mkdirSync(GOLDEN_DIR, { recursive: true });
          fs.writeFileSync(file, text);
        }
        assert.ok(fs.existsSync(file), `${file} is missing: run UPDATE_GOLDEN=1 node --import tsx --test test/workflow/render.test.ts`);
        assert.equal(text, fs.readFileSync(file, "utf8"), `${file} differs: review the diff, then UPDATE_GOLDEN=1 to accept it`);
      }
    });
  }
});

describe("rendered workflows: file shape", () => {
  test("GIVEN a mirror WHEN rendered THEN the generated-file header comes first and names the entry", () => {
    const m = fixtureMirror("gokapi");
    const text = renderWorkflow(m, PIPELINE);
    assert.ok(text.startsWith(header("#", "mirrors/gokapi.ts, infra/policy.ts and components/workflow.ts")));
  });

  test("GIVEN the same mirror WHEN rendered twice THEN the bytes are equal, and renderMirrorFiles commits exactly that text", () => {
    const m = fixtureMirror("plik");
    assert.equal(renderWorkflow(m, PIPELINE), renderWorkflow(m, PIPELINE));
    const files = renderMirrorFiles(m, PIPELINE).filter((f) => f.path === MIRROR_PATHS.workflow);
    assert.equal(files.length, 1);
    assert.equal(files[0].content, renderWorkflow(m, PIPELINE));
  });
});

describe("workflow model guards", () => {
  const base = (steps: Job["steps"], needs?: string[]): Workflow => ({
    name: "t",
    on: { push: { paths: ["x"] } },
    concurrency: { group: "g", cancelInProgress: false },
    runsOn: "ubuntu-latest",
    jobs: { a: { name: "a", needs, permissions: {}, timeoutMinutes: 5, steps } },
  });

  test("GIVEN a run script holding ${{ }} WHEN rendered THEN it throws, naming the job and step", () => {
    assert.throws(() => toGithub(base([{ name: "s", run: "echo ${{ github.event.issue.title }}\n" }])), {
      message: 'jobs.a: step "s": run script holds ${{ }} (allowed: pass data through env:)',
    });
  });

  test("GIVEN a job that needs a job not written before it WHEN rendered THEN it throws", () => {
    assert.throws(() => toGithub(base([{ name: "s", run: "true\n" }], ["later"])), { message: "jobs.a.needs: later is not a job written before a" });
  });

  test("GIVEN an expression source holding ${{ WHEN built THEN expr refuses it", () => {
    assert.throws(() => expr("${{ github.token }}"), { message: 'expression "${{ github.token }}" must not contain ${{ or }}' });
  });

  const versions: Array<[string, string]> = [
    ["latest", 'policy.trivy.version: "latest" is not allowed (allowed: an exact release such as "0.74.0", never "latest")'],
    ["0.69.4", "policy.trivy.version: 0.69.4 is a known malicious release (GHSA-69fq-xp46-6x23) (allowed: any other release)"],
    ["v0.74.0", 'policy.trivy.version: "v0.74.0" is not allowed (allowed: an exact release such as "0.74.0", never "latest")'],
  ];
  for (const [version, message] of versions) {
    test(`GIVEN policy.trivy.version ${version} WHEN the workflow is rendered THEN it throws`, () => {
      assert.throws(() => checkTrivyVersion(version), { message });
      assert.throws(() => renderWorkflow({ ...fixtureMirror("gokapi"), trivyVersion: version }, PIPELINE), { message });
    });
  }
});
