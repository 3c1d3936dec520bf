/**
 * `dockerfile`: the Dockerfile the build job builds, when the mirror has an
 * override. A runtime-stage override (rebaseRuntime) is appended to
 * upstream's Dockerfile from the checkout of the tag; a whole-Dockerfile
 * override is copied byte for byte. The composition itself is
 * components/presets.ts, so deploy time and build time share one definition.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { parseFlags, setOutputs, UsageError, type Command } from "../cli";
import { appendRuntimeStage, isRuntimeStageOverride } from "../../components/presets";

const USAGE = `usage: mirror-pipeline dockerfile --override FILE --out FILE [--upstream FILE] [--upstream-path PATH]

Writes the Dockerfile to build from the mirror's override.

  --override FILE       the override as committed (.mirror/Dockerfile)
  --out FILE            where to write the Dockerfile to build
  --upstream FILE       upstream's Dockerfile in the checkout of the tag
                        (required when the override is a runtime stage)
  --upstream-path PATH  upstream's Dockerfile as named in messages
                        (default: the --upstream value)

A runtime-stage override (made by rebaseRuntime) is appended to upstream's
Dockerfile: mode "rebase". It fails closed when a stage it copies from is
missing upstream or a stage name collides. Any other override is a whole
Dockerfile and is copied unchanged: mode "replace".

Prints {mode, out, sha256} (sha256 of the written file, hex). Outputs: mode,
sha256. Exit 0 when written, 2 on a missing or unreadable file or an override
that does not fit upstream's Dockerfile (nothing is written then).
`;

function read(flag: string, file: string, cwd: string, what: string): Buffer {
  try {
    return fs.readFileSync(path.resolve(cwd, file));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(code === "ENOENT" ? `${flag} ${file}: ${what} does not exist` : `${flag} ${file}: ${what} cannot be read (${code ?? (e as Error).message})`);
  }
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
    });
    for (const k of ["override", "out"] as const) if (!f[k]) throw new UsageError(`--${k} is required`);

    const override = read("--override", f.override!, io.cwd, "override");
    let mode: "rebase" | "replace";
    let built: Buffer;
    if (isRuntimeStageOverride(override.toString("utf8"))) {
      if (!f.upstream) throw new UsageError(`--upstream is required: ${f.override} is a runtime stage to append to upstream's Dockerfile`);
      const upstream = read("--upstream", f.upstream, io.cwd, "upstream Dockerfile").toString("utf8");
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
    io.stderr(`dockerfile: ${mode === "rebase" ? `${f.override} appended to ${f.upstream}` : `${f.override} copied unchanged`} -> ${f.out}\n`);
    io.stdout(JSON.stringify({ mode, out: f.out, sha256 }) + "\n");
    setOutputs(io, { mode, sha256 });
    return 0;
  },
};
