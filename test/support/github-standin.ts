/**
 * A GitHub REST API stand-in for tests: an HTTP server on 127.0.0.1 that keeps
 * repositories, git refs, commits, file contents, issues, labels, comments,
 * pull requests, tags and releases, and the repository settings the GitHub
 * provider manages (topics, security settings, rulesets, Actions permissions,
 * Actions secrets), in memory or, with `stateDir`, in a folder that a later
 * process reads back.
 *
 * Every request is first checked against GitHub's own OpenAPI description
 * (`@octokit/openapi`, api.github.com): method and path template, path and
 * query parameters (unknown ones included) and the JSON body. A request the
 * description does not allow is answered 400/422 and recorded in `rejected`,
 * so a test can assert that the code under test made none: a stand-in that
 * accepted anything would let a typo in a route or a field pass here and fail
 * against GitHub.
 *
 * Two ways in, one state:
 * - `/…` (the pipeline, Octokit with GITHUB_API_URL): api.github.com's
 *   description; unknown top-level body fields are refused (they are typos in
 *   our own code).
 * - `/api/v3/…` (the Pulumi GitHub provider with `baseUrl: <url>/`: any host
 *   that is not github.com is GitHub Enterprise Server to it): the path is
 *   looked up in the GHES 3.19 description, whose server URL is
 *   `{host}/api/v3`, so that is what such a request means; the operation must
 *   also exist on api.github.com, the GitHub the fleet deploys to, and the
 *   parameters and body must pass both descriptions. Unknown top-level body
 *   fields are ignored as GitHub ignores them, and recorded: the provider's
 *   go-github structs send `auto_init` or `topics` on every repository PATCH.
 *   Its answers name the stand-in's own address, as an Enterprise Server
 *   names itself (`html_url` `{host}/owner/repo`, `url` `{host}/api/v3/…`);
 *   `/…` answers name github.com.
 *
 * The answers are shaped like GitHub's and, with `checkResponses` (the
 * default), every 2xx JSON answer is validated against the response schema
 * api.github.com's description gives for that operation and status; a
 * mismatch is recorded in `badResponses`.
 *
 * As strict as GitHub where the program depends on it (each rule names its
 * source where it is enforced):
 * - identities: each token is an organisation owner, a member or a GitHub App
 *   installation with fine-grained permissions, and every request is checked
 *   for the permission GitHub requires of it (test/support/github-access.ts);
 * - rulesets on every write to a ref: the contents API, git refs, merges
 *   (test/support/github-rulesets.ts);
 * - Actions secrets sealed to a real X25519 key pair per repository and
 *   opened with libsodium's sealed box, as GitHub does (`secretValue`);
 * - an organisation's default branch name, default labels and its "Allow
 *   GitHub Actions to create and approve pull requests" policy; branch
 *   renames that take effect after a delay;
 * - archived repositories refuse every write;
 * - ETags, 304 on an unchanged conditional GET, and `x-ratelimit-*` headers.
 */
import { createHash, createVerify, randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import Ajv, { type ErrorObject, type ValidateFunction } from "ajv";
import addFormats from "ajv-formats";
import sodium from "libsodium-wrappers";
import { acceptedPermissions, grants, loginOf, needOf, notAccessible, roleAtLeast, type Access, type Identity, type RepoRole } from "./github-access";
import { bypassOf, evaluate, violationMessage, type RefChange, type RuleActor } from "./github-rulesets";
import { gitCommitObjects, gitCommitSha, writeBareRepository } from "./git-objects";
import { basicPassword, gitRequestOf, serveGit, type GitRequest } from "./git-http";

// ---------------------------------------------------------------------------
// The OpenAPI description: operations, parameter and body validators.

type Obj = Record<string, unknown>;

interface Param {
  readonly name: string;
  readonly in: "path" | "query" | "header" | "cookie";
  readonly required: boolean;
  readonly schema: Obj;
}

interface Operation {
  readonly method: string;
  readonly template: string;
  readonly operationId: string;
  readonly regex: RegExp;
  readonly names: readonly string[];
  /** Literal path segments: a more literal template wins (`/issues/comments` over `/issues/{issue_number}`). */
  readonly literals: number;
  readonly params: readonly Param[];
  readonly body: { readonly required: boolean; readonly schema: Obj; readonly json: boolean } | null;
  /** Documented answers by status: the JSON schema, or null when the answer has no JSON body. */
  readonly responses: ReadonlyMap<number, Obj | null>;
  validateParams?: ValidateFunction;
  validateBody?: ValidateFunction;
  readonly validateResponse: Map<number, ValidateFunction>;
}

interface Spec {
  readonly doc: Obj;
  readonly ops: readonly Operation[];
  readonly bodies: Ajv;
  readonly params: Ajv;
  readonly answers: Ajv;
}

/** The description `/api/v3/…` requests are checked against first (then api.github.com's). */
export const GHES_DESCRIPTION = "ghes-3.19";
const DOTCOM = "api.github.com";
const SPECS = new Map<string, Spec>();

/** One description of @octokit/openapi, loaded once per process (13 MB each; not the 400 MB of every variant in index.js). */
function spec(variant = DOTCOM): Spec {
  const cached = SPECS.get(variant);
  if (cached) return cached;
  const file = path.join(path.dirname(require.resolve("@octokit/openapi")), "generated", `${variant}.json`);
  const doc = JSON.parse(fs.readFileSync(file, "utf8")) as Obj;
  const ops: Operation[] = [];
  for (const [template, item] of Object.entries(doc.paths as Record<string, Obj>)) {
    const shared = ((item.parameters as Obj[] | undefined) ?? []).map((p) => resolveRef(doc, p));
    for (const method of ["get", "post", "put", "patch", "delete"]) {
      const op = item[method] as Obj | undefined;
      if (!op) continue;
      const params = [...shared, ...((op.parameters as Obj[] | undefined) ?? []).map((p) => resolveRef(doc, p))].map(
        (p): Param => ({ name: String(p.name), in: p.in as Param["in"], required: p.required === true, schema: (p.schema as Obj) ?? {} }),
      );
      const multi = new Set(
        [...shared, ...((op.parameters as Obj[] | undefined) ?? []).map((p) => resolveRef(doc, p))]
          .filter((p) => p["x-multi-segment"] === true)
          .map((p) => String(p.name)),
      );
      const names: string[] = [];
      let literals = 0;
      const source = template
        .split("/")
        .map((segment) => {
          if (!segment.includes("{")) {
            if (segment) literals++;
            return escapeRegex(segment);
          }
          return segment
            .split(/(\{[^}]+\})/)
            .map((part) => {
              const m = /^\{([^}]+)\}$/.exec(part);
              if (!m) return escapeRegex(part);
              names.push(m[1]);
              return multi.has(m[1]) ? "(.+)" : "([^/]+)";
            })
            .join("");
        })
        .join("/");
      const rb = op.requestBody ? resolveRef(doc, op.requestBody as Obj) : undefined;
      const content = rb?.content as Record<string, Obj> | undefined;
      const media = content?.["application/json"] ?? (content ? Object.values(content)[0] : undefined);
      const responses = new Map<number, Obj | null>();
      for (const [status, raw] of Object.entries((op.responses as Record<string, Obj> | undefined) ?? {})) {
        if (!/^\d{3}$/.test(status)) continue;
        const r = resolveRef(doc, raw);
        const json = (r.content as Record<string, Obj> | undefined)?.["application/json"];
        responses.set(Number(status), (json?.schema as Obj | undefined) ?? null);
      }
      ops.push({
        method: method.toUpperCase(),
        template,
        operationId: String(op.operationId),
        regex: new RegExp(`^${source}$`),
        names,
        literals,
        params,
        body: media ? { required: rb?.required === true, schema: (media.schema as Obj) ?? {}, json: Boolean(content?.["application/json"]) } : null,
        responses,
        validateResponse: new Map(),
      });
    }
  }
  ops.sort((a, b) => b.literals - a.literals);
  const bodies = new Ajv({ strict: false, allErrors: true, logger: false });
  const params = new Ajv({ strict: false, allErrors: true, logger: false, coerceTypes: "array", useDefaults: false });
  const answers = new Ajv({ strict: false, allErrors: true, logger: false });
  for (const ajv of [bodies, params, answers]) {
    addFormats(ajv);
    // GitHub's own formats: documented, not checkable beyond their type.
    ajv.addFormat("repo.nwo", /^[^/\s]+\/[^/\s]+$/);
    ajv.addFormat("timestamp", true);
  }
  const loaded = { doc, ops, bodies, params, answers };
  SPECS.set(variant, loaded);
  return loaded;
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function pointer(doc: Obj, ref: string): Obj {
  if (!ref.startsWith("#/")) throw new Error(`stand-in: external $ref ${ref} is not supported`);
  let node: unknown = doc;
  for (const raw of ref.slice(2).split("/")) {
    const key = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    node = (node as Obj)[key];
    if (node === undefined) throw new Error(`stand-in: $ref ${ref} does not resolve`);
  }
  return node as Obj;
}

function resolveRef(doc: Obj, node: Obj): Obj {
  let n = node;
  for (let i = 0; i < 10 && typeof n.$ref === "string"; i++) n = pointer(doc, n.$ref);
  return n;
}

/**
 * A schema ajv can compile on its own: every `$ref` it reaches (transitively)
 * is copied into `definitions`, and OpenAPI 3.0's `nullable` becomes
 * JSON Schema (`anyOf: [schema, {type: null}]`).
 */
function selfContained(doc: Obj, schema: Obj): Obj {
  const definitions: Record<string, unknown> = {};
  return { ...(inline(doc, schema, definitions) as Obj), definitions };
}

/** `schema` with its `$ref`s pointing into `definitions` (filled as they are met), for a root that carries them. */
function inline(doc: Obj, schema: unknown, definitions: Record<string, unknown>): unknown {
  const visit = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(visit);
    if (!node || typeof node !== "object") return node;
    const o = node as Obj;
    if (typeof o.$ref === "string") {
      const key = o.$ref.replace(/^#\/components\//, "").replace(/[^A-Za-z0-9_-]/g, "_");
      if (!(key in definitions)) {
        definitions[key] = true; // placeholder against cycles
        definitions[key] = visit(pointer(doc, o.$ref));
      }
      return { $ref: `#/definitions/${key}` };
    }
    const out: Obj = {};
    for (const [k, v] of Object.entries(o)) {
      if (k === "nullable" || k === "example" || k === "examples" || k === "description" || k.startsWith("x-")) continue;
      // `properties`/`patternProperties` map names to schemas: keep the names, visit the schemas.
      out[k] = ["properties", "patternProperties"].includes(k) && v && typeof v === "object" ? mapValues(v as Obj, visit) : visit(v);
    }
    return o.nullable === true ? { anyOf: [out, { type: "null" }] } : out;
  };
  return visit(schema);
}

function mapValues(o: Obj, f: (v: unknown) => unknown): Obj {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, f(v)]));
}

function ajvMessage(errors: ErrorObject[] | null | undefined): string {
  return (errors ?? [])
    .slice(0, 5)
    .map((e) => `${e.instancePath || "(root)"} ${e.message}${e.params && "allowedValues" in e.params ? ` ${JSON.stringify(e.params.allowedValues)}` : ""}`)
    .join("; ");
}

interface Routed {
  readonly op: Operation;
  readonly params: Obj;
  readonly body: unknown;
  /** Top-level body fields the description does not know (only accepted on /api/v3). */
  readonly ignored: readonly string[];
  /** api.github.com's description and operation, which the answer is checked against. */
  readonly described?: readonly [Spec, Operation];
}

/** Path and query parameters (unknown query parameters refused) and the body of `op`, as `sp` describes them. */
function validateRequest(
  sp: Spec,
  op: Operation,
  method: string,
  url: URL,
  pathname: string,
  text: string,
  strictFields: boolean,
): Routed | { reject: string; status: number } {
  const values: Record<string, string | string[]> = {};
  const match = op.regex.exec(pathname)!;
  op.names.forEach((name, i) => {
    values[name] = decodeURIComponent(match[i + 1]);
  });
  const known = new Set(op.params.filter((p) => p.in === "query").map((p) => p.name));
  for (const key of new Set(url.searchParams.keys())) {
    if (!known.has(key)) return { reject: `stand-in: query parameter ${JSON.stringify(key)} is not documented for ${op.operationId}`, status: 400 };
    const all = url.searchParams.getAll(key);
    values[key] = all.length > 1 ? all : all[0];
  }
  op.validateParams ??= sp.params.compile(
    selfContained(sp.doc, {
      type: "object",
      properties: Object.fromEntries(op.params.filter((p) => p.in === "path" || p.in === "query").map((p) => [p.name, p.schema])),
      required: op.params.filter((p) => (p.in === "path" || p.in === "query") && p.required).map((p) => p.name),
    }),
  );
  const params: Obj = { ...values };
  if (!op.validateParams(params)) {
    return { reject: `stand-in: parameters of ${op.operationId}: ${ajvMessage(op.validateParams.errors)}`, status: 422 };
  }

  if (!text) {
    if (op.body?.required) return { reject: `stand-in: ${op.operationId} requires a request body`, status: 422 };
    return { op, params, body: undefined, ignored: [] };
  }
  if (!op.body) {
    if (method === "GET" || method === "DELETE") return { reject: `stand-in: ${op.operationId} takes no request body`, status: 400 };
    return { reject: `stand-in: ${op.operationId} documents no request body`, status: 400 };
  }
  if (!op.body.json) return { op, params, body: text, ignored: [] };
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return { reject: "Problems parsing JSON", status: 400 };
  }
  const raw = resolveRef(sp.doc, op.body.schema);
  let ignored: string[] = [];
  // JSON Schema allows unknown properties unless told otherwise; GitHub ignores
  // them, which hides typos. Refuse unknown top-level fields of object bodies
  // (our own code); record them for the provider's (see the header).
  if (body && typeof body === "object" && !Array.isArray(body) && raw.properties && typeof raw.properties === "object") {
    const allowed = new Set(Object.keys(raw.properties as Obj));
    ignored = Object.keys(body as Obj).filter((k) => !allowed.has(k));
    if (ignored.length && strictFields) {
      return { reject: `stand-in: body field(s) ${ignored.map((k) => JSON.stringify(k)).join(", ")} not documented for ${op.operationId}`, status: 422 };
    }
    if (ignored.length) body = Object.fromEntries(Object.entries(body as Obj).filter(([k]) => allowed.has(k)));
  }
  op.validateBody ??= sp.bodies.compile(selfContained(sp.doc, op.body.schema));
  if (!op.validateBody(body)) {
    return { reject: `stand-in: body of ${op.operationId}: ${ajvMessage(op.validateBody.errors)}`, status: 422 };
  }
  return { op, params, body, ignored };
}

/**
 * Checks a 2xx answer against the description: the status must be one the
 * operation documents, and a JSON body must match its schema. Error answers
 * are not checked: the description lists only some of the 4xx GitHub gives
 * (a 403 for a missing permission is on no operation), and their body is
 * GitHub's `basic-error` shape, which the stand-in always uses.
 */
function checkResponse(sp: Spec, op: Operation, status: number, body: unknown): string | undefined {
  if (status < 200 || status > 299) return undefined;
  if (!op.responses.has(status)) return `status ${status} is not documented for ${op.operationId} (documented: ${[...op.responses.keys()].join(", ")})`;
  const schema = op.responses.get(status);
  if (!schema) return body === undefined ? undefined : `${op.operationId} ${status} documents no body, the stand-in sent one`;
  if (body === undefined) return `${op.operationId} ${status} documents a body, the stand-in sent none`;
  let validate = op.validateResponse.get(status);
  if (!validate) {
    validate = sp.answers.compile(selfContained(sp.doc, schema));
    op.validateResponse.set(status, validate);
  }
  return validate(body) ? undefined : `answer of ${op.operationId} ${status}: ${ajvMessage(validate.errors)}`;
}

// ---------------------------------------------------------------------------
// The in-memory state.

export interface CommitState {
  readonly sha: string;
  readonly parents: readonly string[];
  /** path -> file content */
  readonly tree: ReadonlyMap<string, string>;
  readonly message: string;
  /** ISO 8601 committer date */
  readonly date: string;
  /** Absent: the stand-in's own identity. A commit made in the web UI is committed by "GitHub". */
  readonly author?: GitIdentity;
  readonly committer?: GitIdentity;
}

export interface OrgState {
  readonly id: number;
  readonly login: string;
  /** GET /orgs/{org}/actions/permissions/workflow */
  readonly workflow: { default_workflow_permissions: string; can_approve_pull_request_reviews: boolean };
  /** The branch name new repositories start on (organisation Settings > Repository > Repository default branch). @default "main" */
  defaultBranch?: string;
  /** How long a branch rename takes to be seen (GitHub renames in the background). @default 0 */
  renameDelayMs?: number;
  /** Labels every new repository gets (organisation Settings > Repository > Repository labels). @default GitHub's nine */
  defaultLabels?: readonly LabelSpec[];
  /** Members may create repositories (organisation Settings > Member privileges). @default true */
  membersCanCreateRepositories?: boolean;
}

export interface LabelSpec {
  readonly name: string;
  readonly color: string;
  readonly description: string | null;
}

/**
 * The labels GitHub gives every new repository unless the organisation set
 * others (docs.github.com, "Managing labels" > "About default labels").
 */
export const GITHUB_DEFAULT_LABELS: readonly LabelSpec[] = [
  { name: "bug", color: "d73a4a", description: "Something isn't working" },
  { name: "documentation", color: "0075ca", description: "Improvements or additions to documentation" },
  { name: "duplicate", color: "cfd3d7", description: "This issue or pull request already exists" },
  { name: "enhancement", color: "a2eeef", description: "New feature or request" },
  { name: "good first issue", color: "7057ff", description: "Good for newcomers" },
  { name: "help wanted", color: "008672", description: "Extra attention is needed" },
  { name: "invalid", color: "e4e669", description: "This doesn't seem right" },
  { name: "question", color: "d876e3", description: "Further information is requested" },
  { name: "wontfix", color: "ffffff", description: "This will not be worked on" },
];

export interface GitIdentity {
  readonly name: string;
  readonly email: string;
}

/** An Actions secret: GitHub never returns the value; the stand-in keeps the sealed box and what it opened to (`secretValue`). */
export interface SecretState {
  readonly name: string;
  readonly createdAt: string;
  updatedAt: string;
  encryptedValue: string;
  keyId: string;
  /** The plaintext, opened with the repository's private key. */
  value?: string;
}

export interface EnvironmentState {
  readonly id: number;
  readonly name: string;
  canAdminsBypass: boolean;
  /** null: every branch may deploy. */
  deploymentBranchPolicy: { protected_branches: boolean; custom_branch_policies: boolean } | null;
  readonly branchPolicies: Map<number, { readonly id: number; name: string; type: "branch" | "tag" }>;
  readonly secrets: Map<string, SecretState>;
  /** The environment's Actions key pair (X25519, base64): its secrets are sealed to `key`. */
  publicKey: { readonly keyId: string; readonly key: string; readonly privateKey?: string };
}

export interface IssueState {
  readonly number: number;
  readonly id: number;
  title: string;
  body: string | null;
  state: "open" | "closed";
  stateReason: "completed" | "not_planned" | "reopened" | "duplicate" | null;
  labels: string[];
  readonly user: string;
  readonly createdAt: string;
  updatedAt: string;
  closedAt: string | null;
  closedBy: string | null;
  /** Pull requests are issues too (shared numbering, labels and comments). */
  readonly isPull: boolean;
  /** Close and reopen events, oldest first, as the timeline lists them (absent: none yet). */
  events?: Array<{ readonly id: number; readonly event: "closed" | "reopened"; readonly actor: string; readonly at: string; readonly stateReason: string | null }>;
}

export interface CommentState {
  readonly id: number;
  readonly issue: number;
  body: string;
  readonly user: string;
  readonly createdAt: string;
  updatedAt: string;
}

export interface PullState {
  readonly number: number;
  readonly head: string;
  base: string;
  /** Head commit, kept when the branch is deleted. */
  headSha: string;
  merged: boolean;
  mergedAt: string | null;
  mergeCommitSha: string | null;
  draft: boolean;
  /** Logins that approved the pull request (approvePull), for the ruleset's review count on a merge. */
  approvals?: string[];
}

export interface ReleaseState {
  readonly id: number;
  readonly tag: string;
  readonly name: string;
  readonly draft: boolean;
  readonly prerelease: boolean;
  readonly createdAt: string;
  readonly publishedAt: string | null;
}

export interface LabelState {
  readonly id: number;
  name: string;
  color: string;
  description: string | null;
  /** One of the labels GitHub (or the organisation) gave the new repository. */
  default?: boolean;
}

