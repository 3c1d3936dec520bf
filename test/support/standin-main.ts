/**
 * `npm run standin -- --port P --state DIR`: the GitHub stand-in as a server
 * on 127.0.0.1 until SIGTERM or SIGINT, its state kept in DIR (a later run, or
 * a second process started after this one stops, sees the same repositories).
 * Prints one JSON line when listening: url, token, state folder, log file.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { startGitHubStandIn } from "./github-standin";

const USAGE = `usage: npm run standin -- --port P --state DIR [--org LOGIN]... [--token T] [--log FILE]

Serves the GitHub REST API stand-in on http://127.0.0.1:P until SIGTERM/SIGINT.
  --port P       port on 127.0.0.1 (0: a free one)
  --state DIR    keeps repositories, settings and the token in DIR/state.json and DIR/token
  --org LOGIN    an organisation the provider may create repositories in (repeatable; kept in DIR)
  --token T      the token clients must send (default: DIR/token, created on first run)
  --log FILE     appends one JSON line per request (default: DIR/requests.jsonl)
Point the GitHub provider at it with baseUrl http://127.0.0.1:P/ (requests go to /api/v3/...)
and the pipeline with GITHUB_API_URL=http://127.0.0.1:P.
`;

class UsageError extends Error {}

function options(argv: string[]): { port: number; state: string; orgs: string[]; token?: string; log?: string } | "help" {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        port: { type: "string" },
        state: { type: "string" },
        org: { type: "string", multiple: true },
        token: { type: "string" },
        log: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const v = parsed.values;
  if (v.help) return "help";
  if (v.port === undefined || !/^\d+$/.test(v.port) || Number(v.port) > 65535) throw new UsageError(`--port: ${JSON.stringify(v.port ?? null)} is not a port number (0-65535)`);
  if (!v.state) throw new UsageError("--state DIR is required");
  return { port: Number(v.port), state: path.resolve(v.state), orgs: v.org ?? [], token: v.token, log: v.log };
}

async function main(argv: string[]): Promise<number> {
  const o = options(argv);
  if (o === "help") {
    process.stdout.write(USAGE);
    return 0;
  }
  fs.mkdirSync(o.state, { recursive: true });
  const tokenFile = path.join(o.state, "token");
  const token = o.token ?? (fs.existsSync(tokenFile) ? fs.readFileSync(tokenFile, "utf8").trim() : undefined);
  const log = o.log ?? path.join(o.state, "requests.jsonl");
  const s = await startGitHubStandIn({ port: o.port, stateDir: o.state, logFile: log, ...(token ? { token } : {}) });
  fs.writeFileSync(tokenFile, `${s.token}\n`, { mode: 0o600 });
  for (const org of o.orgs) s.addOrg(org);
  process.stdout.write(`${JSON.stringify({ url: s.url, token: s.token, state: o.state, log })}\n`);
  await new Promise<void>((resolve) => {
    process.once("SIGTERM", resolve);
    process.once("SIGINT", resolve);
  });
  await s.stop();
  return 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`mirror-fleet standin: ${(e as Error).message}\n${e instanceof UsageError ? USAGE : ""}`);
      process.exitCode = e instanceof UsageError ? 2 : 1;
    },
  );
}
