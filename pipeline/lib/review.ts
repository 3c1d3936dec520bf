/**
 * The diff review: what changed upstream between the last built tag and the
 * new one (commit log, changed files, stats, the full patch), and the drift
 * gate: did a watched path (the Dockerfile the override replaces, go.mod…)
 * change, so that a human must check the override still fits?
 *
 * Runs real git on the upstream checkout; every tag is checked against the
 * strict pattern first and only resolved commit ids reach later commands.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import { checkTagName } from "./tags";

export type DriftStatus = "initial" | "none" | "changed";

export interface Drift {
  readonly status: DriftStatus;
  /** Changed files under a watched path (or a symbolic link's target inside the tree), sorted. */
  readonly files: readonly string[];
  /** When changed: what an approval binds to, the upstream commit and the sha256 of the drift patch. */
  readonly commit?: string;
  readonly patchSha256?: string;
}

export interface ChangedFile {
  /** git's status letter: A, M, D, R, C, T. */
  readonly status: string;
  readonly path: string;
  /** For renames and copies: the path before. */
  readonly from?: string;
  /** Lines added and deleted; null for binary files. */
  readonly added: number | null;
  readonly deleted: number | null;
}

export interface Commit {
  readonly sha: string;
  readonly date: string;
  readonly author: string;
  readonly subject: string;
}

export interface ReviewData {
  readonly from: { readonly tag: string; readonly commit: string } | null;
  readonly to: { readonly tag: string; readonly commit: string };
  readonly watch: readonly string[];
  readonly commits: readonly Commit[];
  /** All commits in from..to (the list above may be shorter). */
  readonly commitCount: number;
  readonly files: readonly ChangedFile[];
  /** Initial build: how many files the tree at `to` has, and which watched paths exist in it. */
  readonly treeFiles?: number;
  readonly watchedPresent?: readonly string[];
  readonly drift: Drift;
  /** When drift changed: the patch of the drift paths, what the approval binds to (shown in the review). */
  readonly driftPatch?: string;
}

/** Commits listed in the review; the patch holds everything. */
const MAX_COMMITS = 500;
const MAX_FILES = 1000;
/** Lines of the drift patch shown in the review (the whole patch is diff.patch). */
const MAX_PATCH_LINES = 2000;

/** git with settings that make its output the same on every machine, whatever the user's config says. */
export function git(src: string, args: readonly string[], opts: { allowFail?: boolean } = {}): string {
  try {
    return execFileSync("git", [...GIT_FLAGS, "-C", src, ...args], {
      encoding: "utf8",
      maxBuffer: 512 * 1024 * 1024,
      stdio: ["ignore", "pipe", "pipe"],
      env: gitEnv(),
    });
  } catch (e) {
    if (opts.allowFail) return "";
    const err = e as { stderr?: string; message: string };
    throw new Error(`git ${args.join(" ")} in ${src} failed: ${(err.stderr || err.message).trim()}`);
  }
}

const GIT_FLAGS = [
  "-c", "core.quotePath=false",
  "-c", "color.ui=never",
  "-c", "log.showSignature=false",
  "-c", "diff.noprefix=false",
  "-c", "diff.mnemonicPrefix=false",
  "-c", "diff.relative=false",
  "-c", "diff.renames=true",
];

function gitEnv(): NodeJS.ProcessEnv {
  return { ...process.env, LC_ALL: "C", GIT_TERMINAL_PROMPT: "0", GIT_PAGER: "cat", GIT_OPTIONAL_LOCKS: "0" };
}

/** The commit a tag points to (peeled), or an error that says how to get it. */
export function tagCommit(src: string, tag: string, what: string): string {
  checkTagName(tag, what);
  const sha = git(src, ["rev-parse", "--verify", "--quiet", `refs/tags/${tag}^{commit}`], { allowFail: true }).trim();
  if (!/^[0-9a-f]{40,64}$/.test(sha)) {
    throw new Error(`${what} ${tag} is not a tag in ${src} (clone the upstream with its tags and full history, e.g. fetch-depth: 0)`);
  }
  return sha;
}

/** Is `file` at or under one of the watched paths? */
export function isWatched(file: string, watch: readonly string[]): boolean {
  return watch.some((w) => {
    const base = w.replace(/\/+$/, "");
    return base === "." || file === base || file.startsWith(`${base}/`);
  });
}

/** Thrown when a watched path is a symbolic link that leaves the upstream tree: the review fails closed. */
export class LinkEscapeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LinkEscapeError";
  }
}