export interface RepoState {
  readonly id: number;
  readonly owner: string;
  readonly name: string;
  readonly fullName: string;
  defaultBranch: string;
  archived: boolean;
  private: boolean;
  /** "refs/heads/main" -> commit sha; also refs/tags/*. */
  readonly refs: Map<string, string>;
  readonly commits: Map<string, CommitState>;
  readonly labels: Map<string, LabelState>;
  readonly issues: Map<number, IssueState>;
  readonly comments: CommentState[];
  readonly pulls: Map<number, PullState>;
  readonly releases: ReleaseState[];
  /**
   * The settings `PATCH /repos/{owner}/{repo}` and `POST …/repos` take, by
   * GitHub's field name (description, homepage, has_issues, allow_merge_commit,
   * security_and_analysis, …), as GET returns them.
   */
  readonly settings: Obj;
  topics: string[];
  vulnerabilityAlerts: boolean;
  /** Rulesets by id, as GET /repos/{owner}/{repo}/rulesets/{id} returns them. */
  readonly rulesets: Map<number, Obj>;
  /** GET …/actions/permissions, …/selected-actions, …/permissions/workflow and …/permissions/access (absent: none). */
  readonly actions: { permissions: Obj; selectedActions: Obj; workflow: Obj; access?: Obj };
  readonly secrets: Map<string, SecretState>;
  /** Deployment environments by lower-case name (docs: "REST API endpoints for deployment environments"); absent: none yet. */
  environments?: Map<string, EnvironmentState>;
  /** The repository's Actions key pair (X25519, base64) and the key's id; secrets are sealed to `key`. */
  publicKey: { readonly keyId: string; readonly key: string; readonly privateKey?: string };
  /** Who created it (a login; an App acts as `<slug>[bot]`). Absent: seeded by the test. */
  createdBy?: string;
  /** A rename in progress (GitHub renames in the background): seen once `due` (ms since epoch) has passed. */
  pendingRename?: { readonly from: string; readonly to: string; readonly due: number };
  /**
   * Who and what else can reach the repository, as the list endpoints answer
   * them (infra/adopt.ts reads these before it adopts a repository). Absent in
   * a state saved by an older stand-in: nothing.
   */
  access?: RepoAccess;
}

/** The answers of the list endpoints infra/adopt.ts reads, by operationId's noun. */
export interface RepoAccess {
  /** `permission`: the legacy base role GET …/collaborators/{username}/permission answers (default: from role_name). */
  collaborators: Array<{ login: string; role_name: string; permission?: string }>;
  invitations: Obj[];
  teams: Obj[];
  keys: Obj[];
  hooks: Obj[];
  variables: Obj[];
  runners: Obj[];
  environments: Obj[];
}

function access(repo: RepoState): RepoAccess {
  return (repo.access ??= { collaborators: [], invitations: [], teams: [], keys: [], hooks: [], variables: [], runners: [], environments: [] });
}

export interface RecordedRequest {
  readonly method: string;
  /** Path and query as received. */
  readonly url: string;
  /** The OpenAPI operation it matched, e.g. `issues/create`; null when none matched. */
  readonly operationId: string | null;
  readonly status: number;
  /** Parsed JSON body of a write, for assertions. */
  readonly body?: unknown;
  /** Body fields GitHub ignores (sent by the provider on /api/v3; see the header). */
  readonly ignoredFields?: readonly string[];
  /** Who sent it (the identity's login; an App as `<slug>[bot]`). */
  readonly actor?: string;
  /** Answered 403 because the identity's primary rate limit was spent. */
  readonly rateLimited?: true;
  /** Answered 304: the client's ETag was still current. */
  readonly notModified?: true;
  /** The ETag a conditional GET sent (If-None-Match). */
  readonly ifNoneMatch?: string;
}

export interface RejectedRequest {
  readonly method: string;
  readonly url: string;
  readonly status: number;
  /** Why the stand-in refused it (undocumented route, parameter or body; unauthenticated). */
  readonly reason: string;
}

/**
 * A fault the stand-in injects into the next `times` requests of an operation
 * (retry tests). `before`: answered without running the handler (nothing is
 * applied, e.g. a secondary rate limit). `after`: the handler runs (GitHub
 * applied the write) and the answer is replaced (a 502 whose create landed).
 * `delayMs` holds the answer that long (a client timeout).
 */
export interface Fault {
  readonly operationId: string;
  readonly status: number;
  readonly when: "before" | "after";
  /** @default 1 */
  readonly times?: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: unknown;
  readonly delayMs?: number;
}

export interface StandInOptions {
  /** The token the client must send. @default a random `ghs_standin_…` */
  readonly token?: string;
  /** Login of the token's identity (author of what the pipeline creates). @default "github-actions[bot]" */
  readonly botLogin?: string;
  /** Start of the stand-in's clock for created_at/updated_at; each write advances it one minute. @default 2026-01-01T00:00:00Z */
  readonly clockStart?: string;
  /** Appends one JSON line per request to this file: method, path, status, write, operationId. */
  readonly logFile?: string;
  /** Keeps the state in `<stateDir>/state.json`: read at start when present, written after every write request. */
  readonly stateDir?: string;
  /** Port on 127.0.0.1. @default a free one */
  readonly port?: number;
  /**
   * Token -> identity (test/support/github-access.ts). @default `token` is an
   * organisation owner with every permission, as `botLogin`
   */
  readonly identities?: Readonly<Record<string, Identity>>;
  /** Validate every 2xx answer against the description's response schema (`badResponses`). @default true */
  readonly checkResponses?: boolean;
  /**
   * The primary rate limit per identity and window: `x-ratelimit-*` headers
   * count down from `limit`, and a request beyond it gets GitHub's 403 "API rate
   * limit exceeded" until the window resets. @default 5000 an hour, GitHub's for a user token
   */
  readonly rateLimit?: { readonly limit: number; readonly windowMs: number };
}

export interface RepoOptions {
  /** @default "main" */
  readonly defaultBranch?: string;
  readonly archived?: boolean;
  /** @default true */
  readonly private?: boolean;
  /** Who created it: a login (the initial commit's author), e.g. a stranger's. @default nobody (seeded) */
  readonly createdBy?: string;
  /** Files of the initial commit (autoInit). @default { "README.md": "# <name>\n" } */
  readonly files?: Readonly<Record<string, string>>;
  /** Date of the initial commit. @default the stand-in's clock */
  readonly date?: string;
}

const WRITE_METHODS = new Set(["POST", "PUT", "PATCH", "DELETE"]);
/** A request without credentials (github-access.ts, Identity). */
const ANONYMOUS: Identity = { kind: "anonymous" };
/** GitHub's "Primary rate limit for unauthenticated users": 60 requests an hour. */
const ANONYMOUS_LIMIT = 60;
const INSTALLATION_TOKEN_PREFIX = "ghs_standin_installation_";

export class GitHubStandIn {
  /** Base URL for GITHUB_API_URL, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  readonly token: string;
  readonly botLogin: string;
  /** Every request, in order. */
  readonly requests: RecordedRequest[] = [];
  /** Requests the OpenAPI description does not allow (or unauthenticated ones). Tests assert this stays empty. */
  readonly rejected: RejectedRequest[] = [];
  /** Documented requests the stand-in has no handler for (answered 400 too, so nothing passes silently). */
  readonly unimplemented: RejectedRequest[] = [];
  /** Workflow dispatches received: `owner/repo`, workflow id or file name, ref. */
  readonly dispatches: Array<{ repo: string; workflow: string; ref: string }> = [];
  /** Installation tokens handed out to GitHub Apps, by installation id. */
  readonly installationTokens: Array<{ installation: number; authorization: string; token: string }> = [];
  /** 2xx answers that do not match the description's response schema (see checkResponses). Tests assert this stays empty. */
  readonly badResponses: RejectedRequest[] = [];
  /** Faults still to inject (see injectFault). */
  private readonly faults: Array<Fault & { left: number }> = [];
  /** Faults answered, in order: what a fault scenario asserts was actually served. */
  readonly servedFaults: Array<Fault & { readonly url: string }> = [];

  /** Answers the next `times` requests of `f.operationId` with `f.status`, before or after applying them. */
  injectFault(f: Fault): void {
    this.faults.push({ ...f, left: f.times ?? 1 });
  }

  /** Injected faults not served yet (a scenario whose fault never fired proves nothing). */
  faultsLeft(): Fault[] {
    return this.faults.filter((f) => f.left > 0);
  }

  private takeFault(operationId: string): Fault | undefined {
    const f = this.faults.find((x) => x.operationId === operationId && x.left > 0);
    if (f) f.left--;
    return f;
  }

  private readonly server: http.Server;
  private readonly repos = new Map<string, RepoState>();
  /** Organisations by lower-case login; an owner that is not one is a user to the provider (GET /orgs/{org} 404). */
  private readonly orgs = new Map<string, OrgState>();
  private nextId = 1000;
  private clock: number;
  private readonly logFile?: string;
  private readonly stateDir?: string;
  /** Token -> identity; installation tokens join as Apps exchange their JWTs. */
  private readonly identities = new Map<string, Identity>();
  private readonly checkResponses: boolean;
  private rateLimit: { readonly limit: number; readonly windowMs: number };
  /** Requests counted against the primary limit, per identity, in the current window. */
  private readonly rateUse = new Map<string, { used: number; resetAt: number }>();
  /** What `/api/v3/…` answers name: the stand-in itself, as an Enterprise Server. */
  private readonly serverOrigins: Origins;

  private constructor(server: http.Server, url: string, opts: StandInOptions) {
    this.server = server;
    this.url = url;
    this.serverOrigins = serverOrigins(url);
    this.botLogin = opts.botLogin ?? "github-actions[bot]";
    if (opts.identities && Object.keys(opts.identities).length) {
      for (const [token, who] of Object.entries(opts.identities)) this.identities.set(token, who);
      if (opts.token !== undefined && !this.identities.has(opts.token)) throw new Error("stand-in: `token` is not one of `identities`");
      this.token = opts.token ?? Object.keys(opts.identities)[0];
    } else {
      this.token = opts.token ?? `ghs_standin_${randomBytes(12).toString("hex")}`;
      this.identities.set(this.token, { kind: "owner", login: this.botLogin });
    }
    this.checkResponses = opts.checkResponses ?? true;
    this.rateLimit = opts.rateLimit ?? { limit: 5000, windowMs: 3_600_000 };
    this.clock = Date.parse(opts.clockStart ?? "2026-01-01T00:00:00Z");
    this.logFile = opts.logFile;
    this.stateDir = opts.stateDir;
    if (this.stateDir) this.load();
  }

