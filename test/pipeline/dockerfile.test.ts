/**
 * `dockerfile`: the Dockerfile the build job builds from the override. A
 * runtime stage (rebaseRuntime) goes after upstream's real Dockerfile (root-gg/plik's,
 * vendored in test/fixtures); a whole Dockerfile is copied byte for byte;
 * anything that does not fit stops the build (exit 2) naming the file.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { before, describe, test } from "node:test";
import { header } from "../../components/header";
import { MIRROR_PATHS } from "../../components/mirror-config";
import { goStaticDistroless, rebaseRuntime } from "../../components/presets";
import { PLIK } from "../fixtures/plik-rebase";
import { renderOverride } from "../../components/render";
import { renderEffectiveWorkflow } from "../../components/workflow";
import { pipelineBundle } from "../../pipeline/bundle";
import { command } from "../../pipeline/commands/dockerfile";
import { run, tmpDir } from "../fixtures/pipeline/harness";
import { edgeMirrors, PIPELINE } from "../workflow/fixtures";
import { fakePipeline, parseWorkflow, runStep, step } from "../workflow/steps";

const PLIK_UPSTREAM = fs.readFileSync(path.join(__dirname, "..", "fixtures", "upstream-dockerfiles", "plik.Dockerfile"), "utf8");
const GOKAPI_DOCKERFILE = fs.readFileSync(path.join(__dirname, "..", "fixtures", "fleet", "mirrors", "gokapi.Dockerfile"));

/** The runtime stage as components/render.ts commits it: the generated header first. */
const STAGE = header("#", "mirrors/plik.ts (override rebaseRuntime, components/presets.ts)") + rebaseRuntime(PLIK).dockerfile;

const sha256 = (b: string | Buffer) => createHash("sha256").update(b).digest("hex");

/** A workspace like the build job's: upstream checkout and the mirror's override. */
function workspace(files: Record<string, string | Buffer>): string {
  const dir = tmpDir();
  for (const [rel, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), content);
  }
  return dir;
}

const ARGS = ["--upstream", "upstream/Dockerfile", "--override", MIRROR_PATHS.override, "--out", "build.Dockerfile"];

describe("dockerfile: written", () => {
  const cases: ReadonlyArray<{ label: string; files: Record<string, string | Buffer>; args: string[]; out: string; mode: string; want: string | Buffer }> = [
    {
      label: "GIVEN a runtime-stage override and plik's real Dockerfile THEN upstream byte for byte, then the stage",
      files: { "upstream/Dockerfile": PLIK_UPSTREAM, [MIRROR_PATHS.override]: STAGE },
      args: ARGS,
      out: "build.Dockerfile",
      mode: "rebase",
      // plik's Dockerfile has no final newline: one is added, then a blank line.
      want: `${PLIK_UPSTREAM}\n\n${STAGE}`,
    },
    {
      label: "GIVEN a whole-Dockerfile override (the fixture fleet's mirrors/gokapi.Dockerfile) THEN copied unchanged, upstream's not read",
      files: { [MIRROR_PATHS.override]: GOKAPI_DOCKERFILE },
      args: ARGS,
      out: "build.Dockerfile",
      mode: "replace",
      want: GOKAPI_DOCKERFILE,
    },
    {
      label: "GIVEN a whole Dockerfile with CRLF and a non-UTF-8 byte, no --upstream, a nested --out THEN the same bytes",
      files: { "o.Dockerfile": Buffer.from("FROM scratch\r\n# caf\xe9\r\n", "latin1") },
      args: ["--override", "o.Dockerfile", "--out", "out/sub/Dockerfile"],
      out: "out/sub/Dockerfile",
      mode: "replace",
      want: Buffer.from("FROM scratch\r\n# caf\xe9\r\n", "latin1"),
    },
    {
      label: "GIVEN a preset's whole Dockerfile (goStaticDistroless) THEN replace, not rebase",
      files: { "upstream/Dockerfile": PLIK_UPSTREAM, [MIRROR_PATHS.override]: goStaticDistroless({ module: "github.com/forceu/gokapi", pkg: "./cmd/gokapi" }).dockerfile },
      args: ARGS,
      out: "build.Dockerfile",
      mode: "replace",
      want: goStaticDistroless({ module: "github.com/forceu/gokapi", pkg: "./cmd/gokapi" }).dockerfile,
    },
  ];
  for (const c of cases) {
    test(`${c.label}; prints {mode, out, sha256}, outputs mode and sha256`, async () => {
      const cwd = workspace(c.files);
      const r = await run(["dockerfile", ...c.args], { cwd });
      assert.equal(r.code, 0, r.stderr);
      const written = fs.readFileSync(path.join(cwd, c.out));
      assert.deepEqual(written, Buffer.from(c.want));
      assert.deepEqual(r.json, { mode: c.mode, out: c.out, sha256: sha256(written) });
      assert.deepEqual(r.outputs, { mode: c.mode, sha256: sha256(written) });
    });
  }

  test("GIVEN --upstream-path WHEN it succeeds THEN the same text (the path only names the file in messages)", async () => {
    const cwd = workspace({ "upstream/Dockerfile": PLIK_UPSTREAM, [MIRROR_PATHS.override]: STAGE });
    const r = await run(["dockerfile", ...ARGS, "--upstream-path", "Dockerfile"], { cwd });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(fs.readFileSync(path.join(cwd, "build.Dockerfile"), "utf8"), `${PLIK_UPSTREAM}\n\n${STAGE}`);
  });
});

