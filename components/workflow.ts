/**
 * The mirror workflow: the working half of the product, in two files.
 * Committed into every mirror repository, `.github/workflows/mirror.yml` (the
 * caller): the mirror's triggers, and one job that calls its shape's shared
 * workflow in the pipeline repository by commit, passing what differs
 * between mirrors as inputs (issue 21: a mirror carries its settings, not
 * the jobs). Committed once per shape into the pipeline repository,
 * `.github/workflows/mirror-<hash>.yml` (the shared workflow): the jobs. Both
 * are made by the same job functions as `mirrorWorkflow`, the two as one,
 * which every check reads (test/workflow/shared.test.ts proves the pair is it).
 *
 * The jobs stay thin — each sets up the fleet's pipeline from the pipeline
 * repository, pinned by commit (`uses: <owner>/mirror-fleet-pipeline@<sha>`,
 * components/pipeline-action.ts), and each step calls it (`node
 * "$RUNNER_TEMP/mirror-fleet-pipeline.cjs" <command>`) — and decide only order, permissions and
 * how data passes between jobs. docs/workflow.md explains each job to a human.
 *
 * Shape of one build run:
 *   resolve -> review -> [override-review] -> build -> report, block, publish -> pin -> [notify]
 * and of the scheduled runs that never build:
 *   rescan -> rescan-report        health
 *
 * Why the jobs are cut where they are:
 * - Jobs that run a third-party scanner (Trivy) or touch the upstream tree
 *   hold no write token: `build` and `rescan` are read-only. What needs a
 *   write scope (issues, SARIF, packages, the pin PR) happens in small jobs
 *   that only read our own JSON and Markdown from artifacts. In March 2026
 *   the scanner action's tags were force-pushed to credential stealers; a
 *   scanner that runs next to a write token hands it over.
 * - The drift gate needs an answer from an issue (a human closed the
 *   override-review issue = approval) before anything is built, and asking
 *   files the issue, which needs `issues: write`; so the diff review runs in
 *   its own read-only job and a tiny job holding `issues: write` asks.
 * - Build once: the OCI archive made in `build` is the one scanned and the
 *   one `publish` pushes (by digest, verified against the registry).
 */
import { header } from "./header";
import { isRuntimeStageOverride } from "../contract";
import { MIRROR_PATHS } from "./mirror-config";
import { PIPELINE_COMMAND, PLACEHOLDER_COMMIT, sha256Hex, SHARED_WORKFLOW_DIR, type PipelinePin } from "./pipeline-action";
import { registryHost } from "./registry";
import type { ResolvedMirror } from "./types";
import {
  and,
  expr,
  githubToken,
  lit,
  needsOutput,
  or,
  PipelineAction,
  secret,
  SharedWorkflowRef,
  stepOutput,
  toGithub,
  type CallInput,
  type Expr,
  type Job,
  type Permissions,
  type Step,
  type Value,
  type Workflow,
} from "./workflow/model";
import { COSIGN_SECRETS, reattestJob, signSteps } from "./workflow/sign";
import { trivySteps } from "./workflow/trivy";
import { toYaml } from "./yaml";

export { checkJobChains, checkWorkflowSecurity, workflowCounts, type SecurityFinding, type WorkflowCounts } from "./workflow/analyze";

/** The strict tag pattern of the pipeline contract; checked again in `resolve` before any job uses a tag. */
export const TAG_PATTERN = "^[A-Za-z0-9][A-Za-z0-9._+/-]{0,127}$";
const COMMIT_PATTERN = "^[0-9a-f]{40}([0-9a-f]{24})?$";
const DIGEST_PATTERN = "^sha256:[0-9a-f]{64}$";

/** SARIF categories: one per kind of scan, so one upload never replaces another's alerts. */
export const SARIF_CATEGORIES = { image: "mirror-image", filesystem: "mirror-filesystem", rescan: "mirror-rescan" } as const;

/** Artifact names inside one run. */
export const ARTIFACTS = { review: "diff-review", audit: "audit", image: "image", rescan: "rescan" } as const;

/**
 * A pinned runner image, never `ubuntu-latest`: GitHub moves that label to a
 * new Ubuntu release on its own schedule, which would change the build
 * environment of every mirror without a commit here. Moving on is a change
 * to this line, reviewed like any other.
 */
export const RUNNER = "ubuntu-24.04";

/** Where publish downloads the image artifact: a folder of its own that no committed file lives in. */
export const IMAGE_DIR = "image-artifact";

/** The scanned image archive lives only until `publish` has pushed it (a week leaves room to re-run a failed publish). */
const IMAGE_RETENTION_DAYS = 7;

/** How a run step calls the pipeline: the bundle the job's setup step checked (setupPipeline). */
const PIPELINE = PIPELINE_COMMAND;
const CONFIG = MIRROR_PATHS.config;
const RUN_URL = "run_url=\"$GITHUB_SERVER_URL/$GITHUB_REPOSITORY/actions/runs/$GITHUB_RUN_ID\"";

/** Lines of a bash script; ends with a newline so YAML writes a clean `|` block. */
function sh(...lines: string[]): string {
  return lines.join("\n") + "\n";
}

const checkout: Step = { name: "Check out the mirror repository", uses: "checkout", with: { "persist-credentials": false } };

/**
 * What differs between mirrors that share a workflow: the caller passes it
 * in `with:`. The effective workflow (mirrorWorkflow) holds a mirror's own
 * values, the shared one `${{ inputs.<name> }}`; everything else a job reads
 * of the mirror is its shape (sharedWorkflowFile).
 */
interface MirrorValues {
  readonly upstream_url: Value;
  readonly upstream_repo: Value;
  readonly image: Value;
  readonly watch: Value;
  readonly context: Value;
  readonly dockerfile: Value;
  readonly dockerfile_origin: Value;
  readonly override_sha256: Value;
  readonly build_args: Value;
  readonly retention_days: Value;
  readonly mirror: Value;
}

const VALUE_INPUTS: Readonly<Record<keyof MirrorValues, CallInput>> = {
  upstream_url: { description: "The upstream repository's clone URL", type: "string", required: true },
  upstream_repo: { description: "The upstream repository, owner/name", type: "string", required: true },
  image: { description: "The mirror's image, without tag or digest", type: "string", required: true },
  watch: { description: "Upstream paths whose change is Dockerfile drift, comma-separated", type: "string", required: true },
  context: { description: "The build context in the upstream checkout", type: "string", required: true },
  dockerfile: { description: "Upstream's Dockerfile in the upstream checkout", type: "string", required: true },
  dockerfile_origin: { description: "Where the Dockerfile built comes from (upstream path, or the override's source)", type: "string", required: true },
  override_sha256: { description: "sha256 of the override's source, or empty", type: "string", required: false, default: "" },
  build_args: { description: "Build args, one KEY=VALUE a line, or empty", type: "string", required: false, default: "" },
  retention_days: { description: "Days the run's artifacts are kept", type: "number", required: true },
  mirror: { description: "The mirror's name", type: "string", required: true },
};

function valuesOf(m: ResolvedMirror): MirrorValues {
  return {
    upstream_url: m.upstream.url,
    upstream_repo: m.upstream.fullName,
    image: m.image,
    watch: m.watch.join(","),
    context: upstreamPath(m.build.context),
    dockerfile: upstreamPath(m.build.dockerfile),
    dockerfile_origin: m.override ? m.override.source : m.build.dockerfile,
    override_sha256: m.override?.sha256 ?? "",
    build_args: buildArgLines(m),
    retention_days: m.artifactRetentionDays,
    mirror: m.name,
  };
}

const INPUT_VALUES = Object.fromEntries(Object.keys(VALUE_INPUTS).map((k) => [k, expr(`inputs.${k}`)])) as unknown as MirrorValues;

/** When each chain runs: a schedule of the mirror's (effective), or the kind of run its caller passes (shared). */
interface Runs {
  readonly build: string;
  readonly rescan: string;
  readonly health: string;
}

const SHARED_RUNS: Runs = {
  build: "github.event_name == 'schedule' && inputs.run == 'build'",
  rescan: "inputs.run == 'rescan'",
  health: "inputs.run == 'health'",
};

