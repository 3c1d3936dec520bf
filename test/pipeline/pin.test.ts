/**
 * `pin` against the GitHub stand-in: image-pin.yml committed with the contents
 * API on mirror-build/<tag>, the pull request opened once and updated after,
 * older pin pull requests superseded, and re-runs that write nothing.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { test } from "node:test";
import { parse } from "yaml";
import type { MirrorConfig } from "../../components/mirror-config";
import { toYaml } from "../../components/yaml";
import { main } from "../../pipeline/main";
import { readPinnedTag } from "../../pipeline/lib/tags";
import { parseYaml } from "../../pipeline/lib/yaml";
import { captureIo, runPipelineCommand, withCheckedStandIn, type GitHubStandIn } from "../support/github-standin";

const REPO = "acme/mirror-gokapi";
const digest = (s: string) => `sha256:${createHash("sha256").update(s).digest("hex")}`;
const commit = (s: string) => createHash("sha1").update(s).digest("hex");
const OVERRIDE_SHA = createHash("sha256").update("# generated\nFROM scratch\n").digest("hex");
/** The fleet repository's file: it hashes differently from the built file above (no header). */
const SOURCE_SHA = createHash("sha256").update("FROM scratch\n").digest("hex");

const CONFIG: MirrorConfig = {
  schema: 1,
  name: "gokapi",
  repository: REPO,
  upstream: { repo: "Forceu/Gokapi", url: "https://github.com/Forceu/Gokapi", license: "AGPL-3.0", tags: { range: "*", prerelease: false, prefix: "" } },
  image: "ghcr.io/acme/gokapi",
  override: {
    path: "dockerfiles/Dockerfile.override",
    source: "mirrors/gokapi.Dockerfile",
    sha256: OVERRIDE_SHA,
    sourceSha256: SOURCE_SHA,
    basePins: [`gcr.io/distroless/static-debian12@sha256:${"a".repeat(64)}`],
  },
  build: { args: {}, platforms: ["linux/amd64"], dockerfile: "Dockerfile", context: "." },
  watch: ["Dockerfile"],
  gate: { severities: ["CRITICAL", "HIGH"], fixedOnly: true, waivers: ".trivyignore.yaml" },
  health: { maxDaysSinceCommit: 180, maxDaysSinceRelease: 365 },
  attestations: true,
  reviewers: [],
};

/** A passing gate result: the waived finding is real (gomod.json), the reason is the mirror's. */
const PASS = {
  decision: "pass",
  unusable: [],
  blocking: [],
  waived: [
    {
      id: "CVE-2022-23628",
      severity: "HIGH",
      package: "github.com/open-policy-agent/opa",
      installed: "v0.35.0",
      fixed: "0.37.0",
      target: "go.mod",
      purl: "pkg:golang/github.com/open-policy-agent/opa@v0.35.0",
      statement: "OPA is linked but never evaluates policies from users",
      expiredAt: "2026-06-30",
    },
  ],
  expiredWaivers: [],
  counts: { findings: 4, bySeverity: { CRITICAL: 0, HIGH: 1, MEDIUM: 2, LOW: 1, UNKNOWN: 0 }, blocking: 0, waived: 1 },
};

