/**
 * Installing Trivy in a job: by version, from the GitHub release, verified
 * before it runs. A version pin alone is not enough: v0.69.4 was a malicious
 * release (GHSA-69fq-xp46-6x23), and a checksum file downloaded from the same
 * release proves nothing about a release that is itself malicious. So the
 * checksum file is first verified with cosign against its Sigstore bundle,
 * with the signing certificate pinned to Trivy's release workflow AT THAT TAG
 * and to GitHub's OIDC issuer (how Trivy signs since v0.68.1: every release
 * asset has a `<asset>.sigstore.json`, see
 * docs/getting-started/signature-verification.md in aquasecurity/trivy), and
 * only then is the tarball checked against it.
 *
 * The vulnerability DB is never shared through the Actions cache: each job
 * that scans lets Trivy download it (mirror.gcr.io, Trivy's default). On a
 * schedule or push run every job holds a read-write cache token, so any
 * process in the build job (upstream's build, a compromised scanner) can save
 * any key, today's or tomorrow's; a scan that restores a cache would read
 * what the last attacker saved (docs/workflow.md, "Security").
 */
import { and, expr, type Expr, type Step } from "./model";

/** Cosign that verifies the Trivy release: cosign-installer's default, written down so a bump is a visible diff. */
export const COSIGN_RELEASE = "v3.0.6";
export const TRIVY_OIDC_ISSUER = "https://token.actions.githubusercontent.com";
/** Releases never to install, whatever the policy says. */
export const KNOWN_BAD_TRIVY_VERSIONS: readonly string[] = ["0.69.4"];

export function trivyCertificateIdentity(version: string): string {
  return `https://github.com/aquasecurity/trivy/.github/workflows/reusable-release.yaml@refs/tags/v${version}`;
}

export function checkTrivyVersion(version: string): void {
  if (!/^\d+\.\d+\.\d+$/.test(version)) {
    throw new Error(`policy.trivy.version: ${JSON.stringify(version)} is not allowed (allowed: an exact release such as "0.74.0", never "latest")`);
  }
  if (KNOWN_BAD_TRIVY_VERSIONS.includes(version)) {
    throw new Error(`policy.trivy.version: ${version} is a known malicious release (GHSA-69fq-xp46-6x23) (allowed: any other release)`);
  }
}

const INSTALL_SCRIPT = [
  "dir=\"$RUNNER_TEMP/trivy\"",
  "mkdir -p \"$dir\"",
  "cd \"$dir\"",
  "base=\"https://github.com/aquasecurity/trivy/releases/download/v$TRIVY_VERSION\"",
  "tarball=\"trivy_${TRIVY_VERSION}_Linux-64bit.tar.gz\"",
  "sums=\"trivy_${TRIVY_VERSION}_checksums.txt\"",
  "for f in \"$tarball\" \"$sums\" \"$sums.sigstore.json\"; do",
  "  curl --fail --silent --show-error --location --retry 3 --output \"$f\" \"$base/$f\"",
  "done",
  "# The signature, not the download, is what ties the checksums to Trivy's",
  "# release workflow at this tag; a checksum file alone proves nothing.",
  "cosign verify-blob \"$sums\" --bundle \"$sums.sigstore.json\" \\",
  "  --certificate-oidc-issuer \"$TRIVY_OIDC_ISSUER\" \\",
  "  --certificate-identity \"$TRIVY_CERT_IDENTITY\"",
  "awk -v f=\"$tarball\" '$2 == f' \"$sums\" > tarball.sha256",
  "if [ \"$(wc -l < tarball.sha256)\" -ne 1 ]; then",
  "  echo \"::error::$sums lists $tarball $(wc -l < tarball.sha256) times (expected once)\"",
  "  exit 1",
  "fi",
  "sha256sum --check --strict tarball.sha256",
  "tar -xzf \"$tarball\" trivy",
  "./trivy --version",
  "echo \"$dir\" >> \"$GITHUB_PATH\"",
].join("\n") + "\n";

/**
 * act (nektos/act), the Actions engine `npm run e2e` runs this workflow with,
 * sets ACT=true in every step's env (its README, "Skipping steps"); GitHub
 * never does. Under act the runner brings the Trivy built from its Go module:
 * this download needs github.com and its signature check Sigstore's
 * public-good instance, neither reachable where the e2e runs. The e2e lists
 * the step as exempt, with this reason.
 */
export const NOT_UNDER_ACT = "!env.ACT";

/** cosign and Trivy (verified). `when` guards every step (e.g. "something is pinned"). */
export function trivySteps(version: string, when?: Expr): Step[] {
  checkTrivyVersion(version);
  const guard = when ? { if: when } : {};
  return [
    { name: "Install cosign", ...guard, uses: "cosignInstaller", with: { "cosign-release": COSIGN_RELEASE } },
    {
      name: `Install Trivy ${version} (signature-verified)`,
      if: when ? and(when, NOT_UNDER_ACT) : expr(NOT_UNDER_ACT),
      env: {
        TRIVY_VERSION: version,
        TRIVY_OIDC_ISSUER,
        TRIVY_CERT_IDENTITY: trivyCertificateIdentity(version),
      },
      run: INSTALL_SCRIPT,
    },
  ];
}
