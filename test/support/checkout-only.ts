/**
 * Loaded before every test file (`--import`, package.json): a test that reads
 * a file beside the checkout (a `../shared` folder, a sibling project) throws,
 * naming the file. A user's clone has nothing beside it, so a test that
 * passed here by reading one would fail there; tests own their data
 * (test/testdata, with its sources).
 *
 * Guarded: the synchronous, callback and promise readers of `node:fs` that
 * tests and the code under test use. Allowed: the checkout itself, and the
 * siblings that hold the temporary folder, the home folder, this Node.js, or
 * a tools cache the environment names (MIRROR_FLEET_TOOLS, XDG_CACHE_HOME,
 * GOMODCACHE, GOPATH).
 */
import fs = require("node:fs");
import * as os from "node:os";
import * as path from "node:path";

export const CHECKOUT = path.resolve(__dirname, "..", "..");
const PARENT = path.dirname(CHECKOUT);

/** Siblings of the checkout that hold something a test may read: caches of tools (Go's module cache among them: test/component/admission.test.ts), wherever the environment puts them. */
const ALLOWED = [os.tmpdir(), os.homedir(), process.execPath, ...["MIRROR_FLEET_TOOLS", "XDG_CACHE_HOME", "GOMODCACHE", "GOPATH"].map((v) => process.env[v] ?? "")].filter(Boolean).map((p) => path.resolve(p));

/** The path, when it lies beside the checkout rather than in it; else undefined. */
export function besideCheckout(p: unknown): string | undefined {
  let file: string;
  if (typeof p === "string") file = p;
  else if (p instanceof URL && p.protocol === "file:") file = p.pathname;
  else if (Buffer.isBuffer(p)) file = p.toString();
  else return undefined;
  const abs = path.resolve(file);
  const rel = path.relative(PARENT, abs);
  if (!rel || rel.startsWith("..") || path.isAbsolute(rel)) return undefined;
  const sibling = path.join(PARENT, rel.split(path.sep)[0]);
  if (sibling === CHECKOUT || PARENT === path.parse(PARENT).root) return undefined;
  if (ALLOWED.some((a) => a === sibling || a.startsWith(sibling + path.sep))) return undefined;
  return abs;
}

function refusal(file: string): Error {
  return new Error(`a test read ${file}, outside the checkout ${CHECKOUT}: a clone has nothing beside it; put the file under test/testdata with its source`);
}

function throwing(e: Error): never {
  throw e;
}

type AnyFn = (...args: unknown[]) => unknown;

function guard(target: Record<string, unknown>, names: readonly string[], promises = false): void {
  for (const name of names) {
    const original = target[name] as AnyFn | undefined;
    if (typeof original !== "function") continue;
    const wrapped = function (this: unknown, ...args: unknown[]) {
      const beside = besideCheckout(args[0]);
      if (beside) return promises ? Promise.reject(refusal(beside)) : throwing(refusal(beside));
      return original.apply(this, args);
    };
    Object.defineProperty(wrapped, "name", { value: name });
    target[name] = wrapped;
  }
}

const READERS = ["readFile", "readdir", "stat", "lstat", "access", "open", "opendir", "realpath"];
const mutableFs = fs as unknown as Record<string, unknown>;
guard(mutableFs, [...READERS, ...READERS.map((n) => `${n}Sync`), "existsSync", "createReadStream", "cp", "cpSync", "copyFile", "copyFileSync"]);
guard(fs.promises as unknown as Record<string, unknown>, [...READERS, "cp", "copyFile"], true);
