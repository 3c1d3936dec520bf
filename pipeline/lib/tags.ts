/**
 * Upstream tags -> the tag to build. Pure apart from the three listers at the
 * bottom (tags file, `git ls-remote`, GitHub API).
 *
 * Tag names are untrusted text: git allows `;`, `$`, `(` and `|` in them, so
 * every name is held to TAG_PATTERN before it is used (DESIGN invariant 4).
 * In a list, a name that fails it is not a version and is skipped; a name
 * that was asked for (--tag) or is pinned and fails it is an error.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import Range from "semver/classes/range";
import SemVer from "semver/classes/semver";
import type { GitHub } from "../github";
import { parseYaml } from "./yaml";

export const TAG_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._+/-]{0,127}$/;

export class TagNameError extends Error {
  constructor(what: string, tag: string) {
    super(
      `${what} ${JSON.stringify(tag)} is not allowed (allowed: a name matching ${TAG_PATTERN.source}; ` +
        `git also allows characters such as ; $ ( | in tag names, which this pipeline never passes on)`,
    );
    this.name = "TagNameError";
  }
}

/** Returns the tag when it matches TAG_PATTERN, else throws TagNameError naming `what` it is. */
export function checkTagName(tag: string, what = "tag"): string {
  if (!TAG_PATTERN.test(tag)) throw new TagNameError(what, tag);
  return tag;
}

export interface TagPolicy {
  /** semver range, `*` for any. */
  readonly range: string;
  readonly prerelease: boolean;
  /** Stripped before parsing; tags without it are not candidates. `''` for none. */
  readonly prefix: string;
}

export interface UpstreamTag {
  readonly name: string;
  /** The commit the tag points to (peeled for annotated tags), when the source knows it. */
  readonly commit?: string;
  /** As the source gave it; only breaks ties. */
  readonly date?: string;
  /** GitHub marks the release as a prerelease. */
  readonly prerelease?: boolean;
}

export interface Candidate {
  readonly tag: UpstreamTag;
  readonly version: SemVer;
  /** Parsed as strict semver (`v1.2.3`, `1.2.3-rc.1`) rather than coerced (`1.2` -> 1.2.0). */
  readonly strict: boolean;
}

export function describePolicy(p: TagPolicy): string {
  return `range ${JSON.stringify(p.range)}, prereleases ${p.prerelease ? "allowed" : "excluded"}, prefix ${p.prefix ? JSON.stringify(p.prefix) : "none"}`;
}

export function policyRange(p: TagPolicy): Range {
  try {
    return new Range(p.range, { includePrerelease: p.prerelease });
  } catch {
    throw new Error(`tag policy: range ${JSON.stringify(p.range)} is not a semver range (allowed: e.g. ">=2.0.0 <3" or "*")`);
  }
}

/** Strict semver first; otherwise MAJOR or MAJOR.MINOR with optional -pre/+build, coerced to MAJOR.MINOR.PATCH. */
const LOOSE = /^[vV]?(0|[1-9][0-9]{0,15})(?:\.(0|[1-9][0-9]{0,15}))?(?:\.(0|[1-9][0-9]{0,15}))?(?:-([0-9A-Za-z.-]+))?(?:\+([0-9A-Za-z.-]+))?$/;

/** The version a tag name stands for under the policy's prefix, or undefined when it is not a version. */
export function versionOf(name: string, prefix: string): { version: SemVer; strict: boolean } | undefined {
  if (!TAG_PATTERN.test(name)) return undefined;
  if (prefix && !name.startsWith(prefix)) return undefined;
  const rest = name.slice(prefix.length);
  try {
    return { version: new SemVer(rest), strict: true };
  } catch {
    // not strict semver: try the loose forms below
  }
  const m = LOOSE.exec(rest);
  if (!m) return undefined;
  try {
    const v = `${m[1]}.${m[2] ?? 0}.${m[3] ?? 0}${m[4] ? `-${m[4]}` : ""}${m[5] ? `+${m[5]}` : ""}`;
    return { version: new SemVer(v), strict: false };
  } catch {
    return undefined;
  }
}

