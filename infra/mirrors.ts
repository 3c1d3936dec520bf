/**
 * Loads every entry in mirrors/: each `*.ts` file (an entry) default-exports a
 * MirrorSpec. Adding a mirror is adding a file; nothing else lists them.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { MirrorEntry } from "../components/spec";

export const PROJECT_ROOT = path.resolve(__dirname, "..");

export function loadMirrorEntries(dir = path.join(PROJECT_ROOT, "mirrors")): MirrorEntry[] {
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts"))
    .sort()
    .map((f) => {
      const file = path.relative(PROJECT_ROOT, path.join(dir, f)).split(path.sep).join("/");
      try {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const mod = require(path.join(dir, f));
        return { file, spec: mod && typeof mod === "object" && "default" in mod ? mod.default : mod };
      } catch (e) {
        // A preset that rejects its fields throws at import: keep its message,
        // and report it with every other problem instead of stopping here.
        return { file, spec: undefined, loadError: (e as Error).message };
      }
    });
}

/** Reads a file relative to the project root (override Dockerfiles). */
export function readProjectFile(rel: string): string {
  return fs.readFileSync(path.join(PROJECT_ROOT, rel), "utf8");
}
