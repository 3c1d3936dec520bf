/**
 * The base images of a Dockerfile, and the digest each FROM resolved to at
 * build time. A mirror built from upstream's own Dockerfile has bases that
 * nobody here pinned; recording what each tag pointed to when the image was
 * built (and building exactly that, by rewriting the FROM to `ref@digest`)
 * puts even an unhardened mirror's base on record: in the audit bundle and
 * in the pin pull request.
 *
 * Pure apart from `resolveWithSkopeo`. Dockerfile text is upstream's, so
 * untrusted: references are checked against a strict pattern before they are
 * passed to a tool, and never through a shell.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";

export interface BaseImage {
  /** 1-based line of the FROM instruction. */
  readonly line: number;
  /** As written, after build-arg substitution. */
  readonly from: string;
  /** Fully qualified, as a registry is asked: docker.io/library/golang:1.26 */
  readonly ref: string;
  /** What it resolved to; for a FROM already pinned by digest, that digest. */
  readonly digest: string;
  /** True when the Dockerfile itself named the digest. */
  readonly pinnedInDockerfile: boolean;
}

export interface BaseRecord {
  readonly dockerfile: string;
  readonly images: readonly BaseImage[];
  /** FROM lines that could not be resolved, and why (an unset build arg). */
  readonly unresolved: ReadonlyArray<{ readonly line: number; readonly from: string; readonly why: string }>;
}

/** A registry reference without shell or template characters: [host[:port]/]path[:tag][@sha256:hex]. */
const REF = /^[a-z0-9]+(?:[._-][a-z0-9]+)*(?::[0-9]+)?(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[0-9a-f]{64})?$/;

/** docker.io is implied for a first path element that is not a host; `library/` for a single element. */
export function qualify(ref: string): string {
  const [first, ...rest] = ref.split("/");
  const isHost = rest.length > 0 && (first.includes(".") || first.includes(":") || first === "localhost");
  if (isHost) return ref;
  return rest.length === 0 ? `docker.io/library/${ref}` : `docker.io/${ref}`;
}

function substitute(text: string, args: ReadonlyMap<string, string>): { value: string; missing: string[] } {
  const missing: string[] = [];
  const value = text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (_, a: string, def: string | undefined, b: string) => {
    const name = a ?? b;
    const v = args.get(name);
    if (v !== undefined && v !== "") return v;
    if (def !== undefined) return def;
    missing.push(name);
    return "";
  });
  return { value, missing };
}

