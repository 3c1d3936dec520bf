/**
 * Red team, issue 17 items 2, 3 and 12: what `scan` takes from the image's
 * own index and config is attacker-chosen text, and decides what is scanned.
 *   2. Platform strings: `linux/amd64` and `linux#/amd64` made one report file;
 *      the second scan overwrote the first and the gate passed the vulnerable
 *      manifest. Only the OCI spec's platform values are read, and the gate
 *      checks each report is the scan of its platform's digest.
 *   3. An entry annotated as a BuildKit attestation was skipped whatever it
 *      was. Now only what BuildKit writes is skipped; anything else with the
 *      annotation is refused.
 *  12. Trivy caches a layer's findings under the config's diff_id: a layer
 *      whose bytes are not its diff_id is refused before Trivy runs.
 * `scan` runs in-process with a stand-in trivy (oci-world.ts) that logs its
 * calls; the archives are real tars of layouts written blob by blob.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";
import { run, tmpDir } from "../fixtures/pipeline/harness";
import { Layout, sha256, standInTrivy } from "./oci-world";

async function scanArchive(archive: string) {
  const { bin, log } = standInTrivy();
  const cwd = tmpDir();
  fs.mkdirSync(path.join(cwd, "upstream"));
  const r = await run(["scan", "--archive", archive, "--source", "upstream", "--out", "out"], { cwd, env: { PATH: `${bin}:${process.env.PATH ?? ""}` } });
  const calls = fs.existsSync(log) ? fs.readFileSync(log, "utf8").trim().split("\n") : [];
  return { ...r, cwd, imageScans: calls.filter((c) => c.startsWith("image ")).map((c) => /--input (\S+)/.exec(c)![1]) };
}

describe("adversarial (issue 17 #2): platform strings are the OCI spec's values; each report is of its platform's digest", () => {
  test("GIVEN an index with linux/amd64 and linux#/amd64 WHEN scanned THEN it is refused, naming the platform, and nothing is scanned", async () => {
    const l = new Layout();
    const clean = l.image("linux/amd64", [l.layer({ "etc/os-release": "ID=clean\n" })]);
    const evil = l.image("linux/amd64", [l.layer({ "etc/os-release": "ID=vulnerable\n" })]);
    evil.platform = { os: "linux#", architecture: "amd64" };
    const idx = l.index([evil, clean]);
    const r = await scanArchive(l.archive());
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`index ${idx.digest} manifests\\[0\\] names the platform "linux#/amd64" \\(allowed: os/architecture\\[/variant\\] from the OCI image index specification`));
    assert.deepEqual(r.imageScans, []);
  });

  for (const [what, platform] of [["an amd64 variant the spec does not list", { os: "linux", architecture: "amd64", variant: "v3" }], ["upper case", { os: "Linux", architecture: "amd64" }], ["a path in the architecture", { os: "linux", architecture: "amd64/../arm64" }]] as const) {
    test(`GIVEN a platform with ${what} THEN it is refused`, async () => {
      const l = new Layout();
      const m = l.image("linux/amd64", [l.layer({ a: "a" })]);
      m.platform = { ...platform };
      l.index([m]);
      const r = await scanArchive(l.archive());
      assert.equal(r.code, 2);
      assert.match(r.stderr, /names the platform .* \(allowed: os\/architecture\[\/variant\] from the OCI image index specification/);
    });
  }

  test("GIVEN linux/amd64, linux/arm64 and linux/arm/v7 WHEN scanned THEN three reports with three names, each of its own digest", async () => {
    const l = new Layout();
    const ms = ["linux/amd64", "linux/arm64", "linux/arm/v7"].map((p) => l.image(p, [l.layer({ p })]));
    l.index(ms);
    const r = await scanArchive(l.archive());
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.imageScans, ms.map((m) => `image@${m.digest}`));
    assert.deepEqual(r.json.platforms.map((p: { platform: string; report: string }) => [p.platform, p.report]), [
      ["linux/amd64", "trivy-image-linux-amd64.json"],
      ["linux/arm64", "trivy-image-linux-arm64.json"],
      ["linux/arm/v7", "trivy-image-linux-arm-v7.json"],
    ]);
    const g = await run(["gate", "--scan-record", "out/scan.json", "--today", "2026-11-23"], { cwd: r.cwd });
    assert.equal(g.json.decision, "pass", g.stderr);
  });

  test("GIVEN a scan record whose linux/amd64 report is the scan of another digest WHEN gated THEN unusable input naming both", async () => {
    const l = new Layout();
    const ms = ["linux/amd64", "linux/arm64"].map((p) => l.image(p, [l.layer({ p })]));
    l.index(ms);
    const r = await scanArchive(l.archive());
    assert.equal(r.code, 0, r.stderr);
    // What the collision did: the arm64 scan written over the amd64 report.
    const out = path.join(r.cwd, "out");
    fs.copyFileSync(path.join(out, "trivy-image-linux-arm64.json"), path.join(out, "trivy-image-linux-amd64.json"));
    const g = await run(["gate", "--scan-record", "out/scan.json", "--today", "2026-11-23"], { cwd: r.cwd });
    assert.equal(g.code, 2, g.stderr);
    assert.deepEqual(g.json.unusable, [`out/trivy-image-linux-amd64.json: the report is of image@${ms[1].digest}, not of image@${ms[0].digest}: it is not this platform's scan`]);
  });

  test("GIVEN a scan record naming a platform that is not an OCI value, or one report for two platforms THEN the gate refuses the record", async () => {
    const l = new Layout();
    l.index([l.image("linux/amd64", [l.layer({ a: "a" })]), l.image("linux/arm64", [l.layer({ b: "b" })])]);
    const r = await scanArchive(l.archive());
    const file = path.join(r.cwd, "out", "scan.json");
    const record = JSON.parse(fs.readFileSync(file, "utf8"));
    for (const [edit, message] of [
      [(x: any) => (x.platforms[1].platform = "linux#/amd64"), 'out/scan.json: platforms[1]: "linux#/amd64" is not an OCI platform (allowed: os/architecture[/variant] from the OCI image index specification)'],
      [(x: any) => (x.platforms[1].report = x.platforms[0].report), 'out/scan.json: platforms: two platforms name the same report "trivy-image-linux-amd64.json"'],
    ] as const) {
      const copy = structuredClone(record);
      edit(copy);
      fs.writeFileSync(file, JSON.stringify(copy));
      const g = await run(["gate", "--scan-record", "out/scan.json", "--today", "2026-11-23"], { cwd: r.cwd });
      assert.equal(g.code, 2);
      assert.deepEqual(g.json.unusable, [message]);
    }
  });
});

describe("adversarial (issue 17 #3): only what BuildKit writes as an attestation is skipped", () => {
  test("GIVEN BuildKit's attestation manifest for the amd64 image THEN it is skipped and only the image is scanned", async () => {
    const l = new Layout();
    const img = l.image("linux/amd64", [l.layer({ a: "a" })]);
    l.index([img, l.buildkitAttestation(img)]);
    const r = await scanArchive(l.archive());
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.imageScans, [`image@${img.digest}`]);
  });

  const forged: Array<[string, (l: Layout, att: any, img: any) => void, RegExp]> = [
    [
      "an image manifest with a real layer, annotated as an attestation",
      (l, att) => {
        const evil = l.image("linux/amd64", [l.layer({ "bin/sh": "#!/bin/evil\n" })]);
        Object.assign(att, { digest: evil.digest, size: evil.size });
      },
      /is annotated as a BuildKit attestation, but its layers\[0\] has media type "application\/vnd.oci.image.layer.v1.tar\+gzip" \(BuildKit writes application\/vnd.in-toto\+json only\): it is neither scanned nor skipped/,
    ],
    ["the annotation on a linux/amd64 entry", (_l, att) => (att.platform = { os: "linux", architecture: "amd64" }), /its platform is \{"os":"linux","architecture":"amd64"\} \(BuildKit writes exactly unknown\/unknown\)/],
    ["a reference to a digest that is not in the index", (_l, att) => (att.annotations["vnd.docker.reference.digest"] = sha256("elsewhere")), /its vnd.docker.reference.digest "sha256:[0-9a-f]{64}" is not a platform manifest of this index/],
    ["no reference at all", (_l, att) => delete att.annotations["vnd.docker.reference.digest"], /its vnd.docker.reference.digest null is not a platform manifest of this index/],
    [
      "a config that names a real platform",
      (l, att, img) => {
        const layer = { ...l.blob("{}", "application/vnd.in-toto+json") };
        const config = l.blob(JSON.stringify({ os: "linux", architecture: "arm64", rootfs: { type: "layers", diff_ids: [layer.digest] } }), "application/vnd.oci.image.config.v1+json");
        const m = l.blob(JSON.stringify({ schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json", config, layers: [layer] }), "application/vnd.oci.image.manifest.v1+json");
        Object.assign(att, { digest: m.digest, size: m.size });
        void img;
      },
      /its config names the platform "linux\/arm64" \(BuildKit writes unknown\/unknown\)/,
    ],
  ];
  for (const [what, edit, message] of forged) {
    test(`GIVEN ${what} WHEN scanned THEN it is refused and nothing is scanned`, async () => {
      const l = new Layout();
      const img = l.image("linux/amd64", [l.layer({ a: "a" })]);
      const att = l.buildkitAttestation(img);
      edit(l, att, img);
      l.index([img, att]);
      const r = await scanArchive(l.archive());
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, message);
      assert.deepEqual(r.imageScans, []);
    });
  }
});

describe("adversarial (issue 17 #12): every layer decompresses to its diff_id before Trivy sees it", () => {
  test("GIVEN a layer whose config diff_id is another (clean) layer's WHEN scanned THEN refused before any scan", async () => {
    const l = new Layout();
    const clean = l.layer({ "etc/os-release": "ID=clean\n" });
    const evil = l.layer({ "etc/os-release": "ID=vulnerable\n" });
    const img = l.image("linux/amd64", [evil], [clean.diffId]);
    l.index([img]);
    const r = await scanArchive(l.archive());
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`linux/amd64 \\(${img.digest}\\): layers\\[0\\] ${evil.descriptor.digest} decompresses to ${evil.diffId}, but the image config's diff_ids\\[0\\] is "${clean.diffId}": Trivy would report another layer's contents; nothing was scanned`));
    assert.deepEqual(r.imageScans, []);
  });

  test("GIVEN two layers with their diff_ids swapped THEN refused", async () => {
    const l = new Layout();
    const a = l.layer({ a: "a" });
    const b = l.layer({ b: "b" });
    l.index([l.image("linux/amd64", [a, b], [b.diffId, a.diffId])]);
    const r = await scanArchive(l.archive());
    assert.equal(r.code, 2);
    assert.match(r.stderr, /layers\[0\] .* decompresses to .*, but the image config's diff_ids\[0\] is/);
  });

  test("GIVEN fewer diff_ids than layers THEN refused", async () => {
    const l = new Layout();
    const a = l.layer({ a: "a" });
    l.index([l.image("linux/amd64", [a, l.layer({ b: "b" })], [a.diffId])]);
    const r = await scanArchive(l.archive());
    assert.equal(r.code, 2);
    assert.match(r.stderr, /2 layers but 1 diff_ids in the image config/);
  });
});

describe("adversarial (red team, 2026-12-07): what Trivy finds does not depend on the repository's files or TRIVY_* filters", () => {
  test("GIVEN a mirror root with .trivyignore and trivy.yaml, and TRIVY_SEVERITY set WHEN scanned THEN every Trivy call runs in a folder with neither, and sees only the database and run settings", async () => {
    const { bin, log } = standInTrivy();
    const cwd = tmpDir();
    fs.mkdirSync(path.join(cwd, "upstream"));
    // What Trivy would read from its working folder by default: each would drop findings the gate never sees.
    fs.writeFileSync(path.join(cwd, ".trivyignore"), "CVE-2026-90002\n");
    fs.writeFileSync(path.join(cwd, "trivy.yaml"), "severity:\n  - LOW\n");
    const l = new Layout();
    l.index([l.image("linux/amd64", [l.layer({ a: "a" })])]);
    const env = { PATH: `${bin}:${process.env.PATH ?? ""}`, TRIVY_CACHE_DIR: "/cache", TRIVY_SEVERITY: "LOW", TRIVY_IGNOREFILE: path.join(cwd, ".trivyignore"), TRIVY_SKIP_DIRS: "upstream" };
    const r = await run(["scan", "--archive", l.archive(), "--source", "upstream", "--out", "out", "--platforms", "linux/amd64"], { cwd, env });
    assert.equal(r.code, 0, r.stderr);
    const calls = fs.readFileSync(`${log}.where`, "utf8").trim().split("\n");
    assert.deepEqual(calls.map((c) => c.split(" ")[0]), ["image", "convert", "convert", "fs", "convert", "convert", "version"]);
    for (const c of calls) {
      assert.ok(!c.includes(` cwd=${cwd} `), c);
      assert.doesNotMatch(c, /files=.*(trivy\.yaml|\.trivyignore)/, c);
      assert.match(c, / env=TRIVY_CACHE_DIR=\/cache,$/, c);
    }
  });
});
