/**
 * Signatures and attestations in the registry, next to the pushed image, with
 * cosign and the fleet's key pair: they need no GitHub plan feature, so a
 * private mirror on the Team plan gets them too (GitHub's artifact
 * attestations stay an option where the plan has them).
 *
 * Every digest that was scanned is signed: the index (what image-pin.yml
 * pins) and each platform's manifest (what a node pulls). The attestations
 * are in-toto statements: each platform's CycloneDX SBOM (type cyclonedx) on
 * its manifest and on the index, and the scan-gate predicate (type
 * SCAN_GATE_PREDICATE_TYPE, docs/evidence.md) on all of them.
 *
 * Offline: `--tlog-upload=false`, nothing goes to a transparency log (Rekor),
 * so a verifier passes `--insecure-ignore-tlog`; the trust is the fleet's
 * public key alone (cosign.pub in each mirror repository).
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { DIGEST_PATTERN } from "./oci";
import type { ScanRecord } from "./scan";

export const SCAN_GATE_PREDICATE_TYPE = "https://mirror-fleet.dev/scan-gate/v1";
/** cosign's short name for the CycloneDX predicate type (https://cyclonedx.org/bom). */
export const SBOM_TYPE = "cyclonedx";

/** Runs `cosign` with these arguments; resolves with stdout, rejects with stderr in the message. */
export type Cosign = (args: readonly string[]) => Promise<string>;

export class SignError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SignError";
  }
}

export interface FileDigest {
  /** The file's name in the audit bundle. */
  readonly name: string;
  readonly sha256: string;
}

export interface ScanGatePredicate {
  readonly decision: "pass";
  /** `build`: the scan before the push; `rescan`: the nightly scan of the pinned digest against that day's DB. */
  readonly scan: ScanRecord["kind"];
  readonly image: {
    readonly name: string;
    readonly digest: string;
    readonly mediaType: string;
    readonly platforms: ReadonlyArray<{ readonly platform: string; readonly digest: string }>;
  };
  /** One entry per scan: each platform and the source (unless skipped). */
  readonly reports: ReadonlyArray<{ readonly scan: string; readonly report: FileDigest; readonly sarif: FileDigest; readonly sbom: FileDigest }>;
  readonly sourceScan: "scanned" | { readonly skipped: string };
  readonly gate: {
    readonly result: FileDigest;
    readonly scanRecord: FileDigest;
    readonly severities: readonly string[];
    readonly fixedOnly: boolean;
    /** The day waivers were judged against (YYYY-MM-DD). */
    readonly today: string | null;
    /** When the gate decided (UTC, RFC 3339): admission holds the pass for the stack's window from then. */
    readonly decidedAt: string;
    readonly bySeverity: Readonly<Record<string, number>>;
    readonly blocking: 0;
  };
  readonly waivers: ReadonlyArray<{ readonly id: string; readonly reason: string | null; readonly expires: string | null }>;
  readonly scanner: {
    readonly name: "trivy";
    readonly version: string | null;
    readonly db: { readonly version: number | null; readonly updatedAt: string | null; readonly nextUpdate: string | null };
  };
  readonly upstream: { readonly repo: string | null; readonly tag: string; readonly commit: string };
  /** The diff review the drift gate showed and the patch it summarises; null when not given. */
  readonly review: { readonly summary: FileDigest; readonly diff: FileDigest } | null;
  readonly runUrl: string | null;
}

export function fileDigest(file: string, name = path.basename(file)): FileDigest {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (e) {
    throw new SignError(`${name}: cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); nothing was signed`);
  }
  return { name, sha256: createHash("sha256").update(bytes).digest("hex") };
}

export interface PredicateInput {
  /** Which scan is attested: the build's, or the nightly rescan's of the pinned digest. @default "build" */
  readonly kind?: ScanRecord["kind"];
  readonly image: string;
  readonly digest: string;
  readonly record: ScanRecord;
  /** The scan record's folder: report paths in the record are relative to it. */
  readonly recordDir: string;
  readonly recordFile: string;
  /** The gate's JSON result, parsed, and its file. */
  readonly gate: Record<string, unknown>;
  readonly gateFile: string;
  readonly upstream: { readonly repo: string | null; readonly tag: string; readonly commit: string };
  readonly review: { readonly summary: string; readonly diff: string } | null;
  readonly runUrl: string | null;
}