/** A mirror with the pipeline its workflow runs (the stack's commit of it), its values and when its chains run. */
type Mirror = ResolvedMirror & { readonly pipeline: PipelinePin; readonly v: MirrorValues; readonly runs: Runs };

/**
 * The fleet's pipeline, pinned by commit: it sets up Node.js, checks the
 * bundle against the sha256 this workflow names, and puts it where the job's
 * later steps run it (PIPELINE_COMMAND, components/pipeline-action.ts).
 */
function setupPipeline(m: Mirror, guard?: Expr): Step {
  return {
    name: "Set up the pinned fleet pipeline (Node.js, bundle by sha256)",
    ...(guard ? { if: guard } : {}),
    uses: new PipelineAction(m.pipeline),
    with: { "node-version": m.nodeVersion, "bundle-sha256": m.pipeline.bundleSha256 },
  };
}

function download(name: string, path: string, guard?: Expr): Step {
  return { name: `Download the ${name} artifact`, ...(guard ? { if: guard } : {}), uses: "downloadArtifact", with: { name, path } };
}

/**
 * A job that runs only when these jobs succeeded. Spelled out with
 * `!cancelled()` instead of GitHub's implicit `success()`, which also looks
 * at ancestors further up: once the optional override-review job is
 * skipped, an implicit `success()` would skip publish and pin even though
 * build, their direct need, succeeded (actions/runner#2205).
 */
function succeeded(jobs: readonly string[], ...more: string[]): Expr {
  return and("!cancelled()", ...jobs.map((j) => `needs.${j}.result == 'success'`), ...more);
}

function isSchedule(cron: string): string {
  return `github.event_name == 'schedule' && github.event.schedule == ${lit(cron)}`;
}

/** Events that run the build chain: the nightly build cron, or a dispatch/push on the default branch. */
function buildEvent(m: Mirror): Expr {
  return or(
    m.runs.build,
    and(
      "github.event_name == 'workflow_dispatch' || github.event_name == 'push'",
      "github.ref_name == github.event.repository.default_branch",
    ),
  );
}

/** Fails unless the upstream tag still names the commit `resolve` recorded: what was reviewed is what is built. */
const VERIFY_TAG_COMMIT = [
  "actual=\"$(git -C upstream rev-parse --verify --quiet \"refs/tags/$TAG^{commit}\" || true)\"",
  "if [ \"$actual\" != \"$COMMIT\" ]; then",
  "  echo \"::error::the upstream tag no longer points to the resolved commit $COMMIT; nothing is built\"",
  "  exit 1",
  "fi",
  "git -C upstream -c advice.detachedHead=false checkout --quiet --detach \"$COMMIT\"",
];

/**
 * Nightly only: whether the pinned image was built from the override committed
 * now. The pin records the override's sha256 (pipeline/lib/pin.ts); a changed
 * override (an edit in the fleet repository, or a base image moved in
 * infra/base-images.ts) rebuilds the pinned tag at this mirror's own nightly
 * minute, spread over the window, not at the minute `pulumi up` pushed the
 * change to every mirror.
 */
function overrideChangedStep(): Step {
  return {
    name: "Was the pinned image built from the override committed now?",
    id: "recipe",
    if: expr("github.event_name == 'schedule'"),
    run: sh(
      "changed=false",
      `if [ -f ${MIRROR_PATHS.pin} ]; then`,
      `  pinned="$(sed -nE 's/^override_sha256:[[:space:]]*"?([0-9a-f]{64})"?[[:space:]]*$/\\1/p' ${MIRROR_PATHS.pin})"`,
      `  current="$(sha256sum ${MIRROR_PATHS.override} | cut -d' ' -f1)"`,
      "  if [ \"$pinned\" != \"$current\" ]; then",
      "    echo \"::notice::the pinned image was built from override sha256 ${pinned:-(none recorded)}; the committed override is $current: this run rebuilds the pinned tag\"",
      "    changed=true",
      "  fi",
      "fi",
      "echo \"changed=$changed\" >> \"$GITHUB_OUTPUT\"",
    ),
  };
}

/**
 * When `resolve` rebuilds the pinned tag: asked for by a dispatch (`force`),
 * or a nightly run after the override changed. Never on a push: a push from
 * `pulumi up` reaches every mirror in the same minute, so it builds only a tag
 * that is not pinned yet (a new mirror's first build, a tag a new waiver lets
 * through); a changed gate or waiver re-judges the pinned digest at the
 * nightly rescan, which reads the config and waivers committed then.
 */
function forceExpr(m: ResolvedMirror): Expr {
  return expr(m.override ? "inputs.force || steps.recipe.outputs.changed == 'true'" : "inputs.force");
}

function resolveJob(m: Mirror): Job {
  return {
    name: "Resolve the upstream tag",
    if: buildEvent(m),
    permissions: { contents: "read" },
    timeoutMinutes: 10,
    outputs: {
      build: stepOutput("checked", "build"),
      tag: stepOutput("checked", "tag"),
      commit: stepOutput("checked", "commit"),
      last_tag: stepOutput("checked", "last_tag"),
      reason: stepOutput("resolve", "reason"),
    },
    steps: [
      checkout,
      setupPipeline(m),
      ...(m.override ? [overrideChangedStep()] : []),
      {
        name: "Newest allowed upstream tag vs image-pin.yml",
        id: "resolve",
        env: {
          UPSTREAM_URL: m.v.upstream_url,
          TAG_INPUT: expr("inputs.tag"),
          FORCE: forceExpr(m),
        },
        run: sh(
          `args=(--config ${CONFIG} --pin ${MIRROR_PATHS.pin} --remote "$UPSTREAM_URL")`,
          "if [ -n \"$TAG_INPUT\" ]; then args+=(--tag \"$TAG_INPUT\"); fi",
          "if [ \"$FORCE\" = \"true\" ]; then args+=(--force); fi",
          `${PIPELINE} resolve "\${args[@]}"`,
        ),
      },
      {
        // Defence in depth: whatever resolve printed, no later job sees a tag
        // outside the strict pattern (git allows ; $ ( | in tag names).
        name: "Check the tag and commit before any job uses them",
        id: "checked",
        env: {
          BUILD: stepOutput("resolve", "build"),
          TAG: stepOutput("resolve", "tag"),
          COMMIT: stepOutput("resolve", "commit"),
          LAST_TAG: stepOutput("resolve", "last_tag"),
        },
        run: sh(
          `tag_pattern='${TAG_PATTERN}'`,
          "if [ \"$BUILD\" != \"true\" ]; then",
          "  echo \"build=false\" >> \"$GITHUB_OUTPUT\"",
          "  exit 0",
          "fi",
          "if ! [[ \"$TAG\" =~ $tag_pattern ]]; then",
          "  echo \"::error::resolve: the tag does not match $tag_pattern; nothing is built\"",
          "  exit 1",
          "fi",
          "if [ -n \"$LAST_TAG\" ] && ! [[ \"$LAST_TAG\" =~ $tag_pattern ]]; then",
          "  echo \"::error::image-pin.yml: the pinned tag does not match $tag_pattern\"",
          "  exit 1",
          "fi",
          `if ! [[ "$COMMIT" =~ ${COMMIT_PATTERN} ]]; then`,
          "  echo \"::error::resolve: the commit is not a full SHA\"",
          "  exit 1",
          "fi",
          "{",
          "  echo \"build=true\"",
          "  echo \"tag=$TAG\"",
          "  echo \"commit=$COMMIT\"",
          "  echo \"last_tag=$LAST_TAG\"",
          "} >> \"$GITHUB_OUTPUT\"",
        ),
      },
    ],
  };
}

/**
 * A job's output, or '' unless the job succeeded. For a job that may have
 * been skipped: GitHub gives a skipped job's outputs as '', act leaves them
 * unevaluated (nektos/act#2467); reading them only after success is what is
 * meant on both.
 */
function outputIfSucceeded(job: string, name: string): Expr {
  return expr(`needs.${job}.result == 'success' && needs.${job}.outputs.${name} || ''`);
}

const TAG = needsOutput("resolve", "tag");
const COMMIT = needsOutput("resolve", "commit");
const LAST_TAG = needsOutput("resolve", "last_tag");

