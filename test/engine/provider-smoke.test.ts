/**
 * The GitHub provider plugin built here (tools/go/github, `npm run
 * engine:build`) under the real Pulumi engine, against the GitHub stand-in.
 *
 * 1. Its schema (asked of the binary, `pulumi package get-schema`) carries
 *    what the @pulumi/github Node SDK sends for every resource the program
 *    makes: the token and the input property names (read from the SDK's own
 *    code), and the same property types as pulumi-github's published schema
 *    (test/testdata/schemas/pulumi-github-schema.json).
 * 2. A throw-away inline program (not the project's) with one of each
 *    resource the program makes, run by the Automation API with the CLI built
 *    here on a file:// backend: up creates everything in the stand-in, a
 *    second up and a preview --refresh change nothing, a file edited in the
 *    stand-in shows as exactly that file's update, destroy removes it all.
 *    Every request must be one GitHub's OpenAPI description allows.
 *
 * The Node language host cannot be built here (its module is not served), so
 * the program runs inline: the SDK serves the language runtime in-process and
 * the CLI connects to it.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import * as github from "@pulumi/github";
import * as pulumi from "@pulumi/pulumi";
import { LocalWorkspace, PulumiCommand, type EngineEvent, type Stack } from "@pulumi/pulumi/automation";
import { FLEET_REPOSITORY } from "../../components/repository";
import { builtToolRoot, githubProviderRoot } from "../../tools/paths";
import { startGitHubStandIn, type GitHubStandIn } from "../support/github-standin";
import { changedOps } from "./harness";

const ROOT = path.resolve(__dirname, "..", "..");
const SHARED_SCHEMA = path.resolve(ROOT, "test", "testdata", "schemas", "pulumi-github-schema.json");

/** A version from tools/versions.sh, the one list of tool versions. */
function toolVersion(name: string): string {
  const m = new RegExp(`^${name}=(\\S+)$`, "m").exec(fs.readFileSync(path.join(ROOT, "tools", "versions.sh"), "utf8"));
  if (!m) throw new Error(`tools/versions.sh: no ${name}=`);
  return m[1];
}

const PULUMI_VERSION = toolVersion("PULUMI_VERSION");
const GITHUB_VERSION = toolVersion("GITHUB_PROVIDER_VERSION");
const CLI_ROOT = builtToolRoot("pulumi", PULUMI_VERSION);
const CLI = path.join(CLI_ROOT, "bin", "pulumi");
const PROVIDER = path.join(githubProviderRoot(GITHUB_VERSION), "bin", "pulumi-resource-github");

function requireTools(): void {
  const missing = [CLI, PROVIDER].filter((f) => !fs.existsSync(f));
  if (missing.length) throw new Error(`not built: ${missing.join(", ")}: run \`npm run engine:build\` first`);
}

// ---------------------------------------------------------------------------
// 1. The schema.

type Obj = Record<string, unknown>;

/** `github.X` classes the program constructs (components/ and infra/), plus the provider. */
function classesTheProgramUses(): string[] {
  const names = new Set<string>(["Provider"]);
  for (const dir of ["components", "infra"]) {
    for (const f of fs.readdirSync(path.join(ROOT, dir), { recursive: true }) as string[]) {
      if (!f.endsWith(".ts")) continue;
      for (const m of fs.readFileSync(path.join(ROOT, dir, f), "utf8").matchAll(/new github\.([A-Z]\w*)\(/g)) names.add(m[1]);
    }
  }
  return [...names].sort();
}

/** What the SDK sends for a class: its token and the input names its constructor fills from args. */
function sdkContract(cls: string): { token: string; inputs: string[] } {
  const file = path.join(ROOT, "node_modules", "@pulumi", "github", `${cls[0].toLowerCase()}${cls.slice(1)}.js`);
  const js = fs.readFileSync(file, "utf8");
  const token = cls === "Provider" ? "pulumi:providers:github" : /__pulumiType = '([^']+)'/.exec(js)?.[1];
  if (!token) throw new Error(`${file}: no __pulumiType`);
  // `resourceInputs["x"] = args?.x`, `… = pulumi.output(args?.x).apply(…)`, `… = (args?.x) ?? …`: the args branch, not the state one.
  const inputs = [...js.matchAll(/resourceInputs\["(\w+)"\] = [^;\n]*\bargs\??\.(\w+)/g)].filter((m) => m[1] === m[2]).map((m) => m[1]);
  return { token, inputs: [...new Set(inputs)].sort() };
}