/**
 * The scan-gate predicate from what the build job wrote (scan.json, gate.json,
 * the diff review). Fails closed: a gate that did not pass, or a record or
 * gate result of another digest, or a platform without its reports, signs nothing.
 */
export function scanGatePredicate(input: PredicateInput): ScanGatePredicate {
  const { record, gate, digest } = input;
  const gateName = path.basename(input.gateFile);
  const no = (why: string): never => {
    throw new SignError(`${why}; nothing was signed`);
  };
  if (!DIGEST_PATTERN.test(digest)) no(`--digest ${JSON.stringify(digest)} is not allowed (allowed: sha256:<64 hex>)`);
  const kind = input.kind ?? "build";
  if (record.kind !== kind) no(`${path.basename(input.recordFile)}: kind is ${record.kind}, not ${kind}: ${kind === "build" ? "only a build's scan is signed" : "only the rescan's own scan is re-attested"}`);
  if (record.image.digest !== digest) no(`${path.basename(input.recordFile)} is of ${record.image.digest}, not of the pushed ${digest}`);
  const blocking = Array.isArray(gate.blocking) ? gate.blocking.length : -1;
  const unusable = Array.isArray(gate.unusable) ? gate.unusable.length : -1;
  if (gate.decision !== "pass" || blocking !== 0 || unusable !== 0) {
    no(`${gateName}: decision ${JSON.stringify(gate.decision)} with ${blocking} blocking finding(s): only a passing gate is attested`);
  }
  const gscan = gate.scan as { digest?: unknown } | undefined;
  if (gscan?.digest !== digest) no(`${gateName}: scan.digest is ${JSON.stringify(gscan?.digest ?? null)}, not the pushed ${digest}`);
  const decidedAt = gate.decidedAt;
  if (typeof decidedAt !== "string" || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/.test(decidedAt) || Number.isNaN(Date.parse(decidedAt))) {
    no(`${gateName}: decidedAt: ${JSON.stringify(decidedAt ?? null)} is not allowed (allowed: the UTC time the gate decided, as gate writes it)`);
  }
  const policy = (gate.policy ?? {}) as { severities?: unknown; fixedOnly?: unknown; today?: unknown };
  const counts = (gate.counts ?? {}) as { bySeverity?: unknown };
  const bySeverity = counts.bySeverity;
  if (!bySeverity || typeof bySeverity !== "object" || Object.values(bySeverity).some((n) => typeof n !== "number")) {
    no(`${gateName}: counts.bySeverity: ${JSON.stringify(bySeverity ?? null)} is not allowed (allowed: a count per severity)`);
  }

  const inDir = (f: string | undefined, what: string): FileDigest => {
    if (f === undefined) no(`${path.basename(input.recordFile)}: ${what} has no such file`);
    return fileDigest(path.join(input.recordDir, f!), f!);
  };
  const reports: Array<ScanGatePredicate["reports"][number]> = [];
  for (const p of record.platforms) {
    if (p.report === undefined) no(`${path.basename(input.recordFile)}: ${p.platform} has no report${p.error ? ` (${p.error})` : ""}`);
    reports.push({ scan: p.platform, report: inDir(p.report, `${p.platform} report`), sarif: inDir(p.sarif, `${p.platform} SARIF`), sbom: inDir(p.sbom, `${p.platform} SBOM`) });
  }
  if (!("skipped" in record.source)) {
    const s = record.source;
    if (s.report === undefined) no(`${path.basename(input.recordFile)}: the source has no report${s.error ? ` (${s.error})` : ""}`);
    reports.push({ scan: "source", report: inDir(s.report, "source report"), sarif: inDir(s.sarif, "source SARIF"), sbom: inDir(s.sbom, "source SBOM") });
  }

  const waivers = new Map<string, ScanGatePredicate["waivers"][number]>();
  for (const f of (Array.isArray(gate.waived) ? gate.waived : []) as Array<{ id?: unknown; statement?: unknown; expiredAt?: unknown }>) {
    if (typeof f.id !== "string") no(`${gateName}: waived: a finding without an id`);
    if (!waivers.has(f.id as string)) {
      waivers.set(f.id as string, {
        id: f.id as string,
        reason: typeof f.statement === "string" ? f.statement : null,
        expires: typeof f.expiredAt === "string" ? f.expiredAt : null,
      });
    }
  }

  return {
    decision: "pass",
    scan: kind,
    image: {
      name: input.image,
      digest,
      mediaType: record.image.mediaType,
      platforms: record.platforms.map((p) => ({ platform: p.platform, digest: p.digest })),
    },
    reports,
    sourceScan: "skipped" in record.source ? { skipped: record.source.skipped } : "scanned",
    gate: {
      result: fileDigest(input.gateFile, gateName),
      scanRecord: fileDigest(input.recordFile, path.basename(input.recordFile)),
      severities: Array.isArray(policy.severities) ? (policy.severities as string[]) : [],
      fixedOnly: policy.fixedOnly === true,
      today: typeof policy.today === "string" ? policy.today : null,
      decidedAt: decidedAt as string,
      bySeverity: bySeverity as Record<string, number>,
      blocking: 0,
    },
    waivers: [...waivers.values()].sort((a, b) => a.id.localeCompare(b.id)),
    scanner: { name: "trivy", version: record.trivy.version, db: record.db },
    upstream: input.upstream,
    review: input.review ? { summary: fileDigest(input.review.summary), diff: fileDigest(input.review.diff) } : null,
    runUrl: input.runUrl,
  };
}

