/**
 * `sign`: the publish job's step right after the push. Signs the pushed index
 * and every platform manifest with cosign and the fleet key, attaches each
 * platform's CycloneDX SBOM and the scan-gate predicate as attestations, and
 * verifies all of it with the committed public key (pipeline/lib/sign.ts).
 */
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { parseFlags, setOutputs, UsageError, type Command, type Io } from "../cli";
import { loadConfigOption } from "../lib/config";
import { DIGEST_PATTERN } from "../lib/oci";
import { checkImage } from "../lib/publish";
import { readScanRecord, ScanRecordError } from "../lib/scan";
import { publicKeyBody, scanGatePredicate, SCAN_GATE_PREDICATE_TYPE, signAndAttest, SignError, signPlan, type Cosign } from "../lib/sign";
import { credentialsTemp, writeAuthFile } from "./publish";

const USAGE = `usage: mirror-pipeline sign --image REGISTRY/NS/NAME --digest sha256:… --scan-record FILE --gate-json FILE --public-key FILE --tag TAG --commit SHA [flags]
       mirror-pipeline sign --rescan --image REGISTRY/NS/NAME --digest sha256:… --scan-record FILE --gate-json FILE --public-key FILE --tag TAG --commit SHA [flags]

Signs the pushed digest (the index) and each platform's manifest digest with
cosign and the private key in env COSIGN_PRIVATE_KEY (password
COSIGN_PASSWORD), attests each platform's CycloneDX SBOM (type cyclonedx, on
its manifest and on the index) and the scan-gate predicate (type
${SCAN_GATE_PREDICATE_TYPE}, docs/evidence.md, on every digest), then
verifies every signature and attestation with --public-key, the key
committed in the repository. Offline: nothing is uploaded to a transparency
log (--tlog-upload=false); verify with --insecure-ignore-tlog.

  --image REF          registry repository with host, no tag (ghcr.io/acme/gokapi)
  --digest DIGEST      the pushed digest (publish's output)
  --scan-record FILE   scan.json of the build's scan: the digests signed, the SBOMs attested
  --gate-json FILE     the gate's JSON result: must be a pass of this digest
  --public-key FILE    the fleet's public key (cosign.pub): the private key must be its pair
  --tag TAG            the upstream tag that was built
  --commit SHA         the upstream commit of the tag
  --review-file FILE   the diff review (diff-review.md); its hash goes into the predicate
  --diff-file FILE     the reviewed patch (diff.patch); its hash goes into the predicate
  --run-url URL        the workflow run
  --config FILE        mirror config (default .mirror/config.yml): the upstream repository
  --tls-verify BOOL    verify the registry's TLS certificate (default true; false only for a local test registry)
  --rescan             the nightly rescan of the pinned digest passed: --scan-record is the
                       rescan's. Nothing is signed and no SBOM attested; the digests must
                       already carry the fleet's signature, and each gets the fresh
                       scan-gate result in place of the last (cosign attest --replace), so
                       admission keeps the digest for another window (components/admission.ts)

Credentials: env REGISTRY_USER and REGISTRY_PASSWORD, handed to cosign in a
temporary Docker config that is removed afterwards.

Exit 1 when the gate did not pass, the record is of another digest, the key is
missing or is not the pair of --public-key, or a signature or attestation does
not verify. Prints {image, digest, signed, attested, tlog, predicate};
outputs signed (true).
`;

const COMMIT = /^[0-9a-f]{40}(?:[0-9a-f]{24})?$/;
const URL_PATTERN = /^https?:\/\/[^\s()<>\[\]]+$/;

function runCosign(io: Io, extraEnv: Record<string, string>): Cosign {
  return (args) =>
    new Promise((resolve, reject) => {
      execFile(
        "cosign",
        [...args],
        { env: { ...io.env, ...extraEnv } as NodeJS.ProcessEnv, cwd: io.cwd, maxBuffer: 64 * 1024 * 1024, timeout: 10 * 60_000 },
        (err, stdout, stderr) => {
          if (err) {
            const why = (err as NodeJS.ErrnoException).code === "ENOENT" ? "cosign is not installed (not on PATH)" : stderr.trim() || err.message;
            reject(new Error(`cosign ${args[0]} failed: ${why}`));
          } else resolve(stdout);
        },
      );
    });
}