  /** Starts a stand-in on 127.0.0.1 on a free port. Call `stop()` when done. */
  static async start(opts: StandInOptions = {}): Promise<GitHubStandIn> {
    // Load before listening, so the first request is not slowed by parsing 13 MB
    // (GHES's description waits for the first /api/v3 request: most tests never send one).
    spec();
    await sodium.ready;
    let self: GitHubStandIn | undefined;
    const server = http.createServer((req, res) => {
      void self!.handle(req, res);
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(opts.port ?? 0, "127.0.0.1", () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    self = new GitHubStandIn(server, `http://127.0.0.1:${port}`, opts);
    return self;
  }

  /** Closes the listener and every open connection (keep-alive sockets included). */
  async stop(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
    if (this.gitRoot) fs.rmSync(this.gitRoot, { recursive: true, force: true });
  }

  /**
   * Environment for the pipeline: GITHUB_API_URL, GITHUB_TOKEN, GITHUB_REPOSITORY (when given),
   * and MIRROR_GITHUB_THROTTLE=off (Octokit's write pacing of 1-3 s per request only slows tests).
   */
  env(repository?: string): Record<string, string> {
    return {
      GITHUB_API_URL: this.url,
      GITHUB_TOKEN: this.token,
      MIRROR_GITHUB_THROTTLE: "off",
      ...(repository ? { GITHUB_REPOSITORY: repository } : {}),
    };
  }

  /** Requests that changed state (POST/PUT/PATCH/DELETE), optionally of one operation. */
  writes(operationId?: string): RecordedRequest[] {
    return this.requests.filter((r) => WRITE_METHODS.has(r.method) && (!operationId || r.operationId === operationId));
  }

  // -------------------------------------------------------------------------
  // Seeding.

  /** Creates a repository with one initial commit on its default branch (like `autoInit`). */
  addRepo(fullName: string, opts: RepoOptions = {}): RepoState {
    const repo = this.newRepo(fullName, { defaultBranch: opts.defaultBranch, archived: opts.archived, private: opts.private });
    const files = opts.files ?? { "README.md": `# ${repo.name}\n` };
    if (opts.createdBy) repo.createdBy = opts.createdBy;
    const by = opts.createdBy ? { name: opts.createdBy, email: noreplyEmail(opts.createdBy) } : undefined;
    this.addCommit(fullName, { files, message: "Initial commit", date: opts.date, ...(by ? { author: by, committer: by } : {}) });
    return repo;
  }

  /**
   * Registers an organisation: GET /orgs/{org} answers, and POST /orgs/{org}/repos creates in it.
   * `canApprovePullRequestReviews` is its "Allow GitHub Actions to create and approve pull requests"
   * policy, off by default as on GitHub: a repository of it then cannot turn it on (409).
   * `defaultBranch` is the branch new repositories start on (GitHub's default "main"), and
   * `renameDelayMs` how long a branch rename takes to be seen; `defaultLabels` the labels a new
   * repository gets (GitHub's nine unless the organisation set others).
   */
  addOrg(
    login: string,
    opts: { canApprovePullRequestReviews?: boolean; defaultBranch?: string; renameDelayMs?: number; defaultLabels?: readonly LabelSpec[]; membersCanCreateRepositories?: boolean } = {},
  ): OrgState {
    const org: OrgState = this.orgs.get(login.toLowerCase()) ?? { id: this.id(), login, workflow: { default_workflow_permissions: "read", can_approve_pull_request_reviews: false } };
    if (opts.canApprovePullRequestReviews !== undefined) org.workflow.can_approve_pull_request_reviews = opts.canApprovePullRequestReviews;
    if (opts.defaultBranch !== undefined) org.defaultBranch = opts.defaultBranch;
    if (opts.renameDelayMs !== undefined) org.renameDelayMs = opts.renameDelayMs;
    if (opts.defaultLabels !== undefined) org.defaultLabels = opts.defaultLabels;
    if (opts.membersCanCreateRepositories !== undefined) org.membersCanCreateRepositories = opts.membersCanCreateRepositories;
    this.orgs.set(login.toLowerCase(), org);
    return org;
  }

  /** Adds a token and who it stands for (an owner, a member, an App installation). */
  addIdentity(token: string, who: Identity): void {
    if (this.identities.has(token)) throw new Error("stand-in: that token is taken");
    this.identities.set(token, who);
  }

  /** Environment for the pipeline (see env) as another identity: its token instead of the stand-in's. */
  envAs(token: string, repository?: string): Record<string, string> {
    if (!this.identities.has(token)) throw new Error("stand-in: no identity has that token");
    return { ...this.env(repository), GITHUB_TOKEN: token };
  }

  /** Archives (or unarchives) a repository as an owner does in Settings: an archived one refuses every write. */
  archiveRepo(fullName: string, archived = true): RepoState {
    const repo = this.repo(fullName);
    repo.archived = archived;
    return repo;
  }

  /** Records an approving review of a pull request by `login` (what the ruleset's review count reads on a merge). */
  approvePull(fullName: string, number: number, login = "alice"): PullState {
    const pull = this.repo(fullName).pulls.get(number);
    if (!pull) throw new Error(`stand-in: no pull request #${number} in ${fullName}`);
    pull.approvals = [...(pull.approvals ?? []), login];
    return pull;
  }

  /**
   * The plaintext of an Actions secret (of the repository, or of one of its
   * deployment environments), opened with the private key as GitHub opens it:
   * what a workflow would see in `secrets.NAME`.
   */
  secretValue(fullName: string, name: string, environment?: string): string {
    const repo = this.repo(fullName);
    const store = environment === undefined ? repo.secrets : repo.environments?.get(environment.toLowerCase())?.secrets;
    const secret = store?.get(name.toUpperCase());
    if (!secret) throw new Error(`stand-in: no secret ${name} in ${fullName}${environment === undefined ? "" : ` (environment ${environment})`}`);
    if (secret.value === undefined) throw new Error(`stand-in: secret ${name} in ${fullName} was not sealed to this stand-in's key`);
    return secret.value;
  }

  /** An empty repository (no commit, no branch), as GitHub creates one without auto_init. */
  newRepo(fullName: string, opts: { defaultBranch?: string; archived?: boolean; private?: boolean; settings?: Obj } = {}): RepoState {
    const [owner, name] = fullName.split("/");
    if (!owner || !name) throw new Error(`stand-in: not owner/name: ${fullName}`);
    const key = fullName.toLowerCase();
    if (this.repos.has(key)) throw new Error(`stand-in: repository ${fullName} exists`);
    const repo: RepoState = {
      id: this.id(),
      owner,
      name,
      fullName,
      defaultBranch: opts.defaultBranch ?? "main",
      archived: opts.archived ?? false,
      private: opts.private ?? true,
      refs: new Map(),
      commits: new Map(),
      labels: new Map(),
      issues: new Map(),
      comments: [],
      pulls: new Map(),
      releases: [],
      settings: { ...defaultSettings(opts.private ?? true), ...(opts.settings ?? {}) },
      topics: [],
      vulnerabilityAlerts: false,
      rulesets: new Map(),
      actions: {
        permissions: { enabled: true, allowed_actions: "all", sha_pinning_required: false },
        selectedActions: { github_owned_allowed: true, verified_allowed: false, patterns_allowed: [] },
        workflow: { default_workflow_permissions: "read", can_approve_pull_request_reviews: false },
        access: { access_level: "none" },
      },
      secrets: new Map(),
      publicKey: newKeyPair(fullName),
    };
    this.repos.set(key, repo);
    return repo;
  }

  /** Every repository's `owner/name`, sorted: what a run left behind. */
  repoNames(): string[] {
    return [...this.repos.values()].map((r) => r.fullName).sort();
  }

  /** The settings the GitHub provider manages on a repository, by what a person sees in Settings. */
  settingsOf(fullName: string): Record<string, unknown> {
    const r = this.repo(fullName);
    return {
      visibility: r.private ? "private" : "public",
      archived: r.archived,
      defaultBranch: r.defaultBranch,
      topics: r.topics,
      vulnerabilityAlerts: r.vulnerabilityAlerts,
      merge: { mergeCommit: r.settings.allow_merge_commit, squash: r.settings.allow_squash_merge, rebase: r.settings.allow_rebase_merge, deleteBranchOnMerge: r.settings.delete_branch_on_merge },
      actions: { ...r.actions.permissions, ...(r.actions.permissions.allowed_actions === "selected" ? { selected: r.actions.selectedActions } : {}) },
      workflowPermissions: r.actions.workflow,
      actionsAccess: (r.actions.access ?? { access_level: "none" }).access_level,
      rulesets: [...r.rulesets.values()].map((x) => ({ name: x.name, enforcement: x.enforcement, rules: (x.rules as Obj[]).map((y) => y.type) })),
      secrets: [...r.secrets.keys()].sort(),
    };
  }

  repo(fullName: string): RepoState {
    this.settle();
    const r = this.repos.get(fullName.toLowerCase());
    if (!r) throw new Error(`stand-in: no repository ${fullName}`);
    return r;
  }

  /** Adds a commit on a branch (default: the default branch; created when missing). Returns its sha. */
  addCommit(
    fullName: string,
    c: { branch?: string; files?: Readonly<Record<string, string | null>>; message?: string; date?: string; author?: GitIdentity; committer?: GitIdentity } = {},
  ): string {
    const repo = this.repo(fullName);
    const branch = c.branch ?? repo.defaultBranch;
    const parent = repo.refs.get(`refs/heads/${branch}`);
    const tree = new Map(parent ? repo.commits.get(parent)!.tree : []);
    for (const [p, content] of Object.entries(c.files ?? {})) {
      if (content === null) tree.delete(p);
      else tree.set(p, content);
    }
    const sha = this.commit(repo, { parents: parent ? [parent] : [], tree, message: c.message ?? "commit", date: c.date, author: c.author, committer: c.committer });
    repo.refs.set(`refs/heads/${branch}`, sha);
    return sha;
  }

  /** Tags a commit (default: the default branch's head). Returns the commit sha. */
  addTag(fullName: string, tag: string, sha?: string): string {
    const repo = this.repo(fullName);
    const target = sha ?? repo.refs.get(`refs/heads/${repo.defaultBranch}`)!;
    if (!repo.commits.has(target)) throw new Error(`stand-in: no commit ${target} in ${fullName}`);
    repo.refs.set(`refs/tags/${tag}`, target);
    return target;
  }

  addRelease(fullName: string, r: { tag: string; date: string; name?: string; draft?: boolean; prerelease?: boolean }): ReleaseState {
    const repo = this.repo(fullName);
    const release: ReleaseState = {
      id: this.id(),
      tag: r.tag,
      name: r.name ?? r.tag,
      draft: r.draft ?? false,
      prerelease: r.prerelease ?? false,
      createdAt: iso(r.date),
      publishedAt: r.draft ? null : iso(r.date),
    };
    repo.releases.push(release);
    return release;
  }

  /**
   * Seeds an upstream from a tag list (`<tag> <date>` per line, oldest first, the
   * format of test/testdata/upstream-tags): one commit per tag on the default
   * branch, dated like the tag, and the tag on it. Returns tag -> commit sha.
   */
  seedTagLines(fullName: string, text: string, opts: { releases?: boolean } = {}): Map<string, string> {
    const out = new Map<string, string>();
    for (const line of text.split("\n")) {
      const m = /^(\S+)\s+(.+?)\s*$/.exec(line.trim());
      if (!m) continue;
      const date = iso(m[2]);
      const sha = this.addCommit(fullName, { message: `release ${m[1]}`, date, files: { VERSION: `${m[1]}\n` } });
      this.addTag(fullName, m[1], sha);
      if (opts.releases) this.addRelease(fullName, { tag: m[1], date });
      out.set(m[1], sha);
    }
    return out;
  }

  /**
   * Changes repository settings as a person does in Settings, by GitHub's field names
   * (`{ has_wiki: true }`, `{ visibility: "public" }`, `{ allow_squash_merge: true }`).
   */
  editRepo(fullName: string, fields: Obj): RepoState {
    const repo = this.repo(fullName);
    const unknown = Object.keys(fields).filter((k) => !SETTING_FIELDS.has(k) && k !== "visibility" && k !== "private");
    if (unknown.length) throw new Error(`stand-in: editRepo: not a repository setting: ${unknown.join(", ")}`);
    applySettings(repo, fields);
    return repo;
  }

  /** Writes a file on a branch as one commit, as a person does in the web UI (committer "GitHub"). Returns the commit sha. */
  putFile(fullName: string, branch: string, filePath: string, content: string, message = `update ${filePath}`): string {
    return this.addCommit(fullName, { branch, files: { [filePath]: content }, message, author: { name: "alice", email: "alice@example.com" }, committer: WEB_UI });
  }

  addLabel(fullName: string, name: string, color = "ededed", description: string | null = null): LabelState {
    const repo = this.repo(fullName);
    const label: LabelState = { id: this.id(), name, color, description };
    repo.labels.set(name.toLowerCase(), label);
    return label;
  }

  // -------------------------------------------------------------------------
  // Acting as a human.

  /** Closes an issue (or PR) as a human; `reason` "completed" is an approval for override-review issues. */
  closeIssue(fullName: string, number: number, opts: { reason?: "completed" | "not_planned"; by?: string } = {}): IssueState {
    const issue = this.issueOf(fullName, number);
    issue.state = "closed";
    issue.stateReason = opts.reason ?? "completed";
    issue.closedAt = this.tick();
    issue.closedBy = opts.by ?? "alice";
    issue.updatedAt = issue.closedAt;
    this.issueEvent(issue, "closed", issue.closedBy, issue.closedAt);
    return issue;
  }

  reopenIssue(fullName: string, number: number, by = "alice"): IssueState {
    const issue = this.issueOf(fullName, number);
    issue.state = "open";
    issue.stateReason = "reopened";
    issue.closedAt = null;
    issue.updatedAt = this.tick();
    this.issueEvent(issue, "reopened", by, issue.updatedAt);
    return issue;
  }

  /**
   * Gives `login` a repository role: read, triage, write, maintain, admin, or a
   * custom role's name with its base. `permission` is the legacy base role the
   * endpoint also answers: maintain counts as write, triage as read.
   */
  setRole(fullName: string, login: string, role: string, permission?: string): void {
    const list = access(this.repo(fullName)).collaborators;
    const i = list.findIndex((c) => c.login.toLowerCase() === login.toLowerCase());
    const entry = { login, role_name: role, ...(permission ? { permission } : {}) };
    if (i >= 0) list[i] = entry;
    else list.push(entry);
  }

  issueEvent(issue: IssueState, event: "closed" | "reopened", actor: string, at: string): void {
    (issue.events ??= []).push({ id: this.id(), event, actor, at, stateReason: event === "closed" ? issue.stateReason : null });
  }

  /** A comment by someone other than the pipeline. */
  commentAs(fullName: string, number: number, body: string, login = "alice"): CommentState {
    this.issueOf(fullName, number);
    return this.addComment(this.repo(fullName), number, body, login);
  }

  /**
   * Merges a pull request the way the merge button does (merge commit on the
   * base branch), as a reviewer who approved it: the rulesets' review rules are
   * met by that approval (PUT …/pulls/{n}/merge checks them).
   */
  mergePull(fullName: string, number: number, by = "alice"): PullState {
    const repo = this.repo(fullName);
    const pull = repo.pulls.get(number);
    if (!pull) throw new Error(`stand-in: no pull request #${number} in ${fullName}`);
    const r = this.merge(repo, pull, by);
    if (typeof r === "string") throw new Error(`stand-in: cannot merge #${number}: ${r}`);
    return pull;
  }

  // -------------------------------------------------------------------------
  // Inspection.

  issues(fullName: string, opts: { pulls?: boolean } = {}): IssueState[] {
    return [...this.repo(fullName).issues.values()].filter((i) => opts.pulls || !i.isPull);
  }

  issue(fullName: string, number: number): IssueState {
    return this.issueOf(fullName, number);
  }

  comments(fullName: string, number: number): CommentState[] {
    return this.repo(fullName).comments.filter((c) => c.issue === number);
  }

  pulls(fullName: string): Array<PullState & { readonly issue: IssueState }> {
    const repo = this.repo(fullName);
    return [...repo.pulls.values()].map((p) => ({ ...p, issue: repo.issues.get(p.number)! }));
  }

  branches(fullName: string): string[] {
    return [...this.repo(fullName).refs.keys()].filter((r) => r.startsWith("refs/heads/")).map((r) => r.slice("refs/heads/".length));
  }

  /** Head commit of a branch, or undefined. */
  head(fullName: string, branch: string): CommitState | undefined {
    const repo = this.repo(fullName);
    const sha = repo.refs.get(`refs/heads/${branch}`);
    return sha ? repo.commits.get(sha) : undefined;
  }

  /** A file's content at a branch head, or undefined. */
  readFile(fullName: string, branch: string, filePath: string): string | undefined {
    return this.head(fullName, branch)?.tree.get(filePath);
  }

  /** The content of a file at a commit (by its full sha), as `git show <sha>:<path>` reads it. */
  readFileAt(fullName: string, sha: string, filePath: string): string | undefined {
    return this.repo(fullName).commits.get(sha)?.tree.get(filePath);
  }

  /**
   * Writes the tree of one commit into `dir` (created), as a checkout of that
   * commit: how a test maps `uses: owner/repo@<sha>` to a local folder (act's
   * --local-repository). Fails when the commit is not in the repository.
   */
  exportCommit(fullName: string, sha: string, dir: string): string[] {
    const c = this.repo(fullName).commits.get(sha);
    if (!c) throw new Error(`stand-in: ${fullName} has no commit ${sha}`);
    const written: string[] = [];
    for (const [p, content] of c.tree) {
      const dest = path.join(dir, p);
      if (!dest.startsWith(path.resolve(dir) + path.sep)) throw new Error(`stand-in: ${fullName}@${sha}: ${p} leaves the folder`);
      fs.mkdirSync(path.dirname(dest), { recursive: true });
      fs.writeFileSync(dest, content);
      written.push(p);
    }
    return written.sort();
  }

  /** Commits reachable from a branch by first parent, newest first. */
  history(fullName: string, branch: string): CommitState[] {
    const repo = this.repo(fullName);
    const out: CommitState[] = [];
    let sha = repo.refs.get(`refs/heads/${branch}`);
    while (sha) {
      const c = repo.commits.get(sha)!;
      out.push(c);
      sha = c.parents[0];
    }
    return out;
  }

  // -------------------------------------------------------------------------
  // HTTP.

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const method = (req.method ?? "GET").toUpperCase();
    const rawUrl = req.url ?? "/";
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const git = gitRequestOf(rawUrl);
    if (git) return this.serveGitRequest(req, res, Buffer.concat(chunks), git);
    const text = Buffer.concat(chunks).toString("utf8");
    this.settle();
    let answer: Answer;
    let operationId: string | null = null;
    let parsedBody: unknown;
    let ignored: readonly string[] = [];
    let who: Identity | undefined;
    let described: Routed["described"] | undefined;
    let faulted = false;
    let rateLimited = false;
    try {
      const routed = this.route(method, rawUrl, req.headers, text);
      if ("reject" in routed) {
        answer = { status: routed.status, body: { message: routed.reject, documentation_url: "https://docs.github.com/rest" } };
        this.rejected.push({ method, url: rawUrl, status: routed.status, reason: routed.reject });
      } else {
        who = routed.who;
        operationId = routed.op.operationId;
        parsedBody = routed.body;
        ignored = routed.ignored;
        described = routed.described;
        const handler = HANDLERS[operationId];
        if (!handler) {
          const reason = `stand-in: ${method} ${routed.op.template} (${operationId}) is documented but not implemented by the stand-in`;
          answer = { status: 400, body: { message: reason } };
          this.unimplemented.push({ method, url: rawUrl, status: 400, reason });
        } else {
          const ctx: Ctx = { params: routed.params, body: routed.body, url: rawUrl, base: this.url, actor: who, origins: routed.origins };
          const limited = this.overLimit(who);
          rateLimited = limited !== undefined;
          const refused = limited ?? this.authorize(who, routed.op, ctx) ?? this.archivedRefusal(routed.op, ctx);
          const fault = refused ? undefined : this.takeFault(operationId);
          const tooLong = bodyTooLong(operationId, routed.body);
          answer = refused
            ? refused
            : tooLong
              ? tooLong
              : fault?.when === "before"
                ? { status: fault.status }
                : handler.call(this, ctx);
          if (fault) {
            faulted = true;
            this.servedFaults.push({ ...fault, url: rawUrl });
            answer = { status: fault.status, body: fault.body ?? { message: `stand-in: injected ${fault.status}`, status: String(fault.status) }, headers: { ...fault.headers } };
            if (fault.delayMs) await new Promise((r) => setTimeout(r, fault.delayMs));
          }
        }
      }
    } catch (e) {
      answer = { status: 400, body: { message: `stand-in error: ${(e as Error).message}` } };
      this.unimplemented.push({ method, url: rawUrl, status: 400, reason: (e as Error).message });
    }
    const headers: Record<string, string> = { "x-github-api-version-selected": "2022-11-28", ...(answer.headers ?? {}) };
    // Conditional requests ("Best practices for using the REST API"): a GET
    // carries an ETag of its answer, and one that sends it back in
    // If-None-Match while the answer is unchanged gets 304 and no body.
    // Every JSON answer of a success carries the ETag of its body (a create's
    // answer too: it is the resource as a later GET returns it).
    if (answer.status >= 200 && answer.status < 300 && answer.body !== undefined && !faulted) {
      const etag = `W/"${createHash("sha256").update(JSON.stringify(answer.body)).update(headers.link ?? "").digest("hex")}"`;
      headers.etag = etag;
      headers.vary = "Accept, Authorization, Cookie, X-GitHub-OTP";
      const sent = req.headers["if-none-match"];
      if (method === "GET" && typeof sent === "string" && sent.split(",").map((t) => t.trim()).includes(etag)) answer = { status: 304 };
    }
    if (this.checkResponses && described && !faulted) {
      const wrong = checkResponse(described[0], described[1], answer.status, answer.body);
      if (wrong) this.badResponses.push({ method, url: rawUrl, status: answer.status, reason: `stand-in: ${wrong}` });
    }
    // The primary rate limit counts every authenticated request but a 304 ("Rate limits for the REST API").
    // Headers an answer carries itself stand (an injected fault's own rate-limit headers, say).
    if (who) for (const [k, v] of Object.entries(this.spend(who, answer.status !== 304))) headers[k] ??= v;
    const write = WRITE_METHODS.has(method);
    this.requests.push({
      method,
      url: rawUrl,
      operationId,
      status: answer.status,
      ...(write ? { body: parsedBody } : {}),
      ...(ignored.length ? { ignoredFields: ignored } : {}),
      ...(who ? { actor: loginOf(who) } : {}),
      ...(rateLimited ? { rateLimited: true as const } : {}),
      ...(answer.status === 304 ? { notModified: true as const } : {}),
      ...(typeof req.headers["if-none-match"] === "string" ? { ifNoneMatch: req.headers["if-none-match"] } : {}),
    });
    if (this.logFile) {
      const line = { method, path: rawUrl, status: answer.status, write, operationId, ...(ignored.length ? { ignoredFields: ignored } : {}) };
      fs.appendFileSync(this.logFile, `${JSON.stringify(line)}\n`);
    }
    if (write && this.stateDir) this.save();
    if (answer.body === undefined) {
      res.writeHead(answer.status, headers).end();
    } else {
      res.writeHead(answer.status, { "content-type": "application/json; charset=utf-8", ...headers }).end(JSON.stringify(answer.body));
    }
  }

  // -------------------------------------------------------------------------
  // Git over HTTP (git clone/fetch, actions/checkout): the repositories as real
  // git repositories, written from the same state before each request.

  private gitRoot?: string;
  /** Git protocol requests (clone, fetch), kept apart from the REST requests: a fetch is a POST but writes nothing. */
  readonly gitRequests: Array<{ method: string; url: string; service: string; status: number }> = [];

  private async serveGitRequest(req: http.IncomingMessage, res: http.ServerResponse, body: Buffer, git: GitRequest): Promise<void> {
    const repo = this.repos.get(`${git.owner}/${git.repo}`.toLowerCase());
    const password = basicPassword(req);
    // A token reads a repository over git as it reads its contents over REST (Contents: read, a role that sees it).
    const who = password === undefined ? undefined : this.identities.get(password);
    const authorized = who !== undefined && repo !== undefined && this.roleIn(who, repo) !== undefined && !this.permissionRefusal(who, needOf("repos/get-content"), false);
    const log = (status: number) => this.gitRequests.push({ method: req.method ?? "GET", url: req.url ?? "/", service: git.service, status });
    // GitHub answers a private repository's git requests without credentials with 401, and an unknown repository with 404.
    if (repo?.private && !authorized) {
      log(401);
      res.writeHead(401, { "www-authenticate": 'Basic realm="GitHub"', "content-type": "text/plain" }).end("stand-in: authentication required\n");
      return;
    }
    if (!repo) {
      log(404);
      res.writeHead(404, { "content-type": "text/plain" }).end("Repository not found.\n");
      return;
    }
    this.gitRoot ??= fs.mkdtempSync(path.join(os.tmpdir(), "standin-git-"));
    const dir = path.join(this.gitRoot, `${repo.owner}`, `${repo.name}.git`);
    const objects = [...repo.commits.values()].flatMap((c) =>
      gitCommitObjects({ parents: c.parents, tree: c.tree, message: c.message, author: { ...(c.author ?? STANDIN_IDENTITY), date: c.date }, committer: { ...(c.committer ?? STANDIN_IDENTITY), date: c.date } }),
    );
    writeBareRepository(dir, objects, repo.refs, repo.defaultBranch);
    await serveGit(req, res, body, dir, git.service);
    log(res.statusCode);
  }

  private readonly apps = new Map<string, string>();
  /** What an App's installation tokens may do, by app id (addApp). */
  private readonly appGrants = new Map<string, { permissions?: Readonly<Record<string, Access>>; slug?: string; repositories?: readonly string[] }>();

  /**
   * Registers a GitHub App: its id and the public key that verifies its JWTs.
   * Its installation tokens get `permissions` (every repository permission
   * when not given); an identity of kind app with the same installation id
   * (StandInOptions.identities) decides instead.
   */
  addApp(appId: string, publicKeyPem: string, grant: { permissions?: Readonly<Record<string, Access>>; slug?: string; repositories?: readonly string[] } = {}): void {
    this.apps.set(appId, publicKeyPem);
    this.appGrants.set(appId, grant);
  }

  /** An installation token of `appId` (POST /app/installations/{id}/access_tokens) and who it stands for. */
  issueInstallationToken(appId: number, installationId: number): { token: string; who: Identity } {
    const token = `${INSTALLATION_TOKEN_PREFIX}${installationId}`;
    const who = this.installationIdentity(appId, installationId);
    this.identities.set(token, who);
    return { token, who };
  }

  /** Who an installation token of `appId` stands for: a configured identity of that installation, else the App's grant (addApp). */
  private installationIdentity(appId: number, installationId: number): Identity {
    const configured = [...this.identities.values()].find((w) => w.kind === "app" && w.appId === appId && w.installationId === installationId);
    if (configured) return configured;
    const grant = this.appGrants.get(String(appId)) ?? {};
    return {
      kind: "app",
      appId,
      installationId,
      // Without a grant, every repository permission at its highest access (what the stand-in allowed before identities).
      permissions: grant.permissions ?? allRepositoryPermissions(),
      ...(grant.slug ? { slug: grant.slug } : {}),
      ...(grant.repositories ? { repositories: grant.repositories } : {}),
    };
  }

  /** The App a JWT is signed by, or undefined. */
  private appOfJwt(jwt: string): string | undefined {
    const [h, p, sig] = jwt.split(".");
    if (!h || !p || !sig) return undefined;
    try {
      const claims = JSON.parse(Buffer.from(p, "base64url").toString()) as { iss?: string; iat?: number; exp?: number };
      const key = this.apps.get(String(claims.iss));
      if (!key || typeof claims.exp !== "number" || typeof claims.iat !== "number" || claims.exp - claims.iat > 600) return undefined;
      return createVerify("RSA-SHA256").update(`${h}.${p}`).verify(key, Buffer.from(sig, "base64url")) ? String(claims.iss) : undefined;
    } catch {
      return undefined;
    }
  }

  /** Finds the documented operation and validates the request against it (see the header: `/…` and `/api/v3/…`). */
  private route(
    method: string,
    rawUrl: string,
    headers: http.IncomingHttpHeaders,
    text: string,
  ): (Routed & { who: Identity; origins: Origins }) | { reject: string; status: number } {
    const url = new URL(rawUrl, "http://stand-in");
    const ghes = url.pathname === "/api/v3" || url.pathname.startsWith("/api/v3/");
    let pathname = ghes ? url.pathname.slice("/api/v3".length) || "/" : url.pathname;
    // GitHub serves a repository's routes under /repositories/{repository_id} too; go-github
    // v88 (the provider's) uses that form for environment secrets (actions_secrets.go
    // GetEnvPublicKey, GetEnvSecret): read as the owner/name path it stands for.
    const byId = /^\/repositories\/(\d+)(\/.*)?$/.exec(pathname);
    const aliased = byId ? [...this.repos.values()].find((r) => r.id === Number(byId[1])) : undefined;
    if (byId && aliased && byId[2]) pathname = `/repos/${aliased.fullName}${byId[2]}`;
    const auth = headers.authorization ?? "";
    const m = /^(?:token|bearer)\s+(\S+)$/i.exec(auth);
    // /app/… endpoints authenticate as a GitHub App: a JWT signed with a key registered by addApp().
    let who: Identity | undefined;
    if (m && pathname.startsWith("/app/")) {
      const appId = this.appOfJwt(m[1]);
      if (appId) who = { kind: "app", appId: Number(appId), installationId: 0, permissions: {} };
    } else if (m) {
      who = this.identities.get(m[1]);
    } else if (!auth) {
      // No credentials at all: a read of public resources only (Identity "anonymous", and authorize).
      if (method !== "GET" && method !== "HEAD") return { reject: "Requires authentication", status: 401 };
      who = ANONYMOUS;
    }
    if (!who) return { reject: "Bad credentials", status: 401 };

    const s = spec(ghes ? GHES_DESCRIPTION : DOTCOM);
    const candidates = s.ops.filter((o) => o.regex.test(pathname));
    const op = candidates.find((o) => o.method === method);
    if (!op) {
      const what = candidates.length
        ? `${method} is not a documented method for ${candidates[0].template} (documented: ${[...new Set(candidates.map((c) => c.method))].join(", ")})`
        : `${method} ${pathname} matches no path in GitHub's OpenAPI description (${ghes ? GHES_DESCRIPTION : DOTCOM})`;
      return { reject: `stand-in: ${what}`, status: 400 };
    }
    const checks: Array<[Spec, Operation]> = [[s, op]];
    if (ghes) {
      const d = spec(DOTCOM);
      const twin = d.ops.find((o) => o.method === method && o.template === op.template);
      if (!twin) return { reject: `stand-in: ${method} ${op.template} (${op.operationId}) is in ${GHES_DESCRIPTION}'s description but not in api.github.com's`, status: 400 };
      checks.push([d, twin]);
    }
    let routed: Routed | undefined;
    for (const [sp, o] of checks) {
      const r = validateRequest(sp, o, method, url, pathname, text, !ghes);
      if ("reject" in r) return r;
      // The handler sees api.github.com's reading (the last check): what it ignores is what GitHub ignores.
      routed = { ...r, described: [sp, o] };
    }
    return { ...routed!, who, origins: ghes ? this.serverOrigins : GITHUB_COM };
  }

  // -------------------------------------------------------------------------
  // Identities and permissions (test/support/github-access.ts).

  /** The role a user has on a repository, or undefined when they may not see it. Apps: "admin" where installed (permissions decide). */
  roleIn(who: Identity, repo: RepoState): RepoRole | undefined {
    const orgRepo = this.orgs.has(repo.owner.toLowerCase());
    if (who.kind === "owner") return "admin";
    if (who.kind === "anonymous") return repo.private ? undefined : "read";
    if (who.kind === "app") return this.installedOn(who, repo) ? "admin" : repo.private ? undefined : "read";
    if (repo.createdBy === who.login || repo.owner.toLowerCase() === who.login.toLowerCase()) return "admin";
    if (orgRepo) return who.role ?? "read";
    return repo.private ? undefined : "read";
  }

  /** Whether an App's installation covers a repository (its selected repositories, else every repository of an organisation). */
  private installedOn(app: Extract<Identity, { kind: "app" }>, repo: RepoState): boolean {
    if (app.repositories) return app.repositories.some((r) => r.toLowerCase() === repo.fullName.toLowerCase());
    return this.orgs.has(repo.owner.toLowerCase()) || this.orgs.size === 0;
  }

  /** The fine-grained permission check of a token that has them (Apps, fine-grained tokens). */
  private permissionRefusal(who: Identity, need: ReturnType<typeof needOf>, workflows: boolean, access = need.access): Answer | undefined {
    const granted = who.kind === "anonymous" ? undefined : who.permissions;
    if (!granted) return undefined;
    // Every installation and fine-grained token has Metadata: read ("About GitHub App permissions").
    const level = (p: string) => granted[p] ?? (p === "metadata" ? "read" : undefined);
    const ok =
      (need.any.length === 0 || need.any.some((p) => grants(level(p), access))) &&
      (need.also ?? []).every((p) => grants(level(p), access)) &&
      (!workflows || grants(granted.workflows, "write"));
    if (ok) return undefined;
    return {
      status: 403,
      body: { message: notAccessible(who), documentation_url: "https://docs.github.com/rest", status: "403" },
      headers: { "x-accepted-github-permissions": acceptedPermissions({ ...need, access }, workflows) },
    };
  }

  /** Refuses a request the identity may not make (see test/support/github-access.ts for the rules and their sources). */
  private authorize(who: Identity, op: Operation, ctx: Ctx): Answer | undefined {
    const need = needOf(op.operationId);
    if (need.on === "public") return undefined;
    if (who.kind === "anonymous" && need.on !== "repo") return { status: 401, body: { message: "Requires authentication", documentation_url: "https://docs.github.com/rest" } };
    if (need.on === "user") return who.kind === "app" ? { status: 403, body: { message: notAccessible(who), documentation_url: "https://docs.github.com/rest", status: "403" } } : undefined;
    if (need.on === "org") {
      const org = this.org(String(ctx.params.org));
      if (!org) return undefined;
      if (op.operationId === "repos/create-in-org") {
        if (who.kind === "member" && org.membersCanCreateRepositories === false) {
          return { status: 403, body: { message: "You do not have permission to create repositories in this organization.", documentation_url: "https://docs.github.com/rest", status: "403" } };
        }
      } else if (who.kind === "member") {
        return notFound();
      }
      return this.permissionRefusal(who, need, false);
    }
    const repo = this.repos.get(`${ctx.params.owner}/${ctx.params.repo}`.toLowerCase());
    if (!repo) return undefined;
    const role = this.roleIn(who, repo);
    if (role === undefined) return notFound();
    // "This endpoint can be used without authentication or the aforementioned
    // permissions if only public resources are requested."
    const publicRead = !repo.private && need.access === "read";
    const refused = publicRead ? undefined : this.permissionRefusal(who, need, this.touchesWorkflows(op.operationId, repo, ctx));
    if (refused) return refused;
    if (who.kind === "app" && need.access === "write" && !this.installedOn(who, repo)) {
      return { status: 403, body: { message: notAccessible(who), documentation_url: "https://docs.github.com/rest", status: "403" } };
    }
    // "Rename a branch": the default branch needs admin, and administration:write of a token.
    const renamingDefault = op.operationId === "repos/rename-branch" && String(ctx.params.branch) === repo.defaultBranch;
    if (renamingDefault) {
      const admin = this.permissionRefusal(who, { ...need, any: ["administration"] }, false, "write");
      if (admin) return admin;
    }
    const least: RepoRole = renamingDefault ? "admin" : need.role;
    if (who.kind === "anonymous" && least !== "read") return { status: 401, body: { message: "Requires authentication", documentation_url: "https://docs.github.com/rest" } };
    if (!roleAtLeast(role, least)) {
      return least === "admin" ? { status: 403, body: { message: "Must have admin rights to Repository.", documentation_url: "https://docs.github.com/rest", status: "403" } } : notFound();
    }
    return undefined;
  }

  /** Whether a write changes a file under `.github/workflows/` (which needs Workflows: write of an App or fine-grained token). */
  private touchesWorkflows(operationId: string, repo: RepoState, ctx: Ctx): boolean {
    const isWorkflow = (p: string) => p.startsWith(".github/workflows/");
    if (operationId === "repos/create-or-update-file-contents" || operationId === "repos/delete-file") return isWorkflow(String(ctx.params.path));
    if (operationId !== "git/create-ref" && operationId !== "git/update-ref") return false;
    const b = ctx.body as { ref?: string; sha?: string };
    const next = b.sha ? repo.commits.get(b.sha) : undefined;
    if (!next) return false;
    const beforeSha = operationId === "git/update-ref" ? repo.refs.get(`refs/${ctx.params.ref}`) : repo.refs.get(`refs/heads/${repo.defaultBranch}`);
    const before = beforeSha ? repo.commits.get(beforeSha)!.tree : new Map<string, string>();
    return [...new Set([...before.keys(), ...next.tree.keys()])].some((p) => isWorkflow(p) && before.get(p) !== next.tree.get(p));
  }

  /** "Archiving repositories": an archived repository is read-only; only unarchiving (and deleting) it is allowed. */
  private archivedRefusal(op: Operation, ctx: Ctx): Answer | undefined {
    if (!WRITE_METHODS.has(op.method) || needOf(op.operationId).on !== "repo") return undefined;
    const repo = this.repos.get(`${ctx.params.owner}/${ctx.params.repo}`.toLowerCase());
    if (!repo?.archived) return undefined;
    if (op.operationId === "repos/delete") return undefined;
    if (op.operationId === "repos/update" && (ctx.body as Obj | undefined)?.archived === false) return undefined;
    return { status: 403, body: { message: "Repository was archived so is read-only.", documentation_url: "https://docs.github.com/rest", status: "403" } };
  }

  /** Who a ruleset sees writing. */
  private ruleActor(who: Identity, repo: RepoState): RuleActor {
    const login = loginOf(who);
    return {
      login,
      userId: Math.abs(hashInt(login)),
      orgOwner: who.kind === "owner",
      ...(who.kind === "app" ? { appId: who.appId } : { role: this.roleIn(who, repo) }),
      teams: who.kind === "member" ? (who.teams ?? []) : [],
    };
  }

  /** The caller's `current_user_can_bypass` of a ruleset. */
  canBypass(who: Identity, repo: RepoState, ruleset: Obj): string {
    return bypassOf(ruleset, this.ruleActor(who, repo));
  }

  /**
   * Evaluates the repository's rulesets for a write to a ref
   * (test/support/github-rulesets.ts): undefined when allowed, else GitHub's
   * refusal with `status`. A rule the stand-in cannot evaluate throws (the
   * request is then answered as unimplemented).
   */
  refRules(repo: RepoState, who: Identity, change: RefChange, status: number, doc: string): Answer | undefined {
    const verdict = evaluate(repo.rulesets.values(), change, this.ruleActor(who, repo), repo.defaultBranch);
    if (verdict.unimplemented) throw new Error(`stand-in: ${verdict.unimplemented}`);
    if (!verdict.violations.length) return undefined;
    return { status, body: { message: violationMessage(verdict.violations), documentation_url: doc, status: String(status) } };
  }

  /** A write to a branch being renamed ("Rename a branch": you can't push to the old name while the rename is in progress). */
  renaming(repo: RepoState, branch: string): Answer | undefined {
    if (repo.pendingRename?.from !== branch) return undefined;
    return { status: 409, body: { message: `Branch ${branch} is being renamed to ${repo.pendingRename.to}`, documentation_url: "https://docs.github.com/rest/branches/branches#rename-a-branch", status: "409" } };
  }

  /** Applies renames whose delay has passed. */
  private settle(): void {
    const now = Date.now();
    for (const repo of this.repos.values()) {
      const r = repo.pendingRename;
      if (!r || r.due > now) continue;
      delete repo.pendingRename;
      this.applyRename(repo, r.from, r.to);
    }
  }

  applyRename(repo: RepoState, from: string, to: string): void {
    const sha = repo.refs.get(`refs/heads/${from}`);
    if (!sha) return;
    repo.refs.delete(`refs/heads/${from}`);
    repo.refs.set(`refs/heads/${to}`, sha);
    if (repo.defaultBranch === from) repo.defaultBranch = to;
    // Open pull requests follow their base ("Renaming a branch").
    for (const pull of repo.pulls.values()) if (pull.base === from) pull.base = to;
  }

  // -------------------------------------------------------------------------
  // The primary rate limit ("Rate limits for the REST API").

  /** Changes the primary rate limit from now on (a new window starts for every identity). */
  setRateLimit(limit: number, windowMs: number): void {
    this.rateLimit = { limit, windowMs };
    this.rateUse.clear();
  }

  /** Requests a window allows `who`: the stand-in's limit, or GitHub's 60 an hour for requests without credentials when that is less. */
  private limitOf(who: Identity): number {
    return who.kind === "anonymous" ? Math.min(ANONYMOUS_LIMIT, this.rateLimit.limit) : this.rateLimit.limit;
  }

  private rateOf(who: Identity): { used: number; resetAt: number } {
    // GitHub counts requests without credentials by address; the stand-in has one caller address.
    const key = who.kind === "app" ? `installation:${who.installationId}` : who.kind === "anonymous" ? "anonymous" : `user:${who.login}`;
    let use = this.rateUse.get(key);
    if (!use || use.resetAt <= Date.now()) {
      use = { used: 0, resetAt: Date.now() + this.rateLimit.windowMs };
      this.rateUse.set(key, use);
    }
    return use;
  }

  private rateHeaders(limit: number, use: { used: number; resetAt: number }): Record<string, string> {
    return {
      "x-ratelimit-limit": String(limit),
      "x-ratelimit-remaining": String(Math.max(limit - use.used, 0)),
      "x-ratelimit-used": String(use.used),
      "x-ratelimit-reset": String(Math.ceil(use.resetAt / 1000)),
      "x-ratelimit-resource": "core",
    };
  }

  /** GitHub's answer once the window's requests are spent: 403, remaining 0, wait for the reset. */
  private overLimit(who: Identity): Answer | undefined {
    const use = this.rateOf(who);
    if (use.used < this.limitOf(who)) return undefined;
    const whom = who.kind === "app" ? `installation ID ${who.installationId}` : who.kind === "anonymous" ? "127.0.0.1" : `user ID ${Math.abs(hashInt(who.login))}`;
    return {
      status: 403,
      body: { message: `API rate limit exceeded for ${whom}.`, documentation_url: "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api", status: "403" },
    };
  }

  private spend(who: Identity, counts: boolean): Record<string, string> {
    const use = this.rateOf(who);
    if (counts && use.used < this.limitOf(who)) use.used++;
    return this.rateHeaders(this.limitOf(who), use);
  }

  // -------------------------------------------------------------------------
  // Internals used by the handlers.

  id(): number {
    return this.nextId++;
  }

  /** The stand-in's clock: one minute per call, so created/updated order is strict and deterministic. */
  tick(): string {
    this.clock += 60_000;
    return new Date(this.clock).toISOString().replace(/\.000Z$/, "Z");
  }

  commit(
    repo: RepoState,
    c: { parents: string[]; tree: Map<string, string>; message: string; date?: string; author?: GitIdentity; committer?: GitIdentity },
  ): string {
    const date = c.date ? iso(c.date) : this.tick();
    // A real git commit id (test/support/git-objects.ts), so that git clients of the stand-in see the same SHAs as its API.
    const sha = gitCommitSha({ parents: c.parents, tree: c.tree, message: c.message, author: { ...(c.author ?? STANDIN_IDENTITY), date }, committer: { ...(c.committer ?? STANDIN_IDENTITY), date } });
    repo.commits.set(sha, {
      sha,
      parents: c.parents,
      tree: c.tree,
      message: c.message,
      date,
      ...(c.author ? { author: c.author } : {}),
      ...(c.committer ? { committer: c.committer } : {}),
    });
    return sha;
  }

  // -------------------------------------------------------------------------
  // Persistence (stateDir): one JSON file, Maps kept as tagged entry lists.

  private stateFile(): string {
    return path.join(this.stateDir!, "state.json");
  }

  private save(): void {
    const data = {
      version: 1,
      nextId: this.nextId,
      clock: this.clock,
      orgs: [...this.orgs.values()],
      repos: [...this.repos.values()],
      apps: [...this.apps],
      appGrants: [...this.appGrants],
      installations: [...this.identities].filter(([t]) => t.startsWith(INSTALLATION_TOKEN_PREFIX)),
    };
    const text = JSON.stringify(data, (_k, v: unknown) => (v instanceof Map ? { $map: [...v.entries()] } : v));
    fs.mkdirSync(this.stateDir!, { recursive: true });
    const tmp = `${this.stateFile()}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, text);
    fs.renameSync(tmp, this.stateFile());
  }

  private load(): void {
    if (!fs.existsSync(this.stateFile())) return;
    const data = JSON.parse(fs.readFileSync(this.stateFile(), "utf8"), (_k, v: unknown) =>
      v && typeof v === "object" && "$map" in v ? new Map((v as { $map: Array<[unknown, unknown]> }).$map) : v,
    ) as {
      version: number;
      nextId: number;
      clock: number;
      orgs: OrgState[];
      repos: RepoState[];
      apps: Array<[string, string]>;
      appGrants?: Array<[string, { permissions?: Record<string, Access> }]>;
      installations?: Array<[string, Identity]>;
    };
    if (data.version !== 1) throw new Error(`stand-in: ${this.stateFile()}: state version ${data.version} is not 1`);
    this.nextId = data.nextId;
    this.clock = data.clock;
    for (const o of data.orgs) this.orgs.set(o.login.toLowerCase(), o);
    for (const r of data.repos) {
      // A state written before the key pairs were real has a public key without its private half: a new pair.
      if (!r.publicKey.privateKey) r.publicKey = newKeyPair(r.fullName);
      this.repos.set(r.fullName.toLowerCase(), r);
    }
    for (const [id, key] of data.apps) this.apps.set(id, key);
    for (const [id, grant] of data.appGrants ?? []) this.appGrants.set(id, grant);
    for (const [token, who] of data.installations ?? []) if (!this.identities.has(token)) this.identities.set(token, who);
  }

  issueOf(fullName: string, number: number): IssueState {
    const issue = this.repo(fullName).issues.get(number);
    if (!issue) throw new Error(`stand-in: no issue #${number} in ${fullName}`);
    return issue;
  }

  addComment(repo: RepoState, issue: number, body: string, user: string): CommentState {
    const now = this.tick();
    const c: CommentState = { id: this.id(), issue, body, user, createdAt: now, updatedAt: now };
    repo.comments.push(c);
    repo.issues.get(issue)!.updatedAt = now;
    return c;
  }

  ensureLabel(repo: RepoState, name: string): LabelState {
    const existing = repo.labels.get(name.toLowerCase());
    if (existing) return existing;
    const label: LabelState = { id: this.id(), name, color: "ededed", description: null };
    repo.labels.set(name.toLowerCase(), label);
    return label;
  }

  /** Merge: a merge commit on base whose tree takes the head's changes since the merge base. */
  merge(repo: RepoState, pull: PullState, by: string): string | { sha: string } {
    const issue = repo.issues.get(pull.number)!;
    if (pull.merged) return "Pull Request is already merged";
    if (issue.state !== "open") return "Pull Request is not open";
    const baseSha = repo.refs.get(`refs/heads/${pull.base}`);
    const headSha = repo.refs.get(`refs/heads/${pull.head}`) ?? pull.headSha;
    if (!baseSha) return `base branch ${pull.base} does not exist`;
    const ancestors = new Set(this.ancestors(repo, baseSha));
    const mergeBase = this.ancestors(repo, headSha).find((s) => ancestors.has(s));
    const baseTree = repo.commits.get(baseSha)!.tree;
    const headTree = repo.commits.get(headSha)!.tree;
    const fromTree = mergeBase ? repo.commits.get(mergeBase)!.tree : new Map<string, string>();
    const tree = new Map(baseTree);
    for (const p of new Set([...headTree.keys(), ...fromTree.keys()])) {
      if (headTree.get(p) === fromTree.get(p)) continue;
      const v = headTree.get(p);
      if (v === undefined) tree.delete(p);
      else tree.set(p, v);
    }
    const sha = this.commit(repo, { parents: [baseSha, headSha], tree, message: `Merge pull request #${pull.number} from ${repo.owner}/${pull.head}` });
    repo.refs.set(`refs/heads/${pull.base}`, sha);
    const now = this.tick();
    pull.merged = true;
    pull.mergedAt = now;
    pull.mergeCommitSha = sha;
    pull.headSha = headSha;
    issue.state = "closed";
    issue.stateReason = null;
    issue.closedAt = now;
    issue.closedBy = by;
    issue.updatedAt = now;
    return { sha };
  }

  ancestors(repo: RepoState, sha: string): string[] {
    const out: string[] = [];
    const seen = new Set<string>();
    const queue = [sha];
    while (queue.length) {
      const s = queue.shift()!;
      if (seen.has(s)) continue;
      seen.add(s);
      out.push(s);
      queue.push(...(repo.commits.get(s)?.parents ?? []));
    }
    return out;
  }

  org(login: string): OrgState | undefined {
    return this.orgs.get(login.toLowerCase());
  }

  hasRepo(fullName: string): boolean {
    return this.repos.has(fullName.toLowerCase());
  }

  renameRepo(repo: RepoState, name: string): void {
    this.repos.delete(repo.fullName.toLowerCase());
    const renamed = Object.assign(repo, { name, fullName: `${repo.owner}/${name}` });
    this.repos.set(renamed.fullName.toLowerCase(), renamed);
  }

  deleteRepo(fullName: string): void {
    this.repos.delete(fullName.toLowerCase());
  }

  /** POST /orgs/{org}/repos and POST /user/repos: settings from the body; auto_init makes the first commit. */
  createRepo(o: Origins, owner: string, b: Obj, by?: Identity): Answer {
    const fullName = `${owner}/${String(b.name)}`;
    if (this.hasRepo(fullName)) {
      return {
        status: 422,
        body: {
          message: "Repository creation failed.",
          errors: [{ resource: "Repository", code: "custom", field: "name", message: "name already exists on this account" }],
          documentation_url: "https://docs.github.com/rest/repos/repos#create-an-organization-repository",
          status: "422",
        },
      };
    }
    const isPrivate = typeof b.visibility === "string" ? b.visibility !== "public" : b.private === true;
    const org = this.org(owner);
    // New repositories start on the organisation's default branch name and
    // get its default labels (GitHub's nine unless it set others).
    const repo = this.newRepo(fullName, { private: isPrivate, defaultBranch: org?.defaultBranch });
    applySettings(repo, b);
    const login = by ? loginOf(by) : this.botLogin;
    repo.createdBy = login;
    for (const l of org?.defaultLabels ?? GITHUB_DEFAULT_LABELS) this.addLabel(fullName, l.name, l.color, l.description).default = true;
    if (b.auto_init === true) this.addCommit(fullName, { files: { "README.md": `# ${repo.name}\n` }, message: "Initial commit", committer: WEB_UI, author: { name: login, email: noreplyEmail(login) } });
    return { status: 201, body: repoJson(o, repo, by ? this.roleIn(by, repo) : "admin", this.ownerType(repo)) };
  }

  /** An organisation's repositories are owned by an Organization, the rest by a User. */
  ownerType(repo: RepoState): "User" | "Organization" {
    return this.orgs.has(repo.owner.toLowerCase()) ? "Organization" : "User";
  }

  /** `owner/repo` from path params, or a 404 answer. */
  repoOf(params: Obj): RepoState | Answer {
    const r = this.repos.get(`${params.owner}/${params.repo}`.toLowerCase());
    return r ?? notFound();
  }
}

/** Writes whose `body` GitHub caps at 65,536 characters (its answer: 422, and nothing is written). */
const CAPPED_BODIES = new Set(["issues/create", "issues/update", "issues/create-comment", "issues/update-comment", "pulls/create", "pulls/update"]);

function bodyTooLong(operationId: string, body: unknown): Answer | undefined {
  const text = (body as { body?: unknown } | undefined)?.body;
  if (!CAPPED_BODIES.has(operationId) || typeof text !== "string" || [...text].length <= 65_536) return undefined;
  const resource = operationId.startsWith("pulls/") ? "PullRequest" : operationId.includes("comment") ? "IssueComment" : "Issue";
  return {
    status: 422,
    body: {
      message: "Validation Failed",
      errors: [{ resource, code: "custom", field: "body", message: "body is too long (maximum is 65536 characters)" }],
      documentation_url: "https://docs.github.com/rest",
      status: "422",
    },
  };
}

/** Starts a stand-in on 127.0.0.1 (free port). */
export function startGitHubStandIn(opts: StandInOptions = {}): Promise<GitHubStandIn> {
  return GitHubStandIn.start(opts);
}

// ---------------------------------------------------------------------------
// Handlers, by operationId.

interface Answer {
  readonly status: number;
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
}

interface Ctx {
  readonly params: Obj;
  readonly body: unknown;
  readonly url: string;
  /** The stand-in's base URL, for absolute Link headers. */
  readonly base: string;
  /** Who sent the request. */
  readonly actor: Identity;
  /** Where the answer names the API and web pages: github.com's, or on /api/v3 the stand-in's own as an Enterprise Server's. */
  readonly origins: Origins;
}

type Handler = (this: GitHubStandIn, ctx: Ctx) => Answer;

function notFound(message = "Not Found"): Answer {
  return { status: 404, body: { message, documentation_url: "https://docs.github.com/rest", status: "404" } };
}

function unprocessable(message: string): Answer {
  return { status: 422, body: { message, documentation_url: "https://docs.github.com/rest", status: "422" } };
}

/** GitHub's answer to a label name taken (names compare case-insensitively). */
function labelExists(): Answer {
  return {
    status: 422,
    body: {
      message: "Validation Failed",
      errors: [{ resource: "Label", code: "already_exists", field: "name" }],
      documentation_url: "https://docs.github.com/rest/issues/labels#create-a-label",
      status: "422",
    },
  };
}

function secretJson(s: SecretState): Obj {
  return { name: s.name, created_at: s.createdAt, updated_at: s.updatedAt };
}

/**
 * A ruleset as GitHub answers it. GitHub ignores the actor id of an
 * OrganizationAdmin bypass and answers null (the provider reads 0), as the
 * real service does: a program that sends 1 sees a diff on every refresh.
 */
function rulesetJson(o: Origins, repo: RepoState, id: number, b: Obj, createdAt: string, updatedAt: string): Obj {
  const actors = ((b.bypass_actors as Obj[] | undefined) ?? []).map((a) => ({
    actor_id: a.actor_type === "OrganizationAdmin" ? null : (a.actor_id ?? null),
    actor_type: a.actor_type,
    bypass_mode: a.bypass_mode ?? "always",
  }));
  return {
    id,
    name: b.name,
    target: b.target ?? "branch",
    source_type: "Repository",
    source: repo.fullName,
    enforcement: b.enforcement,
    bypass_actors: actors,
    current_user_can_bypass: "always",
    conditions: b.conditions ?? null,
    rules: b.rules ?? [],
    node_id: `RRS_${id}`,
    _links: { self: { href: `${o.api}/repos/${repo.fullName}/rulesets/${id}` }, html: { href: `${o.web}/${repo.fullName}/rules/${id}` } },
    created_at: createdAt,
    updated_at: updatedAt,
  };
}

const GIT_REFS_DOC = "https://docs.github.com/rest/git/refs";

function isAnswer(x: RepoState | Answer): x is Answer {
  return !("fullName" in x);
}

function iso(date: string): string {
  const d = new Date(date.replace(/^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}) ([+-]\d{2})(\d{2})$/, "$1T$2$3:$4"));
  if (Number.isNaN(d.getTime())) throw new Error(`stand-in: not a date: ${date}`);
  return d.toISOString().replace(/\.000Z$/, "Z");
}