function reviewJob(m: Mirror): Job {
  return {
    name: "Diff review against the last built tag",
    needs: ["resolve"],
    if: succeeded(["resolve"], "needs.resolve.outputs.build == 'true'"),
    permissions: { contents: "read" },
    timeoutMinutes: 20,
    outputs: { drift: stepOutput("review", "drift"), drift_files: stepOutput("review", "drift_files") },
    steps: [
      checkout,
      setupPipeline(m),
      {
        name: "Clone upstream (full history, for the commit log and patch)",
        env: { UPSTREAM_URL: m.v.upstream_url, TAG, COMMIT },
        run: sh("git clone --quiet --no-checkout -- \"$UPSTREAM_URL\" upstream", ...VERIFY_TAG_COMMIT),
      },
      {
        name: "Commit log, changed files and patch; Dockerfile drift",
        id: "review",
        env: { TAG, LAST_TAG, WATCH: m.v.watch },
        run: sh(
          "code=0",
          `${PIPELINE} review --src upstream --from "$LAST_TAG" --to "$TAG" --watch "$WATCH" --out review || code=$?`,
          "# Drift is reported in the step outputs; exit 1 only says drift was found.",
          "if [ \"$code\" -gt 1 ]; then exit \"$code\"; fi",
        ),
      },
      {
        name: "Upload the diff review",
        uses: "uploadArtifact",
        with: {
          name: ARTIFACTS.review,
          path: "review/",
          "retention-days": m.v.retention_days,
          "if-no-files-found": "error",
          overwrite: true,
        },
      },
    ],
  };
}

/** Only for mirrors with an override: upstream changed a watched path, so a human must look before we build. */
function overrideReviewJob(m: Mirror): Job {
  return {
    name: "Drift gate: override review",
    needs: ["resolve", "review"],
    if: succeeded(["resolve", "review"], "needs.review.outputs.drift == 'changed'"),
    // Runs no scanner and never sees the upstream tree: only our diff-review.md.
    permissions: { contents: "read", issues: "write" },
    timeoutMinutes: 10,
    outputs: {
      approved: stepOutput("ask", "approved"),
      approved_by: stepOutput("ask", "approved_by"),
      number: stepOutput("ask", "number"),
      action: stepOutput("ask", "action"),
    },
    steps: [
      checkout,
      setupPipeline(m),
      download(ARTIFACTS.review, "review"),
      {
        name: "File or find the override-review issue (closed by a human = approved)",
        id: "ask",
        env: { TAG, GITHUB_TOKEN: githubToken() },
        run: sh(
          RUN_URL,
          `${PIPELINE} issue --kind override-review --state open --tag "$TAG" --drift-json review/drift.json --body-file review/diff-review.md --run-url "$run_url"`,
        ),
      },
    ],
  };
}

function buildArgLines(m: ResolvedMirror): string {
  return Object.entries(m.build.args)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join("\n");
}

function upstreamPath(rel: string): string {
  return rel === "." ? "upstream" : `upstream/${rel.replace(/^\.\//, "").replace(/\/$/, "")}`;
}

/** The Dockerfile the build uses, and how it comes to be; `audit/Dockerfile` records its exact text. */
interface DockerfilePlan {
  readonly describe: string;
  /** Path the build reads (relative to the workspace). */
  readonly path: string;
  readonly source: "override" | "upstream";
  readonly env: Readonly<Record<string, Value>>;
  readonly script: readonly string[];
}

function dockerfilePlan(m: Mirror): DockerfilePlan {
  const upstreamDockerfile = m.v.dockerfile;
  if (!m.override) {
    // Copied out of the checkout by the pipeline, which refuses a symbolic link that leaves it:
    // `cp` or the build would follow one to any file of the runner.
    return {
      describe: "none, upstream's own",
      path: "build.Dockerfile",
      source: "upstream",
      env: { DOCKERFILE: "build.Dockerfile", UPSTREAM_DOCKERFILE: upstreamDockerfile },
      script: [`${PIPELINE} dockerfile --root upstream --context "$CONTEXT" --upstream "$UPSTREAM_DOCKERFILE" --out "$DOCKERFILE"`],
    };
  }
  if (isRuntimeStageOverride(m.override.content)) {
    // Upstream's build stages stay, the runtime stage is ours: the pipeline
    // appends it and fails closed when a stage it copies from is gone.
    return {
      describe: "runtime stage appended to upstream's",
      path: "build.Dockerfile",
      source: "override",
      env: { DOCKERFILE: "build.Dockerfile", UPSTREAM_DOCKERFILE: upstreamDockerfile },
      script: [`${PIPELINE} dockerfile --root upstream --context "$CONTEXT" --upstream "$UPSTREAM_DOCKERFILE" --override ${MIRROR_PATHS.override} --out "$DOCKERFILE"`],
    };
  }
  return {
    describe: `${MIRROR_PATHS.override} replaces upstream's`,
    path: "build.Dockerfile",
    source: "override",
    env: { DOCKERFILE: "build.Dockerfile" },
    script: [`${PIPELINE} dockerfile --root upstream --context "$CONTEXT" --override ${MIRROR_PATHS.override} --out "$DOCKERFILE"`],
  };
}

