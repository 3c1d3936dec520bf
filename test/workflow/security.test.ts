/**
 * The security properties of the rendered workflow, asserted over the parsed
 * YAML, each with a test that fails when the property is broken:
 * permissions ({} on top, least privilege per job), pinned `uses:` with
 * version comments, persist-credentials: false, no `${{ }}` in run scripts,
 * timeouts, concurrency, no write token next to a scanner, the strict tag
 * check, the commit check, the verified Trivy install, and "what is scanned
 * is what is pushed".
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";
import { stringify } from "yaml";
import { PIPELINE_COMMAND, PIPELINE_REPOSITORY_NAME } from "../../components/pipeline-action";
import { ACTIONS } from "../../components/pins";
import { checkWorkflowSecurity, renderEffectiveWorkflow, SARIF_CATEGORIES, TAG_PATTERN } from "../../components/workflow";
import { trivyCertificateIdentity, TRIVY_OIDC_ISSUER } from "../../components/workflow/trivy";
import { toYaml } from "../../components/yaml";
import { allMirrors } from "./all-mirrors";
import { edgeMirrors, fixtureMirror, PIPELINE } from "./fixtures";
import { fakePipeline, git, job, jobs, parseWorkflow, runStep, step, stepIndex, steps, stub, tempDir, type Obj } from "./steps";

const gokapi = () => renderEffectiveWorkflow(fixtureMirror("gokapi"), PIPELINE);
const edge = (label: string) => {
  const e = edgeMirrors().find((x) => x.label.startsWith(label));
  if (!e) throw new Error(`no edge case ${label}`);
  return e.mirror;
};

/** Where gokapi's workflow sets up the fleet pipeline: one step per job that runs it. */
function pipelineSteps(): string[] {
  const doc = parseWorkflow(gokapi());
  return Object.entries(jobs(doc)).flatMap(([id, j]) =>
    (j.steps as Obj[]).flatMap((st, i) => (String(st.uses ?? "").startsWith(`${PIPELINE.repository}@`) ? [`jobs.${id}.steps[${i}]`] : [])),
  );
}

/** Parse, change, write back with the project's YAML writer (which re-adds pin comments). */
function mutate(text: string, change: (doc: Obj) => void): string {
  const doc = parseWorkflow(text);
  change(doc);
  return toYaml(doc);
}

describe("security properties hold for every rendered workflow", () => {
  for (const { label, mirror } of allMirrors()) {
    test(`GIVEN ${label} WHEN checked THEN no security finding`, () => {
      assert.deepEqual(checkWorkflowSecurity(renderEffectiveWorkflow(mirror, PIPELINE), { pipelineRepository: PIPELINE.repository }), []);
    });
  }
});

