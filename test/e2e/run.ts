/**
 * `npm run e2e`: the mirror workflow as rendered, run by act (built from its
 * Go module), jobs on the host, night after night against one GitHub
 * stand-in, one registry and one upstream git server, asserting on the
 * stand-in's state, the registry's content and act's job results.
 *
 * Nothing restates the workflow here: the files act runs are byte for byte
 * what `npm run render` writes: the mirror's `.github/workflows/mirror.yml`
 * (a caller, as the stand-in's mirror repository holds it) and the shared
 * workflow it calls by commit, which act reads from the stand-in's pipeline
 * repository at that commit (`--local-repository`, test/e2e/actions.ts), as
 * it reads the pipeline action its jobs name by action.yml's commit. The
 * coverage counts the shared workflow's steps and outputs: the caller has
 * none. act does not enforce, on this path or any, job-level
 * `timeout-minutes`, `continue-on-error` or `environment:`, nor check the
 * called workflow's `inputs:` types and `required:` (nektos/act 0.2.89): no
 * check here relies on them. The only substitutions are the
 * third-party actions, mapped to small local stand-ins (test/e2e/actions.ts,
 * test/actions/README.md). The build step's own `docker buildx build` runs
 * against a real BuildKit (buildkitd and the buildx plugin built from their
 * modules, buildx's remote driver); Trivy, cosign, skopeo, git and the
 * registry are real. The runner's environment supplies what a self-hosted
 * runner would: the Trivy built from its module (the install step downloads
 * from github.com: exempt, see EXEMPT), the offline vulnerability DB of
 * planted advisories, the registry's CA, a git rewrite of
 * https://github.com/ to the local upstream server.
 *
 * The nights, as events:
 *   1. push (a new mirror, nothing pinned): v1.1.0 built for amd64 and arm64,
 *      scanned, BLOCKED by the planted advisories: cve issue, nothing pushed,
 *      the webhook sink told, no pin pull request;
 *   2. push of the waivers (what `pulumi up` commits): PASS; pushed digest ==
 *      scanned digest for the index and every platform; signed and attested;
 *      pin pull request with the kustomize Component; a reviewer merges it;
 *   3. schedule, nothing new upstream: only `resolve` runs;
 *   4. schedule, upstream released v1.2.0 with a changed Dockerfile: the
 *      override-review issue; nothing built;
 *   5. schedule, after a reviewer closed it as completed: built, pinned
 *      with the approval recorded;
 *   6. workflow_dispatch with tag and force: the pinned tag rebuilt;
 *   7. schedule (rescan cron) after an advisory is added to the DB: the
 *      rescan issue; once it is withdrawn, the next rescan closes it;
 *   8. schedule (health cron), upstream archived: the upstream-health issue.
 * Then cosign verifies what was signed and `kyverno apply` admits the pinned
 * digest and denies the rest. The run writes e2e-coverage.json (every step of
 * every job: executed in which nights; every `needs.*.outputs.*` with the
 * value seen) and prints its path last.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { kyvernoPolicy } from "../../components/admission";
import { FLEET_LABELS } from "../../contract";
import { applyWindowPolicy, waitPastWindow, WINDOW_SECONDS, type AdmissionWindowWorld } from "./admission-window";
import { MIRROR_PATHS } from "../../components/mirror-config";
import { PIPELINE_PATHS, PIPELINE_REPOSITORY_NAME, SHARED_WORKFLOW_DIR } from "../../components/pipeline-action";
import { renderMirrorFiles } from "../../components/render";
import { parsePinFile } from "../../components/report";
import { resolveFleet } from "../../components/spec";
import type { MirrorSpec, ResolvedMirror, StackSettings } from "../../components/types";
import { toYaml } from "../../components/yaml";
import { readProjectFile } from "../../infra/mirrors";
import { policy } from "../../infra/policy";
import { renderFleet, type RenderInputs } from "../../infra/render";
import { KUSTOMIZE_PATH } from "../../pipeline/lib/pin";
import { SCAN_GATE_PREDICATE_TYPE } from "../../pipeline/lib/sign";
import sodium from "libsodium-wrappers";
import { WEBHOOK_SECRETS } from "../../components/mirrored-image";
import { COSIGN_SECRETS } from "../../components/workflow/sign";
import { startGitHubStandIn, type GitHubStandIn } from "../support/github-standin";
import { serveGit, gitRequestOf } from "../support/git-http";
import { buildWithComponent } from "../support/kustomize";
import { toolPath, toolsDir, toolVersions } from "../support/tools";
import { Coverage, expectJobResults, jobResults, runAct, workflowShape, type ActRun, type JobsWanted, type Exemption } from "./act";
import { calledWorkflow, localRepositories, STAND_INS } from "./actions";
import { PIPELINE } from "../workflow/fixtures";
import spec, { WAIVERS } from "./fixtures/e2e-hello";
import {
  check,
  Cleanup,
  e2eCommand,
  fail,
  isStaticElf,
  lastLines,
  makeTls,
  must,
  registryManifest,
  registrySnapshot,
  registryTags,
  removeCreatedLater,
  run,
  startBuildkit,
  startHttp,
  stepper,
  runE2e,
  startRegistry,
  tempDir,
  toolSideEffectDirs,
  which,
  type Registry,
} from "./harness";
import { checkScanOutputs, PLANTED, PLATFORMS, trivyEnv } from "./scan-checks";

const FIXTURES = path.join(__dirname, "fixtures");
const ROOT = path.resolve(__dirname, "..", "..");
const ENTRY_FILE = "test/e2e/fixtures/e2e-hello.ts";
const OWNER = "e2e-org";
const UPSTREAM = "e2e-upstream/hello";
const COSIGN_PASSWORD = "e2e fleet key password";
const APT_PACKAGES = "git skopeo docker-registry busybox-static runc docker.io jq sudo qemu-user-static openssl";

/**
 * What cannot run here, with the reason (at most two). Both are the same
 * install step, in the build and the rescan job: under act the step's own
 * `if:` skips it (components/workflow/trivy.ts NOT_UNDER_ACT).
 */
const EXEMPT_WHY =
  "downloads Trivy's release from github.com and verifies its checksum file's Sigstore bundle against the public-good trust root (certificate of Trivy's release workflow at the tag); neither github.com nor Sigstore is reachable here. The runner brings the Trivy built from github.com/aquasecurity/trivy at the same version instead; the scan steps run it.";

// ---------------------------------------------------------------- output

const out = (line: string) => process.stdout.write(`${line}\n`);
const steps = stepper(out);
const step = steps.step;
/** act's logs of every night, copied next to the checkout when the run fails (the run's folder is removed). */
let actLogs: string | undefined;
const KEPT_LOGS = path.resolve(__dirname, "..", "..", ".e2e-tmp", "act-logs");

// ---------------------------------------------------------------- the parts

/** The pipeline's commits, as the stack's `pipeline` output gives them to `npm run render -- --pipeline FILE`. */
type PipelineCommits = Pick<RenderInputs, "pipelineCommit" | "pipelineWorkflows">;

/** `npm run render`'s own function (infra/render.ts renderFleet) with this one entry, into `out`. */
function render(outDir: string, entry: MirrorSpec, settings: StackSettings, pipeline: PipelineCommits = {}): { mirror: ResolvedMirror; changed: string[] } {
  const inputs = { entries: [{ file: ENTRY_FILE, spec: entry }], policy, settings, readFile: readProjectFile, ...pipeline };
  const mirror = resolveFleet(inputs.entries, inputs).mirrors[0];
  const paths = renderMirrorFiles(mirror, PIPELINE).map((f) => f.path);
  const read = (p: string) => (fs.existsSync(path.join(outDir, mirror.repo, p)) ? fs.readFileSync(path.join(outDir, mirror.repo, p), "utf8") : undefined);
  const before = new Map(paths.map((p) => [p, read(p)]));
  renderFleet(outDir, inputs);
  return { mirror, changed: paths.filter((p) => read(p) !== before.get(p)) };
}

