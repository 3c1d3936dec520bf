/**
 * One bench measurement in a fresh process (so that peak memory is this
 * run's alone). `bench/fleet.ts` spawns it; it prints one JSON line.
 *
 *   node --import tsx bench/one.ts measure N   program time, memory, resources and bytes for N mirrors
 *   node --import tsx bench/one.ts churn N     per policy field: resources whose inputs change
 *
 * The program is the real one (infra/program.ts `fleetProgram`) under
 * `pulumi.runtime.setMocks`: every resource registration goes through the
 * Pulumi SDK as in `pulumi up`, only the engine and the provider are mocked.
 */
import { createHash } from "node:crypto";
import * as github from "@pulumi/github";
import * as pulumi from "@pulumi/pulumi";
import * as settings from "@pulumi/pulumi/runtime/settings";
import type { FleetPolicy } from "../components/types";
import { policy as basePolicy } from "../infra/policy";
import { fleetProgram } from "../infra/program";
import { computedOutputs } from "../test/support/pulumi-mocks";
import { syntheticEntries, syntheticReadFile, SYNTHETIC_SETTINGS, SYNTHETIC_WEBHOOKS } from "./synthetic";

export const TODAY = new Date("2026-11-23T00:00:00Z");

export interface Recorded {
  readonly type: string;
  readonly name: string;
  readonly custom: boolean;
  /** Stable JSON of the inputs, secrets unwrapped. */
  readonly inputs: string;
  readonly contentBytes: number;
}

/** Sorted-key JSON, so that two runs with equal inputs give equal strings. */
function stable(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stable).join(",")}]`;
  if (v && typeof v === "object") {
    const o = v as Record<string, unknown>;
    // Secrets arrive wrapped in the SDK's signature object: compare what they hold.
    if (o["4dabf18193072939515e22adb298388d"] === "1b47061264138c4ac30d75fd1eb44270") return stable(o.value);
    return `{${Object.keys(o)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stable(o[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(v) ?? "null";
}

/** Runs the fleet program for `n` synthetic mirrors under fresh mocks; returns every registration and the time it took. */
export async function runFleet(n: number, policy: FleetPolicy): Promise<{ resources: Recorded[]; ms: number; cpuMs: number }> {
  const resources: Recorded[] = [];
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        const content = args.inputs?.content;
        const big = typeof content === "string";
        // A file's content (the pipeline bundle is ~400 KB) is recorded by its hash and not echoed
        // back as state: the bench measures the program, not copies the mock would keep.
        const inputs = big ? { ...args.inputs, content: `sha256:${createHash("sha256").update(content).digest("hex")}` } : args.inputs;
        resources.push({
          type: args.type,
          name: args.name,
          custom: args.custom !== false,
          inputs: stable(inputs),
          contentBytes: big ? Buffer.byteLength(content) : 0,
        });
        // What the provider computes and the program reads back (a file's commit: the pipeline's pin).
        const computed = computedOutputs(args.type, args.inputs);
        return { id: `${args.name}-id`, state: big ? { ...args.inputs, content: undefined, ...computed } : { ...args.inputs, ...computed } };
      },
      call(args) {
        // The fleet's upstream-health check is one local command per run (policy.deploy.healthCheck):
        // answered with "no facts", as when no token is set.
        if (args.token === "command:local:run") return { stdout: "{}", stderr: "" };
        throw new Error(`unexpected call ${args.token}`);
      },
    },
    "mirror-fleet",
    "prod",
    false,
  );
  const entries = syntheticEntries(n, TODAY);
  const start = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  const provider = new github.Provider("github", { owner: SYNTHETIC_SETTINGS.owner });
  fleetProgram({
    entries,
    policy,
    settings: SYNTHETIC_SETTINGS,
    readFile: syntheticReadFile,
    today: TODAY,
    webhooks: { slack: pulumi.secret(SYNTHETIC_WEBHOOKS.slack), teams: pulumi.secret(SYNTHETIC_WEBHOOKS.teams) },
    providers: { github: provider },
  });
  // Every registration is an RPC the SDK keeps alive until answered: wait for all of them.
  await (settings as unknown as { waitForRPCs(): Promise<void> }).waitForRPCs();
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  const used = process.cpuUsage(cpu);
  return { resources, ms, cpuMs: (used.user + used.system) / 1000 };
}