/** Git's blob id, so `sha` in the contents API means what it means on GitHub. */
function blobSha(content: string): string {
  const buf = Buffer.from(content, "utf8");
  return createHash("sha1").update(`blob ${buf.length}\0`).update(buf).digest("hex");
}

function base64Lines(content: string): string {
  // GitHub wraps base64 content at 60 characters; clients must cope.
  return (Buffer.from(content, "utf8").toString("base64").match(/.{1,60}/g) ?? []).join("\n") + "\n";
}

/** Pagination like GitHub: per_page (default 30, max 100), page, and a Link header. */
function page<T>(items: readonly T[], { params, url, base }: Ctx): Answer & { body: T[] } {
  const perPage = Math.min(Math.max(Number(params.per_page ?? 30), 1), 100);
  const pageNo = Math.max(Number(params.page ?? 1), 1);
  const body = items.slice((pageNo - 1) * perPage, pageNo * perPage);
  const last = Math.max(Math.ceil(items.length / perPage), 1);
  const link = (n: number, rel: string) => {
    const u = new URL(url, "http://stand-in");
    u.searchParams.set("page", String(n));
    return `<${base}${u.pathname}${u.search}>; rel="${rel}"`;
  };
  const links: string[] = [];
  if (pageNo < last) links.push(link(pageNo + 1, "next"), link(last, "last"));
  if (pageNo > 1) links.push(link(1, "first"), link(pageNo - 1, "prev"));
  return { status: 200, body, headers: links.length ? { link: links.join(", ") } : {} };
}

