/**
 * Override presets: Dockerfile text from a few fields, so that a mirror entry
 * says *what* it builds (`override: { preset: goStaticDistroless({...}) }`)
 * and the fleet decides *how*. Every FROM names a base of the one base-image
 * table (infra/base-images.ts) by its key, `FROM {{base.goBuilder}}`; the
 * table is passed in with the policy (policy.baseImages) and spec.ts puts
 * the pinned reference in its place (`withBaseImages`). A Renovate PR that
 * moves a digest there moves every mirror that uses a preset, and `pulumi
 * up` rolls it out.
 *
 * Pure: fields in, text out. Bad fields throw one Error listing every
 * problem, naming the preset and the field, when the entry is loaded.
 */
import { RUNTIME_STAGE_MARKER } from "../contract";
import { BASE_IMAGES, type BaseImage, type BaseImageTable, type PresetDockerfile } from "./types";

export type { BaseImage };

/** How a preset names a base of the table in its text: replaced by withBaseImages. */
export function baseImageRef(key: BaseImage): string {
  return `{{base.${key}}}`;
}

/**
 * A preset's text with every `{{base.<key>}}` replaced by the table's pinned
 * reference; a key the table lacks is a problem (the text keeps it, and the
 * pin check then refuses the FROM line too).
 */
export function withBaseImages(text: string, table: BaseImageTable): { text: string; problems: string[] } {
  const problems: string[] = [];
  const out = text.replace(/\{\{base\.([A-Za-z0-9]+)\}\}/g, (ref, key: string) => {
    const pinned = (table as Readonly<Record<string, string>>)[key];
    if (pinned === undefined) problems.push(`base image ${key} is not in policy.baseImages (allowed: ${Object.keys(table).join(", ")} from infra/base-images.ts)`);
    return pinned ?? ref;
  });
  return { text: out, problems };
}

/** The distroless `nonroot` user. Fixed, so volumes can be created owned by it. */
export const NONROOT = "65532:65532";

/** Thrown for bad preset fields; the message lists every problem. */
export class PresetError extends Error {
  constructor(readonly preset: string, readonly problems: readonly string[]) {
    super(`${preset}: ${problems.length} problem${problems.length === 1 ? "" : "s"}:\n${problems.map((p) => `  - ${preset}: ${p}`).join("\n")}`);
    this.name = "PresetError";
  }
}

// Every field ends up inside a Dockerfile instruction or a shell command, so
// each pattern also keeps out quotes, `$`, `#`, backslashes and whitespace.
const GO_MODULE = /^[a-z0-9.-]+\.[a-z]{2,}(?:\/[A-Za-z0-9._~-]+)+$/;
const GO_PKG = /^\.(?:\/[A-Za-z0-9._-]+)*$/;
const BINARY = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const ABS_DIR = /^(?:\/[A-Za-z0-9._-]+)+$/;
const SPDX = /^[A-Za-z0-9.+-]+(?: (?:AND|OR|WITH) [A-Za-z0-9.+-]+)*$/;
/** `-X` target: an import path (with `{module}`) and a variable name. */
const X_KEY = /^(?:\{module\}|main|[a-z0-9.-]+\.[a-z]{2,})(?:\/[A-Za-z0-9._~-]+)*\.[A-Za-z_][A-Za-z0-9_]*$/;
/** `-X` value: plain characters, plus the literal `${VERSION}` (the upstream tag, checked by the pipeline). */
const X_VALUE = /^(?:[A-Za-z0-9 ._:/+@=,-]|\$\{VERSION\})*$/;
const STAGE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
const ARG_WORD = /^[A-Za-z0-9._:/=@+,-]+$/;

function ports(p: string[], v: number | readonly number[] | undefined): number[] {
  const list = v === undefined ? [] : typeof v === "number" ? [v] : [...v];
  for (const n of list) {
    if (!Number.isInteger(n) || n < 1 || n > 65535) p.push(`port: ${JSON.stringify(n)} is not allowed (allowed: a TCP port from 1 to 65535)`);
  }
  return list;
}

