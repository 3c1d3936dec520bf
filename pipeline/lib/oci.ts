/**
 * OCI image archives (`oci-archive`, the tar that `docker buildx build
 * --output type=oci` and `buildah push … oci-archive:` write), read without
 * any container tool. The digest read here is the one the scan job records
 * and the publish job must find in the registry afterwards (DESIGN invariant
 * 1), so it is taken from the archive's own index and checked against the
 * manifest bytes it names, not trusted from a tool's log line.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { Readable, Transform, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import * as zlib from "node:zlib";

export const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
export const OCI_INDEX = "application/vnd.oci.image.index.v1+json";
export const DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";
export const DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json";
const MANIFEST_TYPES = [OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_LIST];
const INDEX_TYPES = [OCI_INDEX, DOCKER_LIST];

export const DIGEST_PATTERN = /^sha256:[0-9a-f]{64}$/;

/** Manifests and index files are small; anything larger is not one (and is not read into memory). */
const MAX_METADATA_BYTES = 4 * 1024 * 1024;

export class OciArchiveError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "OciArchiveError";
  }
}

export function sha256Digest(bytes: Uint8Array): string {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

export interface TarEntry {
  /** Path inside the archive, without a leading `./`. */
  readonly name: string;
  /** `0` regular file, `5` directory, … (POSIX ustar typeflag). */
  readonly type: string;
  /** Byte offset of the entry's data in the archive file. */
  readonly offset: number;
  readonly size: number;
}

function cstring(block: Buffer, start: number, length: number): string {
  const end = block.indexOf(0, start);
  return block.toString("utf8", start, end === -1 || end > start + length ? start + length : end);
}

/**
 * A numeric header field: octal text, or GNU base-256 for sizes of 8 GiB and
 * more; NaN for anything else (a negative base-256 number, text that is not
 * octal), which the caller refuses.
 */
function numeric(block: Buffer, start: number, length: number): number {
  if (block[start] & 0x80) {
    // 0x80 marks a positive base-256 number; 0xff a negative one (GNU tar).
    if (block[start] !== 0x80) return NaN;
    let n = 0;
    for (let i = start + 1; i < start + length; i++) n = n * 256 + block[i];
    return n;
  }
  const text = cstring(block, start, length).trim();
  if (text === "") return 0;
  return /^[0-7]+$/.test(text) ? parseInt(text, 8) : NaN;
}

/**
 * An entry's size must be a whole number of bytes that fits in the file:
 * a negative or unreadable size would move the reader backwards or nowhere,
 * and the walk would never end (a pax `size=-1024`).
 */
function checkedSize(file: string, size: number, offset: number, total: number, what: string): number {
  if (!Number.isSafeInteger(size) || size < 0) throw new OciArchiveError(`${file}: ${what} at byte ${offset} is not a size (allowed: a whole number of bytes, 0 or more)`);
  if (offset + 512 + size > total) throw new OciArchiveError(`${file}: the entry at byte ${offset} is ${size} bytes, past the end of the archive (${total} bytes)`);
  return size;
}

/** The header checksum: the sum of all bytes with the checksum field read as spaces. */
function checksumOk(block: Buffer): boolean {
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : block[i];
  return sum === numeric(block, 148, 8);
}

/** pax extended header records: `<len> <key>=<value>\n`. */
function paxRecords(data: Buffer): Map<string, string> {
  const out = new Map<string, string>();
  let at = 0;
  while (at < data.length) {
    const space = data.indexOf(0x20, at);
    if (space === -1) break;
    const len = parseInt(data.toString("utf8", at, space), 10);
    if (!Number.isFinite(len) || len <= 0) break;
    const record = data.toString("utf8", space + 1, at + len - 1);
    const eq = record.indexOf("=");
    if (eq > 0) out.set(record.slice(0, eq), record.slice(eq + 1));
    at += len;
  }
  return out;
}

function readAt(fd: number, offset: number, length: number): Buffer {
  const buf = Buffer.alloc(length);
  let got = 0;
  while (got < length) {
    const n = fs.readSync(fd, buf, got, length - got, offset + got);
    if (n === 0) break;
    got += n;
  }
  return got === length ? buf : buf.subarray(0, got);
}

/**
 * Every entry of a tar file, reading only the headers (an image archive of
 * hundreds of megabytes is walked in a few reads). Understands ustar prefixes,
 * GNU long names and pax `path`/`size` records, which is what Go's
 * archive/tar (buildx, containers/image) and GNU tar write.
 */
export function listTar(file: string): TarEntry[] {
  let fd: number;
  try {
    fd = fs.openSync(file, "r");
  } catch (e) {
    throw new OciArchiveError(`${file}: cannot open the archive (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  try {
    const total = fs.fstatSync(fd).size;
    const entries: TarEntry[] = [];
    let offset = 0;
    let longName: string | undefined;
    let pax = new Map<string, string>();
    while (offset + 512 <= total) {
      const block = readAt(fd, offset, 512);
      if (block.every((b) => b === 0)) return entries;
      if (!checksumOk(block)) {
        throw new OciArchiveError(`${file}: not a tar archive (bad header checksum at byte ${offset})`);
      }
      const type = block[156] === 0 ? "0" : String.fromCharCode(block[156]);
      let size = checkedSize(file, numeric(block, 124, 12), offset, total, "the header's size field");
      const dataAt = offset + 512;
      const next = dataAt + Math.ceil(size / 512) * 512;
      if (type === "L" || type === "x") {
        if (size > MAX_METADATA_BYTES) throw new OciArchiveError(`${file}: tar extension header of ${size} bytes at byte ${offset} is too large`);
        const data = readAt(fd, dataAt, size);
        if (type === "L") longName = cstring(data, 0, data.length);
        else pax = paxRecords(data);
        offset = next;
        continue;
      }
      if (type === "g") {
        offset = next;
        continue;
      }
      let name = cstring(block, 0, 100);
      const ustar = block.toString("latin1", 257, 262) === "ustar";
      const prefix = ustar ? cstring(block, 345, 155) : "";
      if (prefix) name = `${prefix}/${name}`;
      if (longName !== undefined) name = longName;
      if (pax.has("path")) name = pax.get("path")!;
      if (pax.has("size")) {
        const text = pax.get("size")!;
        size = checkedSize(file, /^[0-9]+$/.test(text) ? Number(text) : NaN, offset, total, `the pax size ${JSON.stringify(text.slice(0, 40))}`);
      }
      entries.push({ name: name.replace(/^(\.\/)+/, ""), type, offset: dataAt, size });
      longName = undefined;
      pax = new Map();
      offset = dataAt + Math.ceil(size / 512) * 512;
    }
    if (offset === 0) throw new OciArchiveError(`${file}: not a tar archive (empty or shorter than one header)`);
    return entries;
  } finally {
    fs.closeSync(fd);
  }
}

/** The bytes of one small regular file in a tar, or undefined when absent. */
export function readTarFile(file: string, name: string, entries: readonly TarEntry[] = listTar(file)): Buffer | undefined {
  const e = entries.filter((x) => x.name === name && (x.type === "0" || x.type === "7")).pop();
  if (!e) return undefined;
  if (e.size > MAX_METADATA_BYTES) throw new OciArchiveError(`${file}: ${name} is ${e.size} bytes, larger than any manifest or index (${MAX_METADATA_BYTES})`);
  const fd = fs.openSync(file, "r");
  try {
    return readAt(fd, e.offset, e.size);
  } finally {
    fs.closeSync(fd);
  }
}

export interface OciArchiveInfo {
  /** Digest of the manifest (one platform) or index (several) that index.json names: what the registry will serve. */
  readonly digest: string;
  readonly mediaType: string;
  readonly size: number;
  /** An image index or manifest list: pushing it needs `skopeo copy --all`. */
  readonly isIndex: boolean;
  /** `org.opencontainers.image.ref.name` of the entry, when set. */
  readonly refName?: string;
}

function parseJson(file: string, what: string, bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString("utf8"));
  } catch (e) {
    throw new OciArchiveError(`${file}: ${what} is not JSON (${(e as Error).message})`);
  }
}

/**
 * The digest an OCI archive will have in a registry: index.json must name
 * exactly one manifest or index, and its blob must be in the archive with
 * that size and that sha256, so the digest printed is the digest of bytes
 * that are really there.
 */
export function ociArchiveInfo(file: string): OciArchiveInfo {
  const entries = listTar(file);
  const layout = readTarFile(file, "oci-layout", entries);
  if (!layout) {
    const docker = entries.some((e) => e.name === "manifest.json");
    throw new OciArchiveError(
      `${file}: not an OCI image archive (no oci-layout file)` +
        (docker ? "; it looks like a docker-archive (docker save): build with --output type=oci" : ""),
    );
  }
  const version = (parseJson(file, "oci-layout", layout) as { imageLayoutVersion?: unknown })?.imageLayoutVersion;
  if (typeof version !== "string") throw new OciArchiveError(`${file}: oci-layout has no imageLayoutVersion`);
  const indexBytes = readTarFile(file, "index.json", entries);
  if (!indexBytes) throw new OciArchiveError(`${file}: not an OCI image archive (no index.json)`);
  const index = parseJson(file, "index.json", indexBytes) as { manifests?: unknown };
  const manifests = Array.isArray(index?.manifests) ? (index.manifests as Array<Record<string, unknown>>) : undefined;
  if (!manifests) throw new OciArchiveError(`${file}: index.json has no manifests array`);
  if (manifests.length !== 1) {
    throw new OciArchiveError(
      `${file}: index.json names ${manifests.length} manifests (allowed: exactly one; a multi-platform build must be one image index, as buildx --output type=oci writes it)`,
    );
  }
  const d = manifests[0];
  const digest = d?.digest;
  const mediaType = d?.mediaType;
  const size = d?.size;
  if (typeof digest !== "string" || !DIGEST_PATTERN.test(digest)) {
    throw new OciArchiveError(`${file}: index.json manifests[0].digest is ${JSON.stringify(digest)} (allowed: sha256:<64 hex>)`);
  }
  if (typeof mediaType !== "string" || !MANIFEST_TYPES.includes(mediaType)) {
    throw new OciArchiveError(`${file}: index.json manifests[0].mediaType is ${JSON.stringify(mediaType)} (allowed: ${MANIFEST_TYPES.join(", ")})`);
  }
  const blobName = `blobs/sha256/${digest.slice("sha256:".length)}`;
  const blob = readTarFile(file, blobName, entries);
  if (!blob) throw new OciArchiveError(`${file}: index.json names ${digest}, but ${blobName} is not in the archive`);
  if (typeof size === "number" && size !== blob.length) {
    throw new OciArchiveError(`${file}: ${blobName} is ${blob.length} bytes, index.json says ${size}`);
  }
  const actual = sha256Digest(blob);
  if (actual !== digest) throw new OciArchiveError(`${file}: ${blobName} hashes to ${actual}, not to its name`);
  const ann = d.annotations as Record<string, unknown> | undefined;
  const refName = typeof ann?.["org.opencontainers.image.ref.name"] === "string" ? (ann["org.opencontainers.image.ref.name"] as string) : undefined;
  return { digest, mediaType, size: blob.length, isIndex: INDEX_TYPES.includes(mediaType), ...(refName ? { refName } : {}) };
}

// ---------------------------------------------------------------------------
// OCI layouts for the scanner. Trivy 0.74.0 reads an OCI layout DIRECTORY
// (not the archive, aquasecurity/trivy#5136), and for an image index it takes
// the first manifest whatever --platform says (pkg/fanal/image/oci.go
// getOCIImage recurses into a nested index with no reference). It does select
// an entry of the layout's own index.json by digest (`--input DIR@sha256:…`),
// so the scan layout's index.json lists every platform manifest directly and
// each is scanned by its digest.

const BLOB_NAME = /^blobs\/sha256\/([0-9a-f]{64})$/;

/** One platform manifest of an image index (or the one manifest of a single-platform image). */
export interface PlatformManifest {
  /** `os/architecture[/variant]` */
  readonly platform: string;
  readonly digest: string;
  readonly mediaType: string;
  readonly size: number;
}

export interface LayoutImage {
  /** The digest the registry serves for the image: the index, or the only manifest. */
  readonly digest: string;
  readonly mediaType: string;
  readonly platforms: readonly PlatformManifest[];
}

/**
 * Writes the archive's `oci-layout`, `index.json` and every blob into `dir`,
 * hashing each blob as it is copied: a blob whose bytes do not hash to its
 * name fails here, before a scanner reads it.
 */
export async function extractOciArchive(file: string, dir: string): Promise<void> {
  const entries = listTar(file);
  fs.mkdirSync(path.join(dir, "blobs", "sha256"), { recursive: true });
  const seen = new Set<string>();
  for (const e of entries) {
    if (e.type !== "0" && e.type !== "7") continue;
    if (e.name === "oci-layout" || e.name === "index.json") {
      fs.writeFileSync(path.join(dir, e.name), readTarFile(file, e.name, entries)!);
      continue;
    }
    const m = BLOB_NAME.exec(e.name);
    if (!m || seen.has(m[1])) continue;
    seen.add(m[1]);
    const out = path.join(dir, e.name);
    const hash = createHash("sha256");
    await pipeline(
      e.size === 0 ? Readable.from([]) : fs.createReadStream(file, { start: e.offset, end: e.offset + e.size - 1 }),
      new Transform({
        transform(chunk: Buffer, _enc, cb) {
          hash.update(chunk);
          cb(null, chunk);
        },
      }),
      fs.createWriteStream(out),
    );
    const actual = hash.digest("hex");
    if (actual !== m[1]) throw new OciArchiveError(`${file}: ${e.name} hashes to sha256:${actual}, not to its name`);
  }
  for (const f of ["oci-layout", "index.json"]) {
    if (!fs.existsSync(path.join(dir, f))) throw new OciArchiveError(`${file}: not an OCI image archive (no ${f})`);
  }
}

/** Blobs by digest, from a layout folder or straight from an archive; hashed before use. */
type BlobReader = (digest: string, what: string) => Buffer;

function checkedBlob(where: string, digest: string, what: string, read: () => Buffer | undefined): Buffer {
  if (!DIGEST_PATTERN.test(digest)) throw new OciArchiveError(`${where}: ${what} has digest ${JSON.stringify(digest)} (allowed: sha256:<64 hex>)`);
  const bytes = read();
  if (bytes === undefined) throw new OciArchiveError(`${where}: ${what} ${digest} is not there`);
  if (sha256Digest(bytes) !== digest) throw new OciArchiveError(`${where}: ${what} ${digest}: its bytes hash to ${sha256Digest(bytes)}`);
  return bytes;
}

function layoutBlobs(dir: string): BlobReader {
  return (digest, what) =>
    checkedBlob(dir, digest, what, () => {
      const file = path.join(dir, "blobs", "sha256", digest.slice(7));
      const size = fs.statSync(file, { throwIfNoEntry: false })?.size;
      if (size === undefined) return undefined;
      if (size > MAX_METADATA_BYTES) throw new OciArchiveError(`${dir}: ${what} ${digest} is ${size} bytes, larger than any manifest (${MAX_METADATA_BYTES})`);
      return fs.readFileSync(file);
    });
}

/**
 * The platforms the OCI image index specification names (image-index.md,
 * `platform`): `os` and `architecture` from Go's GOOS and GOARCH values (here
 * the valid pairs, `go tool dist list` of Go 1.26), `variant` from its table
 * (arm v6, v7, v8; arm64 v8). Anything else is refused, not scanned: a
 * platform string is a file name part and a key of the scan record, and
 * `linux#/amd64` must never stand beside `linux/amd64`.
 */
const GO_PLATFORMS: ReadonlySet<string> = new Set(
  ("aix/ppc64 android/386 android/amd64 android/arm android/arm64 darwin/amd64 darwin/arm64 dragonfly/amd64 freebsd/386 freebsd/amd64 " +
    "freebsd/arm freebsd/arm64 freebsd/riscv64 illumos/amd64 ios/amd64 ios/arm64 js/wasm linux/386 linux/amd64 linux/arm linux/arm64 " +
    "linux/loong64 linux/mips linux/mips64 linux/mips64le linux/mipsle linux/ppc64 linux/ppc64le linux/riscv64 linux/s390x netbsd/386 " +
    "netbsd/amd64 netbsd/arm netbsd/arm64 openbsd/386 openbsd/amd64 openbsd/arm openbsd/arm64 openbsd/ppc64 openbsd/riscv64 plan9/386 " +
    "plan9/amd64 plan9/arm solaris/amd64 wasip1/wasm windows/386 windows/amd64 windows/arm64").split(" "),
);
const OCI_VARIANTS: Readonly<Record<string, readonly string[]>> = { arm: ["v6", "v7", "v8"], arm64: ["v8"] };

/** `os/architecture[/variant]` when it is one of the spec's values, else undefined. */
export function ociPlatform(os: unknown, architecture: unknown, variant?: unknown): string | undefined {
  if (typeof os !== "string" || typeof architecture !== "string" || !GO_PLATFORMS.has(`${os}/${architecture}`)) return undefined;
  if (variant === undefined || variant === "") return `${os}/${architecture}`;
  return typeof variant === "string" && (OCI_VARIANTS[architecture] ?? []).includes(variant) ? `${os}/${architecture}/${variant}` : undefined;
}

/** Every platform value ociPlatform accepts, pairs first. */
export function ociPlatforms(): string[] {
  const pairs = [...GO_PLATFORMS];
  return [...pairs, ...pairs.flatMap((p) => (OCI_VARIANTS[p.split("/")[1]] ?? []).map((v) => `${p}/${v}`))];
}

/** A platform string as the scan record holds it, checked the same way. */
export function isOciPlatform(platform: string): boolean {
  const [os, architecture, variant, ...rest] = platform.split("/");
  return rest.length === 0 && ociPlatform(os, architecture, variant) === platform;
}

const PLATFORM_ALLOWED = "os/architecture[/variant] from the OCI image index specification: a Go GOOS/GOARCH pair, variant v6, v7 or v8 of arm, v8 of arm64";

function platformOf(p: unknown, at: string): string {
  if (!p || typeof p !== "object") fail(`${at} names no platform (os/architecture): it cannot be scanned as one`);
  const { os: o, architecture: a, variant: v } = p as Record<string, unknown>;
  return ociPlatform(o, a, v) ?? fail(`${at} names the platform ${JSON.stringify([o, a, ...(v === undefined ? [] : [v])].join("/")).slice(0, 80)} (allowed: ${PLATFORM_ALLOWED})`);
}

/**
 * The image a layout's index.json names (exactly one entry, or the entry whose
 * ref name is `ref`), and its platform manifests. Fails closed on an index
 * entry that is neither an image manifest with a platform nor an attestation
 * (buildx `vnd.docker.reference.type: attestation-manifest`).
 */
export function layoutImage(dir: string, ref?: string): LayoutImage {
  let index: { manifests?: unknown };
  try {
    index = JSON.parse(fs.readFileSync(path.join(dir, "index.json"), "utf8")) as { manifests?: unknown };
  } catch (e) {
    throw new OciArchiveError(`${dir}/index.json: not readable JSON (${(e as Error).message})`);
  }
  return imageOf(dir, index, layoutBlobs(dir), ref);
}

/** The same as layoutImage, read from the archive without extracting it: what publish compares with the scan record. */
export function archiveImage(file: string): LayoutImage {
  const entries = listTar(file);
  const index = parseJson(file, "index.json", readTarFile(file, "index.json", entries) ?? Buffer.from("null")) as { manifests?: unknown };
  return imageOf(file, index, (digest, what) => checkedBlob(file, digest, what, () => readTarFile(file, `blobs/sha256/${digest.slice(7)}`, entries)), undefined);
}

function imageOf(dir: string, index: { manifests?: unknown }, readBlob: BlobReader, ref: string | undefined): LayoutImage {
  const list = Array.isArray(index?.manifests) ? (index.manifests as Array<Record<string, unknown>>) : [];
  const named = ref === undefined ? list : list.filter((d) => (d.annotations as Record<string, unknown> | undefined)?.["org.opencontainers.image.ref.name"] === ref);
  if (named.length !== 1) {
    throw new OciArchiveError(`${dir}/index.json names ${named.length} images${ref ? ` with ref ${ref}` : ""} (allowed: exactly one)`);
  }
  const top = named[0];
  const digest = String(top.digest);
  const mediaType = String(top.mediaType);
  const bytes = readBlob(digest, "the image");
  if (!INDEX_TYPES.includes(mediaType)) {
    if (!MANIFEST_TYPES.includes(mediaType)) throw new OciArchiveError(`${dir}: the image ${digest} has media type ${JSON.stringify(mediaType)} (allowed: ${MANIFEST_TYPES.join(", ")})`);
    const manifest = parseJson(dir, `manifest ${digest}`, bytes) as { config?: { digest?: string } };
    const config = parseJson(dir, "the image config", readBlob(String(manifest?.config?.digest), "the image config"));
    const platform = platformOf(config, `${dir}: the image config of ${digest}`);
    return { digest, mediaType, platforms: [{ platform, digest, mediaType, size: bytes.length }] };
  }
  const child = parseJson(dir, `index ${digest}`, bytes) as { manifests?: unknown };
  const entries = Array.isArray(child?.manifests) ? (child.manifests as Array<Record<string, unknown>>) : [];
  const platforms: PlatformManifest[] = [];
  entries.forEach((d, i) => {
    const at = `${dir}: index ${digest} manifests[${i}]`;
    const ann = d.annotations as Record<string, unknown> | undefined;
    if (ann?.[BUILDKIT_REFERENCE_TYPE] === BUILDKIT_ATTESTATION) {
      checkBuildkitAttestation(at, d, entries, readBlob);
      return;
    }
    const mt = String(d.mediaType);
    if (mt !== OCI_MANIFEST && mt !== DOCKER_MANIFEST) throw new OciArchiveError(`${at} has media type ${JSON.stringify(d.mediaType)} (allowed: an image manifest; nested indexes are not scanned)`);
    const platform = platformOf(d.platform, at);
    if (platforms.some((p) => p.platform === platform)) throw new OciArchiveError(`${at}: platform ${platform} appears twice`);
    const m = readBlob(String(d.digest), `manifest of ${platform}`);
    platforms.push({ platform, digest: String(d.digest), mediaType: mt, size: m.length });
  });
  if (platforms.length === 0) throw new OciArchiveError(`${dir}: index ${digest} has no platform manifest`);
  return { digest, mediaType, platforms };
}

// BuildKit's attestation manifests (moby/buildkit v0.34.2: util/attestation/types.go,
// exporter/containerimage/writer.go commitAttestationsManifest, attestations.go
// intotoPlatform): an image manifest whose index entry has platform
// unknown/unknown and the annotations vnd.docker.reference.type
// attestation-manifest and vnd.docker.reference.digest (the platform manifest it
// describes), whose layers are all in-toto statements, and whose config is an
// image config of platform unknown/unknown or, as an OCI artifact, the empty
// descriptor. No runtime pulls it for a platform, so it is not scanned; anything
// else that carries the annotation is refused, never skipped.
const BUILDKIT_REFERENCE_TYPE = "vnd.docker.reference.type";
const BUILDKIT_REFERENCE_DIGEST = "vnd.docker.reference.digest";
const BUILDKIT_ATTESTATION = "attestation-manifest";
const IN_TOTO_LAYER = "application/vnd.in-toto+json";
const OCI_CONFIG = "application/vnd.oci.image.config.v1+json";
const DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json";
const OCI_EMPTY = "application/vnd.oci.empty.v1+json";

function checkBuildkitAttestation(at: string, d: Record<string, unknown>, entries: ReadonlyArray<Record<string, unknown>>, readBlob: BlobReader): void {
  const not = (why: string): never => fail(`${at} is annotated as a BuildKit attestation, but ${why}: it is neither scanned nor skipped`);
  const p = d.platform as Record<string, unknown> | undefined;
  if (!p || typeof p !== "object" || p.os !== "unknown" || p.architecture !== "unknown" || Object.keys(p).some((k) => k !== "os" && k !== "architecture")) {
    not(`its platform is ${JSON.stringify(p ?? null).slice(0, 80)} (BuildKit writes exactly unknown/unknown)`);
  }
  const mt = String(d.mediaType);
  if (mt !== OCI_MANIFEST && mt !== DOCKER_MANIFEST) not(`its media type is ${JSON.stringify(d.mediaType)} (BuildKit writes an image manifest)`);
  const ref = (d.annotations as Record<string, unknown>)[BUILDKIT_REFERENCE_DIGEST];
  const target = entries.find((e) => e.digest === ref);
  if (typeof ref !== "string" || !DIGEST_PATTERN.test(ref) || !target || (target.annotations as Record<string, unknown> | undefined)?.[BUILDKIT_REFERENCE_TYPE] !== undefined) {
    not(`its ${BUILDKIT_REFERENCE_DIGEST} ${JSON.stringify(ref ?? null).slice(0, 80)} is not a platform manifest of this index`);
  }
  const manifest = parseJson(at, "the attestation manifest", readBlob(String(d.digest), "the attestation manifest")) as { layers?: unknown; config?: { mediaType?: unknown; digest?: unknown } };
  const layers = Array.isArray(manifest?.layers) ? (manifest.layers as Array<Record<string, unknown>>) : [];
  if (layers.length === 0) not("it has no layers (BuildKit writes one in-toto statement per layer)");
  layers.forEach((l, j) => {
    if (l?.mediaType !== IN_TOTO_LAYER) not(`its layers[${j}] has media type ${JSON.stringify(l?.mediaType ?? null)} (BuildKit writes ${IN_TOTO_LAYER} only)`);
  });
  const configType = manifest.config?.mediaType;
  if (configType === OCI_CONFIG || configType === DOCKER_CONFIG) {
    const config = parseJson(at, "the attestation config", readBlob(String(manifest.config?.digest), "the attestation config")) as Record<string, unknown>;
    if (config?.os !== "unknown" || config?.architecture !== "unknown") not(`its config names the platform ${JSON.stringify(`${config?.os}/${config?.architecture}`)} (BuildKit writes unknown/unknown)`);
  } else if (configType !== OCI_EMPTY) {
    not(`its config has media type ${JSON.stringify(configType ?? null)} (BuildKit writes an image config or ${OCI_EMPTY})`);
  }
}

// ---------------------------------------------------------------------------
// Layers against their diff_ids. Trivy caches what it found in a layer under
// the layer's diff_id from the image config (pkg/fanal/artifact/image), and
// does not recompute it: a layer whose bytes are not what its diff_id says
// would be reported as the layer the diff_id names, from the cache. So every
// layer is decompressed and hashed here, before Trivy sees the layout.

/** Layer media types and how their bytes are compressed (OCI image-spec layer.md, Docker image manifest v2.2). */
const LAYER_TYPES: Readonly<Record<string, "none" | "gzip" | "zstd">> = {
  "application/vnd.oci.image.layer.v1.tar": "none",
  "application/vnd.oci.image.layer.v1.tar+gzip": "gzip",
  "application/vnd.oci.image.layer.v1.tar+zstd": "zstd",
  "application/vnd.docker.image.rootfs.diff.tar.gzip": "gzip",
};

/** The sha256 of a layer file's bytes and of its uncompressed bytes. */
async function layerDigests(file: string, compression: "none" | "gzip" | "zstd"): Promise<{ blob: string; diffId: string }> {
  const blob = createHash("sha256");
  const diff = createHash("sha256");
  const tee = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      blob.update(chunk);
      cb(null, chunk);
    },
  });
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      diff.update(chunk);
      cb();
    },
  });
  if (compression === "none") await pipeline(fs.createReadStream(file), tee, sink);
  else await pipeline(fs.createReadStream(file), tee, compression === "gzip" ? zlib.createGunzip() : zlib.createZstdDecompress(), sink);
  return { blob: `sha256:${blob.digest("hex")}`, diffId: `sha256:${diff.digest("hex")}` };
}