/** One change per policy field, each a realistic edit a fleet owner would make in infra/policy.ts. */
export const POLICY_CHANGES: ReadonlyArray<{ field: string; change: string; apply: (p: FleetPolicy) => FleetPolicy }> = [
  { field: "repoPrefix", change: `"mirror-" -> "oci-"`, apply: (p) => ({ ...p, repoPrefix: "oci-" }) },
  { field: "gate.severities", change: "+ MEDIUM", apply: (p) => ({ ...p, gate: { ...p.gate, severities: [...p.gate.severities, "MEDIUM"] } }) },
  { field: "gate.fixedOnly", change: "true -> false", apply: (p) => ({ ...p, gate: { ...p.gate, fixedOnly: !p.gate.fixedOnly } }) },
  { field: "schedule.startHour", change: "1 -> 2", apply: (p) => ({ ...p, schedule: { ...p.schedule, startHour: p.schedule.startHour + 1 } }) },
  { field: "schedule.hours", change: "4 -> 6", apply: (p) => ({ ...p, schedule: { ...p.schedule, hours: p.schedule.hours + 2 } }) },
  { field: "reviewers", change: `[] -> ["security-team"]`, apply: (p) => ({ ...p, reviewers: ["security-team"] }) },
  { field: "notify", change: `[] -> ["slack"]`, apply: (p) => ({ ...p, notify: ["slack"] }) },
  { field: "platforms", change: "+ linux/arm64", apply: (p) => ({ ...p, platforms: [...p.platforms, "linux/arm64"] }) },
  { field: "health.maxDaysSinceCommit", change: "365 -> 180", apply: (p) => ({ ...p, health: { ...p.health, maxDaysSinceCommit: 180 } }) },
  { field: "health.maxDaysSinceRelease", change: "365 -> 730", apply: (p) => ({ ...p, health: { ...p.health, maxDaysSinceRelease: 730 } }) },
  { field: "waiverNoticeDays", change: "30 -> 14", apply: (p) => ({ ...p, waiverNoticeDays: 14 }) },
  { field: "artifactRetentionDays", change: "90 -> 30", apply: (p) => ({ ...p, artifactRetentionDays: 30 }) },
  { field: "trivy.version", change: "0.74.0 -> 0.74.1", apply: (p) => ({ ...p, trivy: { version: "0.74.1" } }) },
  { field: "nodeVersion", change: "24 -> 22", apply: (p) => ({ ...p, nodeVersion: "22" }) },
  { field: "deploy.healthCheck", change: "true -> false", apply: (p) => ({ ...p, deploy: { ...p.deploy, healthCheck: !p.deploy.healthCheck } }) },
];

export interface Churn {
  readonly field: string;
  readonly change: string;
  /** Resources whose inputs differ, per mirror. */
  readonly changedPerMirror: number;
  readonly addedPerMirror: number;
  readonly removedPerMirror: number;
  /** Which resources changed, as `type:child` -> count, e.g. `RepositoryFile:.mirror/config.yml`. */
  readonly what: Readonly<Record<string, number>>;
}

const key = (r: Recorded) => `${r.type}::${r.name}`;

/** What a child is, without the mirror's name: the resource type, and for a file which file (`RepositoryFile:file-readme-md`). */
function childKind(r: Recorded): string {
  const type = r.type.split(":").pop()!;
  const m = /-(file-.+)$/.exec(r.name);
  return type === "RepositoryFile" && m ? `${type}:${m[1]}` : type;
}

