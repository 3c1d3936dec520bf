/**
 * SUBSTITUTE for Pulumi's released Node.js language host
 * (`pulumi-language-nodejs`), which the Go module proxy here refuses to serve.
 * It exists so that the engine scenarios can run the plain CLI (`pulumi
 * preview`, `pulumi up` typed in the project folder) the way a user with
 * Pulumi's own installer does: the CLI starts the host, the host starts the
 * SDK's own loader (`@pulumi/pulumi/cmd/run`), and the loader `require`s the
 * program named by Pulumi.yaml's `main`. `npm run engine:build` bundles it
 * into the tools cache's `bin/pulumi-language-nodejs`; nothing here is used
 * by `npm run preview|up` (inline programs need no host) or by a user, whose
 * CLI ships the released host.
 *
 * What it follows, function by function: pulumi/pulumi
 * `sdk/nodejs/cmd/pulumi-language-nodejs/main.go` (the host of the 3.27x
 * releases, read through the search tool), serving the LanguageRuntime gRPC
 * service with the SDK's own generated stubs (`@pulumi/pulumi/proto`):
 * - `main`: flags `-tracing`, `-runtime` (nodejs only here), `-version`; the
 *   engine address is the first argument; a health check of the engine ends
 *   the host when the engine is gone; the chosen port is printed on stdout.
 * - `Handshake`: records the engine address.
 * - `GetPluginInfo`: the version (the CLI's, as the released host reports).
 * - `GetRequiredPackages` / `getPackagesFromDir` / `getPackageInfo` /
 *   `getPluginName` / `getPluginVersion`: walks the program directory,
 *   following symlinks once, skipping policy packs, and reports every
 *   package.json under a node_modules folder whose `pulumi.resource` is true;
 *   warns on incompatible copies of @pulumi/pulumi (`compatibleVersions`).
 *   `GetRequiredPlugins`: Unimplemented, as in the released host.
 * - `Run` / `execRuntime` / `constructArguments` / `constructConfig` /
 *   `constructConfigSecretKeys` / `parseOptions` / `locateModule`: resolves
 *   `@pulumi/pulumi/cmd/run` from the program directory (or
 *   PULUMI_LANGUAGE_NODEJS_RUN_PATH), and starts `node [nodeargs] <run>
 *   --monitor … --engine … --organization … --project … --root-directory …
 *   --stack … --pwd <program directory> [--dry-run] --parallel N [--tracing …]
 *   <entry point> [args…]` with the environment plus PULUMI_CONFIG (keys as
 *   `<namespace>:config:<name>`), PULUMI_CONFIG_SECRET_KEYS,
 *   PULUMI_NODEJS_TYPESCRIPT=true (unless `typescript: false`) and
 *   PULUMI_NODEJS_TSCONFIG_PATH (the `tsconfig` option), stdout and stderr
 *   passed through; exit code 32 means "already reported" (`bail`), any other
 *   non-zero code is "Program exited with non-zero exit code: N".
 * - `Cancel`: interrupts the running program.
 *
 * Where it differs, and why that does not change what the program does:
 * - The released host puts a gRPC proxy between the loader and the engine's
 *   resource monitor and forwards every call untouched; here `--monitor` is
 *   the engine's own address.
 * - The released host also creates the `--sync` pipes for synchronous
 *   invokes; the 3.27x SDK never opens them (runtime/settings.js
 *   `tryGetSyncInvokes` has no caller), so `--sync` is left out.
 * - Not served (the CLI never calls them for preview, up, refresh or stack
 *   commands, read in pkg/v3 3.276.0): InstallDependencies, About,
 *   GetProgramDependencies, RuntimeOptionsPrompts, Template, RunPlugin,
 *   GenerateProgram/Project/Package, Pack, Link: they answer UNIMPLEMENTED,
 *   naming this substitute. No debugger attach, no OOM message, no bun.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as langrpc from "@pulumi/pulumi/proto/language_grpc_pb";
import * as langproto from "@pulumi/pulumi/proto/language_pb";
import * as plugproto from "@pulumi/pulumi/proto/plugin_pb";
import * as emptyproto from "google-protobuf/google/protobuf/empty_pb";

/** The CLI version this substitute stands beside (tools/versions.sh PULUMI_VERSION), injected by the bundler. */
declare const HOST_VERSION: string;
const VERSION = typeof HOST_VERSION === "string" ? HOST_VERSION : "0.0.0-dev";

