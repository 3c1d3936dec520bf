/**
 * The settings of a mirror repository, in one place: what MirroredImage
 * declares (the provider's Repository inputs) and what the provider's create
 * request leaves on GitHub, which infra/adopt.ts compares before it adopts a
 * repository that a lost answer left behind. Pure.
 */
import type * as github from "@pulumi/github";
import { repositoryDescription } from "./hardening";
import type { ResolvedMirror } from "./types";

/** The Repository inputs of a mirror. */
export function repositoryArgs(m: ResolvedMirror) {
  return {
    name: m.repo,
    // Said only where true: components/hardening.ts.
    description: repositoryDescription(m),
    homepageUrl: m.upstream.url,
    visibility: m.visibility,
    hasIssues: true,
    hasWiki: false,
    hasProjects: false,
    hasDiscussions: false,
    // autoInit: the repository starts with a commit on its default branch,
    // which the file commits and the branch ruleset both need to exist.
    autoInit: true,
    deleteBranchOnMerge: true,
    // Merge commits keep the reviewer and the pin PR in the default branch's history.
    allowMergeCommit: true,
    allowSquashMerge: false,
    allowRebaseMerge: false,
    allowAutoMerge: false,
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
  a: Pick<github.RepositoryArgs, "allowAutoMerge" | "allowMergeCommit" | "allowRebaseMerge" | "allowSquashMerge" | "deleteBranchOnMerge" | "hasIssues" | "hasProjects" | "hasWiki"> & {
    readonly description: string;
    readonly homepageUrl?: string;
    readonly visibility: string;
  },
): Readonly<Record<string, string | boolean>> {
  return {
    description: a.description,
    ...(a.homepageUrl !== undefined ? { homepage: a.homepageUrl } : {}),
    visibility: a.visibility,
    has_issues: a.hasIssues as boolean,
    has_wiki: a.hasWiki as boolean,
    has_projects: a.hasProjects as boolean,
    allow_merge_commit: a.allowMergeCommit as boolean,
    allow_squash_merge: a.allowSquashMerge as boolean,
    allow_rebase_merge: a.allowRebaseMerge as boolean,
    allow_auto_merge: a.allowAutoMerge as boolean,
    delete_branch_on_merge: a.deleteBranchOnMerge as boolean,
  };
}
