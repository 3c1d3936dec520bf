/**
 * `publish`: push the scanned OCI archive with skopeo, by digest and with the
 * upstream tag, and fail unless the registry serves the scanned digest.
 * `publish --archive F --print-digest` is the build job's half: the digest of
 * the archive, read from its index, before anything scans it.
 */
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseFlags, setOutputs, UsageError, type Command, type Io } from "../cli";
import { archiveImage, OciArchiveError, ociArchiveInfo } from "../lib/oci";
import { checkImage, checkScanned, DigestMismatchError, publishArchive, type Skopeo } from "../lib/publish";
import { readScanRecord, ScanRecordError } from "../lib/scan";

const USAGE = `usage: mirror-pipeline publish --archive FILE --image REGISTRY/NS/NAME --tag TAG --digest sha256:… [--tls-verify true|false]
       mirror-pipeline publish --archive FILE --print-digest

Pushes the OCI archive FILE with skopeo: first by digest, then reads the
manifest back and hashes it, and only when it equals --digest (the digest that
was scanned) tags it with TAG (an upstream tag; '+' and '/' become '-').
Exit 1 when the archive or the registry holds another digest: nothing is tagged
and nothing may be pinned.

  --archive FILE       OCI archive (buildx --output type=oci, buildah push oci-archive:)
  --image REF          registry repository with host, no tag (ghcr.io/acme/gokapi)
  --tag TAG            the upstream tag that was built
  --digest DIGEST      the scanned digest (publish --print-digest of the same archive)
  --scan-record FILE   scan.json of the build's scan: the archive's index and every
                       platform manifest in it must be there, each with a report,
                       or nothing is pushed (exit 1)
  --tls-verify BOOL    verify the registry's TLS certificate (default true; false only for a local test registry)
  --print-digest       print the archive's manifest (or index) digest and exit

Credentials: env REGISTRY_USER and REGISTRY_PASSWORD, handed to skopeo in a
temporary auth file that is removed afterwards; without them skopeo uses its
own login (docker login / skopeo login).

Prints {image, digest, ref, tag}; outputs digest, ref.
With --print-digest prints {archive, digest, mediaType, index}; outputs digest.
`;

/** skopeo via execFile (no shell), stdout as bytes so a manifest hashes exactly as the registry sent it. */
function runSkopeo(io: Io): Skopeo {
  return (args) =>
    new Promise((resolve, reject) => {
      execFile(
        "skopeo",
        [...args],
        { env: { ...io.env } as NodeJS.ProcessEnv, cwd: io.cwd, encoding: "buffer", maxBuffer: 64 * 1024 * 1024, timeout: 30 * 60_000 },
        (err, stdout, stderr) => {
          if (err) {
            const why = (err as NodeJS.ErrnoException).code === "ENOENT" ? "skopeo is not installed (not on PATH)" : stderr.toString("utf8").trim() || err.message;
            reject(new Error(`skopeo ${args[0]} failed: ${why}`));
          } else resolve(stdout);
        },
      );
    });
}

/**
 * A private folder for files that hold credentials, under
 * `$RUNNER_TEMP/mirror-credentials`: the publish job removes that folder in
 * an always() step and GitHub empties RUNNER_TEMP after every job, so a
 * SIGKILL (timeout, cancel) that skips our own cleanup leaves no password
 * behind, as it did in $TMPDIR. Outside Actions: the OS temp folder.
 */
export const CREDENTIALS_DIR = "mirror-credentials";
export function credentialsTemp(io: Io, prefix: string): string {
  const base = path.join(io.env.RUNNER_TEMP || os.tmpdir(), CREDENTIALS_DIR);
  fs.mkdirSync(base, { recursive: true, mode: 0o700 });
  return fs.mkdtempSync(path.join(base, prefix));
}

/** `{"auths":{host:{auth}}}` in a private file (skopeo's auth file; a Docker config.json for cosign), or nothing when no credentials are set. */
export function writeAuthFile(io: Io, dir: string, image: string, name = "auth.json"): string | undefined {
  const user = io.env.REGISTRY_USER;
  const password = io.env.REGISTRY_PASSWORD;
  if (!user && !password) return undefined;
  if (!user || !password) throw new UsageError(`REGISTRY_USER and REGISTRY_PASSWORD must be set together (only ${user ? "REGISTRY_USER" : "REGISTRY_PASSWORD"} is set)`);
  const host = image.split("/")[0];
  const file = path.join(dir, name);
  const auth = Buffer.from(`${user}:${password}`).toString("base64");
  fs.writeFileSync(file, JSON.stringify({ auths: { [host]: { auth } } }), { mode: 0o600 });
  return file;
}

export const command: Command = {
  name: "publish",
  summary: "push the scanned OCI archive by digest and tag; verify the registry serves the scanned digest",
  usage: USAGE,
  async run(argv, io) {
    const f = parseFlags(argv, {
      archive: { type: "string" },
      image: { type: "string" },
      tag: { type: "string" },
      digest: { type: "string" },
      "tls-verify": { type: "string" },
      "print-digest": { type: "boolean" },
      "scan-record": { type: "string" },
    });
    if (!f.archive) throw new UsageError("--archive is required");
    const archive = path.resolve(io.cwd, f.archive);

    if (f["print-digest"]) {
      for (const k of ["image", "tag", "digest", "tls-verify", "scan-record"] as const) {
        if (f[k] !== undefined) throw new UsageError(`--${k} is not used with --print-digest`);
      }
      let info;
      try {
        info = ociArchiveInfo(archive);
      } catch (e) {
        if (e instanceof OciArchiveError) {
          io.stderr(`publish: ${e.message}\n`);
          return 2;
        }
        throw e;
      }
      io.stdout(JSON.stringify({ archive: f.archive, digest: info.digest, mediaType: info.mediaType, index: info.isIndex }) + "\n");
      setOutputs(io, { digest: info.digest });
      return 0;
    }

    for (const k of ["image", "tag", "digest", "scan-record"] as const) if (!f[k]) throw new UsageError(`--${k} is required`);
    const tlsFlag = f["tls-verify"] ?? "true";
    if (tlsFlag !== "true" && tlsFlag !== "false") throw new UsageError(`--tls-verify ${JSON.stringify(tlsFlag)} is not allowed (allowed: true, false)`);
    let image: string;
    try {
      image = checkImage(f.image!);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }

    const tmp = credentialsTemp(io, "publish-");
    try {
      const info = ociArchiveInfo(archive);
      checkScanned(readScanRecord(path.resolve(io.cwd, f["scan-record"]!), f["scan-record"]), archiveImage(archive), f.archive);
      const authFile = writeAuthFile(io, tmp, image);
      const digestFile = path.join(tmp, "digest");
      const result = await publishArchive(
        {
          archive,
          info,
          image,
          tag: f.tag!,
          digest: f.digest!,
          tlsVerify: tlsFlag === "true",
          ...(authFile ? { authFile } : {}),
          digestFile,
          readDigestFile: () => (fs.existsSync(digestFile) ? fs.readFileSync(digestFile, "utf8") : ""),
          log: (line) => io.stderr(`publish: ${line}\n`),
        },
        runSkopeo(io),
      );
      io.stdout(JSON.stringify(result) + "\n");
      setOutputs(io, { digest: result.digest, ref: result.ref });
      return 0;
    } catch (e) {
      if (e instanceof DigestMismatchError || e instanceof ScanRecordError) {
        io.stderr(`publish: ${e.message}\n`);
        return 1;
      }
      if (e instanceof UsageError) throw e;
      io.stderr(`publish: ${(e as Error).message}\n`);
      return 2;
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  },
};
