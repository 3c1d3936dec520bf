/**
 * publish and the OCI archive reader. Archives are made here with GNU tar
 * from a layout written by the test; skopeo is a recording stand-in on PATH
 * (the real one, against a real registry, runs in `npm run e2e`).
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, describe, it } from "node:test";
import type { Io } from "../../pipeline/cli";
import { main } from "../../pipeline/main";
import { listTar, OCI_INDEX, OCI_MANIFEST, ociArchiveInfo, readTarFile } from "../../pipeline/lib/oci";
import { checkImage, registryTag } from "../../pipeline/lib/publish";

const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), "publish-test-"));
after(() => fs.rmSync(tmpRoot, { recursive: true, force: true }));
let n = 0;
const tmp = () => fs.mkdtempSync(path.join(tmpRoot, `${n++}-`));

const hex = (b: string | Buffer) => createHash("sha256").update(b).digest("hex");

interface Layout {
  files: Record<string, string | Buffer>;
}

/** An OCI layout with one image manifest (or an index over two) and its index.json; returns the top digest. */
function imageLayout(opts: { index?: boolean; extraTop?: boolean } = {}): { layout: Layout; digest: string; manifest: string; platforms: Array<{ platform: string; digest: string }> } {
  const files: Record<string, string | Buffer> = { "oci-layout": '{"imageLayoutVersion": "1.0.0"}' };
  const blob = (content: string) => {
    const h = hex(content);
    files[`blobs/sha256/${h}`] = content;
    return { digest: `sha256:${h}`, size: Buffer.byteLength(content) };
  };
  const mkManifest = (arch: string) => {
    const config = blob(JSON.stringify({ architecture: arch, os: "linux", rootfs: { type: "layers", diff_ids: [] } }));
    const m = JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: "application/vnd.oci.image.config.v1+json", ...config }, layers: [] });
    return { ...blob(m), text: m };
  };
  let top: { digest: string; size: number; text: string };
  let mediaType = OCI_MANIFEST;
  let platforms: Array<{ platform: string; digest: string }>;
  if (opts.index) {
    const a = mkManifest("amd64");
    const b = mkManifest("arm64");
    const idx = JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [a, b].map((x, i) => ({ mediaType: OCI_MANIFEST, digest: x.digest, size: x.size, platform: { os: "linux", architecture: i ? "arm64" : "amd64" } })),
    });
    top = { ...blob(idx), text: idx };
    mediaType = OCI_INDEX;
    platforms = [{ platform: "linux/amd64", digest: a.digest }, { platform: "linux/arm64", digest: b.digest }];
  } else {
    top = mkManifest("amd64");
    platforms = [{ platform: "linux/amd64", digest: top.digest }];
  }
  const entry = { mediaType, digest: top.digest, size: top.size, annotations: { "org.opencontainers.image.ref.name": "v1.1.0" } };
  files["index.json"] = JSON.stringify({ schemaVersion: 2, manifests: opts.extraTop ? [entry, entry] : [entry] });
  return { layout: { files }, digest: top.digest, manifest: top.text, platforms };
}

/** scan.json as `scan` writes it: every platform with its report unless `unscanned` names it. */
function scanRecord(digest: string, platforms: Array<{ platform: string; digest: string }>, opts: { unscanned?: string; kind?: string } = {}): string {
  const file = path.join(tmp(), "scan.json");
  const rec = {
    schema: 1,
    kind: opts.kind ?? "build",
    image: { from: "image.tar", digest, mediaType: OCI_INDEX },
    platforms: platforms.map((p) =>
      p.platform === opts.unscanned ? { ...p, error: "trivy image failed" } : { ...p, report: `r-${p.platform.replace("/", "-")}.json`, sarif: "x.sarif", sbom: "x.cdx.json" },
    ),
    source: { path: "upstream", report: "trivy-fs.json", sarif: "trivy-fs.sarif", sbom: "sbom-fs.cdx.json" },
    trivy: { version: "0.74.0" },
    db: { version: 2, updatedAt: null, nextUpdate: null },
    suppressed: 0,
    complete: opts.unscanned === undefined,
  };
  fs.writeFileSync(file, JSON.stringify(rec));
  return file;
}

