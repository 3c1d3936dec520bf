/**
 * `bases`: the digest each FROM resolved to at build time, recorded in the
 * audit bundle and the pin pull request. Parsing is table-tested; resolving
 * runs real skopeo against a real registry (docker-registry on 127.0.0.1)
 * holding an image pushed by skopeo, and compares with the registry's own
 * Docker-Content-Digest.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { basesMarkdown, fromInstructions, pinBases, qualify, readBaseRecord, recordBases } from "../../pipeline/lib/bases";
import { renderPrBody, type PinRecord } from "../../pipeline/lib/pin";
import { Cleanup, run as runTool, startRegistry, which, type Registry } from "../e2e/harness";
import { run, tmpDir } from "../fixtures/pipeline/harness";

const D = (c: string) => `sha256:${c.repeat(64)}`;

describe("bases: FROM lines", () => {
  it("GIVEN stages, scratch, --platform, global ARGs and a pinned FROM WHEN read THEN only registry images, with args substituted", () => {
    const df = [
      "ARG GO=1.26",
      "ARG BASE",
      "FROM --platform=$BUILDPLATFORM golang:${GO}-alpine AS build",
      "FROM build AS test",
      "FROM node:22 as web",
      `FROM gcr.io/distroless/static:nonroot@${D("a")}`,
      "COPY --from=build /x /x",
      "FROM ${BASE}",
      "FROM scratch",
      "FROM ghcr.io/acme/tool:1.0 \\",
      "  AS tool",
    ].join("\n");
    const r = fromInstructions(df, { GO: "1.27" });
    assert.deepEqual(r.images, [
      { line: 3, from: "golang:1.27-alpine", pinned: false },
      { line: 5, from: "node:22", pinned: false },
      { line: 6, from: `gcr.io/distroless/static:nonroot@${D("a")}`, pinned: true },
      { line: 10, from: "ghcr.io/acme/tool:1.0", pinned: false },
    ]);
    assert.deepEqual(r.unresolved, [{ line: 8, from: "${BASE}", why: "uses the build arg BASE, which has no value" }]);
  });

  it("GIVEN a FROM with shell characters WHEN read THEN it is not passed on", () => {
    assert.deepEqual(fromInstructions("FROM alpine;id\n").unresolved, [{ line: 1, from: "alpine;id", why: "not an image reference this pipeline passes on" }]);
  });

  const names: Array<[string, string]> = [
    ["alpine:3.20", "docker.io/library/alpine:3.20"],
    ["library/alpine", "docker.io/library/alpine"],
    ["bitnami/redis:7", "docker.io/bitnami/redis:7"],
    ["ghcr.io/acme/x:1", "ghcr.io/acme/x:1"],
    ["localhost/x", "localhost/x"],
    ["127.0.0.1:5000/x:1", "127.0.0.1:5000/x:1"],
  ];
  for (const [ref, want] of names) it(`GIVEN ${ref} WHEN qualified THEN ${want}`, () => assert.equal(qualify(ref), want));

  it("GIVEN a record WHEN pinned THEN each resolved FROM names its digest, and stages and pinned lines stay as they were", () => {
    const df = `FROM golang:1.26 AS build\nRUN go build\nFROM gcr.io/distroless/static@${D("a")}\nFROM build\n`;
    const record = recordBases("Dockerfile", df, (ref) => (ref === "docker.io/library/golang:1.26" ? D("b") : assert.fail(ref)));
    assert.equal(pinBases(df, record), `FROM docker.io/library/golang:1.26@${D("b")} AS build\nRUN go build\nFROM gcr.io/distroless/static@${D("a")}\nFROM build\n`);
  });
});

describe("bases: the pin pull request", () => {
  it("GIVEN a record WHEN the pin body is rendered THEN a table names each FROM and its digest", () => {
    const record = recordBases("upstream/Dockerfile", "FROM golang:1.26 AS b\nFROM ${X}\n", () => D("c"));
    const lines = basesMarkdown(readBaseRecord(JSON.stringify(record), "base-images.json"));
    const pin: PinRecord = {
      image: "ghcr.io/acme/plik",
      digest: D("d"),
      tag: "1.3.8",
      upstream: { repo: "root-gg/plik", commit: "e".repeat(40) },
      override: null,
      builtAt: "2026-11-20T02:13:00Z",
      scan: null,
      waiversApplied: [],
      attestations: [],
      runUrl: null,
    };
    const body = renderPrBody(pin, { previous: null, upstreamUrl: null, review: null, links: {}, bases: lines });
    assert.ok(
      body.includes(
        "#### Base images (1), as resolved at build time\n\n| Line | FROM | Digest | |\n|---|---|---|---|\n" +
          `| 1 | \`golang:1.26\` | \`${D("c")}\` | resolved from the tag |\n| 2 | \`\${X}\` | not resolved | uses the build arg X, which has no value |\n`,
      ),
      body,
    );
  });

  it("GIVEN a tampered record WHEN read THEN it is refused", () => {
    const bad = JSON.stringify({ dockerfile: "D", images: [{ line: 1, from: "x`<img>", ref: "x", digest: D("a"), pinnedInDockerfile: false }], unresolved: [] });
    assert.throws(() => readBaseRecord(bad, "audit/base-images.json"), { message: "audit/base-images.json: not a base-image record (allowed: the JSON that `mirror-pipeline bases` writes)" });
  });
});

describe("bases: real skopeo against a real registry", () => {
  const cleanup = new Cleanup();
  let registry: Registry;
  let dir: string;
  let pushed: string;

  before(async () => {
    assert.ok(which("skopeo") && which("docker-registry"), "skopeo and docker-registry are needed (apt-get install skopeo docker-registry; CI installs them)");
    dir = tmpDir();
    registry = await startRegistry(cleanup, path.join(dir, "registry"));
    // A minimal OCI image: an empty config, no layers.
    const layout = path.join(dir, "oci");
    const blob = (text: string) => {
      const hex = createHash("sha256").update(text).digest("hex");
      fs.mkdirSync(path.join(layout, "blobs", "sha256"), { recursive: true });
      fs.writeFileSync(path.join(layout, "blobs", "sha256", hex), text);
      return { digest: `sha256:${hex}`, size: Buffer.byteLength(text) };
    };
    const config = blob(JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [] }, config: {} }));
    const manifest = blob(JSON.stringify({ schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json", config: { mediaType: "application/vnd.oci.image.config.v1+json", ...config }, layers: [] }));
    fs.writeFileSync(path.join(layout, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
    fs.writeFileSync(path.join(layout, "index.json"), JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: "application/vnd.oci.image.manifest.v1+json", ...manifest }] }));
    await runTool(cleanup, "skopeo", ["copy", "--quiet", "--dest-tls-verify=false", `oci:${layout}`, `docker://${registry.host}/base/img:1.0`]);
    // The registry's own answer, not skopeo's: what it serves for the tag.
    const res = await fetch(`http://${registry.host}/v2/base/img/manifests/1.0`, { method: "HEAD", headers: { accept: "application/vnd.oci.image.manifest.v1+json" } });
    pushed = res.headers.get("docker-content-digest")!;
    assert.match(pushed, /^sha256:[0-9a-f]{64}$/);
  });
  after(async () => {
    await cleanup.run(() => {});
  });

  it("GIVEN upstream's Dockerfile FROM a tag in the registry WHEN bases --pin runs THEN the record and the Dockerfile name the digest the registry serves", async () => {
    const cwd = tmpDir();
    fs.writeFileSync(path.join(cwd, "Dockerfile"), `FROM ${registry.host}/base/img:1.0 AS build\nFROM scratch\nCOPY --from=build / /\n`);
    const r = await run(["bases", "--dockerfile", "Dockerfile", "--out", "audit/base-images.json", "--pin"], { cwd, env: { HOME: cwd } });
    assert.equal(r.code, 0, r.stderr);
    const record = JSON.parse(fs.readFileSync(path.join(cwd, "audit/base-images.json"), "utf8"));
    assert.deepEqual(record, {
      dockerfile: "Dockerfile",
      images: [{ line: 1, from: `${registry.host}/base/img:1.0`, ref: `${registry.host}/base/img:1.0`, digest: pushed, pinnedInDockerfile: false }],
      unresolved: [],
    });
    assert.equal(fs.readFileSync(path.join(cwd, "Dockerfile"), "utf8"), `FROM ${registry.host}/base/img:1.0@${pushed} AS build\nFROM scratch\nCOPY --from=build / /\n`);
    assert.equal(r.stderr, `bases: line 1: ${registry.host}/base/img:1.0 -> ${pushed} (now pinned for this build)\n`);
  });

  it("GIVEN a tag the registry does not have WHEN bases runs THEN exit 2 naming the reference, and no record", async () => {
    const cwd = tmpDir();
    fs.writeFileSync(path.join(cwd, "Dockerfile"), `FROM ${registry.host}/base/img:9.9\n`);
    const r = await run(["bases", "--dockerfile", "Dockerfile", "--out", "audit/base-images.json"], { cwd, env: { HOME: cwd } });
    assert.equal(r.code, 2);
    assert.match(r.stderr, new RegExp(`^bases: skopeo inspect --raw docker://${registry.host.replace(/\./g, "\\.")}/base/img:9\\.9 failed: `));
    assert.equal(fs.existsSync(path.join(cwd, "audit/base-images.json")), false);
  });
});
