/**
 * `npm run render -- --out DIR [--stack prod] [--pipeline FILE]`: writes
 * every file that `pulumi up` would commit, as DIR/<repo>/<path> (each mirror
 * repository and the pipeline repository), and DIR/inventory.json, without
 * Pulumi. Same resolver, same renderers: byte-identical to what the component
 * commits (test/component/mirrored-image.test.ts, "render == component").
 *
 * Each mirror's workflow names its shared workflow by the commit `pulumi up`
 * made of it, and the shared workflows name the pipeline's action by its
 * commit, which render cannot know: given (`--pipeline`, the stack's
 * `pipeline` output), the files are what the stack committed; not given,
 * they name a placeholder commit of zeros, marked in the file, and render says so.
 *
 * Render owns what it writes, and nothing else: DIR/inventory.json lists every
 * file of the last render (each mirror's `files`), so a render into the same
 * DIR removes the files of mirrors and paths that are no longer rendered, as
 * `pulumi up` would delete them. A non-empty DIR without that inventory was not
 * written by render and is refused rather than mixed with.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { ADMISSION_PATHS, renderAdmissionPolicies } from "../components/admission";
import { fleetSummary, inventoryEntry, pipelineInventory, type Inventory } from "../components/inventory";
import { PIPELINE_PATHS, PIPELINE_REPOSITORY_NAME, PLACEHOLDER_COMMIT, renderPipelineFiles, sha256Hex, SHARED_WORKFLOW_DIR, type PipelinePin } from "../components/pipeline-action";
import { sharedWorkflowFiles } from "../components/workflow";
import { renderMirrorFiles } from "../components/render";
import { pipelineBundle } from "../pipeline/bundle";
import { FleetConfigError, resolveFleet } from "../components/spec";
import type { RenderedFiles, ResolvedMirror, StackSettings } from "../components/types";
import { loadMirrorEntries, PROJECT_ROOT } from "./mirrors";
import { policy as fleetPolicy } from "./policy";
import type { FleetInputs } from "./program";
import { settingsFromStackFile } from "./settings";

export const USAGE = `usage: npm run render -- --out DIR [--stack NAME] [--pipeline FILE]

Writes every file \`pulumi up\` would commit, as DIR/<repo>/<path> (each mirror
repository, and the pipeline repository ${PIPELINE_REPOSITORY_NAME}), and
DIR/inventory.json, without Pulumi or a token: the offline check of mirrors/.
With a cosign key in the stack, also the fleet's admission policies
(DIR/admission/: a Kyverno ClusterPolicy and a Sigstore ClusterImagePolicy).
  --out DIR              a new or empty folder, or one written by an earlier render
                         (its files that are no longer rendered are removed)
  --stack NAME           whose settings to use: Pulumi.<NAME>.yaml (default prod)
  --pipeline FILE        the commits of the pipeline that \`pulumi up\` made, which
                         the workflows name: \`pulumi stack output pipeline --json > FILE\`;
                         default: a placeholder of zeros, marked in each workflow
`;

/** The manifest of a render: DIR/inventory.json, whose entries list their files. */
export const MANIFEST = "inventory.json";

export class RenderError extends Error {}

/**
 * What rendering needs of the program's inputs (no providers, no secrets),
 * and the pipeline's commits when known: action.yml's, and each shared
 * workflow's (the stack's `pipeline` output). @default the placeholder
 */
export type RenderInputs = Pick<FleetInputs, "entries" | "policy" | "settings" | "readFile" | "today"> & {
  readonly pipelineCommit?: string;
  readonly pipelineWorkflows?: Readonly<Record<string, string>>;
};

/** Reads Pulumi.<stack>.yaml from `root`; a missing file is named with the stacks that exist. */
export function readStackSettings(stack: string, root = PROJECT_ROOT): StackSettings {
  const file = path.join(root, `Pulumi.${stack}.yaml`);
  if (!fs.existsSync(file)) {
    const stacks = fs
      .readdirSync(root)
      .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
      .filter((s): s is string => s !== undefined)
      .sort();
    throw new RenderError(
      `--stack ${stack}: Pulumi.${stack}.yaml does not exist in ${root} ` +
        `(allowed: a stack with a settings file${stacks.length ? `: ${stacks.join(", ")}` : ""}; or copy Pulumi.prod.yaml to Pulumi.${stack}.yaml and edit it)`,
    );
  }
  return settingsFromStackFile(file);
}