function tarLayout(layout: Layout, format = "gnu"): string {
  const dir = tmp();
  const src = path.join(dir, "layout");
  for (const [name, content] of Object.entries(layout.files)) {
    fs.mkdirSync(path.dirname(path.join(src, name)), { recursive: true });
    fs.writeFileSync(path.join(src, name), content);
  }
  const out = path.join(dir, "image.tar");
  const names = Object.keys(layout.files).sort();
  execFileSync("tar", [`--format=${format}`, "-cf", out, "-C", src, ...names]);
  return out;
}

function io(env: Record<string, string | undefined> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const value: Io = { env, cwd: tmpRoot, stdout: (t) => void out.push(t), stderr: (t) => void err.push(t) };
  return { io: value, out: () => out.join(""), err: () => err.join("") };
}

describe("ociArchiveInfo", () => {
  for (const format of ["gnu", "ustar", "pax"]) {
    it(`GIVEN a one-platform archive (${format} tar) THEN the digest is the sha256 of the manifest bytes`, () => {
      const { layout, digest, manifest } = imageLayout();
      const info = ociArchiveInfo(tarLayout(layout, format));
      assert.equal(info.digest, `sha256:${hex(manifest)}`);
      assert.equal(info.digest, digest);
      assert.equal(info.isIndex, false);
      assert.equal(info.mediaType, OCI_MANIFEST);
      assert.equal(info.refName, "v1.1.0");
    });
  }

  it("GIVEN a multi-platform archive THEN the digest is the index's and it needs --all", () => {
    const { layout, digest } = imageLayout({ index: true });
    const info = ociArchiveInfo(tarLayout(layout));
    assert.deepEqual([info.digest, info.isIndex, info.mediaType], [digest, true, OCI_INDEX]);
  });

  for (const format of ["gnu", "pax"]) {
    it(`GIVEN a path longer than 100 bytes (${format}) THEN the reader finds it by its full name`, () => {
      const long = `${"d".repeat(90)}/${"f".repeat(60)}.txt`;
      const file = tarLayout({ files: { [long]: "long name content", "short.txt": "s" } }, format);
      assert.ok(listTar(file).some((e) => e.name === long));
      assert.equal(readTarFile(file, long)?.toString(), "long name content");
      assert.equal(readTarFile(file, "short.txt")?.toString(), "s");
      assert.equal(readTarFile(file, "missing"), undefined);
    });
  }

  /** Each case makes a broken archive and says what the reader must answer. */
  const bad: Array<[string, () => { file: string; message: string }]> = [
    ["a docker-archive", () => {
      const file = tarLayout({ files: { "manifest.json": "[]", repositories: "{}" } });
      return { file, message: `${file}: not an OCI image archive (no oci-layout file); it looks like a docker-archive (docker save): build with --output type=oci` };
    }],
    ["two top-level manifests", () => {
      const file = tarLayout(imageLayout({ extraTop: true }).layout);
      return { file, message: `${file}: index.json names 2 manifests (allowed: exactly one; a multi-platform build must be one image index, as buildx --output type=oci writes it)` };
    }],
    ["a missing manifest blob", () => {
      const { layout, digest } = imageLayout();
      delete layout.files[`blobs/sha256/${digest.slice(7)}`];
      const file = tarLayout(layout);
      return { file, message: `${file}: index.json names ${digest}, but blobs/sha256/${digest.slice(7)} is not in the archive` };
    }],
    ["a manifest blob that does not match its name", () => {
      const { layout, digest, manifest } = imageLayout();
      const changed = manifest.replace(`"schemaVersion":2`, `"schemaVersion":3`); // same length, other bytes
      layout.files[`blobs/sha256/${digest.slice(7)}`] = changed;
      const file = tarLayout(layout);
      return { file, message: `${file}: blobs/sha256/${digest.slice(7)} hashes to sha256:${hex(changed)}, not to its name` };
    }],
    ["a file that is not a tar", () => {
      const file = path.join(tmp(), "x.tar");
      fs.writeFileSync(file, "x".repeat(2048));
      return { file, message: `${file}: not a tar archive (bad header checksum at byte 0)` };
    }],
    ["a missing file", () => {
      const file = path.join(tmpRoot, "nope.tar");
      return { file, message: `${file}: cannot open the archive (ENOENT)` };
    }],
  ];
  for (const [what, make] of bad) {
    it(`GIVEN ${what} THEN it is rejected with the reason`, () => {
      const { file, message } = make();
      assert.throws(() => ociArchiveInfo(file), { name: "OciArchiveError", message });
    });
  }
});

