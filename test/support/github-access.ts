/**
 * Who may do what in the GitHub stand-in: the identities tokens stand for,
 * and the permission GitHub requires of each operation the stand-in serves.
 *
 * Sources (read 2026-12-07 through the search tool):
 * - "Permissions required for GitHub Apps",
 *   https://docs.github.com/en/rest/authentication/permissions-required-for-github-apps
 *   (its data: github/docs `src/github-apps/data/fpt-2022-11-28/server-to-server-permissions.json`),
 *   and "Permissions required for fine-grained personal access tokens",
 *   https://docs.github.com/en/rest/authentication/permissions-required-for-fine-grained-personal-access-tokens:
 *   the permission and access of every row below. "Additional permissions"
 *   rows are the `any` lists (labels and comments work with Issues or Pull
 *   requests); the contents API and git refs also need Workflows: write when
 *   the change touches `.github/workflows/` (the same pages, "About GitHub
 *   App permissions").
 * - "Repository roles for an organization",
 *   https://docs.github.com/en/organizations/managing-user-access-to-your-organizations-repositories/managing-repository-roles/repository-roles-for-an-organization:
 *   the least role a user needs (read < triage < write < maintain < admin),
 *   and the REST descriptions of single operations where they say more
 *   ("Rename a branch": the default branch needs admin and
 *   administration:write; "Create or update a repository secret":
 *   collaborator access; "Get a repository public key": read access).
 * - Answers: an App without the permission gets 403 "Resource not accessible
 *   by integration" (a fine-grained token: "... by personal access token")
 *   with `X-Accepted-GitHub-Permissions` naming what would do ("Troubleshooting
 *   the REST API"); a user who may not see a private repository gets 404, one
 *   who sees it without admin gets 403 "Must have admin rights to Repository."
 *   on settings, and 404 on other writes (GitHub does not confirm what a
 *   caller may not touch).
 *
 * Users here hold classic tokens with every scope (the role decides), unless
 * the identity lists `permissions` (a fine-grained token: role and permission
 * both apply). Organisation owners are admins of every repository; members
 * have the organisation's base role (`role`, default read as on GitHub) and
 * admin on the repositories they created.
 */

export type RepoRole = "read" | "triage" | "write" | "maintain" | "admin";
export const REPO_ROLES: readonly RepoRole[] = ["read", "triage", "write", "maintain", "admin"];
export type Access = "read" | "write";

export type Identity =
  | { readonly kind: "owner"; readonly login: string; readonly permissions?: Readonly<Record<string, Access>> }
  | {
      readonly kind: "member";
      readonly login: string;
      /** The organisation's base role for this member. @default "read" (GitHub's default base permission) */
      readonly role?: RepoRole;
      /** Team ids the member belongs to (for `Team` bypass actors). @default [] */
      readonly teams?: readonly number[];
      readonly permissions?: Readonly<Record<string, Access>>;
    }
  | {
      readonly kind: "app";
      readonly appId: number;
      readonly installationId: number;
      /** GitHub's fine-grained permission names (`contents`, `workflows`, …) and their access. */
      readonly permissions: Readonly<Record<string, Access>>;
      /** The App's slug: its commits and issues are by `<slug>[bot]`. @default `app-<appId>` */
      readonly slug?: string;
      /** Repository names (`owner/name`) the installation may use. @default every repository of the account */
      readonly repositories?: readonly string[];
    }
  /**
   * No credentials: GitHub answers a GET of public resources ("This endpoint
   * can be used without authentication … if only public resources are
   * requested"), within 60 requests an hour per address ("Primary rate limit
   * for unauthenticated users"), and 401 "Requires authentication" to
   * anything else.
   */
  | { readonly kind: "anonymous" };

/** The login GitHub shows for an identity (an App acts as `<slug>[bot]`). */
export function loginOf(who: Identity): string {
  return who.kind === "app" ? `${who.slug ?? `app-${who.appId}`}[bot]` : who.kind === "anonymous" ? "(anonymous)" : who.login;
}

