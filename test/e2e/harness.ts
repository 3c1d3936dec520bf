/**
 * The parts the end-to-end run starts and must take down again: child
 * processes (the registry, buildkitd, act), HTTP servers on 127.0.0.1 (the
 * upstream's git, the webhook sink), temporary directories, and the few
 * system directories containers/image creates on its own (its blob-info
 * cache). Everything registers a cleanup when it is created;
 * `Cleanup.run()` undoes them newest first and is called from `finally` and
 * from SIGINT/SIGTERM, so a failed or interrupted run leaves nothing behind.
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";

export class E2eFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = "E2eFailure";
  }
}

export function fail(message: string): never {
  throw new E2eFailure(message);
}

export function check(condition: unknown, message: string): asserts condition {
  if (!condition) fail(message);
}

// ---------------------------------------------------------------- cleanup

type Undo = { what: string; run: () => void | Promise<void> };

/**
 * Numbered steps for an e2e's output: each prints its title, then its result
 * (or its failure) indented under it, and how long it took. `failed()` names
 * the step that failed, for the run's last lines.
 */
export function stepper(out: (line: string) => void): { step: <T>(title: string, fn: () => Promise<[T, string]>) => Promise<T>; failed: () => string | undefined } {
  let n = 0;
  let failed: string | undefined;
  const step = async <T>(title: string, fn: () => Promise<[T, string]>): Promise<T> => {
    n++;
    out(`[${String(n).padStart(2)}] ${title}`);
    const t0 = Date.now();
    try {
      const [value, result] = await fn();
      for (const l of result.split("\n")) out(`     ${l}`);
      out(`     (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
      return value;
    } catch (e) {
      failed = `[${n}] ${title}`;
      out(`     FAILED: ${(e as Error).message}`);
      throw e instanceof E2eFailure ? e : new E2eFailure(`${title}: ${(e as Error).message}`);
    }
  };
  return { step, failed: () => failed };
}

/**
 * The end of an e2e run: act's logs kept next to the checkout when it failed
 * (its folder is removed), everything it started stopped and removed, and
 * the verdict printed, then `last` (the coverage file) when it passed.
 * Returns the exit code.
 */
/**
 * An e2e run from start to end: `body` under a cleanup that SIGINT and
 * SIGTERM also run (once, saying what they could not undo), then finishRun
 * with what `report` gives once the body is done. Its last line is what the
 * body returned (the coverage file).
 */
export async function runE2e(
  out: (line: string) => void,
  intro: string,
  body: (cleanup: Cleanup) => Promise<string>,
  report: () => { readonly label: string; readonly failedStep?: string; readonly actLogs?: string; readonly keptLogs: string },
): Promise<number> {
  const started = Date.now();
  const cleanup = new Cleanup();
  let interrupted: string | undefined;
  const onSignal = (sig: NodeJS.Signals) => {
    if (interrupted) return;
    interrupted = sig;
    out(`\n${sig}: stopping and removing everything this run started`);
    void cleanup.run(out).then((problems) => {
      for (const p of problems) out(`  NOT CLEANED: ${p}`);
      process.exit(sig === "SIGINT" ? 130 : 143);
    });
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  out(intro);
  let failure: Error | undefined;
  let last: string | undefined;
  try {
    last = await body(cleanup);
  } catch (e) {
    failure = e as Error;
  }
  if (interrupted) return 1;
  return finishRun(out, cleanup, { ...report(), started, failure, last });
}

/** An e2e script's command line: `--help` prints its usage, it takes no option, else `main` runs and sets the exit code. */
export function e2eCommand(name: string, usage: string, main: () => Promise<number>): void {
  const argv = process.argv.slice(2);
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(usage);
  } else if (argv.length > 0) {
    process.stderr.write(`${name}: unknown option ${JSON.stringify(argv[0])}\n\n${usage}`);
    process.exitCode = 2;
  } else {
    main().then(
      (code) => {
        process.exitCode = code;
      },
      (e) => {
        process.stderr.write(`${(e as Error).stack ?? e}\n`);
        process.exitCode = 1;
      },
    );
  }
}

async function finishRun(
  out: (line: string) => void,
  cleanup: Cleanup,
  r: { readonly label: string; readonly started: number; readonly failure?: Error; readonly failedStep?: string; readonly actLogs?: string; readonly keptLogs: string; readonly last?: string },
): Promise<number> {
  if (r.failure && r.actLogs && fs.existsSync(r.actLogs)) {
    fs.rmSync(r.keptLogs, { recursive: true, force: true });
    fs.cpSync(r.actLogs, r.keptLogs, { recursive: true });
    out(`\nact's logs of this run: ${r.keptLogs}`);
  }
  out("\n== cleanup ==");
  const problems = await cleanup.run(out);
  for (const p of problems) out(`  NOT CLEANED: ${p}`);
  const seconds = ((Date.now() - r.started) / 1000).toFixed(1);
  if (r.failure) {
    if (r.failedStep) out(`\n${r.label} FAILED after ${seconds}s at step ${r.failedStep} (the reason is printed under it)`);
    else out(`\n${r.label} FAILED after ${seconds}s: ${r.failure instanceof E2eFailure ? r.failure.message : r.failure.stack}`);
    return 1;
  }
  if (problems.length > 0) {
    out(`\n${r.label} FAILED after ${seconds}s: the run passed but left things behind`);
    return 1;
  }
  out(`\n${r.label} PASSED in ${seconds}s`);
  if (r.last) out(r.last);
  return 0;
}

export class Cleanup {
  private readonly undo: Undo[] = [];
  private done = false;
  readonly children = new Set<ChildProcess>();

  add(what: string, run: () => void | Promise<void>): void {
    this.undo.push({ what, run });
  }

  /**
   * A server this run started (registry, buildkitd, moto): stopped in its
   * turn with SIGTERM, SIGKILL after `killAfterMs`, and checked gone.
   */
  daemon(child: ChildProcess, what: string, killAfterMs = 5_000): void {
    this.children.add(child);
    const exited = new Promise<void>((res) => child.once("exit", () => res()));
    this.add(what, async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      const killer = setTimeout(() => child.kill("SIGKILL"), killAfterMs);
      await exited;
      clearTimeout(killer);
      this.children.delete(child);
      if (isAlive(child.pid!)) throw new Error(`pid ${child.pid} is still running`);
    });
  }

  /** Newest first; one failing undo does not stop the others. Returns what could not be undone. */
  async run(log: (line: string) => void): Promise<string[]> {
    if (this.done) return [];
    this.done = true;
    const problems: string[] = [];
    // Stop running tools before their directories go: SIGTERM, then SIGKILL after 5 s.
    const running = [...this.children].filter((c) => c.exitCode === null && c.signalCode === null);
    await Promise.all(
      running.map(
        (c) =>
          new Promise<void>((resolve) => {
            const killer = setTimeout(() => c.kill("SIGKILL"), 5_000);
            const giveUp = setTimeout(resolve, 6_000);
            c.once("exit", () => {
              clearTimeout(killer);
              clearTimeout(giveUp);
              resolve();
            });
            c.kill("SIGTERM");
          }),
      ),
    );
    while (this.undo.length > 0) {
      const u = this.undo.pop()!;
      try {
        await u.run();
        log(`  cleaned: ${u.what}`);
      } catch (e) {
        problems.push(`${u.what}: ${(e as Error).message}`);
      }
    }
    return problems;
  }
}

/**
 * Directories that skopeo creates outside anything we give it
 * (containers/image writes its blob-info cache to /var/lib/containers/cache
 * for root and has no flag to move it). Whatever of these did not exist
 * before the run is removed after it.
 */
export function toolSideEffectDirs(): string[] {
  if (process.getuid?.() === 0) return ["/var/lib/containers", "/run/containers"];
  const home = os.homedir();
  const runtime = process.env.XDG_RUNTIME_DIR;
  return [path.join(home, ".local/share/containers"), ...(runtime ? [path.join(runtime, "containers")] : [])];
}

export function removeCreatedLater(cleanup: Cleanup, dirs: readonly string[]): void {
  const absent = dirs.filter((d) => !fs.existsSync(d));
  cleanup.add(`tool directories created by this run (${absent.join(", ") || "none"})`, () => {
    for (const d of absent) fs.rmSync(d, { recursive: true, force: true });
  });
}

export function tempDir(cleanup: Cleanup, prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  cleanup.add(`directory ${dir}`, () => {
    // A build interrupted half-way could leave a mount below buildkitd's root; unmounting is its job, but check.
    const mounts = fs.readFileSync("/proc/self/mounts", "utf8").split("\n").map((l) => l.split(" ")[1]).filter((m) => m && m.startsWith(dir));
    if (mounts.length > 0) throw new Error(`still mounted below ${dir}: ${mounts.join(", ")}; not removed`);
    fs.rmSync(dir, { recursive: true, force: true });
    if (fs.existsSync(dir)) throw new Error(`${dir} still exists`);
  });
  return dir;
}

// ---------------------------------------------------------------- processes

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly timeoutMs?: number;
}