/** Where a GitHub names its API, web pages and uploads in its answers. */
interface Origins {
  readonly api: string;
  readonly web: string;
  readonly uploads: string;
  /** The host of git's ssh and git:// URLs. */
  readonly host: string;
}

/** github.com's: what `/…` requests are answered with. */
const GITHUB_COM: Origins = { api: "https://api.github.com", web: "https://github.com", uploads: "https://uploads.github.com", host: "github.com" };

/** An Enterprise Server's at `base` (GHES's description: `{host}/api/v3`, `{host}/api/uploads`): what `/api/v3/…` requests are answered with. */
function serverOrigins(base: string): Origins {
  return { api: `${base}/api/v3`, web: base, uploads: `${base}/api/uploads`, host: new URL(base).hostname };
}

/** A user as GitHub shows one (`simple-user`); `[bot]` logins are Bots, organisations pass their type. */
function user(o: Origins, login: string, type?: "User" | "Bot" | "Organization"): Obj {
  const id = Math.abs(hashInt(login));
  const u = `${o.api}/users/${encodeURIComponent(login)}`;
  // An App's bot user links to the App (`github-actions[bot]` -> /apps/github-actions).
  const bot = /^(.+)\[bot\]$/.exec(login);
  return {
    login,
    id,
    node_id: `U_${id}`,
    avatar_url: `https://avatars.githubusercontent.com/u/${id}?v=4`,
    gravatar_id: "",
    url: u,
    html_url: bot ? `${o.web}/apps/${bot[1]}` : `${o.web}/${login}`,
    followers_url: `${u}/followers`,
    following_url: `${u}/following{/other_user}`,
    gists_url: `${u}/gists{/gist_id}`,
    starred_url: `${u}/starred{/owner}{/repo}`,
    subscriptions_url: `${u}/subscriptions`,
    organizations_url: `${u}/orgs`,
    repos_url: `${u}/repos`,
    events_url: `${u}/events{/privacy}`,
    received_events_url: `${u}/received_events`,
    type: type ?? (login.endsWith("[bot]") ? "Bot" : "User"),
    site_admin: false,
  };
}

/** GET /user: the caller's own profile (`private-user`). */
function privateUser(o: Origins, login: string): Obj {
  return {
    ...user(o, login),
    name: null,
    company: null,
    blog: "",
    location: null,
    email: null,
    hireable: null,
    bio: null,
    public_repos: 0,
    public_gists: 0,
    followers: 0,
    following: 0,
    created_at: "2020-01-01T00:00:00Z",
    updated_at: "2020-01-01T00:00:00Z",
    private_gists: 0,
    total_private_repos: 0,
    owned_private_repos: 0,
    disk_usage: 0,
    collaborators: 0,
    two_factor_authentication: true,
  };
}

/** GitHub's fine-grained permission names and their levels, from the description's `app-permissions` schema. */
export function permissionLevels(): Map<string, string[]> {
  const props = ((spec().doc.components as Obj).schemas as Record<string, Obj>)["app-permissions"].properties as Record<string, { enum?: string[] }>;
  const levels = new Map(Object.entries(props).map(([name, p]) => [name, (p.enum ?? []).filter((l) => l === "read" || l === "write")]));
  // Repository permissions for "Variables" ("Permissions required for GitHub Apps"), which the
  // description's app-permissions schema does not list.
  levels.set("actions_variables", ["read", "write"]);
  return levels;
}

/** Every permission at its highest access (read or write). */
function allRepositoryPermissions(): Record<string, Access> {
  return Object.fromEntries([...permissionLevels()].map(([name, levels]) => [name, levels.includes("write") ? "write" : "read"])) as Record<string, Access>;
}

/**
 * A repository's Actions key pair: a real X25519 key (libsodium's
 * crypto_box_keypair), so that a secret sealed to it can be opened, as
 * GitHub's "Encrypting secrets for the REST API" describes.
 */
function newKeyPair(fullName: string): RepoState["publicKey"] {
  const kp = sodium.crypto_box_keypair();
  return {
    keyId: String(hashInt(`${fullName}#key#${randomBytes(4).toString("hex")}`) >>> 0),
    key: Buffer.from(kp.publicKey).toString("base64"),
    privateKey: Buffer.from(kp.privateKey).toString("base64"),
  };
}

/** A libsodium sealed box opened with a key pair of newKeyPair: the plaintext, or undefined when it is not one sealed to that key. */
function openSealedBox(encrypted: unknown, key: RepoState["publicKey"]): string | undefined {
  if (typeof encrypted !== "string" || !key.privateKey) return undefined;
  try {
    return Buffer.from(sodium.crypto_box_seal_open(Buffer.from(encrypted, "base64"), Buffer.from(key.key, "base64"), Buffer.from(key.privateKey, "base64"))).toString("utf8");
  } catch {
    return undefined;
  }
}

/** The address GitHub gives a user who keeps theirs private. */
function noreplyEmail(login: string): string {
  return `${Math.abs(hashInt(login))}+${login}@users.noreply.github.com`;
}

function hashInt(s: string): number {
  return createHash("sha1").update(s).digest().readInt32BE(0);
}

function labelJson(o: Origins, repo: RepoState, l: LabelState): Obj {
  return {
    id: l.id,
    node_id: `LA_${l.id}`,
    url: `${o.api}/repos/${repo.fullName}/labels/${encodeURIComponent(l.name)}`,
    name: l.name,
    color: l.color,
    description: l.description,
    default: l.default ?? false,
  };
}

/** What GitHub's web UI commits carry (the provider ignores such committer data on refresh). */
const WEB_UI: GitIdentity = { name: "GitHub", email: "noreply@github.com" };

/** A new repository's settings on GitHub (repos/create-in-org's documented defaults). */
function defaultSettings(isPrivate: boolean): Obj {
  return {
    description: null,
    homepage: null,
    has_issues: true,
    has_projects: true,
    has_wiki: true,
    has_downloads: true,
    has_discussions: false,
    has_pages: false,
    is_template: false,
    allow_squash_merge: true,
    allow_merge_commit: true,
    allow_rebase_merge: true,
    allow_auto_merge: false,
    allow_update_branch: false,
    delete_branch_on_merge: false,
    use_squash_pr_title_as_default: false,
    squash_merge_commit_title: "COMMIT_OR_PR_TITLE",
    squash_merge_commit_message: "COMMIT_MESSAGES",
    merge_commit_title: "MERGE_MESSAGE",
    merge_commit_message: "PR_TITLE",
    allow_forking: !isPrivate,
    web_commit_signoff_required: false,
    security_and_analysis: {
      secret_scanning: { status: "disabled" },
      secret_scanning_push_protection: { status: "disabled" },
      dependabot_security_updates: { status: "disabled" },
    },
  };
}

/** Settings fields a create or an update may set (the rest of a body is handled by the handler or ignored). */
const SETTING_FIELDS = new Set(Object.keys(defaultSettings(true)).filter((k) => k !== "has_pages"));

function applySettings(repo: RepoState, b: Obj): void {
  for (const [k, v] of Object.entries(b)) {
    if (!SETTING_FIELDS.has(k) || v === undefined) continue;
    if (k === "security_and_analysis" && v && typeof v === "object") {
      const current = (repo.settings.security_and_analysis as Obj) ?? {};
      repo.settings.security_and_analysis = { ...current, ...(v as Obj) };
    } else {
      repo.settings[k] = v === "" && (k === "description" || k === "homepage") ? null : v;
    }
  }
  if (typeof b.visibility === "string") repo.private = b.visibility !== "public";
  else if (typeof b.private === "boolean") repo.private = b.private;
}

/** The API URLs every repository answer carries (GitHub's templates). */
function repoUrls(o: Origins, fullName: string): Obj {
  const u = `${o.api}/repos/${fullName}`;
  return {
    url: u,
    html_url: `${o.web}/${fullName}`,
    archive_url: `${u}/{archive_format}{/ref}`,
    assignees_url: `${u}/assignees{/user}`,
    blobs_url: `${u}/git/blobs{/sha}`,
    branches_url: `${u}/branches{/branch}`,
    collaborators_url: `${u}/collaborators{/collaborator}`,
    comments_url: `${u}/comments{/number}`,
    commits_url: `${u}/commits{/sha}`,
    compare_url: `${u}/compare/{base}...{head}`,
    contents_url: `${u}/contents/{+path}`,
    contributors_url: `${u}/contributors`,
    deployments_url: `${u}/deployments`,
    downloads_url: `${u}/downloads`,
    events_url: `${u}/events`,
    forks_url: `${u}/forks`,
    git_commits_url: `${u}/git/commits{/sha}`,
    git_refs_url: `${u}/git/refs{/sha}`,
    git_tags_url: `${u}/git/tags{/sha}`,
    hooks_url: `${u}/hooks`,
    issue_comment_url: `${u}/issues/comments{/number}`,
    issue_events_url: `${u}/issues/events{/number}`,
    issues_url: `${u}/issues{/number}`,
    keys_url: `${u}/keys{/key_id}`,
    labels_url: `${u}/labels{/name}`,
    languages_url: `${u}/languages`,
    merges_url: `${u}/merges`,
    milestones_url: `${u}/milestones{/number}`,
    notifications_url: `${u}/notifications{?since,all,participating}`,
    pulls_url: `${u}/pulls{/number}`,
    releases_url: `${u}/releases{/id}`,
    stargazers_url: `${u}/stargazers`,
    statuses_url: `${u}/statuses/{sha}`,
    subscribers_url: `${u}/subscribers`,
    subscription_url: `${u}/subscription`,
    tags_url: `${u}/tags`,
    teams_url: `${u}/teams`,
    trees_url: `${u}/git/trees{/sha}`,
    ssh_url: `git@${o.host}:${fullName}.git`,
    clone_url: `${o.web}/${fullName}.git`,
    git_url: `git://${o.host}/${fullName}.git`,
    svn_url: `${o.web}/${fullName}`,
  };
}

/** A repository as GET /repos/{owner}/{repo} answers it (`full-repository`); `permissions` are the caller's (its role). */
function repoJson(o: Origins, repo: RepoState, role: RepoRole | undefined = "admin", ownerType: "User" | "Organization" = "Organization"): Obj {
  const head = repo.refs.get(`refs/heads/${repo.defaultBranch}`);
  const first = [...repo.commits.values()].map((c) => c.date).sort()[0] ?? "2026-01-01T00:00:00Z";
  const openIssues = [...repo.issues.values()].filter((i) => i.state === "open").length;
  const has = (least: RepoRole) => roleAtLeast(role, least);
  return {
    ...repo.settings,
    ...repoUrls(o, repo.fullName),
    topics: repo.topics,
    language: null,
    template_repository: null,
    mirror_url: null,
    license: null,
    permissions: { admin: has("admin"), maintain: has("maintain"), push: has("write"), triage: has("triage"), pull: has("read") },
    id: repo.id,
    node_id: `R_${repo.id}`,
    name: repo.name,
    full_name: repo.fullName,
    owner: user(o, repo.owner, ownerType),
    private: repo.private,
    visibility: repo.private ? "private" : "public",
    archived: repo.archived,
    disabled: false,
    fork: false,
    default_branch: repo.defaultBranch,
    forks: 0,
    forks_count: 0,
    stargazers_count: 0,
    watchers: 0,
    watchers_count: 0,
    network_count: 0,
    subscribers_count: 0,
    size: 0,
    open_issues: openIssues,
    open_issues_count: openIssues,
    created_at: first,
    updated_at: head ? repo.commits.get(head)!.date : first,
    pushed_at: head ? repo.commits.get(head)!.date : first,
  };
}

/** An organisation as GET /orgs/{org} answers it (`organization-full`). */
function orgJson(o: Origins, org: OrgState): Obj {
  const u = `${o.api}/orgs/${org.login}`;
  return {
    login: org.login,
    id: org.id,
    node_id: `O_${org.id}`,
    url: u,
    repos_url: `${u}/repos`,
    events_url: `${u}/events`,
    hooks_url: `${u}/hooks`,
    issues_url: `${u}/issues`,
    members_url: `${u}/members{/member}`,
    public_members_url: `${u}/public_members{/member}`,
    avatar_url: `https://avatars.githubusercontent.com/u/${org.id}?v=4`,
    description: null,
    html_url: `${o.web}/${org.login}`,
    has_organization_projects: true,
    has_repository_projects: true,
    public_repos: 0,
    public_gists: 0,
    followers: 0,
    following: 0,
    type: "Organization",
    created_at: "2020-01-01T00:00:00Z",
    updated_at: "2020-01-01T00:00:00Z",
    archived_at: null,
  };
}

function issueJson(o: Origins, self: GitHubStandIn, repo: RepoState, i: IssueState): Obj {
  const pull = i.isPull ? repo.pulls.get(i.number) : undefined;
  const u = `${o.api}/repos/${repo.fullName}/issues/${i.number}`;
  return {
    id: i.id,
    node_id: `I_${i.id}`,
    number: i.number,
    title: i.title,
    body: i.body,
    state: i.state,
    state_reason: i.stateReason,
    locked: false,
    labels: i.labels.map((n) => labelJson(o, repo, self.ensureLabel(repo, n))),
    assignee: null,
    assignees: [],
    milestone: null,
    user: user(o, i.user),
    author_association: i.user === self.botLogin ? "NONE" : "OWNER",
    comments: repo.comments.filter((c) => c.issue === i.number).length,
    created_at: i.createdAt,
    updated_at: i.updatedAt,
    closed_at: i.closedAt,
    closed_by: i.closedBy ? user(o, i.closedBy) : null,
    html_url: `${o.web}/${repo.fullName}/${i.isPull ? "pull" : "issues"}/${i.number}`,
    url: u,
    repository_url: `${o.api}/repos/${repo.fullName}`,
    labels_url: `${u}/labels{/name}`,
    comments_url: `${u}/comments`,
    events_url: `${u}/events`,
    ...(pull
      ? {
          pull_request: {
            url: `${o.api}/repos/${repo.fullName}/pulls/${i.number}`,
            html_url: `${o.web}/${repo.fullName}/pull/${i.number}`,
            diff_url: `${o.web}/${repo.fullName}/pull/${i.number}.diff`,
            patch_url: `${o.web}/${repo.fullName}/pull/${i.number}.patch`,
            merged_at: pull.mergedAt,
          },
        }
      : {}),
  };
}

function commentJson(o: Origins, repo: RepoState, c: CommentState): Obj {
  return {
    id: c.id,
    node_id: `IC_${c.id}`,
    body: c.body,
    user: user(o, c.user),
    author_association: "NONE",
    created_at: c.createdAt,
    updated_at: c.updatedAt,
    html_url: `${o.web}/${repo.fullName}/issues/${c.issue}#issuecomment-${c.id}`,
    issue_url: `${o.api}/repos/${repo.fullName}/issues/${c.issue}`,
    url: `${o.api}/repos/${repo.fullName}/issues/comments/${c.id}`,
  };
}

