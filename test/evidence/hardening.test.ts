/**
 * "Hardened" is said only where it is true: the image ships on a
 * digest-pinned, minimal base (components/hardening.ts). The repository
 * description on GitHub and the mirror README read the same facts.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { isHardened, isMinimalBase, repositoryDescription, runtimeBase } from "../../components/hardening";
import { goStaticDistroless, rebaseRuntime } from "../../components/presets";
import { renderReadme } from "../../components/readme";
import { resolveFleet } from "../../components/spec";
import type { ResolvedMirror, StackSettings } from "../../components/types";
import { BASE_IMAGES } from "../../infra/base-images";
import { policy } from "../../infra/policy";
import { FIXTURE_FLEET, resolveTestFleet } from "../support/fleets";
import { propertyMirrors } from "../support/user-fleet";

const settings: StackSettings = { owner: "acme-corp", registryNamespace: "acme-corp", visibility: "private", branchProtection: true, attestations: false };
const TODAY = new Date("2026-11-23T12:00:00Z");
const DIGEST = `sha256:${"c".repeat(64)}`;

/** One mirror from a spec; `dockerfile` is its override file, when it has one. */
function mirror(override: unknown, dockerfile?: string): ResolvedMirror {
  const spec = { name: "svc", upstream: { repo: "acme/svc" }, override };
  const readFile = (p: string) => {
    if (dockerfile !== undefined && p === "mirrors/svc.Dockerfile") return dockerfile;
    throw new Error(`ENOENT ${p}`);
  };
  return resolveFleet([{ file: "mirrors/svc.ts", spec }], { policy, settings, readFile, today: TODAY }).mirrors[0];
}
const file = (text: string) => mirror({ file: "svc.Dockerfile" }, text);

describe("the runtime base, from the override", () => {
  const cases: Array<[string, ResolvedMirror, { ref: string; pinned: boolean; minimal: boolean } | null, boolean]> = [
    ["upstream's own Dockerfile", mirror(null), null, false],
    ["the goStaticDistroless preset", mirror({ preset: goStaticDistroless({ module: "github.com/acme/svc", pkg: "./cmd/svc" }) }), { ref: BASE_IMAGES.distrolessStaticNonroot, pinned: true, minimal: true }, true],
    [
      "the rebaseRuntime preset (its volumes stage is a builder image)",
      mirror({ preset: rebaseRuntime({ stage: "build", copy: [{ from: "/out/svc", to: "/app/svc" }], entrypoint: ["/app/svc"], volumes: ["/app/data"] }) }),
      { ref: BASE_IMAGES.distrolessStaticNonroot, pinned: true, minimal: true },
      true,
    ],
    ["a preset whose runtime is the Go builder", mirror({ preset: goStaticDistroless({ module: "github.com/acme/svc", pkg: "./cmd/svc", runtime: "goBuilder" }) }), { ref: BASE_IMAGES.goBuilder, pinned: true, minimal: false }, false],
    ["a file override ending on scratch", file(`FROM ${BASE_IMAGES.goBuilder} AS build\nARG VERSION\nFROM scratch\nCOPY --from=build /x /x\n`), { ref: "scratch", pinned: true, minimal: true }, true],
    ["a file override ending on a pinned Debian", file(`FROM ${BASE_IMAGES.goBuilder} AS build\nARG VERSION\nFROM debian:12@${DIGEST}\n`), { ref: `debian:12@${DIGEST}`, pinned: true, minimal: false }, false],
    [
      "a file override whose last stage starts from an earlier one",
      file(`FROM gcr.io/distroless/static:nonroot@${DIGEST} AS base\nFROM base AS final\nARG VERSION\nFROM final\n`),
      { ref: `gcr.io/distroless/static:nonroot@${DIGEST}`, pinned: true, minimal: true },
      true,
    ],
    ["a distroless debug tag (it has a shell)", file(`ARG VERSION\nFROM gcr.io/distroless/static:debug-nonroot@${DIGEST}\n`), { ref: `gcr.io/distroless/static:debug-nonroot@${DIGEST}`, pinned: true, minimal: false }, false],
  ];
  for (const [what, m, base, hardened] of cases) {
    test(`GIVEN ${what} WHEN judged THEN runtime base ${base ? base.ref.split("@")[0] : "unknown at deploy time"}, ${hardened ? "hardened" : "not hardened"}`, () => {
      assert.deepEqual(runtimeBase(m), base);
      assert.equal(isHardened(m), hardened);
    });
  }

  test("GIVEN image references WHEN judged minimal THEN scratch and distroless but for its debug tags", () => {
    assert.deepEqual(
      ["scratch", "gcr.io/distroless/static-debian12", "gcr.io/distroless/base:nonroot", "gcr.io/distroless/cc:debug", "alpine:3.20", "registry.example:5000/distroless/static", "golang:1.26-alpine"].map(isMinimalBase),
      [true, true, true, false, false, false, false],
    );
  });
});

describe("what the repository description and the README say", () => {
  const fixtures = resolveTestFleet(FIXTURE_FLEET, { settings, today: TODAY }).mirrors;
  const by = (name: string) => fixtures.find((m) => m.name === name)!;

  test("GIVEN the worked examples WHEN described THEN Gokapi (distroless, pinned) is hardened, plik (upstream's own Dockerfile) is not", () => {
    assert.equal(repositoryDescription(by("gokapi")), "Hardened mirror of Forceu/Gokapi: rebuilt on a digest-pinned minimal base, scanned and pinned by digest by mirror-fleet");
    assert.equal(repositoryDescription(by("plik")), "Mirror of root-gg/plik: rebuilt from upstream's own Dockerfile, scanned and pinned by digest by mirror-fleet");
  });

  test("GIVEN an override on a pinned base that is not minimal WHEN described THEN pinned, not hardened, in the description and the README", () => {
    const m = file(`FROM ${BASE_IMAGES.goBuilder} AS build\nARG VERSION\nFROM debian:12@${DIGEST}\n`);
    assert.equal(repositoryDescription(m), "Mirror of acme/svc: rebuilt with the fleet's Dockerfile on a digest-pinned base, scanned and pinned by digest by mirror-fleet");
    const readme = renderReadme(m);
    assert.doesNotMatch(readme, /\bhardened mirror\b/i);
    assert.match(readme, new RegExp(`The image ships on \`debian:12@${DIGEST}\`, which is pinned but not a minimal base: the override is not called hardened\\.`));
  });

  test("GIVEN every mirror of the fixture fleet and of mirrors/ WHEN described THEN the description and the README's first sentence call it hardened exactly when it is", () => {
    for (const { label, mirror: m } of propertyMirrors(settings, TODAY)) {
      const said = /^Hardened mirror of /.test(repositoryDescription(m));
      assert.equal(said, isHardened(m), label);
      assert.equal(/\n\nA hardened mirror of /.test(renderReadme(m)), said, label);
      // GitHub refuses a longer one: "Description cannot be more than 350 characters" (Ylianst/MeshCentral#4724).
      assert.ok(repositoryDescription(m).length <= 350, label);
    }
  });
});