function isPrerelease(c: Candidate): boolean {
  return c.version.prerelease.length > 0 || c.tag.prerelease === true;
}

/**
 * Every tag the policy allows, newest first. A coerced (loose) version is
 * dropped when a tag with the same strict version exists: `1.2` is 1.2.0
 * only when there is no `1.2.0`. When upstream has strict versions, a loose
 * one counts only inside a major version that strict tags use (plik's `1.3`
 * next to `1.3.1`): `V99`, `2024` or `20240101` (99.0.0, 2024.0.0,
 * 20240101.0.0) never outrank the releases. Ties (`v1.2.3` and `1.2.3`) go to
 * the strict tag, then the later date, then the name, so the choice is stable.
 */
export function allowedTags(tags: readonly UpstreamTag[], policy: TagPolicy): Candidate[] {
  const range = policyRange(policy);
  const parsed: Candidate[] = [];
  const seen = new Set<string>();
  for (const tag of tags) {
    if (seen.has(tag.name)) continue;
    seen.add(tag.name);
    const v = versionOf(tag.name, policy.prefix);
    if (v) parsed.push({ tag, ...v });
  }
  const strict = parsed.filter((c) => c.strict);
  const strictVersions = new Set(strict.map((c) => c.version.version));
  // Only releases the policy allows open a major to loose tags: a prerelease it
  // excludes (`v3.0.0-rc.1`) must not make `v3` (3.0.0) a candidate.
  const strictMajors = new Set(strict.filter((c) => policy.prerelease || !isPrerelease(c)).map((c) => c.version.major));
  return parsed
    .filter((c) => c.strict || (!strictVersions.has(c.version.version) && (strict.length === 0 || strictMajors.has(c.version.major))))
    .filter((c) => (policy.prerelease || !isPrerelease(c)) && range.test(c.version))
    .sort(compareCandidates);
}

function compareCandidates(a: Candidate, b: Candidate): number {
  return (
    b.version.compare(a.version) ||
    Number(b.strict) - Number(a.strict) ||
    (b.tag.date ?? "").localeCompare(a.tag.date ?? "") ||
    (a.tag.name < b.tag.name ? -1 : a.tag.name > b.tag.name ? 1 : 0)
  );
}

export interface Resolution {
  readonly tag: string;
  readonly commit?: string;
  readonly lastTag: string | null;
  readonly build: boolean;
  readonly reason: string;
}

export interface ResolveOptions {
  /** The tag in image-pin.yml, or null when nothing is pinned yet. */
  readonly lastTag: string | null;
  /** A manual request: build exactly this tag. */
  readonly requested?: string;
  /** Build even when the tag is the pinned one. */
  readonly force?: boolean;
}

