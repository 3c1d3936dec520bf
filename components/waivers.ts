/**
 * A mirror's waivers, declared once in its entry (gate.waivers), become two
 * committed files:
 *
 * - `.trivyignore.yaml`, in Trivy's ignore-file format: the machine half. The
 *   gate reads it itself and applies it as Trivy would (pipeline/lib/trivy.ts;
 *   Trivy is never given it, and runs where no ignore file is). Each entry
 *   carries `expired_at`, so an expired waiver stops covering the finding by
 *   itself, and a `statement` with the reason and who accepted the risk; the
 *   gate refuses an entry without either.
 * - an OpenVEX v0.2.0 document: the same decisions in the exchange format an
 *   auditor or a consumer of the image can read and feed to their own
 *   scanner, attached to the pull request's evidence.
 *
 * Pure and deterministic: no clock, no randomness. The same waivers give the
 * same bytes, so a `pulumi up` that changes no waiver re-commits neither file
 * (DESIGN invariant 6).
 */
import { header } from "./header";
import { MIRROR_PATHS } from "./mirror-config";
import { parseDay, sha256 } from "./spec";
import type { RenderedFiles, ResolvedMirror, ResolvedWaiver } from "./types";
import { toYaml } from "./yaml";

export const OPENVEX_CONTEXT = "https://openvex.dev/ns/v0.2.0";

/**
 * The OpenVEX `timestamp` (when the document was issued) is the newest
 * `approvedOn` of its waivers, at midnight UTC: a real day, recorded in the
 * entry, that moves only when a decision does, so an unchanged waiver list
 * gives the same bytes on every deploy. A wall-clock time would re-commit the
 * file on every `pulumi up`.
 *
 * VEX_UNDATED is used only when no waiver says when it was approved: the
 * epoch is an honest "not recorded", and on the safe side, since any later VEX
 * statement from another source about the same image outranks ours. A mirror
 * without waivers has no document at all (waiverFiles).
 */
export const VEX_UNDATED = "1970-01-01T00:00:00Z";

/** The document's timestamp: the newest approval day of its waivers, else VEX_UNDATED. */
export function vexTimestamp(waivers: readonly ResolvedWaiver[]): string {
  const days = waivers.map((w) => w.approvedOn).filter((d): d is string => d !== undefined).sort();
  return days.length ? `${days[days.length - 1]}T00:00:00Z` : VEX_UNDATED;
}

/**
 * `tooling` says how the document was made, as OpenVEX intends the field: the
 * generator and its input, not a "do not edit" banner that a VEX reader would
 * show as data. (JSON has no comments and the schema allows no other key; the
 * mirror README's "Files" section says which files are generated.)
 */
export function vexTooling(m: ResolvedMirror): string {
  return `mirror-fleet (components/waivers.ts), from ${source(m)} in the fleet repository`;
}

/** Where the waivers are changed: named by both files' headers. */
function source(m: ResolvedMirror): string {
  return `${m.sourceFile} (gate.waivers)`;
}

/**
 * Trivy drops an entry once `expired_at` (midnight UTC) is in the past, while
 * a waiver's `expires` is the last day it still applies. So `expired_at` is
 * the day after: the gate and Trivy agree on the day a finding blocks again.
 */
export function trivyExpiredAt(expires: string): string {
  const d = parseDay(expires);
  if (!d) throw new Error(`waiver expires: ${JSON.stringify(expires)} is not a date (allowed: YYYY-MM-DD)`);
  return new Date(d.getTime() + 86_400_000).toISOString().slice(0, 10);
}

/** Free text from an entry as a sentence, so that composed statements read as prose. */
function sentence(text: string): string {
  const t = text.trim();
  return /[.!?]$/.test(t) ? t : `${t}.`;
}

/** The `statement` of a .trivyignore.yaml entry: the reason, who accepted it, until when. */
export function trivyStatement(w: ResolvedWaiver): string {
  const vex = w.status === "affected" ? `VEX: affected. Action: ${sentence(w.action ?? "")}` : `VEX: not_affected${w.justification ? ` (${w.justification})` : ""}.`;
  return `${sentence(w.reason)} Approved by ${w.approvedBy}; applies through ${w.expires}. ${vex}`;
}

/** `.trivyignore.yaml`: Trivy's YAML ignore format, one entry per waiver, in the entry's order. */
export function renderTrivyignore(m: ResolvedMirror): string {
  const vulnerabilities = m.gate.waivers.map((w) => ({
    id: w.id,
    ...(w.paths?.length ? { paths: [...w.paths] } : {}),
    ...(w.purls?.length ? { purls: [...w.purls] } : {}),
    expired_at: trivyExpiredAt(w.expires),
    statement: trivyStatement(w),
  }));
  const note = vulnerabilities.length
    ? "# Trivy stops applying an entry once expired_at has begun (UTC): the day after the waiver's last day.\n"
    : "# No waivers: every finding the gate's severities select blocks the build.\n";
  return header("#", source(m)) + note + toYaml({ vulnerabilities });
}