/** The symbolic links of a tree (path -> target as stored), from git's objects: nothing on disk is followed. */
export function treeLinks(src: string, commit: string): Map<string, string> {
  const links = new Map<string, string>();
  const shas: Array<[string, string]> = [];
  for (const rec of git(src, ["ls-tree", "-r", "-z", "--full-tree", commit]).split("\0")) {
    const m = /^120000 blob ([0-9a-f]{40,64})\t(.*)$/s.exec(rec);
    if (m) shas.push([m[2], m[1]]);
  }
  if (!shas.length) return links;
  const r = spawnSync("git", [...GIT_FLAGS, "-C", src, "cat-file", "--batch"], {
    input: shas.map(([, sha]) => sha).join("\n") + "\n",
    maxBuffer: 64 * 1024 * 1024,
    env: gitEnv(),
  });
  if (r.status !== 0) throw new Error(`git cat-file --batch in ${src} failed: ${String(r.stderr).trim()}`);
  const out = r.stdout as Buffer;
  let at = 0;
  for (const [p] of shas) {
    const nl = out.indexOf(10, at);
    const size = Number(/ blob (\d+)$/.exec(out.subarray(at, nl).toString("utf8"))?.[1]);
    links.set(p, out.subarray(nl + 1, nl + 1 + size).toString("utf8"));
    at = nl + 1 + size + 1;
  }
  return links;
}

/**
 * Where `file` leads inside the tree, following symbolic links (also in its
 * directories) the way a checkout would, but never outside: an absolute
 * target or one that climbs above the root is a LinkEscapeError. Returns the
 * path relative to the root ("" for the root itself).
 */
export function resolveInTree(file: string, links: ReadonlyMap<string, string>, what: string): string {
  let rest = file.split("/").filter((x) => x !== "" && x !== ".");
  const done: string[] = [];
  for (let hops = 0; rest.length; ) {
    const part = rest.shift()!;
    if (part === "..") {
      if (!done.length) throw new LinkEscapeError(`${what}: ${JSON.stringify(file)} leads outside the upstream tree`);
      done.pop();
      continue;
    }
    const here = [...done, part].join("/");
    const target = links.get(here);
    if (target === undefined) {
      done.push(part);
      continue;
    }
    if (++hops > 40) throw new LinkEscapeError(`${what}: ${JSON.stringify(file)}: too many levels of symbolic links`);
    if (target.startsWith("/")) {
      throw new LinkEscapeError(`${what}: ${JSON.stringify(here)} is a symbolic link to ${JSON.stringify(target)}, outside the upstream tree; nothing is reviewed or built`);
    }
    const up = target.split("/").filter((x) => x !== "" && x !== ".");
    // Climbing above the root from the link's directory leaves the tree.
    let depth = done.length;
    for (const x of up) {
      depth += x === ".." ? -1 : 1;
      if (depth < 0) {
        throw new LinkEscapeError(`${what}: ${JSON.stringify(here)} is a symbolic link to ${JSON.stringify(target)}, outside the upstream tree; nothing is reviewed or built`);
      }
    }
    rest = [...up, ...rest];
  }
  return done.join("/");
}

/**
 * The paths whose change is drift: each watched path, where it leads through
 * symbolic links, and the targets of links inside watched directories, until
 * nothing new is added. In the tree being built a link that leaves it throws;
 * in the earlier tree such a link is only skipped (it was built before).
 */
export function effectiveWatch(watch: readonly string[], links: ReadonlyMap<string, string>, strict: boolean): string[] {
  const out = new Set(watch.map((w) => w.replace(/\/+$/, "") || "."));
  const add = (p: string, what: string) => {
    try {
      const r = resolveInTree(p, links, what);
      out.add(r === "" ? "." : r);
    } catch (e) {
      if (strict || !(e instanceof LinkEscapeError)) throw e;
    }
  };
  for (const w of watch) add(w, `watched path ${JSON.stringify(w)}`);
  for (let size = -1; size !== out.size; ) {
    size = out.size;
    for (const l of links.keys()) if (isWatched(l, [...out])) add(l, `watched path ${JSON.stringify(l)}`);
  }
  return [...out].sort();
}

/** The patch of the drift paths between two commits (binary-safe, full blob ids): what an override-review approval binds to. */
export function driftPatch(src: string, from: string, to: string, paths: readonly string[]): Buffer {
  const spec = paths.map((p) => (p === "." ? ":(top)" : `:(top,literal)${p}`));
  const r = spawnSync("git", [...GIT_FLAGS, "-C", src, "diff", "--no-ext-diff", "--no-textconv", "--binary", "--full-index", "-M", from, to, "--", ...spec], {
    maxBuffer: 512 * 1024 * 1024,
    env: gitEnv(),
  });
  if (r.status !== 0) throw new Error(`git diff in ${src} failed: ${String(r.stderr ?? r.error?.message ?? "").trim()}`);
  return r.stdout as Buffer;
}

