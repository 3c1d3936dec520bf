import * as fs from "node:fs";
import * as path from "node:path";
import { parseFlags, setOutputs, UsageError, type Command } from "../cli";
import { splitRepo, upstreamGithub } from "../github";
import { loadConfigOption } from "../lib/config";
import { listGitHubTags, listRemoteTags, parseTagsFile, policyRange, readPinnedTag, resolveTag, skippedTagLines, TAG_PATTERN, type TagPolicy, type UpstreamTag } from "../lib/tags";

const usage = `usage: mirror-pipeline resolve [flags]

Chooses the upstream tag to build: the newest tag allowed by the mirror's tag
policy, compared with the tag pinned in image-pin.yml.

Tags come from one of:
  --remote URL        git ls-remote --tags (a URL or a local path)
  --tags-file FILE    lines "<tag> [date]"
  (neither)           the GitHub API, tags and releases, every page, of
                      config upstream.repo (or --upstream) on github.com, as
                      \`health\` reads it (GITHUB_TOKEN on github.com)

Flags:
  --config FILE       mirror config (default .mirror/config.yml when present)
  --pin FILE          the pin file whose "tag:" was built last (default image-pin.yml)
  --tag TAG           build exactly this tag (must exist and pass the policy)
  --force             build even when the tag is the pinned one
  --upstream O/R      GitHub repository of the upstream (overrides the config)
  --range RANGE       semver range (overrides the config; default "*")
  --prefix P          tag prefix stripped before parsing, e.g. photos-v
  --prerelease        allow prerelease versions

Tag names must match ^[A-Za-z0-9][A-Za-z0-9._+/-]{0,127}$: a requested or
pinned tag that does not is an error; listed ones that do not are skipped,
and stderr counts and names them (with their line in --tags-file). When no
tag matches and the tags share a prefix (a monorepo), the error suggests it.
A --pin file that does not exist means nothing is pinned yet, and stderr says so.

Prints {tag, commit?, lastTag, build, reason}. Step outputs: tag, commit,
last_tag, build (true|false), reason. Exit 0, or 2 on bad input or when no
tag matches the policy.
`;

export const command: Command = {
  name: "resolve",
  summary: "choose the upstream tag to build (tag policy vs image-pin.yml)",
  usage,
  async run(argv, io) {
    const f = parseFlags(argv, {
      config: { type: "string" },
      remote: { type: "string" },
      "tags-file": { type: "string" },
      pin: { type: "string" },
      tag: { type: "string" },
      force: { type: "boolean" },
      upstream: { type: "string" },
      range: { type: "string" },
      prefix: { type: "string" },
      prerelease: { type: "boolean" },
    });
    if (f.remote !== undefined && f["tags-file"] !== undefined) throw new UsageError("--remote and --tags-file cannot both be given");
    const config = loadConfigOption(io.cwd, f.config);
    const policy: TagPolicy = {
      range: f.range ?? config?.upstream.tags.range ?? "*",
      prerelease: f.prerelease ?? config?.upstream.tags.prerelease ?? false,
      prefix: f.prefix ?? config?.upstream.tags.prefix ?? "",
    };
    policyRange(policy); // a bad range fails before any tag is fetched

    let tags: UpstreamTag[];
    let source: string;
    if (f.remote !== undefined) {
      tags = listRemoteTags(f.remote, io.env);
      source = `git ls-remote ${f.remote}`;
    } else if (f["tags-file"] !== undefined) {
      const file = path.resolve(io.cwd, f["tags-file"]);
      if (!fs.existsSync(file)) throw new Error(`--tags-file ${f["tags-file"]} does not exist`);
      const text = fs.readFileSync(file, "utf8");
      tags = parseTagsFile(text);
      source = f["tags-file"];
      const skipped = skippedTagLines(text);
      if (skipped.length) {
        // JSON-quoted: the line is untrusted text and stays inert in the log.
        io.stderr(
          `resolve: skipped ${skipped.length} of ${tags.length} lines of ${source} whose tag name is not allowed (allowed: ${TAG_PATTERN.source}): ` +
            `${skipped.map((s) => `line ${s.line} ${JSON.stringify(s.text)}`).join(", ")}\n`,
        );
      }
    } else {
      const repo = f.upstream ?? config?.upstream.repo;
      if (!repo) throw new UsageError("no tag source: give --remote, --tags-file, or --upstream / a config with upstream.repo");
      const { owner, repo: name } = splitRepo(repo);
      tags = await listGitHubTags(upstreamGithub(io), owner, name);
      source = `GitHub ${owner}/${name}`;
    }

    const pinFile = f.pin ?? "image-pin.yml";
    const lastTag = readPinnedTag(path.resolve(io.cwd, pinFile), pinFile);
    const r = resolveTag(tags, policy, { lastTag, requested: f.tag, force: f.force ?? false });
    if (lastTag === null) {
      io.stderr(`resolve: ${pinFile} does not exist in ${io.cwd}: nothing is pinned yet (right for a mirror's first build; otherwise check --pin)\n`);
    }
    io.stderr(`resolve: ${tags.length} tags from ${source}; ${r.reason}\n`);
    io.stdout(JSON.stringify(r, null, 2) + "\n");
    setOutputs(io, { tag: r.tag, commit: r.commit ?? "", last_tag: r.lastTag ?? "", build: String(r.build), reason: r.reason });
    return 0;
  },
};