function dirs(p: string[], field: string, v: readonly string[] | undefined, under?: string): string[] {
  for (const d of v ?? []) {
    if (!ABS_DIR.test(d)) p.push(`${field}: ${JSON.stringify(d)} is not allowed (allowed: an absolute directory such as /app/data, letters, digits and . _ -)`);
    else if (under && !d.startsWith(`${under}/`)) p.push(`${field}: ${JSON.stringify(d)} is not allowed (allowed: a directory under ${under}, which is created owned by the nonroot user)`);
  }
  return [...(v ?? [])];
}

function license(p: string[], v: string | undefined): void {
  if (v !== undefined && !SPDX.test(v)) p.push(`license: ${JSON.stringify(v)} is not allowed (allowed: an SPDX expression such as AGPL-3.0-only)`);
}

function base(p: string[], field: string, v: string | undefined, fallback: BaseImage): string {
  const key = v ?? fallback;
  if (!(BASE_IMAGES as readonly string[]).includes(key)) {
    p.push(`${field}: ${JSON.stringify(v)} is not allowed (allowed: ${BASE_IMAGES.join(", ")} from infra/base-images.ts)`);
    return baseImageRef(fallback);
  }
  return baseImageRef(key as BaseImage);
}

function execForm(args: readonly string[]): string {
  return `[${args.map((a) => JSON.stringify(a)).join(", ")}]`;
}

/**
 * The runtime stage's tail, shared by both presets: labels, volumes, user,
 * ports, entrypoint. `oneLine` avoids `\` continuations, for text appended to
 * an upstream Dockerfile that may declare another escape character.
 */
function runtimeTail(
  o: { license?: string; volumes: string[]; ports: number[]; entrypoint: readonly string[]; cmd?: readonly string[]; oneLine?: boolean },
  afterCopy: string[],
): string[] {
  const lines = ["ARG VERSION"];
  const labels = [`org.opencontainers.image.version="\${VERSION}"`, ...(o.license ? [`org.opencontainers.image.licenses="${o.license}"`] : [])];
  lines.push(`LABEL ${labels.join(o.oneLine ? " " : " \\\n      ")}`);
  lines.push(...afterCopy);
  if (o.volumes.length) lines.push(`VOLUME ${execForm(o.volumes)}`);
  lines.push(`USER ${NONROOT}`);
  for (const port of o.ports) lines.push(`EXPOSE ${port}`);
  lines.push(`ENTRYPOINT ${execForm(o.entrypoint)}`);
  if (o.cmd && o.cmd.length) lines.push(`CMD ${execForm(o.cmd)}`);
  return lines;
}

export interface GoStaticDistrolessOptions {
  /** Module path exactly as upstream's go.mod declares it, e.g. `github.com/forceu/gokapi`. */
  readonly module: string;
  /** Main package to build, relative to the module root, e.g. `./cmd/gokapi`. */
  readonly pkg: string;
  /**
   * The major version of upstream's release tags when go.mod lacks the `/vN`
   * suffix Go requires for v2+ modules. The build then rewrites the module
   * path (and its imports) to `<module>/vN` and moves the tag onto that
   * commit, so the binary carries the real version instead of a
   * pseudo-version that scanners match against every old advisory.
   * @default no rewrite
   */
  readonly modulePathMajor?: number;
  /**
   * `-X` linker assignments, `importpath.name` -> value. `{module}` in a key
   * stands for the module path after the rewrite; a value may contain
   * `${VERSION}` (the upstream tag). `-s -w` are always set.
   * @default {}
   */
  readonly ldflags?: Readonly<Record<string, string>>;
  /** Binary name, installed as `/app/<binary>`. @default the last element of pkg */
  readonly binary?: string;
  /** Run `go generate ./...` before building (embedded assets). @default false */
  readonly generate?: boolean;
  /** TCP port(s) the service listens on (EXPOSE). @default none */
  readonly port?: number | readonly number[];
  /** Directories under /app declared as volumes, created owned by the nonroot user. @default none */
  readonly volumes?: readonly string[];
  /** SPDX license of the upstream, recorded as an OCI label. @default no label */
  readonly license?: string;
  /** Arguments after the entrypoint (CMD). @default none */
  readonly args?: readonly string[];
  /** Builder image from infra/base-images.ts. @default "goBuilder" */
  readonly builder?: BaseImage;
  /** Runtime image from infra/base-images.ts. @default "distrolessStaticNonroot" */
  readonly runtime?: BaseImage;
}