export function collectReview(src: string, fromTag: string | null, toTag: string, watch: readonly string[]): ReviewData {
  const to = { tag: toTag, commit: tagCommit(src, toTag, "--to") };
  const toWatch = effectiveWatch(watch, treeLinks(src, to.commit), true);
  if (fromTag === null) {
    const tree = git(src, ["ls-tree", "-r", "--name-only", "-z", to.commit]).split("\0").filter((x) => x !== "");
    return {
      from: null,
      to,
      watch,
      commits: [],
      commitCount: 0,
      files: [],
      treeFiles: tree.length,
      watchedPresent: tree.filter((f) => isWatched(f, toWatch)).sort(),
      drift: { status: "initial", files: [] },
    };
  }
  const from = { tag: fromTag, commit: tagCommit(src, fromTag, "--from") };
  const range = `${from.commit}..${to.commit}`;
  const commitCount = Number(git(src, ["rev-list", "--count", range]).trim());
  const commits = git(src, ["log", "-z", `--max-count=${MAX_COMMITS}`, "--date=short", "--format=%H%x1f%ad%x1f%an%x1f%s", range])
    .split("\0")
    .filter((x) => x !== "")
    .map((rec) => {
      const [sha, date, author, subject] = rec.replace(/^\n/, "").split("\x1f");
      return { sha, date, author, subject: subject ?? "" };
    });
  const files = changedFiles(src, from.commit, to.commit);
  // A watched path that is a link drifts when its target's content does: watch both trees' targets.
  const drifting = [...new Set([...toWatch, ...effectiveWatch(watch, treeLinks(src, from.commit), false)])].sort();
  const touched = new Set<string>();
  for (const f of files) for (const p of [f.path, f.from]) if (p !== undefined && isWatched(p, drifting)) touched.add(p);
  const driftFiles = [...touched].sort();
  const patch = driftFiles.length ? driftPatch(src, from.commit, to.commit, drifting) : null;
  return {
    from,
    to,
    watch,
    commits,
    commitCount,
    files,
    drift: patch
      ? { status: "changed", files: driftFiles, commit: to.commit, patchSha256: createHash("sha256").update(patch).digest("hex") }
      : { status: "none", files: [] },
    ...(patch ? { driftPatch: patch.toString("utf8") } : {}),
  };
}

function changedFiles(src: string, a: string, b: string): ChangedFile[] {
  const names = git(src, ["diff", "--no-ext-diff", "--no-textconv", "-M", "--name-status", "-z", a, b]).split("\0");
  const out: Array<{ status: string; path: string; from?: string }> = [];
  for (let i = 0; i < names.length - 1; ) {
    const status = names[i++];
    if (status === "") continue;
    const letter = status[0];
    if (letter === "R" || letter === "C") {
      const from = names[i++];
      const path = names[i++];
      out.push({ status: letter, path, from });
    } else out.push({ status: letter, path: names[i++] });
  }
  // --numstat -z: "<added>\t<deleted>\t<path>\0", or for renames "<added>\t<deleted>\t\0<from>\0<to>\0".
  const stats = new Map<string, { added: number | null; deleted: number | null }>();
  const num = git(src, ["diff", "--no-ext-diff", "--no-textconv", "-M", "--numstat", "-z", a, b]).split("\0");
  for (let i = 0; i < num.length - 1; ) {
    const m = /^(\d+|-)\t(\d+|-)\t(.*)$/s.exec(num[i++]);
    if (!m) continue;
    const path = m[3] === "" ? (i++, num[i++]) : m[3];
    stats.set(path, { added: m[1] === "-" ? null : Number(m[1]), deleted: m[2] === "-" ? null : Number(m[2]) });
  }
  return out.map((f) => ({ ...f, ...(stats.get(f.path) ?? { added: null, deleted: null }) }));
}

/** Writes the full patch between two commits to `file` (streamed: it can be large). */
export function writePatch(src: string, fromCommit: string | null, toCommit: string, file: string): void {
  const fd = fs.openSync(file, "w");
  try {
    if (fromCommit === null) return;
    const r = spawnSync("git", [...GIT_FLAGS, "-C", src, "diff", "--no-ext-diff", "--no-textconv", "-M", fromCommit, toCommit], {
      stdio: ["ignore", fd, "pipe"],
      env: gitEnv(),
    });
    if (r.status !== 0) throw new Error(`git diff in ${src} failed: ${String(r.stderr ?? r.error?.message ?? "").trim()}`);
  } finally {
    fs.closeSync(fd);
  }
}

