/**
 * `npm run e2e`: one mirror all the way through, with real tools, in the
 * order the generated workflow runs the pipeline's commands:
 *
 *   upstream git repo -> render the mirror repo -> resolve -> review + drift
 *   gate (blocks until the override-review issue is closed) -> build once
 *   (buildah, linux/amd64 + linux/arm64, OCI archive of the index) -> scan
 *   (the real Trivy on every platform and the source, offline DB of planted
 *   advisories) -> gate (blocks on exactly those: issue, nothing pushed;
 *   then waivers: passes, SARIF/CycloneDX show them suppressed) -> publish
 *   (skopeo to a local docker-registry, registry digest == scanned index
 *   digest) -> sign (the real cosign, a key pair made by the run, offline:
 *   no transparency log; then cosign itself verifies the pinned digest, the
 *   SBOM and scan-gate attestations, and denies the wrong key, an unsigned
 *   image and an image re-tagged over the signed tag; `kyverno apply` of the
 *   rendered ClusterPolicy admits the signed digest and denies a tag, an
 *   unsigned image, the wrong key) -> pin (PR in the GitHub stand-in, with
 *   the kustomize Component, built by the real kustomize) -> the same run again: nothing
 *   new is built, pushed, filed or opened -> the admission window
 *   (./admission-window.ts): the build's pass ages out, a passing rescan
 *   re-attests the pinned digest (sign --rescan) and it is admitted again ->
 *   an advisory added to the DB: the rescan of the pushed digest opens the
 *   rescan issue, nothing is re-attested, and once the window has passed the
 *   digest is denied.
 *
 * It proves DESIGN invariant 1 (the pinned digest is the scanned digest) and
 * the gates' behaviour. It never skips: a missing tool or a sandbox that
 * forbids chroot is a failure that names what is missing. Everything it
 * starts is stopped and removed at the end, on failure and on SIGINT/SIGTERM.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import { MIRROR_PATHS } from "../../components/mirror-config";
import { renderMirrorFiles } from "../../components/render";
import { parsePinFile } from "../../components/report";
import { resolveFleet } from "../../components/spec";
import type { MirrorSpec, ResolvedMirror, StackSettings } from "../../components/types";
import { readProjectFile } from "../../infra/mirrors";
import { renderFleet } from "../../infra/render";
import { policy } from "../../infra/policy";
import { kyvernoPolicy } from "../../components/admission";
import { deniedOnceWindowPasses, reattestAfterPassingRescan, WINDOW_SECONDS, type AdmissionWindowWorld } from "./admission-window";
import { toYaml } from "../../components/yaml";
import { KUSTOMIZE_PATH } from "../../pipeline/lib/pin";
import { SCAN_GATE_PREDICATE_TYPE } from "../../pipeline/lib/sign";
import { buildWithComponent } from "../support/kustomize";
import { startGitHubStandIn, type GitHubStandIn } from "../support/github-standin";
import spec, { WAIVERS } from "./fixtures/e2e-hello";
import { toolPath } from "../support/tools";
import { checkScanOutputs, PLANTED, PLATFORMS, trivyEnv } from "./scan-checks";
import {
  Buildah,
  check,
  Cleanup,
  E2eFailure,
  fail,
  isStaticElf,
  lastLines,
  must,
  registryManifest,
  registrySnapshot,
  registryTags,
  removeCreatedLater,
  run,
  startRegistry,
  tempDir,
  toolSideEffectDirs,
  which,
  type Registry,
} from "./harness";

const FIXTURES = path.join(__dirname, "fixtures");
const ENTRY_FILE = "test/e2e/fixtures/e2e-hello.ts";
const SETTINGS: StackSettings = {
  owner: "e2e-org",
  registryNamespace: "e2e-org",
  visibility: "private",
  branchProtection: false,
  attestations: false,
};
const TAGS = ["v1.0.0", "v1.1.0", "v2.0.0-rc.1"] as const;
const RUN_URL = "https://github.com/e2e-org/mirror-e2e-hello/actions/runs/1";
const COSIGN_PASSWORD = "e2e fleet key password";
const APT_PACKAGES = "buildah skopeo docker-registry busybox-static git";

// ---------------------------------------------------------------- output

const out = (line: string) => process.stdout.write(`${line}\n`);
let stepNo = 0;
/** `[n] title` of the step that failed, for the last line. */
let failedStep: string | undefined;

/** One numbered step: prints its title, then its result (or the failure) indented under it. */
async function step<T>(title: string, fn: () => Promise<[T, string]>): Promise<T> {
  stepNo++;
  out(`[${String(stepNo).padStart(2)}] ${title}`);
  try {
    const [value, result] = await fn();
    for (const l of result.split("\n")) out(`     ${l}`);
    return value;
  } catch (e) {
    failedStep = `[${stepNo}] ${title}`;
    out(`     FAILED: ${(e as Error).message}`);
    throw e instanceof E2eFailure ? e : new E2eFailure(`${title}: ${(e as Error).message}`);
  }
}

// ---------------------------------------------------------------- the pipeline

interface PipelineResult {
  readonly code: number;
  /** The command's one JSON object (shape per command, checked field by field below). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly json: any;
  readonly outputs: Readonly<Record<string, string>>;
  readonly stderr: string;
}

/** GITHUB_OUTPUT as Actions reads it: `name=value` lines and `name<<DELIM` heredocs. */
function parseOutputs(text: string): Record<string, string> {
  const outputs: Record<string, string> = {};
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const heredoc = /^([A-Za-z_][A-Za-z0-9_-]*)<<(.+)$/.exec(lines[i]);
    if (heredoc) {
      const end = lines.indexOf(heredoc[2], i + 1);
      check(end > i, `GITHUB_OUTPUT: ${heredoc[1]} has no closing ${heredoc[2]}`);
      outputs[heredoc[1]] = lines.slice(i + 1, end).join("\n");
      i = end;
      continue;
    }
    const kv = /^([A-Za-z_][A-Za-z0-9_-]*)=(.*)$/.exec(lines[i]);
    if (kv) outputs[kv[1]] = kv[2];
  }
  return outputs;
}

/** Flags only the e2e passes, and why the workflow does not. */
const E2E_ONLY_FLAGS: Readonly<Record<string, string>> = {
  "--tls-verify": "the local registry speaks plain HTTP; GHCR is HTTPS",
};

/**
 * The pipeline calls of the rendered workflow: per command, the flags of each
 * `run:` block that calls it. The e2e runs the commands itself (there is no
 * Actions runner here), so every call it makes is checked against these: a
 * flag the workflow never passes is a run the workflow would not make.
 */
class WorkflowCalls {
  private readonly calls = new Map<string, Array<{ text: string; flags: Set<string> }>>();

  constructor(readonly file: string) {
    const wf = parseYaml(fs.readFileSync(file, "utf8")) as { jobs?: Record<string, { steps?: Array<{ run?: unknown }> }> };
    for (const job of Object.values(wf.jobs ?? {})) {
      for (const st of job.steps ?? []) {
        if (typeof st.run !== "string") continue;
        for (const m of st.run.matchAll(/pipeline\.cjs ([a-z-]+)/g)) {
          const block = { text: st.run, flags: new Set(st.run.match(/--[a-z][a-z-]*/g) ?? []) };
          this.calls.set(m[1], [...(this.calls.get(m[1]) ?? []), block]);
        }
      }
    }
  }

  /** Whether the workflow's step that runs `command` with `marker` in its script also passes `flag`. */
  passes(command: string, marker: string, flag: string): boolean {
    return (this.calls.get(command) ?? []).some((b) => b.text.includes(marker) && b.flags.has(flag));
  }

  /** Fails unless some step of the workflow calls `command` with every flag of `args`. */
  check(args: readonly string[]): void {
    const [command, ...rest] = args;
    const flags = rest.filter((a) => /^--[a-z]/.test(a) && !(a in E2E_ONLY_FLAGS));
    const blocks = this.calls.get(command);
    if (!blocks) fail(`the generated workflow (${MIRROR_PATHS.workflow}) never runs \`${command}\`; the e2e must run what the workflow runs`);
    if (blocks.some((b) => flags.every((f) => b.flags.has(f)))) return;
    const shown = blocks.map((b) => `{${[...b.flags].sort().join(" ")}}`).join(", ");
    fail(`the generated workflow never runs \`${command} ${flags.join(" ")}\`; its ${command} steps pass ${shown}`);
  }
}

