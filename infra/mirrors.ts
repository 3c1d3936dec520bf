/**
 * Loads every entry in mirrors/: each `*.ts` file (an entry) default-exports a
 * MirrorSpec. Adding a mirror is adding a file; nothing else lists them.
 *
 * An entry that cannot be loaded is not a reason to stop: its problems are
 * kept, as one line each, and reported with every other entry's problems.
 * Any other file must be one an entry names (its override Dockerfile): an
 * entry saved as `.tsx`, `.js` or `.ts.bak` would otherwise be passed over,
 * and a deployed mirror whose file was renamed so would be planned for
 * deletion. Dot files (`.gitkeep`) are not read.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { PresetError } from "../components/presets";
import type { MirrorEntry } from "../components/spec";

export const PROJECT_ROOT = path.resolve(__dirname, "..");

export const NO_EXPORT = "exports no mirror (export default defineMirror(…))";

/**
 * The `line L, column C: message` of a syntax error, from the TypeScript
 * loader that ran: tsx/esbuild (`file:L:C: ERROR: msg`, C counted from 0) or
 * ts-node, which Pulumi uses (`file(L,C): error TS1005: msg`, C from 1).
 */
export function syntaxError(message: string): string | undefined {
  const esb = /^.+?:(\d+):(\d+): ERROR: (.+)$/m.exec(message);
  if (esb) return `line ${esb[1]}, column ${Number(esb[2]) + 1}: syntax error: ${esb[3].trim()}`;
  const tsn = /^.+?\((\d+),(\d+)\): error TS\d+: (.+)$/m.exec(message);
  if (tsn) return `line ${tsn[1]}, column ${tsn[2]}: syntax error: ${tsn[3].trim()}`;
  return undefined;
}

/**
 * A syntax error in `file` in esbuild's words, or undefined. The loaders word
 * the same error differently (esbuild `Expected "}" but found "build"`,
 * TypeScript `',' expected.`); each path reports this one, so that render,
 * `npm run preview` and the plain `pulumi preview` say the same.
 */
export function esbuildSyntaxError(file: string): string | undefined {
  // Loaded only on this path: a fleet that loads needs no parser of its own.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { transformSync } = require("esbuild") as typeof import("esbuild");
  try {
    transformSync(fs.readFileSync(file, "utf8"), { loader: "ts", sourcefile: file });
    return undefined;
  } catch (e) {
    const first = (e as { errors?: Array<{ text: string; location: { line: number; column: number } | null }> }).errors?.[0];
    return first?.location ? `line ${first.location.line}, column ${first.location.column + 1}: syntax error: ${first.text}` : undefined;
  }
}

/** What loading `file` threw, as problems of one line each. */
export function loadProblems(e: unknown, file?: string): string[] {
  // A preset rejects its fields when the entry calls it, inside `override: { preset: … }`.
  if (e instanceof PresetError) return e.problems.map((p) => `override.preset: ${e.preset}: ${p}`);
  const message = e instanceof Error ? e.message : String(e);
  const syntax = syntaxError(message);
  if (syntax) return [(file && esbuildSyntaxError(file)) || syntax];
  // Node appends a "Require stack" of absolute paths; the first line says what failed.
  return [`could not be loaded: ${message.split("\n")[0].trim()}`];
}

export const NOT_AN_ENTRY =
  "not an entry, and no entry names it (allowed in mirrors/: <name>.ts, one mirror each, and the Dockerfile an entry names as override.file)";

/** An entry's file name: TypeScript, not a declaration file. */
const isEntry = (f: string): boolean => f.endsWith(".ts") && !f.endsWith(".d.ts");

export function loadMirrorEntries(dir = path.join(PROJECT_ROOT, "mirrors"), root = PROJECT_ROOT): MirrorEntry[] {
  const names = fs.readdirSync(dir).filter((f) => !f.startsWith(".")).sort();
  const relative = (f: string) => path.relative(root, path.join(dir, f)).split(path.sep).join("/");
  const entries = new Map(
    names.filter(isEntry).map((f): [string, MirrorEntry] => {
      const file = relative(f);
      let mod: unknown;
      try {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        mod = require(path.join(dir, f));
      } catch (e) {
        return [f, { file, spec: undefined, problems: loadProblems(e, path.join(dir, f)) }];
      }
      const spec = mod && typeof mod === "object" && "default" in mod ? (mod as { default: unknown }).default : undefined;
      return [f, spec === undefined ? { file, spec, problems: [NO_EXPORT] } : { file, spec }];
    }),
  );
  // What the entries name, read as loosely as the validator will read it (it reports a bad name itself).
  const named = new Set([...entries.values()].map((e) => (e.spec as { override?: { file?: unknown } } | undefined)?.override?.file).filter((f) => typeof f === "string"));
  // In file order: each entry, and each other file no entry names as a problem of its own.
  return names.flatMap((f): MirrorEntry[] => (isEntry(f) ? [entries.get(f)!] : named.has(f) ? [] : [{ file: relative(f), spec: undefined, problems: [NOT_AN_ENTRY] }]));
}

/** Reads a file relative to the project root (override Dockerfiles). */
export function readProjectFile(rel: string): string {
  return fs.readFileSync(path.join(PROJECT_ROOT, rel), "utf8");
}