function buildJob(m: Mirror): Job {
  const needs = m.override ? ["resolve", "review", "override-review"] : ["resolve", "review"];
  // With an override, drift blocks until the override-review issue is closed (approved).
  const condition = m.override
    ? succeeded(["resolve", "review"], "needs.review.outputs.drift != 'changed' || needs.override-review.outputs.approved == 'true'")
    : succeeded(["resolve", "review"]);
  const buildArgs = buildArgLines(m);
  const multiArch = m.build.platforms.some((p) => p !== "linux/amd64");
  const dockerfile = dockerfilePlan(m);

  const steps: Step[] = [
    checkout,
    setupPipeline(m),
    {
      name: "Fetch upstream at the tag and check it is the resolved commit",
      env: { UPSTREAM_URL: m.v.upstream_url, TAG, COMMIT },
      run: sh(
        "git init --quiet upstream",
        "git -C upstream fetch --quiet --depth 1 --no-tags -- \"$UPSTREAM_URL\" \"+refs/tags/$TAG:refs/tags/$TAG\"",
        ...VERIFY_TAG_COMMIT,
      ),
    },
    download(ARTIFACTS.review, "audit"),
    {
      name: `Dockerfile to build: ${dockerfile.describe}`,
      // The build context is upstream's too: a link out of the checkout would send the runner's files to the build.
      env: { ...dockerfile.env, CONTEXT: m.v.context },
      run: sh(...dockerfile.script, "cp \"$DOCKERFILE\" audit/Dockerfile"),
    },
    {
      // Upstream's own bases are neither pinned nor reviewed here: record what
      // each FROM resolves to now and build exactly that, so the audit bundle
      // and the pin pull request name every base of the image.
      name: "Base images: record the digest each FROM resolves to, and build those",
      env: { DOCKERFILE: dockerfile.path, TAG, ...(buildArgs ? { BUILD_ARGS: m.v.build_args } : {}) },
      run: sh(
        "args=(--dockerfile \"$DOCKERFILE\" --out audit/base-images.json --pin --build-arg \"VERSION=$TAG\")",
        ...(buildArgs ? ["while IFS= read -r arg; do", "  args+=(--build-arg \"$arg\")", "done <<< \"$BUILD_ARGS\""] : []),
        `${PIPELINE} bases "\${args[@]}"`,
        "# The audit copy is what is built: the pinned text.",
        "cp \"$DOCKERFILE\" audit/Dockerfile",
      ),
    },
    {
      name: "Record the upstream commit and the Dockerfile used",
      env: {
        UPSTREAM_REPO: m.v.upstream_repo,
        UPSTREAM_URL: m.v.upstream_url,
        TAG,
        COMMIT,
        DOCKERFILE_SOURCE: dockerfile.source,
        DOCKERFILE_ORIGIN: m.v.dockerfile_origin,
        OVERRIDE_SOURCE_SHA256: m.v.override_sha256,
      },
      run: sh(
        "jq -n --arg repo \"$UPSTREAM_REPO\" --arg url \"$UPSTREAM_URL\" --arg tag \"$TAG\" --arg commit \"$COMMIT\" \\",
        "  --arg source \"$DOCKERFILE_SOURCE\" --arg origin \"$DOCKERFILE_ORIGIN\" --arg override \"$OVERRIDE_SOURCE_SHA256\" \\",
        "  --arg built \"$(sha256sum audit/Dockerfile | cut -d' ' -f1)\" \\",
        "  --arg run \"$GITHUB_SERVER_URL/$GITHUB_REPOSITORY/actions/runs/$GITHUB_RUN_ID\" \\",
        "  '{upstream: {repo: $repo, url: $url, tag: $tag, commit: $commit}, dockerfile: {source: $source, origin: $origin, override_source_sha256: $override, built_sha256: $built}, run: $run}' \\",
        "  > audit/upstream.json",
      ),
    },
    { name: "Set up Buildx", uses: "setupBuildx" },
  ];
  if (multiArch) {
    steps.push({
      // Cross-platform RUN steps need binfmt emulation; Ubuntu's signed package
      // registers it, no unpinned helper image needed.
      name: "Set up QEMU for the other platforms",
      run: sh(
        "sudo apt-get update --quiet",
        "sudo apt-get install --yes --quiet --no-install-recommends qemu-user-static",
      ),
    });
  }
  const buildEnv: Record<string, Value> = {
    TAG,
    COMMIT,
    PLATFORMS: m.build.platforms.join(","),
    DOCKERFILE: dockerfile.path,
    CONTEXT: m.v.context,
  };
  if (buildArgs) buildEnv.BUILD_ARGS = m.v.build_args;
  steps.push(
    {
      // The only build of the run. Provenance and SBOM come from GitHub
      // attestations and Trivy, so buildx adds no attestation manifests
      // to the index (they would be scanned and pushed as "platforms").
      name: "Build once, to an OCI archive",
      env: buildEnv,
      run: sh(
        "args=(",
        "  --platform \"$PLATFORMS\"",
        "  --file \"$DOCKERFILE\"",
        "  --build-arg \"VERSION=$TAG\"",
        "  --label \"org.opencontainers.image.source=$GITHUB_SERVER_URL/$GITHUB_REPOSITORY\"",
        "  --label \"org.opencontainers.image.revision=$COMMIT\"",
        "  --label \"org.opencontainers.image.version=$TAG\"",
        "  --provenance=false",
        "  --sbom=false",
        "  --output \"type=oci,dest=image.tar\"",
        ")",
        ...(buildArgs
          ? [
              "# Fleet build args, one KEY=VALUE a line (validated in the fleet repo).",
              "while IFS= read -r arg; do",
              "  args+=(--build-arg \"$arg\")",
              "done <<< \"$BUILD_ARGS\"",
            ]
          : []),
        "docker buildx build \"${args[@]}\" \"$CONTEXT\"",
      ),
    },
    {
      // The pin records this time: it travels with the build, so a re-run of pin writes the same file.
      name: "Build time, for the pin",
      id: "built",
      run: sh("echo \"at=$(date -u +%Y-%m-%dT%H:%M:%SZ)\" >> \"$GITHUB_OUTPUT\""),
    },
    { name: "Digest of the archive (what is scanned is what is pushed)", id: "digest", run: sh(`${PIPELINE} publish --archive image.tar --print-digest`) },
    {
      name: "Check the digest",
      id: "image",
      env: { DIGEST: stepOutput("digest", "digest") },
      run: sh(
        `if ! [[ "$DIGEST" =~ ${DIGEST_PATTERN} ]]; then`,
        "  echo \"::error::publish --print-digest gave no sha256 digest\"",
        "  exit 1",
        "fi",
        "echo \"$DIGEST\" > audit/digest.txt",
        "# The archive's own hash: publish checks it before any step there holds a token.",
        "archive_sha256=\"$(sha256sum image.tar | cut -d' ' -f1)\"",
        "{",
        "  echo \"digest=$DIGEST\"",
        "  echo \"archive_sha256=$archive_sha256\"",
        "} >> \"$GITHUB_OUTPUT\"",
      ),
    },
    ...trivySteps(m.trivyVersion),
    {
      // Trivy cannot read the OCI tar and scans one manifest of an index: the
      // pipeline's scan makes a layout and scans every platform manifest by
      // its digest, then the source; the e2e runs this same command.
      name: "Scan every platform and the upstream source (Trivy, once each; SARIF, CycloneDX, scan record)",
      env: { PLATFORMS: m.build.platforms.join(","), TRIVY_NO_PROGRESS: "true" },
      run: sh(
        "code=0",
        `${PIPELINE} scan --config ${CONFIG} --platforms "$PLATFORMS" --archive image.tar --source upstream --out audit > audit/scan-output.json || code=$?`,
        "# A platform without a report is written down in audit/scan.json and the gate blocks on it.",
        "echo \"scan: exit $code\"",
      ),
    },
    {
      // Every platform's report gates, and the source's unless the entry's
      // gate.scans turned that off with a reason (config.yml).
      name: "Gate: findings and waivers -> pass or block",
      id: "gate",
      run: sh(
        "code=0",
        `${PIPELINE} gate --config ${CONFIG} --scan-record audit/scan.json --summary-out audit/gate-summary.md > audit/gate.json || code=$?`,
        "# Fail closed: only exit 0 passes; 1 (findings) and 2 (unusable input) block.",
        "if [ \"$code\" -eq 0 ]; then verdict=pass; else verdict=block; fi",
        "{",
        "  echo \"verdict=$verdict\"",
        "  echo \"gate_exit=$code\"",
        "  echo \"scanned=true\"",
        "} >> \"$GITHUB_OUTPUT\"",
        "if [ -f audit/gate-summary.md ]; then cat audit/gate-summary.md >> \"$GITHUB_STEP_SUMMARY\"; fi",
        "echo \"gate: $verdict (exit $code)\"",
      ),
    },
    {
      name: "Upload the audit bundle",
      if: expr("!cancelled()"),
      uses: "uploadArtifact",
      with: {
        name: ARTIFACTS.audit,
        path: "audit/",
        "retention-days": m.v.retention_days,
        "if-no-files-found": "error",
        overwrite: true,
      },
    },
    {
      name: "Upload the scanned image archive for publish",
      if: expr("steps.gate.outputs.verdict == 'pass'"),
      uses: "uploadArtifact",
      with: {
        name: ARTIFACTS.image,
        path: "image.tar",
        "retention-days": IMAGE_RETENTION_DAYS,
        "compression-level": 0,
        "if-no-files-found": "error",
        overwrite: true,
      },
    },
  );
  return {
    name: "Build once, scan, gate",
    needs,
    if: condition,
    // Read-only: this job runs upstream's Dockerfile and a third-party scanner.
    permissions: { contents: "read" },
    timeoutMinutes: multiArch ? 120 : 60,
    outputs: {
      digest: stepOutput("image", "digest"),
      built_at: stepOutput("built", "at"),
      archive_sha256: stepOutput("image", "archive_sha256"),
      decision: stepOutput("gate", "verdict"),
      blocking_count: stepOutput("gate", "blocking_count"),
      scanned: stepOutput("gate", "scanned"),
    },
    steps,
  };
}

/** Code scanning on a private repository needs GitHub Code Security; without it the upload fails and must not stop the run. */
function sarifUpload(m: ResolvedMirror, file: string, category: string): Step {
  return {
    name: `Upload SARIF (${category})`,
    id: `sarif-${category}`,
    uses: "uploadSarif",
    with: { sarif_file: file, category },
    ...(m.visibility === "private" ? { continueOnError: true } : {}),
  };
}

/**
 * The job summary says where each SARIF went: to the Security tab, or only
 * into the run's artifact. continue-on-error hides a failed upload on a
 * private repository (no GitHub Code Security), so the step's outcome is read,
 * not its conclusion.
 */