/** Chooses the tag to build; throws when the request or the pinned tag is unusable, or nothing matches. */
export function resolveTag(tags: readonly UpstreamTag[], policy: TagPolicy, opts: ResolveOptions): Resolution {
  const lastTag = opts.lastTag === null ? null : checkTagName(opts.lastTag, "pinned tag (image-pin.yml)");
  const allowed = allowedTags(tags, policy);
  const pick = (c: Candidate, build: boolean, reason: string): Resolution => ({
    tag: c.tag.name,
    ...(c.tag.commit ? { commit: c.tag.commit } : {}),
    lastTag,
    build,
    reason,
  });

  if (opts.requested !== undefined) {
    const want = checkTagName(opts.requested, "requested tag");
    if (!tags.some((t) => t.name === want)) throw new Error(`requested tag ${want} does not exist upstream (${tags.length} tags seen)`);
    const c = allowed.find((x) => x.tag.name === want);
    if (!c) throw new Error(`requested tag ${want} is not allowed by the tag policy (${describePolicy(policy)})`);
    if (want === lastTag && !opts.force) return pick(c, false, `requested tag ${want} is already pinned; nothing to build (--force rebuilds it)`);
    return pick(c, true, want === lastTag ? `forced rebuild of the requested tag ${want}` : `requested tag ${want}`);
  }

  if (opts.force && lastTag !== null) {
    // A forced rebuild rebuilds the pinned tag itself, never another name of the same version
    // (`2.2.5` for `v2.2.5`), which can point to another commit.
    const last = versionOf(lastTag, policy.prefix);
    const pinned = allowed.find((c) => c.tag.name === lastTag);
    if (last && pinned && !allowed.some((c) => c.version.compare(last.version) > 0)) return pick(pinned, true, `forced rebuild of ${lastTag}`);
    const alike = last && !pinned ? allowed.filter((c) => c.version.compare(last.version) === 0).map((c) => c.tag.name) : [];
    if (alike.length && !allowed.some((c) => c.version.compare(last!.version) > 0)) {
      throw new Error(
        `forced rebuild: the pinned tag ${lastTag} is not an allowed upstream tag anymore; ${alike.join(", ")} ${alike.length === 1 ? "has" : "have"} its version ` +
          "but another name, possibly on another commit: not rebuilt in its place (--tag NAME builds one on purpose)",
      );
    }
  }
  const newest = allowed[0];
  if (!newest) {
    // Names from the list are not checked yet: quote any that fails the pattern.
    const sample = tags.slice(-5).map((t) => (TAG_PATTERN.test(t.name) ? t.name : JSON.stringify(t.name))).join(", ");
    const shared = policy.prefix ? [] : sharedPrefixes(tags);
    const hint = shared.length
      ? `; the tags carry a prefix: set upstream.tags.prefix (or --prefix) to ${shared.map((p) => `${JSON.stringify(p.prefix)} (${p.count} tag${p.count === 1 ? "" : "s"})`).join(" or ")}`
      : "";
    throw new Error(`no upstream tag matches the tag policy (${describePolicy(policy)}); ${tags.length} tags seen${sample ? `, the last listed: ${sample}` : ""}${hint}`);
  }
  const name = newest.tag.name;
  if (lastTag === null) return pick(newest, true, `nothing is pinned yet: building the newest allowed tag ${name}`);
  if (name === lastTag) return pick(newest, !!opts.force, opts.force ? `forced rebuild of ${name}` : `${name} is already pinned; nothing to build`);
  const last = versionOf(lastTag, policy.prefix);
  if (!last) return pick(newest, true, `pinned tag ${lastTag} is not a version under the tag policy; building the newest allowed tag ${name}`);
  const cmp = newest.version.compare(last.version);
  if (cmp > 0) return pick(newest, true, `new upstream tag ${name} (pinned: ${lastTag})`);
  if (opts.force) return pick(newest, true, `forced rebuild of ${name} (pinned: ${lastTag})`);
  return pick(
    newest,
    false,
    cmp === 0 ? `${name} is the same version as the pinned ${lastTag}; nothing to build` : `pinned tag ${lastTag} is newer than the newest allowed tag ${name}; nothing to build`,
  );
}

/**
 * The prefixes a monorepo's tags put before their versions (`photos-v1.2.0`
 * -> `photos-v`), most used first, at most three: a hint for a policy without
 * a prefix that matched nothing. Tags that are versions without one count for none.
 */
export function sharedPrefixes(tags: readonly UpstreamTag[]): Array<{ prefix: string; count: number }> {
  const counts = new Map<string, number>();
  for (const { name } of tags) {
    if (!TAG_PATTERN.test(name) || versionOf(name, "")) continue;
    // The longest prefix ending right before a number that starts a version.
    let found: string | undefined;
    for (let i = 1; i < name.length; i++) {
      if (/[0-9]/.test(name[i]) && !/[0-9.]/.test(name[i - 1]) && versionOf(name, name.slice(0, i))) found = name.slice(0, i);
    }
    if (found) counts.set(found, (counts.get(found) ?? 0) + 1);
  }
  return [...counts]
    .map(([prefix, count]) => ({ prefix, count }))
    .sort((a, b) => b.count - a.count || (a.prefix < b.prefix ? -1 : 1))
    .slice(0, 3);
}

