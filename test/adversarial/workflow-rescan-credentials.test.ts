/**
 * Red team, issue 17 item 13: during the rescan, Trivy ran with the registry
 * token in its environment (REGISTRY_PASSWORD, given to the scan step) and
 * with `auth.json` in its working folder (written next to the pulled layout).
 * The scanner is the part a poisoned release or database would turn: it now
 * gets neither. The credentials file lives under
 * $RUNNER_TEMP/mirror-credentials only while skopeo pulls, and the rescan
 * job's always() step removes that folder after a kill.
 *
 * `scan --image` runs as its own process with a stand-in skopeo (copies a
 * prepared OCI layout where `oci:DIR:scan` says, records the auth file it was
 * handed) and the stand-in trivy of oci-world.ts behind a wrapper that
 * records its environment and every file in its working folder.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";
import { renderEffectiveWorkflow } from "../../components/workflow";
import { PROJECT_ROOT } from "../../infra/mirrors";
import { tmpDir } from "../fixtures/pipeline/harness";
import { fixtureMirror, PIPELINE } from "../workflow/fixtures";
import { parseWorkflow, runStep, steps, type Obj } from "../workflow/steps";
import { Layout, standInTrivy } from "./oci-world";

const USER = "mirror-bot";
const PASSWORD = "ghs_rescanTokenNotForTheScanner";
const AUTH = Buffer.from(`${USER}:${PASSWORD}`).toString("base64");

/** Every file under `dir` whose bytes hold the credentials. */
function holding(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) {
        const text = fs.readFileSync(p, "latin1");
        if (text.includes(AUTH) || text.includes(PASSWORD)) out.push(p);
      }
    }
  };
  if (fs.existsSync(dir)) walk(dir);
  return out;
}

/** The world: a pushed image (as a layout skopeo will "pull"), stand-in tools, RUNNER_TEMP. */
function world(killDuringPull: boolean) {
  const root = tmpDir();
  const l = new Layout();
  const idx = l.index([l.image("linux/amd64", [l.layer({ "etc/os-release": "ID=pinned\n" })])]);
  const { bin, log } = standInTrivy();
  const seen = path.join(root, "seen");
  fs.mkdirSync(seen);
  // Trivy behind a recorder: its environment, and every file under its working folder.
  fs.renameSync(path.join(bin, "trivy"), path.join(bin, "trivy-standin"));
  // (`trivy image` runs in the layout's parent folder; convert and version in the mirror checkout.)
  fs.writeFileSync(path.join(bin, "trivy"), `#!/bin/sh\nenv > "${seen}/trivy-env-$$"\nif [ "$1" = image ]; then find "$PWD" -type f -exec cat {} + > "${seen}/trivy-cwd-$$" 2>/dev/null; fi\nexec "${bin}/trivy-standin" "$@"\n`, { mode: 0o755 });
  // skopeo copy … --src-authfile F docker://… oci:DIR:scan -> the layout at DIR, its index named "scan".
  fs.writeFileSync(
    path.join(bin, "skopeo"),
    `#!/bin/sh
for a in "$@"; do case "$a" in --src-authfile) take=1 ;; oci:*) dest="\${a#oci:}"; dest="\${dest%:scan}" ;; *) if [ -n "$take" ]; then cp "$a" "${seen}/skopeo-auth"; take=""; fi ;; esac; done
${killDuringPull ? 'kill -9 "$PPID"; sleep 1' : ""}
mkdir -p "$dest" && cp -r "${l.dir}/." "$dest/"
printf '{"schemaVersion":2,"manifests":[{"mediaType":"%s","digest":"%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"scan"}}]}' "${idx.mediaType}" "${idx.digest}" "${idx.size}" > "$dest/index.json"
`,
    { mode: 0o755 },
  );
  const runnerTemp = path.join(root, "runner-temp");
  fs.mkdirSync(runnerTemp);
  const r = spawnSync(
    process.execPath,
    ["--import", "tsx", path.join(PROJECT_ROOT, "pipeline", "main.ts"), "scan", "--image", "ghcr.io/acme-corp/gokapi", "--digest", idx.digest, "--platforms", "linux/amd64", "--out", path.join(root, "rescan")],
    {
      // tsx resolves from the checkout; every path the command writes is absolute.
      cwd: PROJECT_ROOT,
      encoding: "utf8",
      timeout: 60_000,
      env: { PATH: `${bin}:${process.env.PATH ?? ""}`, HOME: root, TMPDIR: root, RUNNER_TEMP: runnerTemp, REGISTRY_USER: USER, REGISTRY_PASSWORD: PASSWORD, GITHUB_TOKEN: PASSWORD, TRIVY_PASSWORD: PASSWORD },
    },
  );
  return { r, root, seen, runnerTemp, log };
}

describe("adversarial (issue 17 #13): the rescan's scanner gets no registry credentials", () => {
  test("GIVEN the rescan of a pinned digest WHEN Trivy runs THEN its environment and working folder hold no credential; skopeo got them in a file under $RUNNER_TEMP, gone afterwards", () => {
    const { r, seen, runnerTemp, log } = world(false);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(fs.readFileSync(log, "utf8").includes("image "), "Trivy scanned the image");
    assert.ok(fs.readFileSync(path.join(seen, "skopeo-auth"), "utf8").includes(AUTH), "skopeo was handed the credentials in its auth file");
    const envs = fs.readdirSync(seen).filter((f) => f.startsWith("trivy-env-"));
    assert.ok(envs.length > 0);
    for (const f of envs) {
      const env = fs.readFileSync(path.join(seen, f), "utf8");
      assert.doesNotMatch(env, /REGISTRY_|GITHUB_TOKEN|TRIVY_PASSWORD/, `${f}: Trivy's environment names a credential`);
      assert.ok(!env.includes(PASSWORD), `${f}: Trivy's environment holds the password`);
    }
    for (const f of fs.readdirSync(seen).filter((x) => x.startsWith("trivy-cwd-"))) {
      const files = fs.readFileSync(path.join(seen, f), "latin1");
      assert.ok(!files.includes(AUTH) && !files.includes(PASSWORD), `${f}: a file in Trivy's working folder holds the credentials`);
    }
    assert.deepEqual(holding(runnerTemp), [], "the credentials file outlived the pull");
  });

  test("GIVEN the scan is SIGKILLed while skopeo pulls WHEN the rescan job's always() step has run THEN no file in $RUNNER_TEMP holds the credentials", () => {
    const { r, runnerTemp, root } = world(true);
    assert.equal(r.signal, "SIGKILL", `scan was not killed mid-pull (status ${r.status}): ${r.stderr}`);
    const rescan = steps(parseWorkflow(renderEffectiveWorkflow(fixtureMirror("gokapi"), PIPELINE)), "rescan");
    const cleanup = rescan[rescan.length - 1];
    assert.equal(cleanup.if, "${{ always() }}", `the last rescan step ("${String(cleanup.name)}") does not run always()`);
    assert.equal((cleanup as Obj).uses, undefined);
    const c = runStep(cleanup, root, { RUNNER_TEMP: runnerTemp });
    assert.equal(c.status, 0, c.stderr);
    assert.deepEqual(holding(runnerTemp), [], "the credentials file is left in $RUNNER_TEMP after the always() step");
  });
});