/** What an operation needs: a fine-grained permission (any of `any`, at `access`) and, for users, a repository role. */
export interface Need {
  readonly any: readonly string[];
  readonly access: Access;
  readonly role: RepoRole;
  /** Permissions needed as well as one of `any`, at the same access (environment secrets: Secrets and Environments). */
  readonly also?: readonly string[];
  /** `repo`: on {owner}/{repo}; `org`: organisation settings (owners only); `user`: the caller's own account (not Apps); `public`: anyone. */
  readonly on: "repo" | "org" | "user" | "public";
}

const repo = (any: string | readonly string[], access: Access, role: RepoRole): Need => ({ any: typeof any === "string" ? [any] : any, access, role, on: "repo" });
const ISSUES_OR_PULLS = ["issues", "pull_requests"] as const;

/**
 * The permission each served operation needs, by operationId (the rows of
 * the pages above for these endpoints). An operation the stand-in serves
 * must be listed: `needOf` throws otherwise, so a new handler cannot skip
 * the check.
 */
export const NEEDS: Readonly<Record<string, Need>> = {
  // Metadata: read
  "repos/get": repo("metadata", "read", "read"),
  "repos/get-all-topics": repo("metadata", "read", "read"),
  "repos/get-repo-rulesets": repo("metadata", "read", "read"),
  "repos/get-repo-ruleset": repo("metadata", "read", "read"),
  "repos/list-tags": repo("metadata", "read", "read"),
  "repos/get-collaborator-permission-level": repo("metadata", "read", "read"),
  // "Lists the collaborators": the authenticated user must have push access.
  "repos/list-collaborators": repo("metadata", "read", "write"),
  // Administration (repository)
  "repos/create-in-org": { any: ["administration"], access: "write", role: "read", on: "org" },
  "repos/update": repo("administration", "write", "admin"),
  "repos/delete": repo("administration", "write", "admin"),
  "repos/replace-all-topics": repo("administration", "write", "admin"),
  "repos/check-vulnerability-alerts": repo("administration", "read", "admin"),
  "repos/enable-vulnerability-alerts": repo("administration", "write", "admin"),
  "repos/disable-vulnerability-alerts": repo("administration", "write", "admin"),
  "repos/create-repo-ruleset": repo("administration", "write", "admin"),
  "repos/update-repo-ruleset": repo("administration", "write", "admin"),
  "repos/delete-repo-ruleset": repo("administration", "write", "admin"),
  "actions/get-github-actions-permissions-repository": repo("administration", "read", "admin"),
  "actions/set-github-actions-permissions-repository": repo("administration", "write", "admin"),
  "actions/get-allowed-actions-repository": repo("administration", "read", "admin"),
  "actions/set-allowed-actions-repository": repo("administration", "write", "admin"),
  "actions/get-github-actions-default-workflow-permissions-repository": repo("administration", "read", "admin"),
  "actions/set-github-actions-default-workflow-permissions-repository": repo("administration", "write", "admin"),
  "actions/get-workflow-access-to-repository": repo("administration", "read", "admin"),
  "repos/list-invitations": repo("administration", "read", "admin"),
  "repos/list-teams": repo("administration", "read", "read"),
  "repos/list-deploy-keys": repo("administration", "read", "admin"),
  "actions/list-self-hosted-runners-for-repo": repo("administration", "read", "admin"),
  // Webhooks; Variables (`actions_variables`, collaborator access); Actions (environments: read access).
  "repos/list-webhooks": repo("repository_hooks", "read", "admin"),
  "actions/list-repo-variables": repo("actions_variables", "read", "write"),
  "repos/get-all-environments": repo("actions", "read", "read"),
  // Deployment environments and their branch policies: Administration to change, Actions to read.
  "repos/create-or-update-environment": repo("administration", "write", "admin"),
  "repos/delete-an-environment": repo("administration", "write", "admin"),
  "repos/get-environment": repo("actions", "read", "read"),
  "repos/create-deployment-branch-policy": repo("administration", "write", "admin"),
  "repos/update-deployment-branch-policy": repo("administration", "write", "admin"),
  "repos/delete-deployment-branch-policy": repo("administration", "write", "admin"),
  "repos/list-deployment-branch-policies": repo("actions", "read", "read"),
  "repos/get-deployment-branch-policy": repo("actions", "read", "read"),
  "actions/set-workflow-access-to-repository": repo("administration", "write", "admin"),
  // Contents
  "repos/list-branches": repo("contents", "read", "read"),
  "repos/get-branch": repo("contents", "read", "read"),
  "repos/rename-branch": repo("contents", "write", "write"),
  "repos/list-commits": repo("contents", "read", "read"),
  "repos/get-commit": repo("contents", "read", "read"),
  "repos/get-content": repo("contents", "read", "read"),
  "repos/create-or-update-file-contents": repo("contents", "write", "write"),
  "repos/delete-file": repo("contents", "write", "write"),
  "git/get-ref": repo("contents", "read", "read"),
  "git/list-matching-refs": repo("contents", "read", "read"),
  "git/get-tree": repo("contents", "read", "read"),
  "git/create-ref": repo("contents", "write", "write"),
  "git/update-ref": repo("contents", "write", "write"),
  "git/delete-ref": repo("contents", "write", "write"),
  "pulls/merge": repo("contents", "write", "write"),
  "repos/list-releases": repo("contents", "read", "read"),
  "repos/get-latest-release": repo("contents", "read", "read"),
  "repos/get-release-by-tag": repo("contents", "read", "read"),
  // Issues (labels and comments: Issues or Pull requests)
  "issues/list-for-repo": repo("issues", "read", "read"),
  "issues/get": repo("issues", "read", "read"),
  "issues/create": repo("issues", "write", "read"),
  "issues/update": repo(ISSUES_OR_PULLS, "write", "triage"),
  "issues/list-comments": repo(ISSUES_OR_PULLS, "read", "read"),
  "issues/list-events-for-timeline": repo(ISSUES_OR_PULLS, "read", "read"),
  "issues/create-comment": repo(ISSUES_OR_PULLS, "write", "read"),
  "issues/update-comment": repo(ISSUES_OR_PULLS, "write", "read"),
  "issues/add-labels": repo(ISSUES_OR_PULLS, "write", "triage"),
  "issues/remove-label": repo(ISSUES_OR_PULLS, "write", "triage"),
  "issues/list-labels-for-repo": repo(ISSUES_OR_PULLS, "read", "read"),
  "issues/get-label": repo(ISSUES_OR_PULLS, "read", "read"),
  "issues/create-label": repo(ISSUES_OR_PULLS, "write", "write"),
  "issues/update-label": repo(ISSUES_OR_PULLS, "write", "write"),
  "issues/delete-label": repo(ISSUES_OR_PULLS, "write", "write"),
  // Pull requests
  "pulls/list": repo("pull_requests", "read", "read"),
  "pulls/get": repo("pull_requests", "read", "read"),
  "pulls/create": repo("pull_requests", "write", "write"),
  "pulls/update": repo("pull_requests", "write", "write"),
  "pulls/check-if-merged": repo("pull_requests", "read", "read"),
  // Secrets
  "actions/get-repo-public-key": repo("secrets", "read", "read"),
  "actions/list-repo-secrets": repo("secrets", "read", "write"),
  "actions/get-repo-secret": repo("secrets", "read", "write"),
  "actions/create-or-update-repo-secret": repo("secrets", "write", "write"),
  "actions/delete-repo-secret": repo("secrets", "write", "write"),
  // Environment secrets: Secrets and Environments both (the Apps data lists them under
  // "environments" with additional permissions; the REST page: "Environments" and "Secrets").
  "actions/get-environment-public-key": { ...repo("secrets", "read", "read"), also: ["environments"] },
  "actions/get-environment-secret": { ...repo("secrets", "read", "write"), also: ["environments"] },
  "actions/create-or-update-environment-secret": { ...repo("secrets", "write", "write"), also: ["environments"] },
  "actions/delete-environment-secret": { ...repo("secrets", "write", "write"), also: ["environments"] },
  // Actions
  "actions/create-workflow-dispatch": repo("actions", "write", "write"),
  // Organization administration (owners only)
  "actions/get-github-actions-default-workflow-permissions-organization": { any: ["organization_administration"], access: "read", role: "admin", on: "org" },
  "actions/set-github-actions-default-workflow-permissions-organization": { any: ["organization_administration"], access: "write", role: "admin", on: "org" },
  // The caller's own account; an organisation's public profile; an App's own JWT exchange
  "users/get-authenticated": { any: [], access: "read", role: "read", on: "user" },
  "repos/create-for-authenticated-user": { any: [], access: "write", role: "read", on: "user" },
  "orgs/get": { any: [], access: "read", role: "read", on: "public" },
  "apps/create-installation-access-token": { any: [], access: "write", role: "read", on: "public" },
};

