/**
 * The one table of third-party actions that generated workflows may use, each
 * pinned to the full commit SHA its release tag pointed to (read from the
 * action's own repository, read 2026-11-23). A tag can be
 * force-pushed — in March 2026 the scanner action's tags were rewritten to
 * credential stealers — a commit SHA cannot. Renovate bumps these lines
 * (renovate.json, custom manager "action pins").
 *
 * Newest major of each action, except where a note says why not.
 */
export const ACTIONS = {
  // renovate: action=actions/checkout
  checkout: { uses: "actions/checkout", sha: "3d3c42e5aac5ba805825da76410c181273ba90b1", version: "v7.0.1" },
  // renovate: action=actions/setup-node
  setupNode: { uses: "actions/setup-node", sha: "820762786026740c76f36085b0efc47a31fe5020", version: "v7.0.0" },
  // renovate: action=actions/upload-artifact
  uploadArtifact: { uses: "actions/upload-artifact", sha: "bbbca2ddaa5d8feaa63e36b76fdaad77386f024f", version: "v7.0.0" },
  // renovate: action=actions/download-artifact
  downloadArtifact: { uses: "actions/download-artifact", sha: "3e5f45b2cfb9172054b4087a40e8e0b5a5461e7c", version: "v8.0.1" },
  // The fleet repository's own workflow only (FLEET_ONLY below): no mirror job shares a cache.
  // renovate: action=actions/cache
  cache: { uses: "actions/cache", sha: "27d5ce7f107fe9357f9df03efb73ab90386fccae", version: "v5.0.5" },
  // renovate: action=actions/attest-build-provenance
  attestBuildProvenance: { uses: "actions/attest-build-provenance", sha: "a2bbfa25375fe432b6a289bc6b6cd05ecd0c4c32", version: "v4.1.0" },
  // renovate: action=actions/attest-sbom
  attestSbom: { uses: "actions/attest-sbom", sha: "c604332985a26aa8cf1bdc465b92731239ec6b9e", version: "v4.1.0" },
  // renovate: action=github/codeql-action
  uploadSarif: { uses: "github/codeql-action/upload-sarif", sha: "8aad20d150bbac5944a9f9d289da16a4b0d87c1e", version: "v4.36.2" },
  // renovate: action=docker/setup-buildx-action
  setupBuildx: { uses: "docker/setup-buildx-action", sha: "37fe631027851001ddb9b187196cc803df7f5f0e", version: "v4.3.0" },
  // renovate: action=docker/build-push-action
  buildPush: { uses: "docker/build-push-action", sha: "53b7df96c91f9c12dcc8a07bcb9ccacbed38856a", version: "v7.3.0" },
  // renovate: action=docker/login-action
  login: { uses: "docker/login-action", sha: "4907a6ddec9925e35a0a9e82d7399ccc52663121", version: "v4.1.0" },
  // renovate: action=sigstore/cosign-installer
  cosignInstaller: { uses: "sigstore/cosign-installer", sha: "6f9f17788090df1f26f669e9d70d6ae9567deba6", version: "v4.1.2" },
  // The fleet repository's own workflow only (FLEET_ONLY below).
  // renovate: action=actions/github-script
  githubScript: { uses: "actions/github-script", sha: "ed597411d8f924073f98dfc5c65a23a2325f34cd", version: "v8.0.0" },
} as const;

export type ActionKey = keyof typeof ACTIONS;

/**
 * Used by the fleet repository's own workflow (.github/workflows/fleet.yml:
 * github-script posts the preview on a pull request, cache keeps the Pulumi
 * CLI), never by a mirror: kept off the mirror repositories' Actions
 * allow-list. A mirror's jobs share no cache (test/adversarial/workflow-cache.test.ts).
 */
export const FLEET_ONLY: ReadonlySet<ActionKey> = new Set<ActionKey>(["cache", "githubScript"]);

/** `owner/action@<sha>`: the value of a `uses:` key. The `# vX.Y.Z` comment is added by the YAML writer. */
export function uses(key: ActionKey): string {
  const a = ACTIONS[key];
  return `${a.uses}@${a.sha}`;
}

/**
 * Actions that a pinned composite action calls in turn, at the SHA its own
 * action.yml names (fixed by the parent's SHA). GitHub checks every action a
 * job runs against the allow-list, nested ones included.
 */
export const NESTED_ACTIONS: Readonly<Record<string, { readonly uses: string; readonly sha: string; readonly version: string; readonly calledBy: readonly ActionKey[] }>> = {
  // attest-sbom v4.1.0's action.yml: `uses: actions/attest@59d8… # v4.1.0`;
  // attest-build-provenance v4 is the same thin wrapper of the same release.
  attest: { uses: "actions/attest", sha: "59d89421af93a897026c735860bf21b6eb4f7b26", version: "v4.1.0", calledBy: ["attestBuildProvenance", "attestSbom"] },
};

/** Actions only a mirror with attestations on runs. */
const ATTESTATION_ONLY: ReadonlySet<ActionKey> = new Set<ActionKey>(["attestBuildProvenance", "attestSbom"]);

/**
 * Every `owner/action@<sha>` a mirror's workflow may run, nested actions
 * included: the repository's Actions allow-list. Without attestations the
 * attestation actions are left out. @default attestations: true (the superset)
 */
export function allowedActionPatterns(opts: { readonly attestations?: boolean } = {}): string[] {
  const keys = (Object.keys(ACTIONS) as ActionKey[]).filter((k) => !FLEET_ONLY.has(k) && (opts.attestations !== false || !ATTESTATION_ONLY.has(k)));
  const nested = Object.values(NESTED_ACTIONS).filter((n) => n.calledBy.some((k) => keys.includes(k)));
  return [...new Set([...keys.map((k) => ACTIONS[k]), ...nested].map((a) => `${a.uses.split("/").slice(0, 2).join("/")}@${a.sha}`))].sort();
}
