/**
 * `npm run render -- --out DIR [--stack prod]`: writes every file that
 * `pulumi up` would commit, as DIR/<mirror-repo>/<path>, and DIR/inventory.json,
 * without Pulumi. Same resolver, same renderers: byte-identical to what the
 * component commits (test/component/render-equals-component.test.ts).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { fleetSummary, inventoryEntry, type Inventory } from "../components/inventory";
import { renderMirrorFiles } from "../components/render";
import { FleetConfigError, resolveFleet } from "../components/spec";
import { loadMirrorEntries, PROJECT_ROOT, readProjectFile } from "./mirrors";
import { policy as fleetPolicy } from "./policy";
import type { FleetInputs } from "./program";
import { settingsFromStackFile } from "./settings";

/** What rendering needs of the program's inputs: no providers, no secrets. */
export type RenderInputs = Pick<FleetInputs, "entries" | "policy" | "settings" | "readFile" | "today">;

/** Renders the fleet into `out`; returns the inventory and the warnings. */
export function renderFleet(out: string, inputs: RenderInputs): { inventory: Inventory; warnings: readonly string[]; files: number } {
  const today = inputs.today ?? new Date();
  const { mirrors, warnings } = resolveFleet(inputs.entries, { ...inputs, today });
  let files = 0;
  const entries = mirrors.map((m) => {
    const rendered = renderMirrorFiles(m);
    for (const f of rendered) {
      const dest = path.join(out, m.repo, f.path);
      fs.mkdirSync(path.dirname(dest), { recursive: true });
      fs.writeFileSync(dest, f.content);
      files++;
    }
    return inventoryEntry(m, rendered, today);
  });
  const inventory: Inventory = {
    generatedFor: inputs.settings.owner,
    mirrors: entries,
    summary: fleetSummary(entries, inputs.policy.waiverNoticeDays),
  };
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(path.join(out, "inventory.json"), JSON.stringify(inventory, null, 2) + "\n");
  return { inventory, warnings, files };
}

function main(argv: string[]): number {
  const { values } = parseArgs({ args: argv, options: { out: { type: "string" }, stack: { type: "string", default: "prod" }, help: { type: "boolean" } } });
  if (values.help || !values.out) {
    (values.help ? process.stdout : process.stderr).write("usage: npm run render -- --out DIR [--stack prod]\n");
    return values.help ? 0 : 2;
  }
  const settings = settingsFromStackFile(path.join(PROJECT_ROOT, `Pulumi.${values.stack}.yaml`));
  const out = path.resolve(values.out);
  const { inventory, warnings, files } = renderFleet(out, { entries: loadMirrorEntries(), policy: fleetPolicy, settings, readFile: readProjectFile });
  for (const w of warnings) process.stderr.write(`warning: ${w}\n`);
  process.stdout.write(`rendered ${files} files for ${inventory.mirrors.length} mirrors into ${out}\n`);
  return 0;
}

if (require.main === module) {
  try {
    process.exitCode = main(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(e instanceof FleetConfigError ? `${e.message}\n` : `render: ${(e as Error).message}\n`);
    process.exitCode = 1;
  }
}