/** The input and output properties of a resource (or the provider) in a schema, with every type they reach, docs left out. */
function inputsOf(schema: Obj, token: string): unknown {
  const res = token === "pulumi:providers:github" ? (schema.provider as Obj) : ((schema.resources as Record<string, Obj>)[token] ?? null);
  if (!res) return null;
  const types = schema.types as Record<string, Obj>;
  const reached: Record<string, unknown> = {};
  const strip = (v: unknown): unknown =>
    JSON.parse(JSON.stringify(v, (k, x: unknown) => {
      // Documentation, not contract (a property may itself be named "description": its value is an object).
      if (["description", "deprecationMessage"].includes(k) && typeof x === "string") return undefined;
      if (k === "language") return undefined;
      if (k === "$ref" && typeof x === "string" && x.startsWith("#/types/")) {
        const t = x.slice("#/types/".length);
        if (!(t in reached)) {
          reached[t] = null;
          reached[t] = strip(types[t]);
        }
      }
      return x && typeof x === "object" && !Array.isArray(x) ? Object.fromEntries(Object.entries(x as Obj).sort(([a], [b]) => (a < b ? -1 : 1))) : x;
    }));
  const inputs = strip(res.inputProperties ?? {});
  const outputs = strip(res.properties ?? {});
  return { inputs, required: [...((res.requiredInputs as string[]) ?? [])].sort(), outputs, types: reached };
}

// ---------------------------------------------------------------------------
// 2. The engine.

const OWNER = "acme-smoke";
const REPO = "smoke";
const FILES = [".mirror/config.yml", ".github/workflows/mirror.yml"];

/** What a test may change in the program between runs. */
const knobs = { canApprovePullRequestReviews: false };

function program(s: GitHubStandIn): () => Promise<Record<string, unknown>> {
  return async () => {
    const provider = new github.Provider("github", { owner: OWNER, token: s.token, baseUrl: `${s.url}/`, writeDelayMs: 0 });
    const opts = { provider };
    const repo = new github.Repository(
      "repo",
      {
        name: REPO,
        description: "provider smoke test",
        homepageUrl: "https://example.com/upstream",
        visibility: "private",
        hasIssues: true,
        ...FLEET_REPOSITORY,
        vulnerabilityAlerts: true,
        topics: ["mirror-fleet", "container-image"],
      },
      // GitHub answers has_downloads: true (its documented default), which the
      // provider never sends on create; left out of the inputs, that is a diff
      // on every preview. Setting it works too but warns (deprecated attribute).
      { ...opts, ignoreChanges: ["hasDownloads"] },
    );
    const branch = new github.BranchDefault("branch", { repository: repo.name, branch: "main", rename: true }, opts);
    new github.IssueLabel("label", { repository: repo.name, name: "cve", color: "b60205", description: "A CVE finding" }, opts);
    const actions = new github.ActionsRepositoryPermissions(
      "actions",
      {
        repository: repo.name,
        enabled: true,
        allowedActions: "selected",
        allowedActionsConfig: { githubOwnedAllowed: false, verifiedAllowed: false, patternsAlloweds: ["actions/checkout@*", "docker/build-push-action@*"] },
        shaPinningRequired: true,
      },
      opts,
    );
    new github.WorkflowRepositoryPermissions("workflow", { repository: repo.name, defaultWorkflowPermissions: "read", canApprovePullRequestReviews: knobs.canApprovePullRequestReviews }, opts);
    new github.ActionsSecret("secret", { repository: repo.name, secretName: "SLACK_WEBHOOK_URL", value: pulumi.secret("https://hooks.example.invalid/T0/B0/x") }, opts);
    let previous: pulumi.Resource[] = [branch, actions];
    for (const [i, file] of FILES.entries()) {
      previous = [
        new github.RepositoryFile(
          `file-${i}`,
          {
            repository: repo.name,
            branch: "main",
            file,
            content: `# ${file}\nversion: 1\n`,
            commitMessage: `mirror-fleet: update ${file}`,
            commitAuthor: "mirror-fleet",
            commitEmail: "mirror-fleet@users.noreply.github.com",
            overwriteOnCreate: true,
          },
          { ...opts, dependsOn: previous },
        ),
      ];
    }
    new github.RepositoryRuleset(
      "ruleset",
      {
        repository: repo.name,
        name: "mirror-fleet: default branch",
        target: "branch",
        enforcement: "active",
        conditions: { refName: { includes: ["~DEFAULT_BRANCH"], excludes: [] } },
        // The smoke deploys with an owner's token: organisation admins bypass (the program's default).
        bypassActors: [{ actorType: "OrganizationAdmin", bypassMode: "always" }],
        rules: {
          deletion: true,
          nonFastForward: true,
          pullRequest: { requiredApprovingReviewCount: 1, requireCodeOwnerReview: true, dismissStaleReviewsOnPush: true, requireLastPushApproval: true, requiredReviewThreadResolution: false },
        },
      },
      { ...opts, dependsOn: previous },
    );
    return { url: repo.htmlUrl };
  };
}

