/**
 * Signing in the mirror workflow, when the stack has a cosign key
 * (ResolvedMirror.signing): the publish job's steps (install cosign, then
 * `pipeline sign` right after the push, pipeline/lib/sign.ts), and the
 * re-attest job that gives a passing nightly rescan's result to the pinned
 * digest (`pipeline sign --rescan`), so that admission follows the nights
 * (components/admission.ts). Only the two signing steps see the key, never
 * checkout, setup-node or the installer; where the plan has environments,
 * the key lives in the SIGNING_ENVIRONMENT environment, which only jobs of
 * the default branch can enter (components/signing-key.ts).
 */
import { MIRROR_PATHS } from "../mirror-config";
import type { GithubPlan, ResolvedMirror } from "../types";
import { expr, githubToken, needsOutput, secret, stepOutput, type Job, type Step, type Value } from "./model";

/** The GitHub environment that holds the fleet key in each mirror repository. */
export const SIGNING_ENVIRONMENT = "mirror-signing";

/**
 * Where the fleet key lives: an environment, where GitHub gives the
 * repository environments with environment secrets and deployment branches
 * (public repositories on every plan; private ones on Pro, Team and
 * Enterprise: docs.github.com, "Managing environments for deployment"),
 * else nowhere but the repository's secrets (null).
 */
export function signingEnvironment(visibility: ResolvedMirror["visibility"], plan: GithubPlan): string | null {
  return visibility === "public" || plan !== "free" ? SIGNING_ENVIRONMENT : null;
}

/** Actions secret names of the fleet key (stack secrets mirror-fleet:cosignPrivateKey, cosignPassword). */
export const COSIGN_SECRETS = { privateKey: "COSIGN_PRIVATE_KEY", password: "COSIGN_PASSWORD" } as const;

/**
 * The cosign that signs: the version tools/versions.sh builds and the e2e
 * signs and verifies with (a test keeps them equal). cosign v3 changes the
 * signing defaults (signing config, bundle format); moving to it is a tested
 * change, not an installer default.
 */
export const COSIGN_SIGN_RELEASE = "v2.6.5";

/** `image`: the mirror's image, or the shared workflow's input that holds it. */
export function signSteps(m: ResolvedMirror, image: Value, pipeline: string, runUrl: string): Step[] {
  if (!m.signing) return [];
  return [
    { name: `Install cosign ${COSIGN_SIGN_RELEASE} (signing)`, uses: "cosignInstaller", with: { "cosign-release": COSIGN_SIGN_RELEASE } },
    {
      name: "Sign the pushed digests, attest the SBOMs and the scan gate (fleet key, no transparency log)",
      id: "sign",
      env: {
        IMAGE: image,
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

/** Steps and helpers of components/workflow.ts the re-attest job is made of (passed in: that module imports this one). */
export interface JobParts {
  /** The mirror's image, or the shared workflow's input that holds it. */
  readonly image: Value;
  readonly checkout: Step;
  /** The fleet pipeline's setup step (pinned by commit). */
  readonly setupPipeline: Step;
  readonly download: (artifact: string, path: string) => Step;
  readonly removeCredentials: Step;
  readonly pipeline: string;
  readonly runUrl: string;
  /** The rescan job's artifact name. */
  readonly rescanArtifact: string;
}

/**
 * A passing rescan re-attests the pinned digest (index and platforms) with
 * its fresh scan-gate result, replacing the last one; a blocking rescan runs
 * nothing here, so the last pass ages out of the admission window. Its own
 * job: the rescan job runs Trivy and holds no write token nor the key.
 */
export function reattestJob(m: ResolvedMirror, parts: JobParts): Job | undefined {
  if (!m.signing) return undefined;
  return {
    name: "Re-attest the pinned digest: today's passing scan gate (admission window)",
    needs: ["rescan"],
    if: expr("!cancelled() && needs.rescan.result == 'success' && needs.rescan.outputs.decision == 'pass'"),
    ...(m.signing.environment ? { environment: m.signing.environment } : {}),
    permissions: { contents: "read", packages: "write" },
    timeoutMinutes: 15,
    steps: [
      parts.checkout,
      parts.setupPipeline,
      parts.download(parts.rescanArtifact, "rescan"),
      { name: `Install cosign ${COSIGN_SIGN_RELEASE} (signing)`, uses: "cosignInstaller", with: { "cosign-release": COSIGN_SIGN_RELEASE } },
      {
        name: "Attest today's scan-gate pass on the pinned digest (fleet key, replaces the last one)",
        env: {
          IMAGE: parts.image,
          TAG: needsOutput("rescan", "tag"),
          COMMIT: needsOutput("rescan", "commit"),
          DIGEST: needsOutput("rescan", "digest"),
          REGISTRY_USER: expr("github.actor"),
          REGISTRY_PASSWORD: githubToken(),
          [COSIGN_SECRETS.privateKey]: secret(COSIGN_SECRETS.privateKey),
          [COSIGN_SECRETS.password]: secret(COSIGN_SECRETS.password),
        },
        run: [
          parts.runUrl,
          `${parts.pipeline} sign --rescan --config ${MIRROR_PATHS.config} --image "$IMAGE" --digest "$DIGEST" --tag "$TAG" --commit "$COMMIT" \\`,
          `  --scan-record rescan/scan.json --gate-json rescan/gate.json --public-key ${MIRROR_PATHS.publicKey} --run-url "$run_url"`,
        ].join("\n") + "\n",
      },
      parts.removeCredentials,
    ],
  };
}
