/**
 * Loads every entry in mirrors/: each `*.ts` file (an entry) default-exports a
 * MirrorSpec. Adding a mirror is adding a file; nothing else lists them.
 *
 * An entry that cannot be loaded is not a reason to stop: its problems are
 * kept, as one line each, and reported with every other entry's problems.
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

/** What loading `file` threw, as problems of one line each. */
export function loadProblems(e: unknown): string[] {
  // A preset rejects its fields when the entry calls it, inside `override: { preset: … }`.
  if (e instanceof PresetError) return e.problems.map((p) => `override.preset: ${e.preset}: ${p}`);
  const message = e instanceof Error ? e.message : String(e);
  const syntax = syntaxError(message);
  if (syntax) return [syntax];
  // Node appends a "Require stack" of absolute paths; the first line says what failed.
  return [`could not be loaded: ${message.split("\n")[0].trim()}`];
}

export function loadMirrorEntries(dir = path.join(PROJECT_ROOT, "mirrors"), root = PROJECT_ROOT): MirrorEntry[] {
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts"))
    .sort()
    .map((f): MirrorEntry => {
      const file = path.relative(root, path.join(dir, f)).split(path.sep).join("/");
      let mod: unknown;
      try {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        mod = require(path.join(dir, f));
      } catch (e) {
        return { file, spec: undefined, problems: loadProblems(e) };
      }
      const spec = mod && typeof mod === "object" && "default" in mod ? (mod as { default: unknown }).default : undefined;
      return spec === undefined ? { file, spec, problems: [NO_EXPORT] } : { file, spec };
    });
}

/** Reads a file relative to the project root (override Dockerfiles). */
export function readProjectFile(rel: string): string {
  return fs.readFileSync(path.join(PROJECT_ROOT, rel), "utf8");
}
