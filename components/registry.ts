/**
 * Which container registry a stack's mirrors push to. It follows the GitHub
 * the stack deploys to, because the workflow pushes with the mirror
 * repository's own GITHUB_TOKEN, which only that GitHub's registry accepts:
 * GHCR (`ghcr.io`) for github.com; on GitHub Enterprise Server the Container
 * registry is `containers.<hostname>` (GitHub's "Working with the Container
 * registry" for Enterprise Server; it needs subdomain isolation). The stack
 * setting `mirror-fleet:registry` overrides it (the e2e points it at a
 * docker-registry on 127.0.0.1).
 */
import type { StackSettings } from "./types";

export const GHCR = "ghcr.io";

/** A registry host, optionally with a port: `ghcr.io`, `containers.ghe.example.com`, `127.0.0.1:5000`. */
export const REGISTRY_PATTERN = /^[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?(?::\d{1,5})?$/;

/** The registry of a GitHub, by its web or API base URL (undefined: github.com). */
export function registryOf(githubBaseUrl: string | undefined): string {
  if (!githubBaseUrl) return GHCR;
  const host = new URL(githubBaseUrl).hostname.toLowerCase();
  return host === "github.com" || host === "api.github.com" ? GHCR : `containers.${host}`;
}

/** The stack's registry host. */
export function stackRegistry(settings: StackSettings): string {
  return settings.registry ?? GHCR;
}

/** The host of an image repository (`ghcr.io/acme/gokapi` -> `ghcr.io`). */
export function registryHost(image: string): string {
  return image.split("/")[0];
}
