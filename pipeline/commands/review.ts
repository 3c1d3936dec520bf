import * as fs from "node:fs";
import * as path from "node:path";
import { parseFlags, setOutputs, UsageError, type Command } from "../cli";
import { loadConfigOption } from "../lib/config";
import { collectReview, renderReview, writePatch } from "../lib/review";

const usage = `usage: mirror-pipeline review --src DIR --to TAG [--from TAG] [--watch PATHS] --out DIR

Writes the diff review of the upstream between the last built tag and the new
one, and runs the drift gate over the watched paths.

Flags:
  --src DIR        upstream checkout with both tags and the history between
                   them (clone with fetch-depth: 0)
  --from TAG       the last built tag; absent or '' = initial build (no diff)
  --to TAG         the tag being built
  --watch PATHS    comma-separated paths (files or directories) whose change
                   needs an override review (default: config watch)
  --out DIR        where to write diff-review.md, diff.patch, drift.json
  --config FILE    mirror config (default .mirror/config.yml when present)

drift.json is {status: initial|none|changed, files[]}, and when changed also
{commit, patchSha256}: the upstream commit and the sha256 of the drift patch,
what an override-review approval binds to (the patch is shown in
diff-review.md). Watched paths are resolved in the upstream tree: a symbolic
link's target is watched too, and a link that leaves the tree fails (exit 2).
Step outputs: drift, drift_files (comma separated). Exit 0 for initial or none, 1 when a watched
path changed (the drift gate blocks until the override review is approved),
2 on bad input.
`;

export const command: Command = {
  name: "review",
  summary: "write the upstream diff review and run the drift gate",
  usage,
  async run(argv, io) {
    const f = parseFlags(argv, {
      src: { type: "string" },
      from: { type: "string" },
      to: { type: "string" },
      watch: { type: "string" },
      out: { type: "string" },
      config: { type: "string" },
    });
    for (const k of ["src", "to", "out"] as const) if (!f[k]) throw new UsageError(`--${k} is required`);
    const config = loadConfigOption(io.cwd, f.config);
    const watch = f.watch !== undefined ? f.watch.split(",").map((s) => s.trim()).filter((s) => s !== "") : config?.watch;
    if (!watch) throw new UsageError("--watch is required (or a config with watch)");
    for (const w of watch) {
      if (w.startsWith("/") || w.split("/").includes("..")) throw new UsageError(`--watch: ${JSON.stringify(w)} is not allowed (allowed: a relative path inside the upstream checkout)`);
    }
    const src = path.resolve(io.cwd, f.src!);
    const out = path.resolve(io.cwd, f.out!);
    if (!fs.existsSync(src)) throw new Error(`--src ${f.src} does not exist`);
    const from = f.from === undefined || f.from === "" ? null : f.from;

    const data = collectReview(src, from, f.to!, watch);
    fs.mkdirSync(out, { recursive: true });
    fs.writeFileSync(path.join(out, "diff-review.md"), renderReview(data, config?.upstream.repo));
    writePatch(src, data.from?.commit ?? null, data.to.commit, path.join(out, "diff.patch"));
    fs.writeFileSync(path.join(out, "drift.json"), JSON.stringify(data.drift, null, 2) + "\n");

    const result = {
      drift: data.drift.status,
      files: data.drift.files,
      from: data.from,
      to: data.to,
      commits: data.commitCount,
      changedFiles: data.files.length,
      out: f.out,
    };
    io.stderr(`review: ${from ?? "(initial)"} -> ${f.to}: ${data.commitCount} commits, ${data.files.length} files; drift ${data.drift.status}\n`);
    io.stdout(JSON.stringify(result, null, 2) + "\n");
    setOutputs(io, { drift: data.drift.status, drift_files: data.drift.files.join(",") });
    return data.drift.status === "changed" ? 1 : 0;
  },
};