/** main.go defaultRunPath */
const DEFAULT_RUN_PATH = "@pulumi/pulumi/cmd/run";
/** main.go nodeJSProcessExitedAfterShowingUserActionableMessage */
const EXITED_AFTER_USER_MESSAGE = 32;
const SUBSTITUTE = "mirror-fleet's substitute for pulumi-language-nodejs (tools/language-host)";

// ---------------------------------------------------------------------------
// parseOptions

interface NodeOptions {
  readonly typescript: boolean;
  readonly tsconfigpath: string;
  readonly nodeargs: string;
}

/** main.go parseOptions (nodejs runtime): typescript defaults to true. */
export function parseOptions(options: Record<string, unknown>): NodeOptions {
  const typescript = options.typescript ?? true;
  if (typeof typescript !== "boolean") throw new Error("typescript option must be a boolean");
  const tsconfig = options.tsconfig ?? "";
  if (typeof tsconfig !== "string") throw new Error("tsconfigpath option must be a string");
  const nodeargs = options.nodeargs ?? "";
  if (typeof nodeargs !== "string") throw new Error("nodeargs option must be a string");
  const pm = options.packagemanager;
  if (pm !== undefined && (typeof pm !== "string" || !["auto", "npm", "yarn", "pnpm", "bun"].includes(pm))) {
    throw new Error(typeof pm === "string" ? `packagemanager option must be one of auto, npm, yarn, pnpm or bun, got "${pm}"` : "packagemanager option must be a string");
  }
  return { typescript, tsconfigpath: tsconfig, nodeargs };
}

/** github.com/google/shlex Split, for `nodeargs`: whitespace-separated words, quotes and backslash escapes. */
export function shlexSplit(s: string): string[] {
  const words: string[] = [];
  let word: string | undefined;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (quote === "'") {
      if (c === "'") quote = undefined;
      else word += c;
    } else if (quote === '"') {
      if (c === '"') quote = undefined;
      else if (c === "\\" && i + 1 < s.length) word += s[++i];
      else word += c;
    } else if (/\s/.test(c)) {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else if (c === "'" || c === '"') {
      quote = c;
      word ??= "";
    } else if (c === "\\" && i + 1 < s.length) {
      word = (word ?? "") + s[++i];
    } else {
      word = (word ?? "") + c;
    }
  }
  if (quote) throw new Error("EOF found when expecting closing quote");
  if (word !== undefined) words.push(word);
  return words;
}

// ---------------------------------------------------------------------------
// GetRequiredPackages

interface PackageJson {
  name?: string;
  version?: string;
  pulumi?: { resource?: boolean; name?: string; version?: string; server?: string; parameterization?: { name?: string; version?: string; value?: string } };
}

interface Found {
  readonly name: string;
  readonly version: string;
  readonly server: string;
  readonly parameterization?: { name: string; version: string; value: Buffer };
}

/** main.go getPluginName: the `pulumi.name`, else the @pulumi/ package's simple name; a third-party package must name its plugin. */
function pluginName(info: PackageJson): string {
  if (info.pulumi?.name) return info.pulumi.name;
  if (!info.name) throw new Error('missing expected "name" property');
  if (info.name.startsWith("@pulumi/")) return info.name.slice("@pulumi/".length);
  throw new Error(`Missing property "name" for the third-party plugin '${info.name}' inside package.json under the "pulumi" section.`);
}

/** main.go getPluginVersion: `pulumi.version`, else the package version, with a leading `v`. */
function pluginVersion(info: PackageJson): string {
  const version = info.pulumi?.version || info.version;
  if (!version) throw new Error('Missing expected "version" property');
  return version.startsWith("v") ? version : `v${version}`;
}

