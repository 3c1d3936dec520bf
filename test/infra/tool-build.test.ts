/**
 * npm run engine:build (tools/build.sh) as a user sees it: every line says
 * which tool of how many it is on, a Go build says every few seconds how many
 * of its packages are compiled (a cold build is minutes per tool), and
 * `bash tools/env.sh` prints the folder its comment tells users to put on PATH.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { test } from "node:test";
import { toolsBinDir } from "../../tools/paths";
import { toolVersions } from "../support/tools";

const ROOT = path.resolve(__dirname, "../..");

test("GIVEN tools/env.sh WHEN run THEN it prints the tools cache's bin/ that tools/build.sh links into", () => {
  for (const env of [{ MIRROR_FLEET_TOOLS: "/opt/t" }, { XDG_CACHE_HOME: "/var/c" }, { HOME: "/home/u" }]) {
    const out = execFileSync("bash", [path.join(ROOT, "tools/env.sh")], { env: { PATH: process.env.PATH, ...env }, encoding: "utf8" }).trim();
    assert.equal(out, toolsBinDir(env), JSON.stringify(env));
  }
  assert.match(fs.readFileSync(path.join(ROOT, "tools/build.sh"), "utf8"), /`bash tools\/env.sh` prints it/);
});

test("GIVEN cached tools WHEN engine:build runs THEN each line names the tool's place in the run, its version and where it is", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tool-build-"));
  try {
    const v = toolVersions();
    for (const [tool, bin] of [["act", "act"], ["buildx", "docker-buildx"]] as const) {
      fs.mkdirSync(path.join(dir, `${tool}-${v[tool]}`, "bin"), { recursive: true });
      fs.writeFileSync(path.join(dir, `${tool}-${v[tool]}`, "bin", bin), "#!/bin/sh\n", { mode: 0o755 });
    }
    const out = execFileSync("bash", [path.join(ROOT, "tools/build.sh"), "act", "buildx"], { env: { PATH: process.env.PATH, HOME: dir, MIRROR_FLEET_TOOLS: dir }, encoding: "utf8" });
    assert.deepEqual(out.trim().split("\n"), [
      `[1/2] act ${v.act}: cached (${dir}/act-${v.act}/bin/act)`,
      `[2/2] buildx ${v.buildx}: cached (${dir}/buildx-${v.buildx}/bin/docker-buildx)`,
    ]);
    assert.equal(fs.readlinkSync(path.join(dir, "bin", "act")), path.join(dir, `act-${v.act}`, "bin", "act"));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("GIVEN a Go build WHEN it runs longer than the progress interval THEN it says how many of its packages are compiled", () => {
  // A stand-in for \`go\` on PATH (its list and build -v output, paced): the script's own progress logic, in seconds.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tool-build-"));
  try {
    fs.mkdirSync(path.join(dir, "bin"));
    fs.writeFileSync(
      path.join(dir, "bin", "go"),
      [
        "#!/bin/sh",
        'if [ "$1" = list ]; then printf "p1\\np2\\np3\\np4\\n"; exit 0; fi',
        'out=""; while [ $# -gt 0 ]; do if [ "$1" = -o ]; then out="$2"; fi; shift; done',
        "echo p1 >&2; sleep 1.2; echo p2 >&2; sleep 1.2; echo p3 >&2; sleep 1.2",
        'touch "$out"',
        "",
      ].join("\n"),
      { mode: 0o755 },
    );
    const script = fs.readFileSync(path.join(ROOT, "tools/build.sh"), "utf8").replace(/\nmain "\$@"\n$/, "\n");
    const driver = `${script}\nSTEP=1 STEPS=1\ngo_build demo "${dir}" example.com/demo "${dir}/out" ""\n`;
    const out = execFileSync("bash", ["-c", driver], {
      env: { PATH: `${path.join(dir, "bin")}:${process.env.PATH}`, HOME: dir, MIRROR_FLEET_TOOLS: path.join(dir, "tools"), MIRROR_FLEET_BUILD_PROGRESS_EVERY: "1" },
      encoding: "utf8",
      cwd: path.join(ROOT, "tools"),
    });
    const lines = out.trim().split("\n");
    assert.equal(lines[0], "[1/1] demo: downloading modules and listing the packages of example.com/demo");
    assert.equal(lines[1], "[1/1] demo: compiling example.com/demo (4 packages, fewer when the Go build cache has some)");
    const progress = lines.slice(2).filter((l) => /^\[1\/1\] demo: \d of 4 packages compiled, \d+ s$/.test(l));
    assert.ok(progress.length >= 2, `fewer than two progress lines in:\n${out}`);
    assert.ok(fs.existsSync(path.join(dir, "out")), "the binary was not moved into place");
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