describe("each security check fails when its property is broken", () => {
  const checkoutSha = ACTIONS.checkout.sha;
  const cases: Array<[string, (t: string) => string, Array<{ rule: string; where: string; message: string }>]> = [
    [
      "top-level permissions removed",
      (t) => mutate(t, (d) => delete d.permissions),
      [{ rule: "top-permissions", where: "permissions", message: "must be {} (got null)" }],
    ],
    [
      "top-level permissions write-all",
      (t) => mutate(t, (d) => (d.permissions = "write-all")),
      [{ rule: "top-permissions", where: "permissions", message: 'must be {} (got "write-all")' }],
    ],
    [
      "a job without permissions",
      (t) => mutate(t, (d) => delete job(d, "pin").permissions),
      [{ rule: "job-permissions", where: "jobs.pin", message: "must state its permissions as a mapping (got null)" }],
    ],
    [
      "the scan job given issues: write",
      (t) => mutate(t, (d) => ((job(d, "build").permissions as Obj).issues = "write")),
      [{ rule: "scanner-with-write-token", where: "jobs.build", message: "runs a third-party scanner while holding a write token" }],
    ],
    [
      "the rescan job inheriting write-all",
      (t) =>
        mutate(t, (d) => {
          d.permissions = "write-all";
          delete job(d, "rescan").permissions;
        }),
      [
        { rule: "top-permissions", where: "permissions", message: 'must be {} (got "write-all")' },
        { rule: "job-permissions", where: "jobs.rescan", message: "must state its permissions as a mapping (got null)" },
        { rule: "scanner-with-write-token", where: "jobs.rescan", message: "runs a third-party scanner while holding a write token" },
      ],
    ],
    [
      "checkout without persist-credentials: false",
      (t) => mutate(t, (d) => delete (steps(d, "resolve")[0].with as Obj)["persist-credentials"]),
      [{ rule: "persist-credentials", where: "jobs.resolve.steps[0]", message: "checkout must set persist-credentials: false" }],
    ],
    [
      "an action pinned to a tag",
      (t) => mutate(t, (d) => (steps(d, "resolve")[0].uses = "actions/checkout@v7")),
      [{ rule: "pinned-uses", where: "jobs.resolve.steps[0]", message: "actions/checkout@v7 is not pinned to a 40-hex commit SHA" }],
    ],
    [
      "an action pinned to a SHA that is not in the table",
      (t) => mutate(t, (d) => (steps(d, "resolve")[0].uses = `actions/checkout@${"0".repeat(40)}`)),
      [{ rule: "pinned-uses", where: "jobs.resolve.steps[0]", message: `actions/checkout@${"0".repeat(40)} is not in the pin table (components/pins.ts)` }],
    ],
    [
      "a pinned action whose version comment is wrong",
      (t) => t.replace(`actions/checkout@${checkoutSha} # v7.0.1`, `actions/checkout@${checkoutSha} # v7`),
      [{ rule: "pinned-uses", where: "jobs.resolve.steps[0]", message: `actions/checkout@${checkoutSha} must carry the comment # v7.0.1 (got "v7")` }],
    ],
    [
      "an upstream tag expanded inside a run script",
      (t) => mutate(t, (d) => (step(d, "build", "Build once").run = 'echo "${{ needs.resolve.outputs.tag }}"\n')),
      [{ rule: "expression-in-run", where: `jobs.build.steps[${stepIndex(parseWorkflow(gokapi()), "build", "Build once")}]`, message: "run script holds ${{ }}; pass data through env:" }],
    ],
    [
      "the fleet pipeline pinned to a branch",
      (t) => t.replaceAll(`${PIPELINE.repository}@${PIPELINE.commit}`, `${PIPELINE.repository}@main`),
      pipelineSteps().map((where) => ({ rule: "pinned-uses", where, message: `${PIPELINE.repository}@main is not pinned to a 40-hex commit SHA` })),
    ],
    [
      "the fleet pipeline without the bundle's sha256",
      (t) => mutate(t, (d) => delete (steps(d, "resolve")[1].with as Obj)["bundle-sha256"]),
      [{ rule: "pinned-uses", where: "jobs.resolve.steps[1]", message: `${PIPELINE.repository}@${PIPELINE.commit} must be given bundle-sha256 (64 hex)` }],
    ],
    [
      "another owner's repository of the pipeline's name",
      (t) => t.replace(`uses: ${PIPELINE.repository}@`, `uses: someone-else/${PIPELINE_REPOSITORY_NAME}@`),
      [{ rule: "pinned-uses", where: "jobs.resolve.steps[1]", message: `someone-else/${PIPELINE_REPOSITORY_NAME}@${PIPELINE.commit} is not in the pin table (components/pins.ts)` }],
    ],
    [
      "a job without timeout-minutes",
      (t) => mutate(t, (d) => delete job(d, "publish")["timeout-minutes"]),
      [{ rule: "timeout", where: "jobs.publish", message: "must set timeout-minutes (got null)" }],
    ],
    [
      "concurrency that cancels a running build",
      (t) => mutate(t, (d) => ((d.concurrency as Obj)["cancel-in-progress"] = true)),
      [{ rule: "concurrency", where: "concurrency", message: "must set a group and cancel-in-progress: false, so two runs never race on one tag" }],
    ],
    [
      "no concurrency at all",
      (t) => mutate(t, (d) => delete d.concurrency),
      [{ rule: "concurrency", where: "concurrency", message: "must set a group and cancel-in-progress: false, so two runs never race on one tag" }],
    ],
  ];
  for (const [label, breakIt, expected] of cases) {
    test(`GIVEN gokapi's workflow with ${label} WHEN checked THEN exactly that is reported`, () => {
      assert.deepEqual(checkWorkflowSecurity(breakIt(gokapi()), { pipelineRepository: PIPELINE.repository }), expected);
    });
  }
});