class World {
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), "pin-test-"));
  private n = 0;
  constructor(readonly s: GitHubStandIn) {
    fs.mkdirSync(path.join(this.dir, ".mirror"));
    fs.writeFileSync(path.join(this.dir, ".mirror/config.yml"), `# generated\n${toYaml(CONFIG)}`);
  }

  file(name: string, content: unknown): string {
    const p = path.join(this.dir, `${this.n++}-${name}`);
    fs.writeFileSync(p, typeof content === "string" ? content : JSON.stringify(content));
    return p;
  }

  async run(args: string[]) {
    return runPipelineCommand(this.s, REPO, this.dir, ["pin", ...args], { MIRROR_BUILT_AT: "2026-03-11T02:14:00Z" });
  }

  /** Runs twice: the second run must say unchanged and write nothing. */
  async twice(args: string[]) {
    const first = await this.run(args);
    assert.equal(first.code, 0, first.err);
    const again = await this.run(args);
    assert.equal(again.code, 0, again.err);
    assert.deepEqual(again.writes, [], `re-running pin ${args.join(" ")} wrote again`);
    assert.equal(again.json.action, "unchanged");
    assert.equal(again.json.number, first.json.number);
    return first;
  }

  pin(tag: string, build: string, extra: string[] = []) {
    return [
      "--digest", digest(build), "--tag", tag, "--commit", commit(tag),
      "--gate-json", this.file("gate.json", PASS),
      "--run-url", "https://github.com/acme/mirror-gokapi/actions/runs/42",
      ...extra,
    ];
  }
}

async function withWorld(f: (w: World) => Promise<void>): Promise<void> {
  await withCheckedStandIn(REPO, async (s) => {
    const w = new World(s);
    try {
      await f(w);
    } finally {
      fs.rmSync(w.dir, { recursive: true, force: true });
    }
  });
}

/** The fleet pipeline the workflow ran (its `uses:`), recorded with the pin: one hop from the image to the code that built it. */
const PIPELINE_COMMIT = "4b825dc642cb6eb9a060e54bf8d69288fbee4904";

const EXPECTED_PIN = `# WRITTEN by the mirror pipeline (\`pin\` step of the mirror workflow), never by Pulumi: \`pulumi up\` does not touch this file.
# It records the image that was built once, scanned and pushed for one upstream tag: \`ref\` is exactly the scanned digest.
# A pull request from branch mirror-build/<tag> changes it; merging that pull request is the rollout (Flux or Argo CD deploy \`ref\`).
# Do not edit by hand: the next passing build replaces it.
schema: 1
image: ghcr.io/acme/gokapi
digest: ${digest("build-1")}
ref: ghcr.io/acme/gokapi@${digest("build-1")}
tag: v2.2.4
upstream:
  repo: Forceu/Gokapi
  commit: "${commit("v2.2.4")}"
dockerfile_source: override
override_path: dockerfiles/Dockerfile.override
override_sha256: "${OVERRIDE_SHA}"
override_source: mirrors/gokapi.Dockerfile
override_source_sha256: "${SOURCE_SHA}"
built_at: "2026-03-11T02:14:00Z"
scan:
  critical: 0
  high: 1
  medium: 2
  low: 1
  unknown: 0
  blocking: 0
waivers_applied:
  - id: CVE-2022-23628
    reason: "OPA is linked but never evaluates policies from users"
    expires: "2026-06-29"
attestations:
  - https://github.com/acme/mirror-gokapi/attestations/1
signature: null
run_url: https://github.com/acme/mirror-gokapi/actions/runs/42
pipeline: acme/mirror-fleet-pipeline@${PIPELINE_COMMIT}
`;

