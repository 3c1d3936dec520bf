/**
 * Two outside linters over every workflow this project writes: every mirror's
 * rendered `.github/workflows/mirror.yml` (the real mirrors in mirrors/ and
 * the edge-case specs, through renderMirrorFiles, the path the component
 * commits), the shared workflow each calls, and the fleet repository's own
 * `.github/workflows/*`.
 * - actionlint, native, at ACTIONLINT_VERSION (test/support/actionlint.ts);
 * - zizmor at ZIZMOR_VERSION, offline, default persona (test/support/zizmor.ts).
 * Both must report nothing. A zizmor finding judged wrong is silenced inline
 * (`# zizmor: ignore[rule]`) and listed with its reason in docs/workflow.md.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";
import { MIRROR_PATHS } from "../../components/mirror-config";
import { renderMirrorFiles } from "../../components/render";
import { renderSharedWorkflow, sharedWorkflowFiles } from "../../components/workflow";
import { PROJECT_ROOT } from "../../infra/mirrors";
import { actionlintVersion, describeFindings, lintWorkflow } from "../support/actionlint";
import { toolVersions } from "../support/tools";
import { describeZizmor, zizmorVersion, zizmorWorkflow } from "../support/zizmor";
import { allMirrors } from "./all-mirrors";
import { fixtureMirror, pinFor, PIPELINE } from "./fixtures";

interface Target {
  readonly label: string;
  readonly file: string;
  readonly text: string;
}

function targets(): Target[] {
  const rendered = allMirrors().flatMap(({ label, mirror }) => {
    const files = renderMirrorFiles(mirror, pinFor(mirror)).filter((f) => f.path.startsWith(".github/workflows/"));
    assert.equal(files.length, 1, `${label}: expected one workflow among the rendered files`);
    // And the shared workflow it calls, as the pipeline repository holds it.
    const [[name, shared]] = sharedWorkflowFiles([mirror], PIPELINE);
    return [
      { label: `${label} (${files[0].path})`, file: files[0].path, text: files[0].content },
      { label: `${label} (pipeline repository: .github/workflows/${name})`, file: `.github/workflows/${name}`, text: shared },
    ];
  });
  const dir = path.join(PROJECT_ROOT, ".github", "workflows");
  const own = fs
    .readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((f) => ({ label: `.github/workflows/${f}`, file: `.github/workflows/${f}`, text: fs.readFileSync(path.join(dir, f), "utf8") }));
  assert.ok(own.length > 0, `${dir} holds no workflow`);
  return [...rendered, ...own];
}

const ALL = targets();

describe("workflow linters: the tools are the pinned releases", () => {
  test("GIVEN the built actionlint WHEN asked its version THEN it is ACTIONLINT_VERSION in tools/versions.sh", () => {
    assert.equal(actionlintVersion(), toolVersions().actionlint);
  });

  test("GIVEN the installed zizmor WHEN asked its version THEN it is ZIZMOR_VERSION in tools/versions.sh", () => {
    assert.equal(zizmorVersion(), toolVersions().zizmor);
  });
});

describe("workflow linters: actionlint (native) reports nothing", () => {
  for (const t of ALL) {
    test(`GIVEN ${t.label} WHEN actionlint runs THEN it reports nothing`, async () => {
      assert.deepEqual(describeFindings(await lintWorkflow(t.text, t.file)), []);
    });
  }
});

describe("workflow linters: zizmor reports nothing", () => {
  for (const t of ALL) {
    test(`GIVEN ${t.label} WHEN zizmor runs offline at its default persona THEN it reports nothing`, () => {
      assert.deepEqual(describeZizmor(zizmorWorkflow(t.text, t.file).filter((f) => !f.ignored)), []);
    });
  }

  test("GIVEN every inline zizmor ignore in the workflows WHEN docs/workflow.md is read THEN each rule is listed there with a reason", () => {
    const docs = fs.readFileSync(path.join(PROJECT_ROOT, "docs", "workflow.md"), "utf8");
    const rules = new Set(ALL.flatMap((t) => [...t.text.matchAll(/# zizmor: ignore\[([a-z0-9-]+(?:,\s*[a-z0-9-]+)*)\]/g)].flatMap((m) => m[1].split(/,\s*/))));
    for (const rule of rules) assert.match(docs, new RegExp(`^\\| \`${rule}\` \\| .{20,}`, "m"), `docs/workflow.md: no row "| \`${rule}\` | <reason> |" for an inline ignore`);
  });
});

describe("workflow linters: both are live (a known mistake is reported)", () => {
  test("GIVEN an issue title expanded into a run script WHEN linted THEN zizmor reports template-injection and actionlint an expression finding", async () => {
    const injected = `on:\n  issues:\n    types: [opened]\npermissions: {}\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    permissions: {}\n    timeout-minutes: 5\n    steps:\n      - run: echo "\${{ github.event.issue.title }}"\n`;
    assert.deepEqual(zizmorWorkflow(injected, MIRROR_PATHS.workflow).map((f) => f.ident), ["template-injection"]);
    assert.deepEqual((await lintWorkflow(injected, MIRROR_PATHS.workflow)).map((f) => f.kind), ["expression"]);
  });

  test("GIVEN a rendered workflow whose checkout keeps the token and whose action is pinned by tag WHEN zizmor runs THEN it reports those audits", () => {
    const text = renderSharedWorkflow(fixtureMirror("gokapi"), PIPELINE);
    const broken = text.replace(/uses: actions\/checkout@[0-9a-f]{40}[^\n]*\n\s+with:\n\s+persist-credentials: false\n/, "uses: actions/checkout@v4\n");
    assert.notEqual(broken, text, "the rendered workflow no longer checks out with a pinned actions/checkout and persist-credentials: false");
    const idents = new Set(zizmorWorkflow(broken, MIRROR_PATHS.workflow).map((f) => f.ident));
    assert.ok(idents.has("artipacked"), `expected artipacked among ${[...idents].join(", ")}`);
  });

  test("GIVEN a shell mistake in a run script WHEN actionlint runs THEN shellcheck, found on PATH, reports it", async () => {
    const text = `on: push\npermissions: {}\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    timeout-minutes: 5\n    steps:\n      - run: |\n          x=$(ls *.txt)\n          cp $x /tmp\n`;
    const kinds = (await lintWorkflow(text, MIRROR_PATHS.workflow)).map((f) => f.kind);
    assert.ok(kinds.includes("shellcheck"), `shellcheck is not on PATH or found nothing (install it: apt-get install shellcheck); kinds: ${kinds.join(", ")}`);
  });
});