export function needOf(operationId: string): Need {
  const need = NEEDS[operationId];
  if (!need) throw new Error(`stand-in: ${operationId} has no entry in the permission table (test/support/github-access.ts)`);
  return need;
}

/** Whether `granted` covers `access` (write includes read, as GitHub documents). */
export function grants(granted: Access | undefined, access: Access): boolean {
  return granted === "write" || (granted === "read" && access === "read");
}

export function roleAtLeast(role: RepoRole | undefined, least: RepoRole): boolean {
  return role !== undefined && REPO_ROLES.indexOf(role) >= REPO_ROLES.indexOf(least);
}

/** `X-Accepted-GitHub-Permissions`: the sets that would do, `;`-separated. */
export function acceptedPermissions(need: Need, alsoWorkflows: boolean): string {
  const also = [...(need.also ?? []).map((p) => `${p}=${need.access}`), ...(alsoWorkflows ? ["workflows=write"] : [])];
  return need.any.map((p) => [`${p}=${need.access}`, ...also].join(",")).join("; ");
}

/** The message GitHub gives a token that lacks a permission. */
export function notAccessible(who: Identity): string {
  return who.kind === "app" ? "Resource not accessible by integration" : "Resource not accessible by personal access token";
}

/**
 * Checks an identities file (`npm run standin -- --identities FILE`): an
 * object from token to identity. Every problem is named with the file, the
 * token's position and the field, and what is allowed.
 */
