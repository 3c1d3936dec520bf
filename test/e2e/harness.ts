/**
 * The parts the end-to-end run starts and must take down again: child
 * processes (the registry), temporary directories, the buildah store, and the
 * few system directories containers/image creates on its own (its blob-info
 * cache, buildah's network config dir). Everything registers a cleanup when it
 * is created; `Cleanup.run()` undoes them newest first and is called from
 * `finally` and from SIGINT/SIGTERM, so a failed or interrupted run leaves
 * nothing behind.
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
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

export class Cleanup {
  private readonly undo: Undo[] = [];
  private done = false;
  readonly children = new Set<ChildProcess>();

  add(what: string, run: () => void | Promise<void>): void {
    this.undo.push({ what, run });
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
 * Directories that buildah and skopeo create outside any --root we give them
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
    // A build interrupted half-way could leave a mount below the store; unmounting is buildah's job, but check.
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

export function httpRequest(url: string, opts: { method?: string; headers?: Record<string, string> } = {}): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: opts.method ?? "GET", headers: opts.headers, timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on("timeout", () => req.destroy(new Error(`timeout on ${url}`)));
    req.on("error", reject);
    req.end();
  });
}

export interface Registry {
  /** `127.0.0.1:<port>` */
  readonly host: string;
  readonly storage: string;
  readonly pid: number;
}

/**
 * Debian's `docker-registry` (distribution v2) with its own config: storage
 * in a directory of this run, listening on a free port of 127.0.0.1 only.
 * The system service, if any, is not touched.
 */
export async function startRegistry(cleanup: Cleanup, dir: string): Promise<Registry> {
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
        "",
      ].join("\n"),
    );
    const logFile = path.join(dir, "registry.log");
    const logFd = fs.openSync(logFile, "w");
    const child = spawn(bin, ["serve", config], { stdio: ["ignore", logFd, logFd], env: { PATH: process.env.PATH } });
    fs.closeSync(logFd);
    cleanup.children.add(child);
    const exited = new Promise<void>((res) => child.once("exit", () => res()));
    cleanup.add(`docker-registry pid ${child.pid} on ${host}`, async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      const killer = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await exited;
      clearTimeout(killer);
      cleanup.children.delete(child);
      if (isAlive(child.pid!)) throw new Error(`pid ${child.pid} is still running`);
    });
    // Bounded wait for /v2/ to answer: 100 tries, 100 ms apart.
    for (let i = 0; i < 100; i++) {
      if (child.exitCode !== null) break;
      try {
        const r = await httpRequest(`http://${host}/v2/`);
        if (r.status === 200) return { host, storage, pid: child.pid! };
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
  const r = await httpRequest(`http://${reg.host}/v2/${name}/tags/list`);
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
  const r = await httpRequest(`http://${reg.host}/v2/${name}/manifests/${reference}`, { headers: { Accept: MANIFEST_ACCEPT } });
  if (r.status === 404) return undefined;
  check(r.status === 200, `registry manifests/${reference} for ${name}: HTTP ${r.status} ${r.body.toString()}`);
  return r;
}

/** Every repository in the registry, with its tags: the state the second run must leave unchanged. */
export async function registrySnapshot(reg: Registry): Promise<Record<string, string[]>> {
  const r = await httpRequest(`http://${reg.host}/v2/_catalog`);
  check(r.status === 200, `registry _catalog: HTTP ${r.status}`);
  const out: Record<string, string[]> = {};
  for (const name of (JSON.parse(r.body.toString()) as { repositories: string[] }).repositories ?? []) {
    out[name] = (await registryTags(reg, name)).sort();
  }
  return out;
}

// ---------------------------------------------------------------- buildah

/**
 * buildah with a private store (vfs: no overlay mounts to leak; chroot
 * isolation: no runtime, works as root in a container). The store lives in
 * the run's temp directory and goes with it.
 */
export class Buildah {
  constructor(
    private readonly cleanup: Cleanup,
    readonly root: string,
    readonly runroot: string,
    private readonly tmp: string,
  ) {}

  private args(rest: readonly string[]): string[] {
    return ["--root", this.root, "--runroot", this.runroot, "--storage-driver", "vfs", ...rest];
  }

  private env(): NodeJS.ProcessEnv {
    return { PATH: process.env.PATH, HOME: process.env.HOME, TMPDIR: this.tmp, BUILDAH_ISOLATION: "chroot" };
  }

  /**
   * Builds every platform into one manifest list and writes it as an OCI
   * archive holding the image index; returns buildah's own digest of the
   * index it wrote. Stages that only COPY need no emulation for a foreign
   * platform.
   */
  async buildToArchive(o: {
    platforms: readonly string[];
    dockerfile: string;
    context: string;
    image: string;
    buildArgs: Readonly<Record<string, string>>;
    labels: Readonly<Record<string, string>>;
    /** Seconds since the epoch for every timestamp in the image (SOURCE_DATE_EPOCH). */
    timestamp: number;
    archive: string;
    archiveTag: string;
  }): Promise<{ buildahDigest: string; log: string }> {
    const build = await run(this.cleanup, "buildah", this.args([
      "build", "--isolation", "chroot", "--layers=false", "--timestamp", String(o.timestamp),
      "--platform", o.platforms.join(","), "--manifest", o.image,
      ...Object.entries(o.buildArgs).flatMap(([k, v]) => ["--build-arg", `${k}=${v}`]),
      ...Object.entries(o.labels).flatMap(([k, v]) => ["--label", `${k}=${v}`]),
      "-f", o.dockerfile, o.context,
    ]), { env: this.env() });
    if (build.code !== 0) {
      fail(`buildah build failed (exit ${build.code}); buildah needs root (or user namespaces) and chroot isolation must be allowed in this sandbox:\n    ${lastLines(build.stderr || build.stdout, 12)}`);
    }
    const digestFile = path.join(this.tmp, "buildah.digest");
    await must(this.cleanup, "buildah manifest push to an OCI archive", "buildah",
      this.args(["manifest", "push", "--all", "--quiet", "--format", "oci", "--digestfile", digestFile, o.image, `oci-archive:${o.archive}:${o.archiveTag}`]), { env: this.env() });
    return { buildahDigest: fs.readFileSync(digestFile, "utf8").trim(), log: build.stdout };
  }

  /** How many images the private store holds: the second run must not add one. */
  async imageCount(): Promise<number> {
    if (!fs.existsSync(this.root)) return 0;
    const r = await must(this.cleanup, "buildah images", "buildah", this.args(["images", "--quiet", "--no-trunc"]), { env: this.env() });
    return r.stdout.split("\n").filter((l) => l.trim()).length;
  }
}
