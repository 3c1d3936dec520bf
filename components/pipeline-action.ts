/**
 * The fleet's pipeline, shipped once: the files of the pipeline repository
 * (`<owner>/mirror-fleet-pipeline`, components/pipeline-repository.ts) and
 * the pin every mirror's workflow runs it by. Pure: the bundle's text in,
 * files out, in commit order.
 *
 * The repository is one composite action: `action.yml` and the bundle
 * `pipeline.cjs` side by side, nothing fetched at run time but the pinned
 * setup-node it calls. A mirror's job runs it as
 *
 *   uses: <owner>/mirror-fleet-pipeline@<commit>      (a full commit SHA)
 *   with: { node-version: "24", bundle-sha256: <sha256 of pipeline.cjs> }
 *
 * and the action sets up Node.js, refuses a bundle whose sha256 is not the
 * one the mirror's workflow names and the one written into action.yml, and
 * puts the checked bundle where the job's later `run:` steps run it:
 * `node "$RUNNER_TEMP/mirror-fleet-pipeline.cjs" <command>` (PIPELINE_COMMAND).
 * A fixed path under the job's own temporary folder, not an environment
 * file: nothing the action writes changes the environment of later steps.
 *
 * The commit is what the provider reports for the commit that wrote
 * action.yml, which is committed last, after the bundle, and carries the
 * bundle's sha256: any change of the bundle re-commits action.yml, so that
 * commit's tree always holds both, and a change of either moves the pin.
 */
import { createHash } from "node:crypto";
import { header } from "./header";
import { uses } from "./pins";
import type { RenderedFiles } from "./types";
import { toYaml } from "./yaml";

/** The pipeline repository's name, under the stack's owner. A mirror may not take it. */
export const PIPELINE_REPOSITORY_NAME = "mirror-fleet-pipeline";

/** Files of the pipeline repository; the action is the repository's root. */
export const PIPELINE_PATHS = { readme: "README.md", bundle: "pipeline.cjs", action: "action.yml" } as const;

/** Where the shared workflows live (components/workflow.ts): GitHub runs a reusable workflow only from this folder. */
export const SHARED_WORKFLOW_DIR = ".github/workflows";

/** Where the action puts the checked bundle for the job's later steps: a file in $RUNNER_TEMP. */
export const PIPELINE_RUNNER_FILE = "mirror-fleet-pipeline.cjs";

/** How a workflow step runs the pipeline, once the job's setup step has run the action. */
export const PIPELINE_COMMAND = `node "$RUNNER_TEMP/${PIPELINE_RUNNER_FILE}"`;

/**
 * What a mirror's workflow names: the repository, the commit of action.yml,
 * and the sha256 of the bundle at that commit.
 */
export interface PipelinePin {
  /** `owner/mirror-fleet-pipeline` */
  readonly repository: string;
  /** Full commit SHA (40 hex). */
  readonly commit: string;
  /** sha256 of pipeline.cjs as committed (hex). */
  readonly bundleSha256: string;
  /**
   * The shared workflows (`.github/workflows/<file>`, components/workflow.ts
   * sharedWorkflowFile) and the commit that wrote each: what a mirror's
   * workflow calls. Absent before they are committed (npm run render).
   */
  readonly workflows?: Readonly<Record<string, string>>;
}

/**
 * The commit `npm run render` writes when it is not told the real one (no
 * stack has committed the pipeline yet): all zeros, which names no commit,
 * so a workflow rendered with it fails at "Set up the pipeline" instead of
 * running anything. renderWorkflow marks it with a comment.
 */
export const PLACEHOLDER_COMMIT = "0".repeat(40);

const COMMIT = /^[0-9a-f]{40}$/;
const SHA256 = /^[0-9a-f]{64}$/;
const OWNER_REPO = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})\/[A-Za-z0-9._-]{1,100}$/;

/** Checks a pin before it goes into a workflow: a malformed one names the field. */
export function checkPin(p: PipelinePin): PipelinePin {
  if (!OWNER_REPO.test(p.repository)) throw new Error(`pipeline pin: repository ${JSON.stringify(p.repository)} is not allowed (allowed: owner/name)`);
  if (!COMMIT.test(p.commit)) throw new Error(`pipeline pin: commit ${JSON.stringify(p.commit)} is not allowed (allowed: a full commit SHA, 40 lowercase hex)`);
  if (!SHA256.test(p.bundleSha256)) throw new Error(`pipeline pin: bundleSha256 ${JSON.stringify(p.bundleSha256)} is not allowed (allowed: 64 lowercase hex)`);
  return p;
}