describe("registryTag and checkImage", () => {
  const tags: Array<[string, string]> = [
    ["v1.1.0", "v1.1.0"],
    ["v1.2.3+build.7", "v1.2.3-build.7_777818d28a303a6b"],
    ["photos/v1.3.57", "photos-v1.3.57_32df5f6ab905b4f7"],
    ["1.0-RC1", "1.0-RC1"],
  ];
  for (const [upstream, tag] of tags) {
    it(`GIVEN upstream tag ${upstream} THEN the registry tag is ${tag}`, () => assert.equal(registryTag(upstream), tag));
  }
  for (const t of ["v1;rm -rf", "$(id)", "-v1", ""]) {
    it(`GIVEN upstream tag ${JSON.stringify(t)} THEN it is refused`, () =>
      assert.throws(() => registryTag(t), { message: `--tag ${JSON.stringify(t)} is not allowed (allowed: ^[A-Za-z0-9][A-Za-z0-9._+/-]{0,127}$)` }));
  }
  for (const ok of ["ghcr.io/acme/gokapi", "127.0.0.1:5000/acme/mirror-gokapi", "localhost:5000/a/b"]) {
    it(`GIVEN image ${ok} THEN it is accepted`, () => assert.equal(checkImage(ok), ok));
  }
  for (const no of ["gokapi", "acme/gokapi", "ghcr.io/acme/gokapi:v1", "ghcr.io/Acme/gokapi", "ghcr.io/acme/gokapi@sha256:00"]) {
    it(`GIVEN image ${no} THEN it is refused`, () =>
      assert.throws(() => checkImage(no), {
        message: `--image ${JSON.stringify(no)} is not allowed (allowed: a registry repository with its host and no tag or digest, e.g. ghcr.io/acme/gokapi)`,
      }));
  }
});

/**
 * A skopeo stand-in: logs every call, writes FAKE_DIGEST to --digestfile,
 * answers `inspect --raw` with FAKE_MANIFEST for digest refs and
 * FAKE_TAG_MANIFEST (default FAKE_MANIFEST) for tag refs, and copies any
 * auth file it is given to FAKE_AUTH_SEEN so the test can check it.
 */
function fakeSkopeo(): { bin: string; log: string; authSeen: string } {
  const dir = tmp();
  const log = path.join(dir, "calls.log");
  const authSeen = path.join(dir, "auth-seen.json");
  const script = `#!/bin/sh
printf '%s\\n' "$*" >> "$FAKE_LOG"
prev=""; ref=""
for a in "$@"; do
  case "$prev" in
    --digestfile) printf '%s' "$FAKE_DIGEST" > "$a" ;;
    --authfile|--dest-authfile) cp "$a" "$FAKE_AUTH_SEEN" ;;
  esac
  prev="$a"; ref="$a"
done
if [ "$1" = inspect ]; then
  case "$ref" in
    *@sha256:*) cat "$FAKE_MANIFEST" ;;
    *) cat "\${FAKE_TAG_MANIFEST:-$FAKE_MANIFEST}" ;;
  esac
fi
`;
  fs.writeFileSync(path.join(dir, "skopeo"), script, { mode: 0o755 });
  return { bin: dir, log, authSeen };
}

