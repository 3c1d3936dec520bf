/**
 * `scan`: the build job's and the rescan job's one call to Trivy. Makes an OCI
 * layout from the archive (or pulls the pinned digest with skopeo), scans
 * every platform manifest and the upstream source, converts each report to
 * SARIF and CycloneDX, and writes the scan record (scan.json).
 */
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseFlags, setOutputs, UsageError, type Command, type Io } from "../cli";
import { loadConfigOption } from "../lib/config";
import { extractOciArchive, isOciPlatform } from "../lib/oci";
import { checkImage } from "../lib/publish";
import { readVexStatus, scan, type TrivyRunner } from "../lib/scan";
import { isDay, readIgnoreFile, UnusableInput, type IgnoreEntry } from "../lib/trivy";
import { credentialsTemp, writeAuthFile } from "./publish";

const USAGE = `usage: mirror-pipeline scan --archive FILE --out DIR [--source DIR] [flags]
       mirror-pipeline scan --image REGISTRY/NS/NAME --digest sha256:… --out DIR [flags]

Scans an image with Trivy, every platform of it: from the OCI archive the
build wrote (buildx --output type=oci; Trivy cannot read that tar itself), or
the pinned digest in the registry (the rescan; pulled with skopeo). The image
becomes an OCI layout whose index lists each platform manifest, and each is
scanned by its digest (trivy image --input image@DIGEST, from the layout's
parent folder). --source scans the
upstream tree too (trivy fs): lockfiles that never reach the image.

Writes into DIR, per platform (linux/arm64 -> linux-arm64) and for the source:
  trivy-image-<platform>.json, trivy-image-<platform>.sarif, sbom-image-<platform>.cdx.json
  trivy-fs.json, trivy-fs.sarif, sbom-fs.cdx.json
  scan.json   what was scanned: index digest, each platform's manifest digest,
              Trivy version, DB timestamp; read by gate --scan-record and publish
SARIF and CycloneDX come from the JSON reports (trivy convert); findings an
active waiver covers are marked suppressed (SARIF) and analysed (CycloneDX).

Flags:
  --archive FILE       OCI archive of the build
  --image REF          registry repository (with --digest): rescan what is pinned
  --digest DIGEST      the pinned index digest
  --tls-verify BOOL    registry TLS verification (default true)
  --source DIR         upstream source tree to scan (trivy fs)
  --out DIR            where the reports and scan.json go
  --platforms LIST     comma-separated platforms the image must hold (build.platforms);
                       one it lacks is recorded without a report (default: config
                       build.platforms)
  --waivers FILE       .trivyignore.yaml (default: config gate.waivers)
  --vex FILE           the mirror's OpenVEX document (default .mirror/waivers.openvex.json when present)
  --today YYYY-MM-DD   the day waivers are judged against (default: today, UTC)
  --config FILE        mirror config (default .mirror/config.yml when present)

Trivy comes from PATH and runs in the scan's own folder, which holds only
the image, so no trivy.yaml or .trivyignore of the repository changes what
it finds (the gate reads the waivers itself). Of its TRIVY_* environment only where its database
is and how it runs pass (TRIVY_CACHE_DIR, TRIVY_DB_REPOSITORY,
TRIVY_SKIP_DB_UPDATE, TRIVY_OFFLINE_SCAN, TRIVY_NO_PROGRESS, …); none
that filters findings (TRIVY_SEVERITY, TRIVY_IGNOREFILE, TRIVY_SKIP_DIRS, …).
Registry credentials: REGISTRY_USER and REGISTRY_PASSWORD, as for publish,
in a file under $RUNNER_TEMP/mirror-credentials that exists only while skopeo
pulls. Trivy and skopeo get no credentials in their environment (only PATH,
HOME, TMPDIR, locale, proxy, certificate and the TRIVY_* settings above).

Prints the scan record; outputs digest, complete. Exit 0 when every platform
(and the source, when given) has its reports, 2 otherwise (the record says
which is missing; the gate then blocks).
`;

/**
 * What a tool run by scan sees of the environment: the basics a process
 * needs and the TRIVY_* settings TRIVY_ENV lets through, never the registry
 * credentials or a token.
 * Trivy reads the image from a folder; a scanner that a compromised release
 * or database turned hostile must find nothing to steal (issue 17 item 13).
 */
