/**
 * What a mirror may say about itself. "Hardened" is a claim about the image's
 * runtime base: pinned by digest (a tag can be moved overnight) and minimal
 * (no shell, no package manager). It is made only where the resolved mirror
 * shows both: an override whose final stage starts from such a base. A mirror
 * built from upstream's own Dockerfile runs on whatever base upstream chose,
 * known only at build time (the pipeline records it, pipeline/lib/bases.ts);
 * an override on a pinned but full distribution is pinned, not minimal.
 *
 * Pure: the repository description and the mirror README both read it, so
 * GitHub's repository list and the README never disagree.
 */
import type { ResolvedMirror } from "./types";

/**
 * Minimal runtime bases. `scratch` is empty; Google's distroless images
 * "contain only your application and its runtime dependencies. They do not
 * contain package managers, shells or any other programs" (GoogleContainerTools/
 * distroless README), except their `debug` tags, which add a busybox shell.
 */
export function isMinimalBase(ref: string): boolean {
  if (ref.toLowerCase() === "scratch") return true;
  const [repo, tag = ""] = ref.split("@")[0].split(/:(?=[^/]*$)/);
  return repo.startsWith("gcr.io/distroless/") && !tag.includes("debug");
}

/** The base the image ships on: the last FROM of the override, followed through stage names. */
export interface RuntimeBase {
  /** The FROM reference, e.g. `gcr.io/distroless/static:nonroot@sha256:…`, or `scratch`. */
  readonly ref: string;
  readonly pinned: boolean;
  readonly minimal: boolean;
}

/** The runtime base of an override; null without one (upstream's own Dockerfile, read only at build time). */
export function runtimeBase(m: ResolvedMirror): RuntimeBase | null {
  if (!m.override) return null;
  const stages = new Map<string, string>();
  let last: string | undefined;
  for (const line of m.override.content.split("\n")) {
    const from = /^\s*FROM\s+(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?\s*$/i.exec(line);
    if (!from) continue;
    last = from[1];
    if (from[2]) stages.set(from[2].toLowerCase(), from[1]);
  }
  // A final `FROM build` starts from an earlier stage: its base is that stage's.
  for (let hops = 0; last !== undefined && stages.has(last.toLowerCase()) && hops < stages.size; hops++) last = stages.get(last.toLowerCase());
  if (last === undefined) return null;
  const scratch = last.toLowerCase() === "scratch";
  return { ref: last, pinned: scratch || /@sha256:[0-9a-f]{64}$/.test(last), minimal: isMinimalBase(last) };
}

/** True when the image ships on a digest-pinned, minimal base: the only case called hardened. */
export function isHardened(m: ResolvedMirror): boolean {
  const base = runtimeBase(m);
  return base !== null && base.pinned && base.minimal;
}

/** The GitHub repository description: one line, true of this mirror. */
export function repositoryDescription(m: ResolvedMirror): string {
  if (isHardened(m)) return `Hardened mirror of ${m.upstream.fullName}: rebuilt on a digest-pinned minimal base, scanned and pinned by digest by mirror-fleet`;
  if (m.override) return `Mirror of ${m.upstream.fullName}: rebuilt with the fleet's Dockerfile on a digest-pinned base, scanned and pinned by digest by mirror-fleet`;
  return `Mirror of ${m.upstream.fullName}: rebuilt from upstream's own Dockerfile, scanned and pinned by digest by mirror-fleet`;
}