/**
 * Fails unless every layer of every platform manifest in the layout is
 * there, hashes to its descriptor's digest, and decompresses to the diff_id
 * its image config lists at the same position.
 */
export async function verifyLayers(dir: string, image: LayoutImage): Promise<void> {
  const readBlob = layoutBlobs(dir);
  for (const p of image.platforms) {
    const at = `${dir}: ${p.platform} (${p.digest})`;
    const manifest = parseJson(dir, `manifest ${p.digest}`, readBlob(p.digest, `manifest of ${p.platform}`)) as { config?: { digest?: unknown }; layers?: unknown };
    const config = parseJson(dir, `config of ${p.platform}`, readBlob(String(manifest?.config?.digest), `the image config of ${p.platform}`)) as { rootfs?: { diff_ids?: unknown } };
    const layers = Array.isArray(manifest?.layers) ? (manifest.layers as Array<Record<string, unknown>>) : fail(`${at}: the manifest has no layers list`);
    const diffIds = Array.isArray(config?.rootfs?.diff_ids) ? (config.rootfs.diff_ids as unknown[]) : fail(`${at}: the image config has no rootfs.diff_ids`);
    if (layers.length !== diffIds.length) fail(`${at}: ${layers.length} layers but ${diffIds.length} diff_ids in the image config`);
    for (const [i, l] of layers.entries()) {
      const digest = String(l?.digest);
      const compression = LAYER_TYPES[String(l?.mediaType)];
      if (compression === undefined) fail(`${at}: layers[${i}] has media type ${JSON.stringify(l?.mediaType ?? null)} (allowed: ${Object.keys(LAYER_TYPES).join(", ")})`);
      if (!DIGEST_PATTERN.test(digest)) fail(`${at}: layers[${i}] has digest ${JSON.stringify(digest)} (allowed: sha256:<64 hex>)`);
      const file = path.join(dir, "blobs", "sha256", digest.slice(7));
      if (!fs.existsSync(file)) fail(`${at}: layers[${i}] ${digest} is not in the layout`);
      let got: { blob: string; diffId: string };
      try {
        got = await layerDigests(file, compression);
      } catch (e) {
        throw new OciArchiveError(`${at}: layers[${i}] ${digest} does not decompress as ${compression} (${(e as Error).message})`);
      }
      if (got.blob !== digest) fail(`${at}: layers[${i}] ${digest}: its bytes hash to ${got.blob}`);
      if (got.diffId !== diffIds[i]) {
        fail(`${at}: layers[${i}] ${digest} decompresses to ${got.diffId}, but the image config's diff_ids[${i}] is ${JSON.stringify(diffIds[i])}: Trivy would report another layer's contents; nothing was scanned`);
      }
    }
  }
}

/** index.json of the scan layout: every platform manifest as a top-level entry, so `--input DIR@<digest>` picks it. */
export function writeScanIndex(dir: string, image: LayoutImage): void {
  const manifests = image.platforms.map((p) => {
    const [os, architecture, variant] = p.platform.split("/");
    return { mediaType: p.mediaType, digest: p.digest, size: p.size, platform: { os, architecture, ...(variant ? { variant } : {}) } };
  });
  fs.writeFileSync(path.join(dir, "index.json"), JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests }));
}

function fail(message: string): never {
  throw new OciArchiveError(message);
}