const TOOL_ENV = /^(PATH|HOME|TMPDIR|LANG|LC_[A-Z]+|TZ|XDG_[A-Z_]+|CONTAINERS_[A-Z_]+|HTTPS?_PROXY|https?_proxy|NO_PROXY|no_proxy|SSL_CERT_FILE|SSL_CERT_DIR|TRIVY_[A-Z0-9_]+)$/;
/**
 * Trivy reads every flag from a TRIVY_* variable too (TRIVY_SEVERITY,
 * TRIVY_IGNOREFILE, TRIVY_SKIP_DIRS, TRIVY_CONFIG, …): what it finds must not
 * depend on them. These say only where the database is and how Trivy runs.
 */
const TRIVY_ENV = /^TRIVY_(CACHE_DIR|DB_REPOSITORY|JAVA_DB_REPOSITORY|SKIP_DB_UPDATE|SKIP_JAVA_DB_UPDATE|OFFLINE_SCAN|SKIP_VERSION_CHECK|DISABLE_TELEMETRY|NO_PROGRESS|QUIET|DEBUG)$/;
const CREDENTIAL_NAME = /USER|PASS|TOKEN|SECRET|AUTH|KEY/;

export function toolEnv(env: Io["env"]): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([k, v]) => v !== undefined && TOOL_ENV.test(k) && !CREDENTIAL_NAME.test(k) && (!k.startsWith("TRIVY_") || TRIVY_ENV.test(k)))) as NodeJS.ProcessEnv;
}

function runTool(io: Io, file: string, timeoutMs: number): (args: readonly string[], cwd?: string) => Promise<string> {
  return (args, cwd) =>
    new Promise((resolve, reject) => {
      execFile(file, [...args], { env: toolEnv(io.env), cwd: cwd ?? io.cwd, maxBuffer: 64 * 1024 * 1024, timeout: timeoutMs }, (err, stdout, stderr) => {
        if (err) {
          const why = (err as NodeJS.ErrnoException).code === "ENOENT" ? `${file} is not installed (not on PATH)` : lastLines(String(stderr)) || err.message;
          reject(new Error(`${file} ${args[0]} failed: ${why}`));
        } else resolve(String(stdout));
      });
    });
}

function lastLines(s: string): string {
  return s.trim().split("\n").slice(-5).join(" | ");
}