/** The test upstream: one commit and one annotated tag per release, on fixed dates; released one at a time. */
class Upstream {
  readonly tags = new Map<string, { commit: string; time: number }>();
  private time = Date.parse("2026-01-05T10:00:00Z") / 1000;

  constructor(
    private readonly cleanup: Cleanup,
    readonly dir: string,
    private readonly busybox: string,
  ) {}

  private git(args: string[], extra: Record<string, string> = {}) {
    return must(this.cleanup, `git ${args[0]}`, "git", args, {
      cwd: this.dir,
      env: { PATH: process.env.PATH, HOME: this.dir, GIT_CONFIG_NOSYSTEM: "1", GIT_AUTHOR_NAME: "Upstream Dev", GIT_AUTHOR_EMAIL: "dev@upstream.invalid", GIT_COMMITTER_NAME: "Upstream Dev", GIT_COMMITTER_EMAIL: "dev@upstream.invalid", ...extra },
    });
  }

  async release(tag: string): Promise<{ commit: string; time: number }> {
    if (!fs.existsSync(path.join(this.dir, ".git"))) {
      fs.mkdirSync(this.dir, { recursive: true });
      await this.git(["init", "--quiet", "--initial-branch=main"]);
      fs.copyFileSync(this.busybox, path.join(this.dir, "busybox"));
    }
    fs.cpSync(path.join(FIXTURES, "upstream", tag), this.dir, { recursive: true });
    const date = `@${this.time} +0000`;
    await this.git(["add", "--all"]);
    await this.git(["commit", "--quiet", "-m", `release ${tag}`], { GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date });
    await this.git(["tag", "-a", tag, "-m", tag], { GIT_COMMITTER_DATE: date });
    const commit = (await this.git(["rev-parse", `${tag}^{commit}`])).stdout.trim();
    const t = { commit, time: this.time };
    this.tags.set(tag, t);
    this.time += 14 * 86_400;
    return t;
  }
}

// ---------------------------------------------------------------- the run

/** One call to the stand-in's API, as the provider makes it; anything but 2xx stops the run. */
async function api(s: GitHubStandIn, method: string, url: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(`${s.url}${url}`, { method, headers: { authorization: `token ${s.token}`, "content-type": "application/json" }, body: JSON.stringify(body) });
  const text = await res.text();
  check(res.ok, `${method} ${url}: ${res.status} ${text}`);
  return text ? (JSON.parse(text) as Record<string, unknown>) : {};
}

/** An Actions secret as GitHub takes it: sealed (libsodium's sealed box) to the repository's, or the environment's, public key. */
async function seal(s: GitHubStandIn, repo: string, environment: string | undefined, name: string, value: string): Promise<void> {
  const base = environment ? `/repos/${repo}/environments/${environment}/secrets` : `/repos/${repo}/actions/secrets`;
  const res = await fetch(`${s.url}${base}/public-key`, { headers: { authorization: `token ${s.token}` } });
  check(res.ok, `GET ${base}/public-key: ${res.status}`);
  const key = (await res.json()) as { key: string; key_id: string };
  await sodium.ready;
  const sealed = sodium.crypto_box_seal(sodium.from_string(value), sodium.from_base64(key.key, sodium.base64_variants.ORIGINAL));
  await api(s, "PUT", `${base}/${name}`, { encrypted_value: sodium.to_base64(sealed, sodium.base64_variants.ORIGINAL), key_id: key.key_id });
}

