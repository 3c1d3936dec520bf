/**
 * The pipeline as one file, `.mirror/pipeline.cjs`, committed into every
 * mirror repository: `node .mirror/pipeline.cjs <command>` needs no
 * node_modules and no install step in the mirror's workflow.
 *
 * Not minified, so that an auditor can read what runs in the mirror's
 * Actions; license comments kept. Deterministic: the same sources give the
 * same bytes (paths in the bundle are relative to the project root), so an
 * unchanged pipeline is never re-committed. The header names the source
 * version and the hashes, so a mirror's copy can be traced to its source,
 * and every third-party package bundled into it, with its version and
 * licence (from esbuild's metafile: exactly what went in).
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { buildSync } from "esbuild";
import { header } from "../components/header";

const ROOT = path.resolve(__dirname, "..");

let cached: string | undefined;

/** The bundle with its header; built once per process. */
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

/** Builds the bundle now (no cache). */
export function buildPipelineBundle(): string {
  const result = buildSync({
    absWorkingDir: ROOT,
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
    sources.update(rel).update("\0").update(fs.readFileSync(path.join(ROOT, rel))).update("\0");
  }
  const own = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { version: string; license: string };
  const packages = bundledPackages(inputs);
  const width = Math.max(...packages.map((p) => `${p.name} ${p.version}`.length));
  return (
    header("//", "pipeline/ (bundled by pipeline/bundle.ts)") +
    `// mirror-fleet pipeline ${own.version}; sources sha256:${sources.digest("hex")} (${inputs.length} files)\n` +
    `// Licence: mirror-fleet's own code ${own.license}. Bundled packages (${packages.length}), name version licence;\n` +
    `// each licence's full text is in the package, at that version, on npmjs.com:\n` +
    packages.map((p) => `//   ${`${p.name} ${p.version}`.padEnd(width)}  ${p.license}\n`).join("") +
    `// bundle body sha256:${createHash("sha256").update(body).digest("hex")} (everything after this line)\n` +
    body
  );
}
