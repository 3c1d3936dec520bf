/**
 * Admission policies for the fleet's registry namespace: a cluster admits an
 * image of `ghcr.io/<namespace>/…` only when it is pinned by digest, signed
 * with the fleet key, and carries the CycloneDX SBOM and a passing scan-gate
 * attestation younger than the stack's window (admissionWindow, default
 * 48h): the nightly rescan re-attests a digest that still passes, and a
 * blocking rescan leaves the last attestation to age out (DESIGN invariant
 * 13). Two engines: Kyverno (ClusterPolicy: a registry allow-list rule and a
 * verifyImages rule) and Sigstore's policy-controller (ClusterImagePolicy).
 * Both trust the key alone and skip the transparency log, as the signing
 * does (docs/evidence.md).
 *
 * Kyverno matches `imageReferences` and the allow-list by spelling
 * (kyverno v1.19.1 pkg/engine/internal/imageverifier.go matchReferences:
 * wildcard.Match on the reference as written, host case and port kept), so
 * `GHCR.IO/<ns>/x` or `ghcr.io:443/<ns>/x`, which the node pulls from the same
 * registry, would match no verify rule. The allow-list rule admits only
 * images spelled as the fleet's registry or as a pattern the stack lists
 * (admissionAllowedImages); every other spelling is denied.
 *
 * Image volumes (`spec.volumes[].image`) are denied by the Kyverno policy:
 * neither engine verifies their images. policy-controller cannot deny them
 * (it validates only containers, pkg/webhook/validator.go), which the README
 * says.
 *
 * Rendered by `npm run render` into DIR/admission/ when the stack has a key;
 * validated against the projects' own CRD schemas (test/component/admission.test.ts).
 */
import { SBOM_TYPE, SCAN_GATE_PREDICATE_TYPE } from "../contract";
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

/** The stack's window: how long a passing scan-gate result admits its digest (a Go duration). */
export const DEFAULT_ADMISSION_WINDOW = "48h";

function windowOf(settings: StackSettings): string {
  return settings.admissionWindow ?? DEFAULT_ADMISSION_WINDOW;
}

/**
 * A gate decision dated later than this is no fresher than now: it cannot
 * stretch its window into the future (a clock ahead by more than this is an error).
 */
const CLOCK_SKEW = "5m";

/**
 * The scan-gate attestation's conditions: a pass, decided within the window
 * and not in the future. Kyverno checks every statement of the type
 * (v1.19.1 imageverifier.go verifyAttestation), so the pipeline keeps one per
 * digest (`cosign attest --replace`).
 */
export function scanGateConditions(window: string): Array<{ all: Array<{ key: string; operator: string; value: string }> }> {
  const age = "{{ time_since('', gate.decidedAt, '') }}";
  return [
    {
      all: [
        { key: "{{ decision }}", operator: "Equals", value: "pass" },
        { key: age, operator: "LessThanOrEquals", value: window },
        { key: age, operator: "GreaterThanOrEquals", value: `-${CLOCK_SKEW}` },
      ],
    },
  ];
}

/** The image patterns the allow-list admits: the fleet's registry namespace and what the stack lists. */
export function allowedImages(settings: StackSettings, registry = fleetRegistry(settings)): string[] {
  return [`${registry}/*`, ...(settings.admissionAllowedImages ?? [])];
}