/** A pull request (`pull-request`; lists answer the `pull-request-simple` subset of it). */
function pullJson(o: Origins, self: GitHubStandIn, repo: RepoState, p: PullState): Obj {
  const i = repo.issues.get(p.number)!;
  const headSha = repo.refs.get(`refs/heads/${p.head}`) ?? p.headSha;
  const baseSha = repo.refs.get(`refs/heads/${p.base}`);
  const ownerType = self.org(repo.owner) ? "Organization" : "User";
  const side = (ref: string, sha: string | undefined) => ({
    label: `${repo.owner}:${ref}`,
    ref,
    sha: sha ?? p.headSha,
    user: user(o, repo.owner, ownerType),
    repo: { ...repoJson(o, repo, "admin", ownerType), has_downloads: repo.settings.has_downloads ?? true },
  });
  const u = `${o.api}/repos/${repo.fullName}/pulls/${p.number}`;
  const html = `${o.web}/${repo.fullName}/pull/${p.number}`;
  const issueUrl = `${o.api}/repos/${repo.fullName}/issues/${p.number}`;
  // What the pull request changes: the files that differ between the merge base and the head.
  const base = baseSha ? new Set(self.ancestors(repo, baseSha)) : new Set<string>();
  const mergeBase = self.ancestors(repo, headSha).find((c) => base.has(c));
  const from = mergeBase ? repo.commits.get(mergeBase)!.tree : new Map<string, string>();
  const to = repo.commits.get(headSha)?.tree ?? new Map<string, string>();
  const changed = [...new Set([...from.keys(), ...to.keys()])].filter((f) => from.get(f) !== to.get(f));
  const commits = self.ancestors(repo, headSha).filter((c) => !base.has(c)).length;
  const lines = (t?: string) => (t === undefined ? 0 : t.split("\n").length);
  return {
    id: i.id,
    node_id: `PR_${i.id}`,
    number: p.number,
    state: i.state,
    locked: false,
    title: i.title,
    body: i.body,
    user: user(o, i.user),
    // The description types a pull request's label description as a string (not nullable).
    labels: i.labels.map((n) => {
      const l = labelJson(o, repo, self.ensureLabel(repo, n));
      return { ...l, description: l.description ?? "" };
    }),
    assignee: null,
    assignees: [],
    requested_reviewers: [],
    requested_teams: [],
    milestone: null,
    draft: p.draft,
    head: side(p.head, headSha),
    base: side(p.base, baseSha),
    merged: p.merged,
    merged_at: p.mergedAt,
    merged_by: p.merged ? user(o, i.closedBy ?? i.user) : null,
    merge_commit_sha: p.mergeCommitSha,
    mergeable: p.merged || i.state !== "open" ? null : true,
    mergeable_state: p.merged || i.state !== "open" ? "unknown" : "clean",
    maintainer_can_modify: false,
    author_association: i.user === self.botLogin ? "NONE" : "OWNER",
    auto_merge: null,
    comments: repo.comments.filter((c) => c.issue === p.number).length,
    review_comments: 0,
    commits,
    additions: changed.reduce((n, f) => n + lines(to.get(f)), 0),
    deletions: changed.reduce((n, f) => n + lines(from.get(f)), 0),
    changed_files: changed.length,
    created_at: i.createdAt,
    updated_at: i.updatedAt,
    closed_at: i.closedAt,
    html_url: html,
    url: u,
    issue_url: issueUrl,
    diff_url: `${html}.diff`,
    patch_url: `${html}.patch`,
    commits_url: `${u}/commits`,
    review_comments_url: `${u}/comments`,
    review_comment_url: `${o.api}/repos/${repo.fullName}/pulls/comments{/number}`,
    comments_url: `${issueUrl}/comments`,
    statuses_url: `${o.api}/repos/${repo.fullName}/statuses/${headSha}`,
    _links: {
      self: { href: u },
      html: { href: html },
      issue: { href: issueUrl },
      comments: { href: `${issueUrl}/comments` },
      review_comments: { href: `${u}/comments` },
      review_comment: { href: `${o.api}/repos/${repo.fullName}/pulls/comments{/number}` },
      commits: { href: `${u}/commits` },
      statuses: { href: `${o.api}/repos/${repo.fullName}/statuses/${headSha}` },
    },
  };
}

function refJson(o: Origins, repo: RepoState, ref: string, sha: string): Obj {
  return {
    ref,
    node_id: `REF_${hashInt(ref) >>> 0}`,
    url: `${o.api}/repos/${repo.fullName}/git/${ref}`,
    object: { sha, type: "commit", url: `${o.api}/repos/${repo.fullName}/git/commits/${sha}` },
  };
}

/** Author and committer of commits made without one (seeding). */
const STANDIN_IDENTITY: GitIdentity = { name: "stand-in", email: "stand-in@example.invalid" };

/** The git author and committer of a commit (the stand-in's own when none was given). */
function gitPeople(c: CommitState): { author: Obj; committer: Obj } {
  const who = { ...STANDIN_IDENTITY, date: c.date };
  return { author: c.author ? { ...c.author, date: c.date } : who, committer: c.committer ? { ...c.committer, date: c.date } : who };
}

const UNSIGNED = { verified: false, reason: "unsigned", signature: null, payload: null, verified_at: null };

/** A commit as the commits API answers it (`commit`). */
function commitJson(o: Origins, repo: RepoState, c: CommitState): Obj {
  const { author, committer } = gitPeople(c);
  const u = `${o.api}/repos/${repo.fullName}`;
  return {
    sha: c.sha,
    node_id: `C_${c.sha}`,
    commit: {
      message: c.message,
      author,
      committer,
      tree: { sha: c.sha, url: `${u}/git/trees/${c.sha}` },
      url: `${u}/git/commits/${c.sha}`,
      comment_count: 0,
      verification: UNSIGNED,
    },
    author: null,
    committer: null,
    parents: c.parents.map((p) => ({ sha: p, url: `${u}/commits/${p}`, html_url: `${o.web}/${repo.fullName}/commit/${p}` })),
    html_url: `${o.web}/${repo.fullName}/commit/${c.sha}`,
    url: `${u}/commits/${c.sha}`,
    comments_url: `${u}/commits/${c.sha}/comments`,
  };
}

/** The commit the contents API answers a write with (`file-commit`'s `commit`: a git commit). */
function gitCommitJson(o: Origins, repo: RepoState, c: CommitState): Obj {
  const { author, committer } = gitPeople(c);
  const u = `${o.api}/repos/${repo.fullName}`;
  return {
    sha: c.sha,
    node_id: `C_${c.sha}`,
    url: `${u}/git/commits/${c.sha}`,
    html_url: `${o.web}/${repo.fullName}/commit/${c.sha}`,
    author,
    committer,
    message: c.message,
    tree: { sha: c.sha, url: `${u}/git/trees/${c.sha}` },
    parents: c.parents.map((p) => ({ sha: p, url: `${u}/git/commits/${p}`, html_url: `${o.web}/${repo.fullName}/commit/${p}` })),
    verification: UNSIGNED,
  };
}

/** A branch as GET …/branches/{branch} answers it (`branch-with-protection`). */
function branchJson(o: Origins, repo: RepoState, name: string, c: CommitState): Obj {
  const u = `${o.api}/repos/${repo.fullName}/branches/${encodeURIComponent(name)}`;
  return {
    name,
    commit: commitJson(o, repo, c),
    _links: { self: u, html: `${o.web}/${repo.fullName}/tree/${name}` },
    protected: false,
    protection: { enabled: false, required_status_checks: { enforcement_level: "off", contexts: [], checks: [] } },
    protection_url: `${u}/protection`,
  };
}

function releaseJson(o: Origins, repo: RepoState, r: ReleaseState): Obj {
  const u = `${o.api}/repos/${repo.fullName}/releases/${r.id}`;
  return {
    id: r.id,
    node_id: `RE_${r.id}`,
    tag_name: r.tag,
    target_commitish: repo.defaultBranch,
    name: r.name,
    body: null,
    draft: r.draft,
    prerelease: r.prerelease,
    created_at: r.createdAt,
    published_at: r.publishedAt,
    author: user(o, repo.owner),
    assets: [],
    html_url: `${o.web}/${repo.fullName}/releases/tag/${encodeURIComponent(r.tag)}`,
    url: u,
    assets_url: `${u}/assets`,
    upload_url: `${o.uploads}/repos/${repo.fullName}/releases/${r.id}/assets{?name,label}`,
    tarball_url: `${o.api}/repos/${repo.fullName}/tarball/${encodeURIComponent(r.tag)}`,
    zipball_url: `${o.api}/repos/${repo.fullName}/zipball/${encodeURIComponent(r.tag)}`,
  };
}

/** A file as the contents API answers it (`content-file`). */
function contentJson(o: Origins, repo: RepoState, filePath: string, content: string, ref: string): Obj {
  const sha = blobSha(content);
  const url = `${o.api}/repos/${repo.fullName}/contents/${filePath}?ref=${encodeURIComponent(ref)}`;
  const git = `${o.api}/repos/${repo.fullName}/git/blobs/${sha}`;
  const html = `${o.web}/${repo.fullName}/blob/${ref}/${filePath}`;
  return {
    type: "file",
    encoding: "base64",
    size: Buffer.byteLength(content, "utf8"),
    name: filePath.split("/").pop(),
    path: filePath,
    content: base64Lines(content),
    sha,
    url,
    html_url: html,
    git_url: git,
    download_url: `https://raw.githubusercontent.com/${repo.fullName}/${ref}/${filePath}`,
    _links: { self: url, git, html },
  };
}

/** A directory entry of the contents API (`content-directory` items). */
function contentEntryJson(o: Origins, repo: RepoState, entryPath: string, type: "file" | "dir", sha: string, size: number, ref: string): Obj {
  const url = `${o.api}/repos/${repo.fullName}/contents/${entryPath}?ref=${encodeURIComponent(ref)}`;
  const git = type === "file" ? `${o.api}/repos/${repo.fullName}/git/blobs/${sha}` : `${o.api}/repos/${repo.fullName}/git/trees/${sha}`;
  const html = `${o.web}/${repo.fullName}/${type === "file" ? "blob" : "tree"}/${ref}/${entryPath}`;
  return {
    type,
    size,
    name: entryPath.split("/").pop(),
    path: entryPath,
    sha,
    url,
    git_url: git,
    html_url: html,
    download_url: type === "file" ? `https://raw.githubusercontent.com/${repo.fullName}/${ref}/${entryPath}` : null,
    _links: { self: url, git, html },
  };
}

/** Resolves a ref the way the commits and contents APIs do: sha, branch, tag, `heads/x`, `tags/x`. */
function resolveCommitish(repo: RepoState, ref: string): string | undefined {
  if (repo.commits.has(ref)) return ref;
  for (const candidate of [`refs/heads/${ref}`, `refs/tags/${ref}`, `refs/${ref}`]) {
    const sha = repo.refs.get(candidate);
    if (sha) return sha;
  }
  if (/^[0-9a-f]{7,39}$/.test(ref)) return [...repo.commits.keys()].find((s) => s.startsWith(ref));
  return undefined;
}

function labelNames(value: unknown): string[] {
  const list = Array.isArray(value) ? value : value && typeof value === "object" ? (value as Obj).labels : [];
  return (Array.isArray(list) ? list : []).map((l) => (typeof l === "string" ? l : String((l as Obj).name)));
}

function withRepo(f: (this: GitHubStandIn, repo: RepoState, ctx: Ctx) => Answer): Handler {
  return function (this: GitHubStandIn, ctx: Ctx): Answer {
    const repo = this.repoOf(ctx.params);
    if (isAnswer(repo)) return repo;
    return f.call(this, repo, ctx);
  };
}

function withIssue(f: (this: GitHubStandIn, repo: RepoState, issue: IssueState, ctx: Ctx) => Answer): Handler {
  return withRepo(function (repo, ctx) {
    const issue = repo.issues.get(Number(ctx.params.issue_number));
    if (!issue) return notFound();
    return f.call(this, repo, issue, ctx);
  });
}

function withEnvironment(f: (this: GitHubStandIn, repo: RepoState, env: EnvironmentState, ctx: Ctx) => Answer): Handler {
  return withRepo(function (repo, ctx) {
    const env = repo.environments?.get(String(ctx.params.environment_name).toLowerCase());
    if (!env) return notFound();
    return f.call(this, repo, env, ctx);
  });
}

// A collaborator as GitHub lists one: the `permissions` flags are those its role includes
// (docs: "Repository roles for an organization": each role includes those below it).
function collaboratorJson(o: Origins, c: { login: string; role_name: string }): Obj {
  const rank = ["read", "triage", "write", "maintain", "admin"].indexOf(c.role_name);
  return { ...user(o, c.login), role_name: c.role_name, permissions: { pull: rank >= 0, triage: rank >= 1, push: rank >= 2, maintain: rank >= 3, admin: rank >= 4 } };
}

function environmentJson(o: Origins, repo: RepoState, e: EnvironmentState): Obj {
  const rules = e.deploymentBranchPolicy ? [{ id: e.id + 1, node_id: `GA_${e.id}`, type: "branch_policy" }] : [];
  return {
    id: e.id,
    node_id: `EN_${e.id}`,
    name: e.name,
    url: `${o.api}/repos/${repo.fullName}/environments/${encodeURIComponent(e.name)}`,
    html_url: `${o.web}/${repo.fullName}/deployments/activity_log?environments_filter=${encodeURIComponent(e.name)}`,
    created_at: "2026-01-01T00:00:00Z",
    updated_at: "2026-01-01T00:00:00Z",
    can_admins_bypass: e.canAdminsBypass,
    protection_rules: rules,
    deployment_branch_policy: e.deploymentBranchPolicy,
  };
}

function withPull(f: (this: GitHubStandIn, repo: RepoState, pull: PullState, ctx: Ctx) => Answer): Handler {
  return withRepo(function (repo, ctx) {
    const pull = repo.pulls.get(Number(ctx.params.pull_number));
    if (!pull) return notFound();
    return f.call(this, repo, pull, ctx);
  });
}

function sortByDate<T>(items: T[], key: (t: T) => string, direction: unknown): T[] {
  const sorted = [...items].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
  return direction === "asc" ? sorted : sorted.reverse();
}

function applyIssuePatch(self: GitHubStandIn, repo: RepoState, issue: IssueState, b: Obj, by = self.botLogin): void {
  const now = self.tick();
  if (typeof b.title === "string" || typeof b.title === "number") issue.title = String(b.title);
  if (b.body !== undefined) issue.body = (b.body as string | null) ?? null;
  if (b.labels !== undefined) {
    issue.labels = labelNames(b.labels);
    issue.labels.forEach((n) => self.ensureLabel(repo, n));
  }
  if (b.state === "closed" && issue.state !== "closed") {
    issue.state = "closed";
    issue.stateReason = (b.state_reason as IssueState["stateReason"]) ?? "completed";
    issue.closedAt = now;
    issue.closedBy = by;
    self.issueEvent(issue, "closed", by, now);
  } else if (b.state === "open" && issue.state !== "open") {
    issue.state = "open";
    issue.stateReason = "reopened";
    issue.closedAt = null;
    issue.closedBy = null;
    self.issueEvent(issue, "reopened", by, now);
  }
  issue.updatedAt = now;
}