export function churnOf(base: readonly Recorded[], next: readonly Recorded[], n: number): Omit<Churn, "field" | "change"> {
  const a = new Map(base.filter((r) => r.custom).map((r) => [key(r), r]));
  const b = new Map(next.filter((r) => r.custom).map((r) => [key(r), r]));
  let changed = 0;
  let added = 0;
  let removed = 0;
  const what: Record<string, number> = {};
  const note = (r: Recorded) => void (what[childKind(r)] = (what[childKind(r)] ?? 0) + 1);
  for (const [k, r] of b) {
    const old = a.get(k);
    if (!old) {
      added++;
      note(r);
    } else if (old.inputs !== r.inputs) {
      changed++;
      note(r);
    }
  }
  for (const [k, r] of a) {
    if (!b.has(k)) {
      removed++;
      note(r);
    }
  }
  return { changedPerMirror: changed / n, addedPerMirror: added / n, removedPerMirror: removed / n, what };
}

async function measure(n: number) {
  const baseRss = process.memoryUsage().rss;
  const { resources, ms, cpuMs } = await runFleet(n, basePolicy);
  const usage = process.resourceUsage();
  // What the program keeps, as opposed to what V8 has not collected yet (run with --expose-gc).
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const retainedMiB = gc ? process.memoryUsage().heapUsed / 2 ** 20 : null;
  const custom = resources.filter((r) => r.custom && !r.type.startsWith("pulumi:providers:"));
  const byType: Record<string, number> = {};
  for (const r of custom) byType[r.type] = (byType[r.type] ?? 0) + 1;
  // The pipeline repository's children (once per fleet) apart from the mirrors' (the program names them pipeline-*).
  const ofPipeline = (r: Recorded) => r.name.startsWith("pipeline-");
  const mirrorFiles = custom.filter((r) => r.contentBytes > 0 && !ofPipeline(r));
  return {
    mode: "measure",
    n,
    ms,
    msPerMirror: ms / n,
    cpuMs,
    cpuMsPerMirror: cpuMs / n,
    peakRssMiB: (usage.maxRSS * 1024) / 2 ** 20,
    baseRssMiB: baseRss / 2 ** 20,
    retainedMiB,
    resources: custom.length,
    resourcesPerMirror: custom.length / n,
    componentsPerMirror: resources.filter((r) => !r.custom).length / n,
    bytesPerMirror: mirrorFiles.reduce((s, r) => s + r.contentBytes, 0) / n,
    largestFileBytes: Math.max(0, ...mirrorFiles.map((r) => r.contentBytes)),
    largestFile: mirrorFiles.reduce((a, r) => (r.contentBytes > (a?.contentBytes ?? -1) ? r : a), undefined as Recorded | undefined)?.name ?? null,
    pipelineBytes: custom.filter(ofPipeline).reduce((s, r) => s + r.contentBytes, 0),
    byType,
  };
}

async function churn(n: number) {
  const base = await runFleet(n, basePolicy);
  const rows: Churn[] = [];
  for (const c of POLICY_CHANGES) {
    const next = await runFleet(n, c.apply(basePolicy));
    rows.push({ field: c.field, change: c.change, ...churnOf(base.resources, next.resources, n) });
  }
  return { mode: "churn", n, rows };
}

if (require.main === module) {
  const [mode, raw] = process.argv.slice(2);
  const n = Number(raw);
  if ((mode !== "measure" && mode !== "churn") || !Number.isInteger(n) || n < 1 || n > 100_000) {
    process.stderr.write("usage: node --import tsx bench/one.ts measure|churn N\n");
    process.exit(2);
  }
  (mode === "measure" ? measure(n) : churn(n)).then(
    (r) => process.stdout.write(JSON.stringify(r) + "\n"),
    (e) => {
      process.stderr.write(`${(e as Error).stack ?? e}\n`);
      process.exitCode = 1;
    },
  );
}
