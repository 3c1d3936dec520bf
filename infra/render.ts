/**
 * `npm run render -- --out DIR [--stack prod]`: writes every file that
 * `pulumi up` would commit, as DIR/<mirror-repo>/<path>, and DIR/inventory.json,
 * without Pulumi. Same resolver, same renderers: byte-identical to what the
 * component commits (test/component/mirrored-image.test.ts, "render == component").
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
import { fleetSummary, inventoryEntry, type Inventory } from "../components/inventory";
import { renderMirrorFiles } from "../components/render";
import { FleetConfigError, resolveFleet } from "../components/spec";
import type { StackSettings } from "../components/types";
import { loadMirrorEntries, PROJECT_ROOT } from "./mirrors";
import { policy as fleetPolicy } from "./policy";
import type { FleetInputs } from "./program";
import { settingsFromStackFile } from "./settings";

export const USAGE = `usage: npm run render -- --out DIR [--stack NAME]

Writes every file \`pulumi up\` would commit, as DIR/<mirror-repo>/<path>, and
DIR/inventory.json, without Pulumi or a token: the offline check of mirrors/.
With a cosign key in the stack, also the fleet's admission policies
(DIR/admission/: a Kyverno ClusterPolicy and a Sigstore ClusterImagePolicy).
  --out DIR     a new or empty folder, or one written by an earlier render (its
                files that are no longer rendered are removed)
  --stack NAME  whose settings to use: Pulumi.<NAME>.yaml (default prod)
`;

/** The manifest of a render: DIR/inventory.json, whose entries list their files. */
export const MANIFEST = "inventory.json";

export class RenderError extends Error {}

/** What rendering needs of the program's inputs: no providers, no secrets. */
export type RenderInputs = Pick<FleetInputs, "entries" | "policy" | "settings" | "readFile" | "today">;

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

export interface RenderResult {
  readonly inventory: Inventory;
  readonly warnings: readonly string[];
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
  const written = new Set<string>();
  const entries = mirrors.map((m) => {
    const rendered = renderMirrorFiles(m);
    for (const f of rendered) {
      const dest = path.join(out, m.repo, f.path);
      fs.mkdirSync(path.dirname(dest), { recursive: true });
      fs.writeFileSync(dest, f.content);
      written.add(`${m.repo}/${f.path}`);
    }
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
    mirrors: entries,
    summary: fleetSummary(entries, inputs.policy.waiverNoticeDays),
  };
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(path.join(out, MANIFEST), JSON.stringify(inventory, null, 2) + "\n");
  return { inventory, warnings, files: written.size, removed };
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
      options: { out: { type: "string" }, stack: { type: "string", default: "prod" }, help: { type: "boolean", short: "h" } },
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
  try {
    const settings = readStackSettings(values.stack!, root);
    const out = path.resolve(values.out);
    const entries = loadMirrorEntries(path.join(root, "mirrors"), root);
    // Override files next to the entries, read under the same root as the entries.
    const readFile = (rel: string) => fs.readFileSync(path.join(root, rel), "utf8");
    const { inventory, warnings, files, removed } = renderFleet(out, { entries, policy: fleetPolicy, settings, readFile });
    for (const w of warnings) io.stderr(`warning: ${w}\n`);
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
