/**
 * The publish job's signing steps, when the stack has a cosign key
 * (ResolvedMirror.signing): install cosign, then `pipeline sign` right after
 * the push (pipeline/lib/sign.ts). The private key and its password are
 * Actions secrets of the mirror (components/mirrored-image.ts) and only the
 * signing step sees them, never checkout, setup-node or the installer.
 */
import { MIRROR_PATHS } from "../mirror-config";
import type { ResolvedMirror } from "../types";
import { expr, githubToken, needsOutput, secret, stepOutput, type Step } from "./model";

/** Actions secret names of the fleet key (stack secrets mirror-fleet:cosignPrivateKey, cosignPassword). */
export const COSIGN_SECRETS = { privateKey: "COSIGN_PRIVATE_KEY", password: "COSIGN_PASSWORD" } as const;

/**
 * The cosign that signs: the version tools/versions.sh builds and the e2e
 * signs and verifies with (a test keeps them equal). cosign v3 changes the
 * signing defaults (signing config, bundle format); moving to it is a tested
 * change, not an installer default.
 */
export const COSIGN_SIGN_RELEASE = "v2.6.5";

export function signSteps(m: ResolvedMirror, pipeline: string, runUrl: string): Step[] {
  if (!m.signing) return [];
  return [
    { name: `Install cosign ${COSIGN_SIGN_RELEASE} (signing)`, uses: "cosignInstaller", with: { "cosign-release": COSIGN_SIGN_RELEASE } },
    {
      name: "Sign the pushed digests, attest the SBOMs and the scan gate (fleet key, no transparency log)",
      id: "sign",
      env: {
        IMAGE: m.image,
        TAG: needsOutput("resolve", "tag"),
        COMMIT: needsOutput("resolve", "commit"),
        DIGEST: stepOutput("publish", "digest"),
        REGISTRY_USER: expr("github.actor"),
        REGISTRY_PASSWORD: githubToken(),
        [COSIGN_SECRETS.privateKey]: secret(COSIGN_SECRETS.privateKey),
        [COSIGN_SECRETS.password]: secret(COSIGN_SECRETS.password),
      },
      run: [
        runUrl,
        `${pipeline} sign --config ${MIRROR_PATHS.config} --image "$IMAGE" --digest "$DIGEST" --tag "$TAG" --commit "$COMMIT" \\`,
        `  --scan-record audit/scan.json --gate-json audit/gate.json --public-key ${MIRROR_PATHS.publicKey} \\`,
        "  --review-file audit/diff-review.md --diff-file audit/diff.patch --run-url \"$run_url\"",
      ].join("\n") + "\n",
    },
  ];
}
