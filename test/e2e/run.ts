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
 *   digest) -> pin (PR in the GitHub stand-in) -> the same run again: nothing
 *   new is built, pushed, filed or opened -> an advisory added to the DB: the
 *   rescan of the pushed digest opens the rescan issue.
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
import { resolveFleet } from "../../components/spec";
import type { MirrorSpec, ResolvedMirror, StackSettings } from "../../components/types";
import { readProjectFile } from "../../infra/mirrors";
import { renderFleet } from "../../infra/render";
import { policy } from "../../infra/policy";
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
  async run(args: readonly string[], expect: readonly number[] = [0]): Promise<PipelineResult> {
    this.workflow.check(args);
    const outFile = path.join(this.tmp, `github-output-${++this.calls}`);
    fs.writeFileSync(outFile, "");
    const env = { PATH: process.env.PATH, HOME: process.env.HOME, TMPDIR: this.tmp, GITHUB_OUTPUT: outFile, ...this.env };
    const r = await run(this.cleanup, process.execPath, [MIRROR_PATHS.bundle, ...args], { cwd: this.mirrorDir, env });
    const shown = `pipeline ${args.join(" ")}`;
    if (!expect.includes(r.code)) {
      // The reason comes first (a usage error is followed by the whole usage text).
      const lines = (r.stderr || r.stdout).trim().split("\n");
      const why = lines.length > 8 ? [...lines.slice(0, 6), `… (${lines.length - 6} more lines)`] : lines;
      fail(`${shown}: exit ${r.code}, expected ${expect.join(" or ")}:\n    ${why.join("\n    ")}`);
    }
    let json: unknown;
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
function render(out: string, entry: MirrorSpec): { mirror: ResolvedMirror; changed: string[] } {
  const inputs = { entries: [{ file: ENTRY_FILE, spec: entry }], policy, settings: SETTINGS, readFile: readProjectFile };
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

  await step("preflight: tools", async () => {
    const missing = ["git", "buildah", "skopeo", "docker-registry"].filter((t) => !which(t));
    if (!fs.existsSync(busybox)) missing.push(`a static busybox at ${busybox}`);
    else if (!isStaticElf(busybox)) missing.push(`a static busybox (${busybox} is dynamically linked: install busybox-static, not busybox)`);
    if (missing.length > 0) fail(`missing: ${missing.join(", ")}. On Debian/Ubuntu: apt-get install ${APT_PACKAGES}`);
    // The real scanner, built by npm run engine:build; never a recorded report.
    try {
      trivy = toolPath("trivy");
      trivyDb = toolPath("trivy-db", "trivy_db");
    } catch (e) {
      fail((e as Error).message);
    }
    const version = (await must(cleanup, "trivy --version", trivy, ["--version"])).stdout.trim().split("\n")[0];
    return [undefined, `git, buildah, skopeo, docker-registry, static busybox: found; ${trivy} (${version}); ${trivyDb}`];
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

  let { mirror } = await step("render: npm run render's renderFleet -> the local mirror repo", async () => {
    const r = render(renderDir, spec);
    const dir = path.join(renderDir, r.mirror.repo);
    for (const p of [MIRROR_PATHS.config, MIRROR_PATHS.trivyignore, MIRROR_PATHS.override, MIRROR_PATHS.bundle, MIRROR_PATHS.workflow]) {
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
    const r = render(renderDir, withWaiver);
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

  const pr = await step("pin: image-pin.yml with that digest, pull request in the stand-in", async () => {
    const p = await pipe.run(["pin", "--config", MIRROR_PATHS.config, "--image", image, "--digest", scanDigest, "--tag", resolved.tag, "--commit", resolved.commit,
      "--gate-json", gateJson, "--review-file", path.join(reviewDir, "diff-review.md"), "--run-url", RUN_URL,
      // The build's time travels with the build (the build job's output in the workflow).
      "--built-at", new Date(v11.time * 1000).toISOString().replace(/\.\d{3}Z$/, "Z")]);
    check(p.json.action === "created", `pin action ${p.json.action}, expected created`);
    const branch = `mirror-build/${resolved.tag}`;
    const pinText = gh.readFile(repoFullName, branch, MIRROR_PATHS.pin);
    check(pinText !== undefined, `no ${MIRROR_PATHS.pin} on ${branch}`);
    check(pinText.includes(scanDigest), `${MIRROR_PATHS.pin} on ${branch} does not hold ${scanDigest}:\n${pinText}`);
    const record = JSON.parse(fs.readFileSync(path.join(audit, "scan.json"), "utf8")) as { image: { digest: string } };
    check(record.image.digest === scanDigest, `the pinned ${scanDigest} is not the index digest the scan record names (${record.image.digest})`);
    const pull = gh.pulls(repoFullName).find((x) => x.number === p.json.number);
    check(pull && pull.issue.state === "open" && pull.head === branch, `no open pull request #${p.json.number} from ${branch}`);
    return [p.json.number as number, `PR #${p.json.number} from ${branch}: ${MIRROR_PATHS.pin} pins ${scanDigest}, the index digest the scan record names (both platforms scanned)`];
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