/**
 * A stack of an inline program in `tmp`: file:// backend, its own PULUMI_HOME
 * with the built provider installed from its file, no downloads.
 */
async function inlineStack(tmp: string, run: () => Promise<Record<string, unknown>>): Promise<Stack> {
  const env = {
    PULUMI_HOME: path.join(tmp, "pulumi-home"),
    PULUMI_BACKEND_URL: `file://${path.join(tmp, "state")}`,
    PULUMI_CONFIG_PASSPHRASE: "provider-smoke",
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    PULUMI_SKIP_UPDATE_CHECK: "true",
  };
  fs.mkdirSync(path.join(tmp, "state"));
  // The plugin cache, not PATH: the engine then loads exactly the version the SDK asks for.
  execFileSync(CLI, ["plugin", "install", "resource", "github", GITHUB_VERSION, "--file", PROVIDER], { env: { ...process.env, ...env }, stdio: "pipe" });
  const workDir = path.join(tmp, "project");
  fs.mkdirSync(workDir);
  return LocalWorkspace.createOrSelectStack(
    { stackName: "smoke", projectName: "provider-smoke", program: run },
    {
      workDir,
      envVars: env,
      projectSettings: { name: "provider-smoke", runtime: "nodejs", backend: { url: env.PULUMI_BACKEND_URL } },
      pulumiCommand: await PulumiCommand.get({ root: CLI_ROOT, skipVersionCheck: true }),
    },
  );
}

/** Collects the engine's planned steps other than `same`, as `name op [diffs]`, for messages. */
function stepsOf(into: string[]): (e: EngineEvent) => void {
  return (e) => {
    const m = e.resourcePreEvent?.metadata;
    if (m && m.op !== "same" && m.op !== "read") into.push(`${m.urn.split("::").pop()} ${m.op} ${JSON.stringify(m.diffs ?? [])} ${JSON.stringify(m.detailedDiff ?? {})}`);
  };
}


test("GIVEN tools/versions.sh WHEN compared THEN the provider is built at the @pulumi/github version the lock file pins, from the upstream release that version wraps", () => {
  const lock = JSON.parse(fs.readFileSync(path.join(ROOT, "package-lock.json"), "utf8")) as { packages: Record<string, { version: string }> };
  assert.equal(GITHUB_VERSION, lock.packages["node_modules/@pulumi/github"].version);
  const gomod = fs.readFileSync(path.join(ROOT, "tools", "go", "github", "go.mod"), "utf8");
  const upstream = /github\.com\/integrations\/terraform-provider-github\/v6 v(\S+)/.exec(gomod)?.[1];
  // pulumi-github 6.15.0's upstream submodule is at terraform-provider-github v6.13.0.
  assert.equal(upstream, "6.13.0");
  assert.match(fs.readFileSync(path.join(ROOT, "tools", "go", "github", "ghinfo", "info.go"), "utf8"), new RegExp(`const UpstreamVersion = "${upstream}"`));
});

