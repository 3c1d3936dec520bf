/**
 * Issue 12, item 16 (the credentials file): `publish` wrote the registry
 * credentials to `$TMPDIR/mirror-publish-*\/auth.json` and removed it in a
 * `finally`; a SIGKILL (job timeout, cancel) skips that, and the password
 * stayed on the runner. Now the file lives under
 * `$RUNNER_TEMP/mirror-credentials`, which the publish job removes in an
 * always() step. Here the real command is killed mid-push by a stand-in
 * skopeo, then that step runs: no file anywhere holds the password.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { archiveImage } from "../../pipeline/lib/oci";
import { describe, test } from "node:test";
import { renderEffectiveWorkflow } from "../../components/workflow";
import { PROJECT_ROOT } from "../../infra/mirrors";
import { fixtureMirror, PIPELINE } from "../workflow/fixtures";
import { parseWorkflow, runStep, steps, stub, tempDir, type Obj } from "../workflow/steps";

const USER = "mirror-bot";
const PASSWORD = "ghs_k1lledMidPushN0tInTmp";
const AUTH = Buffer.from(`${USER}:${PASSWORD}`).toString("base64");

/** A one-manifest OCI archive (oci-layout, index.json, two blobs) made with tar; returns its path and digest. */
function ociArchive(dir: string): { archive: string; digest: string } {
  const src = path.join(dir, "layout");
  const blob = (text: string) => {
    const hex = createHash("sha256").update(text).digest("hex");
    fs.mkdirSync(path.join(src, "blobs", "sha256"), { recursive: true });
    fs.writeFileSync(path.join(src, "blobs", "sha256", hex), text);
    return { digest: `sha256:${hex}`, size: Buffer.byteLength(text) };
  };
  const config = blob(JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [] } }));
  const mediaType = "application/vnd.oci.image.manifest.v1+json";
  const manifest = blob(JSON.stringify({ schemaVersion: 2, mediaType, config: { mediaType: "application/vnd.oci.image.config.v1+json", ...config }, layers: [] }));
  fs.writeFileSync(path.join(src, "oci-layout"), '{"imageLayoutVersion": "1.0.0"}');
  fs.writeFileSync(path.join(src, "index.json"), JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType, ...manifest }] }));
  const archive = path.join(dir, "image.tar");
  const r = spawnSync("tar", ["-cf", archive, "-C", src, "oci-layout", "index.json", "blobs"]);
  assert.equal(r.status, 0, String(r.stderr));
  return { archive, digest: manifest.digest };
}

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

describe("adversarial (issue 12 #16): no registry password survives a killed publish", () => {
  test("GIVEN publish is SIGKILLed while skopeo pushes WHEN the publish job's always() step has run THEN no file in $TMPDIR or $RUNNER_TEMP holds the password", () => {
    const root = tempDir("mirror-kill-");
    const tmpdir = path.join(root, "tmp");
    const runnerTemp = path.join(root, "runner-temp");
    const bin = path.join(root, "bin");
    fs.mkdirSync(tmpdir);
    fs.mkdirSync(runnerTemp);
    const { archive, digest } = ociArchive(root);
    // publish reads the scan record before it pushes: one that shows every platform of this archive scanned.
    const record = path.join(root, "scan.json");
    const platforms = archiveImage(archive).platforms.map((p) => ({ platform: p.platform, digest: p.digest, report: "r.json", sarif: "r.sarif", sbom: "r.cdx.json" }));
    fs.writeFileSync(record, JSON.stringify({ schema: 1, kind: "build", image: { from: archive, digest, mediaType: "" }, platforms, source: { skipped: "test" }, trivy: { version: null }, db: { version: null, updatedAt: null, nextUpdate: null }, suppressed: 0, complete: true }));
    // The stand-in skopeo records that it saw an auth file, then kills its parent (publish) outright.
    stub(bin, "skopeo", `for a in "$@"; do case "$a" in */auth.json) cp "$a" "${root}/seen-auth" ;; esac; done\nkill -9 "$PPID"\nsleep 1`);

    const r = spawnSync(process.execPath, ["--import", "tsx", path.join(PROJECT_ROOT, "pipeline", "main.ts"), "publish", "--archive", archive, "--image", "ghcr.io/acme-corp/gokapi", "--tag", "v1.0.0", "--digest", digest, "--scan-record", record], {
      cwd: PROJECT_ROOT,
      encoding: "utf8",
      timeout: 60_000,
      env: { PATH: `${bin}:${process.env.PATH ?? ""}`, HOME: root, TMPDIR: tmpdir, RUNNER_TEMP: runnerTemp, REGISTRY_USER: USER, REGISTRY_PASSWORD: PASSWORD },
    });
    assert.equal(r.signal, "SIGKILL", `publish was not killed mid-push (status ${r.status}): ${r.stderr}`);
    assert.ok(fs.existsSync(path.join(root, "seen-auth")), "skopeo was not handed an auth file");
    assert.deepEqual(holding(tmpdir), [], "the credentials file is left in $TMPDIR");

    const publish = steps(parseWorkflow(renderEffectiveWorkflow(fixtureMirror("gokapi"), PIPELINE)), "publish");
    const cleanup = publish[publish.length - 1];
    assert.equal(cleanup.if, "${{ always() }}", `the last publish step ("${String(cleanup.name)}") does not run always()`);
    assert.equal((cleanup as Obj).uses, undefined);
    const c = runStep(cleanup, root, { RUNNER_TEMP: runnerTemp });
    assert.equal(c.status, 0, c.stderr);
    assert.deepEqual(holding(runnerTemp), [], "the credentials file is left in $RUNNER_TEMP after the always() step");
    assert.deepEqual(holding(tmpdir), []);
  });
});