describe("least privilege, job by job", () => {
  test("GIVEN gokapi (private, attestations off) WHEN rendered THEN each job holds exactly the scopes it needs", () => {
    const doc = parseWorkflow(gokapi());
    const perms = Object.fromEntries(Object.entries(jobs(doc)).map(([id, j]) => [id, j.permissions]));
    assert.deepEqual(perms, {
      resolve: { contents: "read" },
      review: { contents: "read" },
      "override-review": { contents: "read", issues: "write" },
      build: { contents: "read" },
      report: { actions: "read", contents: "read", "security-events": "write" },
      block: { contents: "read", issues: "write", "pull-requests": "write" },
      publish: { contents: "read", packages: "write" },
      pin: { contents: "write", "pull-requests": "write" },
      rescan: { contents: "read", packages: "read" },
      "rescan-report": { actions: "read", contents: "read", issues: "write", "security-events": "write" },
      health: { contents: "read", issues: "write" },
    });
    assert.deepEqual(doc.permissions, {});
  });

  test("GIVEN attestations on WHEN rendered THEN only publish gains id-token and attestations, and the notify job holds nothing but read", () => {
    const doc = parseWorkflow(renderEffectiveWorkflow(edge("attestations on"), PIPELINE));
    assert.deepEqual(job(doc, "publish").permissions, { attestations: "write", contents: "read", "id-token": "write", packages: "write" });
    assert.deepEqual(job(doc, "notify").permissions, { contents: "read" });
    const withIdToken = Object.entries(jobs(doc)).filter(([, j]) => (j.permissions as Obj)["id-token"]).map(([id]) => id);
    assert.deepEqual(withIdToken, ["publish"]);
  });

  test("GIVEN attestations off in the entry WHEN rendered THEN publish has no id-token, no attestation steps, and pin gets no attestation links", () => {
    const doc = parseWorkflow(renderEffectiveWorkflow(edge("attestations off in the entry"), PIPELINE));
    assert.deepEqual(job(doc, "publish").permissions, { contents: "read", packages: "write" });
    const usesKeys = steps(doc, "publish").map((s) => s.uses).filter(Boolean);
    assert.equal(usesKeys.some((u) => String(u).startsWith("actions/attest")), false);
    assert.doesNotMatch(String(step(doc, "pin", "pin").run), /--attestation/);
  });

  test("GIVEN a public mirror WHEN rendered THEN the SARIF jobs do not ask for actions: read and a failed upload fails the job", () => {
    const doc = parseWorkflow(renderEffectiveWorkflow(edge("multi-platform"), PIPELINE));
    assert.deepEqual(job(doc, "report").permissions, { contents: "read", "security-events": "write" });
    assert.equal(steps(doc, "report").some((s) => s["continue-on-error"] === true), false);
  });
});

