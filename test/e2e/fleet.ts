/**
 * `npm run e2e:fleet` (`npm run e2e` runs it first): the fleet repository's
 * own `.github/workflows/fleet.yml`, byte for byte what
 * components/fleet-workflow.ts renders, run by act with jobs on the host, as
 * the mirror workflow is (test/e2e/run.ts, act.ts, actions.ts): third-party
 * actions mapped to the stand-ins under test/actions/.
 *
 *   1. pull_request: test -> preview (the pinned CLI and the GitHub provider
 *      from the tools cache, state in an s3:// bucket on a local S3 emulator,
 *      the preview App's credentials) -> comment (github-script posts the
 *      preview on the pull request in the GitHub stand-in);
 *   2. push to main (the pull request merged): test -> up, as the deploy App:
 *      the stand-in then holds the mirror and the pipeline repository;
 *   3. push to main again: up changes nothing.
 *
 * The fleet repository act runs is a copy of this project as committed (its
 * working tree's tracked and new files), with two differences, both for
 * time, neither in the workflow: its `mirrors/` is the fixture fleet's gokapi
 * (the user's mirrors/ may hold anything; one mirror keeps each `up` short)
 * and a Pulumi.prod.yaml for the stand-in's organisation; and of the test
 * files (`*.test.ts`) it holds only test/fleet-ci's, the tests of this very
 * workflow. The test job's `npm test` is then the real command on a real
 * checkout (typecheck of the whole program and every test helper, the test
 * runner, the checkout-only guard) in seconds, not the whole suite again:
 * `.ci/run` runs that suite on the same commit, and running it three more
 * times here would prove nothing more about the workflow.
 *
 * act (v0.2.89, read in its module): `GITHUB_REPOSITORY`, `GITHUB_RUN_ID`,
 * `GITHUB_SERVER_URL` and `GITHUB_API_URL` given with `--env` become the
 * github context (pkg/runner/run_context.go getGithubContext); `github.ref`
 * of a pull_request is `refs/pull/<number>/merge` from the event
 * (pkg/model/github_context.go SetRef); `github.token` is the GITHUB_TOKEN
 * secret (cmd/root.go, Config.Token); the stand-ins of node actions run with `using: node24` on the
 * host's node (pkg/model/action.go ActionRunsUsingNode24).
 *
 * The runner's environment gives what a self-hosted runner of this project
 * would: the tools cache (MIRROR_FLEET_TOOLS: infra/automation.ts takes the
 * pinned CLI from it, and the engine the provider from its bin/, as the
 * engine tests do, test/engine/harness.ts), the stand-in as the GitHub the
 * program deploys to (MIRROR_FLEET_GITHUB_API), no plugin downloads.
 */
import * as crypto from "node:crypto";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { FLEET_CI_SETTINGS, FLEET_WORKFLOW_PATH, PREVIEW_MARKER, renderFleetWorkflow } from "../../components/fleet-workflow";
import { PULUMI_CLI_VERSION } from "../../infra/automation";
import { builtToolRoot } from "../../tools/paths";
import { copyEntries, FIXTURE_FLEET } from "../support/fleets";
import type { Access } from "../support/github-access";
import { startGitHubStandIn, type GitHubStandIn } from "../support/github-standin";
import { toolPath, toolsDir } from "../support/tools";
import { Coverage, expectJobResults, jobResults, runAct, workflowShape, type ActRun, type JobsWanted } from "./act";
import { calledWorkflow, localRepositories, usesOf } from "./actions";
import { MIRROR_PATHS } from "../../components/mirror-config";
import { PIPELINE_PATHS, PIPELINE_REPOSITORY_NAME } from "../../components/pipeline-action";
import { check, Cleanup, e2eCommand, fail, freePort, lastLines, must, runE2e, stepper, tempDir } from "./harness";

