/**
 * The fleet's admission policies against the projects' own CRD schemas,
 * taken at test time from their Go modules through the Go module proxy
 * (`go mod download`, nothing committed): Kyverno's ClusterPolicy (v1) and
 * Sigstore policy-controller's ClusterImagePolicy (v1beta1). Unknown fields
 * are errors here, as with `kubectl apply --validate=strict`: a misspelt
 * field would otherwise be pruned and the rule silently weaker.
 *
 * `kyverno apply` of the Kyverno policy on sample Pods runs in the e2e (it
 * needs the signed image in a registry); the policy-controller webhook is
 * not run (no cluster).
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, test } from "node:test";
import Ajv from "ajv";
import { parse, parseAllDocuments } from "yaml";
import { ADMISSION_PATHS, kyvernoPolicy, renderAdmissionPolicies, sigstorePolicy } from "../../components/admission";
import type { StackSettings } from "../../components/types";
import { renderFleet } from "../../infra/render";
import { policy } from "../../infra/policy";
import { FIXTURE_FLEET } from "../support/fleets";
import { toolVersions } from "../support/tools";
import { FLEET_PUBLIC_KEY } from "../workflow/fixtures";

/** The modules the CRDs come from, at the versions the policies are written for. */
const CRDS = {
  // The version whose CLI the e2e applies the policy with (tools/versions.sh).
  kyverno: { module: `github.com/kyverno/kyverno@v${toolVersions().kyverno}`, file: "config/crds/kyverno/kyverno.io_clusterpolicies.yaml", version: "v1" },
  sigstore: { module: "github.com/sigstore/policy-controller@v0.13.1", file: "config/300-clusterimagepolicy.yaml", version: "v1beta1" },
} as const;

const SETTINGS: StackSettings = { owner: "acme-corp", registryNamespace: "acme-corp", visibility: "private", branchProtection: true, attestations: false, cosignPublicKey: FLEET_PUBLIC_KEY };

function moduleDir(module: string): string {
  let out: string;
  try {
    out = execFileSync("go", ["mod", "download", "-json", module], { encoding: "utf8", cwd: os.tmpdir(), env: { ...process.env, GOFLAGS: "-mod=mod" } });
  } catch (e) {
    throw new Error(`go mod download ${module} failed (the CRD schema comes from the module; needs Go and the module proxy): ${(e as Error).message}`);
  }
  return (JSON.parse(out) as { Dir: string }).Dir;
}

type Schema = Record<string, unknown>;

/** Strict structural schema: an object with declared properties admits no others, unless it preserves unknown fields. */
function strict(s: Schema): Schema {
  const out: Schema = {};
  for (const [k, v] of Object.entries(s)) {
    if (k.startsWith("x-kubernetes-")) continue;
    if (k === "properties") out[k] = Object.fromEntries(Object.entries(v as Record<string, Schema>).map(([p, ps]) => [p, strict(ps)]));
    else if (k === "items" || k === "additionalProperties") out[k] = typeof v === "object" && v !== null ? strict(v as Schema) : v;
    else if (k === "allOf" || k === "anyOf" || k === "oneOf") out[k] = (v as Schema[]).map(strict);
    else out[k] = v;
  }
  if (s.properties && s.additionalProperties === undefined && s["x-kubernetes-preserve-unknown-fields"] !== true) out.additionalProperties = false;
  return out;
}

