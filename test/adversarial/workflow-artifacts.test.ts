/**
 * Issue 12, item 14: jobs that hold a write token treat build outputs as
 * data. The build job runs upstream's Dockerfile and a third-party scanner,
 * so whatever it uploads may be hostile. Before the fix, `publish`
 * downloaded the `image` artifact into the workspace root, where
 * `.mirror/pipeline.cjs` lives, and then ran that file with
 * `packages: write`: an artifact carrying `.mirror/pipeline.cjs` replaced
 * the code that pushes. Now every download lands in a folder of its own that
 * holds no committed file, and publish checks the archive against the hash
 * the build job recorded, with coreutils, before any step holds a token.
 * (Since issue 21 the pipeline runs from the pipeline action, outside the
 * workspace; the committed files the steps read are still in it.)
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";
import { PIPELINE_COMMAND } from "../../components/pipeline-action";
import { renderMirrorFiles } from "../../components/render";
import { renderEffectiveWorkflow } from "../../components/workflow";
import { allMirrors } from "../workflow/all-mirrors";
import { fixtureMirror, PIPELINE } from "../workflow/fixtures";
import { jobs, parseWorkflow, runStep, step, steps, tempDir, type Obj } from "../workflow/steps";

const isDownload = (s: Obj) => typeof s.uses === "string" && s.uses.startsWith("actions/download-artifact@");
const holdsWrite = (j: Obj) => Object.values((j.permissions ?? {}) as Record<string, string>).includes("write");

/** A step that runs with the job's token or a secret, or runs the pipeline (which is given one). */
function privileged(s: Obj): boolean {
  const values = [...Object.values((s.env ?? {}) as Obj), ...Object.values((s.with ?? {}) as Obj)].map(String);
  return values.some((v) => /\bgithub\.token\b|\bsecrets\./.test(v)) || String(s.run ?? "").includes(PIPELINE_COMMAND);
}

const ARCHIVE_SHA = "${{ needs.build.outputs.archive_sha256 }}";

describe("adversarial (issue 12 #14): artifacts land in folders of their own", () => {
  for (const { label, mirror } of allMirrors()) {
    test(`GIVEN ${label} WHEN a job holding a write token downloads an artifact THEN it goes into its own folder, apart from every committed file`, () => {
      const committed = renderMirrorFiles(mirror, PIPELINE).map((f) => f.path);
      const doc = parseWorkflow(renderEffectiveWorkflow(mirror, PIPELINE));
      for (const [id, j] of Object.entries(jobs(doc)).filter(([, j]) => holdsWrite(j))) {
        const dirs: string[] = [];
        for (const s of (j.steps as Obj[]).filter(isDownload)) {
          const dir = String((s.with as Obj).path ?? "");
          const where = `jobs.${id} step "${String(s.name)}": path ${JSON.stringify(dir)}`;
          const norm = path.posix.normalize(dir).replace(/\/$/, "");
          assert.ok(norm !== "." && norm !== "" && !norm.startsWith("/") && !norm.startsWith(".."), `${where} is the workspace root or outside it`);
          for (const f of committed) assert.ok(f !== norm && !f.startsWith(`${norm}/`), `${where} holds the committed file ${f}`);
          assert.ok(!dirs.includes(norm), `${where} is shared with another download`);
          dirs.push(norm);
        }
      }
    });
  }
});

describe("adversarial (issue 12 #14): publish checks the archive before anything holds a token", () => {
  const doc = parseWorkflow(renderEffectiveWorkflow(fixtureMirror("gokapi"), PIPELINE));
  const publish = steps(doc, "publish");
  const checkAt = publish.findIndex((s) => (s.env as Obj | undefined)?.ARCHIVE_SHA256 === ARCHIVE_SHA);

  test("GIVEN the publish job WHEN read THEN a token-free check of the archive's hash comes after its download and before the first step that holds a token", () => {
    const downloadAt = publish.findIndex((s) => isDownload(s) && (s.with as Obj).name === "image");
    const firstPrivileged = publish.findIndex(privileged);
    assert.ok(checkAt >= 0, `no publish step reads ${ARCHIVE_SHA}`);
    assert.ok(downloadAt >= 0 && downloadAt < checkAt, "the check must follow the image download");
    assert.ok(firstPrivileged > checkAt, `step ${firstPrivileged} ("${String(publish[firstPrivileged]?.name)}") holds a token before the check`);
    assert.equal(privileged(publish[checkAt]), false);
    const dir = String((publish[downloadAt].with as Obj).path);
    assert.match(String(step(doc, "publish", "publish").run), new RegExp(`--archive ${dir}/image\\.tar `));
  });

  function workspace(archive: Buffer, extra: Record<string, string> = {}): { cwd: string; dir: string } {
    const cwd = tempDir("mirror-publish-ws-");
    const dir = String((publish.find((s) => isDownload(s) && (s.with as Obj).name === "image")!.with as Obj).path);
    fs.mkdirSync(path.join(cwd, dir), { recursive: true });
    fs.writeFileSync(path.join(cwd, dir, "image.tar"), archive);
    for (const [f, body] of Object.entries(extra)) {
      fs.mkdirSync(path.dirname(path.join(cwd, dir, f)), { recursive: true });
      fs.writeFileSync(path.join(cwd, dir, f), body);
    }
    return { cwd, dir };
  }
  const archive = Buffer.from("an OCI archive, as the build job hashed it\n");
  const sha = createHash("sha256").update(archive).digest("hex");

  test("GIVEN the archive the build job hashed WHEN checked THEN the step passes", () => {
    const { cwd } = workspace(archive);
    const r = runStep(publish[checkAt], cwd, { ARCHIVE_SHA256: sha });
    assert.equal(r.status, 0, r.stderr + r.stdout);
  });

  const attacks: Array<[string, () => { cwd: string }, string, RegExp]> = [
    ["an archive swapped after the build", () => workspace(Buffer.from("another archive\n")), sha, /FAILED|did NOT match/],
    ["an artifact that also carries a committed file", () => workspace(archive, { ".mirror/config.yml": "schema: 1\n" }), sha, /holds more than image\.tar/],
    ["no hash from the build job (its output is empty)", () => workspace(archive), "", /gave no archive sha256/],
    ["a hash that is not 64 hex digits", () => workspace(archive), `${sha} x`, /gave no archive sha256/],
  ];
  for (const [what, ws, given, message] of attacks) {
    test(`GIVEN ${what} WHEN checked THEN the step fails and nothing is pushed`, () => {
      const r = runStep(publish[checkAt], ws().cwd, { ARCHIVE_SHA256: given });
      assert.notEqual(r.status, 0);
      assert.match(r.stdout + r.stderr, message);
    });
  }

  test("GIVEN the build job WHEN its digest step runs THEN it outputs the archive's sha256, which the job hands on as archive_sha256", () => {
    const cwd = tempDir("mirror-build-ws-");
    fs.writeFileSync(path.join(cwd, "image.tar"), archive);
    fs.mkdirSync(path.join(cwd, "audit"));
    const r = runStep(step(doc, "build", "image"), cwd, { DIGEST: `sha256:${"a".repeat(64)}` });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.outputs.archive_sha256, sha);
    assert.equal(((jobs(doc).build.outputs ?? {}) as Obj).archive_sha256, "${{ steps.image.outputs.archive_sha256 }}");
  });
});