/** The pipeline as the mirror repo's workflow runs it: `node .mirror/pipeline.cjs <command>` in the repo's checkout. */
class Pipeline {
  private calls = 0;

  constructor(
    private readonly cleanup: Cleanup,
    private readonly mirrorDir: string,
    private readonly tmp: string,
    private readonly env: Readonly<Record<string, string>>,
    readonly workflow: WorkflowCalls,
  ) {
    const bundle = fs.readFileSync(path.join(mirrorDir, MIRROR_PATHS.bundle), "utf8");
    if (bundle.length < 10_000) fail(`the rendered ${MIRROR_PATHS.bundle} is ${bundle.length} bytes, not the pipeline bundle (pipeline/bundle.ts)`);
  }

  /** Runs one command in the mirror repo, as a workflow step does; fails unless the exit code is expected. */
  async run(args: readonly string[], expect: readonly number[] = [0], stepEnv: Readonly<Record<string, string>> = {}): Promise<PipelineResult> {
    this.workflow.check(args);
    const outFile = path.join(this.tmp, `github-output-${++this.calls}`);
    fs.writeFileSync(outFile, "");
    // stepEnv: what only one workflow step sees (the signing key), as the step-level env does.
    const env = { PATH: process.env.PATH, HOME: process.env.HOME, TMPDIR: this.tmp, GITHUB_OUTPUT: outFile, ...this.env, ...stepEnv };
    const r = await run(this.cleanup, process.execPath, [MIRROR_PATHS.bundle, ...args], { cwd: this.mirrorDir, env });
    const shown = `pipeline ${args.join(" ")}`;
    if (!expect.includes(r.code)) {
      // The reason comes first (a usage error is followed by the whole usage text).
      const lines = (r.stderr || r.stdout).trim().split("\n");
      const why = lines.length > 8 ? [...lines.slice(0, 6), `… (${lines.length - 6} more lines)`] : lines;
      fail(`${shown}: exit ${r.code}, expected ${expect.join(" or ")}:\n    ${why.join("\n    ")}`);
    }
    let json: unknown = null;
    // A refusal (expected non-zero exit) may print nothing: its reason is on stderr.
    if (r.code !== 0 && r.stdout.trim() === "") return { code: r.code, json, outputs: parseOutputs(fs.readFileSync(outFile, "utf8")), stderr: r.stderr };
    try {
      json = JSON.parse(r.stdout);
    } catch {
      fail(`${shown}: stdout is not one JSON object:\n    ${lastLines(r.stdout, 5)}\n    stderr: ${lastLines(r.stderr, 8)}`);
    }
    return { code: r.code, json, outputs: parseOutputs(fs.readFileSync(outFile, "utf8")), stderr: r.stderr };
  }
}

// ---------------------------------------------------------------- the parts

/**
 * `npm run render`'s own function (infra/render.ts renderFleet: resolveFleet,
 * then renderMirrorFiles) with this one entry, into `out`; the mirror repo is
 * `out/<repo>`. Returns the mirror and the rendered paths whose content changed.
 */
function render(out: string, entry: MirrorSpec, settings: StackSettings): { mirror: ResolvedMirror; changed: string[] } {
  const inputs = { entries: [{ file: ENTRY_FILE, spec: entry }], policy, settings, readFile: readProjectFile };
  const mirror = resolveFleet(inputs.entries, inputs).mirrors[0];
  const paths = renderMirrorFiles(mirror).map((f) => f.path);
  const read = (p: string) => (fs.existsSync(path.join(out, mirror.repo, p)) ? fs.readFileSync(path.join(out, mirror.repo, p), "utf8") : undefined);
  const before = new Map(paths.map((p) => [p, read(p)]));
  renderFleet(out, inputs);
  return { mirror, changed: paths.filter((p) => read(p) !== before.get(p)) };
}

/** The test upstream: one commit and one annotated tag per fixture directory, on fixed dates. */
async function makeUpstream(cleanup: Cleanup, dir: string, busybox: string): Promise<Map<string, { commit: string; time: number }>> {
  const env = {
    PATH: process.env.PATH,
    HOME: dir,
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_AUTHOR_NAME: "Upstream Dev",
    GIT_AUTHOR_EMAIL: "dev@upstream.invalid",
    GIT_COMMITTER_NAME: "Upstream Dev",
    GIT_COMMITTER_EMAIL: "dev@upstream.invalid",
  };
  const git = (args: string[], extra: Record<string, string> = {}) =>
    must(cleanup, `git ${args[0]}`, "git", args, { cwd: dir, env: { ...env, ...extra } });
  fs.mkdirSync(dir, { recursive: true });
  await git(["init", "--quiet", "--initial-branch=main"]);
  const tags = new Map<string, { commit: string; time: number }>();
  let time = Date.parse("2026-01-05T10:00:00Z") / 1000;
  for (const tag of TAGS) {
    fs.cpSync(path.join(FIXTURES, "upstream", tag), dir, { recursive: true });
    if (tag === TAGS[0]) fs.copyFileSync(busybox, path.join(dir, "busybox"));
    const date = `@${time} +0000`;
    await git(["add", "--all"]);
    await git(["commit", "--quiet", "-m", `release ${tag}`], { GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date });
    await git(["tag", "-a", tag, "-m", `${tag}`], { GIT_COMMITTER_DATE: date });
    const commit = (await git(["rev-parse", `${tag}^{commit}`])).stdout.trim();
    tags.set(tag, { commit, time });
    time += 14 * 86_400;
  }
  return tags;
}

// ---------------------------------------------------------------- the run

