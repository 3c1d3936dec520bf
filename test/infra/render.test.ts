/**
 * `npm run render` owns what it writes: a second render into the same folder
 * removes what is no longer rendered and nothing else; a folder it did not
 * write is refused; a missing stack file is named.
 */
import assert from "node:assert/strict";
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
    assert.ok(plikFiles.length > 5);

    const r = renderFleet(out, inputs(entries.filter((e) => e.file !== "mirrors/plik.ts")));

    assert.deepEqual(r.removed, plikFiles.map((f) => `mirror-plik/${f}`).sort());
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