describe("untrusted data: the strict tag check in resolve", () => {
  const doc = parseWorkflow(gokapi());
  const checked = step(doc, "resolve", "checked");
  const commit = "0123456789abcdef0123456789abcdef01234567";
  const run = (tag: string, lastTag = "") => runStep(checked, tempDir(), { BUILD: "true", TAG: tag, COMMIT: commit, LAST_TAG: lastTag });

  test("GIVEN the contract's pattern WHEN the workflow is rendered THEN the check uses exactly it", () => {
    assert.equal(TAG_PATTERN, "^[A-Za-z0-9][A-Za-z0-9._+/-]{0,127}$");
    assert.match(String(checked.run), new RegExp(`tag_pattern='${TAG_PATTERN.replace(/[\\^$.*+?()[\]{}|]/g, "\\$&")}'`));
  });

  const good = ["v2.2.4", "1.0-RC1", "1.3.8", "photos-v1.3.57", "release/2.0", "v1.2.3+build.7", "a".repeat(128)];
  for (const tag of good) {
    test(`GIVEN tag ${JSON.stringify(tag.length > 20 ? `${tag.slice(0, 8)}…(${tag.length})` : tag)} WHEN checked THEN it passes to the other jobs`, () => {
      const r = run(tag, "v2.2.3");
      assert.equal(r.status, 0, r.stderr + r.stdout);
      assert.deepEqual(r.outputs, { build: "true", tag, commit, last_tag: "v2.2.3" });
    });
  }

  const bad = ["v1;rm -rf /", "$(id)", "`id`", "a|b", "-rf", "v1 2", "../etc", "v1\nbuild=true", "a".repeat(129), "tag'quote", ""];
  for (const tag of bad) {
    test(`GIVEN tag ${JSON.stringify(tag.length > 20 ? `${tag.slice(0, 8)}…(${tag.length})` : tag)} WHEN checked THEN the run stops and no output carries it`, () => {
      const r = run(tag);
      assert.equal(r.status, 1);
      assert.match(r.stdout, /::error::resolve: the tag does not match/);
      assert.deepEqual(r.outputs, {});
    });
  }

  test("GIVEN a pinned tag outside the pattern WHEN checked THEN the run stops", () => {
    const r = run("v2.2.4", "v1;id");
    assert.equal(r.status, 1);
    assert.match(r.stdout, /::error::image-pin\.yml: the pinned tag does not match/);
  });

  test("GIVEN a commit that is not a full SHA WHEN checked THEN the run stops", () => {
    const r = runStep(checked, tempDir(), { BUILD: "true", TAG: "v1.0.0", COMMIT: "abc123", LAST_TAG: "" });
    assert.equal(r.status, 1);
    assert.match(r.stdout, /::error::resolve: the commit is not a full SHA/);
  });

  test("GIVEN nothing to build WHEN checked THEN only build=false goes out", () => {
    const r = runStep(checked, tempDir(), { BUILD: "false", TAG: "$(id)", COMMIT: "", LAST_TAG: "" });
    assert.equal(r.status, 0);
    assert.deepEqual(r.outputs, { build: "false" });
  });

  test("GIVEN the resolve job WHEN read THEN the tag, commit and last tag it hands on come from the checked step only", () => {
    assert.deepEqual(job(doc, "resolve").outputs, {
      build: "${{ steps.checked.outputs.build }}",
      tag: "${{ steps.checked.outputs.tag }}",
      commit: "${{ steps.checked.outputs.commit }}",
      last_tag: "${{ steps.checked.outputs.last_tag }}",
      reason: "${{ steps.resolve.outputs.reason }}",
    });
  });

  test("GIVEN every ${{ needs.<job>.outputs.<name> }} in the workflow WHEN read THEN the job declares that output", () => {
    const refs = [...stringify(doc).matchAll(/needs\.([A-Za-z0-9_-]+)\.outputs\.([A-Za-z0-9_-]+)/g)];
    assert.ok(refs.length > 10);
    for (const [, j, name] of refs) {
      assert.ok(Object.keys((job(doc, j).outputs as Obj) ?? {}).includes(name), `needs.${j}.outputs.${name} is not declared`);
    }
  });
});