test("GIVEN a passing build WHEN `pin` runs THEN image-pin.yml is committed on mirror-build/<tag> and one pull request is opened; a re-run writes nothing", async () => {
  await withWorld(async (w) => {
    const { s } = w;
    const review = w.file("diff-review.md", "No watched file changed between v2.2.3 and v2.2.4.\n");
    const r = await w.twice(
      w.pin("v2.2.4", "build-1", [
        "--attestation", "https://github.com/acme/mirror-gokapi/attestations/1",
        "--sarif-url", "https://github.com/acme/mirror-gokapi/security/code-scanning",
        "--review-file", review,
        "--pipeline", `acme/mirror-fleet-pipeline@${PIPELINE_COMMIT}`,
      ]),
    );
    assert.deepEqual(r.json, {
      action: "created",
      number: 1,
      url: "https://github.com/acme/mirror-gokapi/pull/1",
      branch: "mirror-build/v2.2.4",
      superseded: [],
    });
    assert.deepEqual(r.outputs, { pr_url: "https://github.com/acme/mirror-gokapi/pull/1", pr_number: "1", action: "created" });
    // The repository had no mirror-build label: the pin job (pull-requests: write) made it first.
    assert.deepEqual(r.writes, ["git/create-ref", "repos/create-or-update-file-contents", "repos/create-or-update-file-contents", "pulls/create", "issues/create-label", "issues/add-labels"]);
    assert.deepEqual([s.repo(REPO).labels.get("mirror-build")].map((l) => [l?.name, l?.color, l?.description]), [["mirror-build", "0e8a16", "Pull request pinning a newly built digest"]]);
    assert.deepEqual(s.branches(REPO).sort(), ["main", "mirror-build/v2.2.4"]);

    const text = s.readFile(REPO, "mirror-build/v2.2.4", "image-pin.yml")!;
    assert.equal(text, EXPECTED_PIN);
    // Every reader gets the same document: the yaml package, the pipeline's own reader, resolve's `tag:`.
    assert.deepEqual(parseYaml(text, "image-pin.yml"), parse(text));
    const pinFile = w.file("image-pin.yml", text);
    assert.equal(readPinnedTag(pinFile), "v2.2.4");
    assert.equal(s.history(REPO, "mirror-build/v2.2.4").length, 3, "two commits on top of main: image-pin.yml, deploy/kustomization.yaml");

    const [pr] = s.pulls(REPO);
    assert.equal(pr.issue.title, `Pin v2.2.4 (${digest("build-1").slice(0, 19)}…)`);
    assert.deepEqual(pr.issue.labels, ["mirror-build"]);
    const body = pr.issue.body!;
    for (const expected of [
      `| Image | \`ghcr.io/acme/gokapi@${digest("build-1")}\` |`,
      `| Upstream | \`Forceu/Gokapi\`: \`v2.2.4\` \`${commit("v2.2.4").slice(0, 12)}\` (first pinned build) |`,
      `| Dockerfile | \`dockerfiles/Dockerfile.override\` (built), sha256 \`${OVERRIDE_SHA}\`; from \`mirrors/gokapi.Dockerfile\` in the fleet repository, source sha256 \`${SOURCE_SHA}\` |`,
      "| 0 | 1 | 2 | 1 | 0 | 0 |",
      "- `CVE-2022-23628`: `OPA is linked but never evaluates policies from users` (through `2026-06-29`)",
      "- [Workflow run](https://github.com/acme/mirror-gokapi/actions/runs/42)",
      `- Pipeline: \`acme/mirror-fleet-pipeline@${PIPELINE_COMMIT}\``,
      "- [SARIF](https://github.com/acme/mirror-gokapi/security/code-scanning)",
      "- [Attestation 1](https://github.com/acme/mirror-gokapi/attestations/1)",
      "<details><summary>Upstream diff review</summary>\n\nNo watched file changed between v2.2.3 and v2.2.4.\n\n</details>",
    ]) {
      assert.ok(body.includes(expected), `PR body lacks: ${expected}\n---\n${body}`);
    }
  });
});

test("GIVEN an open pin pull request WHEN the same tag is pinned with a new digest THEN one commit is added and the pull request updated, nothing created", async () => {
  await withWorld(async (w) => {
    const { s } = w;
    await w.twice(w.pin("v2.2.4", "build-1"));
    const r = await w.twice(w.pin("v2.2.4", "build-2"));
    assert.equal(r.json.action, "updated");
    assert.equal(r.json.number, 1);
    assert.deepEqual(r.writes, ["repos/create-or-update-file-contents", "repos/create-or-update-file-contents", "pulls/update"]);
    assert.equal(s.pulls(REPO).length, 1);
    assert.equal(s.history(REPO, "mirror-build/v2.2.4").length, 5, "main, the first pin (two files), the new digest (two files)");
    assert.match(s.readFile(REPO, "mirror-build/v2.2.4", "image-pin.yml")!, new RegExp(`^digest: ${digest("build-2")}$`, "m"));
    assert.equal(s.pulls(REPO)[0].issue.title, `Pin v2.2.4 (${digest("build-2").slice(0, 19)}…)`);
  });
});

