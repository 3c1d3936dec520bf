/**
 * Where `npm run engine:build` (tools/build.sh) puts the real tools: one
 * folder per tool and version, and bin/ with a link to the current binary of
 * each. Keep the default in step with tools/build.sh.
 */
import * as os from "node:os";
import * as path from "node:path";

type Env = Readonly<Record<string, string | undefined>>;

/** $MIRROR_FLEET_TOOLS, else ${XDG_CACHE_HOME:-~/.cache}/mirror-fleet/tools. */
export function toolsDir(env: Env = process.env): string {
  if (env.MIRROR_FLEET_TOOLS) return env.MIRROR_FLEET_TOOLS;
  return path.join(env.XDG_CACHE_HOME || path.join(env.HOME || os.homedir(), ".cache"), "mirror-fleet", "tools");
}

/** The folder to put on PATH: a link to every built binary. */
export function toolsBinDir(env: Env = process.env): string {
  return path.join(toolsDir(env), "bin");
}

/** The versioned folder of one tool (its binaries are in bin/ below it). */
export function builtToolRoot(tool: string, version: string, env: Env = process.env): string {
  return path.join(toolsDir(env), `${tool}-${version}`);
}
