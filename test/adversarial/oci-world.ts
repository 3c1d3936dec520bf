/**
 * Shared by the adversarial tests of what the scan reads (pipeline-oci*.test.ts):
 * OCI image layouts written blob by blob, so each field is what an attacker
 * chooses, packed into an oci-archive with `tar` (what buildx --output
 * type=oci writes), and a stand-in `trivy` for `scan`.
 *
 * The stand-in trivy is NOT Trivy: it writes a report with no findings whose
 * ArtifactName is the `--input` it was given (as Trivy 0.74.0 does,
 * pkg/fanal/image/archive.go), minimal SARIF and CycloneDX for `convert`, and
 * logs every call; the real scanner runs in the e2e.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import * as zlib from "node:zlib";
import { OCI_INDEX, OCI_MANIFEST } from "../../pipeline/lib/oci";
import { tmpDir } from "../fixtures/pipeline/harness";

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: Record<string, string>;
  annotations?: Record<string, string>;
}

export const sha256 = (b: Buffer | string) => `sha256:${createHash("sha256").update(b).digest("hex")}`;

export class Layout {
  readonly root = tmpDir();
  readonly dir = path.join(this.root, "layout");

  constructor() {
    fs.mkdirSync(path.join(this.dir, "blobs", "sha256"), { recursive: true });
    fs.writeFileSync(path.join(this.dir, "oci-layout"), '{"imageLayoutVersion":"1.0.0"}');
  }

  blob(bytes: Buffer | string, mediaType: string): Descriptor {
    const b = Buffer.from(bytes);
    fs.writeFileSync(path.join(this.dir, "blobs", "sha256", sha256(b).slice(7)), b);
    return { mediaType, digest: sha256(b), size: b.length };
  }

  /** A gzip layer of these files (a real tar); its diff_id is the tar's sha256. */
  layer(files: Record<string, string>): { descriptor: Descriptor; diffId: string } {
    const src = fs.mkdtempSync(path.join(this.root, "layer-"));
    for (const [name, text] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(src, name)), { recursive: true });
      fs.writeFileSync(path.join(src, name), text);
    }
    const tar = execFileSync("tar", ["-cf", "-", "--sort=name", "--mtime=@0", "--owner=0", "--group=0", "-C", src, ...Object.keys(files)]);
    return { descriptor: this.blob(zlib.gzipSync(tar), "application/vnd.oci.image.layer.v1.tar+gzip"), diffId: sha256(tar) };
  }

  /** An image manifest whose config names `os/arch[/variant]` and lists `diffIds` (default: the layers' own). */
  image(platform: string, layers: Array<{ descriptor: Descriptor; diffId: string }>, diffIds = layers.map((l) => l.diffId)): Descriptor {
    const [os, architecture, variant] = platform.split("/");
    const config = this.blob(JSON.stringify({ os, architecture, ...(variant ? { variant } : {}), rootfs: { type: "layers", diff_ids: diffIds } }), "application/vnd.oci.image.config.v1+json");
    const manifest = this.blob(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers: layers.map((l) => l.descriptor) }), OCI_MANIFEST);
    return { ...manifest, platform: { os, architecture, ...(variant ? { variant } : {}) } };
  }

  /** The attestation manifest BuildKit writes for `target` (moby/buildkit v0.34.2 commitAttestationsManifest). */
  buildkitAttestation(target: Descriptor): Descriptor {
    const statement = JSON.stringify({ _type: "https://in-toto.io/Statement/v0.1", predicateType: "https://slsa.dev/provenance/v0.2", subject: [{ name: "x", digest: { sha256: target.digest.slice(7) } }], predicate: {} });
    const layer = { ...this.blob(statement, "application/vnd.in-toto+json"), annotations: { "in-toto.io/predicate-type": "https://slsa.dev/provenance/v0.2" } };
    const config = this.blob(JSON.stringify({ architecture: "unknown", os: "unknown", config: {}, rootfs: { type: "layers", diff_ids: [layer.digest] } }), "application/vnd.oci.image.config.v1+json");
    const manifest = this.blob(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers: [layer] }), OCI_MANIFEST);
    return {
      ...manifest,
      platform: { architecture: "unknown", os: "unknown" },
      annotations: { "vnd.docker.reference.digest": target.digest, "vnd.docker.reference.type": "attestation-manifest" },
    };
  }

  /** The image index over `manifests`, named by the layout's index.json. */
  index(manifests: Descriptor[]): Descriptor {
    const idx = this.blob(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests }), OCI_INDEX);
    fs.writeFileSync(path.join(this.dir, "index.json"), JSON.stringify({ schemaVersion: 2, manifests: [idx] }));
    return idx;
  }

  /** The layout as an oci-archive tar; returns its path. */
  archive(): string {
    const file = path.join(this.root, "image.tar");
    execFileSync("tar", ["-cf", file, "-C", this.dir, "oci-layout", "index.json", "blobs"]);
    return file;
  }
}

/** A folder with a stand-in `trivy` (see the header); returns its bin folder and the call log (`<log>.where`: each call's folder, its files and TRIVY_* environment). */
export function standInTrivy(): { bin: string; log: string } {
  const bin = tmpDir();
  const log = path.join(bin, "calls.log");
  fs.writeFileSync(
    path.join(bin, "trivy"),
    `#!/bin/sh
# Stand-in for Trivy in adversarial tests (test/adversarial/oci-world.ts): not a scanner.
echo "$*" >> "${log}"
# Where it ran, what of its own settings it found there, and its TRIVY_* environment.
echo "$1 cwd=$PWD files=$(ls -A | tr '\n' ,) env=$(env | grep '^TRIVY_' | sort | tr '\n' ,)" >> "${log}.where"
cmd="$1"; shift
out=""; input=""; last=""
while [ $# -gt 0 ]; do
  case "$1" in
    --output) out="$2"; shift ;;
    --input) input="$2"; shift ;;
    --format) fmt="$2"; shift ;;
    *) last="$1" ;;
  esac
  shift
done
case "$cmd" in
  image) printf '{"SchemaVersion":2,"ArtifactName":"%s","ArtifactType":"container_image","Results":[]}' "$input" > "$out" ;;
  fs) printf '{"SchemaVersion":2,"ArtifactName":"%s","ArtifactType":"filesystem","Results":[]}' "$last" > "$out" ;;
  convert) if [ "$fmt" = sarif ]; then echo '{"runs":[]}' > "$out"; else echo '{"components":[],"vulnerabilities":[]}' > "$out"; fi ;;
  version) echo '{"Version":"0.74.0"}' ;;
esac
`,
    { mode: 0o755 },
  );
  return { bin, log };
}