/** main.go getPackagesFromDir: every node_modules package.json with `pulumi.resource`, deeply. */
export function packagesFromDir(dir: string, sdkVersions: Map<string, string>, inNodeModules = false, visited = new Set<string>(), errors: string[] = []): Found[] {
  dir = path.resolve(dir);
  if (visited.has(dir)) return [];
  visited.add(dir);
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch (e) {
    errors.push(`reading plugin dir ${dir}: ${(e as Error).message}`);
    return [];
  }
  const found: Found[] = [];
  for (const entry of entries) {
    let curr = path.join(dir, entry.name);
    let isDir = entry.isDirectory();
    if (entry.isSymbolicLink()) {
      try {
        curr = fs.realpathSync(curr);
        isDir = fs.statSync(curr).isDirectory();
      } catch (e) {
        errors.push(`resolving link in plugin dir ${curr}: ${(e as Error).message}`);
        continue;
      }
    }
    if (isDir) {
      // workspace.DetectPolicyPackPathAt: a policy pack's plugins are not the program's.
      if (fs.existsSync(path.join(curr, "PulumiPolicy.yaml")) || fs.existsSync(path.join(curr, "PulumiPolicy.yml"))) continue;
      found.push(...packagesFromDir(curr, sdkVersions, inNodeModules || path.basename(dir) === "node_modules", visited, errors));
    } else if (inNodeModules && entry.name === "package.json") {
      let info: PackageJson;
      try {
        info = JSON.parse(fs.readFileSync(curr, "utf8")) as PackageJson;
      } catch (e) {
        errors.push(`unmarshaling package.json ${curr}: ${(e as Error).message}`);
        continue;
      }
      if (info.name === "@pulumi/pulumi" && info.version) sdkVersions.set(curr, info.version);
      if (!info.pulumi?.resource) continue;
      try {
        const p = info.pulumi.parameterization;
        found.push({
          name: pluginName(info),
          version: pluginVersion(info),
          server: info.pulumi.server ?? "",
          ...(p ? { parameterization: { name: p.name ?? "", version: p.version ?? "", value: Buffer.from(p.value ?? "", "base64") } } : {}),
        });
      } catch (e) {
        errors.push(`unmarshaling package.json ${curr}: ${(e as Error).message}`);
      }
    }
  }
  return found;
}

/** main.go compatibleVersions, for majors above 2 (the only ones a 3.x program meets). */
function incompatible(a: string, b: string): string | undefined {
  const [ma, mb] = [Number(a.split(".")[0]), Number(b.split(".")[0])];
  return (ma > 2 || mb > 2) && ma !== mb ? "Differing major versions are not supported." : undefined;
}

// ---------------------------------------------------------------------------
// Run

/** main.go constructConfig: `<namespace>:<name>` keys presented as `<namespace>:config:<name>`. */
export function constructConfig(config: Iterable<[string, string]>): string {
  const out: Record<string, string> = {};
  for (const [k, v] of config) {
    const i = k.indexOf(":");
    if (i <= 0) throw new Error(`failed to serialize configuration: could not parse ${k} as a configuration key (configuration keys should be of the form \`<namespace>:<name>\`)`);
    out[`${k.slice(0, i)}:config:${k.slice(i + 1)}`] = v;
  }
  return JSON.stringify(out);
}

/** main.go constructArguments: the loader's command line. `--sync` is left out (see the header). */
export function constructArguments(req: langproto.RunRequest, runPath: string, monitor: string, engine: string, tracing: string): string[] {
  const info = req.getInfo();
  const args = [runPath];
  const maybe = (k: string, v: string | undefined) => void (v ? args.push(`--${k}`, v) : undefined);
  maybe("monitor", monitor);
  maybe("engine", engine);
  maybe("organization", req.getOrganization());
  maybe("project", req.getProject());
  maybe("root-directory", info?.getRootDirectory());
  maybe("stack", req.getStack());
  maybe("pwd", info?.getProgramDirectory());
  if (req.getDryrun()) args.push("--dry-run");
  maybe("parallel", String(req.getParallel()));
  maybe("tracing", tracing);
  args.push(info?.getEntryPoint() ?? ".", ...req.getArgsList());
  return args;
}

/** main.go locateModule: `require.resolve` run by node in the program directory. */
function locateModule(mod: string, programDir: string, nodeBin: string): string {
  const script = `try { console.log(require.resolve(${JSON.stringify(mod)})); } catch (error) { if (error.code === 'MODULE_NOT_FOUND') { console.error("It looks like the Pulumi SDK has not been installed. Have you run pulumi install?") } else { console.error(error.message); } process.exit(1); }`;
  const r = spawnSync(nodeBin, ["-e", script], { cwd: programDir, encoding: "utf8" });
  if (r.status !== 0) throw new Error(r.stderr || String(r.error ?? `node exited with ${r.status}`));
  return r.stdout.trim();
}

/** exec.LookPath */
function lookPath(bin: string): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    const p = path.join(dir || ".", bin);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      if (fs.statSync(p).isFile()) return p;
    } catch {
      /* next */
    }
  }
  return undefined;
}