/** Lines of a tags file whose tag fails TAG_PATTERN, with their 1-based line numbers: they are skipped, and resolve says so. */
export function skippedTagLines(text: string): Array<{ line: number; text: string }> {
  const out: Array<{ line: number; text: string }> = [];
  text.split(/\r?\n/).forEach((line, i) => {
    const t = line.trim();
    if (t === "" || t.startsWith("#")) return;
    if (!TAG_PATTERN.test(/^\S+/.exec(t)![0])) out.push({ line: i + 1, text: t });
  });
  return out;
}

/** Lines `<tag> [date…]`; blank lines and `#` comments are skipped. */
export function parseTagsFile(text: string): UpstreamTag[] {
  const out: UpstreamTag[] = [];
  for (const line of text.split(/\r?\n/)) {
    const t = line.trim();
    if (t === "" || t.startsWith("#")) continue;
    const m = /^(\S+)(?:\s+(.*))?$/.exec(t)!;
    out.push(m[2] ? { name: m[1], date: m[2] } : { name: m[1] });
  }
  return out;
}

/**
 * `git ls-remote --tags` output. An annotated tag appears twice: the tag
 * object, then `<name>^{}` with the commit it points to; the commit wins.
 */
export function parseLsRemote(text: string): UpstreamTag[] {
  const direct = new Map<string, string>();
  const peeled = new Map<string, string>();
  for (const line of text.split("\n")) {
    const m = /^([0-9a-f]{40,64})\trefs\/tags\/(.+?)(\^\{\})?$/.exec(line);
    if (!m) continue;
    (m[3] ? peeled : direct).set(m[2], m[1]);
  }
  return [...direct.keys()].map((name) => ({ name, commit: peeled.get(name) ?? direct.get(name)! }));
}

/** Tags of a git remote (a URL or a local path), without cloning. */
export function listRemoteTags(remote: string, env: Readonly<Record<string, string | undefined>> = process.env): UpstreamTag[] {
  // A remote starting with '-' would be read by git as an option.
  if (remote.startsWith("-")) throw new Error(`--remote ${JSON.stringify(remote)} is not allowed (allowed: a URL or a path)`);
  let out: string;
  try {
    out = execFileSync("git", ["ls-remote", "--tags", remote], {
      encoding: "utf8",
      maxBuffer: 64 * 1024 * 1024,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...env, GIT_TERMINAL_PROMPT: "0", LC_ALL: "C" },
      timeout: 120_000,
    });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`git ls-remote --tags ${remote} failed: ${(err.stderr || err.message).trim()}`);
  }
  return parseLsRemote(out);
}

/**
 * Tags and releases of a GitHub repository, every page. A tag carries its
 * commit; a release adds its date and prerelease flag. Draft releases are
 * skipped: their tag may not exist yet.
 */
export async function listGitHubTags(gh: GitHub, owner: string, repo: string): Promise<UpstreamTag[]> {
  const tags = await gh.paginate("GET /repos/{owner}/{repo}/tags", { owner, repo, per_page: 100 });
  const releases = await gh.paginate("GET /repos/{owner}/{repo}/releases", { owner, repo, per_page: 100 });
  const byName = new Map<string, UpstreamTag>();
  for (const t of tags) byName.set(t.name, { name: t.name, commit: t.commit.sha });
  for (const r of releases) {
    if (r.draft) continue;
    const had = byName.get(r.tag_name);
    byName.set(r.tag_name, {
      name: r.tag_name,
      ...(had?.commit ? { commit: had.commit } : {}),
      ...(r.published_at ? { date: r.published_at } : {}),
      prerelease: r.prerelease,
    });
  }
  return [...byName.values()];
}

/** The `tag:` of image-pin.yml, or null when the file does not exist. */
export function readPinnedTag(file: string, shown = file): string | null {
  if (!fs.existsSync(file)) return null;
  const doc = parseYaml(fs.readFileSync(file, "utf8"), shown);
  const tag = typeof doc === "object" && doc !== null ? (doc as Record<string, unknown>).tag : undefined;
  if (typeof tag !== "string" || tag === "") throw new Error(`${shown}: tag: ${JSON.stringify(tag ?? null)} is not allowed (allowed: the upstream tag of the pinned image)`);
  return checkTagName(tag, `${shown}: tag`);
}