function sarifSummary(m: ResolvedMirror, artifact: string, uploads: ReadonlyArray<{ file: string; category: string }>): Step {
  const why = m.visibility === "private"
    ? "code scanning on a private repository needs GitHub Code Security (Team or Enterprise plan)"
    : "see the upload step's log";
  return {
    name: "Job summary: where the SARIF went",
    if: expr("always()"),
    env: {
      ...Object.fromEntries(uploads.map((u, i) => [`OUTCOME_${i}`, expr(`steps.sarif-${u.category}.outcome`)])),
      WHY: why,
      ARTIFACT: artifact,
    },
    run: sh(
      "where() {",
      "  if [ \"$1\" = success ]; then",
      "    echo \"- \\`$3\\`: uploaded to the Security tab, code scanning category \\`$2\\`: $GITHUB_SERVER_URL/$GITHUB_REPOSITORY/security/code-scanning\" >> \"$GITHUB_STEP_SUMMARY\"",
      "  else",
      "    echo \"- \\`$3\\`: **not in the Security tab** (upload: ${1:-not run}; $WHY). It is in this run's \\`$ARTIFACT\\` artifact.\" >> \"$GITHUB_STEP_SUMMARY\"",
      "    echo \"::warning::$3 was not uploaded to the Security tab (upload: ${1:-not run}; $WHY); it is in the $ARTIFACT artifact\"",
      "  fi",
      "}",
      "echo '### Where the SARIF went' >> \"$GITHUB_STEP_SUMMARY\"",
      ...uploads.map((u, i) => `where "$OUTCOME_${i}" ${u.category} ${u.file}`),
    ),
  };
}

function sarifPermissions(m: ResolvedMirror): Permissions {
  // upload-sarif reads the run's status through the Actions API on private repositories.
  return m.visibility === "private" ? { actions: "read", contents: "read", "security-events": "write" } : { contents: "read", "security-events": "write" };
}

/** The SARIF of each platform's scan (`scan` names them after the platform) and its own category. */
function imageSarifs(m: ResolvedMirror, dir: string, category: string): Array<{ file: string; category: string }> {
  return m.build.platforms.map((p) => {
    const slug = p.replace(/[^A-Za-z0-9._-]+/g, "-");
    return { file: `${dir}/trivy-image-${slug}.sarif`, category: `${category}-${slug}` };
  });
}

function reportJob(m: Mirror): Job {
  return {
    name: "Security tab: SARIF upload",
    needs: ["build"],
    if: expr("!cancelled() && needs.build.outputs.scanned == 'true'"),
    permissions: sarifPermissions(m),
    timeoutMinutes: 10,
    steps: [
      download(ARTIFACTS.audit, "audit"),
      ...imageSarifs(m, "audit", SARIF_CATEGORIES.image).map((s) => sarifUpload(m, s.file, s.category)),
      sarifUpload(m, "audit/trivy-fs.sarif", SARIF_CATEGORIES.filesystem),
      sarifSummary(m, ARTIFACTS.audit, [...imageSarifs(m, "audit", SARIF_CATEGORIES.image), { file: "audit/trivy-fs.sarif", category: SARIF_CATEGORIES.filesystem }]),
    ],
  };
}

function blockJob(m: Mirror): Job {
  return {
    name: "Blocked-build issue",
    needs: ["resolve", "build"],
    // Also runs on a pass: a later build of the same tag that passes (a new
    // waiver, a fixed base) closes the tag's issue. The decision is one of the
    // two verdicts, not merely set: act leaves a skipped job's outputs
    // unevaluated (nektos/act#2467), GitHub leaves them empty.
    if: expr("!cancelled() && (needs.build.outputs.decision == 'pass' || needs.build.outputs.decision == 'block')"),
    // pull-requests: a block withdraws the open pin pull request of the tag (an earlier digest).
    permissions: { contents: "read", issues: "write", "pull-requests": "write" },
    timeoutMinutes: 10,
    outputs: { number: stepOutput("cve", "number"), action: stepOutput("cve", "action") },
    steps: [
      checkout,
      setupPipeline(m),
      download(ARTIFACTS.audit, "audit"),
      {
        name: "File or update the blocked-build issue (nothing was pushed)",
        id: "cve",
        if: expr("needs.build.outputs.decision == 'block'"),
        env: { TAG, GITHUB_TOKEN: githubToken() },
        run: sh(
          RUN_URL,
          "args=(--kind cve --state open --tag \"$TAG\" --gate-json audit/gate.json --run-url \"$run_url\")",
          "if [ -f audit/gate-summary.md ]; then args+=(--summary-file audit/gate-summary.md); fi",
          `${PIPELINE} issue "\${args[@]}"`,
        ),
      },
      {
        name: "Close this tag's blocked-build issue",
        if: expr("needs.build.outputs.decision == 'pass'"),
        env: { TAG, GITHUB_TOKEN: githubToken() },
        run: sh(`${PIPELINE} issue --kind cve --state resolved --tag "$TAG"`),
      },
    ],
  };
}

function publishJob(m: Mirror): Job {
  const permissions: Permissions = m.attestations
    ? { attestations: "write", contents: "read", "id-token": "write", packages: "write" }
    : { contents: "read", packages: "write" };
  const DIGEST = needsOutput("build", "digest");
  const steps: Step[] = [
    checkout,
    setupPipeline(m),
    // Its own folder, never the workspace root: an artifact that held a
    // committed file (config, waivers) would otherwise replace what the
    // steps below read with packages: write. Checked with coreutils before
    // any step holds a token. (The pipeline itself lives outside the
    // workspace, where the setup step put it.)
    download(ARTIFACTS.image, IMAGE_DIR),
    {
      name: "Check the archive is the one the build job hashed (no token yet)",
      env: { ARCHIVE_SHA256: needsOutput("build", "archive_sha256") },
      run: sh(
        "if ! [[ \"$ARCHIVE_SHA256\" =~ ^[0-9a-f]{64}$ ]]; then",
        "  echo \"::error::the build job gave no archive sha256; nothing is pushed\"",
        "  exit 1",
        "fi",
        `if [ "$(find ${IMAGE_DIR} -mindepth 1 -printf '%P\\n')" != "image.tar" ]; then`,
        `  echo "::error::the ${ARTIFACTS.image} artifact holds more than image.tar; nothing is pushed"`,
        "  exit 1",
        "fi",
        `echo "$ARCHIVE_SHA256  ${IMAGE_DIR}/image.tar" | sha256sum --check --strict`,
      ),
    },
    {
      name: "Push the scanned archive by digest; fail unless the registry digest is the scanned one",
      id: "publish",
      env: { IMAGE: m.v.image, TAG, DIGEST, REGISTRY_USER: expr("github.actor"), REGISTRY_PASSWORD: githubToken() },
      run: sh(`${PIPELINE} publish --archive ${IMAGE_DIR}/image.tar --image "$IMAGE" --tag "$TAG" --digest "$DIGEST" --scan-record audit/scan.json`),
    },
  ];
  // The scan record is read before anything is pushed: an archive whose platforms were not all scanned is refused.
  steps.splice(steps.length - 1, 0, download(ARTIFACTS.audit, "audit"));
  steps.push(...signSteps(m, m.v.image, PIPELINE, RUN_URL));
  if (m.attestations) {
    steps.push(
      {
        // The attestation actions push to the registry with the Docker credential store.
        name: "Log in to the registry for the attestations",
        uses: "login",
        with: { registry: registryHost(m.image), username: expr("github.actor"), password: githubToken() },
      },
      {
        name: "Attest build provenance",
        id: "provenance",
        uses: "attestBuildProvenance",
        with: { "subject-name": m.v.image, "subject-digest": stepOutput("publish", "digest"), "push-to-registry": true },
      },
      {
        name: "Attest the SBOM",
        id: "sbom",
        uses: "attestSbom",
        with: {
          "subject-name": m.v.image,
          "subject-digest": stepOutput("publish", "digest"),
          // The index's subject gets the first platform's SBOM; every platform's is in the audit bundle.
          "sbom-path": `audit/sbom-image-${m.build.platforms[0].replace(/[^A-Za-z0-9._-]+/g, "-")}.cdx.json`,
          "push-to-registry": true,
        },
      },
    );
  }
  steps.push(removeCredentials);
  return {
    name: "Publish to GHCR",
    needs: ["resolve", "build"],
    if: succeeded(["resolve", "build"], "needs.build.outputs.decision == 'pass'"),
    // The signing key's environment, where the plan has one (components/workflow/sign.ts).
    ...(m.signing?.environment ? { environment: m.signing.environment } : {}),
    permissions,
    timeoutMinutes: 30,
    outputs: {
      digest: stepOutput("publish", "digest"),
      ref: stepOutput("publish", "ref"),
      ...(m.attestations
        ? { provenance_url: stepOutput("provenance", "attestation-url"), sbom_url: stepOutput("sbom", "attestation-url") }
        : {}),
    },
    steps,
  };
}

