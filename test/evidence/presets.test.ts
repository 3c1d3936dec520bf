/**
 * Override presets: Dockerfile text from a few fields, every base from the
 * one table in infra/base-images.ts. The Gokapi preset must say exactly what
 * the hand-written gokapi.Dockerfile of the worked example (a copy in the
 * fixture fleet, test/fixtures/fleet) says, instruction for
 * instruction; the runtime-stage preset must splice onto a real upstream
 * Dockerfile (root-gg/plik's, vendored) and fail closed when it cannot.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";
import {
  appendRuntimeStage,
  goStaticDistroless,
  isRuntimeStageOverride,
  PresetError,
  rebaseRuntime,
  RUNTIME_STAGE_MARKER,
  stageNames,
  type GoStaticDistrolessOptions,
  type RebaseRuntimeOptions,
} from "../../components/presets";
import { header } from "../../components/header";
import { PLIK } from "../fixtures/plik-rebase";
import { fromLines, resolveFleet } from "../../components/spec";
import type { StackSettings } from "../../components/types";
import { BASE_IMAGES } from "../../infra/base-images";
import { policy } from "../../infra/policy";
import { FIXTURE_FLEET } from "../support/fleets";

const settings: StackSettings = { owner: "acme-corp", registryNamespace: "acme-corp", visibility: "private", branchProtection: true, attestations: false };
const TODAY = new Date("2026-11-23T12:00:00Z");
const PLIK_UPSTREAM = fs.readFileSync(path.join(__dirname, "..", "fixtures", "upstream-dockerfiles", "plik.Dockerfile"), "utf8");

/** The Gokapi entry's override, as a preset. */
const GOKAPI: GoStaticDistrolessOptions = {
  module: "github.com/forceu/gokapi",
  pkg: "./cmd/gokapi",
  modulePathMajor: 2,
  generate: true,
  ldflags: {
    "{module}/internal/environment.IsDocker": "true",
    "{module}/internal/environment.Builder": "mirror-fleet",
  },
  port: 53842,
  volumes: ["/app/data", "/app/config"],
  license: "AGPL-3.0-only",
};


/** Dockerfile instructions: comments and blank lines dropped, continuation lines kept as written. */
function instructions(dockerfile: string): string[] {
  return dockerfile.split("\n").filter((l) => l.trim() !== "" && !l.trimStart().startsWith("#"));
}

function resolvePreset(preset: ReturnType<typeof goStaticDistroless>) {
  const spec = { name: "svc", upstream: { repo: "acme/svc" }, override: { preset } };
  return resolveFleet([{ file: "mirrors/svc.ts", spec }], { policy, settings, readFile: () => "", today: TODAY }).mirrors[0];
}

function problems(f: () => unknown): readonly string[] {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof PresetError, String(e));
    return e.problems;
  }
  assert.fail("expected a PresetError");
}

