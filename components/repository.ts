/**
 * The settings of a mirror repository, in one place: what MirroredImage
 * declares (the provider's Repository inputs) and what the provider's create
 * request leaves on GitHub, which infra/adopt.ts compares before it adopts a
 * repository that a lost answer left behind. Pure.
 */
import type * as github from "@pulumi/github";
import { repositoryDescription } from "./hardening";
import type { ResolvedMirror } from "./types";

/**
 * What every repository the fleet creates has (the mirrors and the pipeline
 * repository): no wiki, projects or discussions; a first commit; merge
 * commits only, which keep the reviewer and the pin PR in the default
 * branch's history.
 */
export const FLEET_REPOSITORY = {
  hasWiki: false,
  hasProjects: false,
  hasDiscussions: false,
  // autoInit: the repository starts with a commit on its default branch,
  // which the file commits and the branch ruleset both need to exist.
  autoInit: true,
  deleteBranchOnMerge: true,
  allowMergeCommit: true,
  allowSquashMerge: false,
  allowRebaseMerge: false,
  allowAutoMerge: false,
} as const satisfies github.RepositoryArgs;

/** The Repository inputs of a mirror. */
export function repositoryArgs(m: ResolvedMirror) {
  return {
    name: m.repo,
    // Said only where true: components/hardening.ts.
    description: repositoryDescription(m),
    homepageUrl: m.upstream.url,
    visibility: m.visibility,
    hasIssues: true,
    ...FLEET_REPOSITORY,
    topics: ["mirror-fleet", "container-image"],
  } satisfies github.RepositoryArgs;
}

/**
 * What `GET /repos/{owner}/{repo}` reads back of the create request the
 * provider sends (terraform-provider-github v6.13.0
 * `resourceGithubRepositoryObject`), as far as GitHub's create takes it:
 * `has_discussions` is not a field of "Create an organization repository"
 * (GitHub ignores it there), and topics come in a later request.
 */
export function createdSettings(m: ResolvedMirror): Readonly<Record<string, string | boolean>> {
  return createdSettingsOf(repositoryArgs(m));
}

/** The same, of any repository the fleet creates (the pipeline repository's too); a homepage only when one is sent. */
export function createdSettingsOf(
  a: typeof FLEET_REPOSITORY & { readonly description: string; readonly homepageUrl?: string; readonly visibility: string; readonly hasIssues: boolean },
): Readonly<Record<string, string | boolean>> {
  return {
    description: a.description,
    ...(a.homepageUrl !== undefined ? { homepage: a.homepageUrl } : {}),
    visibility: a.visibility,
    has_issues: a.hasIssues,
    has_wiki: a.hasWiki,
    has_projects: a.hasProjects,
    allow_merge_commit: a.allowMergeCommit,
    allow_squash_merge: a.allowSquashMerge,
    allow_rebase_merge: a.allowRebaseMerge,
    allow_auto_merge: a.allowAutoMerge,
    delete_branch_on_merge: a.deleteBranchOnMerge,
  };
}