describe("publish command", () => {
  const image = "127.0.0.1:5000/acme/mirror-demo";

  it("GIVEN an archive WHEN --print-digest THEN it prints the digest and sets the output", async () => {
    const { layout, digest } = imageLayout();
    const archive = tarLayout(layout);
    const outFile = path.join(tmp(), "out");
    const t = io({ GITHUB_OUTPUT: outFile });
    assert.equal(await main(["publish", "--archive", archive, "--print-digest"], t.io), 0);
    assert.deepEqual(JSON.parse(t.out()), { archive, digest, mediaType: OCI_MANIFEST, index: false });
    assert.equal(fs.readFileSync(outFile, "utf8"), `digest<<MIRROR_FLEET_EOF\n${digest}\nMIRROR_FLEET_EOF\n`);
  });

  it("GIVEN a registry that serves the scanned digest THEN it pushes by digest, verifies, tags, and prints the ref", async () => {
    const { layout, digest, manifest, platforms } = imageLayout();
    const archive = tarLayout(layout);
    const record = scanRecord(digest, platforms);
    const f = fakeSkopeo();
    const manifestFile = path.join(tmp(), "m.json");
    fs.writeFileSync(manifestFile, manifest);
    const outFile = path.join(tmp(), "out");
    const t = io({ PATH: `${f.bin}:${process.env.PATH}`, FAKE_LOG: f.log, FAKE_DIGEST: digest, FAKE_MANIFEST: manifestFile, FAKE_AUTH_SEEN: f.authSeen, GITHUB_OUTPUT: outFile });
    const code = await main(["publish", "--archive", archive, "--image", image, "--tag", "v1.1.0", "--digest", digest, "--tls-verify", "false", "--scan-record", record], t.io);
    assert.equal(code, 0, t.err());
    assert.deepEqual(JSON.parse(t.out()), { image, digest, ref: `${image}@${digest}`, tag: "v1.1.0" });
    const calls = fs.readFileSync(f.log, "utf8").trim().split("\n");
    assert.equal(calls.length, 4);
    assert.match(calls[0], new RegExp(`^copy --quiet --retry-times 3 --preserve-digests --dest-tls-verify=false --digestfile \\S+ oci-archive:${archive} docker://${image}@${digest}$`));
    assert.equal(calls[1], `inspect --raw --retry-times 3 --tls-verify=false docker://${image}@${digest}`);
    assert.equal(calls[2], `copy --quiet --retry-times 3 --preserve-digests --src-tls-verify=false --dest-tls-verify=false docker://${image}@${digest} docker://${image}:v1.1.0`);
    assert.equal(calls[3], `inspect --raw --retry-times 3 --tls-verify=false docker://${image}:v1.1.0`);
    assert.equal(fs.existsSync(f.authSeen), false, "no credentials in env: no auth file");
    assert.equal(fs.readFileSync(outFile, "utf8"),
      `digest<<MIRROR_FLEET_EOF\n${digest}\nMIRROR_FLEET_EOF\nref<<MIRROR_FLEET_EOF\n${image}@${digest}\nMIRROR_FLEET_EOF\n`);
  });

  it("GIVEN an index archive and credentials THEN it copies --all with a private auth file that is removed afterwards", async () => {
    const { layout, digest, manifest, platforms } = imageLayout({ index: true });
    const archive = tarLayout(layout);
    const record = scanRecord(digest, platforms);
    const f = fakeSkopeo();
    const manifestFile = path.join(tmp(), "m.json");
    fs.writeFileSync(manifestFile, manifest);
    const t = io({ PATH: `${f.bin}:${process.env.PATH}`, FAKE_LOG: f.log, FAKE_DIGEST: digest, FAKE_MANIFEST: manifestFile, FAKE_AUTH_SEEN: f.authSeen, REGISTRY_USER: "bot", REGISTRY_PASSWORD: "s3cret" });
    assert.equal(await main(["publish", "--archive", archive, "--image", "ghcr.io/acme/demo", "--tag", "photos/v2", "--digest", digest, "--scan-record", record], t.io), 0, t.err());
    assert.deepEqual(JSON.parse(t.out()).tag, "photos-v2_999393f7a2f155cc");
    const calls = fs.readFileSync(f.log, "utf8").trim().split("\n");
    assert.ok(calls[0].startsWith("copy --quiet --retry-times 3 --preserve-digests --all --dest-tls-verify=true --dest-authfile "), calls[0]);
    assert.ok(calls[2].includes(" --all --src-tls-verify=true --dest-tls-verify=true --src-authfile "), calls[2]);
    assert.deepEqual(JSON.parse(fs.readFileSync(f.authSeen, "utf8")), { auths: { "ghcr.io": { auth: Buffer.from("bot:s3cret").toString("base64") } } });
    const authPath = /--dest-authfile (\S+)/.exec(calls[0])![1];
    assert.equal(fs.existsSync(authPath), false, "the auth file is removed");
    assert.ok(!t.out().includes("s3cret") && !t.err().includes("s3cret"));
  });

  it("GIVEN --digest that is not the archive's THEN exit 1 and skopeo is never called", async () => {
    const { layout, digest, platforms } = imageLayout();
    const archive = tarLayout(layout);
    const record = scanRecord(digest, platforms);
    const f = fakeSkopeo();
    const other = `sha256:${"0".repeat(64)}`;
    const t = io({ PATH: `${f.bin}:${process.env.PATH}`, FAKE_LOG: f.log });
    assert.equal(await main(["publish", "--archive", archive, "--image", image, "--tag", "v1.1.0", "--digest", other, "--scan-record", record], t.io), 1);
    assert.equal(t.err(), `publish: ${archive} holds ${digest}, but the scanned digest is ${other}: this is not the archive that was scanned; nothing was pushed\n`);
    assert.equal(t.out(), "");
    assert.equal(fs.existsSync(f.log), false);
  });

  it("GIVEN a registry that serves other bytes for the digest THEN exit 1 and the tag is not moved", async () => {
    const { layout, digest, platforms } = imageLayout();
    const archive = tarLayout(layout);
    const record = scanRecord(digest, platforms);
    const f = fakeSkopeo();
    const wrong = path.join(tmp(), "wrong.json");
    fs.writeFileSync(wrong, '{"schemaVersion":2}');
    const t = io({ PATH: `${f.bin}:${process.env.PATH}`, FAKE_LOG: f.log, FAKE_DIGEST: digest, FAKE_MANIFEST: wrong });
    assert.equal(await main(["publish", "--archive", archive, "--image", image, "--tag", "v1.1.0", "--digest", digest, "--scan-record", record], t.io), 1);
    assert.match(t.err(), new RegExp(`publish: the registry serves sha256:${hex('{"schemaVersion":2}')} for ${image}@${digest}, not the scanned ${digest}; the tag was not moved\n$`));
    const calls = fs.readFileSync(f.log, "utf8").trim().split("\n");
    assert.deepEqual(calls.map((c) => c.split(" ")[0]), ["copy", "inspect"], "no second copy: nothing tagged");
    assert.equal(t.out(), "");
  });

  it("GIVEN skopeo writes another digest THEN exit 1 before reading back or tagging", async () => {
    const { layout, digest, platforms } = imageLayout();
    const archive = tarLayout(layout);
    const record = scanRecord(digest, platforms);
    const f = fakeSkopeo();
    const other = `sha256:${"1".repeat(64)}`;
    const t = io({ PATH: `${f.bin}:${process.env.PATH}`, FAKE_LOG: f.log, FAKE_DIGEST: other, FAKE_MANIFEST: "/dev/null" });
    assert.equal(await main(["publish", "--archive", archive, "--image", image, "--tag", "v1.1.0", "--digest", digest, "--scan-record", record], t.io), 1);
    assert.match(t.err(), new RegExp(`publish: skopeo wrote ${other} for ${image}@${digest}, not the scanned ${digest}; the tag was not moved\n$`));
    assert.equal(fs.readFileSync(f.log, "utf8").trim().split("\n").length, 1);
  });

  it("GIVEN an index archive whose arm64 manifest has no report in the scan record THEN exit 1 and skopeo is never called", async () => {
    const { layout, digest, platforms } = imageLayout({ index: true });
    const archive = tarLayout(layout);
    const f = fakeSkopeo();
    const t = io({ PATH: `${f.bin}:${process.env.PATH}`, FAKE_LOG: f.log });
    const record = scanRecord(digest, platforms, { unscanned: "linux/arm64" });
    assert.equal(await main(["publish", "--archive", archive, "--image", image, "--tag", "v1.1.0", "--digest", digest, "--scan-record", record], t.io), 1);
    assert.equal(t.err(), `publish: ${archive} was not scanned as a whole: no report for linux/arm64 (${platforms[1].digest}); nothing was pushed\n`);
    assert.equal(fs.existsSync(f.log), false);
  });

  it("GIVEN a scan record of one platform only (the first manifest, as trivy image --input scans an index) THEN exit 1", async () => {
    const { layout, digest, platforms } = imageLayout({ index: true });
    const archive = tarLayout(layout);
    const t = io();
    const record = scanRecord(digest, platforms.slice(0, 1));
    assert.equal(await main(["publish", "--archive", archive, "--image", image, "--tag", "v1.1.0", "--digest", digest, "--scan-record", record], t.io), 1);
    assert.match(t.err(), /was not scanned as a whole: no report for linux\/arm64 /);
  });

  it("GIVEN a scan record of another image or of a rescan THEN exit 1", async () => {
    const { layout, digest, platforms } = imageLayout();
    const archive = tarLayout(layout);
    const other = `sha256:${"3".repeat(64)}`;
    let t = io();
    assert.equal(await main(["publish", "--archive", archive, "--image", image, "--tag", "v1.1.0", "--digest", digest, "--scan-record", scanRecord(other, platforms)], t.io), 1);
    assert.equal(t.err(), `publish: ${archive} was not scanned as a whole: the scan record is of ${other}, the archive holds ${digest}; nothing was pushed\n`);
    t = io();
    assert.equal(await main(["publish", "--archive", archive, "--image", image, "--tag", "v1.1.0", "--digest", digest, "--scan-record", scanRecord(digest, platforms, { kind: "rescan" })], t.io), 1);
    assert.match(t.err(), /the scan record is of a rescan, not of the build/);
  });

  const usage: Array<[string, string[], string]> = [
    ["no --archive", ["--print-digest"], "publish: --archive is required\n"],
    ["--print-digest with --image", ["--archive", "x.tar", "--print-digest", "--image", "ghcr.io/a/b"], "publish: --image is not used with --print-digest\n"],
    ["no --digest", ["--archive", "x.tar", "--image", "ghcr.io/a/b", "--tag", "v1"], "publish: --digest is required\n"],
    ["a bad --tls-verify", ["--archive", "x.tar", "--image", "ghcr.io/a/b", "--tag", "v1", "--digest", "sha256:x", "--scan-record", "s.json", "--tls-verify", "no"], 'publish: --tls-verify "no" is not allowed (allowed: true, false)\n'],
    ["an image without host", ["--archive", "x.tar", "--image", "acme/b", "--tag", "v1", "--digest", "sha256:x", "--scan-record", "s.json"], 'publish: --image "acme/b" is not allowed (allowed: a registry repository with its host and no tag or digest, e.g. ghcr.io/acme/gokapi)\n'],
  ];
  for (const [what, args, message] of usage) {
    it(`GIVEN ${what} THEN exit 2 with the usage`, async () => {
      const t = io();
      assert.equal(await main(["publish", ...args], t.io), 2);
      assert.ok(t.err().startsWith(message), t.err());
      assert.ok(t.err().includes("usage: mirror-pipeline publish"));
    });
  }

  it("GIVEN a missing archive THEN exit 2 naming the file", async () => {
    const t = io();
    const missing = path.join(tmpRoot, "missing.tar");
    assert.equal(await main(["publish", "--archive", missing, "--image", image, "--tag", "v1", "--digest", `sha256:${"2".repeat(64)}`, "--scan-record", "s.json"], t.io), 2);
    assert.equal(t.err(), `publish: ${missing}: cannot open the archive (ENOENT)\n`);
  });
});
