/**
 * Git's own object format (Pro Git, "Git Internals - Git Objects"; git's
 * Documentation/gitformat-*): the stand-in's commits are real git commits,
 * so their SHAs are the ones a `git clone` of the stand-in sees, and
 * `actions/checkout` can fetch a workflow run's GITHUB_SHA from it.
 *
 * Every file is a regular file (mode 100644): the stand-in keeps contents,
 * not modes, like the contents API it serves.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { deflateSync } from "node:zlib";

export interface GitIdentityAt {
  readonly name: string;
  readonly email: string;
  /** ISO 8601, UTC */
  readonly date: string;
}

export interface GitCommitInput {
  readonly parents: readonly string[];
  /** path -> content (UTF-8) */
  readonly tree: ReadonlyMap<string, string>;
  readonly message: string;
  readonly author: GitIdentityAt;
  readonly committer: GitIdentityAt;
}

export interface GitObject {
  readonly sha: string;
  readonly type: "blob" | "tree" | "commit";
  /** The object's content, without the `<type> <size>\0` header. */
  readonly body: Buffer;
}

function object(type: GitObject["type"], body: Buffer): GitObject {
  const sha = createHash("sha1").update(`${type} ${body.length}\0`).update(body).digest("hex");
  return { sha, type, body };
}

/** The tree objects of a path -> content map (subdirectories first-class), root last. */
function trees(files: ReadonlyMap<string, string>, out: GitObject[]): string {
  const dirs = new Map<string, Map<string, string>>();
  const blobs: Array<[string, string]> = [];
  for (const [p, content] of files) {
    const [first, ...rest] = p.split("/");
    if (rest.length === 0) blobs.push([first, content]);
    else {
      const sub = dirs.get(first) ?? new Map<string, string>();
      sub.set(rest.join("/"), content);
      dirs.set(first, sub);
    }
  }
  // Git sorts entries by name, a directory as if its name ended in "/".
  const entries: Array<{ key: string; mode: string; name: string; sha: string }> = [];
  for (const [name, content] of blobs) {
    const b = object("blob", Buffer.from(content, "utf8"));
    out.push(b);
    entries.push({ key: name, mode: "100644", name, sha: b.sha });
  }
  for (const [name, sub] of dirs) entries.push({ key: `${name}/`, mode: "40000", name, sha: trees(sub, out) });
  entries.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const body = Buffer.concat(entries.map((e) => Buffer.concat([Buffer.from(`${e.mode} ${e.name}\0`), Buffer.from(e.sha, "hex")])));
  const t = object("tree", body);
  out.push(t);
  return t.sha;
}

function signature(who: GitIdentityAt): string {
  return `${who.name} <${who.email}> ${Math.floor(Date.parse(who.date) / 1000)} +0000`;
}

/** Every object of one commit (its blobs, trees and the commit itself, last). */
export function gitCommitObjects(c: GitCommitInput): GitObject[] {
  const out: GitObject[] = [];
  const tree = trees(c.tree, out);
  const lines = [`tree ${tree}`, ...c.parents.map((p) => `parent ${p}`), `author ${signature(c.author)}`, `committer ${signature(c.committer)}`];
  const message = c.message.endsWith("\n") ? c.message : `${c.message}\n`;
  out.push(object("commit", Buffer.from(`${lines.join("\n")}\n\n${message}`, "utf8")));
  return out;
}

/** The commit's SHA, as git computes it. */
export function gitCommitSha(c: GitCommitInput): string {
  return gitCommitObjects(c).at(-1)!.sha;
}

/**
 * Writes a bare repository git can serve: every object loose, the given refs,
 * HEAD on `head`. Objects already present are kept (they are content-addressed).
 */
export function writeBareRepository(dir: string, objects: Iterable<GitObject>, refs: ReadonlyMap<string, string>, head: string): void {
  // Every request rewrites the repository while other requests may be reading
  // it (act runs jobs in parallel, and each checks out): each file appears
  // whole (written aside, then renamed), refs live only in packed-refs, and
  // nothing is removed, so a concurrent git upload-pack never sees a
  // half-written object or no refs at all.
  for (const d of ["objects", "refs/heads", "refs/tags"]) fs.mkdirSync(path.join(dir, d), { recursive: true });
  writeWhole(path.join(dir, "config"), "[core]\n\trepositoryformatversion = 0\n\tbare = true\n");
  writeWhole(path.join(dir, "HEAD"), `ref: refs/heads/${head}\n`);
  for (const o of objects) {
    const file = path.join(dir, "objects", o.sha.slice(0, 2), o.sha.slice(2));
    if (fs.existsSync(file)) continue;
    fs.mkdirSync(path.dirname(file), { recursive: true });
    writeWhole(file, deflateSync(Buffer.concat([Buffer.from(`${o.type} ${o.body.length}\0`), o.body])));
  }
  const packed = [...refs].filter(([name]) => name.startsWith("refs/")).sort(([a], [b]) => (a < b ? -1 : 1));
  writeWhole(path.join(dir, "packed-refs"), packed.map(([name, sha]) => `${sha} ${name}\n`).join(""));
}

let written = 0;

/** Writes `file` as a whole: to a name beside it first, then renamed over it (rename is atomic within a file system). */
function writeWhole(file: string, data: string | Buffer): void {
  const aside = `${file}.${process.pid}.${++written}.tmp`;
  fs.writeFileSync(aside, data);
  fs.renameSync(aside, file);
}
