/**
 * Reads `.mirror/config.yml` (MirrorConfig, rendered at deploy time by
 * components/mirror-config.ts) and checks every field: the pipeline trusts
 * nothing it did not check, and a config it cannot read stops the run with
 * every problem listed, naming the file and the field.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { MirrorConfig } from "../../components/mirror-config";
import { SEVERITIES, type Severity } from "../../components/types";
import { REPOSITORY_ROLES } from "./approval";
import { parseYaml } from "./yaml";

export const DEFAULT_CONFIG = ".mirror/config.yml";

export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly problems: readonly string[],
  ) {
    super(`${file}: ${problems.length === 1 ? problems[0] : `${problems.length} problems:\n${problems.map((p) => `  - ${p}`).join("\n")}`}`);
    this.name = "ConfigError";
  }
}

const OWNER_REPO = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})\/[A-Za-z0-9._-]{1,100}$/;
const REL_PATH = /^(?!\/)(?!.*(?:^|\/)\.\.(?:\/|$))[A-Za-z0-9._/-]+$/;

/**
 * The config a command should use: the file named by --config (which must
 * exist), else `.mirror/config.yml` under cwd when present, else undefined.
 */
export function loadConfigOption(cwd: string, flag: string | undefined): MirrorConfig | undefined {
  if (flag !== undefined) return loadMirrorConfig(path.resolve(cwd, flag), flag);
  const def = path.join(cwd, DEFAULT_CONFIG);
  return fs.existsSync(def) ? loadMirrorConfig(def, DEFAULT_CONFIG) : undefined;
}

/** Reads and validates a MirrorConfig file; `shown` is the name used in messages. */
export function loadMirrorConfig(file: string, shown = file): MirrorConfig {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new ConfigError(shown, [`cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`]);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text, shown);
  } catch (e) {
    throw new ConfigError(shown, [`not readable YAML: ${(e as Error).message}`]);
  }
  return validateMirrorConfig(doc, shown);
}

export function validateMirrorConfig(doc: unknown, shown: string): MirrorConfig {
  const p: string[] = [];
  const c = new Checker(p);
  const root = c.obj("", doc, ["schema", "name", "repository", "upstream", "image", "override", "build", "watch", "gate", "health", "attestations", "reviewers", "overrideReview"]);
  if (!root) throw new ConfigError(shown, p);
  if (root.schema !== 1) p.push(`schema: ${show(root.schema)} is not supported (allowed: 1; this pipeline bundle is older or newer than the config)`);
  c.str("name", root.name, /^[a-z0-9](?:[a-z0-9-]{0,37}[a-z0-9])?$/, "a mirror name");
  c.str("repository", root.repository, OWNER_REPO, "owner/repo");
  const up = c.obj("upstream", root.upstream, ["repo", "url", "license", "tags"]);
  if (up) {
    c.str("upstream.repo", up.repo, OWNER_REPO, "owner/repo");
    c.str("upstream.url", up.url, /^https:\/\/\S+$/, "an https URL");
    c.str("upstream.license", up.license, /\S/, "text");
    const t = c.obj("upstream.tags", up.tags, ["range", "prerelease", "prefix"]);
    if (t) {
      c.str("upstream.tags.range", t.range, /\S/, "a semver range");
      c.bool("upstream.tags.prerelease", t.prerelease);
      if (t.prefix !== "") c.str("upstream.tags.prefix", t.prefix, /^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$/, "'' or letters, digits and . _ / -");
    }
  }
  c.str("image", root.image, /^[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?(?::\d{1,5})?\/[a-z0-9._-]+(?:\/[a-z0-9._-]+)+$/, "<registry host>/<namespace>/<name>, e.g. ghcr.io/acme/gokapi");
  if (root.override === undefined) p.push("override: missing (allowed: null or a mapping)");
  else if (root.override !== null) {
    const o = c.obj("override", root.override, ["path", "sha256", "source", "sourceSha256", "basePins"]);
    if (o) {
      c.str("override.path", o.path, REL_PATH, "a relative path");
      c.str("override.source", o.source, /\S/, "text");
      c.str("override.sha256", o.sha256, /^[0-9a-f]{64}$/, "64 hex digits");
      if (o.sourceSha256 !== undefined) c.str("override.sourceSha256", o.sourceSha256, /^[0-9a-f]{64}$/, "64 hex digits");
      c.list("override.basePins", o.basePins, (v, at) => c.str(at, v, /@sha256:[0-9a-f]{64}$/, "image@sha256:<64 hex>"));
    }
  }
  const b = c.obj("build", root.build, ["args", "platforms", "dockerfile", "context"]);
  if (b) {
    const args = c.obj("build.args", b.args, null);
    for (const [k, v] of Object.entries(args ?? {})) c.str(`build.args.${k}`, v, /^[^\n\r]*$/, "a one-line string", true);
    c.list("build.platforms", b.platforms, (v, at) => c.str(at, v, /^linux\/[a-z0-9]+(\/v[0-9])?$/, "linux/<arch>"));
    c.str("build.dockerfile", b.dockerfile, REL_PATH, "a relative path");
    c.str("build.context", b.context, REL_PATH, "a relative path");
  }
  c.list("watch", root.watch, (v, at) => c.str(at, v, REL_PATH, "a relative path inside the upstream checkout"));
  const g = c.obj("gate", root.gate, ["severities", "fixedOnly", "waivers", "scans", "sourceOffReason"]);
  if (g) {
    const sev = c.list("gate.severities", g.severities, (v, at) => c.str(at, v, new RegExp(`^(${SEVERITIES.join("|")})$`), SEVERITIES.join(", ")));
    if (Array.isArray(sev) && sev.length === 0) p.push(`gate.severities: empty (allowed: one or more of ${SEVERITIES.join(", ")})`);
    c.bool("gate.fixedOnly", g.fixedOnly);
    c.str("gate.waivers", g.waivers, REL_PATH, "a relative path");
    // Absent in configs rendered before the source scan gated: both scans.
    if (g.scans !== undefined) {
      const scans = c.list("gate.scans", g.scans, (v, at) => c.str(at, v, /^(image|source)$/, "image, source"));
      if (g.sourceOffReason !== undefined) c.str("gate.sourceOffReason", g.sourceOffReason, /\S/, "a sentence");
      if (Array.isArray(scans) && !scans.includes("image")) p.push("gate.scans: image is missing (allowed: [image] or [image, source]; every platform of the image always gates)");
    }
  }
  const h = c.obj("health", root.health, ["maxDaysSinceCommit", "maxDaysSinceRelease"]);
  if (h) {
    c.int("health.maxDaysSinceCommit", h.maxDaysSinceCommit);
    c.int("health.maxDaysSinceRelease", h.maxDaysSinceRelease);
  }
  c.bool("attestations", root.attestations);
  c.list("reviewers", root.reviewers, (v, at) => c.str(at, v, /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})(?:\/[A-Za-z0-9._-]+)?$/, "a GitHub login or org/team"));
  // Absent in configs rendered before the closer's role was checked: the fleet default.
  if (root.overrideReview !== undefined) {
    const r = c.obj("overrideReview", root.overrideReview, ["approverRole"]);
    if (r) c.str("overrideReview.approverRole", r.approverRole, new RegExp(`^(${REPOSITORY_ROLES.join("|")})$`), REPOSITORY_ROLES.join(", "));
  }
  if (p.length > 0) throw new ConfigError(shown, p);
  return root as unknown as MirrorConfig;
}