describe("the GitHub provider built here, under the real engine, against the stand-in", { concurrency: false }, () => {
  let s: GitHubStandIn;
  let stack: Stack;
  let tmp: string;
  let log: string;

  before(async () => {
    requireTools();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "mirror-fleet-provider-smoke-"));
    log = path.join(tmp, "requests.jsonl");
    s = await startGitHubStandIn({ logFile: log });
    s.addOrg(OWNER);
    stack = await inlineStack(tmp, program(s));
  });

  after(async () => {
    await s?.stop();
    if (tmp && !process.env.MIRROR_FLEET_KEEP) fs.rmSync(tmp, { recursive: true, force: true });
  });

  function noRejections(step: string): void {
    assert.deepEqual(s.rejected, [], `${step}: requests GitHub's OpenAPI description does not allow`);
    assert.deepEqual(s.unimplemented, [], `${step}: requests the stand-in does not implement`);
    assert.deepEqual(s.badResponses, [], `${step}: answers outside GitHub's response schemas`);
  }

  test("GIVEN the built provider WHEN asked for its schema THEN every resource the program makes has the SDK's token and inputs, and the inputs and outputs of pulumi-github's schema", () => {
    const built = JSON.parse(execFileSync(CLI, ["package", "get-schema", PROVIDER], { env: { ...process.env, PULUMI_HOME: path.join(tmp, "pulumi-home") }, maxBuffer: 64 << 20 }).toString()) as Obj;
    if (!fs.existsSync(SHARED_SCHEMA)) throw new Error(`${SHARED_SCHEMA} is missing: the published pulumi-github 6.15.0 schema to compare with`);
    const published = JSON.parse(fs.readFileSync(SHARED_SCHEMA, "utf8")) as Obj;
    const classes = classesTheProgramUses();
    assert.ok(classes.length > 5, `only ${classes.join(", ")} found in components/ and infra/`);
    for (const cls of classes) {
      const { token, inputs } = sdkContract(cls);
      const ours = inputsOf(built, token) as { inputs: Obj } | null;
      assert.ok(ours, `${cls}: the built provider has no ${token}`);
      assert.deepEqual(Object.keys(ours.inputs).sort(), inputs, `${cls} (${token}): input names differ from what @pulumi/github sends`);
      assert.deepEqual(ours, inputsOf(published, token), `${cls} (${token}): inputs, outputs or their types differ from pulumi-github's schema`);
    }
  });

  test("GIVEN an empty stack WHEN up THEN each resource is created once and the stand-in holds it", async () => {
    const up = await stack.up();
    assert.equal(up.summary.result, "succeeded");
    assert.deepEqual(changedOps(up.summary.resourceChanges), { create: 11 }, "the stack, the provider and 9 resources");
    noRejections("up");
    const full = `${OWNER}/${REPO}`;
    const repo = s.repo(full);
    assert.equal(repo.private, true);
    assert.equal(repo.defaultBranch, "main");
    assert.deepEqual(repo.topics, ["mirror-fleet", "container-image"]);
    assert.equal(repo.vulnerabilityAlerts, true);
    assert.equal(repo.settings.allow_squash_merge, false);
    // The label the program made, next to the nine GitHub gives every new repository.
    assert.deepEqual([...repo.labels.values()].filter((l) => !l.default).map((l) => [l.name, l.color]), [["cve", "b60205"]]);
    assert.equal([...repo.labels.values()].filter((l) => l.default).length, 9);
    for (const f of FILES) assert.equal(s.readFile(full, "main", f), `# ${f}\nversion: 1\n`);
    // One commit per file, by the configured author, after the initial commit.
    assert.deepEqual(s.history(full, "main").map((c) => c.message), [...FILES].reverse().map((f) => `mirror-fleet: update ${f}`).concat(["Initial commit"]));
    assert.equal(s.head(full, "main")!.committer?.name, "mirror-fleet");
    assert.deepEqual(repo.actions.permissions, { enabled: true, allowed_actions: "selected", sha_pinning_required: true });
    // The provider keeps the patterns as a set: their order is not the program's.
    assert.deepEqual({ ...repo.actions.selectedActions, patterns_allowed: [...(repo.actions.selectedActions.patterns_allowed as string[])].sort() }, {
      github_owned_allowed: false,
      verified_allowed: false,
      patterns_allowed: ["actions/checkout@*", "docker/build-push-action@*"],
    });
    assert.deepEqual(repo.actions.workflow, { default_workflow_permissions: "read", can_approve_pull_request_reviews: false });
    assert.deepEqual([...repo.secrets.keys()], ["SLACK_WEBHOOK_URL"]);
    // Sealed by the provider to the repository's key, opened as GitHub opens it.
    assert.equal(s.secretValue(full, "SLACK_WEBHOOK_URL"), "https://hooks.example.invalid/T0/B0/x");
    assert.deepEqual([...repo.rulesets.values()].map((r) => [r.name, (r.rules as Obj[]).map((x) => x.type).sort()]), [["mirror-fleet: default branch", ["deletion", "non_fast_forward", "pull_request"]]]);
    const lines = fs.readFileSync(log, "utf8").trim().split("\n").map((l) => JSON.parse(l) as { method: string; path: string; status: number; write: boolean });
    assert.equal(lines.length, s.requests.length);
    assert.ok(lines.every((l) => l.path.startsWith("/api/v3/") && typeof l.status === "number" && l.write === (l.method !== "GET")), "log lines: method, path under /api/v3, status, write");
  });

  test("GIVEN the stack is up WHEN up again and preview --refresh THEN nothing changes and nothing is written", async () => {
    const steps: string[] = [];
    const again = await stack.up({ onEvent: stepsOf(steps) });
    assert.deepEqual(changedOps(again.summary.resourceChanges), {}, steps.join("\n"));
    const writes = s.writes().length;
    const preview = await stack.preview({ refresh: true, onEvent: stepsOf(steps) });
    assert.deepEqual(changedOps(preview.changeSummary), {}, steps.join("\n"));
    assert.equal(s.writes().length, writes, "a refresh or preview wrote to GitHub");
    noRejections("second up, preview --refresh");
  });

  test("GIVEN the stack is up WHEN its state is read THEN each resource carries what the released provider's bridge options write: its schema version and the raw state delta", async () => {
    const state = (await stack.exportStack()).deployment as { resources: Array<{ type: string; urn: string; outputs?: Obj }> };
    const bridged = state.resources.filter((r) => r.type.startsWith("github:index/"));
    assert.equal(bridged.length, 9);
    // Schema versions of terraform-provider-github v6.13.0 (github/resource_*.go SchemaVersion).
    const versions: Record<string, string> = {
      "github:index/repository:Repository": "1",
      "github:index/branchDefault:BranchDefault": "1",
      "github:index/repositoryFile:RepositoryFile": "1",
      "github:index/repositoryRuleset:RepositoryRuleset": "1",
      "github:index/actionsSecret:ActionsSecret": "2",
    };
    for (const r of bridged) {
      const meta = JSON.parse(String(r.outputs?.__meta ?? "{}")) as { schema_version?: string };
      assert.equal(meta.schema_version ?? "0", versions[r.type] ?? "0", `${r.urn}: schema version`);
      // EnableRawStateDelta (on by default in bridge v3.120.0, set by pulumi-github v6.15.0).
      assert.ok(r.outputs && "__pulumi_raw_state_delta" in r.outputs, `${r.urn}: no raw state delta`);
    }
  });

  test("GIVEN a file's state without its schema version WHEN preview --refresh THEN it is upgraded from version 0, as EnableZeroDefaultSchemaVersion makes the released provider do, and nothing changes", async () => {
    const repoReads = () => s.requests.filter((r) => r.method === "GET" && r.operationId === "repos/get").length;
    let before = repoReads();
    assert.deepEqual(changedOps((await stack.preview({ refresh: true })).changeSummary), {});
    const baseline = repoReads() - before;
    const exported = await stack.exportStack();
    const deployment = exported.deployment as { resources: Array<{ urn: string; outputs?: Obj }> };
    const file = deployment.resources.find((r) => r.urn.endsWith("::file-0"))!;
    // A state an older provider wrote: no __meta (and so no schema version), no raw state delta.
    delete file.outputs!.__meta;
    delete file.outputs!.__pulumi_raw_state_delta;
    await stack.importStack(exported);
    before = repoReads();
    const steps: string[] = [];
    assert.deepEqual(changedOps((await stack.preview({ refresh: true, onEvent: stepsOf(steps) })).changeSummary), {}, steps.join("\n"));
    // github_repository_file's v0 -> v1 state upgrader reads the repository (its repository_id): one more read than the baseline.
    assert.equal(repoReads() - before, baseline + 1);
    assert.deepEqual(changedOps((await stack.up({ refresh: true })).summary.resourceChanges), {});
    noRejections("state upgrade");
  });

  test("GIVEN a file edited in GitHub's web UI WHEN preview --refresh THEN exactly that file shows as an update of its content", async () => {
    const full = `${OWNER}/${REPO}`;
    s.putFile(full, "main", FILES[0], "# edited by hand\n", `Update ${FILES[0]}`);
    const updates: Array<{ urn: string; diffs: string[] }> = [];
    const steps: string[] = [];
    const preview = await stack.preview({
      refresh: true,
      onEvent: (e: EngineEvent) => {
        stepsOf(steps)(e);
        const m = e.resourcePreEvent?.metadata;
        if (m && m.op === "update") updates.push({ urn: m.urn, diffs: m.diffs ?? [] });
      },
    });
    assert.deepEqual(changedOps(preview.changeSummary), { update: 1 }, steps.join("\n"));
    assert.deepEqual(updates.map((u) => [u.urn.split("::").pop(), u.diffs]), [["file-0", ["content"]]]);
    const up = await stack.up({ refresh: true });
    assert.deepEqual(changedOps(up.summary.resourceChanges), { update: 1 });
    assert.equal(s.readFile(full, "main", FILES[0]), `# ${FILES[0]}\nversion: 1\n`);
    noRejections("drift");
  });

  test("GIVEN a repository setting changed in GitHub's Settings WHEN preview --refresh THEN exactly that setting shows, and up restores it", async () => {
    const full = `${OWNER}/${REPO}`;
    s.editRepo(full, { allow_squash_merge: true });
    const updates: string[] = [];
    const steps: string[] = [];
    const preview = await stack.preview({
      refresh: true,
      onEvent: (e: EngineEvent) => {
        stepsOf(steps)(e);
        const m = e.resourcePreEvent?.metadata;
        if (m && m.op === "update") updates.push(`${m.urn.split("::").pop()} ${JSON.stringify(m.diffs)}`);
      },
    });
    assert.deepEqual(changedOps(preview.changeSummary), { update: 1 }, steps.join("\n"));
    assert.deepEqual(updates, ['repo ["allowSquashMerge"]']);
    assert.deepEqual(changedOps((await stack.up({ refresh: true })).summary.resourceChanges), { update: 1 });
    assert.equal(s.repo(full).settings.allow_squash_merge, false);
    noRejections("setting drift");
  });

  test("GIVEN an organisation that keeps Actions from approving pull requests (GitHub's default) WHEN the program turns it on THEN up fails with GitHub's 409", async () => {
    knobs.canApprovePullRequestReviews = true;
    try {
      await assert.rejects(stack.up(), (e: Error) => {
        assert.match(e.message, /PUT http:\/\/127\.0\.0\.1:\d+\/api\/v3\/repos\/acme-smoke\/smoke\/actions\/permissions\/workflow: 409 acme-smoke does not allow GitHub Actions to create or approve pull requests/);
        return true;
      });
      assert.equal(s.repo(`${OWNER}/${REPO}`).actions.workflow.can_approve_pull_request_reviews, false);
    } finally {
      knobs.canApprovePullRequestReviews = false;
    }
    noRejections("409");
  });

  test("GIVEN the stack WHEN destroyed THEN every resource is deleted from the stand-in", async () => {
    const r = await stack.destroy();
    assert.equal(r.summary.result, "succeeded");
    assert.deepEqual(changedOps(r.summary.resourceChanges), { delete: 11 });
    assert.deepEqual(s.repoNames(), []);
    noRejections("destroy");
  });
});