// ---------------------------------------------------------------------------
// The service

type Unary<Req, Res> = (call: grpc.ServerUnaryCall<Req, Res>, callback: grpc.sendUnaryData<Res>) => void;

class LanguageHost {
  engineAddress: string;
  private readonly running = new Set<ChildProcess>();

  constructor(engineAddress: string, private readonly tracing: string) {
    this.engineAddress = engineAddress;
  }

  handshake: Unary<langproto.LanguageHandshakeRequest, langproto.LanguageHandshakeResponse> = (call, callback) => {
    this.engineAddress = call.request.getEngineAddress();
    watchEngine(this.engineAddress);
    callback(null, new langproto.LanguageHandshakeResponse());
  };

  getPluginInfo: Unary<emptyproto.Empty, plugproto.PluginInfo> = (_call, callback) => {
    callback(null, new plugproto.PluginInfo().setVersion(VERSION));
  };

  getRequiredPlugins: Unary<langproto.GetRequiredPluginsRequest, langproto.GetRequiredPluginsResponse> = (_call, callback) => {
    callback({ code: grpc.status.UNIMPLEMENTED, details: "method GetRequiredPlugins not implemented" });
  };

  getRequiredPackages: Unary<langproto.GetRequiredPackagesRequest, langproto.GetRequiredPackagesResponse> = (call, callback) => {
    const sdkVersions = new Map<string, string>();
    const errors: string[] = [];
    const found = packagesFromDir(call.request.getInfo()?.getProgramDirectory() ?? ".", sdkVersions, false, new Set(), errors);
    const [first, ...rest] = [...sdkVersions];
    for (const [p, v] of rest) {
      const message = incompatible(v, first[1]);
      if (message) {
        process.stderr.write(`Found incompatible versions of @pulumi/pulumi. ${message}\n  Version ${first[1]} referenced at ${first[0]}\n  Version ${v} referenced at ${p}\n`);
        break;
      }
    }
    const packages = found.map((f) => {
      const dep = new plugproto.PackageDependency().setName(f.name).setKind("resource").setVersion(f.version).setServer(f.server);
      if (f.parameterization) dep.setParameterization(new plugproto.PackageParameterization().setName(f.parameterization.name).setVersion(f.parameterization.version).setValue(f.parameterization.value));
      return dep;
    });
    callback(null, new langproto.GetRequiredPackagesResponse().setPackagesList(packages));
  };

  run: Unary<langproto.RunRequest, langproto.RunResponse> = (call, callback) => {
    const req = call.request;
    const respond = (error: string, bail = false) => callback(null, new langproto.RunResponse().setError(error).setBail(bail));
    if (!this.engineAddress) {
      callback({ code: grpc.status.UNKNOWN, details: "when debugging or running explicitly, must call Handshake before Run" });
      return;
    }
    const nodeBin = lookPath("node");
    if (!nodeBin) return respond(`could not find node on the $PATH: exec: "node": executable file not found in $PATH`);
    const info = req.getInfo();
    const programDirectory = info?.getProgramDirectory() ?? process.cwd();
    let runPath: string;
    let opts: NodeOptions;
    let nodeargs: string[];
    let config: string;
    try {
      runPath = locateModule(process.env.PULUMI_LANGUAGE_NODEJS_RUN_PATH || DEFAULT_RUN_PATH, programDirectory, nodeBin);
      config = constructConfig(req.getConfigMap().toArray());
      opts = parseOptions((info?.getOptions()?.toJavaScript() ?? {}) as Record<string, unknown>);
      nodeargs = shlexSplit(opts.nodeargs);
    } catch (e) {
      return respond((e as Error).message);
    }
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PULUMI_CONFIG: config,
      PULUMI_CONFIG_SECRET_KEYS: JSON.stringify(req.getConfigsecretkeysList() ?? []),
      ...(opts.typescript ? { PULUMI_NODEJS_TYPESCRIPT: "true" } : {}),
      ...(opts.tsconfigpath ? { PULUMI_NODEJS_TSCONFIG_PATH: opts.tsconfigpath } : {}),
    };
    const args = [...nodeargs, ...constructArguments(req, runPath, req.getMonitorAddress(), this.engineAddress, this.tracing)];
    // No cwd: the released host's command inherits the host's working
    // directory, which the engine starts in the program directory; the
    // loader then changes to `--pwd` itself.
    const child = spawn(nodeBin, args, { env, stdio: ["ignore", "inherit", "inherit"] });
    this.running.add(child);
    child.on("error", (e) => respond(`Problem executing program (could not run language executor): ${e.message}`));
    child.on("exit", (code, signal) => {
      this.running.delete(child);
      if (code === 0) return respond("");
      if (code === EXITED_AFTER_USER_MESSAGE) return respond("", true);
      respond(code === null ? `Program exited unexpectedly: signal: ${signal}` : `Program exited with non-zero exit code: ${code}`);
    });
  };

  cancel: Unary<emptyproto.Empty, emptyproto.Empty> = (_call, callback) => {
    for (const child of this.running) child.kill("SIGINT");
    callback(null, new emptyproto.Empty());
  };
}