function pinJob(m: Mirror): Job {
  const env: Record<string, Value> = {
    IMAGE: m.v.image,
    DIGEST: needsOutput("publish", "digest"),
    TAG,
    COMMIT,
    BUILT_AT: needsOutput("build", "built_at"),
    // What ran, recorded in image-pin.yml: the same reference as this job's uses:.
    PIPELINE: new PipelineAction(m.pipeline).ref,
    GITHUB_TOKEN: githubToken(),
  };
  if (m.override) {
    // The override review that let this build through the drift gate, for the pull request's audit record.
    env.APPROVAL_ISSUE = outputIfSucceeded("override-review", "number");
    env.APPROVED_BY = outputIfSucceeded("override-review", "approved_by");
  }
  if (m.attestations) {
    env.PROVENANCE_URL = needsOutput("publish", "provenance_url");
    env.SBOM_URL = needsOutput("publish", "sbom_url");
  }
  return {
    name: "Pin the digest: pull request",
    needs: ["resolve", "build", "publish", ...(m.override ? ["override-review"] : [])],
    if: succeeded(["resolve", "build", "publish"]),
    permissions: { contents: "write", "pull-requests": "write" },
    timeoutMinutes: 10,
    outputs: { pr_url: stepOutput("pin", "pr_url"), pr_number: stepOutput("pin", "pr_number") },
    steps: [
      checkout,
      setupPipeline(m),
      download(ARTIFACTS.audit, "audit"),
      {
        name: `Branch mirror-build/<tag>, ${MIRROR_PATHS.pin}, pull request`,
        id: "pin",
        env,
        run: sh(
          RUN_URL,
          "args=(",
          `  --config ${CONFIG}`,
          "  --image \"$IMAGE\" --digest \"$DIGEST\" --tag \"$TAG\" --commit \"$COMMIT\"",
          "  --gate-json audit/gate.json --review-file audit/diff-review.md --run-url \"$run_url\" --built-at \"$BUILT_AT\"",
          "  --bases-file audit/base-images.json --pipeline \"$PIPELINE\"",
          ...(m.signing ? [`  --public-key ${MIRROR_PATHS.publicKey}`] : []),
          ")",
          ...(m.override ? ["if [ -n \"$APPROVED_BY\" ]; then args+=(--approval-issue \"$APPROVAL_ISSUE\" --approved-by \"$APPROVED_BY\"); fi"] : []),
          ...(m.attestations
            ? [
                "for url in \"$PROVENANCE_URL\" \"$SBOM_URL\"; do",
                "  if [ -n \"$url\" ]; then args+=(--attestation \"$url\"); fi",
                "done",
              ]
            : []),
          `${PIPELINE} pin "\${args[@]}"`,
        ),
      },
    ],
  };
}

const WEBHOOK_SECRETS = { slack: "MIRROR_SLACK_WEBHOOK", teams: "MIRROR_TEAMS_WEBHOOK" } as const;

function notifyJob(m: Mirror): Job {
  const needs = ["resolve", "build", "block", "pin", ...(m.override ? ["override-review"] : [])];
  const passed = "needs.pin.result == 'success'";
  // A job's outputs are read only once it succeeded: a skipped job's outputs
  // are empty on GitHub, but act leaves them unevaluated (nektos/act#2467),
  // and "succeeded" is what is meant anyway.
  const gateBlocked = "needs.block.result == 'success' && needs.block.outputs.number != '' && needs.block.outputs.action != 'unchanged'";
  const driftBlocked =
    "needs.override-review.result == 'success' && needs.override-review.outputs.approved != 'true' && needs.override-review.outputs.number != '' && needs.override-review.outputs.action != 'unchanged'";
  // The webhook URLs are secrets: only the step that posts sees them, never
  // the checkout or setup actions that run before it in the same job.
  const env: Record<string, Value> = {
    MIRROR: m.v.mirror,
    TAG,
    PASSED: expr(passed),
    PR_URL: needsOutput("pin", "pr_url"),
    GATE_BLOCKED: expr(gateBlocked),
    GATE_ISSUE: needsOutput("block", "number"),
    ...(m.override ? { DRIFT_BLOCKED: expr(driftBlocked), DRIFT_ISSUE: needsOutput("override-review", "number") } : {}),
  };
  for (const t of [...m.notify].sort()) env[WEBHOOK_SECRETS[t]] = secret(WEBHOOK_SECRETS[t]);
  const issues = "\"$GITHUB_SERVER_URL/$GITHUB_REPOSITORY/issues";
  return {
    name: "Notify webhooks",
    needs,
    if: and("!cancelled()", or(passed, gateBlocked, ...(m.override ? [driftBlocked] : []))),
    // Webhook URLs are secrets; the job needs nothing but the pipeline.
    permissions: { contents: "read" },
    timeoutMinutes: 5,
    steps: [
      checkout,
      setupPipeline(m),
      {
        name: "Post the pass (pull request link) or the block (issue link)",
        env,
        run: sh(
          "if [ \"$PASSED\" = \"true\" ]; then",
          "  args=(--status passed --link \"$PR_URL\")",
          "elif [ \"$GATE_BLOCKED\" = \"true\" ]; then",
          `  args=(--status blocked --link ${issues}/$GATE_ISSUE")`,
          ...(m.override ? ["elif [ \"$DRIFT_BLOCKED\" = \"true\" ]; then", `  args=(--status blocked --link ${issues}/$DRIFT_ISSUE")`] : []),
          "else",
          "  echo \"nothing to notify\"",
          "  exit 0",
          "fi",
          `${PIPELINE} notify "\${args[@]}" --mirror "$MIRROR" --tag "$TAG"`,
        ),
      },
    ],
  };
}

/**
 * publish, sign and scan --image write the registry credentials under
 * $RUNNER_TEMP/mirror-credentials and remove them themselves; this last step
 * of each job that holds them covers a kill (timeout, cancel) that skips that.
 */
const removeCredentials: Step = {
  name: "Remove the registry credentials file, also after a kill",
  if: expr("always()"),
  run: sh("rm -rf \"$RUNNER_TEMP/mirror-credentials\""),
};

