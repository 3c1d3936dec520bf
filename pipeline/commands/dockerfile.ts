/**
 * `dockerfile`: the Dockerfile the build job builds, when the mirror has an
 * override. A runtime-stage override (rebaseRuntime) is appended to
 * upstream's Dockerfile from the checkout of the tag; a whole-Dockerfile
 * override is copied byte for byte. What marks a runtime stage is in
 * contract/, so deploy time and build time share one definition.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { parseFlags, setOutputs, UsageError, type Command } from "../cli";
import { isRuntimeStageOverride } from "../../contract";
import { appendRuntimeStage } from "../lib/runtime-stage";

const USAGE = `usage: mirror-pipeline dockerfile [--override FILE] --out FILE [--upstream FILE] [--root DIR] [--upstream-path PATH]

Writes the Dockerfile to build: from the mirror's override, or upstream's own.

  --override FILE       the override as committed (dockerfiles/Dockerfile.override); without
                        it, upstream's Dockerfile is copied: mode "upstream"
  --out FILE            where to write the Dockerfile to build
  --upstream FILE       upstream's Dockerfile in the checkout of the tag
                        (required when the override is a runtime stage, or without one)
  --root DIR            the upstream checkout (default: the working directory):
                        --upstream must lead inside it, symbolic links followed;
                        a link that leaves it fails closed (upstream controls links)
  --context DIR         the build context: must lead inside --root too (a link
                        out of the checkout would send the runner's files to the build)
  --upstream-path PATH  upstream's Dockerfile as named in messages
                        (default: the --upstream value)

A runtime-stage override (made by rebaseRuntime) is appended to upstream's
Dockerfile: mode "rebase". It fails closed when a stage it copies from is
missing upstream or a stage name collides. Any other override is a whole
Dockerfile and is copied unchanged: mode "replace".

Prints {mode, out, sha256} (sha256 of the written file, hex). Outputs: mode,
sha256. Exit 0 when written, 2 on a missing or unreadable file, an upstream
Dockerfile that leads outside the checkout, or an override that does not fit
upstream's Dockerfile (nothing is written then).
`;

function read(flag: string, file: string, cwd: string, what: string): Buffer {
  try {
    return fs.readFileSync(path.resolve(cwd, file));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(code === "ENOENT" ? `${flag} ${file}: ${what} does not exist` : `${flag} ${file}: ${what} cannot be read (${code ?? (e as Error).message})`);
  }
}

/**
 * Upstream's Dockerfile, read only where it leads inside the checkout: a
 * symbolic link to a file of the runner (credentials, the token's config)
 * would otherwise be copied into the Dockerfile built and the audit bundle.
 */
function readInside(file: string, rootFlag: string, cwd: string): Buffer {
  const real = checkInside("--upstream", file, rootFlag, cwd, "upstream Dockerfile");
  // Missing, a dangling link or unreadable: read's own message.
  return read("--upstream", real ?? file, cwd, "upstream Dockerfile");
}

/** The real path of `file` when it exists; throws when it leads outside the checkout. */
function checkInside(flag: string, file: string, rootFlag: string, cwd: string, what: string): string | null {
  let realRoot: string;
  try {
    realRoot = fs.realpathSync(path.resolve(cwd, rootFlag));
  } catch (e) {
    throw new Error(`--root ${rootFlag}: the upstream checkout cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  let real: string;
  try {
    real = fs.realpathSync(path.resolve(cwd, file));
  } catch {
    return null;
  }
  if (real !== realRoot && !real.startsWith(realRoot + path.sep)) {
    throw new Error(`${flag} ${file}: ${what} leads outside the upstream checkout ${rootFlag} (a symbolic link); nothing is built`);
  }
  return real;
}

export const command: Command = {
  name: "dockerfile",
  summary: "write the Dockerfile to build: the override appended to upstream's, or the override itself",
  usage: USAGE,
  async run(argv, io) {
    const f = parseFlags(argv, {
      upstream: { type: "string" },
      override: { type: "string" },
      out: { type: "string" },
      "upstream-path": { type: "string" },
      root: { type: "string" },
      context: { type: "string" },
    });
    if (!f.out) throw new UsageError("--out is required");
    if (!f.override && !f.upstream) throw new UsageError("--override or --upstream is required");
    const root = f.root ?? ".";

    if (f.context !== undefined) checkInside("--context", f.context, root, io.cwd, "build context");
    const override = f.override ? read("--override", f.override, io.cwd, "override") : null;
    let mode: "rebase" | "replace" | "upstream";
    let built: Buffer;
    if (override === null) {
      built = readInside(f.upstream!, root, io.cwd);
      mode = "upstream";
    } else if (isRuntimeStageOverride(override.toString("utf8"))) {
      if (!f.upstream) throw new UsageError(`--upstream is required: ${f.override} is a runtime stage to append to upstream's Dockerfile`);
      const upstream = readInside(f.upstream, root, io.cwd).toString("utf8");
      // appendRuntimeStage's messages name the upstream file and the stage that is missing or collides.
      built = Buffer.from(appendRuntimeStage(upstream, override.toString("utf8"), f["upstream-path"] ?? f.upstream), "utf8");
      mode = "rebase";
    } else {
      built = override;
      mode = "replace";
    }

    const out = path.resolve(io.cwd, f.out!);
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.writeFileSync(out, built);
    const sha256 = createHash("sha256").update(built).digest("hex");
    const how = mode === "rebase" ? `${f.override} appended to ${f.upstream}` : mode === "upstream" ? `${f.upstream} (inside ${root}) copied` : `${f.override} copied unchanged`;
    io.stderr(`dockerfile: ${how} -> ${f.out}\n`);
    io.stdout(JSON.stringify({ mode, out: f.out, sha256 }) + "\n");
    setOutputs(io, { mode, sha256 });
    return 0;
  },
};