export const command: Command = {
  name: "sign",
  summary: "sign the pushed digests with cosign, attest SBOMs and the scan-gate result, verify with the committed key",
  usage: USAGE,
  async run(argv, io) {
    const f = parseFlags(argv, {
      image: { type: "string" },
      digest: { type: "string" },
      "scan-record": { type: "string" },
      "gate-json": { type: "string" },
      "public-key": { type: "string" },
      tag: { type: "string" },
      commit: { type: "string" },
      "review-file": { type: "string" },
      "diff-file": { type: "string" },
      "run-url": { type: "string" },
      config: { type: "string" },
      "tls-verify": { type: "string" },
      rescan: { type: "boolean" },
    });
    for (const k of ["image", "digest", "scan-record", "gate-json", "public-key", "tag", "commit"] as const) if (!f[k]) throw new UsageError(`--${k} is required`);
    let image: string;
    try {
      image = checkImage(f.image!);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    if (!DIGEST_PATTERN.test(f.digest!)) throw new UsageError(`--digest ${JSON.stringify(f.digest)} is not allowed (allowed: sha256:<64 hex>)`);
    if (!COMMIT.test(f.commit!)) throw new UsageError(`--commit ${JSON.stringify(f.commit)} is not allowed (allowed: a full git commit SHA)`);
    if (f["run-url"] !== undefined && !URL_PATTERN.test(f["run-url"])) throw new UsageError(`--run-url ${JSON.stringify(f["run-url"])} is not allowed (allowed: an http(s) URL)`);
    if ((f["review-file"] === undefined) !== (f["diff-file"] === undefined)) throw new UsageError("--review-file and --diff-file go together (the review and the patch it summarises)");
    if (f.rescan && f["review-file"] !== undefined) throw new UsageError("--review-file is the build's: a rescan reviews no diff");
    const tlsFlag = f["tls-verify"] ?? "true";
    if (tlsFlag !== "true" && tlsFlag !== "false") throw new UsageError(`--tls-verify ${JSON.stringify(tlsFlag)} is not allowed (allowed: true, false)`);

    const fail = (message: string): number => {
      io.stderr(`sign: ${message}\n`);
      return 1;
    };
    if (!io.env.COSIGN_PRIVATE_KEY) {
      return fail("COSIGN_PRIVATE_KEY is empty: the mirror's Actions secret is not set (stack secret mirror-fleet:cosignPrivateKey; README, Signing); nothing was signed");
    }
    if (io.env.COSIGN_PASSWORD === undefined) {
      return fail("COSIGN_PASSWORD is not set: the mirror's Actions secret is not set (stack secret mirror-fleet:cosignPassword; an empty password is set as an empty secret); nothing was signed");
    }
    const resolveIn = (file: string) => path.resolve(io.cwd, file);
    const publicKey = resolveIn(f["public-key"]!);
    const tmp = credentialsTemp(io, "sign-");
    try {
      let committed: string;
      try {
        committed = publicKeyBody(fs.readFileSync(publicKey, "utf8"), f["public-key"]!);
      } catch (e) {
        if (e instanceof SignError) throw e;
        throw new SignError(`--public-key ${f["public-key"]}: cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
      }
      const config = loadConfigOption(io.cwd, f.config);
      const recordFile = resolveIn(f["scan-record"]!);
      const record = readScanRecord(recordFile, f["scan-record"]);
      const gateFile = resolveIn(f["gate-json"]!);
      let gate: Record<string, unknown>;
      try {
        gate = JSON.parse(fs.readFileSync(gateFile, "utf8")) as Record<string, unknown>;
      } catch (e) {
        throw new SignError(`--gate-json ${f["gate-json"]}: not the gate's JSON result (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
      }
      const predicate = scanGatePredicate({
        kind: f.rescan ? "rescan" : "build",
        image,
        digest: f.digest!,
        record,
        recordDir: path.dirname(recordFile),
        recordFile,
        gate,
        gateFile,
        upstream: { repo: config?.upstream.repo ?? null, tag: f.tag!, commit: f.commit! },
        review: f["review-file"] ? { summary: resolveIn(f["review-file"]), diff: resolveIn(f["diff-file"]!) } : null,
        runUrl: f["run-url"] ?? null,
      });
      const predicateFile = path.join(tmp, "scan-gate.json");
      fs.writeFileSync(predicateFile, JSON.stringify(predicate, null, 2) + "\n");

      const env: Record<string, string> = {};
      if (writeAuthFile(io, tmp, image, "config.json")) env.DOCKER_CONFIG = tmp;
      const cosign = runCosign(io, env);
      // The secret's public half must be the committed key, or every verifier would fail.
      const derived = publicKeyBody(await cosign(["public-key", "--key", "env://COSIGN_PRIVATE_KEY"]), "cosign public-key of COSIGN_PRIVATE_KEY");
      if (derived !== committed) {
        throw new SignError(`COSIGN_PRIVATE_KEY is not the pair of ${f["public-key"]}: signatures made with it would not verify (set the stack's cosignPrivateKey, cosignPassword and cosignPublicKey from one key pair); nothing was signed`);
      }
      const plan = signPlan(image, record, path.dirname(recordFile), predicateFile);
      const result = await signAndAttest(
        {
          plan,
          key: "env://COSIGN_PRIVATE_KEY",
          publicKey,
          registryFlags: tlsFlag === "false" ? ["--allow-insecure-registry", "--allow-http-registry"] : [],
          log: (line) => io.stderr(`sign: ${line}\n`),
        },
        cosign,
      );
      io.stdout(JSON.stringify({ image, digest: f.digest, ...result, predicate }) + "\n");
      setOutputs(io, { signed: "true" });
      return 0;
    } catch (e) {
      if (e instanceof SignError || e instanceof ScanRecordError) return fail((e as Error).message);
      if (e instanceof UsageError) throw e;
      io.stderr(`sign: ${(e as Error).message}\n`);
      return 2;
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  },
};
