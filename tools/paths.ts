/**
 * Where `npm run engine:build` (tools/build.sh) puts the real tools: one
 * folder per tool and version, and bin/ with a link to the current binary of
 * each. Keep the default in step with tools/build.sh.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
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

/**
 * The folder of the GitHub provider built from this checkout's mapping:
 * tools/build.sh keys it by version and a hash of tools/go/github (its
 * `github_src_hash`), so a changed mapping is a new build.
 */
export function githubProviderRoot(version: string, env: Env = process.env): string {
  const src = path.join(__dirname, "go", "github");
  const hash = createHash("sha256");
  for (const f of ["main.go", "ghinfo/info.go", "schemagen/main.go", "go.mod", "go.sum"]) hash.update(fs.readFileSync(path.join(src, f)));
  return builtToolRoot("github", `${version}-${hash.digest("hex").slice(0, 12)}`, env);
}
