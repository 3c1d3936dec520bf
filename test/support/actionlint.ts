/**
 * The one wrapper around actionlint for tests (test/workflow, test/fleet-ci):
 * the native binary built from the Go module github.com/rhysd/actionlint at
 * ACTIONLINT_VERSION (tools/versions.sh) by `npm run engine:build`. Run at
 * its default settings: no config file, and shellcheck when it is on PATH
 * (CI installs it, .ci/run), so `run:` scripts are checked too.
 */
import { spawnSync } from "node:child_process";
import { toolPath } from "./tools";

/** One actionlint finding: `kind` is actionlint's rule name ("expression", "job-needs", "runner-label"...). */
export interface Finding {
  readonly message: string;
  readonly line: number;
  readonly column: number;
  readonly kind: string;
}

function run(args: readonly string[], input?: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(toolPath("actionlint"), [...args], { input, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  if (r.error) throw r.error;
  return r;
}

/**
 * actionlint over one workflow's text; `file` is the path it is reported
 * under (and decides that it is read as a workflow). Exit 0 is clean, 1 is
 * findings; anything else is actionlint failing, never "no findings".
 */
export async function lintWorkflow(text: string, file: string): Promise<Finding[]> {
  const r = run(["-no-color", "-format", "{{json .}}", "-stdin-filename", file, "-"], text);
  if (r.status !== 0 && r.status !== 1) throw new Error(`actionlint on ${file} exited ${r.status}: ${r.stderr.trim()}`);
  const found = JSON.parse(r.stdout || "[]") as Finding[];
  if (r.status === 1 && found.length === 0) throw new Error(`actionlint on ${file} exited 1 with no findings: ${r.stderr.trim()}`);
  return found.map(({ message, line, column, kind }) => ({ message, line, column, kind }));
}

/** `line:column kind: message`, one string a finding, for assertion diffs that read well. */
export function describeFindings(found: readonly Finding[]): string[] {
  return found.map((f) => `${f.line}:${f.column} ${f.kind}: ${f.message}`);
}

/** The version the binary reports (first line of `actionlint -version`). */
export function actionlintVersion(): string {
  return run(["-version"]).stdout.split("\n")[0].trim();
}