/** `registry`: where the fleet's images live (the e2e passes its registry on 127.0.0.1). */
export function kyvernoPolicy(settings: StackSettings, registry = fleetRegistry(settings)): Record<string, unknown> {
  const key = {
    entries: [{ keys: { publicKeys: publicKey(settings), signatureAlgorithm: "sha256", rekor: { ignoreTlog: true }, ctlog: { ignoreSCT: true } } }],
  };
  const allowed = allowedImages(settings, registry);
  return {
    apiVersion: "kyverno.io/v1",
    kind: "ClusterPolicy",
    metadata: {
      name: POLICY_NAME,
      annotations: {
        "policies.kyverno.io/title": "mirror-fleet images: allowed registries; pinned, signed, attested; no image volumes",
        "policies.kyverno.io/description":
          `Every container image must be spelled as ${allowed.join(" or ")}. Images of ${registry} must be referenced by digest, signed with the fleet's cosign key, ` +
          `and carry the CycloneDX SBOM and a passing ${SCAN_GATE_PREDICATE_TYPE} attestation decided within the last ${windowOf(settings)}. No pod may mount an image volume.`,
      },
    },
    spec: {
      background: false,
      // Stated, not left to defaults: an error or a timeout refuses the pod (Fail, also Kyverno's default;
      // its --forceFailurePolicyIgnore flag would still turn it to Ignore: keep that flag off), and 30 s is
      // the most Kubernetes allows (v1.19.1 api/kyverno/v1 WebhookConfiguration; webhookTimeoutSeconds is deprecated).
      webhookConfiguration: { failurePolicy: "Fail", timeoutSeconds: 30 },
      rules: [
        {
          name: "allowed-registries",
          match: { any: [{ resources: { kinds: ["Pod"] } }] },
          validate: {
            failureAction: "Enforce",
            message: `every container image must be spelled as ${allowed.join(" or ")} (stack setting admissionAllowedImages lists others)`,
            foreach: [
              {
                list: "request.object.spec.[containers, initContainers, ephemeralContainers][]",
                deny: {
                  conditions: {
                    any: [
                      { key: "{{ element.image }}", operator: "AnyNotIn", value: allowed },
                      // AnyNotIn also reads the image as a pattern (operator/anyin.go
                      // anyKeyExistsInArray): no image may hold a wildcard.
                      { key: "{{ regex_match('[*?]', element.image) }}", operator: "Equals", value: true },
                    ],
                  },
                },
              },
            ],
          },
        },
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
                { type: SCAN_GATE_PREDICATE_TYPE, attestors: [key], conditions: scanGateConditions(windowOf(settings)) },
              ],
            },
          ],
        },
        {
          // An image volume (Kubernetes 1.35: beta, on by default) mounts an image's files into a pod;
          // neither engine verifies it (Kyverno's image extractors read containers, initContainers and
          // ephemeralContainers only: v1.19.1 pkg/utils/api/image.go), so none is admitted.
          name: "no-image-volumes",
          match: { any: [{ resources: { kinds: ["Pod"] } }] },
          validate: {
            failureAction: "Enforce",
            message: "image volumes are not admitted: no image of one is verified (mount what you need from a container of a verified image)",
            deny: { conditions: { any: [{ key: "{{ length(request.object.spec.volumes[?image] || `[]`) }}", operator: "GreaterThan", value: 0 }] } },
          },
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
              // Rego, not CUE: the window needs the time of the admission (OPA's time.now_ns).
              policy: { type: "rego", data: scanGateRego(windowOf(settings)) },
            },
          ],
        },
      ],
    },
  };
}

/**
 * policy-controller's attestation policy in Rego: package sigstore, rule
 * isCompliant, over the in-toto statement (sigstore docs, "Policies:
 * attestations with rego"). Same conditions as Kyverno's.
 */
export function scanGateRego(window: string): string {
  const ns = (d: string) => `${goDurationSeconds(d)} * 1000000000`;
  return [
    "package sigstore",
    "default isCompliant = false",
    "isCompliant {",
    `  input.predicateType == "${SCAN_GATE_PREDICATE_TYPE}"`,
    '  input.predicate.decision == "pass"',
    "  age := time.now_ns() - time.parse_rfc3339_ns(input.predicate.gate.decidedAt)",
    `  age <= ${ns(window)}`,
    `  age >= -${ns(CLOCK_SKEW)}`,
    "}",
    "",
  ].join("\n");
}

/** Seconds of a duration as the stack writes it (`48h`, `90m`, `30s`). */
export function goDurationSeconds(d: string): number {
  const m = /^([1-9][0-9]*)(h|m|s)$/.exec(d);
  if (!m) throw new Error(`admission window ${JSON.stringify(d)} is not allowed (allowed: a whole number of hours, minutes or seconds, e.g. 48h)`);
  return Number(m[1]) * { h: 3600, m: 60, s: 1 }[m[2] as "h" | "m" | "s"];
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