export interface Attestation {
  readonly subject: string;
  readonly type: string;
  /** The predicate file handed to cosign. */
  readonly predicate: string;
}

export interface SignPlan {
  /** `image@digest` of every digest to sign: the index first, then each platform's manifest. */
  readonly subjects: readonly string[];
  readonly attestations: readonly Attestation[];
  /** False for a rescan: the digests were signed when they were built; only the scan-gate result is attested anew. */
  readonly sign: boolean;
}

/**
 * What to sign and attest: every scanned digest gets a signature and the
 * scan-gate predicate; each platform's SBOM goes on its own manifest and on
 * the index (what a cluster admits by; `verify-attestation --type cyclonedx`
 * of the pinned digest then returns one SBOM per platform).
 */
export function signPlan(image: string, record: ScanRecord, recordDir: string, predicateFile: string): SignPlan {
  const index = `${image}@${record.image.digest}`;
  const platforms = record.platforms.map((p) => ({ ref: `${image}@${p.digest}`, sbom: p.sbom === undefined ? undefined : path.join(recordDir, p.sbom) }));
  // A single-platform image's "index" is its only manifest: one subject, not two.
  const subjects = [index, ...platforms.map((p) => p.ref).filter((r) => r !== index)];
  const attestations: Attestation[] = [];
  const build = record.kind === "build";
  if (build) {
    for (const p of platforms) {
      attestations.push({ subject: p.ref, type: SBOM_TYPE, predicate: p.sbom! });
      if (p.ref !== index) attestations.push({ subject: index, type: SBOM_TYPE, predicate: p.sbom! });
    }
  }
  for (const s of subjects) attestations.push({ subject: s, type: SCAN_GATE_PREDICATE_TYPE, predicate: predicateFile });
  return { subjects, attestations, sign: build };
}

/** The PEM body of a public key, whitespace removed: what two copies of one key share. */
export function publicKeyBody(pem: string, shown: string): string {
  const m = /-----BEGIN PUBLIC KEY-----([A-Za-z0-9+/=\s]+)-----END PUBLIC KEY-----/.exec(pem);
  if (!m) throw new SignError(`${shown}: not a PEM public key (allowed: the cosign.pub that cosign generate-key-pair wrote)`);
  return m[1].replace(/\s+/g, "");
}

