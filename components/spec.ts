/**
 * Mirror entries -> validated, defaulted ResolvedMirrors. Pure: no Pulumi, no
 * network; the only I/O is reading override files through the `readFile`
 * callback, so tests can hand in a fake file system.
 *
 * Every entry is checked in full and every problem is collected, so that one
 * run reports all bad entries at once (DESIGN invariant 8), before the
 * program creates a single resource.
 */
import { createHash } from "node:crypto";
import * as semver from "semver";
import { DEFAULT_APPROVER_ROLE, isRuntimeStageOverride, REPOSITORY_ROLES } from "../contract";
import { PIPELINE_REPOSITORY_NAME } from "./pipeline-action";
import { withBaseImages } from "./presets";
import { stackRegistry } from "./registry";
import { signingEnvironment } from "./workflow/sign";
import {
  GITHUB_COM,
  NOTIFY_TARGETS,
  SEVERITIES,
  VEX_JUSTIFICATIONS,
  type FleetPolicy,
  type MirrorSpec,
  type ResolvedMirror,
  type ResolvedWaiver,
  type StackSettings,
} from "./types";

/** The web address of the stack's GitHub: `serverUrl`, else github.com's. */
export function stackServerUrl(settings: StackSettings): string {
  return settings.serverUrl ?? GITHUB_COM;
}

/** Typed identity for entries in mirrors/: `export default defineMirror({...})`. */
export function defineMirror<const T extends MirrorSpec>(spec: T): T {
  return spec;
}

/** One file in mirrors/ and what it exported. */
export interface MirrorEntry {
  /** Path relative to the project root, e.g. `mirrors/gokapi.ts`. */
  readonly file: string;
  readonly spec: unknown;
  /** Why the file could not be loaded (a syntax error, a preset that threw). */
  readonly loadError?: string;
  /** What loading the file found wrong, one `<field>: <what is wrong>` line each (infra/mirrors.ts). */
  readonly problems?: readonly string[];
}

/** All problems of all entries, one per line: `<file>: <field>: <what is wrong> (<what is allowed>)`. */
export class FleetConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    // One bullet per problem, so that the count in the first line is the number of bullets.
    super(`${problems.length} problem${problems.length === 1 ? "" : "s"} in mirrors/; nothing was created:\n` +
      problems.map((p) => `  - ${p.replace(/\n/g, "\n    ")}`).join("\n"));
    this.name = "FleetConfigError";
  }
}

/** What `override` may be: the same words whether it is missing or of the wrong kind. */
const OVERRIDE_ALLOWED = `{ file: "<name>.Dockerfile" } next to the entry, { preset: … } from components/presets.ts, or null to build upstream's Dockerfile`;

export const NAME_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,37}[a-z0-9])?$/;
/** GitHub owner and repository names. */
const OWNER_REPO_PATTERN = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})\/[A-Za-z0-9._-]{1,100}$/;
/** A GHCR repository path segment: lowercase, as OCI distribution requires. */
const IMAGE_SEGMENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const DATE_PATTERN = /^\d{4}-\d{2}-\d{2}$/;
const VULN_ID_PATTERN = /^[A-Za-z][A-Za-z0-9]*-[A-Za-z0-9._:-]+$/;
const PLATFORMS = ["linux/amd64", "linux/arm64", "linux/arm/v7", "linux/arm/v6", "linux/386", "linux/ppc64le", "linux/s390x", "linux/riscv64"];
const PLATFORM_PATTERN = new RegExp(`^(${PLATFORMS.join("|")})$`);
const SEVERITY_PATTERN = new RegExp(`^(${SEVERITIES.join("|")})$`);
const NOTIFY_PATTERN = new RegExp(`^(${NOTIFY_TARGETS.join("|")})$`);
const REVIEWER_PATTERN = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})(?:\/[A-Za-z0-9._-]+)?$/;
const TEAM_SLUG = /^[a-z0-9][a-z0-9_-]{0,99}$/;
const PREFIX_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$/;
const BUILD_ARG_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Relative path inside the upstream checkout: no `..`, no absolute path, no shell metacharacters. */
const REL_PATH_PATTERN = /^(?!\/)(?!.*(?:^|\/)\.\.(?:\/|$))[A-Za-z0-9._/-]+$/;

type Problems = string[];

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function show(v: unknown): string {
  return v === undefined ? "undefined" : JSON.stringify(v);
}