function rescanJob(m: Mirror): Job {
  const pinned = expr("steps.pin.outputs.pinned == 'true'");
  return {
    name: "Rescan the pinned digest against today's DB",
    if: expr(m.runs.rescan),
    // Read-only: Trivy runs here. Issues and SARIF are written by rescan-report.
    permissions: { contents: "read", packages: "read" },
    timeoutMinutes: 30,
    outputs: {
      tag: stepOutput("pin", "tag"),
      digest: stepOutput("pin", "digest"),
      commit: stepOutput("pin", "commit"),
      decision: stepOutput("gate", "verdict"),
      scanned: stepOutput("gate", "scanned"),
    },
    steps: [
      checkout,
      {
        name: `Read the pinned digest from ${MIRROR_PATHS.pin}`,
        id: "pin",
        run: sh(
          `if [ ! -f ${MIRROR_PATHS.pin} ]; then`,
          `  echo "Nothing pinned yet (${MIRROR_PATHS.pin} is missing): nothing to rescan."`,
          "  echo \"pinned=false\" >> \"$GITHUB_OUTPUT\"",
          "  exit 0",
          "fi",
          `tag_pattern='${TAG_PATTERN}'`,
          `pin="$(tr -d "\\"'" < ${MIRROR_PATHS.pin})"`,
          "digest=\"$(printf '%s\\n' \"$pin\" | sed -nE 's/^digest:[[:space:]]*(sha256:[0-9a-f]{64})[[:space:]]*$/\\1/p')\"",
          "tag=\"$(printf '%s\\n' \"$pin\" | sed -nE 's/^tag:[[:space:]]*([^[:space:]]+)[[:space:]]*$/\\1/p')\"",
          // The upstream commit the pin records (upstream.commit): the re-attested predicate names it.
          "commit=\"$(printf '%s\\n' \"$pin\" | sed -nE 's/^[[:space:]]+commit:[[:space:]]*([0-9a-f]{40}([0-9a-f]{24})?)[[:space:]]*$/\\1/p' | head -n 1)\"",
          `if ! [[ "$digest" =~ ${DIGEST_PATTERN} ]]; then`,
          `  echo "::error::${MIRROR_PATHS.pin}: no digest: sha256:<64 hex>"`,
          "  exit 1",
          "fi",
          "if ! [[ \"$tag\" =~ $tag_pattern ]]; then",
          `  echo "::error::${MIRROR_PATHS.pin}: the tag does not match $tag_pattern"`,
          "  exit 1",
          "fi",
          "{",
          "  echo \"pinned=true\"",
          "  echo \"digest=$digest\"",
          "  echo \"tag=$tag\"",
          "  echo \"commit=$commit\"",
          "} >> \"$GITHUB_OUTPUT\"",
        ),
      },
      setupPipeline(m, pinned),
      ...trivySteps(m.trivyVersion, pinned),
      {
        // Every platform of the pinned index, as the build scanned them (skopeo pulls it read-only).
        name: "Scan every platform of the pinned digest (Trivy; never rebuilds or pushes)",
        if: pinned,
        env: {
          IMAGE: m.v.image,
          DIGEST: stepOutput("pin", "digest"),
          PLATFORMS: m.build.platforms.join(","),
          TRIVY_NO_PROGRESS: "true",
          REGISTRY_USER: expr("github.actor"),
          REGISTRY_PASSWORD: githubToken(),
        },
        run: sh(
          "mkdir -p rescan",
          "code=0",
          `${PIPELINE} scan --config ${CONFIG} --platforms "$PLATFORMS" --image "$IMAGE" --digest "$DIGEST" --out rescan > rescan/scan-output.json || code=$?`,
          "echo \"scan: exit $code\"",
        ),
      },
      {
        name: "Gate the rescan",
        id: "gate",
        if: pinned,
        run: sh(
          "code=0",
          `${PIPELINE} gate --config ${CONFIG} --scan-record rescan/scan.json --summary-out rescan/gate-summary.md > rescan/gate.json || code=$?`,
          "if [ \"$code\" -eq 0 ]; then verdict=pass; else verdict=block; fi",
          "{",
          "  echo \"verdict=$verdict\"",
          "  echo \"scanned=true\"",
          "} >> \"$GITHUB_OUTPUT\"",
          "if [ -f rescan/gate-summary.md ]; then cat rescan/gate-summary.md >> \"$GITHUB_STEP_SUMMARY\"; fi",
        ),
      },
      {
        name: "Upload the rescan reports",
        if: and("!cancelled()", pinned),
        uses: "uploadArtifact",
        with: {
          name: ARTIFACTS.rescan,
          path: "rescan/",
          "retention-days": m.v.retention_days,
          "if-no-files-found": "error",
          overwrite: true,
        },
      },
      removeCredentials,
    ],
  };
}

function rescanReportJob(m: Mirror): Job {
  const tag = needsOutput("rescan", "tag");
  return {
    name: "Rescan issue and SARIF",
    needs: ["rescan"],
    if: expr("!cancelled() && needs.rescan.outputs.scanned == 'true'"),
    permissions: { ...sarifPermissions(m), issues: "write" },
    timeoutMinutes: 10,
    steps: [
      checkout,
      setupPipeline(m),
      download(ARTIFACTS.rescan, "rescan"),
      {
        name: "New findings: file or update the rescan issue",
        if: expr("needs.rescan.outputs.decision == 'block'"),
        env: { TAG: tag, GITHUB_TOKEN: githubToken() },
        run: sh(
          RUN_URL,
          `${PIPELINE} issue --kind rescan --state open --tag "$TAG" --gate-json rescan/gate.json --summary-file rescan/gate-summary.md --run-url "$run_url"`,
        ),
      },
      {
        name: "Clean: close the rescan issue",
        if: expr("needs.rescan.outputs.decision == 'pass'"),
        env: { TAG: tag, GITHUB_TOKEN: githubToken() },
        run: sh(`${PIPELINE} issue --kind rescan --state resolved --tag "$TAG"`),
      },
      ...imageSarifs(m, "rescan", SARIF_CATEGORIES.rescan).map((s) => sarifUpload(m, s.file, s.category)),
      sarifSummary(m, ARTIFACTS.rescan, imageSarifs(m, "rescan", SARIF_CATEGORIES.rescan)),
    ],
  };
}

function healthJob(m: Mirror): Job {
  return {
    name: "Upstream health",
    if: expr(m.runs.health),
    permissions: { contents: "read", issues: "write" },
    timeoutMinutes: 10,
    steps: [
      checkout,
      setupPipeline(m),
      {
        name: "Archived or stale upstream -> upstream-health issue",
        env: { GITHUB_TOKEN: githubToken() },
        run: sh(`${PIPELINE} health --config ${CONFIG} --issue`),
      },
    ],
  };
}

/**
 * Files whose change on the default branch starts a run (never image-pin.yml):
 * it builds a tag that is not pinned yet, never the pinned one (forceExpr).
 * The workflow itself too: `pulumi up` commits it last, so a new mirror builds
 * at once and a changed workflow runs once (pushes made with a job's
 * GITHUB_TOKEN start none).
 */
export function pushPaths(m: ResolvedMirror): string[] {
  return [MIRROR_PATHS.config, ...(m.override ? [MIRROR_PATHS.override] : []), MIRROR_PATHS.trivyignore, MIRROR_PATHS.workflow];
}

/** The kind of run a schedule of the mirror's starts: its caller passes it to the shared workflow, and names its concurrency group by it. */
function runKind(m: ResolvedMirror): Expr {
  return expr(
    `${lit(m.cron.rescan)} == github.event.schedule && 'rescan'` +
      ` || ${lit(m.cron.health)} == github.event.schedule && 'health' || 'build'`,
  );
}

function triggers(m: ResolvedMirror): Workflow["on"] {
  return {
    schedule: [{ cron: m.cron.build }, { cron: m.cron.rescan }, { cron: m.cron.health }],
    workflowDispatch: {
      inputs: {
        tag: { description: "Upstream tag to build (empty: the newest allowed tag)", type: "string", required: false, default: "" },
        force: { description: "Build even if the tag is already pinned", type: "boolean", required: false, default: false },
      },
    },
    push: { paths: pushPaths(m) },
  };
}

/** One group per mirror and kind of run: two build runs never race on a tag (the second waits), while the rescan and health runs queue apart. */
function concurrency(m: ResolvedMirror): NonNullable<Workflow["concurrency"]> {
  return { group: `mirror-${m.name}-${runKind(m)}`, cancelInProgress: false };
}

function jobsOf(m: Mirror): Record<string, Job> {
  return {
    resolve: resolveJob(m),
    review: reviewJob(m),
    ...(m.override ? { "override-review": overrideReviewJob(m) } : {}),
    build: buildJob(m),
    report: reportJob(m),
    block: blockJob(m),
    publish: publishJob(m),
    pin: pinJob(m),
    ...(m.notify.length > 0 ? { notify: notifyJob(m) } : {}),
    rescan: rescanJob(m),
    "rescan-report": rescanReportJob(m),
    ...withJob("reattest", reattestJob(m, { image: m.v.image, checkout, setupPipeline: setupPipeline(m), download, removeCredentials, pipeline: PIPELINE, runUrl: RUN_URL, rescanArtifact: ARTIFACTS.rescan })),
    health: healthJob(m),
  };
}

/**
 * What one mirror's runs do, as one workflow: its caller (the committed
 * `.github/workflows/mirror.yml`) and the shared workflow it calls, with the
 * mirror's values where the shared one reads its inputs. The model every
 * check of the jobs reads (security, chains, counts, the engine's nights);
 * test/workflow/shared.test.ts proves the committed pair is this.
 */