async function e2e(cleanup: Cleanup): Promise<string> {
  const busybox = process.env.E2E_BUSYBOX ?? "/bin/busybox";
  const tools: Record<string, string> = {};

  await step("preflight: the tools npm run engine:build builds, and the runner's Debian packages (tools/setup.sh)", async () => {
    const missing = ["git", "skopeo", "docker-registry", "runc", "sudo", "jq", "openssl"].filter((t) => !which(t));
    if (!fs.existsSync("/usr/bin/docker")) missing.push("/usr/bin/docker (docker.io)");
    if (!fs.existsSync(busybox)) missing.push(`a static busybox at ${busybox}`);
    else if (!isStaticElf(busybox)) missing.push(`a static busybox (${busybox} is dynamically linked: install busybox-static, not busybox)`);
    if (missing.length > 0) fail(`missing: ${missing.join(", ")}. On Debian/Ubuntu: apt-get install ${APT_PACKAGES} (bash tools/setup.sh does)`);
    try {
      for (const [name, tool] of [["act", "act"], ["buildkitd", "buildkit"], ["buildctl", "buildkit"], ["docker-buildx", "buildx"], ["trivy", "trivy"], ["trivy-db", "trivy_db"], ["cosign", "cosign"], ["kustomize", "kustomize"]]) {
        tools[name] = fs.realpathSync(toolPath(name, tool));
      }
    } catch (e) {
      fail((e as Error).message);
    }
    const v = toolVersions();
    for (const release of [v.cosign, v.cosign_v3]) {
      if (!fs.existsSync(path.join(toolsDir(), `cosign-${release}`, "bin", "cosign"))) fail(`cosign ${release} is not built (run: npm run engine:build -- cosign cosign_v3)`);
    }
    const act = (await must(cleanup, "act --version", tools.act, ["--version"])).stdout.trim();
    return [undefined, `${act}; buildkitd, buildctl ${v.buildkit}; docker-buildx ${v.buildx}; trivy ${v.trivy}; cosign ${v.cosign} and ${v.cosign_v3}\nrunner packages: git, skopeo, docker-registry, runc, /usr/bin/docker, sudo, jq, openssl, static busybox`];
  });

  removeCreatedLater(cleanup, toolSideEffectDirs());
  const work = tempDir(cleanup, "mirror-fleet-e2e-");
  const tmp = path.join(work, "tmp");
  const logs = path.join(work, "logs");
  for (const d of [tmp, logs]) fs.mkdirSync(d);
  actLogs = logs;
  const upstream = new Upstream(cleanup, path.join(work, "upstream"), busybox);
  const v100 = await upstream.release("v1.0.0");
  const v110 = await upstream.release("v1.1.0");

  const keys = path.join(work, "keys");
  const cosignHome = path.join(work, "cosign-home");
  fs.mkdirSync(cosignHome, { recursive: true });
  const settings: StackSettings = await step("fleet key pair: cosign generate-key-pair (the README's command), and a second, wrong, pair", async () => {
    for (const dir of ["fleet", "wrong"]) {
      fs.mkdirSync(path.join(keys, dir), { recursive: true });
      await must(cleanup, "cosign generate-key-pair", tools.cosign, ["generate-key-pair"], { cwd: path.join(keys, dir), env: { PATH: process.env.PATH, HOME: cosignHome, COSIGN_PASSWORD } });
    }
    const publicKey = fs.readFileSync(path.join(keys, "fleet", "cosign.pub"), "utf8");
    return [
      { owner: OWNER, registryNamespace: OWNER, visibility: "private", branchProtection: false, attestations: false, cosignPublicKey: publicKey } as StackSettings,
      `${keys}/fleet/cosign.{key,pub}; ${keys}/wrong/cosign.pub`,
    ];
  });

  const tls = await makeTls(cleanup, path.join(work, "tls"));
  const registry: Registry = await step("registry: docker-registry on 127.0.0.1 over HTTPS (a CA of this run), own storage", async () => {
    const r = await startRegistry(cleanup, path.join(work, "registry"), tls);
    return [r, `pid ${r.pid}, https://${r.host}, storage ${r.storage}`];
  });
  // The stack's registry setting (mirror-fleet:registry): the workflow pushes here, as it pushes to GHCR on github.com.
  const stack: StackSettings = { ...settings, registry: registry.host };

  const sink: Array<{ path: string; body: string }> = [];
  const hooks = await startHttp(cleanup, "webhook sink", (req, res, body) => {
    sink.push({ path: req.url ?? "/", body: body.toString("utf8") });
    res.writeHead(200, { "content-type": "text/plain" }).end("ok");
  });
  const upstreamGit = await startHttp(cleanup, "upstream git server", async (req, res, body) => {
    const g = gitRequestOf(req.url ?? "/");
    if (!g || `${g.owner}/${g.repo}` !== UPSTREAM) return void res.writeHead(404).end("not found\n");
    await serveGit(req, res, body, path.join(upstream.dir, ".git"), g.service);
  });

  const renderDir = path.join(work, "rendered");
  const entry: MirrorSpec = { ...spec, notify: ["slack"] };
  let { mirror } = await step("render: npm run render's renderFleet, the stack's registry set to this registry", async () => {
    const r = render(renderDir, entry, stack);
    check(r.mirror.image === `${registry.host}/${OWNER}/${r.mirror.name}`, `the mirror's image is ${r.mirror.image}, not in the stack's registry ${registry.host}`);
    return [r, `${r.changed.length} files; image ${r.mirror.image}`];
  });
  const mirrorDir = path.join(renderDir, mirror.repo);
  const repoFullName = `${mirror.owner}/${mirror.repo}`;
  const workflowFile = path.join(mirrorDir, MIRROR_PATHS.workflow);
  const image = mirror.image;
  const imageName = image.slice(registry.host.length + 1);

  /**
   * The pipeline repository and the commits pulumi up would have made of it
   * (components/pipeline-repository.ts): action.yml's, which the shared
   * workflow's jobs name, then the shared workflow's, which the mirror's
   * caller names.
   */
  const pipelineRepo = `${OWNER}/${PIPELINE_REPOSITORY_NAME}`;
  const pipelineDir = path.join(renderDir, PIPELINE_REPOSITORY_NAME);
  let pipeline: Required<PipelineCommits> | undefined;
  const gh: GitHubStandIn = await step("GitHub stand-in: the pipeline repository (the action, then the shared workflow naming its commit) and the mirror repository as `pulumi up` leaves them (files and sealed secrets; no fleet labels: the pipeline makes them), the upstream's repository", async () => {
    const s = await startGitHubStandIn();
    cleanup.add(`GitHub stand-in on ${s.url}`, () => s.stop());
    s.addOrg(OWNER);
    // The pipeline repository first, in pulumi up's order: the action (its commit is the pin), then each
    // shared workflow as render writes it for that commit; every render then names those commits.
    const actionFiles: Record<string, string> = {};
    for (const p of Object.values(PIPELINE_PATHS)) actionFiles[p] = fs.readFileSync(path.join(pipelineDir, p), "utf8");
    s.addRepo(pipelineRepo, { files: actionFiles });
    const pipelineCommit = s.head(pipelineRepo, "main")!.sha;
    render(renderDir, entry, stack, { pipelineCommit });
    const pipelineWorkflows: Record<string, string> = {};
    for (const name of fs.readdirSync(path.join(pipelineDir, SHARED_WORKFLOW_DIR)).sort()) {
      const p = `${SHARED_WORKFLOW_DIR}/${name}`;
      pipelineWorkflows[name] = s.addCommit(pipelineRepo, { files: { [p]: fs.readFileSync(path.join(pipelineDir, p), "utf8") }, message: `mirror-fleet: update ${p}` });
    }
    pipeline = { pipelineCommit, pipelineWorkflows };
    mirror = render(renderDir, entry, stack, pipeline).mirror;
    // The pipeline repository holds exactly what render writes with those commits.
    const renderedPipeline = fs.readdirSync(pipelineDir, { recursive: true, encoding: "utf8" }).filter((p) => fs.statSync(path.join(pipelineDir, p)).isFile()).sort();
    const held = [...s.head(pipelineRepo, "main")!.tree.keys()].sort();
    check(JSON.stringify(held) === JSON.stringify(renderedPipeline), `${pipelineRepo} holds ${held.join(", ")}; render wrote ${renderedPipeline.join(", ")}`);
    for (const p of held) check(s.readFile(pipelineRepo, "main", p) === fs.readFileSync(path.join(pipelineDir, p), "utf8"), `${pipelineRepo}: ${p} differs from npm run render's`);
    const files: Record<string, string> = {};
    for (const f of renderMirrorFiles(mirror, PIPELINE)) files[f.path] = fs.readFileSync(path.join(mirrorDir, f.path), "utf8");
    s.addRepo(repoFullName, { files });
    // Two files a person could add to the mirror repository, which Trivy reads from its working folder
    // by default: each would hide findings from the gate. Every night must find exactly the planted ones.
    s.putFile(repoFullName, "main", ".trivyignore", `${PLANTED.build.join("\n")}\n`, "a .trivyignore by hand");
    s.putFile(repoFullName, "main", "trivy.yaml", "severity:\n  - LOW\nscan:\n  skip-dirs:\n    - upstream\n", "a trivy.yaml by hand");
    // The upstream as the health check reads it from the API (its git is served by the upstream server).
    // The secrets as pulumi up leaves them: sealed to the repository's (or its
    // signing environment's) public key through GitHub's API. The runner gets
    // them back opened (secrets(), below): the run signs with the key the
    // secret holds. (test/engine/github-strict.test.ts: the provider's sealed
    // secrets open to the stack's values.)
    const signingEnv = mirror.signing?.environment ?? undefined;
    if (signingEnv) await api(s, "PUT", `/repos/${repoFullName}/environments/${signingEnv}`, {});
    await seal(s, repoFullName, signingEnv, COSIGN_SECRETS.privateKey, fs.readFileSync(path.join(keys, "fleet", "cosign.key"), "utf8"));
    await seal(s, repoFullName, signingEnv, COSIGN_SECRETS.password, COSIGN_PASSWORD);
    await seal(s, repoFullName, undefined, WEBHOOK_SECRETS.slack, `${hooks.url}/slack`);
    s.addRepo(UPSTREAM, { private: false, date: new Date(v100.time * 1000).toISOString() });
    s.addTag(UPSTREAM, "v1.0.0");
    s.addTag(UPSTREAM, "v1.1.0", s.addCommit(UPSTREAM, { message: "release v1.1.0", date: new Date(v110.time * 1000).toISOString() }));
    const workflows = Object.entries(pipelineWorkflows).map(([name, sha]) => `${name} at ${sha}`).join(", ");
    return [s, `${s.url}: ${pipelineRepo}: action.yml at ${pipelineCommit}, ${workflows}; ${repoFullName} (${Object.keys(files).length} files and a hand-made .trivyignore and trivy.yaml, no fleet label, the signing key sealed in ${signingEnv ? `environment ${signingEnv}` : "repository secrets"}), ${UPSTREAM}`];
  });

  // ---------------------------------------------------------------- the runner

  const trivyCache = path.join(work, "trivy-cache");
  await step("vulnerability DB: npm run trivy:db's program on the planted advisories (offline; no download)", async () => {
    const r = await must(cleanup, "trivy-db", tools["trivy-db"], ["--fixtures", path.join(FIXTURES, "trivy-db"), "--cache-dir", trivyCache]);
    return [undefined, `${r.stdout.trim()}\nthe DB holds only the planted advisories (${PLANTED.build.join(", ")}): every finding below is one of them`];
  });
  const buildkit = await step("BuildKit: buildkitd (OCI worker, runc, native snapshotter) for buildx's remote driver", async () => {
    const b = await startBuildkit(cleanup, path.join(work, "buildkit"), tools.buildkitd, tools.buildctl);
    return [b, `${b.address}; worker platforms ${b.platforms} (no binfmt: arm64 stages must not RUN anything)`];
  });

  const runner = path.join(work, "runner");
  const dockerConfig = path.join(runner, "docker");
  fs.mkdirSync(path.join(dockerConfig, "cli-plugins"), { recursive: true });
  fs.symlinkSync(tools["docker-buildx"], path.join(dockerConfig, "cli-plugins", "docker-buildx"));
  fs.mkdirSync(path.join(runner, "home"), { recursive: true });
  const gitconfig = path.join(runner, "gitconfig");
  // Upstreams are github.com repositories: the runner's git fetches them from the local upstream server instead.
  fs.writeFileSync(gitconfig, `[url "${upstreamGit.url}/"]\n\tinsteadOf = https://github.com/\n`);
  const artifacts = path.join(work, "artifacts");
  const sarifs = path.join(work, "sarif");
  const runnerEnv: Record<string, string> = {
    // The Trivy built from its module first (the install step is exempt), the runner's Node.js (what JavaScript
    // actions run on), the system; not /usr/local/bin, whatever it holds on this machine.
    PATH: [path.dirname(tools.trivy), path.dirname(process.execPath), "/usr/sbin", "/usr/bin", "/sbin", "/bin"].join(":"),
    HOME: path.join(runner, "home"),
    TMPDIR: tmp,
    LANG: "C.UTF-8",
    DOCKER_CONFIG: dockerConfig,
    GIT_CONFIG_GLOBAL: gitconfig,
    GIT_CONFIG_NOSYSTEM: "1",
    SSL_CERT_FILE: tls.caFile,
    ...trivyEnv(trivyCache),
    // The pipeline's pacing of GitHub writes (1-3 s each) only slows a run against the stand-in.
    MIRROR_GITHUB_THROTTLE: "off",
    // For the action stand-ins (test/actions).
    MIRROR_FLEET_TOOLS: toolsDir(),
    MIRROR_FLEET_ROOT: ROOT,
    MIRROR_FLEET_ARTIFACTS: artifacts,
    MIRROR_FLEET_SARIF: sarifs,
    MIRROR_FLEET_BUILDKIT_HOST: buildkit.address,
  };
  const workdir = path.join(work, "workdir");
  // What the runner receives: each secret opened from the sealed box the stand-in holds.
  const secretIn = (name: string, environment?: string) => gh.secretValue(repoFullName, name, environment);
  const secrets = () => ({
    GITHUB_TOKEN: gh.token,
    [COSIGN_SECRETS.privateKey]: secretIn(COSIGN_SECRETS.privateKey, mirror.signing?.environment ?? undefined),
    [COSIGN_SECRETS.password]: secretIn(COSIGN_SECRETS.password, mirror.signing?.environment ?? undefined),
    [WEBHOOK_SECRETS.slack]: secretIn(WEBHOOK_SECRETS.slack),
  });
  const actEngine = (await must(cleanup, "act --version", tools.act, ["--version"])).stdout.trim().replace(/^act version /, "act ");
  // What runs is the shared workflow the caller names, read from the pipeline repository at that commit;
  // its steps and outputs are what the coverage counts (the caller has one job, no steps).
  const called = calledWorkflow(fs.readFileSync(workflowFile, "utf8"));
  check(called?.repository === pipelineRepo, `${MIRROR_PATHS.workflow} calls ${called ? `${called.repository}/${called.path}` : "no reusable workflow"}, not a shared workflow of ${pipelineRepo}`);
  check(called.commit === pipeline!.pipelineWorkflows[path.basename(called.path)], `${MIRROR_PATHS.workflow} calls ${called.path} at ${called.commit}, not at the commit that wrote it`);
  const sharedText = gh.readFileAt(pipelineRepo, called.commit, called.path);
  check(sharedText === fs.readFileSync(path.join(pipelineDir, called.path), "utf8"), `${pipelineRepo}@${called.commit}: ${called.path} differs from npm run render's`);
  const shape = workflowShape(sharedText);
  const exempt: Exemption[] = shape.jobs.flatMap((j) => j.steps.filter((s) => /^Install Trivy .*\(signature-verified\)$/.test(s.name)).map((s) => ({ job: j.id, step: s.name, why: EXEMPT_WHY })));
  const coverage = new Coverage(shape, actEngine, exempt, `${called.repository}/${called.path}@${called.commit}`);
  let runId = 0;

  /** One night: act runs the workflow file as rendered, for one event, against the current state. */
  const night = async (scenario: string, eventName: string, payload: Record<string, unknown>): Promise<ActRun> => {
    // The files act runs are the ones npm run render wrote: the caller the mirror repository holds, and the
    // shared workflow it calls, as the pipeline repository holds it at the commit the caller names.
    const rendered = fs.readFileSync(workflowFile, "utf8");
    check(gh.readFile(repoFullName, "main", MIRROR_PATHS.workflow) === rendered, `${MIRROR_PATHS.workflow} in the stand-in differs from npm run render's`);
    check(calledWorkflow(rendered)?.commit === called.commit, `${MIRROR_PATHS.workflow} now calls ${JSON.stringify(calledWorkflow(rendered))}, not ${called.path}@${called.commit}`);
    check(fs.readFileSync(path.join(pipelineDir, called.path), "utf8") === sharedText, `npm run render's ${called.path} is no longer the one at ${called.commit}`);
    // act's working directory: a clone at the head of main (github.sha).
    fs.rmSync(workdir, { recursive: true, force: true });
    const auth = `http.extraheader=AUTHORIZATION: basic ${Buffer.from(`x-access-token:${gh.token}`).toString("base64")}`;
    await must(cleanup, "git clone", "git", ["-c", auth, "clone", "--quiet", `${gh.url}/${repoFullName}`, workdir], { env: { PATH: process.env.PATH, HOME: runnerEnv.HOME, GIT_CONFIG_NOSYSTEM: "1" } });
    const r = await runAct(cleanup, scenario, { name: eventName, payload }, {
      act: tools.act,
      workflow: workflowFile,
      workdir,
      runsOn: "ubuntu-24.04",
      localRepositories: localRepositories(rendered, gh, path.join(work, "exported-actions")),
      githubEnv: {
        GITHUB_SERVER_URL: gh.url,
        GITHUB_API_URL: gh.url,
        // The stand-in plays github.com too, where the upstreams are: a runner whose GITHUB_SERVER_URL is
        // not github.com reads them on api.github.com otherwise (pipeline/github.ts upstreamGithub).
        MIRROR_UPSTREAM_API_URL: gh.url,
        GITHUB_REPOSITORY: repoFullName,
        GITHUB_REPOSITORY_OWNER: OWNER,
        GITHUB_REF: "refs/heads/main",
        GITHUB_RUN_ID: String(++runId),
        GITHUB_RUN_NUMBER: String(runId),
      },
      secrets: secrets(),
      runnerEnv,
      logDir: logs,
    });
    coverage.add(r);
    return r;
  };
  const repoPayload = () => ({ name: mirror.repo, full_name: repoFullName, default_branch: "main", private: true, owner: { login: OWNER } });
  const pushPayload = (before: string) => ({ ref: "refs/heads/main", before, after: gh.head(repoFullName, "main")!.sha, repository: repoPayload(), pusher: { name: "pulumi" }, head_commit: { id: gh.head(repoFullName, "main")!.sha, message: gh.head(repoFullName, "main")!.message } });
  const schedulePayload = (cron: string) => ({ schedule: cron, repository: repoPayload() });

  const results = (r: ActRun) => jobResults(shape, r);
  const expectJobs = (r: ActRun, want: JobsWanted) => expectJobResults(shape, r, want, 15);
  const out1 = (r: ActRun, job: string, stepId: string, name: string) => r.outputs.get(job)?.get(stepId)?.get(name);
  const issuesOf = (label: string) => gh.issues(repoFullName).filter((i) => i.labels.includes(label));

  // ---------------------------------------------------------------- night 1: push of a new mirror
  out("\n== night 1: the workflow's own push (a new mirror, nothing pinned) ==");
  await step("act push: resolve v1.1.0 -> review (first build: no diff) -> build (buildx, amd64 + arm64) -> scan -> BLOCKED; cve issue, webhook, nothing pushed, no pin PR", async () => {
    const r = await night("1-push-new-mirror", "push", pushPayload("0".repeat(40)));
    expectJobs(r, { resolve: "success", review: "success", build: "success", report: "success", block: "success", notify: "success", publish: "absent", pin: "absent", rescan: "absent", health: "absent" });
    check(out1(r, "resolve", "checked", "tag") === "v1.1.0" && out1(r, "resolve", "checked", "last_tag") === "", `resolve chose ${out1(r, "resolve", "checked", "tag")} (last ${out1(r, "resolve", "checked", "last_tag")})`);
    check(out1(r, "build", "gate", "verdict") === "block", `the gate said ${out1(r, "build", "gate", "verdict")}, expected block`);
    const cve = issuesOf("cve");
    check(cve.length === 1 && cve[0].state === "open", `cve issues: ${JSON.stringify(cve.map((i) => [i.number, i.state]))}`);
    for (const id of PLANTED.build) check((cve[0].body ?? "").includes(id), `the cve issue does not name ${id}`);
    // The pipeline made the labels it put on (none existed): the fleet's colour and description.
    const made = cve[0].labels.map((n) => gh.repo(repoFullName).labels.get(n.toLowerCase()));
    const want = cve[0].labels.map((n) => FLEET_LABELS.find((l) => l.name === n));
    check(cve[0].labels.length === 3 && JSON.stringify(made.map((l) => [l?.name, l?.color, l?.description])) === JSON.stringify(want.map((l) => [l?.name, l?.color, l?.description])), `the cve issue's labels in ${repoFullName}: ${JSON.stringify(made)}`);
    check((await registryTags(registry, imageName)).length === 0, `the registry has ${imageName} after a block`);
    check(gh.pulls(repoFullName).length === 0, "a pull request was opened after a block");
    check(sink.length === 1 && /blocked/i.test(sink[0].body) && sink[0].body.includes(`/issues/${cve[0].number}`), `the webhook sink got ${JSON.stringify(sink)}`);
    const audit = path.join(artifacts, String(runId), "audit");
    check(fs.existsSync(path.join(audit, "scan.json")), `no audit artifact at ${audit}`);
    const record = JSON.parse(fs.readFileSync(path.join(audit, "scan.json"), "utf8"));
    const scanLines = await checkScanOutputs(audit, record, { platforms: PLATFORMS, waived: [] });
    return [r, `jobs: ${results(r)}\ncve issue #${cve[0].number} (${cve[0].labels.join(", ")}); webhook: ${sink[0].path} told "blocked"; registry: no ${imageName}; no pull request\n${scanLines.join("\n")}`];
  });

  // ---------------------------------------------------------------- night 2: the waivers pushed
  out("\n== night 2: the waivers, committed by `pulumi up`, start a push run ==");
  const before2 = gh.head(repoFullName, "main")!.sha;
  ({ mirror } = render(renderDir, { ...entry, gate: { waivers: WAIVERS } }, stack, pipeline));
  const changed2 = renderMirrorFiles(mirror, PIPELINE).filter((f) => fs.readFileSync(path.join(mirrorDir, f.path), "utf8") !== gh.readFile(repoFullName, "main", f.path));
  for (const f of changed2) gh.addCommit(repoFullName, { files: { [f.path]: fs.readFileSync(path.join(mirrorDir, f.path), "utf8") }, message: `pulumi up: ${f.path}` });
  const pass = await step("act push: PASS with the waivers; publish pushes the scanned archive by digest; sign; pin PR with the kustomize Component", async () => {
    check(changed2.some((f) => f.path === MIRROR_PATHS.trivyignore), `the waivers did not change ${MIRROR_PATHS.trivyignore}`);
    const r = await night("2-push-waivers", "push", pushPayload(before2));
    expectJobs(r, { resolve: "success", review: "success", build: "success", report: "success", block: "success", publish: "success", pin: "success", notify: "success" });
    const scanned = out1(r, "build", "image", "digest")!;
    const pushed = out1(r, "publish", "publish", "digest")!;
    check(/^sha256:[0-9a-f]{64}$/.test(scanned) && pushed === scanned, `build scanned ${scanned}, publish pushed ${pushed}`);
    const byTag = await registryManifest(registry, imageName, "v1.1.0");
    check(byTag, `the registry has no ${imageName}:v1.1.0`);
    const served = `sha256:${createHash("sha256").update(byTag.body).digest("hex")}`;
    check(served === scanned && byTag.headers["docker-content-digest"] === scanned, `the registry serves ${served} (${byTag.headers["docker-content-digest"]}) for v1.1.0, the scan was of ${scanned}`);
    const audit = path.join(artifacts, String(runId), "audit");
    const record = JSON.parse(fs.readFileSync(path.join(audit, "scan.json"), "utf8")) as { platforms: Array<{ platform: string; digest: string }> };
    const index = JSON.parse(byTag.body.toString("utf8")) as { manifests: Array<{ digest: string; platform: { os: string; architecture: string } }> };
    const inRegistry = index.manifests.map((m) => `${m.platform.os}/${m.platform.architecture}@${m.digest}`).sort();
    const inScan = record.platforms.map((p) => `${p.platform}@${p.digest}`).sort();
    check(JSON.stringify(inRegistry) === JSON.stringify(inScan), `the pushed index holds ${inRegistry.join(", ")}; the scan covered ${inScan.join(", ")}`);
    const scanLines = await checkScanOutputs(audit, record as never, { platforms: PLATFORMS, waived: PLANTED.build });
    const sarifDir = path.join(sarifs, String(runId));
    const recorded = fs.existsSync(sarifDir) ? fs.readdirSync(sarifDir).sort() : [];
    check(recorded.length === PLATFORMS.length + 1, `upload-sarif recorded ${recorded.join(", ") || "nothing"}`);
    const pulls = gh.pulls(repoFullName).filter((p) => p.issue.state === "open");
    check(pulls.length === 1 && pulls[0].head === "mirror-build/v1.1.0", `open pull requests: ${JSON.stringify(pulls.map((p) => p.head))}`);
    const pin = gh.readFile(repoFullName, pulls[0].head, MIRROR_PATHS.pin)!;
    check(pin.includes(scanned) && parsePinFile(pin).signed === true, `${MIRROR_PATHS.pin} on ${pulls[0].head} does not pin the signed ${scanned}:\n${pin}`);
    // What ran, one hop from the image: the pinned pipeline the workflow names.
    check(pin.includes(`\npipeline: ${pipelineRepo}@${pipeline!.pipelineCommit}\n`), `${MIRROR_PATHS.pin} on ${pulls[0].head} does not name the pipeline that ran (${pipelineRepo}@${pipeline!.pipelineCommit}):\n${pin}`);
    const component = gh.readFile(repoFullName, pulls[0].head, KUSTOMIZE_PATH);
    check(component !== undefined, `no ${KUSTOMIZE_PATH} on ${pulls[0].head}`);
    const [deployment] = buildWithComponent(component, image);
    check(deployment.spec.template.spec.containers[0].image === `${image}@${scanned}`, `kustomize build gives ${deployment.spec.template.spec.containers[0].image}`);
    check(issuesOf("cve").every((i) => i.state === "closed"), "the cve issue of v1.1.0 is still open after a pass");
    check(sink.length === 2 && /passed/i.test(sink[1].body), `the webhook sink got ${JSON.stringify(sink.slice(1))}`);
    gh.mergePull(repoFullName, pulls[0].number, "alice");
    return [{ digest: scanned, platforms: record.platforms, audit }, `jobs: ${results(r)}\nscanned ${scanned} == pushed == served by the registry; index platforms ${inRegistry.join(", ")} are the scanned ones\n${scanLines.join("\n")}\nSARIF recorded: ${recorded.join(", ")}\nPR #${pulls[0].number} (${pulls[0].head}): ${MIRROR_PATHS.pin} signed, ${KUSTOMIZE_PATH} builds to @${scanned.slice(0, 19)}…; merged by alice; cve issue closed; webhook told "passed"`];
  });

  // ---------------------------------------------------------------- night 3: nothing new
  out("\n== night 3: the build cron, nothing new upstream ==");
  await step("act schedule (build cron): resolve says build=false; no other job runs; nothing written", async () => {
    const writes = gh.writes().length;
    const registryBefore = JSON.stringify(await registrySnapshot(registry));
    const r = await night("3-schedule-noop", "schedule", schedulePayload(mirror.cron.build));
    expectJobs(r, { resolve: "success", review: "absent", build: "absent", publish: "absent", pin: "absent", notify: "absent", rescan: "absent", health: "absent" });
    check(out1(r, "resolve", "checked", "build") === "false", `resolve said build=${out1(r, "resolve", "checked", "build")}`);
    check(gh.writes().length === writes, `${gh.writes().length - writes} GitHub write(s) on a no-op night`);
    check(JSON.stringify(await registrySnapshot(registry)) === registryBefore, "the registry changed on a no-op night");
    return [undefined, `jobs: ${results(r)}; no GitHub write, the registry unchanged`];
  });

  // ---------------------------------------------------------------- nights 4 and 5: drift
  out("\n== nights 4 and 5: upstream releases v1.2.0 with a changed Dockerfile (and a prerelease) ==");
  const v120 = await upstream.release("v1.2.0");
  await upstream.release("v2.0.0-rc.1");
  gh.addTag(UPSTREAM, "v1.2.0", gh.addCommit(UPSTREAM, { message: "release v1.2.0", date: new Date(v120.time * 1000).toISOString() }));
  const reviewIssue = await step("act schedule: resolve v1.2.0 (not the prerelease) -> drift in Dockerfile -> the override-review issue; BLOCKED: nothing built", async () => {
    const registryBefore = JSON.stringify(await registrySnapshot(registry));
    const r = await night("4-schedule-drift", "schedule", schedulePayload(mirror.cron.build));
    expectJobs(r, { resolve: "success", review: "success", "override-review": "success", build: "absent", publish: "absent", pin: "absent", notify: "success" });
    check(out1(r, "resolve", "checked", "tag") === "v1.2.0" && out1(r, "review", "review", "drift") === "changed", `tag ${out1(r, "resolve", "checked", "tag")}, drift ${out1(r, "review", "review", "drift")}`);
    const issues = issuesOf("override-review");
    check(issues.length === 1 && issues[0].state === "open", `override-review issues: ${JSON.stringify(issues.map((i) => [i.number, i.state]))}`);
    check(JSON.stringify(await registrySnapshot(registry)) === registryBefore, "the registry changed while the drift gate blocked");
    check(/blocked/i.test(sink.at(-1)!.body) && sink.at(-1)!.body.includes(`/issues/${issues[0].number}`), `the webhook sink's last message: ${sink.at(-1)?.body}`);
    return [issues[0].number, `jobs: ${results(r)}\noverride-review issue #${issues[0].number}; nothing built or pushed; webhook told "blocked"`];
  });

  // alice holds the repository role the policy names for approving (policy.overrideReview.approverRole, pipeline/lib/approval.ts).
  gh.setRole(repoFullName, "alice", "write");
  gh.closeIssue(repoFullName, reviewIssue, { reason: "completed", by: "alice" });
  const drifted = await step(`a reviewer closes #${reviewIssue} as completed; act schedule: approved -> built, passed, pushed, signed, pin PR naming the approval`, async () => {
    const r = await night("5-schedule-approved", "schedule", schedulePayload(mirror.cron.build));
    expectJobs(r, { resolve: "success", review: "success", "override-review": "success", build: "success", publish: "success", pin: "success" });
    check(out1(r, "override-review", "ask", "approved") === "true" && out1(r, "override-review", "ask", "approved_by") === "alice", `override-review: approved=${out1(r, "override-review", "ask", "approved")} by ${out1(r, "override-review", "ask", "approved_by")}`);
    const digest = out1(r, "build", "image", "digest")!;
    check(out1(r, "publish", "publish", "digest") === digest, "publish pushed another digest than the build scanned");
    const pull = gh.pulls(repoFullName).find((p) => p.head === "mirror-build/v1.2.0" && p.issue.state === "open");
    check(pull, "no open pull request from mirror-build/v1.2.0");
    check((pull.issue.body ?? "").includes(`#${reviewIssue}`) && (pull.issue.body ?? "").includes("alice"), `the pin pull request does not record the approval #${reviewIssue} by alice`);
    gh.mergePull(repoFullName, pull.number, "alice");
    return [digest, `jobs: ${results(r)}\npushed ${digest}; PR #${pull.number} records approval #${reviewIssue} by alice; merged`];
  });

  // ---------------------------------------------------------------- night 6: dispatch
  out("\n== workflow_dispatch: tag and force ==");
  await step("act workflow_dispatch tag=v1.2.0 force=true: the pinned tag is built again", async () => {
    const r = await night("6-dispatch-force", "workflow_dispatch", { inputs: { tag: "v1.2.0", force: "true" }, ref: "refs/heads/main", repository: repoPayload() });
    expectJobs(r, { resolve: "success", review: "success", build: "success", publish: "success", pin: "success" });
    check(out1(r, "resolve", "checked", "tag") === "v1.2.0" && out1(r, "resolve", "checked", "build") === "true", `resolve: build=${out1(r, "resolve", "checked", "build")} tag=${out1(r, "resolve", "checked", "tag")}`);
    return [undefined, `jobs: ${results(r)}; resolve took tag v1.2.0 from the input and built it although pinned (force)`];
  });
  // Every pass of the pinned digest was decided before this moment (night 6 rebuilds the same sources: the same digest, attested again).
  const pinnedPassedBy = Date.now();
  let reattestedBy = 0;

  // ---------------------------------------------------------------- nights 7 and 8: rescan, health
  out("\n== the rescan cron, after an advisory is added to the DB; the health cron ==");
  await step(`vulnerability DB: the planted advisories plus ${PLANTED.rescan.join(", ")}`, async () => {
    const fixtures = path.join(work, "trivy-db-rescan");
    fs.mkdirSync(fixtures);
    for (const dir of ["trivy-db", "trivy-db-rescan"]) {
      for (const f of fs.readdirSync(path.join(FIXTURES, dir))) fs.copyFileSync(path.join(FIXTURES, dir, f), path.join(fixtures, `${dir}-${f}`));
    }
    const r = await must(cleanup, "trivy-db", tools["trivy-db"], ["--fixtures", fixtures, "--cache-dir", trivyCache]);
    return [undefined, r.stdout.trim()];
  });
  await step("act schedule (rescan cron): the pinned digest from the registry, every platform -> blocks on the new advisory -> the rescan issue", async () => {
    const r = await night("7-schedule-rescan-blocked", "schedule", schedulePayload(mirror.cron.rescan));
    expectJobs(r, { rescan: "success", "rescan-report": "success", reattest: "absent", resolve: "absent", build: "absent", health: "absent" });
    check(out1(r, "rescan", "gate", "verdict") === "block", `the rescan gate said ${out1(r, "rescan", "gate", "verdict")}`);
    const issues = issuesOf("rescan");
    check(issues.length === 1 && issues[0].state === "open" && (issues[0].body ?? "").includes(PLANTED.rescan[0]), `rescan issues: ${JSON.stringify(issues.map((i) => [i.number, i.state]))}`);
    return [undefined, `jobs: ${results(r)}; rescan issue #${issues[0].number} names ${PLANTED.rescan[0]}`];
  });
  const admission: AdmissionWindowWorld = { settings: stack, pinned: `${image}@${drifted}`, kyvernoEnv: { PATH: process.env.PATH, HOME: cosignHome, TMPDIR: tmp, SSL_CERT_FILE: tls.caFile } };
  await step(`admission after the blocking rescan (kyverno apply, admissionWindow ${WINDOW_SECONDS}s): nothing was re-attested, so the pinned digest is denied once the window has passed since its last pass`, async () => {
    const waited = await waitPastWindow(pinnedPassedBy);
    const r = await applyWindowPolicy(admission);
    check(!r.admitted, `the pinned digest's last pass is older than ${WINDOW_SECONDS}s and it is still admitted:\n    ${lastLines(r.text, 8)}`);
    return [undefined, `waited ${(waited / 1000).toFixed(0)} s; denied (exit ${r.code}) ${r.why}`];
  });
  await step(`act schedule (rescan cron) after ${PLANTED.rescan[0]} is withdrawn from the DB: the rescan passes and closes its issue`, async () => {
    await must(cleanup, "trivy-db", tools["trivy-db"], ["--fixtures", path.join(FIXTURES, "trivy-db"), "--cache-dir", trivyCache]);
    const r = await night("7-schedule-rescan-clean", "schedule", schedulePayload(mirror.cron.rescan));
    reattestedBy = Date.now();
    expectJobs(r, { rescan: "success", "rescan-report": "success", reattest: "success", resolve: "absent" });
    check(out1(r, "rescan", "gate", "verdict") === "pass", `the rescan gate said ${out1(r, "rescan", "gate", "verdict")}`);
    const issues = issuesOf("rescan");
    check(issues.length === 1 && issues[0].state === "closed", `rescan issues: ${JSON.stringify(issues.map((i) => [i.number, i.state]))}`);
    return [undefined, `jobs: ${results(r)}; rescan issue #${issues[0].number} closed by the pipeline; reattest replaced the scan-gate attestation`];
  });
  await step("admission after the passing rescan: the reattest job's fresh pass admits the pinned digest again; with no newer pass it is denied once the window has passed", async () => {
    const fresh = await applyWindowPolicy(admission);
    check(fresh.admitted, `after the re-attestation the pinned digest is not admitted (exit ${fresh.code}):\n    ${lastLines(fresh.text, 8)}`);
    const waited = await waitPastWindow(reattestedBy);
    const aged = await applyWindowPolicy(admission);
    check(!aged.admitted, `the re-attested pass is older than ${WINDOW_SECONDS}s and the digest is still admitted:\n    ${lastLines(aged.text, 8)}`);
    return [undefined, `re-attested: admitted (pass ${fresh.pass}); ${(waited / 1000).toFixed(0)} s later: denied (exit ${aged.code}) ${aged.why}`];
  });
  // The upstream's owners archive it (Settings > Archive this repository).
  gh.repo(UPSTREAM).archived = true;
  await step("act schedule (health cron), the upstream archived: the upstream-health issue", async () => {
    const r = await night("8-schedule-health", "schedule", schedulePayload(mirror.cron.health));
    expectJobs(r, { health: "success", resolve: "absent", rescan: "absent" });
    const issues = issuesOf("upstream-health");
    check(issues.length === 1 && issues[0].state === "open" && /archived/.test(issues[0].body ?? ""), `upstream-health issues: ${JSON.stringify(issues.map((i) => [i.number, i.state]))}`);
    return [undefined, `jobs: ${results(r)}; upstream-health issue #${issues[0].number}: archived`];
  });

  // ---------------------------------------------------------------- what was signed, verified by cosign and Kyverno
  out("\n== what was signed, checked by cosign and Kyverno (not by the code under test) ==");
  const cosignRun = (args: readonly string[]) => run(cleanup, tools.cosign, args, { env: { PATH: process.env.PATH, HOME: cosignHome, TMPDIR: tmp, SSL_CERT_FILE: tls.caFile } });
  const pubKey = path.join(mirrorDir, MIRROR_PATHS.publicKey);
  const verify = (ref: string, key = pubKey) => cosignRun(["verify", "--key", key, "--insecure-ignore-tlog=true", ref]);
  const verifyAtt = (ref: string, type: string, key = pubKey) => cosignRun(["verify-attestation", "--key", key, "--insecure-ignore-tlog=true", "--type", type, ref]);
  const skopeo = (args: string[]) => must(cleanup, `skopeo ${args[0]}`, "skopeo", args, { env: { PATH: process.env.PATH, HOME: cosignHome, TMPDIR: tmp, SSL_CERT_FILE: tls.caFile } });
  // An image of the fleet's registry nobody signed: the amd64 manifest as Docker schema 2 (another digest, same layers).
  await skopeo(["copy", "--quiet", "--format", "v2s2", `docker://${image}@${pass.platforms[0].digest}`, `docker://${registry.host}/${OWNER}/unsigned:v1`]);
  const unsignedDigest = (await registryManifest(registry, `${OWNER}/unsigned`, "v1"))!.headers["docker-content-digest"] as string;
  await step("cosign verify and verify-attestation: the night-2 index and each platform; the wrong key, an unsigned image and another image re-tagged over the signed tag are denied", async () => {
    const lines: string[] = [];
    for (const ref of [`${image}@${pass.digest}`, ...pass.platforms.map((p) => `${image}@${p.digest}`)]) {
      const v = await verify(ref);
      check(v.code === 0, `cosign verify ${ref}: exit ${v.code}: ${lastLines(v.stderr, 6)}`);
      for (const type of ["cyclonedx", SCAN_GATE_PREDICATE_TYPE]) {
        const a = await verifyAtt(ref, type);
        check(a.code === 0, `cosign verify-attestation --type ${type} ${ref}: exit ${a.code}: ${lastLines(a.stderr, 6)}`);
      }
      lines.push(`${ref.replace(registry.host, "<registry>")}: signature, SBOM and scan-gate attestations verify with ${MIRROR_PATHS.publicKey}`);
    }
    const wrong = await verify(`${image}@${pass.digest}`, path.join(keys, "wrong", "cosign.pub"));
    check(wrong.code !== 0, "cosign verify with the wrong key passed");
    lines.push(`wrong key: exit ${wrong.code}: ${lastLines(wrong.stderr, 1)}`);
    const unsigned = await verify(`${registry.host}/${OWNER}/unsigned@${unsignedDigest}`);
    check(unsigned.code !== 0, "cosign verify of an unsigned image passed");
    lines.push(`unsigned image: exit ${unsigned.code}: ${lastLines(unsigned.stderr, 1)}`);
    // The night-2 tag moved to another image: verifying by tag fails, the pinned digest still verifies.
    await skopeo(["copy", "--quiet", "--format", "v2s2", `docker://${registry.host}/${OWNER}/unsigned@${unsignedDigest}`, `docker://${image}:v1.1.0`]);
    const retagged = await verify(`${image}:v1.1.0`);
    check(retagged.code !== 0, `cosign verify ${image}:v1.1.0 passed after another image was tagged over it`);
    check((await verify(`${image}@${pass.digest}`)).code === 0, "the signed digest no longer verifies after the re-tag");
    lines.push(`v1.1.0 re-tagged to an unsigned image: exit ${retagged.code}; the signed digest still verifies`);
    return [undefined, lines.join("\n")];
  });
  await step("kyverno apply (the real Kyverno CLI): the rendered ClusterPolicy admits the pinned, signed digest; denies a tag, an unsigned image, the wrong key and a scan-gate decision that was not attested", async () => {
    const kyverno = toolPath("kyverno");
    const dir = path.join(work, "kyverno");
    fs.mkdirSync(dir);
    const write = (name: string, doc: unknown) => {
      fs.writeFileSync(path.join(dir, name), toYaml(doc));
      return path.join(dir, name);
    };
    const fleetPolicy = write("policy.yaml", kyvernoPolicy(stack));
    const wrongPolicy = write("policy-wrong-key.yaml", kyvernoPolicy({ ...stack, cosignPublicKey: fs.readFileSync(path.join(keys, "wrong", "cosign.pub"), "utf8") }));
    // The same policy asking the scan gate for another decision: proves the attestation's predicate is read, not only its presence.
    const blockOnly = JSON.parse(JSON.stringify(kyvernoPolicy(stack)).replace('"value":"pass"', '"value":"block"'));
    check(JSON.stringify(blockOnly).includes('"value":"block"'), "the policy has no scan-gate condition to change");
    const blockPolicy = write("policy-block-only.yaml", blockOnly);

    const pod = (name: string, ref: string) => write(`pod-${name}.yaml`, { apiVersion: "v1", kind: "Pod", metadata: { name, namespace: "default" }, spec: { containers: [{ name: "app", image: ref }] } });
    const apply = async (policyFile: string, podFile: string) => {
      const r = await run(cleanup, kyverno, ["apply", policyFile, "--resource", podFile, "--remove-color"], { env: { PATH: process.env.PATH, HOME: cosignHome, TMPDIR: tmp, SSL_CERT_FILE: tls.caFile } });
      const m = /pass: (\d+), fail: (\d+), warn: (\d+), error: (\d+), skip: (\d+)/.exec(r.stdout);
      check(m, `kyverno apply printed no result summary (exit ${r.code}):\n    ${lastLines(r.stdout + r.stderr, 8)}`);
      return { code: r.code, pass: Number(m[1]), fail: Number(m[2]) + Number(m[4]), text: lastLines(r.stdout, 6) };
    };
    const pinned = pod("pinned", `${image}@${drifted}`);
    const admitted = await apply(fleetPolicy, pinned);
    check(admitted.code === 0 && admitted.pass > 0 && admitted.fail === 0, `the pinned digest was not admitted (exit ${admitted.code}):\n    ${admitted.text}`);
    const lines = [`pinned ${drifted.slice(0, 19)}…: admitted (pass ${admitted.pass})`];
    for (const [what, policyFile, podFile] of [
      ["tag only", fleetPolicy, pod("tag", `${image}:v1.2.0`)],
      ["an unsigned image", fleetPolicy, pod("unsigned", `${registry.host}/${OWNER}/unsigned@${unsignedDigest}`)],
      ["the wrong key", wrongPolicy, pinned],
      ["a scan-gate decision other than the attested one", blockPolicy, pinned],
    ] as const) {
      const r = await apply(policyFile, podFile);
      check(r.code !== 0 && r.fail > 0, `${what}: not denied (exit ${r.code}):\n    ${r.text}`);
      lines.push(`${what}: denied (exit ${r.code})`);
    }
    return [undefined, lines.join("\n")];
  });

  await step("the stand-in: no request GitHub would refuse, none it does not implement", async () => {
    check(gh.rejected.length === 0, `the stand-in rejected: ${JSON.stringify(gh.rejected.slice(0, 3))}`);
    check(gh.unimplemented.length === 0, `not implemented by the stand-in: ${JSON.stringify(gh.unimplemented.slice(0, 3))}`);
    return [undefined, `${gh.requests.length} requests, ${gh.writes().length} writes, none refused`];
  });

  // ---------------------------------------------------------------- coverage
  const coverageFile = path.resolve(process.env.E2E_COVERAGE ?? path.join(ROOT, "e2e-coverage.json"));
  await step("coverage of the shared workflow the mirror's caller runs, across the nights: e2e-coverage.json", async () => {
    const c = coverage.write(coverageFile);
    const lines = [`of ${coverage.workflow}`, c.steps, c.outputs, ...exempt.map((e) => `exempt: ${e.job} / ${e.step}`), `stand-ins: ${Object.keys(STAND_INS).length} actions (test/actions/README.md)`];
    check(c.missing.length === 0, `${c.missing.join("\n    ")}\n    (${coverageFile})`);
    return [undefined, lines.join("\n")];
  });
  return coverageFile;
}