export function sha256Hex(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/** `pipeline.cjs` as committed: the generated-file header, then the bundle (pipeline/bundle.ts). */
export function renderBundleFile(bundle: string): string {
  return header("//", "pipeline/ (bundled by pipeline/bundle.ts)") + bundle;
}

/** Lines of a bash script; ends with a newline so YAML writes a clean `|` block. */
function sh(...lines: string[]): string {
  return lines.join("\n") + "\n";
}

/** `action.yml`: a composite action; its one script reads data only from env (no `${{ }}` in run:). */
export function renderActionFile(bundleSha256: string): string {
  if (!SHA256.test(bundleSha256)) throw new Error(`action.yml: bundle sha256 ${JSON.stringify(bundleSha256)} (allowed: 64 lowercase hex)`);
  const action = {
    name: "mirror-fleet pipeline",
    description: `Sets up Node.js and the fleet's pipeline bundle, checked by its sha256, for the mirror workflow's later run steps: ${PIPELINE_COMMAND} <command>`,
    inputs: {
      "node-version": { description: "The Node.js version that runs the pipeline (policy.nodeVersion in the fleet repository)", required: true },
      "bundle-sha256": { description: "The sha256 of pipeline.cjs that the mirror's workflow expects", required: true },
    },
    runs: {
      using: "composite",
      steps: [
        { name: "Set up Node.js for the pipeline", uses: uses("setupNode"), with: { "node-version": "${{ inputs.node-version }}" } },
        {
          name: `Check the bundle against both hashes and put it at $RUNNER_TEMP/${PIPELINE_RUNNER_FILE}`,
          shell: "bash",
          env: { BUNDLE_SHA256: bundleSha256, EXPECTED_SHA256: "${{ inputs.bundle-sha256 }}" },
          run: sh(
            `dest="$RUNNER_TEMP/${PIPELINE_RUNNER_FILE}"`,
            "rm -f \"$dest\"",
            "if [ \"$EXPECTED_SHA256\" != \"$BUNDLE_SHA256\" ]; then",
            "  echo \"::error::the workflow expects pipeline sha256 $EXPECTED_SHA256, this action is for $BUNDLE_SHA256; nothing runs\"",
            "  exit 1",
            "fi",
            "# The copy is what later steps run: it is the one checked.",
            `cp "$GITHUB_ACTION_PATH/${PIPELINE_PATHS.bundle}" "$dest"`,
            "if ! echo \"$BUNDLE_SHA256  $dest\" | sha256sum --check --strict --status; then",
            "  rm -f \"$dest\"",
            `  echo "::error::${PIPELINE_PATHS.bundle} does not have the sha256 $BUNDLE_SHA256; nothing runs"`,
            "  exit 1",
            "fi",
            "chmod a-w \"$dest\"",
          ),
        },
      ],
    },
  };
  return header("#", "pipeline/ and components/pipeline-action.ts") + toYaml(action);
}

/** `README.md` of the pipeline repository: what it is and how to check it. Names no version: it is not re-committed when the bundle changes. */
export function renderPipelineReadme(owner: string): string {
  const repo = `${owner}/${PIPELINE_REPOSITORY_NAME}`;
  return (
    header("<!--", "components/pipeline-action.ts") +
    [
      `# ${repo}`,
      "",
      "The pipeline that every mirror repository of this fleet runs in GitHub Actions, built from the fleet repository's `pipeline/` and `components/`. A change to it is a reviewed change there; `pulumi up` commits it here, then re-pins every mirror. It holds:",
      "",
      "- `pipeline.cjs`, the bundle, and `action.yml`, a composite action that sets up Node.js and puts the bundle where the jobs run it, once its sha256 equals both the one in `action.yml` and the `bundle-sha256` the calling job passes;",
      `- \`${SHARED_WORKFLOW_DIR}/mirror-<hash>.yml\`, the shared workflows: the jobs of a mirror's runs, one file for the mirrors alike (the hash is of its text without the commit it names).`,
      "",
      `Each mirror's \`.github/workflows/mirror.yml\` calls its shared workflow by the full commit SHA that wrote it, \`uses: ${repo}/${SHARED_WORKFLOW_DIR}/mirror-<hash>.yml@<commit>\`. The shared workflow's jobs run the action by the full commit SHA that wrote \`action.yml\`, \`uses: ${repo}@<commit>\`, with \`bundle-sha256\`. \`action.yml\` is committed after the bundle, so that commit's tree holds both, and the shared workflows after it. What built a pinned image: \`pipeline:\` in the mirror's \`image-pin.yml\` names this repository and the action's commit.`,
      "",
      "To check an action commit: `git show <commit>:pipeline.cjs | sha256sum` equals `BUNDLE_SHA256` in `git show <commit>:action.yml` and the `bundle-sha256` of every shared workflow that runs it. The bundle is not minified; its first lines name the source version, the sources' sha256 and every third-party package in it, with its licence.",
      "",
      `Private mirrors reach this repository through its Actions access setting ("Accessible from repositories in the organization"), with their own \`GITHUB_TOKEN\`. Everything here is generated and overwritten by the next \`pulumi up\`: change it in the fleet repository.`,
      "",
    ].join("\n")
  );
}

/** Every file of the pipeline repository, in commit order: the README, the bundle, then action.yml, whose commit is the pin. */
export function renderPipelineFiles(bundle: string, owner: string): RenderedFiles {
  const bundleFile = renderBundleFile(bundle);
  return [
    { path: PIPELINE_PATHS.readme, content: renderPipelineReadme(owner) },
    { path: PIPELINE_PATHS.bundle, content: bundleFile },
    { path: PIPELINE_PATHS.action, content: renderActionFile(sha256Hex(bundleFile)) },
  ];
}