async function e2e(cleanup: Cleanup): Promise<void> {
  const busybox = process.env.E2E_BUSYBOX ?? "/bin/busybox";
  let trivy = "";
  let trivyDb = "";
  let cosign = "";

  await step("preflight: tools", async () => {
    const missing = ["git", "buildah", "skopeo", "docker-registry"].filter((t) => !which(t));
    if (!fs.existsSync(busybox)) missing.push(`a static busybox at ${busybox}`);
    else if (!isStaticElf(busybox)) missing.push(`a static busybox (${busybox} is dynamically linked: install busybox-static, not busybox)`);
    if (missing.length > 0) fail(`missing: ${missing.join(", ")}. On Debian/Ubuntu: apt-get install ${APT_PACKAGES}`);
    // The real scanner, built by npm run engine:build; never a recorded report.
    try {
      trivy = toolPath("trivy");
      trivyDb = toolPath("trivy-db", "trivy_db");
      cosign = toolPath("cosign");
    } catch (e) {
      fail((e as Error).message);
    }
    const version = (await must(cleanup, "trivy --version", trivy, ["--version"])).stdout.trim().split("\n")[0];
    const cosignVersion = (JSON.parse((await must(cleanup, "cosign version", cosign, ["version", "--json"])).stdout) as { gitVersion: string }).gitVersion;
    return [undefined, `git, buildah, skopeo, docker-registry, static busybox: found; ${trivy} (${version}); ${trivyDb}; ${cosign} (${cosignVersion})`];
  });

  removeCreatedLater(cleanup, toolSideEffectDirs());
  const work = tempDir(cleanup, "mirror-fleet-e2e-");
  const tmp = path.join(work, "tmp");
  fs.mkdirSync(tmp);
  const upstreamDir = path.join(work, "upstream");
  const renderDir = path.join(work, "rendered");
  const srcDir = path.join(work, "src");
  const reviewDir = path.join(work, "review");
  const archive = path.join(work, "image.oci.tar");

  const tags = await step("upstream: a git repository with tags v1.0.0, v1.1.0, v2.0.0-rc.1", async () => {
    const t = await makeUpstream(cleanup, upstreamDir, busybox);
    return [t, [...t].map(([tag, c]) => `${tag} -> ${c.commit.slice(0, 12)}`).join(", ") + `\nin ${upstreamDir}; upstream Dockerfile changes between v1.0.0 and v1.1.0`];
  });

  const keys = path.join(work, "keys");
  const cosignHome = path.join(work, "cosign-home");
  // cosign as a user of the mirror runs it: its own HOME, so nothing lands in ours.
  const cosignRun = (args: readonly string[], env: Record<string, string> = {}) =>
    run(cleanup, cosign, args, { env: { PATH: process.env.PATH, HOME: cosignHome, TMPDIR: tmp, ...env } });
  const settings: StackSettings = await step("fleet key pair: cosign generate-key-pair (the README's command), and a second, wrong, pair", async () => {
    for (const dir of ["fleet", "wrong"]) {
      fs.mkdirSync(path.join(keys, dir), { recursive: true });
      fs.mkdirSync(cosignHome, { recursive: true });
      const r = await run(cleanup, cosign, ["generate-key-pair"], { cwd: path.join(keys, dir), env: { PATH: process.env.PATH, HOME: cosignHome, COSIGN_PASSWORD: COSIGN_PASSWORD } });
      check(r.code === 0, `cosign generate-key-pair failed (exit ${r.code}): ${lastLines(r.stderr, 5)}`);
    }
    const publicKey = fs.readFileSync(path.join(keys, "fleet", "cosign.pub"), "utf8");
    check(publicKey.startsWith("-----BEGIN PUBLIC KEY-----"), `cosign.pub is not a PEM public key:\n${publicKey}`);
    return [{ ...SETTINGS, cosignPublicKey: publicKey }, `${keys}/fleet/cosign.{key,pub} (the stack's cosignPrivateKey, cosignPassword, cosignPublicKey); ${keys}/wrong/cosign.pub`];
  });

  let { mirror } = await step("render: npm run render's renderFleet -> the local mirror repo", async () => {
    const r = render(renderDir, spec, settings);
    const dir = path.join(renderDir, r.mirror.repo);
    for (const p of [MIRROR_PATHS.config, MIRROR_PATHS.trivyignore, MIRROR_PATHS.override, MIRROR_PATHS.bundle, MIRROR_PATHS.workflow, MIRROR_PATHS.publicKey]) {
      check(fs.existsSync(path.join(dir, p)), `the rendered mirror repo has no ${p}`);
    }
    return [r, `${r.changed.length} files: ${r.changed.join(", ")}\nin ${dir}`];
  });
  const mirrorDir = path.join(renderDir, mirror.repo);
  const repoFullName = `${mirror.owner}/${mirror.repo}`;

  const registry: Registry = await step("registry: docker-registry on 127.0.0.1, own storage", async () => {
    const r = await startRegistry(cleanup, path.join(work, "registry"));
    return [r, `pid ${r.pid}, http://${r.host}, storage ${r.storage}`];
  });
  const imageName = `${SETTINGS.registryNamespace}/${mirror.name}`;
  const image = `${registry.host}/${imageName}`;

  const gh: GitHubStandIn = await step("GitHub stand-in: the mirror repository as Pulumi leaves it", async () => {
    const s = await startGitHubStandIn();
    cleanup.add(`GitHub stand-in on ${s.url}`, () => s.stop());
    const files: Record<string, string> = {};
    for (const f of renderMirrorFiles(mirror)) files[f.path] = fs.readFileSync(path.join(mirrorDir, f.path), "utf8");
    s.addRepo(repoFullName, { files });
    for (const l of policy.labels) s.addLabel(repoFullName, l.name, l.color, l.description);
    return [s, `${s.url}: ${repoFullName} with ${Object.keys(files).length} files and ${policy.labels.length} labels`];
  });

  // The mirror was built before, at v1.0.0: the pin the previous run's PR merged.
  const previousDigest = `sha256:${"0".repeat(64)}`;
  const previousPin = `schema: 1\nimage: ${mirror.image}\ndigest: ${previousDigest}\nref: ${mirror.image}@${previousDigest}\ntag: v1.0.0\n`;
  fs.writeFileSync(path.join(mirrorDir, MIRROR_PATHS.pin), previousPin);
  gh.putFile(repoFullName, "main", MIRROR_PATHS.pin, previousPin, "Pin v1.0.0");

  const trivyCache = path.join(work, "trivy-cache");
  await step("vulnerability DB: npm run trivy:db's program on the planted advisories (offline; no download)", async () => {
    const r = await must(cleanup, "trivy-db", trivyDb, ["--fixtures", path.join(FIXTURES, "trivy-db"), "--cache-dir", trivyCache]);
    return [undefined, `${r.stdout.trim()}\nthe DB holds only the planted advisories (${PLANTED.build.join(", ")}): every finding below is one of them`];
  });
  const pipeEnv = { ...gh.env(repoFullName), ...trivyEnv(trivyCache), PATH: `${path.dirname(trivy)}:${process.env.PATH}` };
  const pipe = new Pipeline(cleanup, mirrorDir, tmp, pipeEnv, new WorkflowCalls(path.join(mirrorDir, MIRROR_PATHS.workflow)));
  out(`     pipeline commands run as the workflow runs them: node ${MIRROR_PATHS.bundle} <command>, in the mirror repo`);
  const buildah = new Buildah(cleanup, path.join(work, "buildah/root"), path.join(work, "buildah/runroot"), tmp);

  out("\n== run 1 ==");
  const v11 = tags.get("v1.1.0")!;
  const resolved = await step("resolve --remote <upstream>: newest allowed tag vs image-pin.yml", async () => {
    const r = await pipe.run(["resolve", "--config", MIRROR_PATHS.config, "--pin", MIRROR_PATHS.pin, "--remote", upstreamDir]);
    const j = r.json;
    check(j.tag === "v1.1.0", `resolve chose ${JSON.stringify(j.tag)}, expected v1.1.0 (v2.0.0-rc.1 is a prerelease the policy does not allow)`);
    check(j.build === true && r.outputs.build === "true", `resolve says build=${j.build} (output ${r.outputs.build}), expected true`);
    check(j.lastTag === "v1.0.0" && r.outputs.last_tag === "v1.0.0", `resolve says lastTag=${j.lastTag}, expected v1.0.0 from image-pin.yml`);
    check(j.commit === v11.commit, `resolve says commit ${j.commit}, the tag's commit is ${v11.commit}`);
    return [j as { tag: string; commit: string; lastTag: string }, `tag ${j.tag} (commit ${String(j.commit).slice(0, 12)}), last built ${j.lastTag}, build=true: ${j.reason}`];
  });

  await step(`checkout: clone the upstream at ${resolved.tag}`, async () => {
    await must(cleanup, "git clone", "git", ["clone", "--quiet", upstreamDir, srcDir], { env: { PATH: process.env.PATH, HOME: work } });
    await must(cleanup, "git checkout", "git", ["-c", "advice.detachedHead=false", "checkout", "--quiet", `refs/tags/${resolved.tag}`], { cwd: srcDir });
    const head = (await must(cleanup, "git rev-parse", "git", ["rev-parse", "HEAD"], { cwd: srcDir })).stdout.trim();
    check(head === resolved.commit, `checkout is at ${head}, resolve said ${resolved.commit}`);
    return [undefined, `${srcDir} at ${head.slice(0, 12)}`];
  });

  const drift = await step(`review --from ${resolved.lastTag} --to ${resolved.tag}: diff review and Dockerfile drift`, async () => {
    const r = await pipe.run(["review", "--src", srcDir, "--from", resolved.lastTag, "--to", resolved.tag, "--watch", mirror.watch.join(","), "--out", reviewDir], [1]);
    const dj = JSON.parse(fs.readFileSync(path.join(reviewDir, "drift.json"), "utf8")) as { status: string; files: string[] };
    check(dj.status === "changed" && r.outputs.drift === "changed", `drift is ${dj.status} (output ${r.outputs.drift}), expected changed: upstream's Dockerfile changed`);
    check(dj.files.includes("Dockerfile"), `drift files are ${dj.files.join(", ")}, expected Dockerfile`);
    for (const f of ["diff-review.md", "diff.patch"]) check(fs.existsSync(path.join(reviewDir, f)), `review wrote no ${f}`);
    return [dj, `drift=${dj.status} (${dj.files.join(", ")}); wrote diff-review.md, diff.patch, drift.json (exit ${r.code})`];
  });

  // Flags the workflow may add to its issue steps (their files exist in those jobs): passed exactly when it does.
  const optional = (marker: string, flag: string, file: string) => (pipe.workflow.passes("issue", marker, flag) ? [flag, file] : []);
  const driftGate = (expectApproved: boolean) =>
    pipe.run(["issue", "--kind", "override-review", "--state", "open", "--tag", resolved.tag,
      "--body-file", path.join(reviewDir, "diff-review.md"), ...optional("--kind override-review", "--drift-json", path.join(reviewDir, "drift.json")),
      "--run-url", RUN_URL]).then((r) => {
      check(r.json.approved === expectApproved && r.outputs.approved === String(expectApproved),
        `issue override-review says approved=${r.json.approved} (output ${r.outputs.approved}), expected ${expectApproved}`);
      return r;
    });

  const reviewIssue = await step("drift gate: override-review issue, not yet approved -> blocked", async () => {
    check(drift.status === "changed", "no drift to gate");
    const r = await driftGate(false);
    check(r.json.action === "created" && typeof r.json.number === "number", `issue action ${r.json.action}, expected created`);
    const issue = gh.issue(repoFullName, r.json.number);
    check(issue.labels.includes("override-review") && issue.state === "open", `issue #${issue.number} labels ${issue.labels.join(",")}, state ${issue.state}`);
    check(!fs.existsSync(archive), "an archive exists although the drift gate blocked");
    check(Object.keys(await registrySnapshot(registry)).length === 0, "the registry holds something although the drift gate blocked");
    return [r.json.number as number, `issue #${r.json.number} created (labels ${issue.labels.join(", ")}); BLOCKED: nothing built, registry empty`];
  });

  await step("a reviewer closes the override-review issue (approval)", async () => {
    // alice holds the role the policy names for approving (pipeline/lib/approval.ts).
    gh.setRole(repoFullName, "alice", "write");
    gh.closeIssue(repoFullName, reviewIssue, { reason: "completed", by: "alice" });
    const r = await driftGate(true);
    return [undefined, `issue #${reviewIssue} closed by alice; issue action ${r.json.action}, approved=true -> the drift gate passes`];
  });

  const scanDigest = await step(`build ONCE for ${PLATFORMS.join(" and ")}: buildah (vfs, chroot, COPY only: no emulation) -> OCI archive of the index; publish --print-digest`, async () => {
    check(mirror.build.platforms.join(",") === PLATFORMS.join(","), `the e2e entry builds ${mirror.build.platforms.join(", ")}, expected ${PLATFORMS.join(", ")}`);
    // As the workflow's build step: VERSION is the tag, then the fleet's build args.
    const cfgArgs = { ...mirror.build.args, VERSION: resolved.tag };
    const { buildahDigest } = await buildah.buildToArchive({
      platforms: mirror.build.platforms,
      dockerfile: path.join(mirrorDir, MIRROR_PATHS.override),
      context: path.join(srcDir, mirror.build.context),
      image: `localhost/${mirror.name}:${resolved.tag}`,
      buildArgs: cfgArgs,
      // The labels the workflow's buildx step sets.
      labels: {
        "org.opencontainers.image.source": `https://github.com/${repoFullName}`,
        "org.opencontainers.image.revision": resolved.commit,
        "org.opencontainers.image.version": resolved.tag,
      },
      timestamp: v11.time,
      archive,
      archiveTag: resolved.tag,
    });
    const r = await pipe.run(["publish", "--archive", archive, "--print-digest"]);
    const d = r.json.digest as string;
    check(/^sha256:[0-9a-f]{64}$/.test(d) && r.outputs.digest === d, `publish --print-digest printed ${JSON.stringify(r.json)}`);
    check(d === buildahDigest, `the archive's index names ${d}, buildah reported ${buildahDigest}`);
    check(r.json.index === true, `the archive holds a ${r.json.mediaType}, not an image index`);
    return [d, `${archive} (${fs.statSync(archive).size} bytes)\narchive digest (index, scanned): ${d}  (buildah agrees)`];
  });

  const audit = path.join(work, "audit");
  const scanArgs = (out: string) => ["scan", "--config", MIRROR_PATHS.config, "--platforms", mirror.build.platforms.join(","), "--archive", archive, "--source", srcDir, "--out", out];
  const scanned = async (out: string, waived: readonly string[]) => {
    const r = await pipe.run(scanArgs(out));
    check(r.json.image.digest === scanDigest && r.outputs.digest === scanDigest, `scan recorded ${r.json.image.digest}, the archive's index is ${scanDigest}`);
    return checkScanOutputs(out, r.json, { platforms: PLATFORMS, waived });
  };

  await step(`scan (the workflow's command): real Trivy on ${PLATFORMS.join(" and ")} and the upstream source`, async () => {
    const lines = await scanned(audit, []);
    return [undefined, lines.join("\n")];
  });

  const gateArgs = (dir: string, summary: string) => ["gate", "--config", MIRROR_PATHS.config, "--scan-record", path.join(dir, "scan.json"), "--summary-out", summary];
  const summary1 = path.join(work, "gate-summary-1.md");

  await step("gate, pass 1 (no waiver): blocks on exactly the planted advisories -> cve issue, nothing pushed", async () => {
    const g = await pipe.run(gateArgs(audit, summary1), [1]);
    check(g.json.decision === "block" && g.outputs.decision === "block", `gate decision ${g.json.decision}, expected block`);
    const blocking = g.json.blocking as Array<{ id: string; places: string[] }>;
    const ids = blocking.map((f) => f.id).sort();
    check(JSON.stringify(ids) === JSON.stringify(PLANTED.build), `gate blocks on ${ids.join(", ") || "nothing"}, expected exactly ${PLANTED.build.join(", ")}`);
    const places = Object.fromEntries(blocking.map((f) => [f.id, f.places.join(", ")]));
    check(places[PLANTED.armOnly] === "linux/arm64", `${PLANTED.armOnly} is listed at ${places[PLANTED.armOnly]}, expected linux/arm64 only`);
    check(places[PLANTED.lockfile] === "linux/amd64, linux/arm64, source", `${PLANTED.lockfile} is listed at ${places[PLANTED.lockfile]}, expected once with linux/amd64, linux/arm64, source`);
    check(g.json.scan?.digest === scanDigest, `gate.json names scan digest ${g.json.scan?.digest}`);
    const gate1 = path.join(work, "gate-1.json");
    fs.writeFileSync(gate1, JSON.stringify(g.json));
    const i = await pipe.run(["issue", "--kind", "cve", "--state", "open", "--tag", resolved.tag, "--run-url", RUN_URL,
      "--summary-file", summary1, ...optional("--kind cve --state open", "--gate-json", gate1)]);
    check(i.json.action === "created", `cve issue action ${i.json.action}, expected created`);
    const issue = gh.issue(repoFullName, i.json.number);
    for (const l of ["cve", "blocked", "security"]) check(issue.labels.includes(l), `cve issue #${issue.number} lacks label ${l}`);
    const tagsNow = await registryTags(registry, imageName);
    check(tagsNow.length === 0, `the registry has tags ${tagsNow.join(", ")} for ${imageName} after a block`);
    check((await registryManifest(registry, imageName, scanDigest)) === undefined, `the registry has ${scanDigest} after a block`);
    return [undefined, `BLOCKED on exactly the planted ${ids.join(", ")} (${blocking.map((f) => `${f.id} at ${f.places.join(", ")}`).join("; ")}); ` +
      `issue #${i.json.number} created (${issue.labels.join(", ")}); registry has no ${imageName}:${resolved.tag} and no ${scanDigest.slice(0, 19)}…`];
  });

  const gateJson = path.join(audit, "gate.json");
  await step(`waivers: add ${WAIVERS.map((w) => w.id).join(" and ")} to the entry, re-render, scan and gate again -> pass, waived shown as suppressed`, async () => {
    const withWaiver: MirrorSpec = { ...spec, gate: { waivers: WAIVERS } };
    const r = render(renderDir, withWaiver, settings);
    mirror = r.mirror;
    const changed = r.changed;
    check(changed.includes(MIRROR_PATHS.trivyignore), `re-rendering with the waiver did not change ${MIRROR_PATHS.trivyignore}`);
    // What `pulumi up` does with the change: one commit per changed file on the default branch.
    for (const p of changed) gh.putFile(repoFullName, "main", p, fs.readFileSync(path.join(mirrorDir, p), "utf8"), `pulumi up: ${p}`);
    const ignore = fs.readFileSync(path.join(mirrorDir, MIRROR_PATHS.trivyignore), "utf8");
    for (const w of WAIVERS) check(ignore.includes(w.id), `the rendered ${MIRROR_PATHS.trivyignore} does not name ${w.id} (components/waivers.ts):\n${ignore}`);
    // The push re-runs the workflow: the same archive is scanned again, now with the waivers.
    fs.rmSync(audit, { recursive: true, force: true });
    const lines = await scanned(audit, PLANTED.build);
    const g = await pipe.run(gateArgs(audit, path.join(audit, "gate-summary.md")));
    check(g.json.decision === "pass", `gate decision ${g.json.decision}, expected pass`);
    const waived = (g.json.waived as Array<{ id: string }>).map((f) => f.id).sort();
    check(JSON.stringify(waived) === JSON.stringify(PLANTED.build), `gate waived ${waived.join(", ") || "nothing"}, expected exactly ${PLANTED.build.join(", ")}`);
    fs.writeFileSync(gateJson, JSON.stringify(g.json));
    const i = await pipe.run(["issue", "--kind", "cve", "--state", "resolved", "--tag", resolved.tag, "--run-url", RUN_URL]);
    check(i.json.action === "closed", `cve issue action ${i.json.action} after a pass, expected closed`);
    return [undefined, `re-rendered: ${changed.join(", ")}\n${lines.join("\n")}\nPASS (waived exactly the planted ${waived.join(", ")}); cve issue #${i.json.number} closed`];
  });

  const registryDigest = await step(`publish: skopeo push by digest and as :${resolved.tag}, read back`, async () => {
    const p = await pipe.run(["publish", "--archive", archive, "--image", image, "--tag", resolved.tag, "--digest", scanDigest, "--scan-record", path.join(audit, "scan.json"), "--tls-verify", "false"]);
    check(p.json.digest === scanDigest && p.json.ref === `${image}@${scanDigest}`, `publish printed ${JSON.stringify(p.json)}`);
    check(p.outputs.digest === scanDigest && p.outputs.ref === p.json.ref, `publish outputs ${JSON.stringify(p.outputs)}`);
    // Read it back from the registry directly, not through the code under test.
    const byTag = await registryManifest(registry, imageName, resolved.tag);
    check(byTag, `the registry has no ${imageName}:${resolved.tag}`);
    const header = String(byTag.headers["docker-content-digest"]);
    const hashed = `sha256:${createHash("sha256").update(byTag.body).digest("hex")}`;
    check(header === hashed, `the registry's Docker-Content-Digest ${header} is not the hash of what it served (${hashed})`);
    return [hashed, `pushed ${p.json.ref}\nregistry ${imageName}:${resolved.tag} -> ${hashed}`];
  });

  out("");
  out(`     digest scanned (archive): ${scanDigest}`);
  out(`     digest in the registry:   ${registryDigest}`);
  check(scanDigest === registryDigest, "the registry digest is not the scanned digest (DESIGN invariant 1)");
  out("     equal: the pushed image is the scanned image");
  out("");

  const pubKey = path.join(mirrorDir, MIRROR_PATHS.publicKey);
  const insecure = ["--allow-insecure-registry", "--allow-http-registry"];
  const record = JSON.parse(fs.readFileSync(path.join(audit, "scan.json"), "utf8")) as {
    platforms: Array<{ platform: string; digest: string; report: string; sarif: string; sbom: string }>;
    source: { report: string; sarif: string; sbom: string };
    trivy: { version: string };
    db: { updatedAt: string };
  };
  const platformRefs = record.platforms.map((p) => `${image}@${p.digest}`);
  const signArgs = ["sign", "--config", MIRROR_PATHS.config, "--image", image, "--digest", scanDigest, "--tag", resolved.tag, "--commit", resolved.commit,
    "--scan-record", path.join(audit, "scan.json"), "--gate-json", gateJson, "--public-key", MIRROR_PATHS.publicKey,
    "--review-file", path.join(reviewDir, "diff-review.md"), "--diff-file", path.join(reviewDir, "diff.patch"), "--run-url", RUN_URL, "--tls-verify", "false"];
  // HOME: cosign keeps a ~/.sigstore cache; the run's own, so nothing lands in ours.
  const keyEnv = (pair: string) => ({ COSIGN_PRIVATE_KEY: fs.readFileSync(path.join(keys, pair, "cosign.key"), "utf8"), COSIGN_PASSWORD, HOME: cosignHome });
  const cosignTags = async () => (await registryTags(registry, imageName)).filter((t) => /^sha256-[0-9a-f]{64}\.(sig|att)$/.test(t));

  await step("sign with a private key that is not the pair of the committed cosign.pub -> refused, nothing signed", async () => {
    const s = await pipe.run(signArgs, [1], keyEnv("wrong"));
    check(/COSIGN_PRIVATE_KEY is not the pair of cosign\.pub/.test(s.stderr), `sign said: ${lastLines(s.stderr, 4)}`);
    check((await cosignTags()).length === 0, `the registry has signature tags after a refused sign: ${(await cosignTags()).join(", ")}`);
    return [undefined, `exit 1: ${s.stderr.trim().split("\n").pop()}`];
  });

  await step("sign (the workflow's command): cosign signs the index and both platform manifests, attests each SBOM and the scan-gate predicate; OFFLINE: no transparency log", async () => {
    const s = await pipe.run(signArgs, [0], keyEnv("fleet"));
    const want = [`${image}@${scanDigest}`, ...platformRefs];
    check(JSON.stringify(s.json.signed) === JSON.stringify(want), `sign signed ${JSON.stringify(s.json.signed)}, expected ${JSON.stringify(want)}`);
    check(s.json.tlog === false && s.outputs.signed === "true", `sign printed tlog ${s.json.tlog}, output signed=${s.outputs.signed}`);
    const tags = await cosignTags();
    // One .sig and one .att tag per signed digest, stored next to the image.
    check(tags.length === want.length * 2, `the registry holds ${tags.length} signature/attestation tags, expected ${want.length * 2}: ${tags.join(", ")}`);
    return [undefined, `signed ${want.length} digests (index + ${platformRefs.length} platforms), ${s.json.attested.length} attestations; registry tags: ${tags.length} (.sig/.att)\nnothing was uploaded to a transparency log (--tlog-upload=false): verification uses --insecure-ignore-tlog and the key alone`];
  });

  const verify = (ref: string, key = pubKey) => cosignRun(["verify", "--key", key, "--insecure-ignore-tlog=true", ...insecure, ref]);
  const verifyAtt = (ref: string, type: string, key = pubKey) =>
    cosignRun(["verify-attestation", "--key", key, "--insecure-ignore-tlog=true", ...insecure, "--type", type, ref]);
  /** The in-toto statements of verify-attestation's output (one DSSE envelope per line). */
  const statements = (stdout: string) =>
    stdout.trim().split("\n").filter(Boolean).map((l) => JSON.parse(Buffer.from((JSON.parse(l) as { payload: string }).payload, "base64").toString("utf8")) as {
      predicateType: string;
      subject: Array<{ digest: { sha256: string } }>;
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      predicate: any;
    });
  const sha256File = (f: string) => createHash("sha256").update(fs.readFileSync(f)).digest("hex");

  await step(`verify (cosign, not the code under test) with the mirror repo's ${MIRROR_PATHS.publicKey}: the pinned digest and each platform pass`, async () => {
    const lines: string[] = [];
    for (const ref of [`${image}@${scanDigest}`, ...platformRefs]) {
      const r = await verify(ref);
      check(r.code === 0, `cosign verify ${ref} failed (exit ${r.code}): ${lastLines(r.stderr, 6)}`);
      const claims = JSON.parse(r.stdout) as Array<{ critical: { image: { "docker-manifest-digest": string } } }>;
      const digest = ref.split("@")[1];
      check(claims.length === 1 && claims[0].critical.image["docker-manifest-digest"] === digest, `cosign verify ${ref}: claims ${r.stdout.slice(0, 300)}`);
      lines.push(`cosign verify --key cosign.pub --insecure-ignore-tlog ${ref.replace(registry.host, "<registry>")}: OK`);
    }
    return [undefined, lines.join("\n")];
  });

  await step("verify-attestation --type cyclonedx: each platform's SBOM, on the index and on its own manifest", async () => {
    const serial = (f: string) => (JSON.parse(fs.readFileSync(path.join(audit, f), "utf8")) as { serialNumber: string }).serialNumber;
    const want = record.platforms.map((p) => serial(p.sbom)).sort();
    const r = await verifyAtt(`${image}@${scanDigest}`, "cyclonedx");
    check(r.code === 0, `cosign verify-attestation --type cyclonedx of the index failed (exit ${r.code}): ${lastLines(r.stderr, 6)}`);
    const st = statements(r.stdout);
    const got = st.map((x) => x.predicate.serialNumber as string).sort();
    check(st.every((x) => x.predicateType === "https://cyclonedx.org/bom" && x.subject[0].digest.sha256 === scanDigest.slice(7)), `statements ${JSON.stringify(st.map((x) => [x.predicateType, x.subject]))}`);
    check(JSON.stringify(got) === JSON.stringify(want), `the index's SBOM attestations are ${got.join(", ")}, the audit SBOMs ${want.join(", ")}`);
    for (const p of record.platforms) {
      const rp = await verifyAtt(`${image}@${p.digest}`, "cyclonedx");
      check(rp.code === 0, `verify-attestation --type cyclonedx of ${p.platform} failed: ${lastLines(rp.stderr, 6)}`);
      const sp = statements(rp.stdout);
      check(sp.length === 1 && sp[0].predicate.serialNumber === serial(p.sbom), `${p.platform}'s SBOM attestation is not ${p.sbom}`);
    }
    return [undefined, `index: ${st.length} SBOMs (${record.platforms.map((p) => p.sbom).join(", ")}); each platform manifest: its own`];
  });

  await step(`verify-attestation --type ${SCAN_GATE_PREDICATE_TYPE}: the gate's decision, the reports' hashes, the waivers, Trivy and its DB, the upstream commit, the reviewed diff`, async () => {
    const r = await verifyAtt(`${image}@${scanDigest}`, SCAN_GATE_PREDICATE_TYPE);
    check(r.code === 0, `cosign verify-attestation --type ${SCAN_GATE_PREDICATE_TYPE} failed (exit ${r.code}): ${lastLines(r.stderr, 6)}`);
    const st = statements(r.stdout);
    check(st.length === 1 && st[0].predicateType === SCAN_GATE_PREDICATE_TYPE, `statements: ${JSON.stringify(st.map((x) => x.predicateType))}`);
    const p = st[0].predicate;
    check(p.decision === "pass" && p.image.digest === scanDigest && p.gate.blocking === 0, `predicate decision ${p.decision}, digest ${p.image.digest}`);
    const reports = new Map((p.reports as Array<{ scan: string; report: { name: string; sha256: string } }>).map((x) => [x.scan, x.report]));
    for (const pl of record.platforms) check(reports.get(pl.platform)?.sha256 === sha256File(path.join(audit, pl.report)), `predicate report of ${pl.platform}: ${JSON.stringify(reports.get(pl.platform))}`);
    check(reports.get("source")?.sha256 === sha256File(path.join(audit, record.source.report)), `predicate source report: ${JSON.stringify(reports.get("source"))}`);
    const waivers = p.waivers as Array<{ id: string; reason: string | null; expires: string | null }>;
    check(JSON.stringify(waivers.map((w) => w.id)) === JSON.stringify(PLANTED.build), `predicate waivers ${JSON.stringify(waivers)}, expected ${PLANTED.build.join(", ")}`);
    check(waivers.every((w) => w.reason && w.expires), `a waiver without reason or expiry: ${JSON.stringify(waivers)}`);
    check(p.scanner.version === record.trivy.version && p.scanner.db.updatedAt === record.db.updatedAt, `predicate scanner ${JSON.stringify(p.scanner)}`);
    check(p.upstream.commit === resolved.commit && p.upstream.tag === resolved.tag, `predicate upstream ${JSON.stringify(p.upstream)}`);
    check(p.review?.diff.sha256 === sha256File(path.join(reviewDir, "diff.patch")), `predicate review ${JSON.stringify(p.review)}`);
    check(p.gate.result.sha256 === sha256File(gateJson), `predicate gate result ${JSON.stringify(p.gate.result)}`);
    for (const ref of platformRefs) {
      const rp = await verifyAtt(ref, SCAN_GATE_PREDICATE_TYPE);
      check(rp.code === 0, `verify-attestation scan-gate of ${ref} failed: ${lastLines(rp.stderr, 6)}`);
    }
    return [undefined, `decision pass, ${reports.size} reports hashed, waivers ${waivers.map((w) => `${w.id} (until ${w.expires})`).join(", ")}, trivy ${p.scanner.version}, DB ${p.scanner.db.updatedAt}, upstream ${p.upstream.commit.slice(0, 12)}, diff.patch ${p.review.diff.sha256.slice(0, 12)}; on the index and each platform`];
  });

  const skopeo = (args: string[]) => must(cleanup, `skopeo ${args[0]}`, "skopeo", args, { env: { PATH: process.env.PATH, HOME: cosignHome, TMPDIR: tmp } });
  // A different image: the amd64 manifest converted to Docker schema 2 (another manifest, another digest, same layers).
  const otherImage = async (dest: string) => {
    await skopeo(["copy", "--quiet", "--src-tls-verify=false", "--dest-tls-verify=false", "--format", "v2s2", `docker://${platformRefs[0]}`, `docker://${dest}`]);
    return (await registryManifest(registry, dest.slice(registry.host.length + 1).split(":")[0], dest.split(":").pop()!))!.headers["docker-content-digest"] as string;
  };

  await step("denied: the wrong key, an unsigned image, and another image re-tagged over the signed tag", async () => {
    const lines: string[] = [];
    const wrong = await verify(`${image}@${scanDigest}`, path.join(keys, "wrong", "cosign.pub"));
    check(wrong.code !== 0, `cosign verify with the wrong key passed:\n${wrong.stdout.slice(0, 300)}`);
    lines.push(`wrong key: exit ${wrong.code}: ${lastLines(wrong.stderr, 1)}`);

    const unsignedRef = `${registry.host}/${SETTINGS.registryNamespace}/unsigned:${resolved.tag}`;
    const unsignedDigest = await otherImage(unsignedRef);
    check(unsignedDigest !== scanDigest && !record.platforms.some((p) => p.digest === unsignedDigest), `the unsigned image has a signed digest ${unsignedDigest}`);
    const u = await verify(`${registry.host}/${SETTINGS.registryNamespace}/unsigned@${unsignedDigest}`);
    check(u.code !== 0, `cosign verify of an unsigned image passed`);
    const ua = await verifyAtt(`${registry.host}/${SETTINGS.registryNamespace}/unsigned@${unsignedDigest}`, SCAN_GATE_PREDICATE_TYPE);
    check(ua.code !== 0, `cosign verify-attestation of an unsigned image passed`);
    lines.push(`unsigned image (${unsignedDigest.slice(0, 19)}…): verify exit ${u.code}: ${lastLines(u.stderr, 1)}; verify-attestation exit ${ua.code}`);

    const tagged = `${image}:${resolved.tag}`;
    const retagged = await otherImage(tagged);
    check(retagged !== scanDigest, `the re-tag did not move ${tagged}`);
    const t = await verify(tagged);
    check(t.code !== 0, `cosign verify ${tagged} passed after another image (${retagged}) was tagged over it`);
    const ta = await verifyAtt(tagged, "cyclonedx");
    check(ta.code !== 0, `cosign verify-attestation ${tagged} passed after the re-tag`);
    const pinned = await verify(`${image}@${scanDigest}`);
    check(pinned.code === 0, `the pinned digest no longer verifies after the re-tag: ${lastLines(pinned.stderr, 4)}`);
    lines.push(`${imageName}:${resolved.tag} re-tagged to ${retagged.slice(0, 19)}…: verify exit ${t.code}: ${lastLines(t.stderr, 1)}; verify-attestation exit ${ta.code}; the pinned digest still verifies`);

    // Put the tag back as publish left it, and drop the unsigned repository's tag, so run 2 starts from the published state.
    await skopeo(["copy", "--quiet", "--all", "--preserve-digests", "--src-tls-verify=false", "--dest-tls-verify=false", `docker://${image}@${scanDigest}`, `docker://${tagged}`]);
    const back = await registryManifest(registry, imageName, resolved.tag);
    check(back && back.headers["docker-content-digest"] === scanDigest, `${tagged} is not back at ${scanDigest}`);
    lines.push(`${imageName}:${resolved.tag} put back at the signed ${scanDigest.slice(0, 19)}…`);
    return [undefined, lines.join("\n")];
  });

  await step("kyverno apply (the real Kyverno CLI): the rendered ClusterPolicy, for this registry, admits the signed, attested digest; denies a tag, an unsigned image, the wrong key and a scan-gate decision that was not attested", async () => {
    const kyverno = toolPath("kyverno");
    const dir = path.join(work, "kyverno");
    fs.mkdirSync(dir);
    const reg = `${registry.host}/${SETTINGS.registryNamespace}`;
    const write = (name: string, doc: unknown) => {
      fs.writeFileSync(path.join(dir, name), toYaml(doc));
      return path.join(dir, name);
    };
    const fleetPolicy = write("policy.yaml", kyvernoPolicy(settings, reg));
    const wrongPolicy = write("policy-wrong-key.yaml", kyvernoPolicy({ ...settings, cosignPublicKey: fs.readFileSync(path.join(keys, "wrong", "cosign.pub"), "utf8") }, reg));
    // The same policy asking the scan gate for another decision: proves the attestation's predicate is read, not only its presence.
    const blockOnly = JSON.parse(JSON.stringify(kyvernoPolicy(settings, reg)).replace('"value":"pass"', '"value":"block"'));
    check(JSON.stringify(blockOnly).includes('"value":"block"'), "the policy has no scan-gate condition to change");
    const blockPolicy = write("policy-block-only.yaml", blockOnly);
    const pod = (name: string, image: string) => write(`pod-${name}.yaml`, { apiVersion: "v1", kind: "Pod", metadata: { name, namespace: "default" }, spec: { containers: [{ name: "app", image }] } });
    const apply = async (policyFile: string, podFile: string) => {
      const r = await run(cleanup, kyverno, ["apply", policyFile, "--resource", podFile, "--remove-color"], { env: { PATH: process.env.PATH, HOME: cosignHome, TMPDIR: tmp } });
      const m = /pass: (\d+), fail: (\d+), warn: (\d+), error: (\d+), skip: (\d+)/.exec(r.stdout);
      check(m, `kyverno apply printed no result summary (exit ${r.code}):\n    ${lastLines(r.stdout + r.stderr, 8)}`);
      // kyverno prints "policy … -> resource … failed:" and the rule's message on the lines after it.
      const out = (r.stdout + r.stderr).split("\n").map((l) => l.trim()).filter(Boolean);
      const at = out.findIndex((l) => / failed:$/.test(l));
      const why = at >= 0 ? out.slice(at + 1, at + 3).join(" ") : "";
      return { code: r.code, pass: Number(m[1]), fail: Number(m[2]) + Number(m[4]), text: lastLines(r.stdout, 6), why: why.slice(0, 200) };
    };
    const signedPod = pod("signed", `${image}@${scanDigest}`);
    const lines: string[] = [];
    const admitted = await apply(fleetPolicy, signedPod);
    // pass counts the verifyImages checks (the signature and its attestations), not pods.
    check(admitted.code === 0 && admitted.pass > 0 && admitted.fail === 0, `the signed digest was not admitted (exit ${admitted.code}):\n    ${admitted.text}`);
    lines.push(`signed digest ${scanDigest.slice(0, 19)}…: admitted (exit 0, pass ${admitted.pass}, fail 0)`);
    const unsignedRef = `${reg}/unsigned@${(await registryManifest(registry, `${SETTINGS.registryNamespace}/unsigned`, resolved.tag))!.headers["docker-content-digest"]}`;
    for (const [what, policyFile, podFile] of [
      ["tag only", fleetPolicy, pod("tag", `${image}:${resolved.tag}`)],
      ["unsigned image", fleetPolicy, pod("unsigned", unsignedRef)],
      ["the wrong key", wrongPolicy, signedPod],
      ["a scan-gate decision other than the attested one", blockPolicy, signedPod],
    ] as const) {
      const r = await apply(policyFile, podFile);
      check(r.code !== 0 && r.fail > 0, `${what}: not denied (exit ${r.code}):\n    ${r.text}`);
      lines.push(`${what}: denied (exit ${r.code}, fail/error ${r.fail}): ${r.why}`);
    }
    return [undefined, lines.join("\n")];
  });

  const pr = await step("pin: image-pin.yml with that digest, pull request in the stand-in", async () => {
    const p = await pipe.run(["pin", "--config", MIRROR_PATHS.config, "--image", image, "--digest", scanDigest, "--tag", resolved.tag, "--commit", resolved.commit,
      "--gate-json", gateJson, "--review-file", path.join(reviewDir, "diff-review.md"), "--run-url", RUN_URL, "--public-key", MIRROR_PATHS.publicKey,
      // The build's time travels with the build (the build job's output in the workflow).
      "--built-at", new Date(v11.time * 1000).toISOString().replace(/\.\d{3}Z$/, "Z")]);
    check(p.json.action === "created", `pin action ${p.json.action}, expected created`);
    const branch = `mirror-build/${resolved.tag}`;
    const pinText = gh.readFile(repoFullName, branch, MIRROR_PATHS.pin);
    check(pinText !== undefined, `no ${MIRROR_PATHS.pin} on ${branch}`);
    check(pinText.includes(scanDigest), `${MIRROR_PATHS.pin} on ${branch} does not hold ${scanDigest}:\n${pinText}`);
    // The fleet report reads the signature from the pin file (issue 14: visible per mirror).
    check(parsePinFile(pinText).signed === true, `${MIRROR_PATHS.pin} on ${branch} records no signature, though sign ran:\n${pinText}`);
    const record = JSON.parse(fs.readFileSync(path.join(audit, "scan.json"), "utf8")) as { image: { digest: string } };
    check(record.image.digest === scanDigest, `the pinned ${scanDigest} is not the index digest the scan record names (${record.image.digest})`);
    const pull = gh.pulls(repoFullName).find((x) => x.number === p.json.number);
    check(pull && pull.issue.state === "open" && pull.head === branch, `no open pull request #${p.json.number} from ${branch}`);
    // The body's commands are the ones step 20-22 ran (against the http registry they need --allow-http-registry too).
    const verifyLine = `cosign verify --key ${MIRROR_PATHS.publicKey} --insecure-ignore-tlog ${image}@${scanDigest}`;
    check((pull.issue.body ?? "").includes(verifyLine), `the pin pull request does not give \`${verifyLine}\``);
    // The GitOps half: the Component on the branch, built by the real kustomize into an app that names the image by tag.
    const component = gh.readFile(repoFullName, branch, KUSTOMIZE_PATH);
    check(component !== undefined, `no ${KUSTOMIZE_PATH} on ${branch}`);
    const [deployment] = buildWithComponent(component, image);
    const built = deployment.spec.template.spec.containers[0].image;
    check(built === `${image}@${scanDigest}`, `kustomize build with ${KUSTOMIZE_PATH} gives ${built}, expected ${image}@${scanDigest}`);
    return [p.json.number as number, `PR #${p.json.number} from ${branch}: ${MIRROR_PATHS.pin} pins ${scanDigest}, the index digest the scan record names (both platforms scanned)\n` +
      `the body gives the cosign verify commands; ${KUSTOMIZE_PATH} (kustomize Component): kustomize build turns ${image.replace(registry.host, "<registry>")}:<tag> into @${scanDigest.slice(0, 19)}…`];
  });

  await step("a reviewer merges the PR; the mirror repo's checkout now pins v1.1.0", async () => {
    gh.mergePull(repoFullName, pr, "alice");
    const merged = gh.readFile(repoFullName, "main", MIRROR_PATHS.pin);
    check(merged !== undefined && merged.includes(scanDigest), `main's ${MIRROR_PATHS.pin} does not hold ${scanDigest} after the merge`);
    fs.writeFileSync(path.join(mirrorDir, MIRROR_PATHS.pin), merged);
    const shown = merged.split("\n").filter((l) => /^(tag|digest|ref):/.test(l));
    return [undefined, `PR #${pr} merged; ${MIRROR_PATHS.pin} on main: ${shown.join(", ")}`];
  });

  const before = {
    registry: JSON.stringify(await registrySnapshot(registry)),
    writes: gh.writes().length,
    issues: JSON.stringify(gh.issues(repoFullName, { pulls: true }).map((i) => [i.number, i.state])),
    images: await buildah.imageCount(),
    archive: fs.statSync(archive).mtimeMs,
  };

  out("\n== run 2: the same workflow again ==");
  await step("resolve: the pinned tag is the newest allowed -> build=false, the workflow stops", async () => {
    const r = await pipe.run(["resolve", "--config", MIRROR_PATHS.config, "--pin", MIRROR_PATHS.pin, "--remote", upstreamDir]);
    check(r.json.tag === "v1.1.0" && r.json.lastTag === "v1.1.0", `resolve: tag ${r.json.tag}, lastTag ${r.json.lastTag}`);
    check(r.json.build === false && r.outputs.build === "false", `resolve says build=${r.json.build}, expected false`);
    return [undefined, `tag ${r.json.tag}, last built ${r.json.lastTag}, build=false: ${r.json.reason}`];
  });

  await step("nothing new: built, pushed, filed or opened", async () => {
    const after = {
      registry: JSON.stringify(await registrySnapshot(registry)),
      writes: gh.writes().length,
      issues: JSON.stringify(gh.issues(repoFullName, { pulls: true }).map((i) => [i.number, i.state])),
      images: await buildah.imageCount(),
      archive: fs.statSync(archive).mtimeMs,
    };
    check(after.images === before.images && after.archive === before.archive, `buildah store or archive changed (${before.images} -> ${after.images} images)`);
    check(after.registry === before.registry, `the registry changed: ${before.registry} -> ${after.registry}`);
    check(after.writes === before.writes, `the pipeline wrote to GitHub ${after.writes - before.writes} more time(s)`);
    check(after.issues === before.issues, `issues/PRs changed: ${before.issues} -> ${after.issues}`);
    check(gh.rejected.length === 0, `the stand-in rejected requests GitHub would reject: ${JSON.stringify(gh.rejected.slice(0, 3))}`);
    check(gh.unimplemented.length === 0, `requests the stand-in does not implement: ${JSON.stringify(gh.unimplemented.slice(0, 3))}`);
    return [undefined, `registry ${after.registry}; ${after.images} image(s) in the build store; GitHub writes: ${after.writes} (unchanged); no request rejected by the OpenAPI check`];
  });

  // Admission follows the nights (test/e2e/admission-window.ts): the e2e must keep calling both steps, in this order.
  const windowWorld: AdmissionWindowWorld = {
    pipeline: (args, expect, stepEnv) => pipe.run(args, expect, stepEnv),
    settings,
    registry: `${registry.host}/${SETTINGS.registryNamespace}`,
    image,
    digest: scanDigest,
    tag: resolved.tag,
    commit: resolved.commit,
    platforms: mirror.build.platforms,
    keyEnv: keyEnv("fleet"),
    kyvernoEnv: { PATH: process.env.PATH, HOME: cosignHome, TMPDIR: tmp },
    workDir: work,
    runUrl: RUN_URL,
  };
  const lastPass = await step(`admission window (${WINDOW_SECONDS}s here, stack setting admissionWindow): the build's pass ages out and is denied; a passing rescan re-attests the pinned digest (sign --rescan): admitted again`, async () => {
    const buildDecidedAt = (JSON.parse(fs.readFileSync(gateJson, "utf8")) as { decidedAt: string }).decidedAt;
    const r = await reattestAfterPassingRescan(windowWorld, buildDecidedAt);
    return [r.decidedAt, r.lines.join("\n")];
  });

  out("\n== the nightly rescan, after an advisory is added to the DB ==");
  await step(`vulnerability DB: the planted advisories plus ${PLANTED.rescan.join(", ")} (e2e-base, on every platform)`, async () => {
    const fixtures = path.join(work, "trivy-db-rescan");
    fs.mkdirSync(fixtures);
    for (const dir of ["trivy-db", "trivy-db-rescan"]) {
      for (const f of fs.readdirSync(path.join(FIXTURES, dir))) fs.copyFileSync(path.join(FIXTURES, dir, f), path.join(fixtures, `${dir}-${f}`));
    }
    const r = await must(cleanup, "trivy-db", trivyDb, ["--fixtures", fixtures, "--cache-dir", trivyCache]);
    return [undefined, r.stdout.trim()];
  });

  const pinnedDigest = /^digest:\s*(sha256:[0-9a-f]{64})\s*$/m.exec(fs.readFileSync(path.join(mirrorDir, MIRROR_PATHS.pin), "utf8"))?.[1];
  const rescanDir = path.join(work, "rescan");
  await step("rescan (the workflow's command): scan --image <pinned image> --digest <pinned digest>, every platform, from the registry", async () => {
    check(pinnedDigest === scanDigest, `${MIRROR_PATHS.pin} pins ${pinnedDigest}, expected ${scanDigest}`);
    const r = await pipe.run(["scan", "--config", MIRROR_PATHS.config, "--platforms", mirror.build.platforms.join(","), "--image", image, "--digest", pinnedDigest!, "--out", rescanDir, "--tls-verify", "false"]);
    check(r.json.kind === "rescan" && r.json.image.digest === scanDigest, `rescan recorded ${r.json.kind} of ${r.json.image.digest}`);
    const lines = await checkScanOutputs(rescanDir, r.json, { platforms: PLATFORMS, waived: PLANTED.build, source: false });
    return [undefined, lines.join("\n")];
  });

  await step("gate the rescan: blocks on exactly the new advisory -> the rescan issue is opened", async () => {
    const summary = path.join(rescanDir, "gate-summary.md");
    const g = await pipe.run(gateArgs(rescanDir, summary), [1]);
    const ids = (g.json.blocking as Array<{ id: string }>).map((f) => f.id).sort();
    check(JSON.stringify(ids) === JSON.stringify(PLANTED.rescan), `the rescan gate blocks on ${ids.join(", ") || "nothing"}, expected exactly ${PLANTED.rescan.join(", ")}`);
    const places = (g.json.blocking as Array<{ places: string[] }>)[0].places.join(", ");
    check(places === PLATFORMS.join(", "), `${PLANTED.rescan[0]} is listed at ${places}, expected ${PLATFORMS.join(", ")}`);
    const gateFile = path.join(rescanDir, "gate.json");
    fs.writeFileSync(gateFile, JSON.stringify(g.json));
    const i = await pipe.run(["issue", "--kind", "rescan", "--state", "open", "--tag", resolved.tag, "--gate-json", gateFile, "--summary-file", summary, "--run-url", RUN_URL]);
    check(i.json.action === "created", `rescan issue action ${i.json.action}, expected created`);
    const issue = gh.issue(repoFullName, i.json.number);
    check(issue.state === "open" && (issue.body ?? "").includes(PLANTED.rescan[0]), `rescan issue #${issue.number} is ${issue.state} and does not name ${PLANTED.rescan[0]}`);
    return [undefined, `BLOCKED on exactly ${ids.join(", ")} at ${places} (the planted advisory added after the pin); rescan issue #${i.json.number} opened (${issue.labels.join(", ")})`];
  });

  await step("admission window: the rescan blocked, so nothing was re-attested; once the window has passed since the last pass, the pinned digest is denied", async () => {
    return [undefined, (await deniedOnceWindowPasses(windowWorld, lastPass)).join("\n")];
  });
}