/** rpcutil.Healthcheck: the host ends when the engine no longer answers its health service. */
function watchEngine(address: string): void {
  if (!address || watching) return;
  watching = true;
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  let failures = 0;
  const timer = setInterval(() => {
    // grpc.health.v1.Health/Check with an empty HealthCheckRequest; any answer is life.
    client.makeUnaryRequest(
      "/grpc.health.v1.Health/Check",
      () => Buffer.alloc(0),
      (b: Buffer) => b,
      {},
      { deadline: Date.now() + 5000 },
      (err) => {
        failures = err && err.code === grpc.status.UNAVAILABLE ? failures + 1 : 0;
        if (failures >= 3) {
          clearInterval(timer);
          process.exit(1);
        }
      },
    );
  }, 1000);
  timer.unref();
}
let watching = false;

function unimplemented(name: string): Unary<unknown, unknown> {
  return (_call, callback) => callback({ code: grpc.status.UNIMPLEMENTED, details: `${name} is not served by ${SUBSTITUTE}` });
}

/** Go's flag package: `-name value`, `-name=value`, `--name…`; flags stop at the first argument that is not one. */
function parseFlags(argv: readonly string[]): { flags: Record<string, string | true>; args: string[] } {
  const flags: Record<string, string | true> = {};
  let i = 0;
  for (; i < argv.length; i++) {
    const m = /^--?([^=]+)(?:=(.*))?$/.exec(argv[i]);
    if (!m || argv[i] === "-" || argv[i] === "--") {
      if (argv[i] === "--") i++;
      break;
    }
    if (m[2] !== undefined) flags[m[1]] = m[2];
    else if (m[1] === "version") flags[m[1]] = true;
    else flags[m[1]] = argv[++i] ?? "";
  }
  return { flags, args: argv.slice(i) };
}

export function main(argv: readonly string[]): void {
  const { flags, args } = parseFlags(argv);
  if (flags.version) {
    process.stdout.write(`${VERSION}\n`);
    return;
  }
  const runtime = flags.runtime ?? "nodejs";
  if (runtime !== "nodejs") {
    process.stderr.write(`error: unsupported runtime: ${runtime} (${SUBSTITUTE} runs nodejs only)\n`);
    process.exit(1);
  }
  const host = new LanguageHost(args[0] ?? "", typeof flags.tracing === "string" ? flags.tracing : "");
  watchEngine(host.engineAddress);
  const server = new grpc.Server({ "grpc.max_receive_message_length": 400 * 1024 * 1024 });
  const implemented = {
    handshake: host.handshake,
    getPluginInfo: host.getPluginInfo,
    getRequiredPlugins: host.getRequiredPlugins,
    getRequiredPackages: host.getRequiredPackages,
    run: host.run,
    cancel: host.cancel,
  };
  // Streaming methods left out get grpc-js's own UNIMPLEMENTED answer.
  const service: Record<string, unknown> = {};
  for (const [name, method] of Object.entries(langrpc.LanguageRuntimeService as unknown as Record<string, grpc.MethodDefinition<unknown, unknown>>)) {
    const own = implemented[name as keyof typeof implemented];
    if (own) service[name] = own;
    else if (!method.requestStream && !method.responseStream) service[name] = unimplemented(name);
  }
  server.addService(langrpc.LanguageRuntimeService, service as grpc.UntypedServiceImplementation);
  server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, port) => {
    if (err) {
      process.stderr.write(`error: could not start language host RPC server: ${err.message}\n`);
      process.exit(1);
    }
    process.stdout.write(`${port}\n`);
  });
  process.on("SIGINT", () => server.tryShutdown(() => process.exit(0)));
}