/** The severities a `--severity` list names, or an error naming the unknown ones. */
export function parseSeverities(list: string, at = "--severity"): Severity[] {
  const items = list.split(",").map((s) => s.trim().toUpperCase()).filter((s) => s !== "");
  const bad = items.filter((s) => !(SEVERITIES as readonly string[]).includes(s));
  if (items.length === 0 || bad.length > 0) {
    throw new Error(`${at}: ${bad.length ? bad.map((b) => JSON.stringify(b)).join(", ") + " is not a severity" : "empty"} (allowed: a comma-separated list of ${SEVERITIES.join(", ")})`);
  }
  return [...new Set(items)] as Severity[];
}

function show(v: unknown): string {
  return v === undefined ? "missing" : JSON.stringify(v);
}

class Checker {
  constructor(private readonly p: string[]) {}

  obj(at: string, v: unknown, allowed: readonly string[] | null): Record<string, unknown> | undefined {
    if (typeof v !== "object" || v === null || Array.isArray(v)) {
      this.p.push(`${at || "the document"}: ${show(v)} is not allowed (allowed: a mapping)`);
      return undefined;
    }
    const o = v as Record<string, unknown>;
    if (allowed) {
      for (const k of Object.keys(o)) if (!allowed.includes(k)) this.p.push(`${at ? `${at}.` : ""}${k}: unknown key (allowed: ${allowed.join(", ")})`);
    }
    return o;
  }

  str(at: string, v: unknown, re: RegExp, allowed: string, emptyOk = false): string | undefined {
    if (typeof v !== "string" || (!emptyOk && v === "") || !re.test(v)) {
      this.p.push(`${at}: ${show(v)} is not allowed (allowed: ${allowed})`);
      return undefined;
    }
    return v;
  }

  bool(at: string, v: unknown): void {
    if (typeof v !== "boolean") this.p.push(`${at}: ${show(v)} is not allowed (allowed: true or false)`);
  }

  int(at: string, v: unknown): void {
    if (typeof v !== "number" || !Number.isInteger(v) || v < 1) this.p.push(`${at}: ${show(v)} is not allowed (allowed: a whole number of days, 1 or more)`);
  }

  list(at: string, v: unknown, each: (item: unknown, at: string) => unknown): unknown[] | undefined {
    if (!Array.isArray(v)) {
      this.p.push(`${at}: ${show(v)} is not allowed (allowed: a list)`);
      return undefined;
    }
    v.forEach((item, i) => each(item, `${at}[${i}]`));
    return v;
  }
}