/** The FROM instructions that name a registry image: not `scratch`, not an earlier stage. */
export function fromInstructions(dockerfile: string, buildArgs: Readonly<Record<string, string>> = {}): { images: Array<{ line: number; from: string; pinned: boolean }>; unresolved: BaseRecord["unresolved"] } {
  const args = new Map<string, string>();
  const stages = new Set<string>();
  const images: Array<{ line: number; from: string; pinned: boolean }> = [];
  const unresolved: Array<{ line: number; from: string; why: string }> = [];
  let seenFrom = false;
  const lines = dockerfile.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const start = i;
    let text = lines[i];
    // Continuation lines belong to the instruction.
    while (/\\\s*$/.test(text) && i + 1 < lines.length) text = text.replace(/\\\s*$/, " ") + lines[++i];
    const arg = /^\s*ARG\s+([A-Za-z_][A-Za-z0-9_]*)(?:=(\S*))?\s*$/i.exec(text);
    if (arg && !seenFrom) {
      // Global ARGs (before the first FROM) are what FROM lines may use; a build arg overrides the default.
      const given = buildArgs[arg[1]];
      args.set(arg[1], given ?? (arg[2] ?? "").replace(/^(["'])(.*)\1$/, "$2"));
      continue;
    }
    const m = /^\s*FROM\s+(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?\s*$/i.exec(text);
    if (!m) continue;
    seenFrom = true;
    const { value, missing } = substitute(m[1], args);
    const line = start + 1;
    if (missing.length) unresolved.push({ line, from: m[1], why: `uses the build arg ${missing.join(", ")}, which has no value` });
    else if (value !== "scratch" && !stages.has(value.toLowerCase())) {
      if (!REF.test(value)) unresolved.push({ line, from: value, why: "not an image reference this pipeline passes on" });
      else images.push({ line, from: value, pinned: value.includes("@sha256:") });
    }
    if (m[2]) stages.add(m[2].toLowerCase());
  }
  return { images, unresolved };
}

/** Resolves a reference to the sha256 of the manifest (or index) the registry serves for it. */
export type Resolver = (ref: string) => string;

/** `skopeo inspect --raw docker://REF`, hashed: the digest of exactly the bytes the registry serves. */
export function resolveWithSkopeo(env: Readonly<Record<string, string | undefined>> = process.env): Resolver {
  return (ref) => {
    let raw: Buffer;
    try {
      // As Docker does, a registry on the loopback interface is spoken to over plain HTTP.
      const loopback = /^(?:localhost|127(?:\.\d{1,3}){3})(?::\d+)?\//.test(ref);
      raw = execFileSync("skopeo", ["inspect", "--raw", "--retry-times", "2", ...(loopback ? ["--tls-verify=false"] : []), `docker://${ref}`], { env: { ...env }, stdio: ["ignore", "pipe", "pipe"], timeout: 120_000, maxBuffer: 16 * 2 ** 20 });
    } catch (e) {
      const err = e as { stderr?: Buffer; message: string };
      throw new Error(`skopeo inspect --raw docker://${ref} failed: ${(err.stderr?.toString() || err.message).trim().split("\n").pop()}`);
    }
    return `sha256:${createHash("sha256").update(raw).digest("hex")}`;
  };
}

/** Every base of the Dockerfile with its digest; a FROM that names a digest is taken as written, the others are resolved. */
export function recordBases(dockerfilePath: string, dockerfile: string, resolve: Resolver, buildArgs: Readonly<Record<string, string>> = {}): BaseRecord {
  const { images, unresolved } = fromInstructions(dockerfile, buildArgs);
  return {
    dockerfile: dockerfilePath,
    images: images.map((i) => {
      const ref = qualify(i.from);
      const digest = i.pinned ? ref.slice(ref.indexOf("@") + 1) : resolve(ref);
      if (!/^sha256:[0-9a-f]{64}$/.test(digest)) throw new Error(`line ${i.line}: FROM ${i.from} resolved to ${JSON.stringify(digest)}, not a sha256 digest`);
      return { line: i.line, from: i.from, ref, digest, pinnedInDockerfile: i.pinned };
    }),
    unresolved,
  };
}

/**
 * The Dockerfile with each resolved, unpinned FROM rewritten to `ref@digest`:
 * the build then uses exactly the recorded bases, even if a tag moves while
 * it runs. Only FROM lines without build args are rewritten.
 */
export function pinBases(dockerfile: string, record: BaseRecord): string {
  const byLine = new Map(record.images.filter((i) => !i.pinnedInDockerfile).map((i) => [i.line, i]));
  return dockerfile
    .split("\n")
    .map((text, idx) => {
      const i = byLine.get(idx + 1);
      if (!i) return text;
      return text.replace(/^(\s*FROM\s+(?:--platform=\S+\s+)?)(\S+)/i, (all, head: string, ref: string) => (ref === i.from ? `${head}${i.ref}@${i.digest}` : all));
    })
    .join("\n");
}

/** The pin pull request's section: one row per base. */
export function basesMarkdown(record: BaseRecord): string[] {
  const out = [`#### Base images (${record.images.length}), as resolved at build time`, ""];
  if (record.images.length === 0 && record.unresolved.length === 0) return [...out, "None: every stage starts from `scratch` or an earlier stage.", ""];
  out.push("| Line | FROM | Digest | |", "|---|---|---|---|");
  for (const i of record.images) out.push(`| ${i.line} | \`${i.from}\` | \`${i.digest}\` | ${i.pinnedInDockerfile ? "pinned in the Dockerfile" : "resolved from the tag"} |`);
  for (const u of record.unresolved) out.push(`| ${u.line} | \`${u.from.replace(/[`|]/g, "")}\` | not resolved | ${u.why} |`);
  return [...out, ""];
}

/** A record written by `bases`, read back strictly: only well-formed rows reach a pull request body. */
export function readBaseRecord(text: string, shown: string): BaseRecord {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new Error(`${shown}: not JSON (${(e as Error).message})`);
  }
  const d = doc as Partial<BaseRecord>;
  const ok =
    typeof d === "object" && d !== null && typeof d.dockerfile === "string" && Array.isArray(d.images) && Array.isArray(d.unresolved) &&
    d.images.every((i) => Number.isInteger(i?.line) && typeof i.from === "string" && REF.test(i.from) && typeof i.ref === "string" && /^sha256:[0-9a-f]{64}$/.test(i.digest) && typeof i.pinnedInDockerfile === "boolean") &&
    d.unresolved.every((u) => Number.isInteger(u?.line) && typeof u.from === "string" && typeof u.why === "string");
  if (!ok) throw new Error(`${shown}: not a base-image record (allowed: the JSON that \`mirror-pipeline bases\` writes)`);
  return d as BaseRecord;
}