async function main(): Promise<number> {
  const started = Date.now();
  const cleanup = new Cleanup();
  let interrupted: string | undefined;
  const onSignal = (sig: NodeJS.Signals) => {
    if (interrupted) return;
    interrupted = sig;
    out(`\n${sig}: stopping and removing everything this run started`);
    void cleanup.run(out).then((problems) => {
      for (const p of problems) out(`  NOT CLEANED: ${p}`);
      process.exit(sig === "SIGINT" ? 130 : 143);
    });
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);

  out("mirror-fleet e2e: one mirror through the pipeline with buildah, skopeo and docker-registry\n");
  let failure: Error | undefined;
  try {
    await e2e(cleanup);
  } catch (e) {
    failure = e as Error;
  }
  if (interrupted) return 1;
  out("\n== cleanup ==");
  const problems = await cleanup.run(out);
  for (const p of problems) out(`  NOT CLEANED: ${p}`);
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (failure) {
    if (failedStep) out(`\nE2E FAILED after ${seconds}s at step ${failedStep} (the reason is printed under it)`);
    else out(`\nE2E FAILED after ${seconds}s: ${failure instanceof E2eFailure ? failure.message : failure.stack}`);
    return 1;
  }
  if (problems.length > 0) {
    out(`\nE2E FAILED after ${seconds}s: the run passed but left things behind`);
    return 1;
  }
  out(`\nE2E PASSED in ${seconds}s`);
  return 0;
}

export const USAGE = `usage: npm run e2e

One mirror through the pipeline with real tools (git, buildah, skopeo,
docker-registry, a static busybox; Trivy when on PATH), against a GitHub
stand-in and a registry on 127.0.0.1. Takes no options. Exits 0 when it
passes, 1 when a step fails (the step and its reason are printed).
  E2E_BUSYBOX  path of a static busybox (default /bin/busybox)
`;

const argv = process.argv.slice(2);
if (require.main !== module) {
  // Imported (for USAGE): run nothing.
} else if (argv.includes("--help") || argv.includes("-h")) {
  process.stdout.write(USAGE);
} else if (argv.length > 0) {
  process.stderr.write(`e2e: unknown option ${JSON.stringify(argv[0])}\n\n${USAGE}`);
  process.exitCode = 2;
} else {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (e) => {
      process.stderr.write(`${(e as Error).stack ?? e}\n`);
      process.exitCode = 1;
    },
  );
}