describe("dockerfile: refused (exit 2, nothing written, no outputs)", () => {
  const renamed = PLIK_UPSTREAM.replace("AS builder-go", "AS go-build");
  const cases: ReadonlyArray<{ label: string; files: Record<string, string | Buffer>; args: string[]; stderr: string }> = [
    {
      label: "GIVEN no override file",
      files: { "upstream/Dockerfile": PLIK_UPSTREAM },
      args: ARGS,
      stderr: `dockerfile: --override ${MIRROR_PATHS.override}: override does not exist\n`,
    },
    {
      label: "GIVEN a runtime stage and no upstream Dockerfile in the checkout",
      files: { [MIRROR_PATHS.override]: STAGE },
      args: ARGS,
      stderr: "dockerfile: --upstream upstream/Dockerfile: upstream Dockerfile does not exist\n",
    },
    {
      label: "GIVEN an override that is a directory",
      files: { [`${MIRROR_PATHS.override}/x`]: "" },
      args: ARGS,
      stderr: `dockerfile: --override ${MIRROR_PATHS.override}: override cannot be read (EISDIR)\n`,
    },
    {
      label: "GIVEN upstream renamed the stage the override copies from",
      files: { "upstream/Dockerfile": renamed, [MIRROR_PATHS.override]: STAGE },
      args: ARGS,
      stderr: `dockerfile: upstream/Dockerfile: has no stage "builder-go" to copy from (stages: builder-frontend, go-build, builder-env); upstream changed its Dockerfile, review the override\n`,
    },
    {
      label: "GIVEN the same with --upstream-path",
      files: { "upstream/Dockerfile": renamed, [MIRROR_PATHS.override]: STAGE },
      args: [...ARGS, "--upstream-path", "server/Dockerfile"],
      stderr: `dockerfile: server/Dockerfile: has no stage "builder-go" to copy from (stages: builder-frontend, go-build, builder-env); upstream changed its Dockerfile, review the override\n`,
    },
    {
      label: "GIVEN upstream has a stage named like the override's own",
      files: { "upstream/Dockerfile": `${PLIK_UPSTREAM}\nFROM alpine:3.11 AS Mirror-Fleet-Volumes\n`, [MIRROR_PATHS.override]: STAGE },
      args: ARGS,
      stderr: `dockerfile: upstream/Dockerfile: stage "mirror-fleet-volumes" is also defined by the override (allowed: stage names the override does not use)\n`,
    },
    {
      label: "GIVEN an empty upstream Dockerfile",
      files: { "upstream/Dockerfile": "", [MIRROR_PATHS.override]: STAGE },
      args: ARGS,
      stderr:
        `dockerfile: upstream/Dockerfile: has no stage "builder-go" to copy from (stages: none); upstream changed its Dockerfile, review the override\n` +
        `upstream/Dockerfile: has no stage "builder-frontend" to copy from (stages: none); upstream changed its Dockerfile, review the override\n`,
    },
    {
      label: "GIVEN a runtime stage and no --upstream",
      files: { [MIRROR_PATHS.override]: STAGE },
      args: ["--override", MIRROR_PATHS.override, "--out", "build.Dockerfile"],
      stderr: `dockerfile: --upstream is required: ${MIRROR_PATHS.override} is a runtime stage to append to upstream's Dockerfile\n\n${command.usage}`,
    },
    {
      label: "GIVEN no --out",
      files: { [MIRROR_PATHS.override]: STAGE },
      args: ["--override", MIRROR_PATHS.override],
      stderr: `dockerfile: --out is required\n\n${command.usage}`,
    },
    {
      label: "GIVEN an unknown flag",
      files: {},
      args: [...ARGS, "--force"],
      stderr: `dockerfile: Unknown option '--force'\n\n${command.usage}`,
    },
  ];
  for (const c of cases) {
    test(c.label, async () => {
      const cwd = workspace(c.files);
      const r = await run(["dockerfile", ...c.args], { cwd });
      assert.equal(r.code, 2);
      assert.equal(r.stderr, c.stderr);
      assert.equal(r.stdout, "");
      assert.deepEqual(r.outputs, {});
      assert.equal(fs.existsSync(path.join(cwd, "build.Dockerfile")), false);
    });
  }
});