describe("the built provider with a GitHub App's credentials (appAuth)", () => {
  test("GIVEN an app's id, installation and key WHEN up THEN the provider trades a signed JWT for an installation token and writes with it", async () => {
    requireTools();
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "mirror-fleet-provider-app-"));
    const s = await startGitHubStandIn();
    try {
      s.addOrg(OWNER);
      s.addRepo(`${OWNER}/${REPO}`);
      const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
      s.addApp("12345", publicKey.export({ type: "spki", format: "pem" }).toString());
      const pem = privateKey.export({ type: "pkcs1", format: "pem" }).toString();
      const stack = await inlineStack(tmp, async () => {
        const provider = new github.Provider("github", { owner: OWNER, baseUrl: `${s.url}/`, writeDelayMs: 0, appAuth: { id: "12345", installationId: "678", pemFile: pulumi.secret(pem) } });
        new github.IssueLabel("label", { repository: REPO, name: "cve", color: "b60205" }, { provider });
        return {};
      });
      const up = await stack.up();
      assert.deepEqual(changedOps(up.summary.resourceChanges), { create: 3 });
      assert.deepEqual(s.installationTokens.map((t) => t.installation), [678]);
      assert.deepEqual(s.writes().map((w) => w.operationId), ["apps/create-installation-access-token", "issues/create-label"]);
      assert.deepEqual(s.rejected, []);
    } finally {
      await s.stop();
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});
