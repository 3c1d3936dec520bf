/**
 * The inventory: what the fleet is, as data. It is the `inventory` stack
 * output, `DIR/inventory.json` of `npm run render`, and the input of
 * `npm run report`. Pure: computed from ResolvedMirrors and their rendered
 * files, with the day passed in so that waiver "days left" are testable.
 */
import { MIRROR_PATHS } from "./mirror-config";
import { PIPELINE_PATHS } from "./pipeline-action";
import { sha256, daysUntil } from "./spec";
import type { RenderedFiles, ResolvedMirror } from "./types";

export interface InventoryWaiver {
  readonly id: string;
  readonly reason: string;
  readonly expires: string;
  /** Days from the deploy that wrote this inventory to `expires`. */
  readonly daysLeft: number;
  readonly approvedBy: string;
  readonly approvedOn?: string;
  readonly status: "not_affected" | "affected";
  readonly justification?: string;
  /** The scope: absent, the waiver covers the id in every package and path. */
  readonly purls?: readonly string[];
  readonly paths?: readonly string[];
}

export interface InventoryEntry {
  readonly name: string;
  /** `owner/repo` of the mirror repository. */
  readonly repository: string;
  readonly repositoryUrl: string;
  readonly visibility: "private" | "public";
  readonly image: string;
  readonly upstream: { readonly repo: string; readonly url: string; readonly license: string };
  readonly tagPolicy: { readonly range: string; readonly prerelease: boolean; readonly prefix: string };
  readonly schedule: { readonly build: string; readonly rescan: string; readonly health: string };
  /** `scans`: which scans block; `sourceOffReason`: why the source scan does not, when it does not. */
  readonly gate: { readonly severities: readonly string[]; readonly fixedOnly: boolean; readonly scans: readonly string[]; readonly sourceOffReason?: string };
  readonly waivers: readonly InventoryWaiver[];
  /** CODEOWNERS: who reviews its pin pull requests. */
  readonly reviewers: readonly string[];
  readonly platforms: readonly string[];
  readonly notify: readonly string[];
  /** `sha256`: of `path`, the file that is built (with its generated header); `sourceSha256`: of `source` in this repository. */
  readonly override: {
    readonly path: string;
    readonly sha256: string;
    readonly source: string;
    readonly sourceSha256: string;
    readonly basePins: readonly string[];
  } | null;
  readonly attestations: boolean;
  readonly branchProtection: boolean;
  /** cosign signs and attests what the mirror pushes (the stack sets a fleet key). */
  readonly signing: boolean;
  /** sha256 of every generated file, by path in the mirror repository. */
  readonly files: Readonly<Record<string, string>>;
  /** Upstream health as of the last deploy, when it was computed (see infra/). */
  readonly health?: {
    readonly checkedAt: string;
    readonly archived: boolean;
    readonly daysSinceCommit: number | null;
    readonly daysSinceRelease: number | null;
    readonly healthy: boolean;
    readonly reasons: readonly string[];
  };
}

export interface FleetSummary {
  readonly count: number;
  readonly waivers: number;
  /** Waivers whose expiry date is within the notice period, with their mirror. */
  readonly waiversExpiringSoon: ReadonlyArray<{ readonly mirror: string; readonly id: string; readonly expires: string; readonly daysLeft: number }>;
  readonly noticeDays: number;
}

/**
 * The fleet's one pipeline (components/pipeline-action.ts): the repository,
 * the commit every mirror's workflow runs it at, the bundle's sha256, and
 * the sha256 of each of its files. `commit` is null when not known (a render
 * without the stack's commit).
 */
export interface PipelineInventory {
  readonly repository: string;
  readonly commit: string | null;
  readonly bundleSha256: string;
  readonly files: Readonly<Record<string, string>>;
}

export interface Inventory {
  readonly generatedFor: string;
  /** Absent in inventories written before the pipeline had a repository of its own. */
  readonly pipeline?: PipelineInventory;
  readonly mirrors: readonly InventoryEntry[];
  readonly summary: FleetSummary;
}

export function inventoryEntry(m: ResolvedMirror, files: RenderedFiles, today: Date): InventoryEntry {
  return {
    name: m.name,
    repository: `${m.owner}/${m.repo}`,
    repositoryUrl: `${m.serverUrl}/${m.owner}/${m.repo}`,
    visibility: m.visibility,
    image: m.image,
    upstream: { repo: m.upstream.fullName, url: m.upstream.url, license: m.upstream.license },
    tagPolicy: m.upstream.tags,
    schedule: m.cron,
    gate: { severities: m.gate.severities, fixedOnly: m.gate.fixedOnly, scans: m.gate.scans, ...(m.gate.sourceOffReason ? { sourceOffReason: m.gate.sourceOffReason } : {}) },
    waivers: inventoryWaivers(m, today),
    reviewers: m.reviewers,
    platforms: m.build.platforms,
    notify: m.notify,
    override: m.override
      ? {
          path: MIRROR_PATHS.override,
          sha256: sha256(files.find((f) => f.path === MIRROR_PATHS.override)!.content),
          source: m.override.source,
          sourceSha256: m.override.sha256,
          basePins: m.override.basePins,
        }
      : null,
    attestations: m.attestations,
    branchProtection: m.branchProtection,
    signing: m.signing !== null,
    files: Object.fromEntries(files.map((f) => [f.path, sha256(f.content)])),
  };
}

/** The mirror's waivers with the days left on `today`. */
export function inventoryWaivers(m: ResolvedMirror, today: Date): InventoryWaiver[] {
  return m.gate.waivers.map((w) => ({
    id: w.id,
    reason: w.reason,
    expires: w.expires,
    daysLeft: daysUntil(w.expires, today),
    approvedBy: w.approvedBy,
    ...(w.approvedOn ? { approvedOn: w.approvedOn } : {}),
    status: w.status,
    ...(w.justification ? { justification: w.justification } : {}),
    ...(w.purls ? { purls: w.purls } : {}),
    ...(w.paths ? { paths: w.paths } : {}),
  }));
}

/** The pipeline's inventory from its rendered files (components/pipeline-action.ts). */
export function pipelineInventory(repository: string, files: RenderedFiles, commit: string | null): PipelineInventory {
  const bundle = files.find((f) => f.path === PIPELINE_PATHS.bundle);
  if (!bundle) throw new Error(`pipeline inventory: no ${PIPELINE_PATHS.bundle} among ${files.map((f) => f.path).join(", ")}`);
  return { repository, commit, bundleSha256: sha256(bundle.content), files: Object.fromEntries(files.map((f) => [f.path, sha256(f.content)])) };
}

/** Counts and soon-expiring waivers; reads only each entry's name and waivers. */
export function fleetSummary(entries: ReadonlyArray<Pick<InventoryEntry, "name" | "waivers">>, noticeDays: number): FleetSummary {
  const expiring = entries.flatMap((e) =>
    e.waivers.filter((w) => w.daysLeft <= noticeDays).map((w) => ({ mirror: e.name, id: w.id, expires: w.expires, daysLeft: w.daysLeft })),
  );
  return {
    count: entries.length,
    waivers: entries.reduce((n, e) => n + e.waivers.length, 0),
    waiversExpiringSoon: expiring,
    noticeDays,
  };
}