describe("goStaticDistroless", () => {
  test("GIVEN Gokapi's fields WHEN rendered THEN instruction for instruction the worked example's hand-written gokapi.Dockerfile", () => {
    const hand = FIXTURE_FLEET.readFile("mirrors/gokapi.Dockerfile");
    assert.deepEqual(instructions(goStaticDistroless(GOKAPI).dockerfile), instructions(hand));
  });

  test("GIVEN Gokapi's fields WHEN rendered THEN the v2 module patch, the pinned bases, ports and volumes are there", () => {
    const text = goStaticDistroless(GOKAPI).dockerfile;
    assert.deepEqual(fromLines(text), { pins: [BASE_IMAGES.goBuilder, BASE_IMAGES.distrolessStaticNonroot], unpinned: [] });
    for (const line of [
      "    go mod edit -module github.com/forceu/gokapi/v2; \\",
      `      | xargs sed -i 's#"github.com/forceu/gokapi/#"github.com/forceu/gokapi/v2/#g'; \\`,
      '    git tag -f "${VERSION}"',
      `      -ldflags="-s -w -X 'github.com/forceu/gokapi/v2/internal/environment.IsDocker=true' -X 'github.com/forceu/gokapi/v2/internal/environment.Builder=mirror-fleet'" \\`,
      "    mkdir -p /out/app/data /out/app/config",
      'VOLUME ["/app/data", "/app/config"]',
      "EXPOSE 53842",
      "USER 65532:65532",
      'ENTRYPOINT ["/app/gokapi"]',
    ]) {
      assert.ok(text.split("\n").includes(line), `missing line: ${line}`);
    }
  });

  test("GIVEN the preset in an entry WHEN resolved THEN spec.ts accepts it and records the source and both pins", () => {
    const m = resolvePreset(goStaticDistroless(GOKAPI));
    assert.equal(m.override?.source, "preset:goStaticDistroless");
    assert.deepEqual(m.override?.basePins, [BASE_IMAGES.goBuilder, BASE_IMAGES.distrolessStaticNonroot]);
  });

  test("GIVEN a v0/v1 module with no generate, volumes, license or ldflags WHEN rendered THEN exactly the minimal Dockerfile", () => {
    assert.deepEqual(instructions(goStaticDistroless({ module: "github.com/acme/tool", pkg: ".", binary: "tool", port: [8080, 9090], args: ["serve", "--listen=:8080"] }).dockerfile), [
      `FROM ${BASE_IMAGES.goBuilder} AS build`,
      "ARG VERSION",
      "RUN apk add --no-cache git",
      "WORKDIR /src",
      "COPY . .",
      "RUN CGO_ENABLED=0 go build -trimpath \\",
      '      -ldflags="-s -w" \\',
      "      -o /out/app/tool .",
      `FROM ${BASE_IMAGES.distrolessStaticNonroot}`,
      "ARG VERSION",
      'LABEL org.opencontainers.image.version="${VERSION}"',
      "COPY --from=build --chown=65532:65532 /out/app /app",
      "WORKDIR /app",
      "USER 65532:65532",
      "EXPOSE 8080",
      "EXPOSE 9090",
      'ENTRYPOINT ["/app/tool"]',
      'CMD ["serve", "--listen=:8080"]',
    ]);
  });

  test("GIVEN a -X value with ${VERSION} and a main.* key WHEN rendered THEN both are passed through unchanged", () => {
    const text = goStaticDistroless({ module: "github.com/acme/tool", pkg: "./cmd/tool", ldflags: { "main.version": "${VERSION}" } }).dockerfile;
    assert.ok(text.includes(`-ldflags="-s -w -X 'main.version=\${VERSION}'"`));
  });

  test("GIVEN every bad field at once WHEN rendered THEN one error lists them all, naming preset and field", () => {
    const bad = {
      module: "github.com/acme/tool; rm -rf /",
      pkg: "cmd/tool",
      modulePathMajor: 1,
      ldflags: { "{module}/x.Y": "$(id)" },
      port: 70000,
      volumes: ["/data"],
      license: "MIT; echo",
      builder: "alpine",
    } as unknown as GoStaticDistrolessOptions;
    assert.deepEqual(problems(() => goStaticDistroless(bad)), [
      `module: "github.com/acme/tool; rm -rf /" is not allowed (allowed: a Go module path such as github.com/forceu/gokapi)`,
      `pkg: "cmd/tool" is not allowed (allowed: a package path relative to the module root, such as ./cmd/gokapi or .)`,
      `modulePathMajor: 1 is not allowed (allowed: a whole number from 2 to 99; v0 and v1 need no suffix)`,
      `ldflags.{module}/x.Y: "$(id)" is not allowed (allowed: letters, digits, spaces and . _ : / + @ = , -, and \${VERSION})`,
      `port: 70000 is not allowed (allowed: a TCP port from 1 to 65535)`,
      `volumes: "/data" is not allowed (allowed: a directory under /app, which is created owned by the nonroot user)`,
      `license: "MIT; echo" is not allowed (allowed: an SPDX expression such as AGPL-3.0-only)`,
      `builder: "alpine" is not allowed (allowed: goBuilder, distrolessStaticNonroot from infra/base-images.ts)`,
    ]);
  });

  const single: Array<[string, Partial<GoStaticDistrolessOptions>, string]> = [
    ["module already /v2", { module: "github.com/acme/tool/v2", modulePathMajor: 2 }, `modulePathMajor: 2 is set but module "github.com/acme/tool/v2" already ends in /vN (allowed: remove modulePathMajor)`],
    ["pkg . without binary", { pkg: "." }, `binary: "" is not allowed (allowed: a file name, letters, digits and . _ -; set binary when pkg is ".")`],
    ["bad -X key", { ldflags: { "os.Exit": "1" } }, `ldflags.os.Exit: not allowed (allowed: importpath.name, e.g. {module}/internal/environment.Builder or main.version)`],
    ["shell in args", { args: ["$(id)"] }, `args: "$(id)" is not allowed (allowed: letters, digits and . _ : / = @ + , -)`],
  ];
  for (const [what, fields, message] of single) {
    test(`GIVEN ${what} WHEN rendered THEN "${message.slice(0, 40)}…"`, () => {
      assert.deepEqual(problems(() => goStaticDistroless({ module: "github.com/acme/tool", pkg: "./cmd/tool", ...fields })), [message]);
    });
  }

  test("GIVEN an error WHEN thrown THEN its message names the preset on every line", () => {
    assert.throws(() => goStaticDistroless({ module: "x", pkg: "./cmd/x" }), {
      name: "PresetError",
      message: `goStaticDistroless: 1 problem:\n  - goStaticDistroless: module: "x" is not allowed (allowed: a Go module path such as github.com/forceu/gokapi)`,
    });
  });
});

