/**
 * The pipeline's command contract: every command is a module exporting a
 * Command. `main.ts` is the only place that touches process; commands get an
 * Io so tests can run them in-process with their own env, cwd and output.
 */
import * as fs from "node:fs";
import { parseArgs, type ParseArgsConfig } from "node:util";

export interface Io {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  stdout(text: string): void;
  stderr(text: string): void;
}

export interface Command {
  readonly name: string;
  /** One line for the command list. */
  readonly summary: string;
  /** Full `--help` text. */
  readonly usage: string;
  /** Returns the exit code. Throw UsageError for bad flags (exit 2 with the usage). */
  run(argv: readonly string[], io: Io): Promise<number>;
}

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** node:util parseArgs, strict, with errors turned into UsageError. */
export function parseFlags<T extends NonNullable<ParseArgsConfig["options"]>>(argv: readonly string[], options: T) {
  try {
    return parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }).values;
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/** Writes step outputs for GitHub Actions (GITHUB_OUTPUT), with a delimiter that cannot occur in the value. */
export function setOutputs(io: Io, outputs: Readonly<Record<string, string>>): void {
  const file = io.env.GITHUB_OUTPUT;
  if (!file) return;
  let text = "";
  for (const [k, v] of Object.entries(outputs)) {
    let delim = "MIRROR_FLEET_EOF";
    while (v.includes(delim)) delim += "_";
    text += `${k}<<${delim}\n${v}\n${delim}\n`;
  }
  fs.appendFileSync(file, text);
}