describe("the build uses the resolved commit", () => {
  function upstreamRepo(): { url: string; dir: string; commit: string } {
    const dir = tempDir("mirror-upstream-");
    git(dir, "init", "--quiet", "--initial-branch=main");
    fs.writeFileSync(path.join(dir, "Dockerfile"), "FROM scratch\n");
    git(dir, "add", ".");
    git(dir, "commit", "--quiet", "-m", "one");
    git(dir, "tag", "-a", "v1.0.0", "-m", "v1.0.0");
    return { url: `file://${dir}`, dir, commit: git(dir, "rev-parse", "HEAD") };
  }

  test("GIVEN the tag still names the resolved commit WHEN the build fetches upstream THEN the work tree is that commit", () => {
    const up = upstreamRepo();
    const ws = tempDir();
    const r = runStep(step(parseWorkflow(gokapi()), "build", "Fetch upstream"), ws, { UPSTREAM_URL: up.url, TAG: "v1.0.0", COMMIT: up.commit });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(git(path.join(ws, "upstream"), "rev-parse", "HEAD"), up.commit);
  });

  test("GIVEN the tag was moved after resolve WHEN the build fetches upstream THEN nothing is built", () => {
    const up = upstreamRepo();
    fs.writeFileSync(path.join(up.dir, "Dockerfile"), "FROM alpine\n");
    git(up.dir, "commit", "--quiet", "-am", "moved");
    git(up.dir, "tag", "-f", "-a", "v1.0.0", "-m", "moved");
    const r = runStep(step(parseWorkflow(gokapi()), "build", "Fetch upstream"), tempDir(), { UPSTREAM_URL: up.url, TAG: "v1.0.0", COMMIT: up.commit });
    assert.equal(r.status, 1);
    assert.match(r.stdout, new RegExp(`::error::the upstream tag no longer points to the resolved commit ${up.commit}; nothing is built`));
  });

  test("GIVEN the review job WHEN it clones THEN it checks the same tag -> commit", () => {
    const up = upstreamRepo();
    const ws = tempDir();
    const r = runStep(step(parseWorkflow(gokapi()), "review", "Clone upstream"), ws, { UPSTREAM_URL: up.url, TAG: "v1.0.0", COMMIT: "f".repeat(40) });
    assert.equal(r.status, 1);
  });
});