describe("rebaseRuntime", () => {
  test("GIVEN plik's stages WHEN rendered THEN a marked runtime stage on pinned bases, exactly", () => {
    assert.equal(
      rebaseRuntime(PLIK).dockerfile,
      `${RUNTIME_STAGE_MARKER}
# rebaseRuntime: upstream's build stage "builder-go", shipped on a digest-pinned runtime
# base from infra/base-images.ts instead of upstream's own final stage.

FROM ${BASE_IMAGES.goBuilder} AS mirror-fleet-volumes
RUN mkdir -p /out/app/files

FROM ${BASE_IMAGES.distrolessStaticNonroot}
ARG VERSION
LABEL org.opencontainers.image.version="\${VERSION}" org.opencontainers.image.licenses="MIT"
COPY --from=builder-go --chown=65532:65532 /go/src/github.com/root-gg/plik/server/plikd /app/plikd
COPY --from=builder-frontend --chown=65532:65532 /webapp/dist /app/webapp/dist
COPY --from=mirror-fleet-volumes --chown=65532:65532 /out/app/files /app/files
WORKDIR /app
VOLUME ["/app/files"]
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/app/plikd"]
`,
    );
  });

  test("GIVEN the runtime stage in an entry WHEN resolved THEN spec.ts accepts it: its FROMs are pinned and it declares ARG VERSION", () => {
    const m = resolvePreset(rebaseRuntime(PLIK));
    assert.equal(m.override?.source, "preset:rebaseRuntime");
    assert.deepEqual(m.override?.basePins, [BASE_IMAGES.goBuilder, BASE_IMAGES.distrolessStaticNonroot]);
  });

  test("GIVEN the override as committed (header first) WHEN inspected THEN it is recognised as a runtime stage; a whole Dockerfile is not", () => {
    // As components/render.ts commits it: the generated header, then the preset's text.
    const m = resolvePreset(rebaseRuntime(PLIK));
    assert.equal(isRuntimeStageOverride(header("#", m.override!.source) + m.override!.content), true);
    assert.equal(isRuntimeStageOverride(goStaticDistroless(GOKAPI).dockerfile), false);
  });

  test("GIVEN plik's real Dockerfile WHEN the stage is appended THEN upstream stays byte for byte and the last stage is ours", () => {
    const stage = rebaseRuntime(PLIK).dockerfile;
    const out = appendRuntimeStage(PLIK_UPSTREAM, stage, "Dockerfile");
    assert.equal(out, `${PLIK_UPSTREAM}\n\n${stage}`);
    const froms = out.split("\n").filter((l) => /^FROM /.test(l));
    assert.equal(froms.at(-1), `FROM ${BASE_IMAGES.distrolessStaticNonroot}`);
    assert.deepEqual(stageNames(out), ["builder-frontend", "builder-go", "builder-env", "mirror-fleet-volumes"]);
  });

  test("GIVEN upstream renamed the stage WHEN appended THEN it fails closed, naming the file and the stages it has", () => {
    const renamed = PLIK_UPSTREAM.replace("AS builder-go", "AS go-build");
    assert.throws(() => appendRuntimeStage(renamed, rebaseRuntime(PLIK).dockerfile, "Dockerfile"), {
      message: `Dockerfile: has no stage "builder-go" to copy from (stages: builder-frontend, go-build, builder-env); upstream changed its Dockerfile, review the override`,
    });
  });

  test("GIVEN upstream already has a stage named like ours WHEN appended THEN it fails closed", () => {
    const clash = `${PLIK_UPSTREAM}\nFROM alpine:3.11 AS Mirror-Fleet-Volumes\n`;
    assert.throws(() => appendRuntimeStage(clash, rebaseRuntime(PLIK).dockerfile, "docker/Dockerfile"), {
      message: `docker/Dockerfile: stage "mirror-fleet-volumes" is also defined by the override (allowed: stage names the override does not use)`,
    });
  });

  test("GIVEN a whole Dockerfile instead of a runtime stage WHEN appended THEN refused", () => {
    assert.throws(() => appendRuntimeStage(PLIK_UPSTREAM, goStaticDistroless(GOKAPI).dockerfile), {
      message: `override: not a runtime stage (allowed: the output of rebaseRuntime(), which starts with "${RUNTIME_STAGE_MARKER}")`,
    });
  });

  test("GIVEN no volumes and an upstream without a trailing newline WHEN appended THEN no helper stage and a clean join", () => {
    const stage = rebaseRuntime({ stage: "builder-go", copy: [{ from: "/go/bin/x", to: "/x" }], entrypoint: ["/x"] }).dockerfile;
    assert.deepEqual(instructions(stage), [
      `FROM ${BASE_IMAGES.distrolessStaticNonroot}`,
      "ARG VERSION",
      'LABEL org.opencontainers.image.version="${VERSION}"',
      "COPY --from=builder-go --chown=65532:65532 /go/bin/x /x",
      "WORKDIR /",
      "USER 65532:65532",
      'ENTRYPOINT ["/x"]',
    ]);
    assert.equal(appendRuntimeStage("FROM golang AS builder-go", stage), `FROM golang AS builder-go\n\n${stage}`);
  });

  test("GIVEN every bad field at once WHEN rendered THEN one error lists them all", () => {
    const bad = { stage: "mirror-fleet-volumes", copy: [{ from: "relative/x", to: "/x", stage: "a b" }], entrypoint: ["plikd"], volumes: ["data"], runtime: "scratch" } as unknown as RebaseRuntimeOptions;
    assert.deepEqual(problems(() => rebaseRuntime(bad)), [
      `stage: "mirror-fleet-volumes" is reserved (allowed: any other stage name)`,
      `copy[0].stage: "a b" is not allowed (allowed: the name of an upstream build stage, letters, digits and _ . -)`,
      `copy[0].from: "relative/x" is not allowed (allowed: an absolute path inside the upstream stage)`,
      `entrypoint[0]: "plikd" is not allowed (allowed: an absolute path; distroless has no shell to search PATH)`,
      `volumes: "data" is not allowed (allowed: an absolute directory such as /app/data, letters, digits and . _ -)`,
      `runtime: "scratch" is not allowed (allowed: goBuilder, distrolessStaticNonroot from infra/base-images.ts)`,
    ]);
  });
});

describe("one table of base images", () => {
  test("GIVEN every preset output WHEN its FROM lines are read THEN each is a value of infra/base-images.ts", () => {
    const table = new Set<string>(Object.values(BASE_IMAGES));
    for (const text of [goStaticDistroless(GOKAPI).dockerfile, rebaseRuntime(PLIK).dockerfile]) {
      const { pins, unpinned } = fromLines(text);
      assert.deepEqual(unpinned, []);
      for (const pin of pins) assert.ok(table.has(pin), `${pin} is not in infra/base-images.ts`);
    }
  });
});
