/**
 * Git's smart HTTP protocol (git's Documentation/gitprotocol-http.txt),
 * served by git's own `git http-backend` CGI program: what `git clone` /
 * `git fetch` (and so actions/checkout) speak to GitHub. Read-only: only
 * `git-upload-pack` is served; a push is refused as GitHub refuses one
 * without write access.
 */
import { spawn } from "node:child_process";
import type * as http from "node:http";

/** `/<owner>/<repo>(.git)?/info/refs` or `/<owner>/<repo>(.git)?/git-upload-pack|git-receive-pack`. */
const GIT_PATH = /^\/([A-Za-z0-9_.-]+)\/([A-Za-z0-9_.-]+?)(?:\.git)?\/(info\/refs|git-upload-pack|git-receive-pack)$/;

export interface GitRequest {
  readonly owner: string;
  readonly repo: string;
  readonly service: "info/refs" | "git-upload-pack" | "git-receive-pack";
}

export function gitRequestOf(rawUrl: string): GitRequest | undefined {
  const url = new URL(rawUrl, "http://git");
  const m = GIT_PATH.exec(url.pathname);
  return m ? { owner: m[1], repo: m[2], service: m[3] as GitRequest["service"] } : undefined;
}

/** The password of a Basic authorization header (git sends the token as the password). */
export function basicPassword(req: http.IncomingMessage): string | undefined {
  const m = /^basic\s+(\S+)$/i.exec(req.headers.authorization ?? "");
  if (!m) return undefined;
  const decoded = Buffer.from(m[1], "base64").toString("utf8");
  return decoded.includes(":") ? decoded.slice(decoded.indexOf(":") + 1) : undefined;
}

/**
 * Answers one smart-HTTP request from the bare repository `gitDir`, by
 * running `git http-backend` with the CGI variables it documents.
 */
export function serveGit(req: http.IncomingMessage, res: http.ServerResponse, body: Buffer, gitDir: string, service: GitRequest["service"]): Promise<void> {
  const url = new URL(req.url ?? "/", "http://git");
  const wantsPush = service === "git-receive-pack" || url.searchParams.get("service") === "git-receive-pack";
  if (wantsPush) {
    res.writeHead(403, { "content-type": "text/plain" }).end("stand-in: pushing over git is not served; the pipeline writes through the REST API\n");
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      GIT_PROJECT_ROOT: gitDir,
      GIT_HTTP_EXPORT_ALL: "1",
      PATH_INFO: `/${service}`,
      QUERY_STRING: url.search.slice(1),
      REQUEST_METHOD: req.method ?? "GET",
      CONTENT_TYPE: req.headers["content-type"] ?? "",
      CONTENT_LENGTH: String(body.length),
      REMOTE_ADDR: "127.0.0.1",
      ...(req.headers["content-encoding"] ? { HTTP_CONTENT_ENCODING: String(req.headers["content-encoding"]) } : {}),
      ...(req.headers["git-protocol"] ? { GIT_PROTOCOL: String(req.headers["git-protocol"]) } : {}),
    };
    const child = spawn("git", ["http-backend"], { env, stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    child.on("error", (e) => {
      res.writeHead(500, { "content-type": "text/plain" }).end(`git http-backend: ${e.message}\n`);
      resolve();
    });
    child.on("close", () => {
      const all = Buffer.concat(out);
      const split = all.indexOf("\r\n\r\n");
      if (split < 0) {
        res.writeHead(500, { "content-type": "text/plain" }).end(`git http-backend gave no CGI header: ${Buffer.concat(err).toString()}\n`);
        return resolve();
      }
      let status = 200;
      const headers: Record<string, string> = {};
      for (const line of all.subarray(0, split).toString("latin1").split("\r\n")) {
        const i = line.indexOf(":");
        if (i < 0) continue;
        const k = line.slice(0, i).trim();
        const v = line.slice(i + 1).trim();
        if (k.toLowerCase() === "status") status = Number(v.split(" ")[0]);
        else headers[k] = v;
      }
      res.writeHead(status, headers).end(all.subarray(split + 4));
      resolve();
    });
    // git http-backend reads only what it needs (nothing for info/refs) and may exit first.
    child.stdin.on("error", () => undefined);
    child.stdin.end(body);
  });
}