export function renderReview(d: ReviewData, upstream?: string): string {
  const out: string[] = [];
  const name = upstream ? `${upstream} ` : "";
  const tagRef = (t: { tag: string; commit: string }) => `${code(t.tag)} (${code(t.commit.slice(0, 12))})`;
  if (d.from === null) {
    out.push(`# Diff review: ${name}${d.to.tag} (initial build)`, "");
    out.push(
      "There is no previously built tag to compare with, so there is no diff. " +
        "This first build is reviewed as a whole: the upstream tree at the tag below, built with the mirror's override.",
      "",
    );
    out.push("| | |", "|---|---|", `| Tag | ${tagRef(d.to)} |`, `| Files in the tree | ${d.treeFiles ?? 0} |`);
    out.push(`| Watched paths | ${d.watch.map(code).join(", ") || "none"} |`);
    out.push(`| Watched files present | ${(d.watchedPresent ?? []).map(code).join(", ") || "none"} |`, "");
    out.push("Drift gate: **initial**: the override was written against this tree; later builds compare the watched paths with it.", "");
    return out.join("\n");
  }
  const added = d.files.reduce((n, f) => n + (f.added ?? 0), 0);
  const deleted = d.files.reduce((n, f) => n + (f.deleted ?? 0), 0);
  out.push(`# Diff review: ${name}${d.from.tag} → ${d.to.tag}`, "");
  out.push("| | |", "|---|---|", `| From | ${tagRef(d.from)} |`, `| To | ${tagRef(d.to)} |`);
  out.push(`| Commits | ${d.commitCount} |`, `| Files changed | ${d.files.length} (+${added} −${deleted}) |`);
  out.push(`| Watched paths | ${d.watch.map(code).join(", ") || "none"} |`, "");
  if (d.drift.status === "changed") {
    out.push(
      `Drift gate: **changed**: ${d.drift.files.length} watched file${d.drift.files.length === 1 ? "" : "s"} changed upstream. ` +
        "The override replaces them; a human must check that it still builds what upstream meant to ship.",
      "",
    );
    for (const f of d.drift.files) out.push(`- ${code(f)}`);
    out.push("");
    if (d.driftPatch !== undefined) {
      // What the approval binds to (sha256 below): a human approves this text, for this commit.
      const lines = d.driftPatch.replace(/\n$/, "").split("\n");
      const shown = lines.slice(0, MAX_PATCH_LINES);
      out.push(`### Drift patch (sha256 ${code(d.drift.patchSha256 ?? "")}, upstream commit ${code(d.to.commit)})`, "");
      out.push(...fence(shown, "diff"));
      if (lines.length > shown.length) out.push(`… and ${lines.length - shown.length} more lines (see diff.patch).`);
      out.push("");
    }
  } else out.push("Drift gate: **none**: no watched path changed.", "");

  out.push(`## Commits (${d.commitCount})`, "");
  if (d.commits.length === 0) out.push("None.", "");
  else {
    // Commit subjects and author names are upstream's text: inside a fence they render as text.
    const lines = d.commits.map((c) => `${c.sha.slice(0, 12)} ${c.date} ${c.author}: ${c.subject}`);
    out.push(...fence(lines));
    if (d.commitCount > d.commits.length) out.push(`… and ${d.commitCount - d.commits.length} older commits (see diff.patch and the upstream history).`);
    out.push("");
  }
  out.push(`## Changed files (${d.files.length})`, "");
  if (d.files.length === 0) out.push("None.", "");
  else {
    out.push("| Status | File | + | − |", "|---|---|---:|---:|");
    for (const f of d.files.slice(0, MAX_FILES)) {
      const file = f.from !== undefined ? `${code(f.from)} → ${code(f.path)}` : code(f.path);
      const drifted = new Set(d.drift.files);
      const mark = isWatched(f.path, d.watch) || (f.from !== undefined && isWatched(f.from, d.watch)) || drifted.has(f.path) || (f.from !== undefined && drifted.has(f.from)) ? " (watched)" : "";
      out.push(`| ${f.status} | ${file}${mark} | ${f.added ?? "bin"} | ${f.deleted ?? "bin"} |`);
    }
    if (d.files.length > MAX_FILES) out.push("", `… and ${d.files.length - MAX_FILES} more files (see diff.patch).`);
    out.push("");
  }
  out.push("The full patch is `diff.patch`, next to this file.", "");
  return out.join("\n");
}

function fence(lines: string[], info = "text"): string[] {
  let longest = 2;
  for (const l of lines) for (const m of l.match(/`+/g) ?? []) longest = Math.max(longest, m.length);
  const f = "`".repeat(longest + 1);
  return [`${f}${info}`, ...lines.map((l) => l.replace(/[\r\n]/g, " ")), f];
}

function code(s: string): string {
  return "`" + s.replace(/`/g, "'").replace(/\|/g, "\\|").replace(/[\r\n]/g, " ") + "`";
}