/** Repo-relative paths of every file the last render into `out` wrote, or why `out` is not render's to write. */
function previousRender(out: string): { files: Set<string> } | { refuse: string } {
  if (!fs.existsSync(out)) return { files: new Set() };
  if (!fs.statSync(out).isDirectory()) return { refuse: `${out} is not a folder` };
  const present = fs.readdirSync(out);
  if (present.length === 0) return { files: new Set() };
  const notOurs = `${out} is not empty and was not written by \`npm run render\` (no readable ${MANIFEST} listing its files): choose a new or empty folder`;
  let doc: Partial<Inventory>;
  try {
    doc = JSON.parse(fs.readFileSync(path.join(out, MANIFEST), "utf8"));
  } catch {
    return { refuse: notOurs };
  }
  if (!doc || !Array.isArray(doc.mirrors)) return { refuse: notOurs };
  const files = new Set<string>();
  if (doc.pipeline !== undefined) {
    const p = doc.pipeline;
    const repo = typeof p?.repository === "string" ? p.repository.split("/")[1] : undefined;
    if (!repo || typeof p.files !== "object" || p.files === null) return { refuse: notOurs };
    for (const f of Object.keys(p.files)) files.add(`${repo}/${f}`);
  }
  for (const m of doc.mirrors) {
    const repo = typeof m?.repository === "string" ? m.repository.split("/")[1] : undefined;
    if (!repo || typeof m.files !== "object" || m.files === null) return { refuse: notOurs };
    for (const p of Object.keys(m.files)) files.add(`${repo}/${p}`);
  }
  return { files };
}

/** Removes `rel` under `out` and then its parent folders that became empty, never leaving `out`. */
function removeRendered(out: string, rel: string): void {
  const file = path.resolve(out, rel);
  if (!file.startsWith(out + path.sep)) return;
  fs.rmSync(file, { force: true });
  for (let dir = path.dirname(file); dir.startsWith(out + path.sep); dir = path.dirname(dir)) {
    if (!fs.existsSync(dir) || fs.readdirSync(dir).length > 0) break;
    fs.rmdirSync(dir);
  }
}

/**
 * The pipeline repository's files (the shared workflows of these mirrors
 * among them) and the pin the workflows name: the given commits, or the placeholder.
 */
export function renderedPipeline(
  owner: string,
  mirrors: readonly ResolvedMirror[],
  commit?: string,
  workflows?: Readonly<Record<string, string>>,
): { files: RenderedFiles; pin: PipelinePin } {
  const files = renderPipelineFiles(pipelineBundle(), owner);
  const bundleSha256 = sha256Hex(files.find((f) => f.path === PIPELINE_PATHS.bundle)!.content);
  const action: PipelinePin = { repository: `${owner}/${PIPELINE_REPOSITORY_NAME}`, commit: commit ?? PLACEHOLDER_COMMIT, bundleSha256 };
  const shared = [...sharedWorkflowFiles(mirrors, action)].map(([name, content]) => ({ path: `${SHARED_WORKFLOW_DIR}/${name}`, content }));
  return { files: [...files, ...shared], pin: workflows ? { ...action, workflows } : action };
}

const SHA = /^[0-9a-f]{40}$/;

