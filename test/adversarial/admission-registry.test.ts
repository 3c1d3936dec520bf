/**
 * Red team, issue 17 item 4: Kyverno matches `imageReferences` by spelling
 * (kyverno v1.19.1 pkg/engine/internal/imageverifier.go: wildcard.Match on
 * the reference as written; pkg/utils/image/infos.go keeps the host's case
 * and port), so `ghcr.io:443/<ns>/…` and `GHCR.IO/<ns>/…`, which a node pulls
 * from the same registry, matched no rule and ran unverified, even by tag.
 * The fleet's ClusterPolicy now starts with a registry allow-list rule: an
 * image spelled otherwise than the fleet's registry or a pattern the stack
 * lists is denied. The rule, as rendered, is applied by the real Kyverno CLI
 * to pods (offline: the rule reads only the pod).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { kyvernoPolicy } from "../../components/admission";
import type { StackSettings } from "../../components/types";
import { kyvernoApply } from "../support/kyverno";
import { FLEET_PUBLIC_KEY } from "../workflow/fixtures";

const SETTINGS: StackSettings = { owner: "acme-corp", registryNamespace: "acme-corp", visibility: "private", branchProtection: true, attestations: false, cosignPublicKey: FLEET_PUBLIC_KEY, admissionAllowedImages: ["registry.k8s.io/*"] };
const DIGEST = `sha256:${"ab".repeat(32)}`;

/** The rendered policy with only its allow-list rule: the verify rule would ask a registry. */
function allowList() {
  const p = kyvernoPolicy(SETTINGS) as { spec: { rules: Array<{ name: string }> } };
  const rule = p.spec.rules.find((r) => r.name === "allowed-registries");
  assert.ok(rule, `the fleet policy has no allowed-registries rule (rules: ${p.spec.rules.map((r) => r.name).join(", ")})`);
  return { ...p, spec: { ...p.spec, rules: [rule] } };
}

function pod(image: string, where: "containers" | "initContainers" = "containers") {
  const c = [{ name: "app", image }];
  return { apiVersion: "v1", kind: "Pod", metadata: { name: "p", namespace: "default" }, spec: where === "containers" ? { containers: c } : { initContainers: c, containers: [{ name: "ok", image: `ghcr.io/acme-corp/ok@${DIGEST}` }] } };
}

describe("adversarial (issue 17 #4): every spelling of the fleet's registry is verified or denied; other registries only when listed", () => {
  for (const [image, where] of [
    [`GHCR.IO/acme-corp/gokapi@${DIGEST}`, "containers"],
    [`ghcr.io:443/acme-corp/gokapi@${DIGEST}`, "containers"],
    ["Ghcr.io/acme-corp/gokapi:v2.2.4", "containers"],
    ["ghcr.io:443/acme-corp/gokapi:v2.2.4", "initContainers"],
    ["docker.io/library/busybox:1.37", "containers"],
    ["busybox", "containers"],
    ["ghcr.io/acme-corp-other/x:1", "containers"],
    ["g*", "containers"],
  ] as const) {
    test(`GIVEN a pod with ${where} image ${image} THEN the allow-list denies it`, async () => {
      const r = await kyvernoApply(allowList(), pod(image, where));
      assert.ok(r.fail > 0 && r.code !== 0, `not denied:\n${r.text.slice(-800)}`);
    });
  }

  for (const image of [`ghcr.io/acme-corp/gokapi@${DIGEST}`, "registry.k8s.io/pause:3.10"]) {
    test(`GIVEN ${image} (the fleet's spelling, or a listed pattern) THEN the allow-list lets it through to the verify rule`, async () => {
      const r = await kyvernoApply(allowList(), pod(image));
      assert.ok(r.fail === 0 && r.error === 0 && r.pass > 0, r.text.slice(-800));
    });
  }

  // Red team 2026-12-07: an image volume mounted an unsigned image, by tag, from any registry, beside a verified container.
  for (const [what, kind, spec] of [
    ["a Pod", "Pod", { containers: [{ name: "app", image: `ghcr.io/acme-corp/gokapi@${DIGEST}` }], volumes: [{ name: "tools", image: { reference: "docker.io/evil/payload:latest", pullPolicy: "Always" } }] }],
    ["a Deployment's pod template", "Deployment", null],
  ] as const) {
    test(`GIVEN ${what} with an image volume THEN the policy denies it`, async () => {
      const p = kyvernoPolicy(SETTINGS) as { spec: { rules: Array<{ name: string }> } };
      const rule = p.spec.rules.find((r) => r.name === "no-image-volumes");
      assert.ok(rule, `the fleet policy has no no-image-volumes rule (rules: ${p.spec.rules.map((r) => r.name).join(", ")})`);
      const podSpec = { containers: [{ name: "app", image: `ghcr.io/acme-corp/gokapi@${DIGEST}` }], volumes: [{ name: "cfg", emptyDir: {} }, { name: "tools", image: { reference: "docker.io/evil/payload:latest" } }] };
      const resource = kind === "Pod"
        ? { apiVersion: "v1", kind: "Pod", metadata: { name: "p", namespace: "default" }, spec }
        : { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "d", namespace: "default" }, spec: { selector: { matchLabels: { a: "b" } }, template: { metadata: { labels: { a: "b" } }, spec: podSpec } } };
      const r = await kyvernoApply({ ...p, spec: { ...p.spec, rules: [rule] } }, resource);
      assert.ok(r.fail > 0 && r.code !== 0 && /image volumes are not admitted/.test(r.text), `not denied:\n${r.text.slice(-800)}`);
    });
  }

  test("GIVEN a Pod whose volumes hold no image THEN the image-volume rule lets it through", async () => {
    const p = kyvernoPolicy(SETTINGS) as { spec: { rules: Array<{ name: string }> } };
    const rule = p.spec.rules.find((r) => r.name === "no-image-volumes")!;
    const r = await kyvernoApply({ ...p, spec: { ...p.spec, rules: [rule] } }, { apiVersion: "v1", kind: "Pod", metadata: { name: "p", namespace: "default" }, spec: { containers: [{ name: "app", image: `ghcr.io/acme-corp/gokapi@${DIGEST}` }], volumes: [{ name: "cfg", emptyDir: {} }] } });
    assert.ok(r.fail === 0 && r.error === 0 && r.pass > 0, r.text.slice(-800));
  });

  test("GIVEN the rendered policy THEN the verify rule covers the fleet's spelling, and the allow-list rule comes first in the same policy (one cannot be applied without the other)", () => {
    const rules = (kyvernoPolicy(SETTINGS).spec as { rules: Array<{ name: string; verifyImages?: Array<{ imageReferences: string[] }> }> }).rules;
    assert.deepEqual(rules.map((r) => r.name), ["allowed-registries", "pinned-signed-attested", "no-image-volumes"]);
    assert.deepEqual(rules[1].verifyImages![0].imageReferences, ["ghcr.io/acme-corp/*"]);
  });
});
