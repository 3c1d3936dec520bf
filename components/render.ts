/**
 * ResolvedMirror -> every file the MirroredImage commits into the mirror
 * repository, in commit order. Pure and deterministic: the same input gives
 * the same bytes, so an unchanged file is never re-committed (DESIGN
 * invariant 6) and `npm run render` writes exactly what `pulumi up` commits.
 *
 * A mirror carries its settings, not the program: the pipeline is shipped
 * once, in the pipeline repository (components/pipeline-action.ts), and the
 * workflow names it by commit. That commit is an input here, like the
 * mirror: `pulumi up` knows it once the pipeline is committed, so the
 * workflow's content is a function of it and every other file is not.
 */
import { header } from "./header";
import { MIRROR_PATHS, mirrorConfig, renderOverride } from "./mirror-config";
import type { PipelinePin } from "./pipeline-action";
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
  const body = !owners
    ? [`No reviewers are set for this mirror (reviewers in ${m.sourceFile}, or policy.reviewTeam in infra/policy.ts):`, "no code owner's review is required."]
    : m.branchProtection
      ? [
          "A pull request to the default branch needs an approving review from one of these owners (the fleet's ruleset).",
          "The identity `pulumi up` deploys with (the fleet's GitHub App, or organisation owners) bypasses it to commit the generated files.",
        ]
      : ["These owners are asked to review each pull request. The default branch is not protected (the fleet's branchProtection", "switch is off), so their review is not required."];
  return header("#", `${m.sourceFile} (reviewers) or infra/policy.ts`) + body.map((line) => `# ${line}\n`).join("") + (owners ? `* ${owners}\n` : "");
}

/** A generated file whose content is known from the mirror alone, or needs the pipeline's pin too. */
export type MirrorFile = { readonly path: string; readonly content: string } | { readonly path: string; readonly pinned: (pipeline: PipelinePin) => string };

/**
 * Files in commit order. The workflow goes last: it is what starts runs, and
 * it should only ever see a repository whose config is in place.
 */
export function mirrorFiles(m: ResolvedMirror): readonly MirrorFile[] {
  const files: MirrorFile[] = [
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
    { path: MIRROR_PATHS.workflow, pinned: (pipeline) => renderWorkflow(m, pipeline) },
  );
  return files;
}

/** Every file with its content, for a known pipeline pin: what `npm run render` writes. */
export function renderMirrorFiles(m: ResolvedMirror, pipeline: PipelinePin): RenderedFiles {
  return mirrorFiles(m).map((f) => ({ path: f.path, content: "content" in f ? f.content : f.pinned(pipeline) }));
}
