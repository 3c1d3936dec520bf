/**
 * The links generated files give for a mirror repository follow the GitHub
 * the stack deploys to (MIRROR_FLEET_GITHUB_API), as its registry does: on
 * an Enterprise Server a README's kustomize URL and `gh` commands, the
 * inventory and the OpenVEX `@id` name that server, never github.com. An
 * upstream's link stays on github.com, where upstreams are.
 */
import { strict as assert } from "node:assert";
import { test } from "node:test";
import { inventoryEntry } from "../../components/inventory";
import { renderMirrorFiles } from "../../components/render";
import type { StackSettings } from "../../components/types";
import { openVexDocument } from "../../components/waivers";
import { settingsFrom } from "../../infra/settings";
import { FIXTURE_FLEET, resolveTestFleet } from "../support/fleets";
import { PIPELINE } from "../workflow/fixtures";

const BASE = { githubOwner: "acme-corp", actionsCanCreatePullRequests: true } as Record<string, unknown>;
const TODAY = new Date("2026-11-23T00:00:00Z");
const GHES: StackSettings = { owner: "acme-corp", registryNamespace: "acme-corp", registry: "containers.ghe.example.com", serverUrl: "https://ghe.example.com", visibility: "private", branchProtection: true, attestations: false };

test("GIVEN the GitHub the stack targets WHEN the settings are read THEN serverUrl is its web address, unset for github.com", () => {
  for (const [api, want] of [
    [undefined, undefined],
    ["https://ghe.example.com/", "https://ghe.example.com"],
    ["https://ghe.example.com", "https://ghe.example.com"],
    ["http://127.0.0.1:4010/", "http://127.0.0.1:4010"],
  ] as const) {
    const env: Record<string, string> = api ? { MIRROR_FLEET_GITHUB_API: api } : {};
    assert.equal(settingsFrom((k) => BASE[k], "Pulumi.t.yaml", env).serverUrl, want, `MIRROR_FLEET_GITHUB_API=${api}`);
  }
});

test("GIVEN a stack on an Enterprise Server WHEN the fixture fleet is rendered THEN every link to a mirror names that server, and upstreams stay on github.com", () => {
  const { mirrors } = resolveTestFleet(FIXTURE_FLEET, { settings: GHES, today: TODAY });
  for (const m of mirrors) {
    const files = renderMirrorFiles(m, PIPELINE);
    for (const f of files) assert.doesNotMatch(f.content, /https:\/\/github\.com\/acme-corp\//, `${m.name}: ${f.path} links to github.com`);
    const readme = files.find((f) => f.path === "README.md")!.content;
    assert.ok(readme.includes(`  - https://ghe.example.com/acme-corp/${m.repo}//deploy?ref=main`), `${m.name}: the kustomize component URL`);
    assert.ok(readme.includes(`--repo ghe.example.com/acme-corp/${m.repo} --name audit`), `${m.name}: gh run download names the host`);
    assert.ok(readme.includes(`gh auth token --hostname ghe.example.com | docker login containers.ghe.example.com`), `${m.name}: gh auth token names the host`);
    assert.ok(readme.includes("`gh auth refresh --hostname ghe.example.com --scopes read:packages` once), `gh auth token --hostname ghe.example.com"), `${m.name}: gh auth refresh names the host`);
    assert.ok(readme.includes(`https://github.com/${m.upstream.fullName}`), `${m.name}: the upstream's link`);
    assert.equal(inventoryEntry(m, files, TODAY).repositoryUrl, `https://ghe.example.com/acme-corp/${m.repo}`);
  }
  const waived = mirrors.filter((m) => m.gate.waivers.length > 0);
  assert.ok(waived.length > 0, "the fixture fleet has a mirror with waivers");
  for (const m of waived) assert.match(openVexDocument(m)["@id"], new RegExp(`^https://ghe\\.example\\.com/acme-corp/${m.repo}/blob/HEAD/`));
});

test("GIVEN a stack on github.com WHEN rendered THEN the links are github.com's and gh is told no host", () => {
  const settings: StackSettings = { ...GHES, registry: undefined, serverUrl: undefined };
  const m = resolveTestFleet(FIXTURE_FLEET, { settings, today: TODAY }).mirrors[0];
  const readme = renderMirrorFiles(m, PIPELINE).find((f) => f.path === "README.md")!.content;
  assert.ok(readme.includes(`  - https://github.com/acme-corp/${m.repo}//deploy?ref=main`));
  assert.ok(readme.includes(`--repo acme-corp/${m.repo} --name audit`));
  assert.ok(readme.includes("gh auth token | docker login ghcr.io"));
  assert.ok(readme.includes("`gh auth refresh --scopes read:packages` once), `gh auth token | docker login ghcr.io"));
});