describe("dockerfile: from the bundle, as the generated workflow runs it", () => {
  let bundle: string;
  before(() => {
    bundle = pipelineBundle();
  });

  test("GIVEN an empty directory and plain node WHEN dockerfile --help THEN its usage, exit 0", () => {
    const dir = workspace({ "pipeline.cjs": bundle });
    const r = spawnSync(process.execPath, ["pipeline.cjs", "dockerfile", "--help"], {
      cwd: dir,
      encoding: "utf8",
      // Nothing from the test runner: no tsx loader, no NODE_PATH.
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
      timeout: 60_000,
    });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, command.usage);
  });

  test("GIVEN the runtime-stage edge mirror's workflow WHEN its 'Dockerfile to build' step runs THEN audit/Dockerfile is plik's Dockerfile plus the committed override", () => {
    const m = edgeMirrors().find((e) => e.label.startsWith("runtime-stage override"))!.mirror;
    const override = renderOverride(m)!;
    const s = step(parseWorkflow(renderEffectiveWorkflow(m, PIPELINE)), "build", "Dockerfile to build");
    const dir = workspace({ [MIRROR_PATHS.override]: override, "upstream/Dockerfile": PLIK_UPSTREAM, "audit/.keep": "" });
    const r = runStep(s, dir, { ...(s.env as Record<string, string>), ...fakePipeline(bundle) });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(fs.readFileSync(path.join(dir, "audit/Dockerfile"), "utf8"), `${PLIK_UPSTREAM}\n\n${override}`);
  });

  test("GIVEN the bundle THEN it carries the Dockerfile composition and the contract, but no deploy-time code and not semver's index (health checks --today itself)", () => {
    assert.match(bundle, /^\/\/ pipeline\/lib\/runtime-stage\.ts$/m);
    assert.match(bundle, /^\/\/ contract\/index\.ts$/m);
    assert.doesNotMatch(bundle, /^\/\/ (?:components|infra)\//m);
    assert.doesNotMatch(bundle, /^\/\/ node_modules\/semver\/index\.js$/m);
  });
});
