/**
 * The pin as a kustomize Component (deploy/kustomization.yaml), built by the
 * real kustomize (npm run engine:build -- kustomize): an app that includes it
 * deploys the pinned digest, whatever tag its manifests name.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { test } from "node:test";
import { renderKustomizeComponent, type PinRecord } from "../../pipeline/lib/pin";
import { buildWithComponent } from "../support/kustomize";
import { toolPath, toolVersions } from "../support/tools";

const DIGEST = `sha256:${"d".repeat(64)}`;
const RECORD: PinRecord = {
  image: "ghcr.io/acme-corp/gokapi",
  digest: DIGEST,
  tag: "v2.2.4",
  upstream: { repo: "Forceu/Gokapi", commit: "1".repeat(40) },
  override: null,
  builtAt: "2026-11-23T02:14:00Z",
  scan: null,
  waiversApplied: [],
  attestations: [],
  runUrl: null,
};

test("GIVEN the pin's kustomize Component WHEN an app that names the image by tag includes it THEN kustomize build deploys the pinned digest, and other images are left alone", () => {
  const component = renderKustomizeComponent(RECORD);
  assert.equal(
    component,
    `# Written by mirror-fleet's pin with image-pin.yml: v2.2.4 at ${DIGEST}.\n# Include this folder as a kustomize component to deploy the pinned digest.\napiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nimages:\n  - name: ghcr.io/acme-corp/gokapi\n    newName: ghcr.io/acme-corp/gokapi\n    digest: ${DIGEST}\n`,
  );
  const [deployment] = buildWithComponent(component, RECORD.image);
  assert.deepEqual(deployment.spec.template.spec.containers.map((c) => c.image), [`ghcr.io/acme-corp/gokapi@${DIGEST}`, "docker.io/library/busybox:1.37"]);
});

test("GIVEN kustomize WHEN asked its version THEN it is the one tools/versions.sh builds", () => {
  assert.match(execFileSync(toolPath("kustomize"), ["version"], { encoding: "utf8" }), new RegExp(`^v${toolVersions().kustomize.replace(/\./g, "\\.")}\\b`));
});