describe("Trivy is installed by version and verified by signature before it runs", () => {
  const version = fixtureMirror("gokapi").trivyVersion;

  /** A fake release: tarball with a `trivy` script, checksums, bundle; curl serves it, cosign answers as told. */
  function fakeRelease(opts: { cosignOk: boolean; tamper?: boolean }): { bin: string } {
    const root = tempDir("mirror-release-");
    const rel = path.join(root, "release");
    fs.mkdirSync(rel);
    const pkg = path.join(root, "pkg");
    stub(pkg, "trivy", 'echo "Version: fake"');
    const tarball = `trivy_${version}_Linux-64bit.tar.gz`;
    const tar = spawnSync("tar", ["-czf", path.join(rel, tarball), "-C", pkg, "trivy"]);
    assert.equal(tar.status, 0);
    const sum = createHash("sha256").update(fs.readFileSync(path.join(rel, tarball))).digest("hex");
    fs.writeFileSync(path.join(rel, `trivy_${version}_checksums.txt`), `${"0".repeat(64)}  trivy_${version}_Linux-ARM64.tar.gz\n${sum}  ${tarball}\n`);
    fs.writeFileSync(path.join(rel, `trivy_${version}_checksums.txt.sigstore.json`), "{}\n");
    if (opts.tamper) fs.appendFileSync(path.join(rel, tarball), "x");
    const bin = path.join(root, "bin");
    // curl --output FILE URL: copy the release asset named by the URL's last segment.
    stub(bin, "curl", `out=""; url=""; while [ $# -gt 0 ]; do case "$1" in --output) out="$2"; shift 2;; --*) shift;; *) url="$1"; shift;; esac; done; cp "${rel}/\${url##*/}" "$out"`);
    stub(
      bin,
      "cosign",
      `echo "cosign $*" >> "${root}/cosign.log"; [ "$1" = verify-blob ] && [ "$3" = --bundle ] || exit 9; ${opts.cosignOk ? "exit 0" : 'echo "error: none of the expected identities matched" >&2; exit 1'}`,
    );
    return { bin };
  }

  const install = () => step(parseWorkflow(gokapi()), "build", `Install Trivy ${version}`);

  test("GIVEN a release whose signature verifies WHEN installed THEN cosign checked the checksums against Trivy's release identity, the tarball matched, and trivy is on PATH", () => {
    const { bin } = fakeRelease({ cosignOk: true });
    const s = install();
    const runnerTemp = tempDir("mirror-runner-temp-");
    const r = runStep(s, tempDir(), { ...(s.env as Record<string, string>), RUNNER_TEMP: runnerTemp }, [bin]);
    assert.equal(r.status, 0, r.stderr + r.stdout);
    assert.deepEqual(r.paths, [path.join(runnerTemp, "trivy")]);
    assert.equal(r.paths.length, 1);
    assert.ok(fs.existsSync(path.join(r.paths[0], "trivy")));
    const log = fs.readFileSync(path.join(bin, "..", "cosign.log"), "utf8");
    assert.equal(
      log.trim(),
      `cosign verify-blob trivy_${version}_checksums.txt --bundle trivy_${version}_checksums.txt.sigstore.json --certificate-oidc-issuer ${TRIVY_OIDC_ISSUER} --certificate-identity ${trivyCertificateIdentity(version)}`,
    );
    assert.equal(trivyCertificateIdentity(version), `https://github.com/aquasecurity/trivy/.github/workflows/reusable-release.yaml@refs/tags/v${version}`);
  });

  test("GIVEN a release whose signature does not verify WHEN installed THEN the step fails and trivy is not put on PATH", () => {
    const { bin } = fakeRelease({ cosignOk: false });
    const s = install();
    const r = runStep(s, tempDir(), s.env as Record<string, string>, [bin]);
    assert.equal(r.status, 1);
    assert.deepEqual(r.paths, []);
  });

  test("GIVEN a tarball that does not match the signed checksums WHEN installed THEN the step fails and trivy is not put on PATH", () => {
    const { bin } = fakeRelease({ cosignOk: true, tamper: true });
    const s = install();
    const r = runStep(s, tempDir(), s.env as Record<string, string>, [bin]);
    assert.equal(r.status, 1);
    assert.deepEqual(r.paths, []);
  });

  for (const [jobId] of [["build"], ["rescan"]]) {
    test(`GIVEN the ${jobId} job WHEN read THEN cosign is installed and Trivy verified before the first trivy command, and no DB comes from the Actions cache`, () => {
      const doc = parseWorkflow(gokapi());
      const all = steps(doc, jobId);
      // The pipeline's scan command runs Trivy too.
      const firstTrivy = all.findIndex((s) => typeof s.run === "string" && (/^\s*trivy /m.test(s.run) || s.run.includes(`${PIPELINE_COMMAND} scan `)));
      const cosign = all.findIndex((s) => s.uses === `${ACTIONS.cosignInstaller.uses}@${ACTIONS.cosignInstaller.sha}`);
      const verified = all.findIndex((s) => String(s.name).startsWith(`Install Trivy ${version}`));
      const cache = all.findIndex((s) => s.uses === `${ACTIONS.cache.uses}@${ACTIONS.cache.sha}`);
      assert.ok(cosign >= 0 && cosign < verified && verified < firstTrivy, `${cosign} ${verified} ${firstTrivy}`);
      // test/adversarial/workflow-cache.test.ts says why.
      assert.equal(cache, -1);
    });
  }
});