export function parseIdentities(value: unknown, where: string, permissionLevels: ReadonlyMap<string, readonly string[]>): Record<string, Identity> {
  const problems: string[] = [];
  if (!value || typeof value !== "object" || Array.isArray(value)) throw new Error(`${where}: not allowed (allowed: a JSON object from token to identity)`);
  const out: Record<string, Identity> = {};
  const permissions = (v: unknown, at: string): Record<string, Access> | undefined => {
    if (v === undefined) return undefined;
    if (!v || typeof v !== "object" || Array.isArray(v)) {
      problems.push(`${at}.permissions: not allowed (allowed: an object of GitHub's fine-grained permission names to "read" or "write")`);
      return undefined;
    }
    for (const [name, level] of Object.entries(v as Record<string, unknown>)) {
      const levels = permissionLevels.get(name);
      if (!levels) problems.push(`${at}.permissions.${name}: not a GitHub permission (allowed: ${[...permissionLevels.keys()].join(", ")})`);
      else if (typeof level !== "string" || !levels.includes(level)) problems.push(`${at}.permissions.${name}: ${JSON.stringify(level)} is not allowed (allowed: ${levels.join(", ")})`);
    }
    return v as Record<string, Access>;
  };
  const known = new Set(["kind", "login", "role", "teams", "permissions", "appId", "installationId", "slug", "repositories"]);
  Object.entries(value as Record<string, unknown>).forEach(([token, raw], i) => {
    const at = `${where}: identity ${i + 1} (token ${token.slice(0, 4)}…)`;
    if (!/^\S{8,}$/.test(token)) problems.push(`${at}: the token must be 8 or more characters without spaces`);
    if (!raw || typeof raw !== "object" || Array.isArray(raw)) return void problems.push(`${at}: not allowed (allowed: {"kind": "owner" | "member" | "app", …})`);
    const r = raw as Record<string, unknown>;
    for (const k of Object.keys(r)) if (!known.has(k)) problems.push(`${at}.${k}: unknown field (allowed: ${[...known].join(", ")})`);
    if (r.kind === "owner" || r.kind === "member") {
      if (typeof r.login !== "string" || !/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$/.test(r.login)) problems.push(`${at}.login: ${JSON.stringify(r.login ?? null)} is not allowed (allowed: a GitHub login)`);
      if (r.kind === "owner" && (r.role !== undefined || r.teams !== undefined)) problems.push(`${at}: role and teams are for members (an owner is admin everywhere)`);
      if (r.role !== undefined && !REPO_ROLES.includes(r.role as RepoRole)) problems.push(`${at}.role: ${JSON.stringify(r.role)} is not allowed (allowed: ${REPO_ROLES.join(", ")})`);
      if (r.teams !== undefined && (!Array.isArray(r.teams) || !r.teams.every((t) => Number.isInteger(t) && t > 0))) problems.push(`${at}.teams: not allowed (allowed: a list of team ids)`);
      const p = permissions(r.permissions, at);
      out[token] =
        r.kind === "owner"
          ? { kind: "owner", login: String(r.login), ...(p ? { permissions: p } : {}) }
          : { kind: "member", login: String(r.login), ...(r.role ? { role: r.role as RepoRole } : {}), ...(r.teams ? { teams: r.teams as number[] } : {}), ...(p ? { permissions: p } : {}) };
    } else if (r.kind === "app") {
      for (const k of ["appId", "installationId"] as const) {
        if (!Number.isInteger(r[k]) || (r[k] as number) <= 0) problems.push(`${at}.${k}: ${JSON.stringify(r[k] ?? null)} is not allowed (allowed: a positive integer)`);
      }
      if (r.permissions === undefined) problems.push(`${at}.permissions: missing (allowed: an object of GitHub's fine-grained permission names to "read" or "write")`);
      const p = permissions(r.permissions, at) ?? {};
      if (r.slug !== undefined && (typeof r.slug !== "string" || !/^[a-z0-9][a-z0-9-]*$/.test(r.slug))) problems.push(`${at}.slug: ${JSON.stringify(r.slug)} is not allowed (allowed: an App slug, lowercase letters, digits and -)`);
      if (r.repositories !== undefined && (!Array.isArray(r.repositories) || !r.repositories.every((x) => typeof x === "string" && /^[^/\s]+\/[^/\s]+$/.test(x)))) {
        problems.push(`${at}.repositories: not allowed (allowed: a list of owner/name)`);
      }
      out[token] = {
        kind: "app",
        appId: Number(r.appId),
        installationId: Number(r.installationId),
        permissions: p,
        ...(typeof r.slug === "string" ? { slug: r.slug } : {}),
        ...(Array.isArray(r.repositories) ? { repositories: r.repositories as string[] } : {}),
      };
    } else {
      problems.push(`${at}.kind: ${JSON.stringify(r.kind ?? null)} is not allowed (allowed: owner, member, app)`);
    }
  });
  if (problems.length) throw new Error(`${problems.length} problem(s):\n  - ${problems.join("\n  - ")}`);
  return out;
}
