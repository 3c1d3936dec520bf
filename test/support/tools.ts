/**
 * Where the tests find the real tools that `npm run engine:build`
 * (tools/build.sh) builds: `$MIRROR_FLEET_TOOLS/bin/<name>`, default
 * `${XDG_CACHE_HOME:-~/.cache}/mirror-fleet/tools`, the same rule as the
 * build script. A missing tool fails the test that needs it, naming the
 * command that builds it: CI builds first, so nothing is skipped.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const ROOT = path.resolve(__dirname, "..", "..");

export function toolsDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.MIRROR_FLEET_TOOLS || path.join(env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache"), "mirror-fleet", "tools");
}

/** The absolute path of a built tool's binary; throws when it is not built. */
export function toolPath(name: string, tool = name): string {
  const file = path.join(toolsDir(), "bin", name);
  if (!fs.existsSync(file)) {
    throw new Error(`${file} does not exist: ${name} is not built (run: npm run engine:build -- ${tool})`);
  }
  return file;
}

/** The versions in tools/versions.sh (`NAME_VERSION=x.y.z` lines), keyed by tool name in lower case. */
export function toolVersions(): Record<string, string> {
  const text = fs.readFileSync(path.join(ROOT, "tools", "versions.sh"), "utf8");
  const out: Record<string, string> = {};
  for (const m of text.matchAll(/^([A-Z0-9_]+)_VERSION=([^\s#]+)$/gm)) out[m[1].toLowerCase()] = m[2];
  return out;
}