describe("what is scanned is what is pushed", () => {
  const doc = parseWorkflow(gokapi());
  test("GIVEN the build job WHEN read THEN the digest, the image scan and the uploaded artifact all use the one archive, built once", () => {
    assert.match(String(step(doc, "build", "digest").run), /publish --archive image\.tar --print-digest/);
    assert.ok(String(step(doc, "build", "Scan every platform").run).includes(`${PIPELINE_COMMAND} scan `));
    assert.match(String(step(doc, "build", "Scan every platform").run), / scan .* --archive image\.tar .*--out audit /);
    const upload = step(doc, "build", "Upload the scanned image archive");
    assert.deepEqual([(upload.with as Obj).name, (upload.with as Obj).path, upload.if], ["image", "image.tar", "${{ steps.gate.outputs.verdict == 'pass' }}"]);
    assert.equal(job(doc, "build").outputs && (job(doc, "build").outputs as Obj).digest, "${{ steps.image.outputs.digest }}");
  });

  test("GIVEN the publish job WHEN read THEN it pushes that artifact with the scanned digest, and pin pins what the registry confirmed", () => {
    const dl = step(doc, "publish", "Download the image");
    assert.deepEqual(dl.with, { name: "image", path: "image-artifact" });
    const pub = step(doc, "publish", "publish");
    assert.equal((pub.env as Obj).DIGEST, "${{ needs.build.outputs.digest }}");
    assert.match(String(pub.run), /publish --archive image-artifact\/image\.tar --image "\$IMAGE" --tag "\$TAG" --digest "\$DIGEST"/);
    assert.equal((step(doc, "pin", "pin").env as Obj).DIGEST, "${{ needs.publish.outputs.digest }}");
  });

  test("GIVEN a blocked gate WHEN the build ends THEN no image artifact exists for publish, and publish and pin need a pass", () => {
    assert.match(String(job(doc, "publish").if), /needs\.build\.outputs\.decision == 'pass'/);
    assert.match(String(job(doc, "pin").if), /needs\.publish\.result == 'success'/);
  });

  test("GIVEN the gate step WHEN the gate exits 0, 1 or 2 THEN only 0 passes (fail closed)", () => {
    const gate = step(doc, "build", "gate");
    for (const [code, verdict] of [[0, "pass"], [1, "block"], [2, "block"], [3, "block"]] as const) {
      const ws = tempDir();
      fs.mkdirSync(path.join(ws, "audit"));
      const r = runStep(gate, ws, fakePipeline(`process.stdout.write("{}\\n"); process.exit(${code});\n`));
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.outputs.verdict, verdict, `exit ${code}`);
      assert.equal(r.outputs.scanned, "true");
    }
  });

  test("GIVEN the review step WHEN review exits 1 (drift) THEN the job goes on; WHEN it exits 2 THEN the job fails", () => {
    const review = step(doc, "review", "review");
    for (const [code, status] of [[0, 0], [1, 0], [2, 2]] as const) {
      const ws = tempDir();
      assert.equal(runStep(review, ws, { TAG: "v1", LAST_TAG: "", WATCH: "Dockerfile", ...fakePipeline(`process.exit(${code});\n`) }).status, status, `exit ${code}`);
    }
  });
});