export interface SignInput {
  readonly plan: SignPlan;
  /** `--key` argument for cosign: `env://COSIGN_PRIVATE_KEY`. */
  readonly key: string;
  /** The committed public key file the signatures must verify with. */
  readonly publicKey: string;
  /** cosign flags for a plain-HTTP test registry, else none. */
  readonly registryFlags: readonly string[];
  readonly log: (line: string) => void;
}

export interface SignResult {
  readonly signed: readonly string[];
  readonly attested: ReadonlyArray<{ readonly subject: string; readonly type: string }>;
  /** Signed offline: nothing was uploaded to a transparency log. */
  readonly tlog: false;
}

/**
 * Signs, attests, then verifies every signature and attestation with the
 * committed public key, as a user of the mirror would: a key pair whose halves
 * do not match (a rotated secret, a stale cosign.pub) fails here, not in the cluster.
 */
export async function signAndAttest(input: SignInput, cosign: Cosign): Promise<SignResult> {
  const { plan, key, registryFlags, log } = input;
  const offline = ["--tlog-upload=false"];
  const verify = ["--key", input.publicKey, "--insecure-ignore-tlog=true", ...registryFlags];
  if (!plan.sign) {
    // A rescan attests digests the build signed: one the fleet key never signed gets nothing.
    for (const s of plan.subjects) {
      try {
        await cosign(["verify", ...verify, s]);
      } catch (e) {
        throw new SignError(`${s} carries no signature that verifies with ${input.publicKey}: nothing was attested (${(e as Error).message})`);
      }
    }
  }
  if (plan.sign) {
    for (const s of plan.subjects) {
      log(`signing ${s}`);
      await cosign(["sign", "--yes", "--key", key, ...offline, ...registryFlags, s]);
    }
  }
  for (const a of plan.attestations) {
    log(`attesting ${a.type} on ${a.subject}`);
    // One scan-gate result per digest, the newest: Kyverno requires every statement of a
    // type to meet the conditions, so an aged one left beside it would deny a fresh pass.
    const replace = a.type === SCAN_GATE_PREDICATE_TYPE ? ["--replace"] : [];
    await cosign(["attest", "--yes", "--key", key, ...offline, ...replace, ...registryFlags, "--type", a.type, "--predicate", a.predicate, a.subject]);
  }
  for (const s of plan.subjects) {
    try {
      await cosign(["verify", ...verify, s]);
    } catch (e) {
      throw new SignError(`${s} was signed, but its signature does not verify with ${input.publicKey}: ${(e as Error).message}`);
    }
  }
  const types = new Map<string, Set<string>>();
  for (const a of plan.attestations) types.set(a.subject, (types.get(a.subject) ?? new Set()).add(a.type));
  for (const [subject, set] of types) {
    for (const type of set) {
      try {
        await cosign(["verify-attestation", ...verify, "--type", type, subject]);
      } catch (e) {
        throw new SignError(`${subject}: the ${type} attestation does not verify with ${input.publicKey}: ${(e as Error).message}`);
      }
    }
  }
  log(`verified ${plan.subjects.length} signature(s) and ${plan.attestations.length} attestation(s) with ${input.publicKey} (no transparency log)`);
  return {
    signed: plan.sign ? plan.subjects : [],
    attested: plan.attestations.map((a) => ({ subject: a.subject, type: a.type })),
    tlog: false,
  };
}

/**
 * The commands anyone runs to verify a pinned digest with the fleet key (the
 * mirror README, the pin pull request). `--insecure-ignore-tlog`: nothing was
 * uploaded to a transparency log, the key alone is the trust.
 */
export function verifyCommands(ref: string, keyFile: string): string[] {
  const common = `--key ${keyFile} --insecure-ignore-tlog`;
  return [
    `cosign verify ${common} ${ref}`,
    `cosign verify-attestation ${common} --type ${SBOM_TYPE} ${ref}`,
    `cosign verify-attestation ${common} --type ${SCAN_GATE_PREDICATE_TYPE} ${ref}`,
  ];
}