/**
 * A static Go binary (CGO off, `-trimpath`, stripped) on distroless
 * `static:nonroot`: no shell, no package manager, nothing but the binary and
 * CA certificates at run time. The mirror's worked example (Gokapi) is this
 * preset with `modulePathMajor: 2`.
 */
export function goStaticDistroless(o: GoStaticDistrolessOptions): PresetDockerfile {
  const name = "goStaticDistroless";
  const p: string[] = [];
  if (typeof o.module !== "string" || !GO_MODULE.test(o.module)) {
    p.push(`module: ${JSON.stringify(o.module)} is not allowed (allowed: a Go module path such as github.com/forceu/gokapi)`);
  } else if (o.modulePathMajor !== undefined && /\/v\d+$/.test(o.module)) {
    p.push(`modulePathMajor: ${o.modulePathMajor} is set but module ${JSON.stringify(o.module)} already ends in /vN (allowed: remove modulePathMajor)`);
  }
  if (typeof o.pkg !== "string" || !GO_PKG.test(o.pkg)) p.push(`pkg: ${JSON.stringify(o.pkg)} is not allowed (allowed: a package path relative to the module root, such as ./cmd/gokapi or .)`);
  if (o.modulePathMajor !== undefined && (!Number.isInteger(o.modulePathMajor) || o.modulePathMajor < 2 || o.modulePathMajor > 99)) {
    p.push(`modulePathMajor: ${JSON.stringify(o.modulePathMajor)} is not allowed (allowed: a whole number from 2 to 99; v0 and v1 need no suffix)`);
  }
  const pkgBase = typeof o.pkg === "string" ? o.pkg.split("/").filter((s) => s !== ".").pop() : undefined;
  const binary = o.binary ?? pkgBase ?? "";
  if (!BINARY.test(binary)) p.push(`binary: ${JSON.stringify(o.binary ?? binary)} is not allowed (allowed: a file name, letters, digits and . _ -; set binary when pkg is ".")`);
  for (const [k, v] of Object.entries(o.ldflags ?? {})) {
    if (!X_KEY.test(k)) p.push(`ldflags.${k}: not allowed (allowed: importpath.name, e.g. {module}/internal/environment.Builder or main.version)`);
    if (typeof v !== "string" || !X_VALUE.test(v)) p.push(`ldflags.${k}: ${JSON.stringify(v)} is not allowed (allowed: letters, digits, spaces and . _ : / + @ = , -, and \${VERSION})`);
  }
  const exposed = ports(p, o.port);
  const volumes = dirs(p, "volumes", o.volumes, "/app");
  license(p, o.license);
  for (const a of o.args ?? []) if (!ARG_WORD.test(a)) p.push(`args: ${JSON.stringify(a)} is not allowed (allowed: letters, digits and . _ : / = @ + , -)`);
  const builder = base(p, "builder", o.builder, "goBuilder");
  const runtime = base(p, "runtime", o.runtime, "distrolessStaticNonroot");
  if (p.length) throw new PresetError(name, p);

  const mod = o.modulePathMajor ? `${o.module}/v${o.modulePathMajor}` : o.module;
  const x = Object.entries(o.ldflags ?? {}).map(([k, v]) => ` -X '${k.replace("{module}", mod)}=${v}'`).join("");
  const lines: string[] = [
    `# ${name}: a static Go binary on distroless, built from the upstream checkout.`,
    "# Both images are pinned by digest in infra/base-images.ts.",
  ];
  if (o.modulePathMajor) {
    lines.push(
      "#",
      `# Why the module-path patch: go.mod says \`module ${o.module}\` while the release`,
      `# tags are v${o.modulePathMajor}.x. Go's rule is that a v2+ module path ends in /v${o.modulePathMajor}; without it`,
      "# the version stamped into the binary is a pseudo-version, and scanners then",
      "# match every old CVE filed against the module. The build rewrites the module",
      "# path and its imports, commits that, and moves the release tag onto the",
      "# commit, so the binary carries the real version. The build context must",
      "# include .git (the pipeline's clone does).",
    );
  }
  lines.push(
    "",
    `FROM ${builder} AS build`,
    "ARG VERSION",
    "RUN apk add --no-cache git",
    "WORKDIR /src",
    "COPY . .",
  );
  if (o.modulePathMajor) {
    lines.push(
      "RUN set -eu; \\",
      `    go mod edit -module ${mod}; \\`,
      `    grep -rlF --include='*.go' '"${o.module}/' . \\`,
      `      | xargs sed -i 's#"${o.module}/#"${mod}/#g'; \\`,
      "    git -c user.name=mirror-fleet -c user.email=mirror-fleet@localhost \\",
      `      commit -q -a -m "mirror-fleet: module path ${mod} for \${VERSION}"; \\`,
      `    git tag -f "\${VERSION}"`,
    );
  }
  const build = [
    "CGO_ENABLED=0 go build -trimpath \\",
    `      -ldflags="-s -w${x}" \\`,
    `      -o /out/app/${binary} ${o.pkg}`,
  ];
  const steps = [...(o.generate ? ["go generate ./..."] : []), build.join("\n"), ...(volumes.length ? [`mkdir -p ${volumes.map((v) => `/out${v}`).join(" ")}`] : [])];
  lines.push(`RUN ${steps.join(" && \\\n    ")}`);
  lines.push("", `FROM ${runtime}`);
  lines.push(...runtimeTail(
    { license: o.license, volumes, ports: exposed, entrypoint: [`/app/${binary}`], cmd: o.args },
    [
      "# distroless has no shell to chown at start-up, so the volumes are created",
      "# owned by the nonroot user (65532) in the build stage.",
      `COPY --from=build --chown=${NONROOT} /out/app /app`,
      "WORKDIR /app",
    ],
  ));
  return { preset: name, dockerfile: lines.join("\n") + "\n" };
}