async function main(): Promise<number> {
  // The fleet repository's own workflow first (npm run e2e:fleet), in its own process: its stand-ins and act end with it.
  const fleet = spawnSync(process.execPath, ["--import", "tsx", "--import", "./test/support/checkout-only.ts", "test/e2e/fleet.ts"], { cwd: ROOT, stdio: "inherit" });
  if (fleet.status !== 0) return fleet.status ?? 1;
  return runE2e(out, "mirror-fleet e2e: the rendered mirror workflow, run by act, night after night\n", e2e, () => ({ label: "E2E", failedStep: steps.failed(), actLogs, keptLogs: KEPT_LOGS }));
}

export const USAGE = `usage: npm run e2e

The rendered mirror workflow run by act (npm run engine:build builds act,
BuildKit, buildx, Trivy, cosign, Kyverno), night after night, against a
GitHub stand-in, a registry and an upstream git server on 127.0.0.1. Takes
no options. Exits 0 when it passes, 1 when a step fails (the step and its
reason are printed). Its last line is the path of e2e-coverage.json.
npm run e2e runs npm run e2e:fleet (the fleet repository's own workflow) first.
  E2E_BUSYBOX   path of a static busybox (default /bin/busybox)
  E2E_COVERAGE  where to write the coverage file (default ./e2e-coverage.json)
`;

if (require.main === module) e2eCommand("e2e", USAGE, main);