describe("the build step passes data as arguments, never as shell text", () => {
  test("GIVEN fleet build args with shell metacharacters WHEN the build step runs THEN docker gets each as one literal argument, VERSION is the tag, and the archive is the output", () => {
    const base = fixtureMirror("plik");
    const m = { ...base, build: { ...base.build, args: { EVIL: "$(touch pwned) `id` ; x", PLAIN: "a b" } } };
    const s = step(parseWorkflow(renderEffectiveWorkflow(m, PIPELINE)), "build", "Build once");
    const ws = tempDir();
    const bin = path.join(ws, "bin");
    stub(bin, "docker", 'printf "%s\\n" "$@" > docker.args');
    const r = runStep(s, ws, { ...(s.env as Record<string, string>), TAG: "v1.2.3", COMMIT: "c".repeat(40) }, [bin]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(fs.existsSync(path.join(ws, "pwned")), false);
    assert.deepEqual(fs.readFileSync(path.join(ws, "docker.args"), "utf8").split("\n").slice(0, -1), [
      "buildx",
      "build",
      "--platform",
      "linux/amd64",
      "--file",
      "build.Dockerfile",
      "--build-arg",
      "VERSION=v1.2.3",
      "--label",
      "org.opencontainers.image.source=https://github.com/acme-corp/mirror-test",
      "--label",
      `org.opencontainers.image.revision=${"c".repeat(40)}`,
      "--label",
      "org.opencontainers.image.version=v1.2.3",
      "--provenance=false",
      "--sbom=false",
      "--output",
      "type=oci,dest=image.tar",
      "--build-arg",
      "EVIL=$(touch pwned) `id` ; x",
      "--build-arg",
      "PLAIN=a b",
      "upstream",
    ]);
  });
});

describe("the rescan reads image-pin.yml strictly and never builds or pushes", () => {
  const doc = parseWorkflow(gokapi());
  const read = step(doc, "rescan", "pin");
  const digest = `sha256:${"ab".repeat(32)}`;
  const cases: Array<[string, string | null, number, Record<string, string>]> = [
    ["plain keys", `# generated\nimage: ghcr.io/acme-corp/gokapi\ntag: v2.2.4\ndigest: ${digest}\n`, 0, { pinned: "true", digest, tag: "v2.2.4", commit: "" }],
    ["quoted values", `tag: "v2.2.4"\ndigest: '${digest}'\n`, 0, { pinned: "true", digest, tag: "v2.2.4", commit: "" }],
    ["no file yet", null, 0, { pinned: "false" }],
    ["a short digest", `tag: v2.2.4\ndigest: sha256:abc\n`, 1, {}],
    ["a tag with a shell metacharacter", `tag: v1;id\ndigest: ${digest}\n`, 1, {}],
  ];
  for (const [label, content, status, outputs] of cases) {
    test(`GIVEN image-pin.yml with ${label} WHEN read THEN exit ${status}`, () => {
      const ws = tempDir();
      if (content !== null) fs.writeFileSync(path.join(ws, "image-pin.yml"), content);
      const r = runStep(read, ws, {});
      assert.equal(r.status, status, r.stderr + r.stdout);
      assert.deepEqual(r.outputs, outputs);
    });
  }

  for (const tag of ["v2.2.4", "1.3.8"]) {
    test(`GIVEN image-pin.yml as the pipeline's pin step writes it (tag ${tag}) WHEN read THEN the digest and tag come out`, async () => {
      // Imported here: the writer belongs to the pipeline; only this test depends on it.
      const { renderPinFile } = await import("../../pipeline/lib/pin");
      const ws = tempDir();
      const pin = renderPinFile({
        image: "ghcr.io/acme-corp/gokapi",
        digest,
        tag,
        upstream: { repo: "Forceu/Gokapi", commit: "c".repeat(40) },
        override: { path: "dockerfiles/Dockerfile.override", sha256: "d".repeat(64), source: "mirrors/gokapi.Dockerfile", sourceSha256: "e".repeat(64) },
        builtAt: "2026-11-23T02:03:00Z",
        scan: { critical: 0, high: 1, medium: 2, low: 3, unknown: 0, blocking: 0 },
        waiversApplied: [{ id: "CVE-2026-34986", reason: "tag: not-this-one", expires: "2027-02-28" }],
        attestations: [],
        runUrl: null,
      });
      fs.writeFileSync(path.join(ws, "image-pin.yml"), pin);
      const r = runStep(read, ws, {});
      assert.equal(r.status, 0, r.stderr + r.stdout);
      assert.deepEqual(r.outputs, { pinned: "true", digest, tag, commit: "c".repeat(40) });
    });
  }

  test("GIVEN the rescan jobs WHEN read THEN none holds packages: write, none builds, publishes or pins", () => {
    for (const id of ["rescan", "rescan-report"]) {
      const j = job(doc, id);
      assert.notEqual((j.permissions as Obj).packages, "write");
      for (const s of j.steps as Obj[]) {
        assert.doesNotMatch(String(s.run ?? ""), /docker|buildx|pipeline\.cjs (publish|pin)\b/);
      }
    }
  });
});

describe("reporting", () => {
  test("GIVEN the SARIF uploads WHEN read THEN each platform's image scan, the filesystem and each platform's rescan have distinct categories", () => {
    const doc = parseWorkflow(gokapi());
    const categories = Object.values(jobs(doc))
      .flatMap((j) => j.steps as Obj[])
      .filter((s) => s.uses === `${ACTIONS.uploadSarif.uses}@${ACTIONS.uploadSarif.sha}`)
      .map((s) => [(s.with as Obj).sarif_file, (s.with as Obj).category]);
    const slugs = fixtureMirror("gokapi").build.platforms.map((p) => p.replace("/", "-"));
    assert.deepEqual(categories, [
      ...slugs.map((s) => [`audit/trivy-image-${s}.sarif`, `${SARIF_CATEGORIES.image}-${s}`]),
      ["audit/trivy-fs.sarif", SARIF_CATEGORIES.filesystem],
      ...slugs.map((s) => [`rescan/trivy-image-${s}.sarif`, `${SARIF_CATEGORIES.rescan}-${s}`]),
    ]);
    assert.equal(new Set(Object.values(SARIF_CATEGORIES)).size, 3);
  });
});