export function mirrorWorkflow(resolved: ResolvedMirror, pipeline: PipelinePin): Workflow {
  const m: Mirror = {
    ...resolved,
    pipeline,
    v: valuesOf(resolved),
    runs: { build: isSchedule(resolved.cron.build), rescan: isSchedule(resolved.cron.rescan), health: isSchedule(resolved.cron.health) },
  };
  return { name: `mirror ${m.name}`, on: triggers(m), concurrency: concurrency(m), runsOn: RUNNER, jobs: jobsOf(m) };
}

/** The secrets the shared workflow reads: the webhooks it posts to, the fleet key where it signs. */
function sharedSecrets(m: ResolvedMirror): Record<string, { description: string; required: boolean }> {
  const names: Record<string, { description: string; required: boolean }> = {};
  for (const t of [...m.notify].sort()) names[WEBHOOK_SECRETS[t]] = { description: `The ${t} webhook URL (a repository secret)`, required: false };
  if (m.signing) {
    const where = m.signing.environment ? `the ${m.signing.environment} environment's secret` : "a repository secret: the plan has no environments";
    names[COSIGN_SECRETS.privateKey] = { description: `The fleet's cosign private key (${where})`, required: false };
    names[COSIGN_SECRETS.password] = { description: "Its password (beside the key)", required: false };
  }
  return names;
}

/** What the shared workflow is for, in words: its file name is a hash, its name says it. */
function shapeName(m: ResolvedMirror): string {
  const override = !m.override ? "upstream's Dockerfile" : isRuntimeStageOverride(m.override.content) ? "override: runtime stage" : "override: replaces the Dockerfile";
  return [
    `mirror (shared): ${override}`,
    m.build.platforms.join(","),
    m.visibility,
    ...(Object.keys(m.build.args).length > 0 ? ["build args"] : []),
    ...(m.attestations ? ["attestations"] : []),
    ...(m.signing ? [m.signing.environment ? `signed (environment ${m.signing.environment})` : "signed"] : []),
    ...(m.notify.length > 0 ? [`notify ${[...m.notify].sort().join("+")}`] : []),
  ].join("; ");
}

/**
 * The jobs of every mirror of one shape, committed once to the pipeline
 * repository (`.github/workflows/<sharedWorkflowFile>`): what differs
 * between those mirrors comes in as inputs, the kind of run too. Its jobs
 * are the same functions as mirrorWorkflow's; only the values and the run
 * conditions are read from the caller.
 */
export function sharedWorkflow(resolved: ResolvedMirror, pipeline: PipelinePin): Workflow {
  const m: Mirror = { ...resolved, pipeline, v: INPUT_VALUES, runs: SHARED_RUNS };
  return {
    name: shapeName(m),
    on: {
      workflowCall: {
        inputs: {
          run: { description: "The kind of run: build, rescan or health (the caller's schedule)", type: "string", required: true },
          tag: { description: "Upstream tag to build (empty: the newest allowed tag)", type: "string", required: false, default: "" },
          force: { description: "Build even if the tag is already pinned", type: "boolean", required: false, default: false },
          ...VALUE_INPUTS,
        },
        secrets: sharedSecrets(m),
      },
    },
    runsOn: RUNNER,
    jobs: jobsOf(m),
  };
}

/** The shared workflow's text; `file` and `pipeline` fixed, it is the same for every mirror of the shape. */
export function renderSharedWorkflow(m: ResolvedMirror, pipeline: PipelinePin): string {
  return sharedText(sharedWorkflow(m, pipeline));
}

function sharedText(shared: Workflow): string {
  return markPlaceholders(header("#", "components/workflow.ts and infra/policy.ts (one shared workflow per shape of mirror)") + toYaml(toGithub(shared)));
}

/** npm run render without the stack's commits: say so where each commit would be. */
function markPlaceholders(text: string): string {
  return text.replace(/^(\s*(?:- )?uses: \S+@0{40})$/gm, "$1 # placeholder: the commit pulumi up makes (npm run render -- --pipeline FILE)");
}

/**
 * The shared workflow's file name: a hash of its text before the pipeline's
 * commit is known, so mirrors alike share one, and a pipeline change keeps
 * the name (only the commit it names moves).
 */
export function sharedWorkflowFile(m: ResolvedMirror, repository: string): string {
  const text = renderSharedWorkflow(m, { repository, commit: PLACEHOLDER_COMMIT, bundleSha256: "0".repeat(64) });
  return `mirror-${sha256Hex(text).slice(0, 12)}.yml`;
}

/** Every scope any job of the workflow asks for, at the highest level asked: the most a caller grants. */
function ceiling(w: Workflow): Permissions {
  const out: Partial<Record<keyof Permissions, "read" | "write">> = {};
  for (const j of Object.values(w.jobs)) {
    for (const [scope, level] of Object.entries(j.permissions) as Array<[keyof Permissions, "read" | "write"]>) {
      if (out[scope] !== "write") out[scope] = level;
    }
  }
  return out;
}

/** The mirror's committed workflow: its triggers and one job that calls its shape's shared workflow (`file`, `shared`), pinned by commit. */
function callerWorkflow(m: ResolvedMirror, pipeline: PipelinePin, file: string, shared: Workflow): Workflow {
  // Without the stack's commits (npm run render), the placeholder.
  const commit = pipeline.workflows ? pipeline.workflows[file] : PLACEHOLDER_COMMIT;
  if (commit === undefined) throw new Error(`${m.sourceFile}: the pipeline repository has no shared workflow ${file} (its commits: ${Object.keys(pipeline.workflows ?? {}).join(", ") || "none"})`);
  return {
    name: `mirror ${m.name}`,
    on: triggers(m),
    concurrency: concurrency(m),
    runsOn: RUNNER,
    jobs: {
      mirror: {
        name: "Mirror",
        uses: new SharedWorkflowRef(pipeline, file, commit),
        permissions: ceiling(shared),
        with: { run: runKind(m), tag: expr("inputs.tag || ''"), force: expr("inputs.force == true"), ...valuesOf(m) },
        secrets: "inherit",
      },
    },
  };
}

function withJob(id: string, job: Job | undefined): Record<string, Job> {
  return job ? { [id]: job } : {};
}

/** The committed `.github/workflows/mirror.yml`: the caller. */
export function renderWorkflow(m: ResolvedMirror, pipeline: PipelinePin): string {
  // The called file's sha256, for the auditor (`git show <commit>:<path> | sha256sum`) and for an
  // honest preview: the provider plans an updated file's commitSha as its old one, so a change of
  // the shared workflow shows here, through its text, before the commit it gets is known.
  const file = sharedWorkflowFile(m, pipeline.repository);
  const shared = sharedWorkflow(m, pipeline);
  const called = `# It calls ${SHARED_WORKFLOW_DIR}/${file} of ${pipeline.repository} at the commit below; that file's sha256 is ${sha256Hex(sharedText(shared))}.\n`;
  const text = header("#", `${m.sourceFile}, infra/policy.ts and components/workflow.ts`) + called + toYaml(toGithub(callerWorkflow(m, pipeline, file, shared)));
  // docs/workflow.md, "zizmor findings we silence": the called workflow is the fleet's own, pinned by commit.
  return markPlaceholders(text.replace(/^( {4}secrets: inherit)$/m, "$1 # zizmor: ignore[secrets-inherit]"));
}

/** What one mirror's runs do, as one file (mirrorWorkflow): for reading and checking, never committed. */
export function renderEffectiveWorkflow(m: ResolvedMirror, pipeline: PipelinePin): string {
  return toYaml(toGithub(mirrorWorkflow(m, pipeline)));
}

/** The shared workflows a fleet needs, one per shape, for the pipeline repository: file name -> text (`fileOf`: each mirror's file name, when the caller has named them already). */
export function sharedWorkflowFiles(mirrors: readonly ResolvedMirror[], pipeline: PipelinePin, fileOf = (m: ResolvedMirror) => sharedWorkflowFile(m, pipeline.repository)): Map<string, string> {
  const files = new Map<string, string>();
  for (const m of mirrors) {
    const file = fileOf(m);
    if (!files.has(file)) files.set(file, renderSharedWorkflow(m, pipeline));
  }
  return new Map([...files].sort(([a], [b]) => (a < b ? -1 : 1)));
}
