/**
 * Fleets tests render, each a folder holding a `mirrors/` folder.
 *
 * FIXTURE_FLEET (test/fixtures/fleet): copies of the worked examples gokapi
 * and plik. Tests that assert what a named entry renders, and the golden
 * files, render this one. The user's own `mirrors/` is test/support/user-fleet.ts.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { resolveFleet, type MirrorEntry, type ResolvedFleet } from "../../components/spec";
import type { FleetPolicy, StackSettings } from "../../components/types";
import { loadMirrorEntries, PROJECT_ROOT } from "../../infra/mirrors";
import { policy as fleetPolicy } from "../../infra/policy";

export interface TestFleet {
  /** How test names call it. */
  readonly label: string;
  /** The folder that holds its `mirrors/`; entry files are named relative to it (`mirrors/gokapi.ts`). */
  readonly root: string;
  /** Every entry in its `mirrors/`, loaded as the program loads them. */
  entries(): MirrorEntry[];
  /** Reads a file relative to `root` (override Dockerfiles), as the program reads them relative to the project. */
  readFile(rel: string): string;
}

export function fleetAt(root: string, label: string): TestFleet {
  return {
    label,
    root,
    entries: () => loadMirrorEntries(path.join(root, "mirrors"), root),
    readFile: (rel) => fs.readFileSync(path.join(root, rel), "utf8"),
  };
}

export const FIXTURE_FLEET = fleetAt(path.join(PROJECT_ROOT, "test", "fixtures", "fleet"), "the fixture fleet");

/** The fleet resolved as the program resolves it: the project's policy unless given. */
export function resolveTestFleet(fleet: TestFleet, o: { settings: StackSettings; today: Date; policy?: FleetPolicy }): ResolvedFleet {
  return resolveFleet(fleet.entries(), { policy: o.policy ?? fleetPolicy, settings: o.settings, readFile: fleet.readFile, today: o.today });
}


/**
 * Copies the entries of a fleet under test/fixtures (its `mirrors/` files)
 * into a project's `mirrors/` folder, where they import the project's modules
 * from one level down (`../components/…`) instead of from the fixture's depth.
 * Returns the file names copied.
 */
export function copyEntries(fromMirrors: string, toMirrors: string): string[] {
  const up = path.relative(fromMirrors, PROJECT_ROOT).split(path.sep).join("/");
  fs.mkdirSync(toMirrors, { recursive: true });
  const names = fs.readdirSync(fromMirrors).sort();
  for (const f of names) {
    const text = fs.readFileSync(path.join(fromMirrors, f), "utf8");
    fs.writeFileSync(path.join(toMirrors, f), f.endsWith(".ts") ? text.replaceAll(`"${up}/`, '"../') : text);
  }
  return names;
}