export interface RebaseRuntimeOptions {
  /** Upstream's build stage (its `FROM … AS <stage>` name) that holds the built files. */
  readonly stage: string;
  /**
   * Files or directories to copy into the runtime image, owned by the nonroot
   * user: `from` a path in `stage` (or in the pair's own `stage`), `to` a path
   * in the image.
   */
  readonly copy: ReadonlyArray<{ readonly from: string; readonly to: string; readonly stage?: string }>;
  /** The process to start (exec form). */
  readonly entrypoint: readonly string[];
  /** Arguments after the entrypoint (CMD). @default none */
  readonly args?: readonly string[];
  /** Working directory. @default the directory of the entrypoint */
  readonly workdir?: string;
  /** TCP port(s) the service listens on. @default none */
  readonly port?: number | readonly number[];
  /** Directories declared as volumes, created owned by the nonroot user. @default none */
  readonly volumes?: readonly string[];
  /** SPDX license of the upstream, recorded as an OCI label. @default no label */
  readonly license?: string;
  /** Runtime image from infra/base-images.ts. @default "distrolessStaticNonroot" */
  readonly runtime?: BaseImage;
}

const VOLUMES_STAGE = "mirror-fleet-volumes";

/**
 * "Upstream Dockerfile, runtime stage rebased": keep upstream's build stages
 * (they change with every release and are reviewed by the drift gate, since
 * the Dockerfile is watched) and replace only what ships: the final image.
 *
 * Upstream's Dockerfile exists only at build time, in the checkout of the
 * tag, so this preset cannot render a whole Dockerfile. It renders the
 * runtime stage alone, marked with RUNTIME_STAGE_MARKER (contract/); the
 * pipeline appends it to upstream's Dockerfile (pipeline/lib/runtime-stage.ts)
 * and builds the
 * result. Appending (instead of cutting out upstream's last stage) needs no
 * Dockerfile parser: the last stage of a Dockerfile is the image that gets
 * built, and BuildKit and buildah skip stages nothing depends on, so
 * upstream's old runtime base is never even pulled.
 *
 * The stage validates on its own (its only FROM lines are pinned bases from
 * infra/base-images.ts, and it declares ARG VERSION), so spec.ts checks it
 * like any override.
 */
