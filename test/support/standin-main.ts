/**
 * `npm run standin -- --port P --state DIR`: the GitHub stand-in as a server
 * on 127.0.0.1 until SIGTERM or SIGINT, its state kept in DIR (a later run, or
 * a second process started after this one stops, sees the same repositories).
 * Prints one JSON line when listening: url, token, state folder, log file.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import type { Identity } from "./github-access";
import { parseIdentities } from "./github-access";
import { permissionLevels, startGitHubStandIn } from "./github-standin";

const USAGE = `usage: npm run standin -- --port P --state DIR [--org LOGIN]... [--token T] [--log FILE]
                          [--identities FILE] [--allow-actions-prs] [--default-branch NAME] [--rename-delay-ms N]

Serves the GitHub REST API stand-in on http://127.0.0.1:P until SIGTERM/SIGINT.
  --port P              port on 127.0.0.1 (0: a free one)
  --state DIR           keeps repositories, settings and the token in DIR/state.json and DIR/token
  --org LOGIN           an organisation the provider may create repositories in (repeatable; kept in DIR)
  --token T             the token clients must send (default: DIR/token, created on first run;
                        with --identities: one of its tokens, default the first)
  --log FILE            appends one JSON line per request (default: DIR/requests.jsonl)
  --identities FILE     a JSON object from token to identity: {"kind": "owner" | "member", "login": "…"}
                        ("role": read|triage|write|maintain|admin and "teams": [ids] for members) or
                        {"kind": "app", "appId": N, "installationId": N, "permissions": {"contents": "write", …}}
                        with GitHub's fine-grained permission names; every request is checked for the
                        permission GitHub requires of it. Without it, the one token is an organisation owner.
  --allow-actions-prs   the organisations allow "GitHub Actions to create and approve pull requests"
                        (off by default, as on GitHub: a repository then cannot turn it on, 409)
  --default-branch NAME the branch new repositories of the organisations start on (default main)
  --rename-delay-ms N   how long a branch rename takes to be seen (default 0)
Point the GitHub provider at it with baseUrl http://127.0.0.1:P/ (requests go to /api/v3/...)
and the pipeline with GITHUB_API_URL=http://127.0.0.1:P.
`;

class UsageError extends Error {}

interface Options {
  readonly port: number;
  readonly state: string;
  readonly orgs: string[];
  readonly token?: string;
  readonly log?: string;
  readonly identities?: Record<string, Identity>;
  readonly allowActionsPrs: boolean;
  readonly defaultBranch?: string;
  readonly renameDelayMs?: number;
}

function options(argv: string[]): Options | "help" {
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
        identities: { type: "string" },
        "allow-actions-prs": { type: "boolean" },
        "default-branch": { type: "string" },
        "rename-delay-ms": { type: "string" },
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
  if (v["default-branch"] !== undefined && !/^[A-Za-z0-9._/-]+$/.test(v["default-branch"])) throw new UsageError(`--default-branch: ${JSON.stringify(v["default-branch"])} is not a branch name`);
  const delay = v["rename-delay-ms"];
  if (delay !== undefined && !/^\d{1,7}$/.test(delay)) throw new UsageError(`--rename-delay-ms: ${JSON.stringify(delay)} is not allowed (allowed: milliseconds, 0 to 9999999)`);
  let identities: Record<string, Identity> | undefined;
  if (v.identities !== undefined) {
    const file = path.resolve(v.identities);
    let json: unknown;
    try {
      json = JSON.parse(fs.readFileSync(file, "utf8"));
    } catch (e) {
      throw new UsageError(`--identities: ${file}: ${(e as Error).message}`);
    }
    try {
      identities = parseIdentities(json, file, permissionLevels());
    } catch (e) {
      throw new UsageError(`--identities: ${(e as Error).message}`);
    }
    if (v.token !== undefined && !(v.token in identities)) throw new UsageError(`--token: not one of the tokens in ${file}`);
  }
  return {
    port: Number(v.port),
    state: path.resolve(v.state),
    orgs: v.org ?? [],
    token: v.token,
    log: v.log,
    ...(identities ? { identities } : {}),
    allowActionsPrs: v["allow-actions-prs"] === true,
    ...(v["default-branch"] !== undefined ? { defaultBranch: v["default-branch"] } : {}),
    ...(delay !== undefined ? { renameDelayMs: Number(delay) } : {}),
  };
}

async function main(argv: string[]): Promise<number> {
  const o = options(argv);
  if (o === "help") {
    process.stdout.write(USAGE);
    return 0;
  }
  fs.mkdirSync(o.state, { recursive: true });
  const tokenFile = path.join(o.state, "token");
  const saved = fs.existsSync(tokenFile) ? fs.readFileSync(tokenFile, "utf8").trim() : undefined;
  // With identities, the token is one of theirs: a saved one from another run counts only if it still is.
  const token = o.token ?? (o.identities ? (saved && saved in o.identities ? saved : undefined) : saved);
  const log = o.log ?? path.join(o.state, "requests.jsonl");
  const s = await startGitHubStandIn({ port: o.port, stateDir: o.state, logFile: log, ...(token ? { token } : {}), ...(o.identities ? { identities: o.identities } : {}) });
  fs.writeFileSync(tokenFile, `${s.token}\n`, { mode: 0o600 });
  for (const org of o.orgs) {
    s.addOrg(org, {
      ...(o.allowActionsPrs ? { canApprovePullRequestReviews: true } : {}),
      ...(o.defaultBranch !== undefined ? { defaultBranch: o.defaultBranch } : {}),
      ...(o.renameDelayMs !== undefined ? { renameDelayMs: o.renameDelayMs } : {}),
    });
  }
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
