/**
 * Push the scanned OCI archive to the registry and prove that the registry
 * now serves exactly the scanned digest (DESIGN invariant 1). Order matters:
 * the image goes up by digest first (a digest cannot point at anything else),
 * is read back and hashed, and only then does the human-readable tag move,
 * copied registry-side from that verified digest. A mismatch anywhere stops
 * before the tag is touched, so nothing downstream can pin it.
 */
import { createHash } from "node:crypto";
import { DIGEST_PATTERN, sha256Digest, type LayoutImage, type OciArchiveInfo } from "./oci";
import { ScanRecordError, type ScanRecord } from "./scan";

/** Runs `skopeo` with these arguments and returns its stdout bytes; rejects with stderr in the message. */
export type Skopeo = (args: readonly string[]) => Promise<Buffer>;

export class DigestMismatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DigestMismatchError";
  }
}

/** A registry repository with an explicit host: `ghcr.io/ns/name`, `127.0.0.1:5000/ns/name`. No tag, no digest. */
const IMAGE_PATTERN =
  /^(?:localhost|[a-z0-9-]+(?:\.[a-z0-9-]+)+)(?::[0-9]{1,5})?(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)+$/;
/** The pipeline's strict upstream tag pattern (cli contract). */
export const TAG_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._+/-]{0,127}$/;
/** What a registry accepts as a tag (OCI distribution spec). */
const REGISTRY_TAG_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

export function checkImage(image: string): string {
  if (!IMAGE_PATTERN.test(image)) {
    throw new Error(
      `--image ${JSON.stringify(image)} is not allowed (allowed: a registry repository with its host and no tag or digest, e.g. ghcr.io/acme/gokapi)`,
    );
  }
  return image;
}

/** The form of a registry tag that carries a hash of its git name. */
const HASHED_TAG = /_[0-9a-f]{16}$/;

/**
 * The registry tag for an upstream tag: one registry tag per git tag. Git tags
 * may hold `+` and `/` (`v1.2.3+build`, `photos/v1.3.57`), registry tags may
 * not; they become `-`, and since `v2.2.5+evil` and `v2.2.5-evil` would then
 * share a tag, such a name also gets `_` and 16 hex of the sha256 of the git
 * name (as does a name that already ends like that). Other names stay as they are.
 */
export function registryTag(upstreamTag: string): string {
  if (!TAG_PATTERN.test(upstreamTag)) {
    throw new Error(`--tag ${JSON.stringify(upstreamTag)} is not allowed (allowed: ${TAG_PATTERN.source})`);
  }
  const readable = upstreamTag.replace(/[^A-Za-z0-9_.-]/g, "-");
  const tag =
    readable === upstreamTag && !HASHED_TAG.test(upstreamTag)
      ? upstreamTag
      : `${readable.slice(0, 111)}_${createHash("sha256").update(upstreamTag).digest("hex").slice(0, 16)}`;
  if (!REGISTRY_TAG_PATTERN.test(tag)) throw new Error(`--tag ${JSON.stringify(upstreamTag)} cannot be a registry tag (${REGISTRY_TAG_PATTERN.source})`);
  return tag;
}

export interface PublishInput {
  /** Absolute path of the OCI archive. */
  readonly archive: string;
  readonly info: OciArchiveInfo;
  readonly image: string;
  /** The upstream tag (git); the registry tag is derived from it. */
  readonly tag: string;
  /** The digest the scan job recorded. */
  readonly digest: string;
  readonly tlsVerify: boolean;
  /** skopeo auth file (`{"auths":{…}}`), when credentials were given. */
  readonly authFile?: string;
  /** A file skopeo may write the pushed digest to. */
  readonly digestFile: string;
  readonly readDigestFile: () => string;
  readonly log: (line: string) => void;
}

export interface PublishResult {
  readonly image: string;
  readonly digest: string;
  /** `image@digest`: what image-pin.yml and the cluster use. */
  readonly ref: string;
  /** The registry tag that now points at the digest. */
  readonly tag: string;
}

