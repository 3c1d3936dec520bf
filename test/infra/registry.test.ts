/**
 * The registry host follows the GitHub the stack deploys to (the workflow
 * pushes with the mirror's GITHUB_TOKEN, which only that GitHub's registry
 * accepts) and can be set; every place that names the registry follows it.
 */
import { strict as assert } from "node:assert";
import { test } from "node:test";
import { kyvernoPolicy } from "../../components/admission";
import { registryOf } from "../../components/registry";
import { renderMirrorFiles } from "../../components/render";
import { resolveFleet } from "../../components/spec";
import type { MirrorSpec, StackSettings } from "../../components/types";
import { policy } from "../../infra/policy";
import { settingsFrom } from "../../infra/settings";
import { PIPELINE } from "../workflow/fixtures";

const BASE = { githubOwner: "acme-corp", actionsCanCreatePullRequests: true } as Record<string, unknown>;
const settings = (config: Record<string, unknown>, env: Record<string, string> = {}) => settingsFrom((k) => ({ ...BASE, ...config })[k], "Pulumi.t.yaml", env);

test("GIVEN the GitHub the stack targets WHEN no registry is set THEN it is that GitHub's own registry", () => {
  for (const [api, want] of [
    [undefined, "ghcr.io"],
    ["https://api.github.com/", "ghcr.io"],
    ["https://ghe.example.com/", "containers.ghe.example.com"],
    ["https://GHE.example.com/api/v3", "containers.ghe.example.com"],
  ] as const) {
    assert.equal(registryOf(api), want, String(api));
    assert.equal(settings({}, api ? { MIRROR_FLEET_GITHUB_API: api } : {}).registry, want, `MIRROR_FLEET_GITHUB_API=${api}`);
  }
});

test("GIVEN mirror-fleet:registry WHEN set THEN it wins; a value that is not a host is refused with the key and what is allowed", () => {
  assert.equal(settings({ registry: "127.0.0.1:5000" }, { MIRROR_FLEET_GITHUB_API: "https://ghe.example.com/" }).registry, "127.0.0.1:5000");
  assert.throws(() => settings({ registry: "https://ghcr.io/acme" }), {
    message: 'Pulumi.t.yaml:\n  - mirror-fleet:registry: "https://ghcr.io/acme" is not allowed (allowed: a registry host, optionally with a port, such as ghcr.io or containers.ghe.example.com)',
  });
});

test("GIVEN a stack on another registry WHEN a mirror is rendered THEN its image, config, README and admission policy name that registry, never ghcr.io", () => {
  const s: StackSettings = { owner: "acme", registryNamespace: "acme", registry: "containers.ghe.example.com", visibility: "private", branchProtection: false, attestations: true, cosignPublicKey: "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n" };
  const entry = { name: "hello", upstream: { repo: "octo/hello", license: "MIT" }, override: null } as unknown as MirrorSpec;
  const m = resolveFleet([{ file: "test/fixtures/hello.ts", spec: entry }], { policy, settings: s, readFile: () => "" }).mirrors[0];
  assert.equal(m.image, "containers.ghe.example.com/acme/hello");
  const files = Object.fromEntries(renderMirrorFiles(m, PIPELINE).map((f) => [f.path, f.content]));
  for (const p of [".mirror/config.yml", ".github/workflows/mirror.yml", "README.md"]) {
    assert.match(files[p], /containers\.ghe\.example\.com/, `${p} names the stack's registry`);
    assert.doesNotMatch(files[p], /ghcr\.io/, `${p} names ghcr.io`);
  }
  assert.match(JSON.stringify(kyvernoPolicy(s)), /"imageReferences":\["containers\.ghe\.example\.com\/acme\/\*"\]/);
  const wrong = { ...entry, image: "ghcr.io/acme/hello" } as unknown as MirrorSpec;
  assert.throws(() => resolveFleet([{ file: "test/fixtures/hello.ts", spec: wrong }], { policy, settings: s, readFile: () => "" }), /image: "ghcr.io\/acme\/hello" is not allowed \(allowed: a repository of the stack's registry, 'containers.ghe.example.com\/<namespace>\/<name>'/);
});

// Red team 2026-12-07: admissionAllowedImages took "ghcr.io/*", which admits the fleet's own images unsigned, by tag.
test("GIVEN allow-list patterns WHEN one could match an image of the fleet's namespace THEN it is refused, naming it; others are kept", () => {
  const allowed = ["registry.k8s.io/*", "ghcr.io/acme-corp-tools/*", "ghcr.io/other/x@sha256:*"];
  assert.deepEqual(settings({ admissionAllowedImages: allowed }).admissionAllowedImages, allowed);
  for (const p of ["ghcr.io/*", "ghcr.io/acme*", "ghcr.io/acme-corp/*", "ghcr.io/acme-corp/plik", "ghcr.io/ac?e-corp/x"]) {
    assert.throws(() => settings({ admissionAllowedImages: ["registry.k8s.io/*", p] }), (e: Error) => {
      assert.equal(e.message, `Pulumi.t.yaml:\n  - mirror-fleet:admissionAllowedImages: ${JSON.stringify(p)} would admit images of ghcr.io/acme-corp/ unsigned (allowed: patterns outside the fleet's namespace, whose images are admitted by their signature)`);
      return true;
    }, p);
  }
});
