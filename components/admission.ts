/**
 * Admission policies for the fleet's registry namespace: a cluster admits an
 * image of `ghcr.io/<namespace>/…` only when it is pinned by digest, signed
 * with the fleet key, and carries the CycloneDX SBOM and the passing
 * scan-gate attestations that `pipeline sign` attaches. Two engines, one
 * rule each: Kyverno (ClusterPolicy, verifyImages) and Sigstore's
 * policy-controller (ClusterImagePolicy). Both trust the key alone and skip
 * the transparency log, as the signing does (docs/evidence.md).
 *
 * Rendered by `npm run render` into DIR/admission/ when the stack has a key;
 * validated against the projects' own CRD schemas (test/components/admission.test.ts).
 */
import { SBOM_TYPE, SCAN_GATE_PREDICATE_TYPE } from "../pipeline/lib/sign";
import { header } from "./header";
import { stackRegistry } from "./registry";
import type { StackSettings } from "./types";
import { toYaml } from "./yaml";

export const ADMISSION_PATHS = {
  kyverno: "admission/kyverno-clusterpolicy.yaml",
  sigstore: "admission/sigstore-clusterimagepolicy.yaml",
} as const;

/** The in-toto predicate type cosign writes for `--type cyclonedx`. */
export const CYCLONEDX_PREDICATE_TYPE = "https://cyclonedx.org/bom";
const POLICY_NAME = "mirror-fleet-images";

/** `<registry>/<namespace>` (`ghcr.io/acme`): every mirror's image lives below it. */
export function fleetRegistry(settings: StackSettings): string {
  return `${stackRegistry(settings)}/${settings.registryNamespace}`;
}

function publicKey(settings: StackSettings): string {
  if (!settings.cosignPublicKey) throw new Error("admission policies need mirror-fleet:cosignPublicKey (nothing is signed without it)");
  return settings.cosignPublicKey.trim() + "\n";
}

/** `registry`: where the fleet's images live (the e2e passes its registry on 127.0.0.1). */
export function kyvernoPolicy(settings: StackSettings, registry = fleetRegistry(settings)): Record<string, unknown> {
  const key = {
    entries: [{ keys: { publicKeys: publicKey(settings), signatureAlgorithm: "sha256", rekor: { ignoreTlog: true }, ctlog: { ignoreSCT: true } } }],
  };
  return {
    apiVersion: "kyverno.io/v1",
    kind: "ClusterPolicy",
    metadata: {
      name: POLICY_NAME,
      annotations: {
        "policies.kyverno.io/title": "mirror-fleet images: pinned, signed, attested",
        "policies.kyverno.io/description": `Images of ${registry} must be referenced by digest, signed with the fleet's cosign key, and carry the CycloneDX SBOM and a passing ${SCAN_GATE_PREDICATE_TYPE} attestation.`,
      },
    },
    spec: {
      background: false,
      webhookTimeoutSeconds: 30,
      rules: [
        {
          name: "pinned-signed-attested",
          match: { any: [{ resources: { kinds: ["Pod"] } }] },
          verifyImages: [
            {
              imageReferences: [`${registry}/*`],
              failureAction: "Enforce",
              // A tag is refused, not resolved: what is deployed is what image-pin.yml pins.
              verifyDigest: true,
              mutateDigest: false,
              required: true,
              attestors: [key],
              attestations: [
                { type: CYCLONEDX_PREDICATE_TYPE, attestors: [key] },
                {
                  type: SCAN_GATE_PREDICATE_TYPE,
                  attestors: [key],
                  conditions: [{ all: [{ key: "{{ decision }}", operator: "Equals", value: "pass" }] }],
                },
              ],
            },
          ],
        },
      ],
    },
  };
}

export function sigstorePolicy(settings: StackSettings): Record<string, unknown> {
  return {
    apiVersion: "policy.sigstore.dev/v1beta1",
    kind: "ClusterImagePolicy",
    metadata: { name: POLICY_NAME },
    spec: {
      images: [{ glob: `${fleetRegistry(settings)}/**` }],
      mode: "enforce",
      authorities: [
        {
          name: "fleet-key",
          // No ctlog: without a Rekor to ask, policy-controller skips the
          // transparency log (pkg/webhook/validator.go), as the offline signing needs.
          key: { data: publicKey(settings), hashAlgorithm: "sha256" },
          attestations: [
            { name: "sbom", predicateType: SBOM_TYPE },
            {
              name: "scan-gate",
              predicateType: SCAN_GATE_PREDICATE_TYPE,
              policy: { type: "cue", data: `predicateType: "${SCAN_GATE_PREDICATE_TYPE}"\npredicate: decision: "pass"\n` },
            },
          ],
        },
      ],
    },
  };
}

/** The two files, or none when the stack sets no key. */
export function renderAdmissionPolicies(settings: StackSettings): Array<{ path: string; content: string }> {
  if (!settings.cosignPublicKey) return [];
  const from = "the stack's cosignPublicKey and registryNamespace, components/admission.ts";
  return [
    { path: ADMISSION_PATHS.kyverno, content: header("#", from) + toYaml(kyvernoPolicy(settings)) },
    { path: ADMISSION_PATHS.sigstore, content: header("#", from) + toYaml(sigstorePolicy(settings)) },
  ];
}