export async function publishArchive(input: PublishInput, skopeo: Skopeo): Promise<PublishResult> {
  const { archive, info, image, digest, log } = input;
  if (!DIGEST_PATTERN.test(digest)) throw new Error(`--digest ${JSON.stringify(digest)} is not allowed (allowed: sha256:<64 hex>)`);
  const tag = registryTag(input.tag);
  if (archive.includes(":")) throw new Error(`--archive ${archive}: a path with ':' cannot be an oci-archive reference; move the file`);
  if (info.digest !== digest) {
    throw new DigestMismatchError(
      `${archive} holds ${info.digest}, but the scanned digest is ${digest}: this is not the archive that was scanned; nothing was pushed`,
    );
  }
  const ref = `${image}@${digest}`;
  const tls = `${input.tlsVerify}`;
  const all = info.isIndex ? ["--all"] : [];
  const destAuth = input.authFile ? ["--dest-authfile", input.authFile] : [];
  const srcAuth = input.authFile ? ["--src-authfile", input.authFile] : [];
  const auth = input.authFile ? ["--authfile", input.authFile] : [];
  const common = ["--retry-times", "3", "--preserve-digests", ...all];

  const readBack = async (what: string): Promise<string> =>
    sha256Digest(await skopeo(["inspect", "--raw", "--retry-times", "3", `--tls-verify=${tls}`, ...auth, `docker://${what}`]));

  log(`pushing ${archive} to ${ref}`);
  await skopeo(["copy", "--quiet", ...common, `--dest-tls-verify=${tls}`, ...destAuth, "--digestfile", input.digestFile,
    `oci-archive:${archive}`, `docker://${ref}`]);
  const written = input.readDigestFile().trim();
  if (written !== digest) {
    throw new DigestMismatchError(`skopeo wrote ${written || "no digest"} for ${ref}, not the scanned ${digest}; the tag was not moved`);
  }
  const served = await readBack(ref);
  if (served !== digest) {
    throw new DigestMismatchError(`the registry serves ${served} for ${ref}, not the scanned ${digest}; the tag was not moved`);
  }
  log(`registry serves ${served} by digest; tagging ${image}:${tag}`);
  await skopeo(["copy", "--quiet", ...common, `--src-tls-verify=${tls}`, `--dest-tls-verify=${tls}`, ...srcAuth, ...destAuth,
    `docker://${ref}`, `docker://${image}:${tag}`]);
  const tagged = await readBack(`${image}:${tag}`);
  if (tagged !== digest) {
    throw new DigestMismatchError(`${image}:${tag} resolves to ${tagged} after tagging, not the scanned ${digest}; do not pin it`);
  }
  log(`registry serves ${tagged} for ${image}:${tag}`);
  return { image, digest, ref, tag };
}

/**
 * An archive is pushed only when the scan record shows every platform of it
 * scanned: the same index digest, the same platform manifests, a report for
 * each (and the source's, when it was scanned). Throws ScanRecordError naming
 * what is missing; nothing has been pushed then.
 */
export function checkScanned(record: ScanRecord, image: LayoutImage, archive: string): void {
  const no = (why: string): never => {
    throw new ScanRecordError(`${archive} was not scanned as a whole: ${why}; nothing was pushed`);
  };
  if (record.kind !== "build") no(`the scan record is of a ${record.kind}, not of the build`);
  if (record.image.digest !== image.digest) no(`the scan record is of ${record.image.digest}, the archive holds ${image.digest}`);
  const scanned = new Map(record.platforms.filter((p) => p.report !== undefined).map((p) => [p.platform, p.digest]));
  const missing = image.platforms.filter((p) => scanned.get(p.platform) !== p.digest).map((p) => `${p.platform} (${p.digest})`);
  if (missing.length > 0) no(`no report for ${missing.join(", ")}`);
  if (!("skipped" in record.source) && record.source.report === undefined) no(`the source scan has no report`);
}
