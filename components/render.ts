/**
 * ResolvedMirror -> every file the MirroredImage commits into the mirror
 * repository, in commit order. Pure and deterministic: the same input gives
 * the same bytes, so an unchanged file is never re-committed (DESIGN
 * invariant 6) and `npm run render` writes exactly what `pulumi up` commits.
 */
import { pipelineBundle } from "../pipeline/bundle";
import { header } from "./header";
import { MIRROR_PATHS, mirrorConfig, renderOverride } from "./mirror-config";
import { renderReadme } from "./readme";
import type { RenderedFiles, ResolvedMirror } from "./types";
import { waiverFiles } from "./waivers";
import { renderWorkflow } from "./workflow";
import { toYaml } from "./yaml";

export function renderConfig(m: ResolvedMirror): string {
  return header("#", `${m.sourceFile} and infra/policy.ts`) + toYaml(mirrorConfig(m));
}

export { renderOverride };

export function renderCodeowners(m: ResolvedMirror): string {
  const owners = m.reviewers.map((r) => `@${r}`).join(" ");
  const body = owners
    ? `# Every change in this repository is reviewed by the mirror's owners.\n* ${owners}\n`
    : `# No reviewers are set for this mirror (reviewers in ${m.sourceFile}, or policy.reviewTeam in infra/policy.ts):\n# no code owner's review is required.\n`;
  return header("#", `${m.sourceFile} (reviewers) or infra/policy.ts`) + body;
}

/**
 * Files in commit order. The workflow goes last: it is what starts runs, and
 * it should only ever see a repository whose bundle and config are in place.
 */
export function renderMirrorFiles(m: ResolvedMirror): RenderedFiles {
  const files: Array<{ path: string; content: string }> = [
    { path: MIRROR_PATHS.readme, content: renderReadme(m) },
    { path: MIRROR_PATHS.codeowners, content: renderCodeowners(m) },
    { path: MIRROR_PATHS.config, content: renderConfig(m) },
  ];
  const override = renderOverride(m);
  if (override !== undefined) files.push({ path: MIRROR_PATHS.override, content: override });
  // Verbatim: a header would make it differ from the key file users compare it with.
  if (m.signing) files.push({ path: MIRROR_PATHS.publicKey, content: m.signing.publicKey.trim() + "\n" });
  files.push(
    ...waiverFiles(m),
    { path: MIRROR_PATHS.bundle, content: pipelineBundle() },
    { path: MIRROR_PATHS.workflow, content: renderWorkflow(m) },
  );
  return files;
}
