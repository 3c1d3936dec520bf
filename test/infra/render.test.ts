/**
 * `npm run render` owns what it writes: a second render into the same folder
 * removes what is no longer rendered and nothing else; a folder it did not
 * write is refused; a missing stack file is named.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, describe, test } from "node:test";
import { policy } from "../../infra/policy";
import { main, renderFleet, RenderError, USAGE, type RenderInputs } from "../../infra/render";
import type { StackSettings } from "../../components/types";
import { FIXTURE_FLEET } from "../support/fleets";
import { USER_FLEET } from "../support/user-fleet";

const settings: StackSettings = { owner: "acme-corp", registryNamespace: "acme-corp", visibility: "private", branchProtection: true, attestations: false };
const today = new Date("2026-11-23T12:00:00Z");
const entries = FIXTURE_FLEET.entries();
const inputs = (e = entries): RenderInputs => ({ entries: e, policy, settings, readFile: FIXTURE_FLEET.readFile, today });

const dirs: string[] = [];
const tmp = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), "render-test-"));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});
const filesUnder = (dir: string) =>
  fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => path.relative(dir, path.join(d.parentPath, d.name)))
    .sort();

describe("renderFleet: render owns what it writes (the fixture fleet)", () => {
  test("GIVEN a folder rendered with gokapi and plik WHEN rendered again without plik THEN plik's files are removed and nothing else", () => {
    const out = tmp();
    renderFleet(out, inputs());
    // Not render's: a checkout's .git and a note next to the mirrors stay.
    fs.mkdirSync(path.join(out, "mirror-gokapi", ".git"));
    fs.writeFileSync(path.join(out, "mirror-gokapi", ".git", "HEAD"), "ref: refs/heads/main\n");
    fs.writeFileSync(path.join(out, "mirror-plik", "NOTES"), "mine\n");
    const plikFiles = filesUnder(path.join(out, "mirror-plik")).filter((f) => f !== "NOTES");
    // README, CODEOWNERS, config, .trivyignore.yaml, workflow: plik has no override and no waiver.
    assert.ok(plikFiles.length >= 5, plikFiles.join(", "));

    const r = renderFleet(out, inputs(entries.filter((e) => e.file !== "mirrors/plik.ts")));

    // And plik's shared workflow: no mirror left has its shape.
    const shared = r.removed.filter((f) => f.startsWith("mirror-fleet-pipeline/"));
    assert.equal(shared.length, 1, shared.join(", "));
    assert.match(shared[0], /^mirror-fleet-pipeline\/\.github\/workflows\/mirror-[0-9a-f]{12}\.yml$/);
    assert.equal(fs.existsSync(path.join(out, shared[0])), false);
    assert.deepEqual(r.removed, [...shared, ...plikFiles.map((f) => `mirror-plik/${f}`)].sort());
    assert.deepEqual(filesUnder(path.join(out, "mirror-plik")), ["NOTES"]);
    assert.ok(fs.existsSync(path.join(out, "mirror-gokapi", ".git", "HEAD")));
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(out, "inventory.json"), "utf8")).mirrors.map((m: { name: string }) => m.name), ["gokapi"]);
  });

  test("GIVEN a folder rendered before WHEN rendered again unchanged THEN nothing is removed", () => {
    const out = tmp();
    const first = renderFleet(out, inputs());
    const again = renderFleet(out, inputs());
    assert.deepEqual(again.removed, []);
    assert.equal(again.files, first.files);
    assert.equal(filesUnder(out).length, first.files + 1);
  });

  test("GIVEN a non-empty folder render did not write WHEN rendered into THEN it is refused and left alone", () => {
    const out = tmp();
    fs.writeFileSync(path.join(out, "thesis.tex"), "x");
    assert.throws(() => renderFleet(out, inputs()), (e: Error) => {
      assert.ok(e instanceof RenderError);
      assert.equal(e.message, `${out} is not empty and was not written by \`npm run render\` (no readable inventory.json listing its files): choose a new or empty folder`);
      return true;
    });
    assert.deepEqual(filesUnder(out), ["thesis.tex"]);
  });
});

describe("npm run render: the command", () => {
  const run = (argv: string[], root?: string) => {
    let stdout = "";
    let stderr = "";
    const code = main(argv, { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t) }, root);
    return { code, stdout, stderr };
  };

  test("GIVEN --help WHEN run THEN the usage on stdout and exit 0", () => {
    assert.deepEqual(run(["--help"]), { code: 0, stdout: USAGE, stderr: "" });
  });

  test("GIVEN an unknown option WHEN run THEN the usage on stderr and exit 2", () => {
    const r = run(["--out", "x", "--force"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^render: Unknown option '--force'/);
    assert.ok(r.stderr.endsWith(USAGE));
  });

  test("GIVEN --stack dev without Pulumi.dev.yaml WHEN run THEN it names the missing file and the stacks there are", () => {
    const root = tmp();
    fs.writeFileSync(path.join(root, "Pulumi.prod.yaml"), "config: {}\n");
    fs.writeFileSync(path.join(root, "Pulumi.yaml"), "name: x\n");
    const r = run(["--out", path.join(root, "out"), "--stack", "dev"], root);
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr,
      `render: --stack dev: Pulumi.dev.yaml does not exist in ${root} (allowed: a stack with a settings file: prod; or copy Pulumi.prod.yaml to Pulumi.dev.yaml and edit it)\n`,
    );
    assert.equal(fs.existsSync(path.join(root, "out")), false);
  });

  test("GIVEN the project (the user's mirrors/) WHEN rendered twice THEN one mirror per entry, the second run reports nothing removed and exit 0", () => {
    const out = path.join(tmp(), "fleet");
    const first = run(["--out", out], USER_FLEET.root);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, new RegExp(`^rendered \\d+ files for ${USER_FLEET.entries().length} mirrors into `));
    assert.doesNotMatch(run(["--out", out], USER_FLEET.root).stdout, /removed/);
  });
});

describe("render and the pipeline's commit (issue 21)", () => {
  const commit = "9f8e7d6c5b4a39281706f5e4d3c2b1a098765432";

  const SHARED = /^\.github\/workflows\/mirror-[0-9a-f]{12}\.yml$/;

  test("GIVEN no commits WHEN rendered THEN the pipeline repository is written with a shared workflow per shape, every workflow names the marked placeholder, the inventory says the commit is not known, and a note says how to give it", () => {
    const out = tmp();
    const r = renderFleet(out, inputs());
    const files = filesUnder(path.join(out, "mirror-fleet-pipeline"));
    assert.deepEqual(files.filter((f) => !SHARED.test(f)), ["README.md", "action.yml", "pipeline.cjs"]);
    assert.equal(files.filter((f) => SHARED.test(f)).length, 2, "gokapi and plik differ in shape");
    const wf = fs.readFileSync(path.join(out, "mirror-gokapi", ".github/workflows/mirror.yml"), "utf8");
    assert.match(wf, /uses: acme-corp\/mirror-fleet-pipeline\/\.github\/workflows\/mirror-[0-9a-f]{12}\.yml@0{40} # placeholder: /);
    for (const f of files.filter((x) => SHARED.test(x))) {
      assert.match(fs.readFileSync(path.join(out, "mirror-fleet-pipeline", f), "utf8"), /uses: acme-corp\/mirror-fleet-pipeline@0{40} # placeholder: /);
    }
    assert.equal(r.inventory.pipeline?.commit, null);
    assert.deepEqual(r.notes.length, 1);
    assert.match(r.notes[0], /give --pipeline FILE \(pulumi stack output pipeline --json > FILE\)/);
    for (const m of ["mirror-gokapi", "mirror-plik"]) assert.equal(filesUnder(path.join(out, m)).some((f) => f.endsWith(".cjs")), false, `${m} holds a bundle`);
  });

  test("GIVEN the stack's commits WHEN rendered THEN every workflow calls its shared workflow at its commit, each shared workflow names action.yml's commit with the bundle's sha256, the inventory names the pipeline, and no note", () => {
    const names = filesUnder(path.join((() => { const o = tmp(); renderFleet(o, inputs()); return o; })(), "mirror-fleet-pipeline")).filter((f) => SHARED.test(f)).map((f) => f.split("/").pop()!);
    const workflows = Object.fromEntries(names.map((n, i) => [n, `${i + 1}`.repeat(40)]));
    const out = tmp();
    const r = renderFleet(out, { ...inputs(), pipelineCommit: commit, pipelineWorkflows: workflows });
    const bundleSha = createHash("sha256").update(fs.readFileSync(path.join(out, "mirror-fleet-pipeline", "pipeline.cjs"))).digest("hex");
    for (const m of ["mirror-gokapi", "mirror-plik"]) {
      const wf = fs.readFileSync(path.join(out, m, ".github/workflows/mirror.yml"), "utf8");
      assert.doesNotMatch(wf, /placeholder/);
      const call = /uses: acme-corp\/mirror-fleet-pipeline\/\.github\/workflows\/(mirror-[0-9a-f]{12}\.yml)@([0-9a-f]{40})\n/.exec(wf)!;
      assert.equal(call[2], workflows[call[1]]);
    }
    for (const n of names) {
      const shared = fs.readFileSync(path.join(out, "mirror-fleet-pipeline", ".github/workflows", n), "utf8");
      assert.doesNotMatch(shared, /placeholder/);
      const uses = [...shared.matchAll(/uses: acme-corp\/mirror-fleet-pipeline@([0-9a-f]{40})\n\s+with:\n\s+node-version: "\d+"\n\s+bundle-sha256: ([0-9a-f]{64})\n/g)];
      assert.ok(uses.length >= 9 && uses.every((u) => u[1] === commit && u[2] === bundleSha), n);
    }
    assert.deepEqual({ ...r.inventory.pipeline, files: undefined }, { repository: "acme-corp/mirror-fleet-pipeline", commit, bundleSha256: bundleSha, files: undefined });
    assert.deepEqual(Object.keys(r.inventory.pipeline!.files).sort(), ["README.md", "action.yml", "pipeline.cjs", ...names.map((n) => `.github/workflows/${n}`)].sort());
    assert.deepEqual(r.notes, []);
  });

  test("GIVEN a folder rendered with the pipeline WHEN rendered again THEN nothing is removed; a --pipeline file that is not the stack's output is refused, naming the field", () => {
    const out = path.join(tmp(), "fleet");
    renderFleet(out, inputs());
    assert.deepEqual(renderFleet(out, { ...inputs(), pipelineCommit: commit }).removed, []);
    const cases: Array<[string, string]> = [
      ['{"commit":"main","workflows":{}}', 'commit: "main" is not allowed (allowed: a full commit SHA, 40 lowercase hex) (allowed: the JSON of pulumi stack output pipeline --json)'],
      [`{"commit":"${commit}"}`, "workflows: missing (allowed: the JSON of pulumi stack output pipeline --json)"],
      [`{"commit":"${commit}","workflows":{"mirror-0.yml":"v1"}}`, 'workflows.mirror-0.yml: "v1" is not allowed (allowed: a full commit SHA, 40 lowercase hex)'],
    ];
    for (const [json, message] of cases) {
      const file = path.join(tmp(), "pipeline.json");
      fs.writeFileSync(file, json);
      let stderr = "";
      const code = main(["--out", out, "--pipeline", file], { stdout: () => undefined, stderr: (t) => void (stderr += t) });
      assert.equal(code, 2);
      assert.equal(stderr, `render: --pipeline ${file}: ${message}\n`);
    }
  });
});