/** Runs a program (no shell) to completion; never throws on a non-zero exit, only when it cannot start. */
export function run(cleanup: Cleanup, file: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, [...args], { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ["ignore", "pipe", "pipe"] });
    cleanup.children.add(child);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on("data", (b: Buffer) => out.push(b));
    child.stderr!.on("data", (b: Buffer) => err.push(b));
    const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 10 * 60_000);
    child.on("error", (e) => {
      clearTimeout(timer);
      cleanup.children.delete(child);
      reject(new E2eFailure(`cannot run ${file}: ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "not installed (not on PATH)" : e.message}`));
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      cleanup.children.delete(child);
      resolve({ code: code ?? (signal ? 128 : 1), stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8") });
    });
  });
}

/** Like run, but a non-zero exit is a failure that quotes the tool's stderr. */
export async function must(cleanup: Cleanup, what: string, file: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const r = await run(cleanup, file, args, opts);
  if (r.code !== 0) fail(`${what} failed (${file} exit ${r.code}): ${lastLines(r.stderr || r.stdout, 12)}`);
  return r;
}

export function lastLines(text: string, n: number): string {
  return text.trim().split("\n").slice(-n).join("\n    ");
}

/** A PATH lookup, so a missing tool is named before anything starts. */
export function which(tool: string, envPath = process.env.PATH ?? ""): string | undefined {
  for (const dir of envPath.split(":")) {
    if (!dir) continue;
    const f = path.join(dir, tool);
    try {
      fs.accessSync(f, fs.constants.X_OK);
      if (fs.statSync(f).isFile()) return f;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * True when the ELF file has no program interpreter (PT_INTERP), i.e. runs
 * in an empty FROM scratch image. Debian's `busybox` package also installs
 * /bin/busybox, dynamically linked; only `busybox-static` works here.
 */
export function isStaticElf(file: string): boolean {
  const b = fs.readFileSync(file);
  if (b.readUInt32BE(0) !== 0x7f454c46) return false;
  const is64 = b[4] === 2;
  const le = b[5] === 1;
  const u16 = (o: number) => (le ? b.readUInt16LE(o) : b.readUInt16BE(o));
  const u32 = (o: number) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const phoff = is64 ? Number(le ? b.readBigUInt64LE(32) : b.readBigUInt64BE(32)) : u32(28);
  const phentsize = u16(is64 ? 54 : 42);
  const phnum = u16(is64 ? 56 : 44);
  for (let i = 0; i < phnum; i++) if (u32(phoff + i * phentsize) === 3) return false;
  return true;
}

// ---------------------------------------------------------------- the registry

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

export interface HttpResult {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
}

/** The CA the e2e's registry certificate is signed by (see makeTls), for https requests. */
let trustedCa: string | undefined;

export function httpRequest(url: string, opts: { method?: string; headers?: Record<string, string> } = {}): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const client = url.startsWith("https:") ? https : http;
    const req = client.request(url, { method: opts.method ?? "GET", headers: opts.headers, timeout: 10_000, ...(url.startsWith("https:") && trustedCa ? { ca: trustedCa } : {}) }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on("timeout", () => req.destroy(new Error(`timeout on ${url}`)));
    req.on("error", reject);
    req.end();
  });
}

export interface Tls {
  /** PEM of the CA: what a client trusts (SSL_CERT_FILE for Go programs). */
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
}

/**
 * A CA of this run and a server certificate for 127.0.0.1 signed by it
 * (openssl): the registry speaks HTTPS as GHCR does, so the workflow's own
 * commands (skopeo, cosign) verify TLS as on GitHub, trusting this CA
 * through SSL_CERT_FILE, which Go's crypto/x509 reads on Linux.
 */
export async function makeTls(cleanup: Cleanup, dir: string): Promise<Tls> {
  fs.mkdirSync(dir, { recursive: true });
  const f = (n: string) => path.join(dir, n);
  const ossl = (args: string[]) => must(cleanup, `openssl ${args[0]}`, "openssl", args, { env: { PATH: process.env.PATH } });
  await ossl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", f("ca.key"), "-out", f("ca.pem"), "-days", "2", "-subj", "/CN=mirror-fleet e2e CA"]);
  await ossl(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", f("server.key"), "-out", f("server.csr"), "-subj", "/CN=127.0.0.1"]);
  fs.writeFileSync(f("server.ext"), "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n");
  await ossl(["x509", "-req", "-in", f("server.csr"), "-CA", f("ca.pem"), "-CAkey", f("ca.key"), "-CAcreateserial", "-days", "2", "-extfile", f("server.ext"), "-out", f("server.pem")]);
  trustedCa = fs.readFileSync(f("ca.pem"), "utf8");
  return { caFile: f("ca.pem"), certFile: f("server.pem"), keyFile: f("server.key") };
}

export interface Registry {
  /** `127.0.0.1:<port>` */
  readonly host: string;
  /** `https://127.0.0.1:<port>` with TLS, else `http://…` */
  readonly url: string;
  readonly storage: string;
  readonly pid: number;
}

/**
 * Debian's `docker-registry` (distribution v2) with its own config: storage
 * in a directory of this run, listening on a free port of 127.0.0.1 only,
 * over HTTPS with the run's certificate when given one. The system service, if any, is not touched.
 */
export async function startRegistry(cleanup: Cleanup, dir: string, tls?: Tls): Promise<Registry> {
  const bin = which("docker-registry") ?? fail("docker-registry is not installed (apt-get install docker-registry)");
  const storage = path.join(dir, "storage");
  fs.mkdirSync(storage, { recursive: true });
  for (let attempt = 1; attempt <= 3; attempt++) {
    const port = await freePort();
    const host = `127.0.0.1:${port}`;
    const config = path.join(dir, "config.yml");
    fs.writeFileSync(
      config,
      [
        "version: 0.1",
        "log:",
        "  level: warn",
        "  accesslog:",
        "    disabled: true",
        "storage:",
        "  filesystem:",
        `    rootdirectory: ${storage}`,
        "  delete:",
        "    enabled: false",
        "http:",
        `  addr: ${host}`,
        // A fixed secret keeps the registry from warning that it made one up.
        "  secret: mirror-fleet-e2e",
        ...(tls ? ["  tls:", `    certificate: ${tls.certFile}`, `    key: ${tls.keyFile}`] : []),
        "",
      ].join("\n"),
    );
    const logFile = path.join(dir, "registry.log");
    const logFd = fs.openSync(logFile, "w");
    const child = spawn(bin, ["serve", config], { stdio: ["ignore", logFd, logFd], env: { PATH: process.env.PATH } });
    fs.closeSync(logFd);
    cleanup.daemon(child, `docker-registry pid ${child.pid} on ${host}`);
    // Bounded wait for /v2/ to answer: 100 tries, 100 ms apart.
    for (let i = 0; i < 100; i++) {
      if (child.exitCode !== null) break;
      try {
        const url = `${tls ? "https" : "http"}://${host}`;
        const r = await httpRequest(`${url}/v2/`);
        if (r.status === 200) return { host, url, storage, pid: child.pid! };
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    const log = fs.readFileSync(logFile, "utf8");
    if (child.exitCode === null) child.kill("SIGKILL");
    if (!/address already in use/.test(log)) fail(`docker-registry did not come up on ${host}: ${lastLines(log, 8)}`);
  }
  return fail("docker-registry: no free port after 3 attempts");
}

/** Tags of a repository in the registry ([] when it has none: distribution answers NAME_UNKNOWN). */
export async function registryTags(reg: Registry, name: string): Promise<string[]> {
  const r = await httpRequest(`${reg.url}/v2/${name}/tags/list`);
  if (r.status === 404) return [];
  check(r.status === 200, `registry tags/list for ${name}: HTTP ${r.status} ${r.body.toString()}`);
  return (JSON.parse(r.body.toString()) as { tags: string[] | null }).tags ?? [];
}

const MANIFEST_ACCEPT = [
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
  "application/vnd.docker.distribution.manifest.v2+json",
].join(", ");

/** The registry's own answer for a tag or digest: Docker-Content-Digest and the body bytes, or undefined on 404. */
export async function registryManifest(reg: Registry, name: string, reference: string): Promise<HttpResult | undefined> {
  const r = await httpRequest(`${reg.url}/v2/${name}/manifests/${reference}`, { headers: { Accept: MANIFEST_ACCEPT } });
  if (r.status === 404) return undefined;
  check(r.status === 200, `registry manifests/${reference} for ${name}: HTTP ${r.status} ${r.body.toString()}`);
  return r;
}

/** Every repository in the registry, with its tags: the state the second run must leave unchanged. */
export async function registrySnapshot(reg: Registry): Promise<Record<string, string[]>> {
  const r = await httpRequest(`${reg.url}/v2/_catalog`);
  check(r.status === 200, `registry _catalog: HTTP ${r.status}`);
  const out: Record<string, string[]> = {};
  for (const name of (JSON.parse(r.body.toString()) as { repositories: string[] }).repositories ?? []) {
    out[name] = (await registryTags(reg, name)).sort();
  }
  return out;
}

// ---------------------------------------------------------------- buildkitd

export interface BuildKit {
  /** `unix:///…/buildkitd.sock`: the buildx remote driver's endpoint. */
  readonly address: string;
  readonly platforms: string;
}

/**
 * buildkitd (built from its module) as root: the OCI worker with Debian's
 * runc and the native snapshotter (no overlay mounts to leak), its root and
 * socket in this run's folder. Waits until `buildctl debug workers` answers.
 */
export async function startBuildkit(cleanup: Cleanup, dir: string, buildkitd: string, buildctl: string): Promise<BuildKit> {
  fs.mkdirSync(dir, { recursive: true });
  const address = `unix://${path.join(dir, "buildkitd.sock")}`;
  const logFile = path.join(dir, "buildkitd.log");
  const logFd = fs.openSync(logFile, "w");
  const child = spawn(buildkitd, ["--root", path.join(dir, "root"), "--addr", address, "--containerd-worker=false", "--oci-worker=true", "--oci-worker-snapshotter=native", "--oci-worker-binary=runc"], {
    stdio: ["ignore", logFd, logFd],
    env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin" },
  });
  fs.closeSync(logFd);
  cleanup.daemon(child, `buildkitd pid ${child.pid} on ${address}`, 10_000);
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) break;
    const r = await run(cleanup, buildctl, ["--addr", address, "debug", "workers"], { timeoutMs: 5_000 });
    if (r.code === 0 && r.stdout.includes("linux/amd64")) return { address, platforms: r.stdout.trim().split("\n").slice(1).map((l) => l.split(/\s+/)[1]).join(",") };
    await new Promise((res) => setTimeout(res, 200));
  }
  return fail(`buildkitd did not come up on ${address}: ${lastLines(fs.readFileSync(logFile, "utf8"), 10)}`);
}

// ---------------------------------------------------------------- HTTP servers of the run

export interface LocalServer {
  readonly url: string;
}

/** An HTTP server on a free port of 127.0.0.1, closed by the cleanup. */
export async function startHttp(cleanup: Cleanup, what: string, handler: (req: http.IncomingMessage, res: http.ServerResponse, body: Buffer) => void | Promise<void>): Promise<LocalServer> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      void Promise.resolve(handler(req, res, Buffer.concat(chunks))).catch((e: Error) => {
        if (!res.headersSent) res.writeHead(500).end(e.message);
      });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  cleanup.add(`${what} on ${url}`, () => new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  }));
  return { url };
}
