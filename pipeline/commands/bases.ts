import * as fs from "node:fs";
import * as path from "node:path";
import { parseFlags, setOutputs, UsageError, type Command } from "../cli";
import { pinBases, recordBases, resolveWithSkopeo, type Resolver } from "../lib/bases";

const usage = `usage: mirror-pipeline bases --dockerfile FILE --out FILE [--pin] [--build-arg K=V]...

Records the digest each FROM of the Dockerfile resolves to now: the base
images of the build, on record in the audit bundle and the pin pull request.
A FROM that names a digest is recorded as written; the others are resolved
with \`skopeo inspect --raw\` (the sha256 of the manifest the registry serves).
\`scratch\` and earlier stages are not images.

  --dockerfile FILE   the Dockerfile the build uses
  --out FILE          where to write the record (JSON: dockerfile, images
                      [{line, from, ref, digest, pinnedInDockerfile}], unresolved)
  --pin               rewrite each resolved FROM in FILE to ref@digest, so the
                      build uses exactly the recorded bases
  --build-arg K=V     a build arg that FROM lines may use (repeatable)

Prints the record. Output: count. Exit 0, or 2 when a base cannot be resolved.
`;

export function makeCommand(resolver?: (env: Readonly<Record<string, string | undefined>>) => Resolver): Command {
  return {
    name: "bases",
    summary: "record (and pin) the digest each FROM resolves to",
    usage,
    async run(argv, io) {
      const f = parseFlags(argv, {
        dockerfile: { type: "string" },
        out: { type: "string" },
        pin: { type: "boolean" },
        "build-arg": { type: "string", multiple: true },
      });
      if (!f.dockerfile) throw new UsageError("--dockerfile is required");
      if (!f.out) throw new UsageError("--out is required");
      const args: Record<string, string> = {};
      for (const a of f["build-arg"] ?? []) {
        const eq = a.indexOf("=");
        if (eq < 1) throw new UsageError(`--build-arg ${JSON.stringify(a)} is not allowed (allowed: NAME=VALUE)`);
        args[a.slice(0, eq)] = a.slice(eq + 1);
      }
      const file = path.resolve(io.cwd, f.dockerfile);
      if (!fs.existsSync(file)) throw new Error(`--dockerfile ${f.dockerfile} does not exist`);
      const text = fs.readFileSync(file, "utf8");
      const record = recordBases(f.dockerfile, text, (resolver ?? resolveWithSkopeo)(io.env), args);
      fs.mkdirSync(path.dirname(path.resolve(io.cwd, f.out)), { recursive: true });
      fs.writeFileSync(path.resolve(io.cwd, f.out), JSON.stringify(record, null, 2) + "\n");
      if (f.pin) fs.writeFileSync(file, pinBases(text, record));
      for (const i of record.images) io.stderr(`bases: line ${i.line}: ${i.from} -> ${i.digest}${i.pinnedInDockerfile ? " (pinned in the Dockerfile)" : f.pin ? " (now pinned for this build)" : ""}\n`);
      for (const u of record.unresolved) io.stderr(`bases: line ${u.line}: ${u.from} not resolved: ${u.why}\n`);
      io.stdout(JSON.stringify(record, null, 2) + "\n");
      setOutputs(io, { count: String(record.images.length) });
      return 0;
    },
  };
}

export const command = makeCommand();