/** Checks keys against the allowed set; returns the object or undefined (problem recorded). `what`: what is allowed instead, when "an object with <keys>" does not say it. */
function obj(p: Problems, at: string, v: unknown, allowed: readonly string[], optional = false, what = `an object with ${allowed.join(", ")}`): Record<string, unknown> | undefined {
  if (v === undefined && optional) return undefined;
  if (!isObject(v)) {
    p.push(`${at || "default export"}: ${show(v)} is not allowed (allowed: ${what})`);
    return undefined;
  }
  for (const k of Object.keys(v)) {
    if (!allowed.includes(k)) p.push(`${at ? `${at}.` : ""}${k}: unknown key (allowed: ${allowed.join(", ")})`);
  }
  return v;
}

function str(p: Problems, at: string, v: unknown, pattern: RegExp | undefined, allowed: string, optional = false): string | undefined {
  if (v === undefined && optional) return undefined;
  if (typeof v !== "string" || (pattern && !pattern.test(v)) || v.length === 0) {
    p.push(`${at}: ${show(v)} is not allowed (allowed: ${allowed})`);
    return undefined;
  }
  return v;
}

function bool(p: Problems, at: string, v: unknown): boolean | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== "boolean") {
    p.push(`${at}: ${show(v)} is not allowed (allowed: true or false)`);
    return undefined;
  }
  return v;
}

/** A list whose items `each` checks; `items` says what they may be, for a value that is not a list. */
function list<T>(p: Problems, at: string, v: unknown, items: string, each: (item: unknown, at: string) => T | undefined): T[] | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v)) {
    p.push(`${at}: ${show(v)} is not allowed (allowed: a list of ${items})`);
    return undefined;
  }
  return v.map((item, i) => each(item, `${at}[${i}]`)).filter((x): x is T => x !== undefined);
}

function int(p: Problems, at: string, v: unknown, min: number, max: number): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
    p.push(`${at}: ${show(v)} is not allowed (allowed: a whole number from ${min} to ${max})`);
    return undefined;
  }
  return v;
}

/** Gate severities, in the policy or an entry: one or more of SEVERITIES. */
function severityList(p: Problems, at: string, v: unknown): string[] | undefined {
  const out = list(p, at, v, SEVERITIES.join(", "), (x, a) => str(p, a, x, SEVERITY_PATTERN, SEVERITIES.join(", ")));
  if (Array.isArray(v) && v.length === 0) p.push(`${at}: empty (allowed: one or more of ${SEVERITIES.join(", ")})`);
  return out;
}

/** Build platforms, in the policy or an entry: one or more of PLATFORMS. */
function platformList(p: Problems, at: string, v: unknown): string[] | undefined {
  const out = list(p, at, v, "platforms, e.g. [\"linux/amd64\"]", (x, a) => str(p, a, x, PLATFORM_PATTERN, PLATFORMS.join(", ")));
  if (Array.isArray(v) && v.length === 0) p.push(`${at}: empty (allowed: at least one platform)`);
  return out;
}

/** Notification targets, in the policy or an entry. */
function notifyList(p: Problems, at: string, v: unknown): Array<(typeof NOTIFY_TARGETS)[number]> | undefined {
  return list(p, at, v, NOTIFY_TARGETS.join(", "), (x, a) => str(p, a, x, NOTIFY_PATTERN, NOTIFY_TARGETS.join(", ")) as (typeof NOTIFY_TARGETS)[number] | undefined);
}

/** Parses YYYY-MM-DD as a real calendar date (UTC midnight), or undefined. */
export function parseDay(s: string): Date | undefined {
  if (!DATE_PATTERN.test(s)) return undefined;
  const d = new Date(`${s}T00:00:00Z`);
  return Number.isNaN(d.getTime()) || d.toISOString().slice(0, 10) !== s ? undefined : d;
}

/** Whole days from `today` to `day` (negative when past). */
export function daysUntil(day: string, today: Date): number {
  const d = parseDay(day);
  if (!d) throw new Error(`not a date: ${day}`);
  const t = Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate());
  return Math.round((d.getTime() - t) / 86_400_000);
}

export function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/**
 * The image references of a Dockerfile's FROM lines, and the problems: every
 * FROM that names a registry image must carry `@sha256:<64 hex>`, because a
 * tag can be moved under the build without review. `scratch` and earlier
 * stage names need no pin.
 */