function validator(which: keyof typeof CRDS) {
  const c = CRDS[which];
  const text = fs.readFileSync(path.join(moduleDir(c.module), c.file), "utf8");
  const crd = parseAllDocuments(text).map((d) => d.toJS()).find((d) => d?.kind === "CustomResourceDefinition");
  const version = (crd.spec.versions as Array<{ name: string; schema: { openAPIV3Schema: Schema } }>).find((v) => v.name === c.version);
  assert.ok(version, `${c.module} ${c.file} has no version ${c.version}`);
  // apiVersion, kind and metadata are every object's, declared in the CRD or not (policy-controller's leaves them out).
  const root = version!.schema.openAPIV3Schema;
  const withMeta = { ...root, properties: { apiVersion: { type: "string" }, kind: { type: "string" }, metadata: { type: "object" }, ...(root.properties as object) } };
  const validate = new Ajv({ strict: false, allErrors: true }).compile(strict(withMeta));
  return (doc: unknown) => (validate(doc) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message} ${JSON.stringify(e.params)}`));
}

describe("admission policies against their CRD schemas (from the Go modules)", () => {
  const kyverno = validator("kyverno");
  const sigstore = validator("sigstore");

  test("GIVEN the fleet's Kyverno ClusterPolicy THEN it is valid v1, refuses tags (verifyDigest), checks the key without a log, and both attestations", () => {
    const doc = kyvernoPolicy(SETTINGS);
    assert.deepEqual(kyverno(doc), []);
    const rules = (doc.spec as { rules: Array<{ name: string; verifyImages?: Array<Record<string, unknown>> }> }).rules;
    assert.deepEqual(rules.map((r) => r.name), ["allowed-registries", "pinned-signed-attested", "no-image-volumes"]);
    const rule = rules[1].verifyImages![0];
    assert.deepEqual(rule.imageReferences, ["ghcr.io/acme-corp/*"]);
    assert.equal(rule.verifyDigest, true);
    assert.equal(rule.mutateDigest, false);
    assert.deepEqual((rule.attestations as Array<{ type: string }>).map((a) => a.type), ["https://cyclonedx.org/bom", "https://mirror-fleet.dev/scan-gate/v1"]);
  });

  test("GIVEN the fleet's Sigstore ClusterImagePolicy THEN it is valid v1beta1: the fleet key, no transparency log, both attestations", () => {
    const doc = sigstorePolicy(SETTINGS);
    assert.deepEqual(sigstore(doc), []);
    const authority = (doc.spec as { authorities: Array<Record<string, unknown>> }).authorities[0];
    assert.equal((authority.key as { data: string }).data, FLEET_PUBLIC_KEY);
    assert.equal("ctlog" in authority, false);
  });

  test("GIVEN a misspelt or mistyped field THEN the schema check fails (it is not a check that cannot fail)", () => {
    const k = kyvernoPolicy(SETTINGS) as { spec: { rules: Array<{ verifyImages: Array<Record<string, unknown>> }> } };
    k.spec.rules[1].verifyImages[0].verifyDigests = true;
    assert.match(kyverno(k).join("\n"), /must NOT have additional properties.*verifyDigests/);
    const s = sigstorePolicy(SETTINGS) as { spec: { mode: unknown } };
    s.spec.mode = 1;
    assert.match(sigstore(s).join("\n"), /\/spec\/mode must be string/);
  });
});

describe("npm run render writes them", () => {
  test("GIVEN a stack with a key THEN DIR/admission/ holds both, as YAML equal to the policies; without a key they are removed", () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), "admission-render-"));
    try {
      const inputs = { entries: FIXTURE_FLEET.entries(), policy, readFile: FIXTURE_FLEET.readFile, today: new Date("2026-11-23T12:00:00Z") };
      renderFleet(out, { ...inputs, settings: SETTINGS });
      assert.deepEqual(parse(fs.readFileSync(path.join(out, ADMISSION_PATHS.kyverno), "utf8")), kyvernoPolicy(SETTINGS));
      assert.deepEqual(parse(fs.readFileSync(path.join(out, ADMISSION_PATHS.sigstore), "utf8")), sigstorePolicy(SETTINGS));
      const { cosignPublicKey: _, ...unsigned } = SETTINGS;
      assert.deepEqual(renderAdmissionPolicies(unsigned), []);
      renderFleet(out, { ...inputs, settings: unsigned });
      assert.equal(fs.existsSync(path.join(out, "admission")), false);
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });
});