export function rebaseRuntime(o: RebaseRuntimeOptions): PresetDockerfile {
  const name = "rebaseRuntime";
  const p: string[] = [];
  if (typeof o.stage !== "string" || !STAGE.test(o.stage)) p.push(`stage: ${JSON.stringify(o.stage)} is not allowed (allowed: the name of an upstream build stage, letters, digits and _ . -)`);
  else if (o.stage.toLowerCase() === VOLUMES_STAGE) p.push(`stage: ${JSON.stringify(o.stage)} is reserved (allowed: any other stage name)`);
  if (!Array.isArray(o.copy) || o.copy.length === 0) p.push(`copy: empty (allowed: at least one { from, to } pair)`);
  for (const [i, c] of (Array.isArray(o.copy) ? o.copy : []).entries()) {
    if (c?.stage !== undefined && (!STAGE.test(c.stage) || c.stage.toLowerCase() === VOLUMES_STAGE)) {
      p.push(`copy[${i}].stage: ${JSON.stringify(c.stage)} is not allowed (allowed: the name of an upstream build stage, letters, digits and _ . -)`);
    }
    if (!ABS_DIR.test(c?.from ?? "")) p.push(`copy[${i}].from: ${JSON.stringify(c?.from)} is not allowed (allowed: an absolute path inside the upstream stage)`);
    if (!ABS_DIR.test(c?.to ?? "")) p.push(`copy[${i}].to: ${JSON.stringify(c?.to)} is not allowed (allowed: an absolute path in the runtime image)`);
  }
  if (!Array.isArray(o.entrypoint) || o.entrypoint.length === 0) p.push(`entrypoint: empty (allowed: the program to start, e.g. ["/app/plikd"])`);
  else if (!ABS_DIR.test(o.entrypoint[0])) p.push(`entrypoint[0]: ${JSON.stringify(o.entrypoint[0])} is not allowed (allowed: an absolute path; distroless has no shell to search PATH)`);
  for (const a of [...(o.entrypoint ?? []).slice(1), ...(o.args ?? [])]) if (!ARG_WORD.test(a)) p.push(`args: ${JSON.stringify(a)} is not allowed (allowed: letters, digits and . _ : / = @ + , -)`);
  const entry = Array.isArray(o.entrypoint) && ABS_DIR.test(o.entrypoint[0] ?? "") ? o.entrypoint[0] : "/";
  const workdir = o.workdir ?? (entry.slice(0, entry.lastIndexOf("/")) || "/");
  if (workdir !== "/" && !ABS_DIR.test(workdir)) p.push(`workdir: ${JSON.stringify(workdir)} is not allowed (allowed: an absolute directory)`);
  const exposed = ports(p, o.port);
  const volumes = dirs(p, "volumes", o.volumes);
  license(p, o.license);
  const runtime = base(p, "runtime", o.runtime, "distrolessStaticNonroot");
  if (p.length) throw new PresetError(name, p);

  const lines: string[] = [
    RUNTIME_STAGE_MARKER,
    `# ${name}: upstream's build stage "${o.stage}", shipped on a digest-pinned runtime`,
    "# base from infra/base-images.ts instead of upstream's own final stage.",
    "",
  ];
  if (volumes.length) {
    // distroless has no shell: the volume directories are made in a pinned
    // image that has one, then copied in owned by the nonroot user.
    lines.push(
      `FROM ${baseImageRef("goBuilder")} AS ${VOLUMES_STAGE}`,
      `RUN mkdir -p ${volumes.map((v) => `/out${v}`).join(" ")}`,
      "",
    );
  }
  lines.push(`FROM ${runtime}`);
  const copies = o.copy.map((c) => `COPY --from=${c.stage ?? o.stage} --chown=${NONROOT} ${c.from} ${c.to}`);
  for (const v of volumes) copies.push(`COPY --from=${VOLUMES_STAGE} --chown=${NONROOT} /out${v} ${v}`);
  copies.push(`WORKDIR ${workdir}`);
  lines.push(...runtimeTail({ license: o.license, volumes, ports: exposed, entrypoint: o.entrypoint, cmd: o.args, oneLine: true }, copies));
  return { preset: name, dockerfile: lines.join("\n") + "\n" };
}
