/**
 * mirror-pipeline: the code that runs inside each mirror repository's
 * GitHub Actions, one command per workflow step. In the fleet repo it runs
 * from source (`npm run --silent pipeline -- <command>`); in a mirror
 * repository's Actions from the bundle, which the fleet's pipeline action
 * (pinned by commit) puts at `$RUNNER_TEMP/mirror-fleet-pipeline.cjs`.
 */
import { UsageError, type Command, type Io } from "./cli";
import { describeError, isApiError } from "./errors";
import { command as bases } from "./commands/bases";
import { command as dockerfile } from "./commands/dockerfile";
import { command as gate } from "./commands/gate";
import { command as health } from "./commands/health";
import { command as issue } from "./commands/issue";
import { command as notify } from "./commands/notify";
import { command as pin } from "./commands/pin";
import { command as publish } from "./commands/publish";
import { command as resolve } from "./commands/resolve";
import { command as review } from "./commands/review";
import { command as scan } from "./commands/scan";
import { command as sign } from "./commands/sign";

export const COMMANDS: readonly Command[] = [resolve, review, dockerfile, bases, scan, gate, issue, publish, sign, pin, health, notify];

export function usage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return (
    "usage: mirror-pipeline <command> [flags]\n\ncommands:\n" +
    COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join("\n") +
    "\n\n`mirror-pipeline <command> --help` shows a command's flags.\n"
  );
}

export async function main(argv: readonly string[], io: Io): Promise<number> {
  const [name, ...rest] = argv;
  if (!name) {
    io.stderr(usage());
    return 2;
  }
  if (name === "--help" || name === "-h" || name === "help") {
    io.stdout(usage());
    return 0;
  }
  const cmd = COMMANDS.find((c) => c.name === name);
  if (!cmd) {
    io.stderr(`unknown command ${JSON.stringify(name)}\n\n${usage()}`);
    return 2;
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    io.stdout(cmd.usage);
    return 0;
  }
  try {
    return await cmd.run(rest, io);
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr(`${cmd.name}: ${e.message}\n\n${cmd.usage}`);
      return 2;
    }
    io.stderr(`${cmd.name}: ${describeError(e)}\n`);
    return 2;
  }
}

if (require.main === module) {
  const io: Io = {
    env: process.env,
    cwd: process.cwd(),
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
  };
  main(process.argv.slice(2), io).then(
    (code) => {
      process.exitCode = code;
    },
    (e) => {
      process.stderr.write(`${isApiError(e) ? describeError(e) : ((e as Error).stack ?? e)}\n`);
      process.exitCode = 2;
    },
  );
}
