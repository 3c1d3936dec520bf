/**
 * The pipeline as one file, `pipeline.cjs`: committed once per fleet, in the
 * pipeline repository next to its `action.yml` (components/pipeline-action.ts),
 * and run by every mirror's workflow through that action (`node
 * "$RUNNER_TEMP/mirror-fleet-pipeline.cjs" <command>`): no node_modules, no
 * install step.
 *
 * Deploy-time tooling that lives with the code it bundles: it reads
 * pipeline/ as files through esbuild and imports none of it, and the
 * pipeline never imports it.
 *
 * Not minified, so that an auditor can read what runs in the mirrors'
 * Actions; license comments kept. Deterministic: the same sources give the
 * same bytes wherever the project sits (paths in the bundle are relative to
 * the project root, also when node_modules is a symbolic link to another
 * checkout's), so an unchanged pipeline is never re-committed. The first
 * lines name the source version and the hashes, so the committed copy can
 * be traced to its source, and every third-party package bundled into it,
 * with its version and licence (from esbuild's metafile: exactly what went
 * in). The generated-file header is the renderer's (components/pipeline-action.ts).
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { buildSync } from "esbuild";

const ROOT = path.resolve(__dirname, "..");

let cached: string | undefined;

/** The bundle with its provenance lines; built once per process. */
export function pipelineBundle(): string {
  cached ??= buildPipelineBundle();
  return cached;
}

export interface BundledPackage {
  readonly name: string;
  readonly version: string;
  readonly license: string;
  /** Where it was read from, relative to the project root (nested copies are listed apart). */
  readonly dir: string;
}

/** The licence of a package.json: `license` (SPDX), the old `{ type }` form, or `licenses: [{ type }]`. */
function licenseOf(pkg: { license?: unknown; licenses?: unknown }): string {
  const one = (l: unknown) => (typeof l === "string" ? l : typeof l === "object" && l !== null && typeof (l as { type?: unknown }).type === "string" ? (l as { type: string }).type : undefined);
  const direct = one(pkg.license);
  if (direct) return direct;
  const list = Array.isArray(pkg.licenses) ? pkg.licenses.map(one).filter((x): x is string => !!x) : [];
  return list.length ? `(${list.join(" OR ")})` : "UNKNOWN";
}

/** Every package under node_modules/ that some bundled input file belongs to, sorted by name. */
export function bundledPackages(inputs: readonly string[], root = ROOT): BundledPackage[] {
  const dirs = new Set<string>();
  for (const rel of inputs) {
    const i = rel.lastIndexOf("node_modules/");
    if (i < 0) continue;
    const parts = rel.slice(i + "node_modules/".length).split("/");
    dirs.add(rel.slice(0, i + "node_modules/".length) + (parts[0].startsWith("@") ? `${parts[0]}/${parts[1]}` : parts[0]));
  }
  return [...dirs]
    .map((dir) => {
      const pkg = JSON.parse(fs.readFileSync(path.join(root, dir, "package.json"), "utf8")) as { name: string; version: string; license?: unknown; licenses?: unknown };
      return { name: pkg.name, version: pkg.version, license: licenseOf(pkg), dir };
    })
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.dir < b.dir ? -1 : 1));
}

/** Builds the bundle of the project at `root` now (no cache). */
export function buildPipelineBundle(root = ROOT): string {
  const result = buildSync({
    absWorkingDir: root,
    // Paths stay as the project sees them (node_modules/…), not where a
    // symbolic link leads: they are written into the bundle's comments.
    preserveSymlinks: true,
    entryPoints: ["pipeline/main.ts"],
    bundle: true,
    platform: "node",
    target: "node20",
    format: "cjs",
    minify: false,
    legalComments: "inline",
    charset: "ascii",
    sourcemap: false,
    metafile: true,
    write: false,
    logLevel: "silent",
  });
  if (result.errors.length > 0) throw new Error(`pipeline bundle: ${result.errors.map((e) => e.text).join("; ")}`);
  const body = result.outputFiles[0].text;
  const inputs = Object.keys(result.metafile!.inputs).sort();
  const sources = createHash("sha256");
  for (const rel of inputs) {
    sources.update(rel).update("\0").update(fs.readFileSync(path.join(root, rel))).update("\0");
  }
  const own = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as { version: string; license: string };
  const packages = bundledPackages(inputs, root);
  const width = Math.max(...packages.map((p) => `${p.name} ${p.version}`.length));
  return (
    `// mirror-fleet pipeline ${own.version}; sources sha256:${sources.digest("hex")} (${inputs.length} files)\n` +
    `// Licence: mirror-fleet's own code ${own.license}. Bundled packages (${packages.length}), name version licence;\n` +
    `// each licence's full text is in the package, at that version, on npmjs.com:\n` +
    packages.map((p) => `//   ${`${p.name} ${p.version}`.padEnd(width)}  ${p.license}\n`).join("") +
    `// bundle body sha256:${createHash("sha256").update(body).digest("hex")} (everything after this line)\n` +
    body
  );
}