const ROOT = path.resolve(__dirname, "..", "..");
const OWNER = "e2e-fleet";
const FLEET_REPO = `${OWNER}/fleet`;
const MIRROR = "gokapi";
const BUCKET = "fleet-state";
const PASSPHRASE = "e2e fleet state passphrase";
/** GitHub Actions' own App (its GITHUB_TOKEN acts as github-actions[bot]). */
const ACTIONS_APP = 15368;
const DEPLOY = { appId: 4242, installationId: 678, slug: "fleet-deploy" };
const PREVIEW = { appId: 4343, installationId: 679, slug: "fleet-preview" };
const ACTIONS_TOKEN = "ghs_e2e_actions_job_token";

const out = (line: string) => process.stdout.write(`${line}\n`);
const { step, failed } = stepper(out);
/** act's logs, copied next to the checkout when the run fails (the run's folder is removed). */
let actLogs: string | undefined;
const KEPT_LOGS = path.join(ROOT, ".e2e-tmp", "act-logs-fleet");

/** The two Apps' permissions, as docs/fleet-ci.md's table gives them ("—": none). */
function appPermissions(): { deploy: Record<string, Access>; preview: Record<string, Access> } {
  const doc = fs.readFileSync(path.join(ROOT, "docs", "fleet-ci.md"), "utf8");
  const rows = [...doc.matchAll(/^\| ([A-Z][a-z]+) \| (read and write|read|—) \| (read and write|read|—) \|/gm)];
  check(rows.length >= 5, "docs/fleet-ci.md: the table of the Apps' permissions was not found");
  const level = (s: string) => (s === "read" ? "read" : "write") as Access;
  const pick = (col: 2 | 3) => Object.fromEntries(rows.filter((m) => m[col] !== "—").map((m) => [m[1].toLowerCase(), level(m[col])]));
  return { deploy: pick(2), preview: pick(3) };
}

/**
 * The files of the fleet repository: this project's tracked and new files as
 * they are in the working tree, test files but test/fleet-ci's left out, the
 * fixture fleet's gokapi as mirrors/, and the stack file given.
 */
async function fleetFiles(cleanup: Cleanup, stackFile: string, scratch: string): Promise<Record<string, string>> {
  const listed = (await must(cleanup, "git ls-files", "git", ["ls-files", "--cached", "--others", "--exclude-standard", "-z"], { cwd: ROOT })).stdout.split("\0").filter(Boolean);
  const files: Record<string, string> = {};
  for (const f of listed) {
    if (!fs.existsSync(path.join(ROOT, f))) continue;
    if (f.startsWith("mirrors/") || f === "Pulumi.prod.yaml") continue;
    if (f.endsWith(".test.ts") && !f.startsWith("test/fleet-ci/")) continue;
    files[f] = fs.readFileSync(path.join(ROOT, f), "utf8");
  }
  // The fixture's entries with their imports made the project's own (test/support/fleets.ts copyEntries).
  const fixture = path.join(scratch, "fixture-mirrors");
  copyEntries(path.join(FIXTURE_FLEET.root, "mirrors"), fixture);
  for (const f of [`${MIRROR}.ts`, `${MIRROR}.Dockerfile`]) files[`mirrors/${f}`] = fs.readFileSync(path.join(fixture, f), "utf8");
  files["Pulumi.prod.yaml"] = stackFile;
  return files;
}