test("GIVEN a merged pin WHEN newer tags are pinned THEN the body shows the upstream range, and an open pull request of an older tag is closed as superseded", async () => {
  await withWorld(async (w) => {
    const { s } = w;
    await w.twice(w.pin("v2.2.4", "build-1"));
    s.mergePull(REPO, 1);
    // Already on main: nothing to propose.
    const again = await w.run(w.pin("v2.2.4", "build-1"));
    assert.deepEqual(again.json, { action: "unchanged", number: 1, url: "https://github.com/acme/mirror-gokapi/pull/1", branch: "mirror-build/v2.2.4", superseded: [] });
    assert.deepEqual(again.writes, []);

    const second = await w.twice(w.pin("v2.2.5", "build-5"));
    assert.equal(second.json.action, "created");
    assert.equal(second.json.number, 2);
    assert.ok(
      s.pulls(REPO)[1].issue.body!.includes(
        `| Upstream | \`Forceu/Gokapi\`: \`v2.2.4\` \`${commit("v2.2.4").slice(0, 12)}\` → \`v2.2.5\` \`${commit("v2.2.5").slice(0, 12)}\` ` +
          `([compare](https://github.com/Forceu/Gokapi/compare/${commit("v2.2.4")}...${commit("v2.2.5")})) |`,
      ),
    );
    assert.ok(s.pulls(REPO)[1].issue.body!.includes(`| Replaces | \`${digest("build-1")}\` |`));

    const third = await w.twice(w.pin("v2.2.6", "build-6"));
    assert.deepEqual(third.json.superseded, [2]);
    assert.deepEqual(third.writes, ["git/create-ref", "repos/create-or-update-file-contents", "repos/create-or-update-file-contents", "pulls/create", "issues/add-labels", "issues/create-comment", "pulls/update"]);
    const pulls = s.pulls(REPO);
    assert.deepEqual(pulls.map((p) => [p.number, p.head, p.issue.state, p.merged]), [
      [1, "mirror-build/v2.2.4", "closed", true],
      [2, "mirror-build/v2.2.5", "closed", false],
      [3, "mirror-build/v2.2.6", "open", false],
    ]);
    assert.deepEqual(s.comments(REPO, 2).map((c) => c.body.replace(/\n\n<!-- mirror-fleet:write [0-9a-f-]{36} -->\n$/, "")), [
      "Superseded by #3 (`v2.2.6`): a newer upstream tag was built. Closed by the mirror pipeline.",
    ]);

    // A manual build of an older tag does not close the newer pull request.
    const older = await w.run(w.pin("v2.2.3", "build-3"));
    assert.equal(older.json.action, "created");
    assert.deepEqual(older.json.superseded, []);
    assert.equal(s.issue(REPO, 3).state, "open");
  });
});

