/**
 * The mirror README tells an auditor what the mirror is and how to check an
 * image. Its "Verify an image" commands are run here, against a pin file the
 * pipeline's own renderer writes, with gh, skopeo, crane and docker stubbed
 * by scripts that answer as those tools do.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, describe, test } from "node:test";
import { renderReadme } from "../../components/readme";
import type { ResolvedMirror, StackSettings } from "../../components/types";
import { renderPinFile } from "../../pipeline/lib/pin";
import { FIXTURE_FLEET, resolveTestFleet } from "../support/fleets";

const settings = (visibility: "private" | "public"): StackSettings => ({ owner: "acme-corp", registryNamespace: "acme-corp", visibility, branchProtection: true, attestations: false });
const mirrors = (visibility: "private" | "public" = "private") =>
  resolveTestFleet(FIXTURE_FLEET, { settings: settings(visibility), today: new Date("2026-11-23T12:00:00Z") }).mirrors;
const by = (name: string, visibility: "private" | "public" = "private"): ResolvedMirror => mirrors(visibility).find((m) => m.name === name)!;

const dirs: string[] = [];
after(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

describe("mirror README: what the mirror is", () => {
  test("GIVEN a mirror with an override WHEN rendered THEN it is called hardened", () => {
    assert.match(renderReadme(by("gokapi")), /\n# mirror-gokapi\n\nA hardened mirror of \[Forceu\/Gokapi\]/);
  });

  test("GIVEN a mirror built from upstream's own Dockerfile WHEN rendered THEN it is not called hardened, and its base images are on record", () => {
    const text = renderReadme(by("plik"));
    assert.doesNotMatch(text, /hardened/i);
    assert.match(text, /\n# mirror-plik\n\nA scanned rebuild, on upstream's own Dockerfile and base images, of \[root-gg\/plik\]/);
    assert.match(text, /not pinned by digest here and not checked to be minimal\. Each build records the digest every `FROM` resolved to in the audit bundle \(`audit\/base-images\.json`\)/);
  });
});

describe("mirror README: the drift gate, where the workflow has one", () => {
  test("GIVEN an override WHEN rendered THEN a change to a watched file blocks until the override-review issue is closed; without one, it does not block", () => {
    assert.match(renderReadme(by("gokapi")), /- A change to `Dockerfile`, `dockerentry\.sh`, `go\.mod` upstream since the last built tag blocks the build until a human closes the `override-review` issue\./);
    const plik = renderReadme(by("plik"));
    assert.match(plik, /- A change to `Dockerfile`, `Makefile` upstream since the last built tag does not block the build: there is no override to keep in step/);
    assert.doesNotMatch(plik, /blocks the build until a human closes the `override-review` issue/);
  });
});

describe("mirror README: the scan gate, as the config applies it", () => {
  const gateOf = (text: string) => text.slice(text.indexOf("## The scan gate"), text.indexOf("## Verify an image"));

  test("GIVEN the policy's gate WHEN rendered THEN the sentence names the severities and the fix rule the config holds", () => {
    const m = by("gokapi");
    assert.deepEqual([m.gate.severities, m.gate.fixedOnly], [["CRITICAL", "HIGH"], true]);
    assert.match(
      gateOf(renderReadme(m)),
      /\n- Blocks on CRITICAL and HIGH findings that have a fix available \(an unfixed one is reported, and does not block\), in any platform of the image or in the upstream source \(`gate` in `\.mirror\/config\.yml`\)\./,
    );
  });

  test("GIVEN an entry's own gate WHEN rendered THEN its severities, every finding, and the source scan's reason for not blocking", () => {
    const m = { ...by("plik"), gate: { ...by("plik").gate, severities: ["CRITICAL", "HIGH", "MEDIUM"] as const, fixedOnly: false, scans: ["image"] as const, sourceOffReason: "the lockfile lists build tools only" } };
    const text = gateOf(renderReadme(m));
    assert.match(text, /\n- Blocks on CRITICAL, HIGH and MEDIUM findings whether or not a fix is available, in any platform of the image \(`gate`/);
    assert.match(text, /\n- The upstream source is scanned too, but its findings do not block: the lockfile lists build tools only\.\n/);
  });

  test("GIVEN waivers or none WHEN rendered THEN the OpenVEX document is named only where one is committed", () => {
    assert.match(gateOf(renderReadme(by("gokapi"))), /- Waivers: `\.trivyignore\.yaml` \(Trivy's format, each with a statement and an expiry date\) and the same decisions as an OpenVEX document, `\.mirror\/waivers\.openvex\.json`\./);
    const plik = gateOf(renderReadme(by("plik")));
    assert.match(plik, /- Waivers: none\. `\.trivyignore\.yaml` lists none, and there is no OpenVEX document; a waiver in `mirrors\/plik\.ts` \(`gate\.waivers`\) adds it to both\./);
    assert.doesNotMatch(plik, /waivers\.openvex\.json/);
  });
});

describe("mirror README: which plan shows the SARIF", () => {
  test("GIVEN a private mirror WHEN rendered THEN it says the Security tab needs GitHub Code Security, and where the SARIF is otherwise", () => {
    assert.match(
      renderReadme(by("gokapi")),
      /- Findings as SARIF: this repository is private, so the Security tab \(code scanning\) shows them only when GitHub Code Security is enabled for it \(sold for the Team and Enterprise plans; not available on Free\)\. Without it the upload fails without failing the run, and the SARIF files are in the run's `audit` artifact \(a rescan's, in its `rescan` artifact\)\. Each run's job summary says where its SARIF went\./,
    );
  });
  test("GIVEN a public mirror WHEN rendered THEN every plan shows it", () => {
    assert.match(renderReadme(by("gokapi", "public")), /- Findings as SARIF: uploaded to this repository's Security tab \(code scanning\), which every plan shows for a public repository\./);
  });
});

describe("mirror README: Deploy with GitOps", () => {
  const gitops = (m: ResolvedMirror) => {
    const text = renderReadme(m);
    return text.slice(text.indexOf("## Deploy with GitOps"), text.indexOf("\n## ", text.indexOf("## Deploy with GitOps") + 3));
  };
  test("GIVEN a private mirror WHEN rendered THEN it does not promise that a controller's credentials reach the remote component: Argo CD lends the app's own, Flux none, so Flux includes the repository through source-controller", () => {
    const text = gitops(by("gokapi"));
    assert.match(text, /Argo CD lends kustomize only the credentials of the Application's own repository, so the URL above loads when they also read this one/);
    assert.match(text, /Flux's kustomize-controller lends none: give this repository a `GitRepository` with its own secret, include it in your app's \(`spec\.include`, `fromPath: deploy`, `toPath: <folder>`\)/);
    assert.doesNotMatch(text, /Flux: the `GitRepository` secret/);
  });
  test("GIVEN a public mirror WHEN rendered THEN no credentials, and the way in for a kustomize-controller that refuses remote components", () => {
    const text = gitops(by("gokapi", "public"));
    assert.match(text, /This repository is public: no credentials are needed to fetch the component\./);
    assert.match(text, /`--no-remote-bases` refuses it: include this repository .* `spec\.include` with `fromPath: deploy`/);
  });
});

describe("mirror README: Verify an image", () => {
  function verifyScript(m: ResolvedMirror): string {
    const text = renderReadme(m);
    const section = text.slice(text.indexOf("## Verify an image"));
    const m1 = /```sh\n([\s\S]*?)```/.exec(section);
    assert.ok(m1, "no sh block under Verify an image");
    return m1[1];
  }

  function stubs(dir: string, manifest: string, scannedDigest: string): string {
    const bin = path.join(dir, "bin");
    fs.mkdirSync(bin);
    const write = (name: string, body: string) => fs.writeFileSync(path.join(bin, name), `#!/bin/bash\necho "${name} $*" >> "${dir}/calls"\n${body}\n`, { mode: 0o755 });
    // gh run download RUN --repo R --name audit --dir audit: writes the artifact's files.
    write("gh", `mkdir -p audit && echo "${scannedDigest}" > audit/digest.txt`);
    write("skopeo", `printf '%s' '${manifest}'`);
    write("crane", `echo "${scannedDigest}"`);
    write("docker", `echo '"${scannedDigest}"'`);
    return bin;
  }

  function run(m: ResolvedMirror, scannedDigest?: string) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "verify-"));
    dirs.push(dir);
    const manifest = '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}';
    const digest = `sha256:${createHash("sha256").update(manifest).digest("hex")}`;
    fs.writeFileSync(
      path.join(dir, "image-pin.yml"),
      renderPinFile({
        image: m.image,
        digest,
        tag: "v2.2.4",
        upstream: { repo: m.upstream.fullName, commit: "a".repeat(40) },
        override: null,
        builtAt: "2026-11-20T02:13:00Z",
        scan: null,
        waiversApplied: [],
        attestations: [],
        runUrl: `https://github.com/${m.owner}/${m.repo}/actions/runs/123456789`,
      }),
    );
    const bin = stubs(dir, manifest, scannedDigest ?? digest);
    const r = spawnSync("bash", ["--noprofile", "--norc", "-eo", "pipefail", "-c", verifyScript(m)], {
      cwd: dir,
      encoding: "utf8",
      env: { PATH: `${bin}:${process.env.PATH}`, HOME: dir },
    });
    return { r, digest, calls: fs.readFileSync(path.join(dir, "calls"), "utf8").trim().split("\n") };
  }

  test("GIVEN the pin file the pipeline writes WHEN the README's commands run THEN the three digests are compared for the pinned digest", () => {
    const m = by("gokapi");
    const { r, digest, calls } = run(m);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split("\n"), [
      "pinned digest = scanned digest",
      `${digest.slice("sha256:".length)}  -`,
      digest,
      `"${digest}"`,
    ]);
    assert.deepEqual(calls, [
      "gh run download 123456789 --repo acme-corp/mirror-gokapi --name audit --dir audit",
      `skopeo inspect --raw docker://ghcr.io/acme-corp/gokapi@${digest}`,
      `crane digest ghcr.io/acme-corp/gokapi@${digest}`,
      `docker buildx imagetools inspect ghcr.io/acme-corp/gokapi@${digest} --format {{json .Manifest.Digest}}`,
    ]);
  });

  test("GIVEN an audit bundle that scanned another digest WHEN the README's commands run THEN it says MISMATCH", () => {
    const { r } = run(by("gokapi"), `sha256:${"f".repeat(64)}`);
    assert.equal(r.stdout.split("\n")[0], `MISMATCH: the run scanned sha256:${"f".repeat(64)}`);
    assert.doesNotMatch(r.stdout, /pinned digest = scanned digest/);
  });

  test("GIVEN a private mirror WHEN rendered THEN it says to log in, with a token that may read packages; a public one does not", () => {
    assert.match(renderReadme(by("gokapi")), /The image is private: log in with a token that may read packages \(`gh auth login` does not ask for it: `gh auth refresh --scopes read:packages` once\)/);
    assert.doesNotMatch(renderReadme(by("gokapi", "public")), /log in with/);
  });
});
