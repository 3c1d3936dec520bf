import { defineMirror } from "../components/spec";

/** Forceu/Gokapi: Firefox-Send-style file sharing, Go, AGPL-3.0. The worked example. */
export default defineMirror({
  name: "gokapi",
  upstream: {
    repo: "Forceu/Gokapi",
    tags: { range: ">=2.0.0", prerelease: false },
    license: "AGPL-3.0-only",
  },
  image: "gokapi",
  override: { file: "gokapi.Dockerfile" },
  build: { platforms: ["linux/amd64", "linux/arm64"] },
  // The override replaces these; when upstream changes them, a human checks
  // that the override still builds what upstream meant to ship.
  watch: ["Dockerfile", "dockerentry.sh", "go.mod"],
  gate: {
    waivers: [
      {
        id: "CVE-2026-34986",
        reason:
          "go-jose/v4 DoS via crafted JWE input; Gokapi only parses tokens from its configured OIDC provider, which our deployment does not enable. Fixed in v4.1.4; drop this waiver when upstream bumps it.",
        expires: "2027-02-28",
        approvedBy: "security-team",
        approvedOn: "2026-11-23",
        purls: ["pkg:golang/github.com/go-jose/go-jose/v4@v4.1.3"],
        justification: "vulnerable_code_not_in_execute_path",
      },
    ],
  },
});