test("GIVEN a pin pull request a human closed WHEN the same pin is proposed THEN it stays closed; a new digest opens a fresh one from the base", async () => {
  await withWorld(async (w) => {
    const { s } = w;
    await w.twice(w.pin("v2.2.4", "build-1"));
    s.closeIssue(REPO, 1);
    for (let i = 0; i < 2; i++) {
      const same = await w.run(w.pin("v2.2.4", "build-1"));
      assert.deepEqual(same.json, { action: "declined", number: 1, url: "https://github.com/acme/mirror-gokapi/pull/1", branch: "mirror-build/v2.2.4", superseded: [], closedBy: "alice" });
      assert.deepEqual(same.writes, []);
      assert.match(same.err, /pull request #1 for sha256:[0-9a-f]{64} was closed without merging by alice; it stays closed/);
    }

    const fresh = await w.twice(w.pin("v2.2.4", "build-2"));
    assert.equal(fresh.json.action, "created");
    assert.equal(fresh.json.number, 2);
    assert.deepEqual(fresh.writes, ["git/update-ref", "repos/create-or-update-file-contents", "repos/create-or-update-file-contents", "pulls/create", "issues/add-labels"]);
    assert.equal(s.history(REPO, "mirror-build/v2.2.4").length, 3, "the branch starts again from main: one change (image-pin.yml and deploy/kustomization.yaml)");
    assert.deepEqual(s.branches(REPO).sort(), ["main", "mirror-build/v2.2.4"]);
  });
});

test("GIVEN bad input or a blocked gate WHEN `pin` runs THEN exit 2 naming the problem, and no request", async () => {
  await withWorld(async (w) => {
    const blocked = w.file("gate.json", { ...PASS, decision: "block", blocking: [PASS.waived[0]] });
    const cases: Array<{ args: string[]; message: string }> = [
      { args: ["--digest", "sha256:abc", "--tag", "v1", "--commit", commit("x"), "--gate-json", blocked], message: 'pin: --digest: "sha256:abc" is not allowed (allowed: sha256:<64 lowercase hex>)' },
      { args: ["--digest", digest("x"), "--tag", "v1$(id)", "--commit", commit("x"), "--gate-json", blocked], message: 'pin: --tag "v1$(id)" is not allowed' },
      { args: ["--digest", digest("x"), "--tag", "v1", "--commit", "HEAD", "--gate-json", blocked], message: 'pin: --commit: "HEAD" is not allowed (allowed: a full commit id, 40 lowercase hex)' },
      { args: ["--digest", digest("x"), "--tag", "v1", "--commit", commit("x")], message: "pin: --gate-json is required" },
      {
        args: ["--digest", digest("x"), "--tag", "v1", "--commit", commit("x"), "--gate-json", blocked],
        message: `pin: ${blocked}: the gate decision is "block" with 1 blocking finding(s): a blocked build is never pinned`,
      },
      { args: ["--digest", digest("x"), "--tag", "v1", "--commit", commit("x"), "--gate-json", blocked, "--built-at", "yesterday"], message: 'pin: --built-at (or MIRROR_BUILT_AT): "yesterday" is not allowed' },
      {
        args: ["--digest", digest("x"), "--tag", "v1", "--commit", commit("x"), "--gate-json", blocked, "--pipeline", "acme/mirror-fleet-pipeline@main"],
        message: 'pin: --pipeline: "acme/mirror-fleet-pipeline@main" is not allowed (allowed: OWNER/REPO@<40 lowercase hex>',
      },
    ];
    for (const c of cases) {
      const r = await w.run(c.args);
      assert.equal(r.code, 2, c.args.join(" "));
      assert.ok(r.err.startsWith(c.message), `${c.args.join(" ")}\n  got: ${r.err.split("\n")[0]}`);
    }
    assert.equal(w.s.requests.length, 0);
  });
});

test("GIVEN the gate's own JSON result of a passing scan WHEN `pin` reads it THEN the scan summary counts every severity", async () => {
  await withWorld(async (w) => {
    // Outside the mirror checkout: this gate run has no waivers file to read.
    const elsewhere = fs.mkdtempSync(path.join(w.dir, "gate-"));
    const gateIo = captureIo({}, elsewhere);
    const code = await main(["gate", "--report", path.resolve(__dirname, "../testdata/trivy/gomod.json"), "--severity", "CRITICAL", "--today", "2026-01-01"], gateIo);
    assert.equal(code, 0, gateIo.err.join(""));
    const gate = w.file("gate.json", gateIo.out.join(""));
    const r = await w.run(["--digest", digest("b"), "--tag", "v2.2.4", "--commit", commit("v2.2.4"), "--gate-json", gate]);
    assert.equal(r.code, 0, r.err);
    assert.match(w.s.readFile(REPO, "mirror-build/v2.2.4", "image-pin.yml")!, /^scan:\n  critical: 0\n  high: 0\n  medium: 1\n  low: 0\n  unknown: 2\n  blocking: 0\n/m);
  });
});
