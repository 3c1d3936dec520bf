/**
 * zizmor (static security analysis of GitHub Actions) for tests: the PyPI
 * release at ZIZMOR_VERSION (tools/versions.sh), installed by
 * `npm run engine:build`. Default settings (the "regular" persona, every
 * severity), offline (no GitHub token, no online audits) and no config file:
 * only inline `# zizmor: ignore[rule]` comments can silence a finding, and
 * each of those must be listed with its reason in docs/workflow.md.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { toolPath } from "./tools";

export interface ZizmorFinding {
  /** The audit's id ("template-injection", "artipacked", ...). */
  readonly ident: string;
  readonly desc: string;
  readonly severity: string;
  /** 1-based line of the primary location. */
  readonly line: number;
  /** Silenced by an inline ignore comment. */
  readonly ignored: boolean;
}

interface RawFinding {
  ident: string;
  desc: string;
  determinations: { severity: string };
  ignored: boolean;
  locations: Array<{ symbolic: { kind: string }; concrete: { location: { start_point: { row: number } } } }>;
}

/**
 * zizmor over one workflow's text, written to a scratch
 * `.github/workflows/<basename of file>`. Exit 0 is clean and 11-14 are
 * findings by severity; anything else is zizmor failing.
 */
export function zizmorWorkflow(text: string, file: string): ZizmorFinding[] {
  return zizmorAt(text, path.join(".github", "workflows", path.basename(file)), file);
}

/** zizmor over an action's metadata (`action.yml` of a composite action), written to a scratch folder. */
export function zizmorAction(text: string): ZizmorFinding[] {
  return zizmorAt(text, "action.yml", "action.yml");
}

function zizmorAt(text: string, rel: string, file: string): ZizmorFinding[] {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "zizmor-"));
  try {
    const target = path.join(dir, rel);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, text);
    const r = spawnSync(toolPath("zizmor"), ["--offline", "--no-config", "--no-progress", "--format", "json", target], {
      cwd: dir,
      encoding: "utf8",
      env: { PATH: process.env.PATH ?? "", HOME: dir },
      maxBuffer: 64 * 1024 * 1024,
    });
    if (r.error) throw r.error;
    if (r.status !== 0 && !(r.status !== null && r.status >= 10 && r.status <= 14)) {
      throw new Error(`zizmor on ${file} exited ${r.status}: ${r.stderr.trim()}`);
    }
    return (JSON.parse(r.stdout) as RawFinding[]).map((f) => {
      const primary = f.locations.find((l) => l.symbolic.kind === "Primary") ?? f.locations[0];
      return { ident: f.ident, desc: f.desc, severity: f.determinations.severity, line: primary.concrete.location.start_point.row + 1, ignored: f.ignored };
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export function describeZizmor(found: readonly ZizmorFinding[]): string[] {
  return found.map((f) => `${f.line} ${f.ident} (${f.severity}): ${f.desc}`);
}

export function zizmorVersion(): string {
  const r = spawnSync(toolPath("zizmor"), ["--version"], { encoding: "utf8" });
  if (r.error) throw r.error;
  return r.stdout.trim().replace(/^zizmor /, "");
}
