/**
 * The layers of DESIGN.md, read from the code: every relative import (type
 * imports too) of every TypeScript file under the program's folders, and
 * where it leads. Deploy time reads downwards only (infra/ -> components/ ->
 * mirrors/ data); pipeline/ is the other runtime and imports no deploy-time
 * code; what both agree on lives in contract/, which imports nothing of the
 * project. A new arrow across the seam fails here with the file and the line.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";

const ROOT = path.resolve(__dirname, "..", "..");
const LAYERS = ["infra", "components", "contract", "mirrors", "pipeline"] as const;
type Layer = (typeof LAYERS)[number];
/** Not a layer of the program: the project's own tooling (tools/paths.ts: where the built tools live). */
type Tooling = "tools";

/** Which layers each layer may import from (itself always). */
const ALLOWED: Readonly<Record<Layer, ReadonlyArray<Layer | Tooling>>> = {
  // The program: everything below it, the pipeline's own modules it reuses
  // at deploy time (its GitHub client, the upstream health check, the
  // bundler), and where the built Pulumi CLI lives (the Automation API).
  infra: ["components", "contract", "mirrors", "pipeline", "tools"],
  // MirroredImage and the pure renderers: fleet data is passed in, the
  // pipeline's bundle and commit too.
  components: ["contract"],
  contract: [],
  // Entries are data written with the helpers of components/spec.ts and presets.ts.
  mirrors: ["components", "contract"],
  pipeline: ["contract"],
};

export interface ImportEdge {
  readonly file: string;
  readonly line: number;
  readonly spec: string;
  readonly from: Layer;
  readonly to: Layer | Tooling | "outside";
}

/** Every relative import of a TypeScript source: `import … from`, `export … from`, `import("…")`, `require("…")`. */
export function importsOf(text: string): Array<{ spec: string; line: number }> {
  const out: Array<{ spec: string; line: number }> = [];
  const re = /(?:\bfrom\s+|\bimport\s*\(\s*|\brequire\s*\(\s*|^\s*import\s+)["'](\.{1,2}\/[^"']*)["']/gm;
  for (const m of text.matchAll(re)) out.push({ spec: m[1], line: text.slice(0, m.index).split("\n").length });
  return out;
}

function layerOf(abs: string): Layer | Tooling | "outside" {
  const top = path.relative(ROOT, abs).split(path.sep)[0];
  return (LAYERS as readonly string[]).includes(top) || top === "tools" ? (top as Layer | Tooling) : "outside";
}

function sources(dir: string): string[] {
  return (fs.readdirSync(path.join(ROOT, dir), { recursive: true }) as string[]).filter((f) => f.endsWith(".ts")).map((f) => path.join(ROOT, dir, f));
}

export function edges(): ImportEdge[] {
  const out: ImportEdge[] = [];
  for (const from of LAYERS) {
    for (const file of sources(from)) {
      for (const { spec, line } of importsOf(fs.readFileSync(file, "utf8"))) {
        out.push({ file: path.relative(ROOT, file), line, spec, from, to: layerOf(path.resolve(path.dirname(file), spec)) });
      }
    }
  }
  return out;
}

describe("the layers of DESIGN.md, in the import graph", () => {
  const all = edges();

  test("GIVEN every import of the program WHEN its target's layer is read THEN each arrow is one the layers allow", () => {
    const bad = all
      .filter((e) => e.to !== e.from && (e.to === "outside" || !ALLOWED[e.from].includes(e.to)))
      .map((e) => `${e.file}:${e.line}: ${e.from}/ imports ${e.spec} (${e.to}/; allowed from ${e.from}/: ${[e.from, ...ALLOWED[e.from]].join(", ")})`);
    assert.deepEqual(bad, []);
  });

  test("GIVEN the seam WHEN read THEN both runtimes import contract/, and the graph was read at all", () => {
    assert.ok(all.length > 100, `only ${all.length} imports found: the reader is broken`);
    for (const side of ["components", "pipeline"] as const) assert.ok(all.some((e) => e.from === side && e.to === "contract"), `${side}/ does not import contract/`);
  });

  test("GIVEN an import across the seam WHEN checked THEN it is found and refused (the check can fail)", () => {
    const found = importsOf('import { x } from "../pipeline/lib/pin";\nimport type { Y } from "../../infra/base-images";\nconst z = require("../components/header");\n');
    assert.deepEqual(found, [
      { spec: "../pipeline/lib/pin", line: 1 },
      { spec: "../../infra/base-images", line: 2 },
      { spec: "../components/header", line: 3 },
    ]);
    assert.equal(ALLOWED.components.includes("pipeline"), false);
    assert.equal(ALLOWED.components.includes("infra"), false);
    assert.equal(ALLOWED.pipeline.includes("components"), false);
  });
});