const HANDLERS: Record<string, Handler> = {
  "repos/get": withRepo(function (repo, { actor, origins }) {
    const { permissions, ...rest } = repoJson(origins, repo, this.roleIn(actor, repo), this.ownerType(repo));
    // Without credentials GitHub names no permissions of the caller.
    return { status: 200, body: actor.kind === "anonymous" ? rest : { ...rest, permissions } };
  }),

  // --- who and what else can reach a repository (infra/adopt.ts, before it adopts one)
  "repos/list-collaborators": withRepo(function (repo, ctx) {
    return page(access(repo).collaborators.map((c) => collaboratorJson(ctx.origins, c)), ctx);
  }),
  "repos/list-invitations": withRepo(function (repo, ctx) {
    return page(access(repo).invitations, ctx);
  }),
  "repos/list-teams": withRepo(function (repo, ctx) {
    return page(access(repo).teams, ctx);
  }),
  "repos/list-deploy-keys": withRepo(function (repo, ctx) {
    return page(access(repo).keys, ctx);
  }),
  "repos/list-webhooks": withRepo(function (repo, ctx) {
    return page(access(repo).hooks, ctx);
  }),
  "actions/list-repo-variables": withRepo(function (repo) {
    return { status: 200, body: { total_count: access(repo).variables.length, variables: access(repo).variables } };
  }),
  "actions/list-self-hosted-runners-for-repo": withRepo(function (repo) {
    return { status: 200, body: { total_count: access(repo).runners.length, runners: access(repo).runners } };
  }),
  "repos/get-all-environments": withRepo(function (repo, { origins }) {
    // Those a test planted (access) and those made through the API (repos/create-or-update-environment).
    const all = [...access(repo).environments, ...[...(repo.environments?.values() ?? [])].map((e) => environmentJson(origins, repo, e))];
    return { status: 200, body: { total_count: all.length, environments: all } };
  }),
  "git/get-tree": withRepo(function (repo, { params, origins }) {
    // A commit's sha doubles as its tree's here (commitJson); top-level entries, as without ?recursive.
    const c = repo.commits.get(String(params.tree_sha));
    if (!c) return notFound();
    const top = new Map<string, Obj>();
    for (const [p, content] of c.tree) {
      const [first, ...rest] = p.split("/");
      if (!top.has(first)) top.set(first, rest.length ? { path: first, mode: "040000", type: "tree", sha: c.sha } : { path: first, mode: "100644", type: "blob", sha: blobSha(content), size: Buffer.byteLength(content) });
    }
    return { status: 200, body: { sha: c.sha, url: `${origins.api}/repos/${repo.fullName}/git/trees/${c.sha}`, tree: [...top.values()], truncated: false } };
  }),

  // --- what the Pulumi GitHub provider manages (through /api/v3)
  "orgs/get": function (this: GitHubStandIn, { params, origins }) {
    const org = this.org(String(params.org));
    if (!org) return notFound();
    return { status: 200, body: orgJson(origins, org) };
  },
  "users/get-authenticated": function (this: GitHubStandIn, { actor, origins }) {
    return { status: 200, body: privateUser(origins, loginOf(actor)) };
  },
  "repos/create-in-org": function (this: GitHubStandIn, { params, body, actor, origins }) {
    const org = this.org(String(params.org));
    if (!org) return notFound();
    return this.createRepo(origins, org.login, body as Obj, actor);
  },
  "repos/create-for-authenticated-user": function (this: GitHubStandIn, { body, actor, origins }) {
    return this.createRepo(origins, loginOf(actor), body as Obj, actor);
  },
  "repos/update": withRepo(function (repo, { body, actor, origins }) {
    const b = (body as Obj) ?? {};
    if (typeof b.default_branch === "string" && b.default_branch !== repo.defaultBranch) {
      if (!repo.refs.has(`refs/heads/${b.default_branch}`)) return unprocessable(`Validation Failed: default_branch ${b.default_branch} does not exist`);
      repo.defaultBranch = b.default_branch;
    }
    applySettings(repo, b);
    if (typeof b.archived === "boolean") repo.archived = b.archived;
    if (typeof b.name === "string" && b.name !== repo.name) {
      const fullName = `${repo.owner}/${b.name}`;
      if (this.hasRepo(fullName)) return unprocessable("Validation Failed: name already exists on this account");
      this.renameRepo(repo, b.name);
    }
    return { status: 200, body: repoJson(origins, this.repo(`${repo.owner}/${(b.name as string) ?? repo.name}`), this.roleIn(actor, repo), this.ownerType(repo)) };
  }),
  "repos/delete": withRepo(function (repo) {
    this.deleteRepo(repo.fullName);
    return { status: 204 };
  }),
  "repos/get-all-topics": withRepo(function (repo) {
    return { status: 200, body: { names: repo.topics } };
  }),
  "repos/replace-all-topics": withRepo(function (repo, { body }) {
    const names = (body as { names: string[] }).names.map((n) => n.toLowerCase());
    const bad = names.find((n) => !/^[a-z0-9][a-z0-9-]{0,49}$/.test(n));
    if (bad !== undefined) return unprocessable(`Validation Failed: ${JSON.stringify(bad)} is not a valid topic`);
    repo.topics = [...new Set(names)];
    return { status: 200, body: { names: repo.topics } };
  }),
  "repos/check-vulnerability-alerts": withRepo(function (repo) {
    return repo.vulnerabilityAlerts ? { status: 204 } : notFound("Vulnerability alerts are disabled.");
  }),
  "repos/enable-vulnerability-alerts": withRepo(function (repo) {
    repo.vulnerabilityAlerts = true;
    return { status: 204 };
  }),
  "repos/disable-vulnerability-alerts": withRepo(function (repo) {
    repo.vulnerabilityAlerts = false;
    return { status: 204 };
  }),
  "repos/rename-branch": withRepo(function (repo, { params, body, origins }) {
    const from = String(params.branch);
    const to = String((body as { new_name: string }).new_name);
    const sha = repo.refs.get(`refs/heads/${from}`);
    if (!sha) return notFound("Branch not found");
    if (from === to) return { status: 201, body: branchJson(origins, repo, to, repo.commits.get(sha)!) };
    if (repo.refs.has(`refs/heads/${to}`) || repo.pendingRename) return unprocessable(`Validation Failed: branch ${to} already exists`);
    // "Although the API responds immediately, the branch rename process might
    // take some extra time to complete in the background" (REST description):
    // the organisation's renameDelayMs of the stand-in is that time.
    const delay = this.org(repo.owner)?.renameDelayMs ?? 0;
    if (delay > 0) repo.pendingRename = { from, to, due: Date.now() + delay };
    else this.applyRename(repo, from, to);
    return { status: 201, body: branchJson(origins, repo, to, repo.commits.get(sha)!) };
  }),
  "issues/update-label": withRepo(function (repo, { params, body, origins }) {
    const l = repo.labels.get(String(params.name).toLowerCase());
    if (!l) return notFound();
    const b = (body as Obj) ?? {};
    if (typeof b.new_name === "string" && b.new_name.toLowerCase() !== l.name.toLowerCase()) {
      if (repo.labels.has(b.new_name.toLowerCase())) return labelExists();
      repo.labels.delete(l.name.toLowerCase());
      l.name = b.new_name;
      repo.labels.set(l.name.toLowerCase(), l);
    } else if (typeof b.new_name === "string") {
      l.name = b.new_name;
    }
    if (typeof b.color === "string") l.color = b.color.replace(/^#/, "");
    if (b.description !== undefined) l.description = (b.description as string | null) ?? null;
    return { status: 200, body: labelJson(origins, repo, l) };
  }),
  "issues/delete-label": withRepo(function (repo, { params }) {
    const key = String(params.name).toLowerCase();
    if (!repo.labels.delete(key)) return notFound();
    for (const issue of repo.issues.values()) issue.labels = issue.labels.filter((n) => n.toLowerCase() !== key);
    return { status: 204 };
  }),
  "repos/delete-file": withRepo(function (repo, { params, body, actor, origins }) {
    const b = body as { message: string; sha: string; branch?: string; committer?: GitIdentity; author?: GitIdentity };
    const branch = b.branch ?? repo.defaultBranch;
    const head = repo.refs.get(`refs/heads/${branch}`);
    if (!head) return notFound(`Branch ${branch} not found`);
    const filePath = String(params.path);
    const tree = new Map(repo.commits.get(head)!.tree);
    const existing = tree.get(filePath);
    if (existing === undefined) return notFound();
    if (b.sha !== blobSha(existing)) return { status: 409, body: { message: `${filePath} does not match ${b.sha}` } };
    const refused =
      this.renaming(repo, branch) ??
      this.refRules(repo, actor, { ref: `refs/heads/${branch}`, kind: "update", fastForward: true }, 409, "https://docs.github.com/rest/repos/contents#delete-a-file");
    if (refused) return refused;
    tree.delete(filePath);
    const committer = b.committer ? { name: b.committer.name, email: b.committer.email } : undefined;
    const sha = this.commit(repo, { parents: [head], tree, message: b.message, author: b.author ? { name: b.author.name, email: b.author.email } : committer, committer });
    repo.refs.set(`refs/heads/${branch}`, sha);
    return { status: 200, body: { content: null, commit: gitCommitJson(origins, repo, repo.commits.get(sha)!) } };
  }),

  // --- rulesets
  "repos/get-repo-rulesets": withRepo(function (repo, ctx) {
    const answer = page([...repo.rulesets.values()], ctx);
    return { ...answer, body: answer.body.map((r) => ({ id: r.id, name: r.name, target: r.target, source_type: r.source_type, source: r.source, enforcement: r.enforcement, node_id: r.node_id, _links: r._links, created_at: r.created_at, updated_at: r.updated_at })) };
  }),
  "repos/get-repo-ruleset": withRepo(function (repo, { params, actor }) {
    const r = repo.rulesets.get(Number(params.ruleset_id));
    return r ? { status: 200, body: { ...r, current_user_can_bypass: this.canBypass(actor, repo, r) } } : notFound();
  }),
  "repos/create-repo-ruleset": withRepo(function (repo, { body, actor, origins }) {
    const b = body as Obj;
    if ([...repo.rulesets.values()].some((r) => r.name === b.name)) return unprocessable("Validation Failed: Name must be unique");
    const id = this.id();
    const now = this.tick();
    const r = rulesetJson(origins, repo, id, b, now, now);
    repo.rulesets.set(id, r);
    return { status: 201, body: { ...r, current_user_can_bypass: this.canBypass(actor, repo, r) } };
  }),
  "repos/update-repo-ruleset": withRepo(function (repo, { params, body, actor, origins }) {
    const current = repo.rulesets.get(Number(params.ruleset_id));
    if (!current) return notFound();
    const r = rulesetJson(origins, repo, current.id as number, { ...current, ...(body as Obj) }, current.created_at as string, this.tick());
    repo.rulesets.set(r.id as number, r);
    return { status: 200, body: { ...r, current_user_can_bypass: this.canBypass(actor, repo, r) } };
  }),
  "repos/delete-repo-ruleset": withRepo(function (repo, { params }) {
    return repo.rulesets.delete(Number(params.ruleset_id)) ? { status: 204 } : notFound();
  }),

  // --- Actions settings and secrets
  "actions/get-github-actions-permissions-repository": withRepo(function (repo, { origins }) {
    const p = repo.actions.permissions;
    return {
      status: 200,
      body: { ...p, ...(p.enabled && p.allowed_actions === "selected" ? { selected_actions_url: `${origins.api}/repos/${repo.fullName}/actions/permissions/selected-actions` } : {}) },
    };
  }),
  "actions/set-github-actions-permissions-repository": withRepo(function (repo, { body }) {
    const b = body as Obj;
    repo.actions.permissions = { ...repo.actions.permissions, ...b };
    if (!b.enabled) delete repo.actions.permissions.allowed_actions;
    else repo.actions.permissions.allowed_actions ??= "all";
    return { status: 204 };
  }),
  "actions/get-allowed-actions-repository": withRepo(function (repo) {
    if (repo.actions.permissions.allowed_actions !== "selected") return { status: 409, body: { message: "Selected actions are not enabled for this repository." } };
    return { status: 200, body: repo.actions.selectedActions };
  }),
  "actions/set-allowed-actions-repository": withRepo(function (repo, { body }) {
    if (repo.actions.permissions.allowed_actions !== "selected") return { status: 409, body: { message: "Selected actions are not enabled for this repository." } };
    repo.actions.selectedActions = { ...repo.actions.selectedActions, ...(body as Obj) };
    return { status: 204 };
  }),
  // Who may use this repository's actions and reusable workflows. GitHub's
  // REST description: "This endpoint only applies to private repositories"
  // (public ones are open to all); `user` sharing is for user-owned
  // repositories and `organization` for an organisation's (docs: "Sharing
  // actions and workflows from your private repository" / "with your organization").
  "actions/get-workflow-access-to-repository": withRepo(function (repo) {
    if (!repo.private) return unprocessable("Validation Failed: the access level applies to private repositories only");
    return { status: 200, body: repo.actions.access ?? { access_level: "none" } };
  }),
  "actions/set-workflow-access-to-repository": withRepo(function (repo, { body }) {
    const level = String((body as Obj).access_level);
    if (!repo.private) return unprocessable("Validation Failed: the access level applies to private repositories only");
    const org = this.org(repo.owner);
    if ((level === "organization" || level === "enterprise") && !org) return unprocessable(`Validation Failed: access_level ${level} needs a repository owned by an organization`);
    if (level === "user" && org) return unprocessable("Validation Failed: access_level user is for repositories owned by a user");
    repo.actions.access = { access_level: level };
    return { status: 204 };
  }),
  "actions/get-github-actions-default-workflow-permissions-repository": withRepo(function (repo) {
    return { status: 200, body: repo.actions.workflow };
  }),
  "actions/set-github-actions-default-workflow-permissions-repository": withRepo(function (repo, { body }) {
    const b = body as Obj;
    const org = this.org(repo.owner);
    if (org && b.can_approve_pull_request_reviews === true && !org.workflow.can_approve_pull_request_reviews) {
      return {
        status: 409,
        body: {
          message: `${org.login} does not allow GitHub Actions to create or approve pull requests (organization Settings > Actions > General > Workflow permissions)`,
          documentation_url: "https://docs.github.com/rest/actions/permissions#set-default-workflow-permissions-for-a-repository",
          status: "409",
        },
      };
    }
    repo.actions.workflow = { ...repo.actions.workflow, ...b };
    return { status: 204 };
  }),
  "actions/get-github-actions-default-workflow-permissions-organization": function (this: GitHubStandIn, { params }) {
    const org = this.org(String(params.org));
    return org ? { status: 200, body: org.workflow } : notFound();
  },
  "actions/set-github-actions-default-workflow-permissions-organization": function (this: GitHubStandIn, { params, body }) {
    const org = this.org(String(params.org));
    if (!org) return notFound();
    Object.assign(org.workflow, body as Obj);
    return { status: 204 };
  },
  "actions/get-repo-public-key": withRepo(function (repo) {
    return { status: 200, body: { key_id: repo.publicKey.keyId, key: repo.publicKey.key } };
  }),
  "actions/list-repo-secrets": withRepo(function (repo, ctx) {
    const answer = page([...repo.secrets.values()], ctx);
    return { ...answer, body: { total_count: repo.secrets.size, secrets: answer.body.map(secretJson) } };
  }),
  "actions/get-repo-secret": withRepo(function (repo, { params }) {
    const secret = repo.secrets.get(String(params.secret_name).toUpperCase());
    return secret ? { status: 200, body: secretJson(secret) } : notFound();
  }),
  "actions/create-or-update-repo-secret": withRepo(function (repo, { params, body }) {
    const b = body as { encrypted_value?: string; key_id?: string };
    const name = String(params.secret_name).toUpperCase();
    if (!/^[A-Z_][A-Z0-9_]*$/.test(name) || name.startsWith("GITHUB_")) return unprocessable(`Validation Failed: ${name} is not a valid secret name`);
    if (b.key_id !== repo.publicKey.keyId) return unprocessable("Bad request: key_id does not match the repository's public key");
    // "Encrypting secrets for the REST API": a libsodium sealed box to the
    // repository's public key. GitHub opens it; a box sealed to another key,
    // or not a box at all, cannot be a secret.
    const value = openSealedBox(b.encrypted_value, repo.publicKey);
    if (value === undefined) return unprocessable("Bad request: encrypted_value could not be opened with the repository's public key (a libsodium sealed box to the key of GET .../actions/secrets/public-key)");
    const existing = repo.secrets.get(name);
    const now = this.tick();
    if (existing) {
      existing.encryptedValue = String(b.encrypted_value);
      existing.keyId = b.key_id;
      existing.value = value;
      existing.updatedAt = now;
      return { status: 204 };
    }
    repo.secrets.set(name, { name, createdAt: now, updatedAt: now, encryptedValue: String(b.encrypted_value), keyId: b.key_id, value });
    return { status: 201, body: {} };
  }),
  "actions/delete-repo-secret": withRepo(function (repo, { params }) {
    return repo.secrets.delete(String(params.secret_name).toUpperCase()) ? { status: 204 } : notFound();
  }),

  // --- deployment environments, their branch policies and secrets (what the provider's
  // RepositoryEnvironment, RepositoryEnvironmentDeploymentPolicy and ActionsEnvironmentSecret send)
  "repos/create-or-update-environment": withRepo(function (repo, { params, body, origins }) {
    const b = (body ?? {}) as { can_admins_bypass?: boolean; deployment_branch_policy?: { protected_branches: boolean; custom_branch_policies: boolean } | null };
    const name = String(params.environment_name);
    const p = b.deployment_branch_policy;
    // Docs: exactly one of protected_branches and custom_branch_policies may be true.
    if (p && p.protected_branches === p.custom_branch_policies && p.protected_branches) return unprocessable("Validation Failed: only one of protected_branches and custom_branch_policies can be true");
    repo.environments ??= new Map();
    const key = name.toLowerCase();
    const env = repo.environments.get(key) ?? {
      id: this.id(),
      name,
      canAdminsBypass: true,
      deploymentBranchPolicy: null,
      branchPolicies: new Map(),
      secrets: new Map(),
      publicKey: newKeyPair(`${repo.fullName}#${key}`),
    };
    if (b.can_admins_bypass !== undefined) env.canAdminsBypass = b.can_admins_bypass;
    if (b.deployment_branch_policy !== undefined) env.deploymentBranchPolicy = b.deployment_branch_policy && (p!.protected_branches || p!.custom_branch_policies) ? { ...b.deployment_branch_policy } : null;
    repo.environments.set(key, env);
    return { status: 200, body: environmentJson(origins, repo, env) };
  }),
  "repos/get-environment": withEnvironment(function (repo, env, { origins }) {
    return { status: 200, body: environmentJson(origins, repo, env) };
  }),
  "repos/delete-an-environment": withEnvironment(function (repo, env) {
    repo.environments!.delete(env.name.toLowerCase());
    return { status: 204 };
  }),
  "repos/list-deployment-branch-policies": withEnvironment(function (_repo, env, ctx) {
    const answer = page([...env.branchPolicies.values()], ctx);
    return { ...answer, body: { total_count: env.branchPolicies.size, branch_policies: answer.body.map((x) => ({ ...x, node_id: `DBP_${x.id}` })) } };
  }),
  "repos/create-deployment-branch-policy": withEnvironment(function (_repo, env, { body }) {
    // Docs: policies apply only with custom_branch_policies on; GitHub answers 404 otherwise.
    if (!env.deploymentBranchPolicy?.custom_branch_policies) return notFound();
    const b = body as { name: string; type?: "branch" | "tag" };
    const type = b.type ?? "branch";
    if ([...env.branchPolicies.values()].some((x) => x.name === b.name && x.type === type)) return { status: 303, body: {} };
    const policy = { id: this.id(), name: b.name, type };
    env.branchPolicies.set(policy.id, policy);
    return { status: 200, body: { ...policy, node_id: `DBP_${policy.id}` } };
  }),
  "repos/get-deployment-branch-policy": withEnvironment(function (_repo, env, { params }) {
    const x = env.branchPolicies.get(Number(params.branch_policy_id));
    return x ? { status: 200, body: { ...x, node_id: `DBP_${x.id}` } } : notFound();
  }),
  "repos/update-deployment-branch-policy": withEnvironment(function (_repo, env, { params, body }) {
    const x = env.branchPolicies.get(Number(params.branch_policy_id));
    if (!x) return notFound();
    x.name = String((body as { name: string }).name);
    return { status: 200, body: { ...x, node_id: `DBP_${x.id}` } };
  }),
  "repos/delete-deployment-branch-policy": withEnvironment(function (_repo, env, { params }) {
    return env.branchPolicies.delete(Number(params.branch_policy_id)) ? { status: 204 } : notFound();
  }),
  "actions/get-environment-public-key": withEnvironment(function (_repo, env) {
    return { status: 200, body: { key_id: env.publicKey.keyId, key: env.publicKey.key } };
  }),
  "actions/get-environment-secret": withEnvironment(function (_repo, env, { params }) {
    const secret = env.secrets.get(String(params.secret_name).toUpperCase());
    return secret ? { status: 200, body: secretJson(secret) } : notFound();
  }),
  "actions/create-or-update-environment-secret": withEnvironment(function (_repo, env, { params, body }) {
    const b = body as { encrypted_value?: string; key_id?: string };
    const name = String(params.secret_name).toUpperCase();
    if (!/^[A-Z_][A-Z0-9_]*$/.test(name) || name.startsWith("GITHUB_")) return unprocessable(`Validation Failed: ${name} is not a valid secret name`);
    if (b.key_id !== env.publicKey.keyId) return unprocessable("Bad request: key_id does not match the environment's public key");
    const value = openSealedBox(b.encrypted_value, env.publicKey);
    if (value === undefined) return unprocessable("Bad request: encrypted_value could not be opened with the environment's public key (a libsodium sealed box to the key of GET .../secrets/public-key)");
    const now = this.tick();
    const existing = env.secrets.get(name);
    if (existing) {
      Object.assign(existing, { encryptedValue: b.encrypted_value, keyId: b.key_id, updatedAt: now, value });
      return { status: 204 };
    }
    env.secrets.set(name, { name, createdAt: now, updatedAt: now, encryptedValue: String(b.encrypted_value), keyId: b.key_id, value });
    return { status: 201, body: {} };
  }),
  "actions/delete-environment-secret": withEnvironment(function (_repo, env, { params }) {
    return env.secrets.delete(String(params.secret_name).toUpperCase()) ? { status: 204 } : notFound();
  }),

  // --- issues, labels, comments
  "issues/list-for-repo": withRepo(function (repo, ctx) {
    const { params } = ctx;
    const state = (params.state as string) ?? "open";
    const wanted = typeof params.labels === "string" && params.labels ? params.labels.split(",").map((l) => l.trim().toLowerCase()) : [];
    let items = [...repo.issues.values()].filter(
      (i) =>
        (state === "all" || i.state === state) &&
        wanted.every((w) => i.labels.some((l) => l.toLowerCase() === w)) &&
        (params.creator === undefined || i.user === params.creator),
    );
    const key = params.sort === "updated" ? (i: IssueState) => i.updatedAt : (i: IssueState) => `${i.createdAt}#${String(i.number).padStart(9, "0")}`;
    items = sortByDate(items, key, params.direction ?? "desc");
    const answer = page(items, ctx);
    return { ...answer, body: answer.body.map((i) => issueJson(ctx.origins, this, repo, i)) };
  }),
  "issues/create": withRepo(function (repo, { body, actor, origins }) {
    const b = body as Obj;
    const number = repo.issues.size + 1;
    const now = this.tick();
    const labels = labelNames(b.labels);
    labels.forEach((n) => this.ensureLabel(repo, n));
    const issue: IssueState = {
      number,
      id: this.id(),
      title: String(b.title),
      body: (b.body as string | undefined) ?? null,
      state: "open",
      stateReason: null,
      labels,
      user: loginOf(actor),
      createdAt: now,
      updatedAt: now,
      closedAt: null,
      closedBy: null,
      isPull: false,
    };
    repo.issues.set(number, issue);
    return { status: 201, body: issueJson(origins, this, repo, issue) };
  }),
  "issues/get": withIssue(function (repo, issue, { origins }) {
    return { status: 200, body: issueJson(origins, this, repo, issue) };
  }),
  "issues/update": withIssue(function (repo, issue, { body, actor, origins }) {
    applyIssuePatch(this, repo, issue, (body as Obj) ?? {}, loginOf(actor));
    return { status: 200, body: issueJson(origins, this, repo, issue) };
  }),
  // The timeline (docs: "List timeline events for an issue"): comments as `commented`
  // items and close/reopen events as state-change events, oldest first.
  "issues/list-events-for-timeline": withIssue(function (repo, issue, ctx) {
    const items: Array<{ at: string; id: number; json: Obj }> = [
      ...repo.comments.filter((c) => c.issue === issue.number).map((c) => ({ at: c.createdAt, id: c.id, json: { event: "commented", actor: user(ctx.origins, c.user), ...commentJson(ctx.origins, repo, c), author_association: "NONE" } })),
      ...(issue.events ?? []).map((e) => ({
        at: e.at,
        id: e.id,
        json: { id: e.id, node_id: `CE_${e.id}`, url: `${ctx.origins.api}/repos/${repo.fullName}/issues/events/${e.id}`, actor: user(ctx.origins, e.actor), event: e.event, commit_id: null, commit_url: null, created_at: e.at, performed_via_github_app: null, state_reason: e.stateReason },
      })),
    ].sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : a.id - b.id));
    const answer = page(items, ctx);
    return { ...answer, body: answer.body.map((x) => x.json) };
  }),
  // The collaborators' roles (setRole, access.collaborators); someone without one: 404.
  "repos/get-collaborator-permission-level": withRepo(function (repo, { params, origins }) {
    const login = String(params.username);
    const c = access(repo).collaborators.find((x) => x.login.toLowerCase() === login.toLowerCase());
    if (!c) return notFound();
    // The legacy base role: maintain counts as write, triage as read (the endpoint's description).
    const legacy = c.permission ?? ({ admin: "admin", maintain: "write", write: "write", triage: "read", read: "read" } as Record<string, string>)[c.role_name] ?? "read";
    return { status: 200, body: { permission: legacy, role_name: c.role_name, user: collaboratorJson(origins, c) } };
  }),
  "issues/list-comments": withIssue(function (repo, issue, ctx) {
    const items = repo.comments.filter((c) => c.issue === issue.number);
    const answer = page(items, ctx);
    return { ...answer, body: answer.body.map((c) => commentJson(ctx.origins, repo, c)) };
  }),
  "issues/create-comment": withIssue(function (repo, issue, { body, actor, origins }) {
    const c = this.addComment(repo, issue.number, String((body as Obj).body), loginOf(actor));
    return { status: 201, body: commentJson(origins, repo, c) };
  }),
  "issues/update-comment": withRepo(function (repo, { params, body, origins }) {
    const c = repo.comments.find((x) => x.id === Number(params.comment_id));
    if (!c) return notFound();
    c.body = String((body as Obj).body);
    c.updatedAt = this.tick();
    return { status: 200, body: commentJson(origins, repo, c) };
  }),
  "issues/add-labels": withIssue(function (repo, issue, { body, origins }) {
    for (const n of labelNames(body)) {
      this.ensureLabel(repo, n);
      if (!issue.labels.some((l) => l.toLowerCase() === n.toLowerCase())) issue.labels.push(n);
    }
    issue.updatedAt = this.tick();
    return { status: 200, body: issue.labels.map((n) => labelJson(origins, repo, this.ensureLabel(repo, n))) };
  }),
  "issues/remove-label": withIssue(function (repo, issue, { params, origins }) {
    const name = String(params.name).toLowerCase();
    if (!issue.labels.some((l) => l.toLowerCase() === name)) return notFound("Label does not exist");
    issue.labels = issue.labels.filter((l) => l.toLowerCase() !== name);
    return { status: 200, body: issue.labels.map((n) => labelJson(origins, repo, this.ensureLabel(repo, n))) };
  }),
  "issues/list-labels-for-repo": withRepo(function (repo, ctx) {
    const answer = page([...repo.labels.values()], ctx);
    return { ...answer, body: answer.body.map((l) => labelJson(ctx.origins, repo, l)) };
  }),
  "issues/get-label": withRepo(function (repo, { params, origins }) {
    const l = repo.labels.get(String(params.name).toLowerCase());
    return l ? { status: 200, body: labelJson(origins, repo, l) } : notFound();
  }),
  "issues/create-label": withRepo(function (repo, { body, origins }) {
    const b = body as Obj;
    if (repo.labels.has(String(b.name).toLowerCase())) return labelExists();
    const l = this.addLabel(repo.fullName, String(b.name), (b.color as string) ?? "ededed", (b.description as string) ?? null);
    return { status: 201, body: labelJson(origins, repo, l) };
  }),

  // --- git refs, branches, commits, contents
  "git/get-ref": withRepo(function (repo, { params, origins }) {
    const ref = `refs/${params.ref}`;
    const sha = repo.refs.get(ref);
    return sha ? { status: 200, body: refJson(origins, repo, ref, sha) } : notFound();
  }),
  "git/list-matching-refs": withRepo(function (repo, { params, origins }) {
    const prefix = `refs/${params.ref}`;
    const items = [...repo.refs.entries()].filter(([r]) => r.startsWith(prefix)).sort(([a], [b]) => (a < b ? -1 : 1));
    return { status: 200, body: items.map(([r, s]) => refJson(origins, repo, r, s)) };
  }),
  "git/create-ref": withRepo(function (repo, { body, actor, origins }) {
    const { ref, sha } = body as { ref: string; sha: string };
    if (!/^refs\/[^/]+\/.+/.test(ref)) return unprocessable("Reference name must start with 'refs/' and have at least two slashes.");
    if (!/^(?!\/)(?!.*(?:\.\.|\/\/|@\{|\\|[\s~^:?*[]))(?!.*\/$)(?!.*\.lock$).+$/.test(ref)) return unprocessable(`${ref} is not a valid ref name.`);
    if (repo.refs.has(ref)) return unprocessable("Reference already exists");
    if (!repo.commits.has(sha)) return unprocessable("Object does not exist");
    const refused = this.refRules(repo, actor, { ref, kind: "create" }, 422, GIT_REFS_DOC);
    if (refused) return refused;
    repo.refs.set(ref, sha);
    return { status: 201, body: refJson(origins, repo, ref, sha) };
  }),
  "git/update-ref": withRepo(function (repo, { params, body, actor, origins }) {
    const ref = `refs/${params.ref}`;
    const current = repo.refs.get(ref);
    const { sha, force } = body as { sha: string; force?: boolean };
    if (!current) return unprocessable("Reference does not exist");
    if (!repo.commits.has(sha)) return unprocessable("Object does not exist");
    const fastForward = this.ancestors(repo, sha).includes(current);
    if (!force && !fastForward) return unprocessable("Update is not a fast forward");
    const added = this.ancestors(repo, sha).filter((c) => !this.ancestors(repo, current).includes(c));
    const refused =
      (ref.startsWith("refs/heads/") ? this.renaming(repo, ref.slice("refs/heads/".length)) : undefined) ??
      this.refRules(repo, actor, { ref, kind: "update", fastForward, mergeCommit: added.some((c) => repo.commits.get(c)!.parents.length > 1) }, 422, GIT_REFS_DOC);
    if (refused) return refused;
    repo.refs.set(ref, sha);
    return { status: 200, body: refJson(origins, repo, ref, sha) };
  }),
  "git/delete-ref": withRepo(function (repo, { params, actor }) {
    const ref = `refs/${params.ref}`;
    if (!repo.refs.has(ref)) return unprocessable("Reference does not exist");
    const refused = this.refRules(repo, actor, { ref, kind: "delete" }, 422, GIT_REFS_DOC);
    if (refused) return refused;
    repo.refs.delete(ref);
    return { status: 204 };
  }),
  "repos/list-branches": withRepo(function (repo, ctx) {
    const items = [...repo.refs.entries()].filter(([r]) => r.startsWith("refs/heads/")).sort(([a], [b]) => (a < b ? -1 : 1));
    const answer = page(items, ctx);
    return {
      ...answer,
      body: answer.body.map(([r, sha]) => ({ name: r.slice("refs/heads/".length), commit: { sha, url: `${ctx.origins.api}/repos/${repo.fullName}/commits/${sha}` }, protected: false })),
    };
  }),
  "repos/get-branch": withRepo(function (repo, { params, origins }) {
    const sha = repo.refs.get(`refs/heads/${params.branch}`);
    if (!sha) return notFound("Branch not found");
    return { status: 200, body: branchJson(origins, repo, String(params.branch), repo.commits.get(sha)!) };
  }),
  "repos/list-commits": withRepo(function (repo, ctx) {
    const { params } = ctx;
    const start = resolveCommitish(repo, (params.sha as string) ?? repo.defaultBranch);
    if (!start) return notFound("No commit found for SHA");
    let items = this.ancestors(repo, start).map((s) => repo.commits.get(s)!);
    if (typeof params.path === "string") items = items.filter((c) => c.tree.has(params.path as string));
    if (typeof params.since === "string") items = items.filter((c) => c.date >= iso(params.since as string));
    if (typeof params.until === "string") items = items.filter((c) => c.date <= iso(params.until as string));
    items = sortByDate(items, (c) => c.date, "desc");
    const answer = page(items, ctx);
    return { ...answer, body: answer.body.map((c) => commitJson(ctx.origins, repo, c)) };
  }),
  "repos/get-commit": withRepo(function (repo, { params, origins }) {
    const sha = resolveCommitish(repo, String(params.ref));
    if (!sha) return unprocessable(`No commit found for SHA: ${params.ref}`);
    return { status: 200, body: commitJson(origins, repo, repo.commits.get(sha)!) };
  }),
  "repos/get-content": withRepo(function (repo, { params, origins }) {
    const ref = (params.ref as string) ?? repo.defaultBranch;
    const sha = resolveCommitish(repo, ref);
    if (!sha) return notFound(`No commit found for the ref ${ref}`);
    const filePath = String(params.path).replace(/^\/+|\/+$/g, "");
    const tree = repo.commits.get(sha)!.tree;
    const content = tree.get(filePath);
    if (content !== undefined) return { status: 200, body: contentJson(origins, repo, filePath, content, ref) };
    const prefix = filePath ? `${filePath}/` : "";
    const entries = new Map<string, "file" | "dir">();
    for (const p of tree.keys()) {
      if (!p.startsWith(prefix)) continue;
      const rest = p.slice(prefix.length).split("/");
      entries.set(rest[0], rest.length > 1 ? "dir" : "file");
    }
    if (!entries.size) return notFound();
    const dirSha = (dir: string) =>
      createHash("sha1")
        .update([...tree.entries()].filter(([f]) => f.startsWith(`${dir}/`)).map(([f, c]) => `${f}\0${blobSha(c)}`).sort().join("\n"))
        .digest("hex");
    return {
      status: 200,
      body: [...entries].map(([name, type]) => {
        const entry = `${prefix}${name}`;
        const content = tree.get(entry);
        return contentEntryJson(origins, repo, entry, type, type === "file" ? blobSha(content!) : dirSha(entry), type === "file" ? Buffer.byteLength(content!, "utf8") : 0, ref);
      }),
    };
  }),
  "repos/create-or-update-file-contents": withRepo(function (repo, { params, body, actor, origins }) {
    const b = body as { message: string; content: string; sha?: string; branch?: string; committer?: GitIdentity; author?: GitIdentity };
    const branch = b.branch ?? repo.defaultBranch;
    const head = repo.refs.get(`refs/heads/${branch}`);
    if (!head) return notFound(`Branch ${branch} not found`);
    const filePath = String(params.path);
    const tree = new Map(repo.commits.get(head)!.tree);
    const existing = tree.get(filePath);
    if (existing !== undefined && !b.sha) return unprocessable('Invalid request.\n\n"sha" wasn\'t supplied.');
    if (existing !== undefined && b.sha !== blobSha(existing)) return { status: 409, body: { message: `${filePath} does not match ${b.sha}` } };
    if (!/^[A-Za-z0-9+/=\s]*$/.test(b.content)) return unprocessable("content is not valid Base64");
    const refused =
      this.renaming(repo, branch) ??
      this.refRules(repo, actor, { ref: `refs/heads/${branch}`, kind: "update", fastForward: true }, 409, "https://docs.github.com/rest/repos/contents#create-or-update-file-contents");
    if (refused) return refused;
    const content = Buffer.from(b.content, "base64").toString("utf8");
    tree.set(filePath, content);
    const committer = b.committer ? { name: b.committer.name, email: b.committer.email } : undefined;
    const author = b.author ? { name: b.author.name, email: b.author.email } : committer;
    const sha = this.commit(repo, { parents: [head], tree, message: b.message, author, committer });
    repo.refs.set(`refs/heads/${branch}`, sha);
    return {
      status: existing === undefined ? 201 : 200,
      body: { content: contentJson(origins, repo, filePath, content, branch), commit: gitCommitJson(origins, repo, repo.commits.get(sha)!) },
    };
  }),

  // --- tags and releases
  "repos/list-tags": withRepo(function (repo, ctx) {
    // GitHub lists tags by name, descending; not by date.
    const items = [...repo.refs.entries()]
      .filter(([r]) => r.startsWith("refs/tags/"))
      .map(([r, sha]) => ({ name: r.slice("refs/tags/".length), sha }))
      .sort((a, b) => (a.name < b.name ? 1 : a.name > b.name ? -1 : 0));
    const answer = page(items, ctx);
    return {
      ...answer,
      body: answer.body.map((t) => ({
        name: t.name,
        commit: { sha: t.sha, url: `${ctx.origins.api}/repos/${repo.fullName}/commits/${t.sha}` },
        zipball_url: `${ctx.origins.api}/repos/${repo.fullName}/zipball/refs/tags/${t.name}`,
        tarball_url: `${ctx.origins.api}/repos/${repo.fullName}/tarball/refs/tags/${t.name}`,
        node_id: `TAG_${t.sha}`,
      })),
    };
  }),
  "repos/list-releases": withRepo(function (repo, ctx) {
    const items = sortByDate(repo.releases, (r) => r.createdAt, "desc");
    const answer = page(items, ctx);
    return { ...answer, body: answer.body.map((r) => releaseJson(ctx.origins, repo, r)) };
  }),
  "repos/get-latest-release": withRepo(function (repo, { origins }) {
    const latest = sortByDate(
      repo.releases.filter((r) => !r.draft && !r.prerelease),
      (r) => r.createdAt,
      "desc",
    )[0];
    return latest ? { status: 200, body: releaseJson(origins, repo, latest) } : notFound();
  }),
  "repos/get-release-by-tag": withRepo(function (repo, { params, origins }) {
    const r = repo.releases.find((x) => x.tag === params.tag);
    return r ? { status: 200, body: releaseJson(origins, repo, r) } : notFound();
  }),

  // --- pull requests
  "pulls/list": withRepo(function (repo, ctx) {
    const { params } = ctx;
    const state = (params.state as string) ?? "open";
    let items = [...repo.pulls.values()].filter((p) => state === "all" || repo.issues.get(p.number)!.state === state);
    if (typeof params.head === "string") {
      const [owner, ...rest] = params.head.split(":");
      const branch = rest.join(":");
      items = rest.length ? items.filter((p) => owner.toLowerCase() === repo.owner.toLowerCase() && p.head === branch) : [];
    }
    if (typeof params.base === "string") items = items.filter((p) => p.base === params.base);
    items = sortByDate(items, (p) => `${repo.issues.get(p.number)!.createdAt}#${String(p.number).padStart(9, "0")}`, params.direction ?? "desc");
    const answer = page(items, ctx);
    return { ...answer, body: answer.body.map((p) => pullJson(ctx.origins, this, repo, p)) };
  }),
  "pulls/create": withRepo(function (repo, { body, actor, origins }) {
    const b = body as { title?: string; head: string; base: string; body?: string; draft?: boolean; issue?: number };
    if (b.issue !== undefined) return unprocessable("stand-in: converting an issue into a pull request is not supported");
    const head = b.head.includes(":") ? b.head.split(":").slice(1).join(":") : b.head;
    if (b.head.includes(":") && b.head.split(":")[0].toLowerCase() !== repo.owner.toLowerCase()) return unprocessable("Validation Failed: head (cross-repository)");
    const headSha = repo.refs.get(`refs/heads/${head}`);
    const baseSha = repo.refs.get(`refs/heads/${b.base}`);
    if (!headSha) return unprocessable(`Validation Failed: head ${head} is invalid`);
    if (!baseSha) return unprocessable(`Validation Failed: base ${b.base} is invalid`);
    if (!b.title) return unprocessable("Validation Failed: title is missing");
    const open = [...repo.pulls.values()].find((p) => p.head === head && p.base === b.base && repo.issues.get(p.number)!.state === "open");
    if (open) return unprocessable(`Validation Failed: A pull request already exists for ${repo.owner}:${head}.`);
    if (this.ancestors(repo, baseSha).includes(headSha)) return unprocessable(`Validation Failed: No commits between ${b.base} and ${head}`);
    const number = repo.issues.size + 1;
    const now = this.tick();
    repo.issues.set(number, {
      number,
      id: this.id(),
      title: b.title,
      body: b.body ?? null,
      state: "open",
      stateReason: null,
      labels: [],
      user: loginOf(actor),
      createdAt: now,
      updatedAt: now,
      closedAt: null,
      closedBy: null,
      isPull: true,
    });
    const pull: PullState = { number, head, base: b.base, headSha, merged: false, mergedAt: null, mergeCommitSha: null, draft: b.draft ?? false };
    repo.pulls.set(number, pull);
    return { status: 201, body: pullJson(origins, this, repo, pull) };
  }),
  "pulls/get": withPull(function (repo, pull, { origins }) {
    return { status: 200, body: pullJson(origins, this, repo, pull) };
  }),
  "pulls/update": withPull(function (repo, pull, { body, origins }) {
    const b = (body as Obj) ?? {};
    const issue = repo.issues.get(pull.number)!;
    if (b.state === "open" && pull.merged) return unprocessable("Validation Failed: state cannot be changed. The pull request is merged.");
    if (typeof b.base === "string") pull.base = b.base;
    applyIssuePatch(this, repo, issue, { title: b.title, body: b.body, state: b.state });
    if (b.state === "closed") issue.stateReason = null;
    return { status: 200, body: pullJson(origins, this, repo, pull) };
  }),
  "pulls/check-if-merged": withPull(function (_repo, pull) {
    return pull.merged ? { status: 204 } : notFound();
  }),
  "actions/create-workflow-dispatch": withRepo(function (repo, { params, body }) {
    this.dispatches.push({ repo: repo.fullName, workflow: String(params.workflow_id), ref: String((body as { ref: string }).ref) });
    return { status: 204 };
  }),

  "apps/create-installation-access-token": function (this: GitHubStandIn, { params, actor }) {
    const installation = Number(params.installation_id);
    const app = actor as Extract<Identity, { kind: "app" }>;
    const { token, who } = this.issueInstallationToken(app.appId, installation);
    this.installationTokens.push({ installation, authorization: "(seen)", token });
    return {
      status: 201,
      body: { token, expires_at: "2099-01-01T00:00:00Z", permissions: who.kind === "app" ? who.permissions : {}, repository_selection: who.kind === "app" && who.repositories ? "selected" : "all" },
    };
  },

  "pulls/merge": withPull(function (repo, pull, { actor }) {
    // The merge is a write to the base branch: its rulesets apply, with the
    // approvals recorded by approvePull; the merge button of a person
    // (mergePull) stands for a reviewed merge.
    const approvers = new Set((pull.approvals ?? []).filter((l) => l !== repo.issues.get(pull.number)!.user));
    const refused = this.refRules(
      repo,
      actor,
      { ref: `refs/heads/${pull.base}`, kind: "update", fastForward: true, mergeCommit: true, merge: { approvals: approvers.size, lastPushApproved: approvers.size > 0 } },
      405,
      "https://docs.github.com/rest/pulls/pulls#merge-a-pull-request",
    );
    if (refused) return refused;
    const r = this.merge(repo, pull, loginOf(actor));
    if (typeof r === "string") return { status: 405, body: { message: r } };
    return { status: 200, body: { sha: r.sha, merged: true, message: "Pull Request successfully merged" } };
  }),
};

/**
 * The plaintext of an Actions secret from a stand-in's state folder (a
 * server started with `npm run standin -- --state DIR`), as `secretValue`
 * reads it in-process: what a workflow run against that stand-in would see.
 */
export function secretValueIn(stateDir: string, fullName: string, name: string, environment?: string): string {
  const data = JSON.parse(fs.readFileSync(path.join(stateDir, "state.json"), "utf8"), (_k, v: unknown) =>
    v && typeof v === "object" && "$map" in v ? new Map((v as { $map: Array<[unknown, unknown]> }).$map) : v,
  ) as { repos: RepoState[] };
  const repo = data.repos.find((r) => r.fullName.toLowerCase() === fullName.toLowerCase());
  const store = environment === undefined ? repo?.secrets : repo?.environments?.get(environment.toLowerCase())?.secrets;
  const secret = store?.get(name.toUpperCase());
  if (secret?.value === undefined) throw new Error(`stand-in state ${stateDir}: no opened secret ${name} in ${fullName}`);
  return secret.value;
}

/** The operations the stand-in serves, by operationId (the rows of the permission table, and what the response test sends). */
export function servedOperations(): string[] {
  return Object.keys(HANDLERS).sort();
}

// ---------------------------------------------------------------------------
// Running pipeline commands in-process against a stand-in.

export interface CapturedIo {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  stdout(text: string): void;
  stderr(text: string): void;
  /** Everything written so far. */
  readonly out: string[];
  readonly err: string[];
}

/** An Io (pipeline/cli.ts) that records stdout and stderr. */
export function captureIo(env: Readonly<Record<string, string | undefined>>, cwd: string): CapturedIo {
  const out: string[] = [];
  const err: string[] = [];
  return { env, cwd, out, err, stdout: (t) => void out.push(t), stderr: (t) => void err.push(t) };
}

/** The step outputs written to a GITHUB_OUTPUT file (`name<<DELIM` blocks); the last value of a name wins. */
export function readStepOutputs(file: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (!fs.existsSync(file)) return out;
  const lines = fs.readFileSync(file, "utf8").split("\n");
  for (let i = 0; i < lines.length; i++) {
    const m = /^([A-Za-z0-9_-]+)<<(.+)$/.exec(lines[i]);
    if (!m) continue;
    const value: string[] = [];
    for (i++; i < lines.length && lines[i] !== m[2]; i++) value.push(lines[i]);
    out[m[1]] = value.join("\n");
  }
  return out;
}

/**
 * Runs `f` against a fresh stand-in holding `repo`, then asserts that no
 * request fell outside GitHub's OpenAPI description or the stand-in's
 * handlers, and stops it.
 */
export async function withCheckedStandIn(repo: string, f: (s: GitHubStandIn) => Promise<void>): Promise<void> {
  const s = await startGitHubStandIn();
  try {
    s.addRepo(repo);
    await f(s);
    if (s.rejected.length) throw new Error(`requests outside GitHub's OpenAPI description: ${JSON.stringify(s.rejected)}`);
    if (s.unimplemented.length) throw new Error(`requests the stand-in does not implement: ${JSON.stringify(s.unimplemented)}`);
    if (s.badResponses.length) throw new Error(`answers outside GitHub's response schemas: ${JSON.stringify(s.badResponses)}`);
  } finally {
    await s.stop();
  }
}

/** What one in-process run of a pipeline command did. */
export interface CommandRun {
  readonly code: number;
  readonly json: Record<string, unknown>;
  readonly err: string;
  readonly outputs: Record<string, string>;
  /** Operation ids of the writes the run sent to the stand-in, in order. */
  readonly writes: readonly (string | null)[];
}

/**
 * Runs `mirror-pipeline <args>` in-process against the stand-in, in `dir`, with
 * the stand-in's env for `repo` plus `env`, and reports what it printed, the
 * step outputs it set, and the writes it sent.
 */
export async function runPipelineCommand(s: GitHubStandIn, repo: string, dir: string, args: readonly string[], env: Record<string, string> = {}): Promise<CommandRun> {
  const { main } = await import("../../pipeline/main");
  const out = fs.mkdtempSync(path.join(dir, "outputs-"));
  const outputFile = path.join(out, "github-output");
  const io = captureIo({ ...s.env(repo), GITHUB_OUTPUT: outputFile, ...env }, dir);
  const before = s.writes().length;
  const code = await main(args, io);
  const text = io.out.join("");
  return {
    code,
    json: text ? (JSON.parse(text) as Record<string, unknown>) : {},
    err: io.err.join(""),
    outputs: readStepOutputs(outputFile),
    writes: s.writes().slice(before).map((r) => r.operationId),
  };
}