export const command: Command = {
  name: "scan",
  summary: "Trivy on every platform of the image and on the upstream source: reports, SARIF, CycloneDX, scan record",
  usage: USAGE,
  async run(argv, io) {
    const f = parseFlags(argv, {
      archive: { type: "string" },
      image: { type: "string" },
      digest: { type: "string" },
      "tls-verify": { type: "string" },
      source: { type: "string" },
      out: { type: "string" },
      platforms: { type: "string" },
      waivers: { type: "string" },
      vex: { type: "string" },
      today: { type: "string" },
      config: { type: "string" },
    });
    if (!f.out) throw new UsageError("--out is required");
    if ((f.archive === undefined) === (f.image === undefined)) throw new UsageError("give exactly one of --archive FILE or --image REF --digest DIGEST");
    if (f.image !== undefined && !/^sha256:[0-9a-f]{64}$/.test(f.digest ?? "")) throw new UsageError(`--digest ${JSON.stringify(f.digest ?? null)} is not allowed (allowed: sha256:<64 hex>, with --image)`);
    if (f.archive !== undefined && f.digest !== undefined) throw new UsageError("--digest is only used with --image");
    const tls = f["tls-verify"] ?? "true";
    if (tls !== "true" && tls !== "false") throw new UsageError(`--tls-verify ${JSON.stringify(tls)} is not allowed (allowed: true, false)`);
    if (f.today !== undefined && !isDay(f.today)) throw new UsageError(`--today ${JSON.stringify(f.today)} is not a date (allowed: YYYY-MM-DD)`);
    let image: string | undefined;
    if (f.image !== undefined) {
      try {
        image = checkImage(f.image);
      } catch (e) {
        throw new UsageError((e as Error).message);
      }
    }
    const config = loadConfigOption(io.cwd, f.config);
    const platforms = f.platforms !== undefined ? f.platforms.split(",").map((x) => x.trim()).filter((x) => x !== "") : config?.build.platforms;
    for (const p of platforms ?? []) if (!isOciPlatform(p)) throw new UsageError(`--platforms: ${JSON.stringify(p)} is not allowed (allowed: os/arch[/variant] from the OCI image index specification, e.g. linux/arm64)`);
    const wantSource = config?.gate.scans?.includes("source") ?? true;
    if (f.source !== undefined && !fs.statSync(path.resolve(io.cwd, f.source), { throwIfNoEntry: false })?.isDirectory()) {
      throw new UsageError(`--source ${f.source}: not a directory`);
    }
    const waiversFile = f.waivers ?? config?.gate.waivers;
    let waivers: IgnoreEntry[] = [];
    if (waiversFile !== undefined) {
      try {
        waivers = readIgnoreFile(path.resolve(io.cwd, waiversFile), waiversFile);
      } catch (e) {
        if (!(e instanceof UnusableInput)) throw e;
        io.stderr(`scan: ${e.message}\n`);
        return 2;
      }
    }
    const vexFile = path.resolve(io.cwd, f.vex ?? ".mirror/waivers.openvex.json");
    if (f.vex !== undefined && !fs.existsSync(vexFile)) throw new UsageError(`--vex ${f.vex}: file does not exist`);

    // The layout holds every layer: in the runner's temp dir, never in the audit folder.
    const work = fs.mkdtempSync(path.join(io.env.RUNNER_TEMP ?? io.env.TMPDIR ?? os.tmpdir(), "mirror-scan-"));
    const layout = path.join(work, "image");
    try {
      if (f.archive !== undefined) {
        await extractOciArchive(path.resolve(io.cwd, f.archive), layout);
      } else {
        // The credentials live under $RUNNER_TEMP/mirror-credentials (removed by the
        // rescan job's always() step after a kill) and only while skopeo pulls: never
        // next to the layout, which is Trivy's working folder.
        const credentials = credentialsTemp(io, "scan-");
        try {
          const authFile = writeAuthFile(io, credentials, image!);
          const skopeo = runTool(io, "skopeo", 30 * 60_000);
          await skopeo(["copy", "--quiet", "--all", "--preserve-digests", "--retry-times", "3", `--src-tls-verify=${tls}`,
            ...(authFile ? ["--src-authfile", authFile] : []), `docker://${image}@${f.digest}`, `oci:${layout}:scan`]);
        } finally {
          fs.rmSync(credentials, { recursive: true, force: true });
        }
      }
      const out = path.resolve(io.cwd, f.out);
      const source = f.source !== undefined
        ? { dir: path.resolve(io.cwd, f.source), shown: f.source }
        : { skipped: f.image !== undefined ? "rescan of the pinned image: the source was scanned when it was built" : wantSource ? "no --source given" : "gate.scans excludes source" };
      const trivy = runTool(io, "trivy", 30 * 60_000);
      const record = await scan({
        kind: f.image !== undefined ? "rescan" : "build",
        from: f.archive ?? `${image}@${f.digest}`,
        layout,
        ...(platforms ? { platforms } : {}),
        ...(f.image !== undefined ? { expectDigest: f.digest!, layoutRef: "scan" } : {}),
        out,
        source,
        waivers,
        vex: readVexStatus(vexFile),
        today: f.today ?? new Date().toISOString().slice(0, 10),
        // In the scan's own folder, which holds only the image: Trivy reads trivy.yaml and
        // .trivyignore from its working folder, and the repository's must not count.
        trivy: (args, cwd) => trivy(args, cwd ?? work),
        log: (l) => io.stderr(`scan: ${l}\n`),
      });
      io.stdout(JSON.stringify(record) + "\n");
      setOutputs(io, { digest: record.image.digest, complete: String(record.complete) });
      const n = record.platforms.filter((p) => p.report).length;
      io.stderr(`scan: ${record.image.digest}: ${n} of ${record.platforms.length} platform(s) scanned${"skipped" in record.source ? `; source not scanned (${record.source.skipped})` : record.source.report ? "; source scanned" : "; source scan FAILED"}; ${record.suppressed} waived finding(s) marked suppressed\n`);
      return record.complete ? 0 : 2;
    } catch (e) {
      if (e instanceof UsageError) throw e;
      io.stderr(`scan: ${(e as Error).message}\n`);
      return 2;
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
  },
};