/** The stack's `pipeline` output (`pulumi stack output pipeline --json`): action.yml's commit and each shared workflow's. */
export function readPipelineOutput(file: string): { pipelineCommit: string; pipelineWorkflows: Record<string, string> } {
  const allowed = "(allowed: the JSON of pulumi stack output pipeline --json)";
  let o: unknown;
  try {
    o = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (e) {
    throw new Error(`${(e as Error).message} ${allowed}`);
  }
  const p = o as { commit?: unknown; workflows?: unknown };
  if (typeof p !== "object" || p === null || typeof p.commit !== "string" || !SHA.test(p.commit)) {
    throw new Error(`commit: ${JSON.stringify(p?.commit)} is not allowed (allowed: a full commit SHA, 40 lowercase hex) ${allowed}`);
  }
  if (typeof p.workflows !== "object" || p.workflows === null) throw new Error(`workflows: missing ${allowed}`);
  for (const [name, sha] of Object.entries(p.workflows)) {
    if (typeof sha !== "string" || !SHA.test(sha)) throw new Error(`workflows.${name}: ${JSON.stringify(sha)} is not allowed (allowed: a full commit SHA, 40 lowercase hex)`);
  }
  return { pipelineCommit: p.commit, pipelineWorkflows: p.workflows as Record<string, string> };
}

export interface RenderResult {
  readonly inventory: Inventory;
  readonly warnings: readonly string[];
  /** What the reader should know about the output (a placeholder pipeline commit). */
  readonly notes: readonly string[];
  readonly files: number;
  /** `<repo>/<path>` of the files an earlier render wrote that this one no longer renders, now removed. */
  readonly removed: readonly string[];
}

/** Renders the fleet into `out`; returns the inventory, the warnings and what was removed. */
export function renderFleet(out: string, inputs: RenderInputs): RenderResult {
  out = path.resolve(out);
  const today = inputs.today ?? new Date();
  const before = previousRender(out);
  if ("refuse" in before) throw new RenderError(before.refuse);
  const { mirrors, warnings } = resolveFleet(inputs.entries, { ...inputs, today });
  const notes: string[] = [];
  const written = new Set<string>();
  const write = (repo: string, f: { path: string; content: string }) => {
    const dest = path.join(out, repo, f.path);
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    fs.writeFileSync(dest, f.content);
    written.add(`${repo}/${f.path}`);
  };
  // The pipeline repository, as pulumi up commits it, and the pin every workflow names.
  const commit = inputs.pipelineCommit;
  const { files: pipelineFiles, pin } = renderedPipeline(inputs.settings.owner, mirrors, commit, inputs.pipelineWorkflows);
  for (const f of pipelineFiles) write(PIPELINE_REPOSITORY_NAME, f);
  if (commit === undefined || inputs.pipelineWorkflows === undefined) {
    notes.push(
      `pipeline: the commits of ${inputs.settings.owner}/${PIPELINE_REPOSITORY_NAME} are made by pulumi up, so the workflows name the placeholder ${PLACEHOLDER_COMMIT}; ` +
        "give --pipeline FILE (pulumi stack output pipeline --json > FILE) to render what the stack committed",
    );
  }
  const entries = mirrors.map((m) => {
    const rendered = renderMirrorFiles(m, pin);
    for (const f of rendered) write(m.repo, f);
    return inventoryEntry(m, rendered, today);
  });
  const removed = [...before.files].filter((f) => !written.has(f)).sort();
  for (const f of removed) removeRendered(out, f);
  // The fleet's admission policies (components/admission.ts): there when the stack signs, gone when it stops.
  const admission = renderAdmissionPolicies(inputs.settings);
  for (const f of admission) {
    fs.mkdirSync(path.dirname(path.join(out, f.path)), { recursive: true });
    fs.writeFileSync(path.join(out, f.path), f.content);
  }
  if (admission.length === 0) for (const p of Object.values(ADMISSION_PATHS)) if (fs.existsSync(path.join(out, p))) removeRendered(out, p);
  const inventory: Inventory = {
    generatedFor: inputs.settings.owner,
    pipeline: pipelineInventory(pin.repository, pipelineFiles, commit ?? null),
    mirrors: entries,
    summary: fleetSummary(entries, inputs.policy.waiverNoticeDays),
  };
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(path.join(out, MANIFEST), JSON.stringify(inventory, null, 2) + "\n");
  return { inventory, warnings, notes, files: written.size, removed };
}

export interface Out {
  stdout(text: string): void;
  stderr(text: string): void;
}

export function main(argv: readonly string[], io: Out, root = PROJECT_ROOT): number {
  let values;
  try {
    values = parseArgs({
      args: [...argv],
      strict: true,
      options: { out: { type: "string" }, stack: { type: "string", default: "prod" }, pipeline: { type: "string" }, help: { type: "boolean", short: "h" } },
    }).values;
  } catch (e) {
    io.stderr(`render: ${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    io.stdout(USAGE);
    return 0;
  }
  if (!values.out) {
    io.stderr(`render: --out is required\n\n${USAGE}`);
    return 2;
  }
  let pipeline: Pick<RenderInputs, "pipelineCommit" | "pipelineWorkflows"> = {};
  if (values.pipeline !== undefined) {
    try {
      pipeline = readPipelineOutput(values.pipeline);
    } catch (e) {
      io.stderr(`render: --pipeline ${values.pipeline}: ${(e as Error).message}\n`);
      return 2;
    }
  }
  try {
    const settings = readStackSettings(values.stack!, root);
    const out = path.resolve(values.out);
    const entries = loadMirrorEntries(path.join(root, "mirrors"), root);
    // Override files next to the entries, read under the same root as the entries.
    const readFile = (rel: string) => fs.readFileSync(path.join(root, rel), "utf8");
    const { inventory, warnings, notes, files, removed } = renderFleet(out, { entries, policy: fleetPolicy, settings, readFile, ...pipeline });
    for (const w of warnings) io.stderr(`warning: ${w}\n`);
    for (const n of notes) io.stderr(`note: ${n}\n`);
    const gone = removed.length ? `; removed ${removed.length} no longer rendered: ${removed.join(", ")}` : "";
    io.stdout(`rendered ${files} files for ${inventory.mirrors.length} mirrors into ${out}${gone}\n`);
    return 0;
  } catch (e) {
    io.stderr(e instanceof FleetConfigError ? `${e.message}\n` : `render: ${(e as Error).message}\n`);
    return 1;
  }
}

if (require.main === module) {
  process.exitCode = main(process.argv.slice(2), { stdout: (t) => process.stdout.write(t), stderr: (t) => process.stderr.write(t) });
}