/** The image as a package URL (purl-spec, type oci): the last path element is the name. */
export function imagePurl(m: ResolvedMirror): string {
  const name = m.image.slice(m.image.lastIndexOf("/") + 1);
  return `pkg:oci/${name}?repository_url=${m.image}`;
}

/** OpenVEX document v0.2.0, the fields this project writes. */
export interface OpenVexDocument {
  readonly "@context": string;
  readonly "@id": string;
  readonly author: string;
  readonly role: string;
  readonly timestamp: string;
  readonly version: number;
  readonly tooling: string;
  readonly statements: readonly OpenVexStatement[];
}

export interface OpenVexStatement {
  readonly vulnerability: { readonly name: string };
  readonly products: ReadonlyArray<{ readonly "@id": string; readonly subcomponents?: ReadonlyArray<{ readonly "@id": string }> }>;
  readonly status: "not_affected" | "affected";
  readonly justification?: string;
  readonly impact_statement?: string;
  readonly action_statement?: string;
  readonly status_notes: string;
  /** When the waiver was approved, when its entry says. */
  readonly timestamp?: string;
}

function statement(m: ResolvedMirror, w: ResolvedWaiver): OpenVexStatement {
  // A purl scope names the vulnerable component inside the image: that is an
  // OpenVEX subcomponent, and what Trivy matches a statement against.
  const product = { "@id": imagePurl(m), ...(w.purls?.length ? { subcomponents: w.purls.map((p) => ({ "@id": p })) } : {}) };
  // OpenVEX has no file paths: a path-scoped waiver is stated for the whole
  // image, and the notes say how narrow the gate's waiver really is.
  const scope = w.paths?.length ? ` The scan gate applies it only to the paths ${w.paths.join(", ")}.` : "";
  const notes = `Waiver in ${m.sourceFile}, approved by ${w.approvedBy}, applies through ${w.expires}; after that day the mirror's scan gate blocks this finding again.${scope}`;
  const when = w.approvedOn ? { timestamp: `${w.approvedOn}T00:00:00Z` } : {};
  if (w.status === "affected") {
    return {
      ...when,
      vulnerability: { name: w.id },
      products: [product],
      status: "affected",
      action_statement: w.action ?? "",
      status_notes: `${sentence(w.reason)} ${notes}`,
    };
  }
  // Both the machine-readable justification and the human reason: OpenVEX
  // asks for the label and recommends enriching it with the impact statement.
  return {
    ...when,
    vulnerability: { name: w.id },
    products: [product],
    status: "not_affected",
    ...(w.justification ? { justification: w.justification } : {}),
    impact_statement: w.reason,
    status_notes: notes,
  };
}

/**
 * The OpenVEX document as data. `@id` is content-addressed: the mirror
 * repository's copy of the file plus the sha256 of what it states, so a
 * changed waiver is a new document and an unchanged one keeps its id.
 */
export function openVexDocument(m: ResolvedMirror): OpenVexDocument {
  const statements = m.gate.waivers.map((w) => statement(m, w));
  const author = `${m.owner} (mirror-fleet waivers)`;
  const digest = sha256(JSON.stringify({ author, statements }));
  return {
    "@context": OPENVEX_CONTEXT,
    "@id": `${m.serverUrl}/${m.owner}/${m.repo}/blob/HEAD/${MIRROR_PATHS.vex}#sha256-${digest}`,
    author,
    role: "risk acceptance by the mirror's owners",
    timestamp: vexTimestamp(m.gate.waivers),
    version: 1,
    tooling: vexTooling(m),
    statements,
  };
}

/** `.mirror/waivers.openvex.json`. Only for a mirror with waivers: see waiverFiles. */
export function renderOpenVex(m: ResolvedMirror): string {
  return JSON.stringify(openVexDocument(m), null, 2) + "\n";
}

/**
 * The waiver files a mirror commits, in commit order. `.trivyignore.yaml`
 * always (the gate reads it; empty, it says that every selected
 * finding blocks). The OpenVEX document only when there is a waiver: with no
 * statement it would assert nothing, fail the OpenVEX schema (at least one
 * statement) and carry no day it was issued; an auditor would read a
 * document dated 1970. Its absence is the statement: nothing is waived. When
 * the last waiver goes, `pulumi up` deletes the file.
 */
export function waiverFiles(m: ResolvedMirror): RenderedFiles {
  return [
    { path: MIRROR_PATHS.trivyignore, content: renderTrivyignore(m) },
    ...(m.gate.waivers.length ? [{ path: MIRROR_PATHS.vex, content: renderOpenVex(m) }] : []),
  ];
}
