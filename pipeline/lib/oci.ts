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
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";

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

function platformName(p: unknown): string | undefined {
  if (!p || typeof p !== "object") return undefined;
  const { os: o, architecture: a, variant: v } = p as Record<string, unknown>;
  if (typeof o !== "string" || typeof a !== "string" || o === "" || a === "" || o === "unknown" || a === "unknown") return undefined;
  return [o, a, ...(typeof v === "string" && v !== "" ? [v] : [])].join("/");
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
    const platform = platformName(config) ?? fail(`${dir}: the image config of ${digest} names no os/architecture`);
    return { digest, mediaType, platforms: [{ platform, digest, mediaType, size: bytes.length }] };
  }
  const child = parseJson(dir, `index ${digest}`, bytes) as { manifests?: unknown };
  const entries = Array.isArray(child?.manifests) ? (child.manifests as Array<Record<string, unknown>>) : [];
  const platforms: PlatformManifest[] = [];
  entries.forEach((d, i) => {
    const ann = d.annotations as Record<string, unknown> | undefined;
    if (ann?.["vnd.docker.reference.type"] === "attestation-manifest") return;
    const at = `${dir}: index ${digest} manifests[${i}]`;
    const mt = String(d.mediaType);
    if (mt !== OCI_MANIFEST && mt !== DOCKER_MANIFEST) throw new OciArchiveError(`${at} has media type ${JSON.stringify(d.mediaType)} (allowed: an image manifest; nested indexes are not scanned)`);
    const platform = platformName(d.platform) ?? fail(`${at} names no platform (os/architecture): it cannot be scanned as one`);
    if (platforms.some((p) => p.platform === platform)) throw new OciArchiveError(`${at}: platform ${platform} appears twice`);
    const m = readBlob(String(d.digest), `manifest of ${platform}`);
    platforms.push({ platform, digest: String(d.digest), mediaType: mt, size: m.length });
  });
  if (platforms.length === 0) throw new OciArchiveError(`${dir}: index ${digest} has no platform manifest`);
  return { digest, mediaType, platforms };
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