export function fromLines(dockerfile: string): { pins: string[]; unpinned: string[] } {
  const stages = new Set<string>();
  const pins: string[] = [];
  const unpinned: string[] = [];
  for (const raw of dockerfile.split("\n")) {
    const m = /^\s*FROM\s+(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?\s*$/i.exec(raw);
    if (!m) continue;
    const ref = m[1];
    if (ref !== "scratch" && !stages.has(ref.toLowerCase())) {
      if (/@sha256:[0-9a-f]{64}$/.test(ref)) pins.push(ref);
      else unpinned.push(ref);
    }
    if (m[2]) stages.add(m[2].toLowerCase());
  }
  return { pins, unpinned };
}

/**
 * A deterministic slot for every mirror inside the nightly window, as far
 * apart as the window allows: each mirror starts at the minute its name
 * hashes to and moves to the next free minute on a collision. Mirrors are
 * placed in order of (hashed minute, name), so adding a mirror moves no other
 * mirror unless it lands inside an occupied run.
 */
export function spreadSchedule(names: readonly string[], windowMinutes: number): { minutes: Map<string, number>; crowded: boolean } {
  const hashed = names.map((n) => ({ n, h: parseInt(sha256(n).slice(0, 8), 16) % windowMinutes }));
  hashed.sort((a, b) => a.h - b.h || (a.n < b.n ? -1 : 1));
  const taken = new Set<number>();
  const minutes = new Map<string, number>();
  const crowded = names.length > windowMinutes;
  for (const { n, h } of hashed) {
    let m = h;
    if (!crowded) while (taken.has(m)) m = (m + 1) % windowMinutes;
    taken.add(m);
    minutes.set(n, m);
  }
  return { minutes, crowded };
}

const SPEC_KEYS = ["name", "upstream", "image", "override", "build", "watch", "gate", "reviewers", "schedule", "notify", "attestations", "preflight"] as const;

export interface ResolveOptions {
  readonly policy: FleetPolicy;
  readonly settings: StackSettings;
  /** Reads a file relative to the project root; throws when it does not exist. */
  readonly readFile: (path: string) => string;
  /** The day waivers are judged against. @default now */
  readonly today?: Date;
}

export interface ResolvedFleet {
  readonly mirrors: readonly ResolvedMirror[];
  /** Not errors, but worth saying at preview time (waivers near expiry, a crowded schedule window). */
  readonly warnings: readonly string[];
}

/**
 * The policy's own values, checked as an entry's are: render, preview and up load
 * infra/policy.ts without type-checking it, and a value the types would refuse (or
 * one they allow, such as no severities or a zero-hour window) would otherwise be
 * written into every mirror (`cron: NaN NaN * * *`, "Blocks on  findings").
 */
export function policyProblems(policy: FleetPolicy): string[] {
  const p: Problems = [];
  if (typeof policy.repoPrefix !== "string" || !/^[A-Za-z0-9._-]{0,60}$/.test(policy.repoPrefix)) {
    p.push(`repoPrefix: ${show(policy.repoPrefix)} is not allowed (allowed: letters, digits, '.', '_' and '-', up to 60 characters; '' for none)`);
  }
  severityList(p, "gate.severities", policy.gate?.severities ?? null);
  bool(p, "gate.fixedOnly", policy.gate?.fixedOnly ?? null);
  int(p, "schedule.startHour", policy.schedule?.startHour ?? null, 0, 23);
  int(p, "schedule.hours", policy.schedule?.hours ?? null, 1, 24);
  list(p, "reviewers", policy.reviewers ?? null, "GitHub logins or 'org/team'", (v, at) => str(p, at, v, REVIEWER_PATTERN, "a GitHub login or 'org/team'"));
  notifyList(p, "notify", policy.notify ?? null);
  platformList(p, "platforms", policy.platforms ?? null);
  int(p, "health.maxDaysSinceCommit", policy.health?.maxDaysSinceCommit ?? null, 1, 36500);
  int(p, "health.maxDaysSinceRelease", policy.health?.maxDaysSinceRelease ?? null, 1, 36500);
  int(p, "waiverNoticeDays", policy.waiverNoticeDays ?? null, 0, 365);
  // GitHub keeps an artifact at most 90 days in a public repository, 400 in a private one.
  int(p, "artifactRetentionDays", policy.artifactRetentionDays ?? null, 1, 400);
  str(p, "trivy.version", policy.trivy?.version, /^\d+\.\d+\.\d+$/, "a Trivy release, e.g. 0.74.0");
  str(p, "nodeVersion", policy.nodeVersion, /^\d+(\.\d+){0,2}$/, "a Node.js version for actions/setup-node, e.g. 24 or 24.11.1");
  bool(p, "deploy.healthCheck", policy.deploy?.healthCheck ?? null);
  bool(p, "deploy.preflight", policy.deploy?.preflight ?? null);
  return p;
}

/** Validates the policy and every entry and applies the policy; throws FleetConfigError listing every problem. */
export function resolveFleet(entries: readonly MirrorEntry[], opts: ResolveOptions): ResolvedFleet {
  const { policy, settings } = opts;
  const today = opts.today ?? new Date();
  const problems: string[] = [];
  const warnings: string[] = [];
  const partial: Array<Omit<ResolvedMirror, "cron"> & { cronStartHour: number }> = [];
  const seenNames = new Map<string, string>();
  const seenRepos = new Map<string, string>();
  const seenImages = new Map<string, string>();
  const seenUpstreams = new Map<string, string>();
  const clashes = new Set<string>();
  if (policy.reviewTeam !== undefined && !TEAM_SLUG.test(policy.reviewTeam)) {
    problems.push(`infra/policy.ts: reviewTeam: ${show(policy.reviewTeam)} is not allowed (allowed: the slug of a team in ${settings.owner}, e.g. 'mirror-reviewers')`);
  }
  const approverRole = policy.overrideReview?.approverRole ?? DEFAULT_APPROVER_ROLE;
  if (!(REPOSITORY_ROLES as readonly string[]).includes(approverRole)) {
    problems.push(`infra/policy.ts: overrideReview.approverRole: ${show(approverRole)} is not allowed (allowed: ${REPOSITORY_ROLES.join(", ")})`);
  }
  // A policy the entries cannot be resolved against stops here, with everything wrong in it.
  const unusablePolicy = policyProblems(policy);
  if (unusablePolicy.length > 0) throw new FleetConfigError([...problems, ...unusablePolicy.map((x) => `infra/policy.ts: ${x}`)]);

  for (const entry of entries) {
    const p: Problems = [];
    const r = resolveEntry(entry, opts, today, p, warnings);
    problems.push(...p.map((x) => `${entry.file}: ${x}`));
    if (!r) continue;
    for (const [seen, key, field] of [
      [seenNames, r.name, "name"],
      [seenRepos, r.repo.toLowerCase(), "name (repository)"],
      [seenImages, r.image, "image"],
    ] as const) {
      const other = seen.get(key);
      // One line per pair of files: the same name also makes the same repository and image.
      if (other && !clashes.has(`${other}|${entry.file}`)) {
        clashes.add(`${other}|${entry.file}`);
        problems.push(`${other} and ${entry.file}: ${field}: ${show(key)} is used by both (allowed: a value unique in the fleet)`);
      } else if (!other) seen.set(key, entry.file);
    }
    // Allowed (two images of one project, or two tag ranges), but said: each mirror builds its own tags.
    const sameUpstream = seenUpstreams.get(r.upstream.fullName.toLowerCase());
    if (sameUpstream) warnings.push(`${sameUpstream} and ${entry.file}: upstream.repo: ${r.upstream.fullName} is mirrored by both; each builds the tags its range allows, so overlapping ranges build the same release twice`);
    else seenUpstreams.set(r.upstream.fullName.toLowerCase(), entry.file);
    // The fleet's own pipeline repository (components/pipeline-action.ts) has this name.
    if (r.repo.toLowerCase() === PIPELINE_REPOSITORY_NAME) problems.push(`${entry.file}: name: ${show(r.name)} makes the repository ${r.repo}, the fleet's pipeline repository (allowed: another name)`);
    partial.push(r);
  }
  if (problems.length > 0) throw new FleetConfigError(problems);

  const window = policy.schedule.hours * 60;
  const { minutes, crowded } = spreadSchedule(partial.map((m) => m.name), window);
  if (crowded) {
    warnings.push(`schedule: ${partial.length} mirrors share a ${window}-minute window, so some start in the same minute; widen policy.schedule.hours`);
  }
  const mirrors = partial.map((m) => {
    const s = m.name;
    const offset = minutes.get(s)!;
    const hour = (m.cronStartHour + Math.floor(offset / 60)) % 24;
    const minute = offset % 60;
    const day = parseInt(sha256(s).slice(8, 10), 16) % 7;
    const { cronStartHour: _, ...rest } = m;
    return {
      ...rest,
      cron: {
        build: `${minute} ${hour} * * *`,
        // Twelve hours after the build: today's DB against the digest that is deployed.
        rescan: `${minute} ${(hour + 12) % 24} * * *`,
        health: `${minute} ${hour} * * ${day}`,
      },
    } as ResolvedMirror;
  });
  return { mirrors, warnings };
}

function resolveEntry(
  entry: MirrorEntry,
  opts: ResolveOptions,
  today: Date,
  p: Problems,
  warnings: string[],
): (Omit<ResolvedMirror, "cron"> & { cronStartHour: number }) | undefined {
  const { policy, settings } = opts;
  if (entry.problems?.length) {
    p.push(...entry.problems);
    return undefined;
  }
  if (entry.loadError !== undefined) {
    p.push(`could not be loaded: ${entry.loadError}`);
    return undefined;
  }
  const s = obj(p, "", entry.spec, SPEC_KEYS);
  if (!s) return undefined;

  const name = str(p, "name", s.name, NAME_PATTERN, "lowercase letters, digits and '-', 1 to 39 characters, not starting or ending with '-'");

  const up = obj(p, "upstream", s.upstream, ["repo", "tags", "license"]);
  const upRepo = up && str(p, "upstream.repo", up.repo, OWNER_REPO_PATTERN, "a GitHub 'owner/repo'");
  const tags = up && obj(p, "upstream.tags", up.tags, ["range", "prerelease", "prefix"], true);
  const range = tags?.range === undefined ? "*" : str(p, "upstream.tags.range", tags.range, undefined, "a semver range such as '>=2.0.0 <3'");
  if (range !== undefined && semver.validRange(range) === null) {
    p.push(`upstream.tags.range: ${show(range)} is not allowed (allowed: a semver range such as '>=2.0.0 <3')`);
  }
  const prerelease = tags ? bool(p, "upstream.tags.prerelease", tags.prerelease) : undefined;
  const prefix = tags ? str(p, "upstream.tags.prefix", tags.prefix, PREFIX_PATTERN, "letters, digits and . _ / - (e.g. 'photos-v')", true) : undefined;
  const license = up ? str(p, "upstream.license", up.license, /^[A-Za-z0-9.+() -]{1,64}$/, "an SPDX license id such as 'AGPL-3.0-only'", true) : undefined;

  // Image: a bare name under the stack's namespace, or a full reference in the stack's registry.
  let image: string | undefined;
  const rawImage = s.image === undefined ? name : s.image;
  const registry = stackRegistry(settings);
  if (typeof rawImage === "string") {
    const full = rawImage.includes("/") ? rawImage : `${registry}/${settings.registryNamespace}/${rawImage}`;
    const segs = full.split("/");
    if (segs[0] !== registry || segs.length < 3) {
      p.push(`image: ${show(rawImage)} is not allowed (allowed: a repository of the stack's registry, '${registry}/<namespace>/<name>' or a bare '<name>')`);
    } else if (!segs.slice(1).every((x) => IMAGE_SEGMENT.test(x))) {
      p.push(`image: ${show(rawImage)} is not allowed (allowed: lowercase letters, digits and . _ - separators; GHCR rejects uppercase)`);
    } else if (full.includes("@") || full.slice(registry.length).includes(":")) {
      p.push(`image: ${show(rawImage)} is not allowed (allowed: a repository without tag or digest)`);
    } else if (segs[1] !== settings.registryNamespace) {
      p.push(
        `image: ${show(rawImage)} is not allowed (allowed: an image under ${registry}/${settings.registryNamespace}/, or a bare '<name>'; ` +
          `the workflow pushes with the mirror repository's own GITHUB_TOKEN, which can only write packages in the fleet's namespace ${settings.registryNamespace})`,
      );
    } else image = full;
  } else if (name !== undefined) {
    p.push(`image: ${show(s.image)} is not allowed (allowed: a GHCR repository name)`);
  }

  // Override: a Dockerfile next to the entry, a preset's text, or null.
  let override: ResolvedMirror["override"] | undefined = null;
  if (s.override === undefined) {
    p.push(`override: missing (allowed: ${OVERRIDE_ALLOWED})`);
    override = undefined;
  } else if (s.override !== null) {
    const o = obj(p, "override", s.override, ["file", "preset"], false, OVERRIDE_ALLOWED);
    let text: string | undefined;
    let source: string | undefined;
    if (o && o.file !== undefined && o.preset !== undefined) {
      p.push(`override: both file and preset are set (allowed: one of them)`);
    } else if (o && o.file !== undefined) {
      const f = str(p, "override.file", o.file, /^[A-Za-z0-9._-]+$/, "a file name next to the entry, e.g. 'gokapi.Dockerfile'");
      if (f) {
        source = `${entry.file.slice(0, entry.file.lastIndexOf("/") + 1)}${f}`;
        try {
          text = opts.readFile(source);
        } catch {
          p.push(`override.file: ${source} does not exist (allowed: a Dockerfile next to ${entry.file})`);
        }
      }
    } else if (o && o.preset !== undefined) {
      const pr = obj(p, "override.preset", o.preset, ["preset", "dockerfile"]);
      const presetName = pr && str(p, "override.preset.preset", pr.preset, /^[a-z][a-zA-Z0-9-]*$/, "a preset name");
      text = pr && str(p, "override.preset.dockerfile", pr.dockerfile, undefined, "Dockerfile text from a preset function");
      if (presetName) source = `preset:${presetName}`;
      if (text !== undefined) {
        // The preset names its bases by key; the fleet's table (passed in with the policy) pins them.
        const bases = withBaseImages(text, policy.baseImages);
        for (const x of bases.problems) p.push(`override.preset: ${x}`);
        text = bases.text;
      }
    } else if (o) {
      p.push(`override: empty (allowed: { file } or { preset })`);
    }
    if (text !== undefined && source !== undefined) {
      const { pins, unpinned } = fromLines(text);
      if (pins.length + unpinned.length === 0 && !/^\s*FROM\s+scratch\b/im.test(text)) {
        p.push(`override: ${source} has no FROM line (allowed: a Dockerfile)`);
      }
      for (const u of unpinned) p.push(`override: ${source}: FROM ${u} is not pinned (allowed: image:tag@sha256:<64 hex>; see infra/base-images.ts)`);
      if (!/^\s*ARG\s+VERSION\b/m.test(text)) p.push(`override: ${source} does not declare ARG VERSION (allowed: a Dockerfile with 'ARG VERSION', which the build sets to the upstream tag)`);
      override = { source, content: text, sha256: sha256(text), basePins: pins };
    } else override = undefined;
  }

  const b = obj(p, "build", s.build, ["args", "platforms", "dockerfile", "context"], true);
  const args: Record<string, string> = {};
  if (b?.args !== undefined) {
    const a = obj(p, "build.args", b.args, Object.keys(isObject(b.args) ? b.args : {}), false, "an object of build argument names and string values");
    for (const [k, v] of Object.entries(a ?? {})) {
      if (!BUILD_ARG_PATTERN.test(k)) p.push(`build.args.${k}: not a valid build arg name (allowed: letters, digits and _)`);
      else if (k === "VERSION") p.push(`build.args.VERSION: reserved (allowed: any other name; VERSION is always the upstream tag)`);
      else if (typeof v !== "string" || /[\n\r]/.test(v)) p.push(`build.args.${k}: ${show(v)} is not allowed (allowed: a one-line string)`);
      else args[k] = v;
    }
  }
  const platforms = platformList(p, "build.platforms", b?.platforms);
  const dockerfile = b ? str(p, "build.dockerfile", b.dockerfile, REL_PATH_PATTERN, "a relative path inside the upstream checkout", true) : undefined;
  const context = b ? str(p, "build.context", b.context, REL_PATH_PATTERN, "a relative path inside the upstream checkout", true) : undefined;
  const watch = list(p, "watch", s.watch, "relative paths", (v, at) => str(p, at, v, REL_PATH_PATTERN, "a relative path inside the upstream checkout"));

  const g = obj(p, "gate", s.gate, ["severities", "fixedOnly", "waivers", "scans"], true);
  const sc = g ? obj(p, "gate.scans", g.scans, ["source", "reason"], true) : undefined;
  const scanSource = sc ? bool(p, "gate.scans.source", sc.source) : undefined;
  const scanReason = sc ? str(p, "gate.scans.reason", sc.reason, /\S.{19,}/s, "a sentence of 20 characters or more saying why the source scan does not block", scanSource !== false) : undefined;
  if (sc && scanSource !== false && sc.reason !== undefined) p.push("gate.scans.reason: only with source: false (allowed: remove it, or turn the source scan off)");
  const severities = severityList(p, "gate.severities", g?.severities);
  const fixedOnly = g ? bool(p, "gate.fixedOnly", g.fixedOnly) : undefined;
  const waivers = (g ? list(p, "gate.waivers", g.waivers, "waivers, each { id, reason, expires, … }", (v, at) => waiver(p, at, v, today, policy.waiverNoticeDays, warnings, entry.file)) : undefined) ?? [];
  const ids = new Set<string>();
  for (const w of waivers) {
    const key = `${w.id}|${(w.purls ?? []).join(",")}|${(w.paths ?? []).join(",")}`;
    if (ids.has(key)) p.push(`gate.waivers: ${w.id} is waived twice for the same scope (allowed: one waiver per id and scope)`);
    ids.add(key);
  }

  const reviewers = list(p, "reviewers", s.reviewers, "GitHub logins or 'org/team'", (v, at) => str(p, at, v, REVIEWER_PATTERN, "a GitHub login or 'org/team'"));
  const sch = obj(p, "schedule", s.schedule, ["startHour", "hours"], true);
  const startHour = sch ? int(p, "schedule.startHour", sch.startHour, 0, 23) : undefined;
  const hours = sch ? int(p, "schedule.hours", sch.hours, 1, 24) : undefined;
  if (hours !== undefined && hours !== policy.schedule.hours) {
    p.push(`schedule.hours: ${hours} differs from the fleet window of ${policy.schedule.hours} (allowed: change policy.schedule.hours for the whole fleet)`);
  }
  const notify = notifyList(p, "notify", s.notify);
  const attestations = bool(p, "attestations", s.attestations);
  // Explicitly asked for, preflight must be possible; switched on fleet-wide
  // (policy.deploy.preflight), it applies to the mirrors where it is.
  const askedPreflight = bool(p, "preflight", s.preflight);
  const runtimeStage = override ? isRuntimeStageOverride(override.content) : false;
  if (askedPreflight && s.override === null) p.push(`preflight: true needs an override (allowed: false, or set override)`);
  if (askedPreflight && runtimeStage) {
    p.push(`preflight: a runtime-stage override is composed with upstream's Dockerfile at build time and cannot be built at preview (allowed: false)`);
  }
  const preflight = (askedPreflight ?? policy.deploy.preflight) && !!override && !runtimeStage;

  if (p.length > 0 || !name || !upRepo || !image || override === undefined) return undefined;
  const resolvedReviewers = reviewers ?? [...policy.reviewers, ...(policy.reviewTeam ? [`${settings.owner}/${policy.reviewTeam}`] : [])];
  if (resolvedReviewers.length === 0) {
    warnings.push(
      `${entry.file}: reviewers: none (in the entry or infra/policy.ts), so CODEOWNERS names nobody and a pull request that pins a new digest ` +
        `needs no code-owner review; set reviewers in the entry, or policy.reviewTeam for the whole fleet`,
    );
  }
  const [upOwner, upName] = upRepo.split("/");
  const df = dockerfile ?? "Dockerfile";
  return {
    name,
    repo: `${policy.repoPrefix}${name}`,
    owner: settings.owner,
    serverUrl: stackServerUrl(settings),
    visibility: settings.visibility,
    upstream: {
      owner: upOwner,
      repo: upName,
      fullName: upRepo,
      url: `${GITHUB_COM}/${upRepo}`,
      license: license ?? "see the upstream LICENSE file",
      tags: { range: range ?? "*", prerelease: prerelease ?? false, prefix: prefix ?? "" },
    },
    image,
    override,
    build: { args, platforms: platforms ?? [...policy.platforms], dockerfile: df, context: context ?? "." },
    watch: watch ?? [df],
    gate: {
      severities: (severities as ResolvedMirror["gate"]["severities"]) ?? policy.gate.severities,
      fixedOnly: fixedOnly ?? policy.gate.fixedOnly,
      waivers,
      scans: scanSource === false ? ["image"] : ["image", "source"],
      sourceOffReason: scanSource === false ? (scanReason ?? null) : null,
    },
    reviewers: resolvedReviewers,
    overrideApproverRole: policy.overrideReview?.approverRole ?? DEFAULT_APPROVER_ROLE,
    cronStartHour: startHour ?? policy.schedule.startHour,
    notify: notify ?? policy.notify,
    attestations: attestations ?? settings.attestations,
    signing: settings.cosignPublicKey ? { publicKey: settings.cosignPublicKey, environment: signingEnvironment(settings.visibility, settings.githubPlan ?? "team") } : null,
    preflight,
    branchProtection: settings.branchProtection,
    health: policy.health,
    artifactRetentionDays: policy.artifactRetentionDays,
    trivyVersion: policy.trivy.version,
    nodeVersion: policy.nodeVersion,
    sourceFile: entry.file,
  };
}

function waiver(p: Problems, at: string, v: unknown, today: Date, noticeDays: number, warnings: string[], file: string): ResolvedWaiver | undefined {
  const w = obj(p, at, v, ["id", "reason", "expires", "approvedBy", "approvedOn", "purls", "paths", "status", "justification", "action"]);
  if (!w) return undefined;
  const before = p.length;
  const id = str(p, `${at}.id`, w.id, VULN_ID_PATTERN, "a vulnerability id such as CVE-2026-34986 or GHSA-xxxx-xxxx-xxxx");
  const reason = typeof w.reason === "string" && w.reason.trim().length >= 10 ? w.reason.trim() : undefined;
  if (!reason) p.push(`${at}.reason: ${show(w.reason)} is not allowed (allowed: a written reason of at least 10 characters)`);
  const approvedBy = str(p, `${at}.approvedBy`, w.approvedBy, /^\S.{0,99}$/, "who accepted the risk, e.g. a GitHub login");
  const expires = str(p, `${at}.expires`, w.expires, DATE_PATTERN, "a date YYYY-MM-DD");
  if (expires !== undefined && !parseDay(expires)) p.push(`${at}.expires: ${show(expires)} is not a calendar date (allowed: a date YYYY-MM-DD)`);
  else if (expires !== undefined) {
    const left = daysUntil(expires, today);
    if (left < 0) p.push(`${at}.expires: ${expires} is in the past (allowed: today or later; renew the waiver with a new reason or remove it)`);
    else if (left <= noticeDays) warnings.push(`${file}: ${at} (${id}) expires in ${left} day${left === 1 ? "" : "s"}, on ${expires}`);
  }
  const approvedOn = str(p, `${at}.approvedOn`, w.approvedOn, DATE_PATTERN, "the day the risk was accepted, YYYY-MM-DD", true);
  if (approvedOn !== undefined && !parseDay(approvedOn)) p.push(`${at}.approvedOn: ${show(approvedOn)} is not a calendar date (allowed: a date YYYY-MM-DD)`);
  else if (approvedOn !== undefined && daysUntil(approvedOn, today) > 0) p.push(`${at}.approvedOn: ${approvedOn} is in the future (allowed: the day the risk was accepted, today or earlier)`);
  const purls = list(p, `${at}.purls`, w.purls, "package URLs", (x, a) => str(p, a, x, /^pkg:[a-z]+\/\S+$/, "a package URL such as pkg:golang/github.com/go-jose/go-jose/v4@v4.1.3"));
  const paths = list(p, `${at}.paths`, w.paths, "file paths", (x, a) => str(p, a, x, /^\S+$/, "a file path"));
  const status = w.status === undefined ? "not_affected" : str(p, `${at}.status`, w.status, /^(not_affected|affected)$/, "not_affected, affected");
  const justification = str(p, `${at}.justification`, w.justification, new RegExp(`^(${VEX_JUSTIFICATIONS.join("|")})$`), VEX_JUSTIFICATIONS.join(", "), true);
  const action = str(p, `${at}.action`, w.action, /\S/, "an action statement", true);
  if (status === "affected" && !action) p.push(`${at}.action: missing (allowed: an action statement; OpenVEX requires one for status affected)`);
  if (status === "affected" && justification) p.push(`${at}.justification: only for status not_affected (allowed: remove it, or set status not_affected)`);
  if (p.length > before || !id || !reason || !approvedBy || !expires || !status) return undefined;
  return {
    id,
    reason,
    expires,
    approvedBy,
    ...(approvedOn ? { approvedOn } : {}),
    status: status as ResolvedWaiver["status"],
    ...(purls && purls.length ? { purls } : {}),
    ...(paths && paths.length ? { paths } : {}),
    // No default: a justification is a claim about the code, and only the waiver's authors can make it;
    // without one the reason is the statement's impact_statement, which OpenVEX accepts instead.
    ...(justification ? { justification: justification as ResolvedWaiver["justification"] } : {}),
    ...(action ? { action } : {}),
  };
}
