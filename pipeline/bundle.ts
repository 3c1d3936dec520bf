/**
 * The pipeline as one file, `.mirror/pipeline.cjs`, committed into every
 * mirror repository: `node .mirror/pipeline.cjs <command>` needs no
 * node_modules and no install step in the mirror's workflow.
 *
 * Not minified, so that an auditor can read what runs in the mirror's
 * Actions; license comments kept. Deterministic: the same sources give the
 * same bytes (paths in the bundle are relative to the project root), so an
 * unchanged pipeline is never re-committed. The header names the source
 * version and the hashes, so a mirror's copy can be traced to its source.
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
  const version = (JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { version: string }).version;
  return (
    header("//", "pipeline/ (bundled by pipeline/bundle.ts)") +
    `// mirror-fleet pipeline ${version}; sources sha256:${sources.digest("hex")} (${inputs.length} files)\n` +
    `// bundle body sha256:${createHash("sha256").update(body).digest("hex")} (everything after this line)\n` +
    body
  );
}