/** moto_server (the S3 API) on 127.0.0.1, stopped by the cleanup. */
async function startS3(cleanup: Cleanup, dir: string): Promise<string> {
  const bin = toolPath("moto_server", "moto");
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const log = fs.openSync(path.join(dir, "moto.log"), "w");
  const child = spawn(bin, ["-H", "127.0.0.1", "-p", String(port)], { stdio: ["ignore", log, log], env: { PATH: process.env.PATH, HOME: dir } });
  fs.closeSync(log);
  cleanup.daemon(child, `moto_server pid ${child.pid} on ${url}`);
  for (let i = 0; i < 100 && child.exitCode === null; i++) {
    try {
      // CreateBucket, path style, in us-east-1 (no LocationConstraint); moto does not check signatures by default.
      const r = await fetch(`${url}/${BUCKET}`, { method: "PUT" });
      if (r.ok) return url;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return fail(`moto_server did not come up on ${url}: ${lastLines(fs.readFileSync(path.join(dir, "moto.log"), "utf8"), 8)}`);
}

async function e2e(cleanup: Cleanup): Promise<string> {
  const tools: Record<string, string> = {};
  await step("preflight: act, the Pulumi CLI, the GitHub provider, moto (npm run engine:build)", async () => {
    try {
      tools.act = toolPath("act");
      tools.pulumi = path.join(builtToolRoot("pulumi", PULUMI_CLI_VERSION), "bin", "pulumi");
      if (!fs.existsSync(tools.pulumi)) throw new Error(`${tools.pulumi} does not exist (run: npm run engine:build -- pulumi)`);
      toolPath("pulumi-resource-github", "github");
      toolPath("moto_server", "moto");
    } catch (e) {
      fail((e as Error).message);
    }
    const act = (await must(cleanup, "act --version", tools.act, ["--version"])).stdout.trim();
    return [undefined, `${act}; pulumi ${PULUMI_CLI_VERSION}; pulumi-resource-github and moto_server in ${toolsDir()}/bin`];
  });

  const work = tempDir(cleanup, "mirror-fleet-e2e-fleet-");
  const logs = path.join(work, "logs");
  const tmp = path.join(work, "tmp");
  const runnerHome = path.join(work, "runner-home");
  for (const d of [logs, tmp, runnerHome]) fs.mkdirSync(d);
  actLogs = logs;

  const s3 = await step("state backend: an s3:// bucket on moto_server (the S3 API) on 127.0.0.1", async () => {
    const url = await startS3(cleanup, work);
    return [url, `${url}/${BUCKET}`];
  });
  // gocloud.dev v0.46 (the CLI's blob library, tools/go/pulumi/go.mod) reads `endpoint` (a URL) and `region` in
  // aws/aws.go V2ConfigFromURLParams, and `use_path_style` in blob/s3blob/s3blob.go URLOpener.OpenBucketURL.
  const backendUrl = `s3://${BUCKET}?endpoint=${encodeURIComponent(s3)}&region=us-east-1&use_path_style=true`;
  const aws = { AWS_ACCESS_KEY_ID: "e2e-key-id", AWS_SECRET_ACCESS_KEY: "e2e-secret", AWS_REGION: "us-east-1" };

  const perms = appPermissions();
  const deployKey = crypto.generateKeyPairSync("rsa", { modulusLength: 2048 });
  const previewKey = crypto.generateKeyPairSync("rsa", { modulusLength: 2048 });
  const pem = (k: crypto.KeyPairKeyObjectResult) => k.privateKey.export({ type: "pkcs1", format: "pem" }).toString();
  const gh: GitHubStandIn = await step("GitHub stand-in: the organisation, the deploy and preview Apps with docs/fleet-ci.md's permissions, the Actions job token, the upstream", async () => {
    const s = await startGitHubStandIn({
      identities: {
        // The job token: the union of what the jobs' `permissions:` ask (contents: read; pull-requests: write), act having one token for all.
        [ACTIONS_TOKEN]: { kind: "app", appId: ACTIONS_APP, installationId: 1, slug: "github-actions", permissions: { contents: "read", pull_requests: "write", metadata: "read" } },
        ghs_e2e_deploy_installation: { kind: "app", ...DEPLOY, permissions: perms.deploy },
        ghs_e2e_preview_installation: { kind: "app", ...PREVIEW, permissions: perms.preview },
      },
    });
    cleanup.add(`GitHub stand-in on ${s.url}`, () => s.stop());
    s.addOrg(OWNER, { canApprovePullRequestReviews: true });
    s.addApp(String(DEPLOY.appId), deployKey.publicKey.export({ type: "spki", format: "pem" }).toString());
    s.addApp(String(PREVIEW.appId), previewKey.publicKey.export({ type: "spki", format: "pem" }).toString());
    s.addRepo("Forceu/Gokapi", { private: false, date: "2026-03-10T00:00:00Z" });
    s.addRelease("Forceu/Gokapi", { tag: "v2.2.4", date: "2026-03-10T00:00:00Z" });
    return [s, `${s.url}; deploy App ${DEPLOY.appId} (${Object.entries(perms.deploy).map(([k, v]) => `${k}:${v}`).join(" ")}); preview App ${PREVIEW.appId} (${Object.entries(perms.preview).map(([k, v]) => `${k}:${v}`).join(" ")})`];
  });

  const pulumiHome = path.join(work, "pulumi-home");
  const project = path.join(work, "project");
  await step("the fleet repository: this project (test files: test/fleet-ci's only), the fixture fleet's gokapi, a stack initialised in the bucket", async () => {
    const stack = [
      "config:",
      `  mirror-fleet:githubOwner: ${OWNER}`,
      "  mirror-fleet:visibility: private",
      "  mirror-fleet:githubPlan: team",
      '  mirror-fleet:branchProtection: "true"',
      '  mirror-fleet:attestations: "false"',
      '  mirror-fleet:actionsCanCreatePullRequests: "true"',
      `  mirror-fleet:deployBypassActorId: "${DEPLOY.appId}"`,
      "",
    ].join("\n");
    let files = await fleetFiles(cleanup, stack, work);
    // As docs/fleet-ci.md asks: the stack created in the bucket once, and its Pulumi.prod.yaml (now with the
    // passphrase's encryptionsalt) committed.
    for (const [f, content] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(project, f)), { recursive: true });
      fs.writeFileSync(path.join(project, f), content);
    }
    const env = { PATH: process.env.PATH, HOME: runnerHome, PULUMI_HOME: pulumiHome, PULUMI_BACKEND_URL: backendUrl, PULUMI_CONFIG_PASSPHRASE: PASSPHRASE, PULUMI_SKIP_UPDATE_CHECK: "true", ...aws };
    await must(cleanup, "pulumi stack init", tools.pulumi, ["stack", "init", "prod", "--non-interactive"], { cwd: project, env });
    files = { ...files, "Pulumi.prod.yaml": fs.readFileSync(path.join(project, "Pulumi.prod.yaml"), "utf8") };
    check(/encryptionsalt:/.test(files["Pulumi.prod.yaml"]), "pulumi stack init wrote no encryptionsalt into Pulumi.prod.yaml");
    check(files[FLEET_WORKFLOW_PATH] === renderFleetWorkflow(), `${FLEET_WORKFLOW_PATH} differs from what components/fleet-workflow.ts renders`);
    gh.addRepo(FLEET_REPO, { files });
    return [undefined, `${FLEET_REPO}: ${Object.keys(files).length} files; ${FLEET_WORKFLOW_PATH} == renderFleetWorkflow(); stack prod in ${backendUrl}`];
  });

  const artifacts = path.join(work, "artifacts");
  const runnerEnv: Record<string, string> = {
    PATH: [path.dirname(process.execPath), "/usr/sbin", "/usr/bin", "/sbin", "/bin"].join(":"),
    HOME: runnerHome,
    TMPDIR: tmp,
    LANG: "C.UTF-8",
    GIT_CONFIG_NOSYSTEM: "1",
    // This machine's way to the registries (npm ci, apt-get): its CA bundle and proxies, when it has them.
    ...Object.fromEntries(
      ["NODE_EXTRA_CA_CERTS", "SSL_CERT_FILE", "SSL_CERT_DIR", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy"].flatMap((k) => (process.env[k] ? [[k, process.env[k]!]] : [])),
    ),
    // What this project's self-hosted runner brings: the tools cache, the GitHub it deploys to, no plugin downloads.
    MIRROR_FLEET_TOOLS: toolsDir(),
    MIRROR_FLEET_GITHUB_API: `${gh.url}/`,
    MIRROR_FLEET_WRITE_DELAY_MS: "0",
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    PULUMI_SKIP_UPDATE_CHECK: "true",
    // For the action stand-ins (test/actions).
    MIRROR_FLEET_ROOT: ROOT,
    MIRROR_FLEET_ARTIFACTS: artifacts,
    MIRROR_FLEET_CACHE: path.join(work, "actions-cache"),
  };
  const S = FLEET_CI_SETTINGS.secrets;
  const secrets = {
    GITHUB_TOKEN: ACTIONS_TOKEN,
    [S.backendUrl]: backendUrl,
    [S.passphrase]: PASSPHRASE,
    [S.awsKeyId]: aws.AWS_ACCESS_KEY_ID,
    [S.awsSecret]: aws.AWS_SECRET_ACCESS_KEY,
    [S.awsRegion]: aws.AWS_REGION,
    [S.previewAppId]: String(PREVIEW.appId),
    [S.previewInstallationId]: String(PREVIEW.installationId),
    [S.previewKey]: pem(previewKey),
    [S.deployAppId]: String(DEPLOY.appId),
    [S.deployInstallationId]: String(DEPLOY.installationId),
    [S.deployKey]: pem(deployKey),
  };
  const actEngine = (await must(cleanup, "act --version", tools.act, ["--version"])).stdout.trim().replace(/^act version /, "act ");
  const workdir = path.join(work, "workdir");
  const shape = workflowShape(fs.readFileSync(path.join(ROOT, FLEET_WORKFLOW_PATH), "utf8"));
  const coverage = new Coverage(shape, actEngine, [], FLEET_WORKFLOW_PATH);
  let runId = 0;

  const actRun = async (scenario: string, eventName: string, sha: string, payload: Record<string, unknown>, ref?: string): Promise<ActRun> => {
    fs.rmSync(workdir, { recursive: true, force: true });
    const auth = `http.extraheader=AUTHORIZATION: basic ${Buffer.from(`x-access-token:${gh.token}`).toString("base64")}`;
    const gitEnv = { PATH: process.env.PATH, HOME: runnerHome, GIT_CONFIG_NOSYSTEM: "1" };
    await must(cleanup, "git clone", "git", ["-c", auth, "clone", "--quiet", "--no-single-branch", `${gh.url}/${FLEET_REPO}`, workdir], { env: gitEnv });
    await must(cleanup, "git checkout", "git", ["-c", "advice.detachedHead=false", "checkout", "--quiet", sha], { cwd: workdir, env: gitEnv });
    const workflow = path.join(workdir, FLEET_WORKFLOW_PATH);
    const text = fs.readFileSync(workflow, "utf8");
    check(text === renderFleetWorkflow() && text === fs.readFileSync(path.join(ROOT, FLEET_WORKFLOW_PATH), "utf8"), `${FLEET_WORKFLOW_PATH} at ${sha} is not the rendered and committed file`);
    const r = await runAct(cleanup, scenario, { name: eventName, payload }, {
      act: tools.act,
      workflow,
      workdir,
      runsOn: "ubuntu-24.04",
      localRepositories: localRepositories(text, gh, path.join(work, "exported-actions")),
      githubEnv: {
        GITHUB_SERVER_URL: gh.url,
        GITHUB_API_URL: gh.url,
        GITHUB_REPOSITORY: FLEET_REPO,
        GITHUB_REPOSITORY_OWNER: OWNER,
        ...(ref ? { GITHUB_REF: ref } : {}),
        GITHUB_RUN_ID: String(++runId),
        GITHUB_RUN_NUMBER: String(runId),
      },
      secrets,
      runnerEnv,
      logDir: logs,
    });
    coverage.add(r);
    return r;
  };
  const results = (r: ActRun) => jobResults(shape, r);
  const expectJobs = (r: ActRun, want: JobsWanted) => expectJobResults(shape, r, want, 25);
  /** The JSON summary line npm run preview|up prints last (infra/automation.ts summaryLine). */
  const summaryOf = (r: ActRun, job: string, command: "preview" | "up") => {
    const line = r.lines(job).filter((l) => l.startsWith(`{"command":"${command}"`)).at(-1);
    check(line, `${r.scenario}: the ${job} job printed no ${command} summary`);
    return JSON.parse(line) as { changes: Record<string, number> };
  };
  const testsRan = (r: ActRun) => {
    // The spec reporter colours its lines (ANSI escapes) also when not on a terminal.
    const lines = r.lines("test").map((l) => l.replace(/\u001b\[[0-9;]*m/g, ""));
    const n = (what: string) => Number(lines.map((l) => new RegExp(`^ℹ ${what} (\\d+)$`).exec(l.trim())).find(Boolean)?.[1] ?? NaN);
    check(n("tests") > 0 && n("fail") === 0, `${r.scenario}: npm test ran ${n("tests")} tests, ${n("fail")} failed`);
    return `npm test: ${n("tests")} tests, 0 failed`;
  };
  /**
   * What the cache stand-ins did: setup-node's npm cache (step 1 of test and up), the built tools
   * (step 4 of test: a miss, as this runner's tools are in MIRROR_FLEET_TOOLS, not the cached
   * folder) and the Pulumi cache (step 3 of up).
   */
  const caches = (r: ActRun, job: string) => {
    const npm = r.outputs.get(job)?.get("1")?.get("cache-hit");
    const second = job === "test" ? ["tools", r.outputs.get(job)?.get("4")?.get("cache-hit")] : ["Pulumi CLI and plugins", r.outputs.get(job)?.get("3")?.get("cache-hit")];
    return { npm, text: `${job}: npm cache-hit=${npm}, ${second[0]} cache-hit=${second[1]}` };
  };
  const repoPayload = { name: "fleet", full_name: FLEET_REPO, default_branch: "main", private: true, owner: { login: OWNER } };
  const mirrorRepo = `${OWNER}/mirror-${MIRROR}`;

  // ---------------------------------------------------------------- 1. a pull request
  out("\n== a pull request: test, preview, the preview posted on it ==");
  const base = gh.head(FLEET_REPO, "main")!.sha;
  gh.repo(FLEET_REPO).refs.set("refs/heads/docs-note", base);
  const head = gh.addCommit(FLEET_REPO, { branch: "docs-note", files: { "docs/fleet-note.md": "A note, to open a pull request with.\n" }, message: "docs: a note" });
  const pr = await step("a pull request from docs-note (the stand-in's POST /repos/{owner}/{repo}/pulls)", async () => {
    const res = await fetch(`${gh.url}/repos/${FLEET_REPO}/pulls`, {
      method: "POST",
      headers: { authorization: `token ${gh.token}`, accept: "application/vnd.github+json", "content-type": "application/json" },
      body: JSON.stringify({ title: "docs: a note", head: "docs-note", base: "main" }),
    });
    const body = (await res.json()) as { number: number };
    check(res.status === 201, `POST pulls: ${res.status} ${JSON.stringify(body)}`);
    return [body.number, `#${body.number}: docs-note ${head.slice(0, 12)} -> main ${base.slice(0, 12)}`];
  });
  await step("act pull_request: test -> preview (s3 backend, preview App) -> comment (github-script) on the pull request; nothing deployed", async () => {
    const pull = { number: pr, head: { sha: head, ref: "docs-note", repo: { full_name: FLEET_REPO } }, base: { sha: base, ref: "main", repo: { full_name: FLEET_REPO } } };
    const r = await actRun("1-pull-request", "pull_request", head, { action: "opened", number: pr, pull_request: pull, repository: repoPayload });
    expectJobs(r, { test: "success", preview: "success", comment: "success", up: "absent" });
    const preview = summaryOf(r, "preview", "preview");
    check((preview.changes.create ?? 0) > 0, `the preview plans no creation: ${JSON.stringify(preview.changes)}`);
    const comments = gh.comments(FLEET_REPO, pr);
    check(comments.length === 1, `${comments.length} comments on #${pr}`);
    const c = comments[0] as unknown as { body: string; user: { login: string; type?: string } };
    check(c.body.startsWith(PREVIEW_MARKER) && /succeeded/.test(c.body) && c.body.includes(`mirror-${MIRROR}`) && c.body.includes(head), `the comment on #${pr}:\n${c.body.slice(0, 600)}`);
    check(!gh.hasRepo(mirrorRepo), `${mirrorRepo} exists after a preview`);
    return [undefined, `jobs: ${results(r)}\n${testsRan(r)}\n${caches(r, "test").text}; ${caches(r, "preview").text}\npreview: ${JSON.stringify(preview.changes)}\ncomment on #${pr} by ${JSON.stringify(c.user)}: ${c.body.split("\n")[1]}`];
  });

  // ---------------------------------------------------------------- 2. merged: push to main
  out("\n== merged: push to main runs test and up; a second push changes nothing ==");
  const pushPayload = (before: string) => {
    const h = gh.head(FLEET_REPO, "main")!;
    return { ref: "refs/heads/main", before, after: h.sha, repository: repoPayload, pusher: { name: "alice" }, head_commit: { id: h.sha, message: h.message } };
  };
  gh.mergePull(FLEET_REPO, pr, "alice");
  const merged = gh.head(FLEET_REPO, "main")!.sha;
  await step("act push (the merge): test -> up as the deploy App: the mirror and the pipeline repository in the stand-in", async () => {
    const r = await actRun("2-push-up", "push", merged, pushPayload(base), "refs/heads/main");
    expectJobs(r, { test: "success", up: "success", preview: "absent", comment: "absent" });
    const up = summaryOf(r, "up", "up");
    check((up.changes.create ?? 0) > 0, `up created nothing: ${JSON.stringify(up.changes)}`);
    check(gh.hasRepo(mirrorRepo), `the stand-in has no ${mirrorRepo} after up`);
    const pipelineRepo = `${OWNER}/${PIPELINE_REPOSITORY_NAME}`;
    check(gh.hasRepo(pipelineRepo), `the stand-in has no ${pipelineRepo} after up`);
    // What the mirror's next run would run, as up left it: its caller names a shared workflow the pipeline
    // repository holds at that commit, whose jobs name the pipeline action at a commit holding action.yml;
    // localRepositories resolves every uses: of the chain (or fails naming the one it cannot).
    const caller = gh.readFile(mirrorRepo, "main", MIRROR_PATHS.workflow) ?? fail(`${mirrorRepo} has no ${MIRROR_PATHS.workflow} after up`);
    const called = calledWorkflow(caller);
    check(called?.repository === pipelineRepo, `${mirrorRepo}'s ${MIRROR_PATHS.workflow} calls ${JSON.stringify(called)}, not a shared workflow of ${pipelineRepo}`);
    const shared = gh.readFileAt(pipelineRepo, called.commit, called.path) ?? fail(`${pipelineRepo} has no ${called.path} at ${called.commit}, which ${mirrorRepo} calls`);
    const actionRefs = usesOf(shared).filter((u) => u.startsWith(`${pipelineRepo}@`));
    check(actionRefs.length === 1, `${called.path} names the pipeline action as ${actionRefs.join(", ") || "nothing"}`);
    const actionCommit = actionRefs[0].split("@")[1];
    check(gh.readFileAt(pipelineRepo, actionCommit, PIPELINE_PATHS.action) !== undefined, `${pipelineRepo} has no ${PIPELINE_PATHS.action} at ${actionCommit}`);
    const mapped = localRepositories(caller, gh, path.join(work, "exported-actions"));
    check(gh.repo(mirrorRepo).createdBy === `${DEPLOY.slug}[bot]`, `${mirrorRepo} was created by ${gh.repo(mirrorRepo).createdBy}`);
    const state = await (await fetch(`${s3}/${BUCKET}?list-type=2`)).text();
    // npm run up writes the state with zstd (infra/automation.ts engineEnv): one checkpoint, compressed.
    const keys = [...state.matchAll(/<Key>(\.pulumi\/stacks\/mirror-fleet\/prod\.json[^<]*)<\/Key>/g)].map((m) => m[1]);
    check(keys.includes(".pulumi/stacks/mirror-fleet/prod.json.zst") && !keys.includes(".pulumi/stacks/mirror-fleet/prod.json"), `the bucket holds no compressed state of the stack: ${keys.join(", ") || state.slice(0, 400)}`);
    // The test job of the pull request saved npm's cache in its post step; this run restores it.
    check(caches(r, "test").npm === "true" && caches(r, "up").npm === "true", `npm's cache was not restored: ${caches(r, "test").text}; ${caches(r, "up").text}`);
    return [
      undefined,
      `jobs: ${results(r)}\n${testsRan(r)}\n${caches(r, "test").text}; ${caches(r, "up").text}\nup: ${JSON.stringify(up.changes)}; ${mirrorRepo} created by ${DEPLOY.slug}[bot]; state in s3://${BUCKET}/.pulumi/stacks/mirror-fleet/prod.json.zst\n` +
        `${mirrorRepo} calls ${called.path}@${called.commit.slice(0, 12)}, which runs ${pipelineRepo}@${actionCommit.slice(0, 12)}; ${mapped.length} repositories and commits resolved for act`,
    ];
  });
  await step("act push again: up changes nothing", async () => {
    const writes = gh.writes().filter((w) => w.operationId !== "apps/create-installation-access-token").length;
    const r = await actRun("3-push-no-change", "push", merged, pushPayload(merged), "refs/heads/main");
    expectJobs(r, { test: "success", up: "success" });
    const up = summaryOf(r, "up", "up");
    const changed = Object.entries(up.changes).filter(([op, n]) => op !== "same" && n > 0);
    check(changed.length === 0, `the second up changed: ${JSON.stringify(up.changes)}`);
    const after = gh.writes().filter((w) => w.operationId !== "apps/create-installation-access-token").length;
    check(after === writes, `${after - writes} GitHub write(s) by a no-change up`);
    return [undefined, `jobs: ${results(r)}; ${caches(r, "up").text}; up: ${JSON.stringify(up.changes)}; no GitHub write`];
  });

  await step("the stand-in: no request GitHub would refuse, none it does not implement", async () => {
    check(gh.rejected.length === 0, `the stand-in rejected: ${JSON.stringify(gh.rejected.slice(0, 3))}`);
    check(gh.unimplemented.length === 0, `not implemented by the stand-in: ${JSON.stringify(gh.unimplemented.slice(0, 3))}`);
    check(gh.badResponses.length === 0, `answers not matching GitHub's response schema: ${JSON.stringify(gh.badResponses.slice(0, 3))}`);
    return [undefined, `${gh.requests.length} requests, ${gh.writes().length} writes, none refused`];
  });

  const coverageFile = path.resolve(process.env.E2E_FLEET_COVERAGE ?? path.join(ROOT, "e2e-fleet-coverage.json"));
  await step(`coverage of ${FLEET_WORKFLOW_PATH} across the runs: e2e-fleet-coverage.json`, async () => {
    const c = coverage.write(coverageFile);
    check(c.missing.length === 0, `${c.missing.join("\n    ")}\n    (${coverageFile})`);
    return [undefined, `${c.steps}\nno exemption`];
  });
  return coverageFile;
}

function main(): Promise<number> {
  return runE2e(out, `mirror-fleet e2e: the fleet repository's own ${FLEET_WORKFLOW_PATH}, run by act\n`, e2e, () => ({ label: "E2E (fleet workflow)", failedStep: failed(), actLogs, keptLogs: KEPT_LOGS }));
}

export const USAGE = `usage: npm run e2e:fleet

The fleet repository's own .github/workflows/fleet.yml run by act (npm run
engine:build builds act, the Pulumi CLI, the GitHub provider and moto): a
pull request (test, preview, the comment), its merge (test, up) and a push
that changes nothing, against a GitHub stand-in and an s3:// state bucket on
moto_server, on 127.0.0.1. npm run e2e runs it first. Takes no options.
Exits 0 when it passes, 1 when a step fails (the step and its reason are
printed). Its last line is the path of e2e-fleet-coverage.json.
  E2E_FLEET_COVERAGE  where to write the coverage file (default ./e2e-fleet-coverage.json)
`;

if (require.main === module) e2eCommand("e2e:fleet", USAGE, main);
