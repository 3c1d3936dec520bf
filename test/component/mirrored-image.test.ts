/**
 * The fleet program under Pulumi mocks: what every mirror declares, what it
 * must not declare, the order of commits, the policy-change property, and
 * render == component. The program's own reads of GitHub (upstream health,
 * preflight tags) go to the GitHub stand-in; there is no invoke at all.
 *
 * What a named mirror declares is asserted of the fixture fleet (the worked
 * examples, test/fixtures/fleet); of the user's mirrors/, only what holds for
 * any valid fleet (render == component, what a policy change touches).
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";
import { runUnderMocks, child, computedOutputs, ofType, type RecordedResource } from "../support/pulumi-mocks";
import { startGitHubStandIn, type GitHubStandIn } from "../support/github-standin";
import { ACTIONS, allowedActionPatterns, NESTED_ACTIONS } from "../../components/pins";
import { FLEET_LABELS } from "../../contract";
import type { FleetPolicy, StackSettings } from "../../components/types";
import type { MirrorEntry } from "../../components/spec";
import { FIXTURE_FLEET, type TestFleet } from "../support/fleets";
import { USER_FLEET, USER_FLEET_DAY } from "../support/user-fleet";

// Import the program only after the mocks are in place (runUnderMocks sets them per run).
type ProgramModule = typeof import("../../infra/program");
let program: ProgramModule;
let entries: MirrorEntry[];
let readFile: (p: string) => string;
let policy: FleetPolicy;

const settings: StackSettings = { owner: "acme-corp", registryNamespace: "acme-corp", visibility: "private", branchProtection: true, attestations: false, githubPlan: "team" };
const today = new Date("2026-11-23T00:00:00Z");
const T = {
  repo: "github:index/repository:Repository",
  file: "github:index/repositoryFile:RepositoryFile",
  label: "github:index/issueLabel:IssueLabel",
  ruleset: "github:index/repositoryRuleset:RepositoryRuleset",
  actions: "github:index/actionsRepositoryPermissions:ActionsRepositoryPermissions",
  secret: "github:index/actionsSecret:ActionsSecret",
  branch: "github:index/branchDefault:BranchDefault",
  alerts: "github:index/repositoryVulnerabilityAlerts:RepositoryVulnerabilityAlerts",
  component: "mirror-fleet:index:MirroredImage",
};

/** A third mirror, shaped differently again: notifies Slack, prefixed monorepo tags. */
const third: MirrorEntry = {
  file: "mirrors/photos.ts",
  spec: { name: "photos", upstream: { repo: "acme-oss/monorepo", tags: { prefix: "photos-v", range: "^1" } }, override: null, notify: ["slack"] },
};

const TAGS = path.resolve(__dirname, "../testdata/upstream-tags");
/** GitHub as the program reads it: the three upstreams with their real tag lists. */
let gh: GitHubStandIn;

/** The value of an Output, once the program's reads have settled. */
function valueOf<T>(o: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => o.apply((v) => void resolve(v)));
}

async function fleet(over: { policy?: FleetPolicy; settings?: StackSettings; entries?: MirrorEntry[]; cosign?: { privateKey: string; password: string }; of?: TestFleet; bundle?: string } = {}) {
  return runUnderMocks(() =>
    program.fleetProgram({
      ...(over.bundle !== undefined ? { bundle: over.bundle } : {}),
      entries: over.entries ?? [...entries, third],
      policy: over.policy ?? policy,
      settings: over.settings ?? settings,
      readFile: over.of?.readFile ?? readFile,
      today: over.of === USER_FLEET ? USER_FLEET_DAY : today,
      // Both targets: a valid entry in the user's mirrors/ may notify either.
      webhooks: { slack: "https://hooks.slack.example/T000/B000/XXXX", teams: "https://acme.webhook.office.example/webhookb2/XXXX" },
      ...(over.cosign ? { cosign: over.cosign } : {}),
      github: { apiUrl: gh.url, token: pulumi.secret(gh.token) },
    }),
  );
}

before(async () => {
  gh = await startGitHubStandIn();
  for (const [repo, file] of [["Forceu/Gokapi", "Gokapi-tags.txt"], ["root-gg/plik", "plik-tags.txt"]]) {
    gh.addRepo(repo, { private: false, date: "2021-03-01T00:00:00Z" });
    gh.seedTagLines(repo, fs.readFileSync(path.join(TAGS, file), "utf8"));
  }
  gh.addRepo("acme-oss/monorepo", { private: false, date: "2026-11-01T00:00:00Z" });
  program = await import("../../infra/program");
  entries = FIXTURE_FLEET.entries();
  readFile = FIXTURE_FLEET.readFile;
  policy = (await import("../../infra/policy")).policy;
});

after(async () => {
  assert.deepEqual(gh.rejected, [], "no request outside GitHub's OpenAPI description");
  await gh.stop();
});

describe("MirroredImage under mocks (the fixture fleet and a third mirror)", () => {
  let resources: readonly RecordedResource[];
  let run: Awaited<ReturnType<typeof fleet>>;
  before(async () => {
    run = await fleet();
    resources = run.resources;
  });

  test("GIVEN a fleet of three WHEN run THEN every URN is unique and each mirror is one component", () => {
    assert.equal(new Set(resources.map((r) => r.urn)).size, resources.length);
    assert.deepEqual(ofType(resources, T.component).map((r) => r.name).sort(), ["gokapi", "photos", "plik"]);
  });

  test("GIVEN gokapi WHEN run THEN its repository is private, kept on GitHub when dropped from the stack, never protected, auto-initialised", () => {
    const repo = child(resources, T.repo, "gokapi-repo");
    // protect would make every `up` after removing a mirror from mirrors/ fail.
    assert.equal(repo.protect, false);
    assert.equal(repo.retainOnDelete, true);
    assert.match(repo.parent, /MirroredImage::gokapi$/);
    assert.deepEqual(
      { name: repo.inputs.name, visibility: repo.inputs.visibility, autoInit: repo.inputs.autoInit, hasIssues: repo.inputs.hasIssues, deleteBranchOnMerge: repo.inputs.deleteBranchOnMerge },
      { name: "mirror-gokapi", visibility: "private", autoInit: true, hasIssues: true, deleteBranchOnMerge: true },
    );
    // Deprecated (vulnerabilityAlerts) or never run under retainOnDelete (archiveOnDestroy).
    for (const key of ["vulnerabilityAlerts", "archiveOnDestroy"]) assert.equal(key in repo.inputs, false, key);
    for (const r of resources.filter((r) => r.type.startsWith("github:"))) assert.equal(r.protect, false, r.name);
  });

  test("GIVEN gokapi on distroless and plik on upstream's own Dockerfile WHEN run THEN only gokapi's repository description says hardened", () => {
    assert.match(child(resources, T.repo, "gokapi-repo").inputs.description, /^Hardened mirror of Forceu\/Gokapi: /);
    assert.equal(child(resources, T.repo, "plik-repo").inputs.description, "Mirror of root-gg/plik: rebuilt from upstream's own Dockerfile, scanned and pinned by digest by mirror-fleet");
  });

  test("GIVEN gokapi WHEN run THEN Dependabot alerts are on through their own resource", () => {
    const alerts = child(resources, T.alerts, "gokapi-vulnerability-alerts");
    assert.deepEqual(alerts.inputs, { repository: "mirror-gokapi", enabled: true });
  });

  test("GIVEN gokapi WHEN run THEN no label is declared (the pipeline makes the fleet's labels where it uses them) and the README says what each fleet label means", () => {
    assert.deepEqual(ofType(resources, T.label), []);
    const readme = child(resources, T.file, "gokapi-file-readme-md").inputs.content as string;
    for (const l of FLEET_LABELS) assert.match(readme, new RegExp(`^\\| \`${l.name}\` \\| `, "m"), l.name);
  });

  test("GIVEN gokapi WHEN run THEN its files are committed one after another, the workflow last", () => {
    const files = ofType(resources, T.file).filter((r) => r.name.startsWith("gokapi-"));
    assert.deepEqual(files.map((f) => f.inputs.file).sort(), [
      ".github/CODEOWNERS", ".github/workflows/mirror.yml", ".mirror/config.yml", ".mirror/waivers.openvex.json", ".trivyignore.yaml", "README.md", "dockerfiles/Dockerfile.override",
    ]);
    // Each file depends on exactly one earlier file: a chain, never two writes at once.
    const byUrn = new Map(files.map((f) => [f.urn, f]));
    const heads = files.filter((f) => !f.dependencies.some((d) => byUrn.has(d)));
    assert.equal(heads.length, 1, "exactly one file starts the chain");
    const order = [heads[0]];
    while (order.length < files.length) {
      const next = files.filter((f) => f.dependencies.includes(order[order.length - 1].urn));
      assert.equal(next.length, 1, `one successor of ${order[order.length - 1].inputs.file}`);
      order.push(next[0]);
    }
    assert.equal(order[order.length - 1].inputs.file, ".github/workflows/mirror.yml");
    // Every commit waits for the rename to `main`, not only the first.
    const branch = child(resources, T.branch, "gokapi-default-branch");
    for (const f of files) assert.ok(f.dependencies.includes(branch.urn), `${f.inputs.file} waits for the default branch`);
    for (const f of files) {
      assert.equal(f.inputs.branch, "main");
      assert.equal(f.inputs.overwriteOnCreate, true);
    }
  });

  test("GIVEN private mirrors on the team plan WHEN run THEN Actions allow GitHub's own and verified creators' actions (no patterns there), SHA pinning required", () => {
    const a = child(resources, T.actions, "gokapi-actions");
    assert.deepEqual(
      { allowedActions: a.inputs.allowedActions, shaPinningRequired: a.inputs.shaPinningRequired, config: a.inputs.allowedActionsConfig },
      { allowedActions: "selected", shaPinningRequired: true, config: { githubOwnedAllowed: true, verifiedAllowed: true } },
    );
    // That setting runs only GitHub's own actions and those of verified Marketplace
    // creators: a new third-party owner in components/pins.ts needs that checked first.
    const owners = new Set(allowedActionPatterns().map((p) => p.split("/")[0]));
    for (const own of ["actions", "github"]) owners.delete(own);
    assert.deepEqual([...owners].sort(), ["docker", "sigstore"]);
  });

  test("GIVEN protection on WHEN run THEN the default branch needs a reviewed pull request, with a bypass for the deployer", () => {
    const r = child(resources, T.ruleset, "gokapi-ruleset");
    assert.deepEqual(r.inputs.conditions.refName.includes, ["~DEFAULT_BRANCH"]);
    assert.equal(r.inputs.rules.pullRequest.requiredApprovingReviewCount, 1);
    // No actorId: GitHub reads it back as 0 for organisation admins, so 1 would diff on every preview.
    assert.deepEqual(r.inputs.bypassActors, [{ actorType: "OrganizationAdmin", bypassMode: "always" }]);
  });

  test("GIVEN notify slack only on photos WHEN run THEN only photos gets the webhook secret, from the stack secret", () => {
    const secrets = ofType(resources, T.secret);
    assert.deepEqual(secrets.map((s) => s.name), ["photos-secret-slack"]);
    assert.equal(secrets[0].inputs.secretName, "MIRROR_SLACK_WEBHOOK");
    assert.equal(secrets[0].inputs.value, "https://hooks.slack.example/T000/B000/XXXX");
    assert.equal("plaintextValue" in secrets[0].inputs, false, "plaintextValue is deprecated");
  });

  test("GIVEN the default policy WHEN run THEN the first build needs no plugin: the committed workflow starts on its own push", () => {
    // Only the GitHub provider's resources, and no provider but GitHub's (none is passed here).
    assert.deepEqual([...new Set(resources.map((r) => r.type.split(":")[0]))].sort(), ["github", "mirror-fleet"]);
    const workflow = child(resources, T.file, "gokapi-file-github-workflows-mirror-yml");
    const on = (parse(workflow.inputs.content) as { on: { push: { paths: string[] } } }).on;
    assert.ok(on.push.paths.includes(".github/workflows/mirror.yml"), on.push.paths.join(", "));
  });

  test("GIVEN the default policy WHEN run THEN the program reads each upstream's health once, from GitHub, for the inventory; preflight is off", async () => {
    const health = await valueOf(run.result.health!);
    const reads = gh.requests.filter((r) => r.method === "GET" && /^\/repos\/[^/]+\/[^/]+$/.test(new URL(r.url, gh.url).pathname)).map((r) => new URL(r.url, gh.url).pathname);
    for (const upstream of ["Forceu/Gokapi", "root-gg/plik", "acme-oss/monorepo"]) assert.equal(reads.filter((r) => r === `/repos/${upstream}`).length, 1, `read ${upstream} once`);
    assert.deepEqual(Object.keys(health).sort(), ["Forceu/Gokapi", "acme-oss/monorepo", "root-gg/plik"]);
    assert.equal((health["Forceu/Gokapi"] as { healthy: boolean }).healthy, true);
    assert.equal(health["Forceu/Gokapi"].checkedAt, "2026-11-23");
    assert.deepEqual(ofType(resources, "docker-build:index:Image"), []);
  });

  test("GIVEN no override on plik WHEN run THEN no override file is committed", () => {
    const files = ofType(resources, T.file).filter((r) => r.name.startsWith("plik-")).map((f) => f.inputs.file);
    assert.ok(!files.includes("dockerfiles/Dockerfile.override"));
  });
});

describe("switches and bad input", () => {
  test("GIVEN branchProtection false WHEN run THEN no ruleset is declared", async () => {
    const { resources } = await fleet({ settings: { ...settings, branchProtection: false } });
    assert.deepEqual(ofType(resources, T.ruleset), []);
  });

  test("GIVEN a deploying App id WHEN run THEN the bypass is that integration", async () => {
    const { resources } = await fleet({ settings: { ...settings, deployBypassActorId: 4242 } });
    assert.deepEqual(child(resources, T.ruleset, "plik-ruleset").inputs.bypassActors, [{ actorId: 4242, actorType: "Integration", bypassMode: "always" }]);
  });

  test("GIVEN a bad entry WHEN the program runs THEN it throws naming every problem and declares nothing", async () => {
    const bad: MirrorEntry = { file: "mirrors/bad.ts", spec: { name: "Bad", upstream: { repo: "x" }, override: null } };
    let err: Error | undefined;
    const run = await runUnderMocks(() => {
      try {
        program.fleetProgram({ entries: [...entries, bad], policy, settings, readFile, today });
      } catch (e) {
        err = e as Error;
      }
    });
    assert.deepEqual(run.resources, []);
    assert.match(err!.message, /mirrors\/bad\.ts: name: "Bad" is not allowed/);
    assert.match(err!.message, /mirrors\/bad\.ts: upstream\.repo: "x" is not allowed/);
  });

  test("GIVEN notify slack without the stack secret WHEN the program runs THEN it fails before declaring anything", async () => {
    let err: Error | undefined;
    const run = await runUnderMocks(() => {
      try {
        program.fleetProgram({ entries: [third], policy, settings, readFile, today });
      } catch (e) {
        err = e as Error;
      }
    });
    assert.deepEqual(run.resources, []);
    assert.match(err!.message, /mirrors\/photos\.ts: notify: slack needs the stack secret mirror-fleet:slackWebhookUrl/);
  });
});

describe("the fleet's cosign key", () => {
  const publicKey = "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEmN4FIRmI0hC8WiPGJ/pH6KJ8jgg0\n80BGQJ3CXCZegS4C4iy0SxpkYYIHCIOdWldCcWKTFPmlNOTWHFkgCWmWhw==\n-----END PUBLIC KEY-----\n";
  test("GIVEN the key pair in the stack (team plan) WHEN run THEN every mirror gets COSIGN_PRIVATE_KEY and COSIGN_PASSWORD as secrets of its mirror-signing environment and commits cosign.pub", async () => {
    const { resources } = await fleet({ settings: { ...settings, cosignPublicKey: publicKey }, cosign: { privateKey: "ENCRYPTED KEY", password: "pw" } });
    const secrets = ofType(resources, "github:index/actionsEnvironmentSecret:ActionsEnvironmentSecret");
    assert.deepEqual(secrets.map((s) => [s.name, s.inputs.environment, s.inputs.secretName, s.inputs.value]).sort(), [
      ...["gokapi", "photos", "plik"].flatMap((m) => [[`${m}-env-secret-cosign-password`, "mirror-signing", "COSIGN_PASSWORD", "pw"], [`${m}-env-secret-cosign-privateKey`, "mirror-signing", "COSIGN_PRIVATE_KEY", "ENCRYPTED KEY"]]),
    ].sort());
    assert.deepEqual(ofType(resources, T.secret).filter((s) => /cosign/.test(s.name)), [], "no repository secret holds the key");
    assert.equal(child(resources, T.file, "gokapi-file-cosign-pub").inputs.content, publicKey);
  });

  test("GIVEN a public key without the secrets WHEN the program runs THEN it fails before declaring anything", async () => {
    let err: Error | undefined;
    const run = await runUnderMocks(() => {
      try {
        program.fleetProgram({ entries, policy, settings: { ...settings, cosignPublicKey: publicKey }, readFile, today });
      } catch (e) {
        err = e as Error;
      }
    });
    assert.deepEqual(run.resources, []);
    assert.match(err!.message, /mirror-fleet:cosignPublicKey is set: signing needs the stack secrets mirror-fleet:cosignPrivateKey and mirror-fleet:cosignPassword/);
  });
});

describe("the owner's plan and the Actions allow-list", () => {
  const patternsOf = (r: RecordedResource) => r.inputs.allowedActionsConfig.patternsAlloweds as string[];
  const cases: Array<[string, Partial<StackSettings>, boolean]> = [
    ["public repositories on free", { visibility: "public", githubPlan: "free", branchProtection: true }, false],
    ["private repositories on enterprise", { githubPlan: "enterprise" }, false],
    ["public repositories with attestations", { visibility: "public", attestations: true }, true],
  ];
  for (const [what, over, attestations] of cases) {
    test(`GIVEN ${what} WHEN run THEN only the pinned actions run, by SHA, nested ones included exactly when attestations are on`, async () => {
      const { resources } = await fleet({ settings: { ...settings, ...over }, entries });
      const a = child(resources, T.actions, "gokapi-actions");
      assert.equal(a.inputs.allowedActions, "selected");
      assert.equal(a.inputs.shaPinningRequired, true);
      assert.deepEqual([a.inputs.allowedActionsConfig.githubOwnedAllowed, a.inputs.allowedActionsConfig.verifiedAllowed], [false, false]);
      for (const p of patternsOf(a)) assert.match(p, /^[a-z0-9-]+\/[a-z0-9-]+@[0-9a-f]{40}$/);
      const attest = `actions/attest@${NESTED_ACTIONS.attest.sha}`;
      const provenance = `actions/attest-build-provenance@${ACTIONS.attestBuildProvenance.sha}`;
      assert.equal(patternsOf(a).includes(attest), attestations);
      assert.equal(patternsOf(a).includes(provenance), attestations);
      assert.ok(patternsOf(a).includes(`docker/build-push-action@${ACTIONS.buildPush.sha}`));
      // Every action the committed workflow names is allowed: the pin table's
      // by pattern, the fleet's own pipeline as the owner's action ("Allow
      // OWNER, and select non-OWNER": the owner's actions always run; GitHub
      // docs, Managing GitHub Actions settings for a repository).
      // The committed workflow calls the owner's shared workflow; what runs are that one's actions.
      const caller = child(resources, T.file, "gokapi-file-github-workflows-mirror-yml").inputs.content as string;
      const pipeline = `${settings.owner}/mirror-fleet-pipeline`;
      const call = new RegExp(`^ {4}uses: ${pipeline}/(\\.github/workflows/mirror-[0-9a-f]{12}\\.yml)@[0-9a-f]{40}$`, "m").exec(caller);
      assert.ok(call, `gokapi's workflow calls no shared workflow of ${pipeline}`);
      const workflow = ofType(resources, T.file).find((r) => r.name.startsWith("pipeline-") && r.inputs.file === call[1])!.inputs.content as string;
      let ownPipeline = 0;
      for (const [, action, sha] of workflow.matchAll(/uses: ([a-z0-9-]+\/[a-z0-9-]+)(?:\/[a-z0-9-]+)?@([0-9a-f]{40})/g)) {
        if (action === pipeline) ownPipeline++;
        else assert.ok(patternsOf(a).includes(`${action}@${sha}`), `${action}@${sha}`);
      }
      assert.ok(ownPipeline > 0, "the workflow runs the fleet pipeline");
      assert.equal(patternsOf(a).some((p) => p.startsWith(`${pipeline}@`)), false, "the pipeline's commit is not in the allow-list: a pipeline change re-commits the workflow only");
    });
  }
});

describe("preflight", () => {
  test("GIVEN preflight on for gokapi WHEN previewed THEN its override is built at the newest allowed tag read from GitHub, cache only, no push, by the only docker-build provider", async () => {
    const withPreflight = entries.map((e) => (e.file === "mirrors/gokapi.ts" ? { ...e, spec: { ...(e.spec as object), preflight: true } } : e));
    const before = gh.requests.length;
    const { resources } = await runUnderMocks(
      () => program.fleetProgram({ entries: withPreflight, policy, settings, readFile, today, github: { apiUrl: gh.url, token: gh.token } }),
      { preview: true },
    );
    const paths = gh.requests.slice(before).map((r) => new URL(r.url, gh.url).pathname);
    assert.ok(paths.includes("/repos/Forceu/Gokapi/tags"), paths.join("\n"));
    const image = child(resources, "docker-build:index:Image", "gokapi-preflight");
    assert.deepEqual(image.inputs.context, { location: "https://github.com/Forceu/Gokapi.git#v2.2.4" });
    assert.equal(image.inputs.push, false);
    assert.equal(image.inputs.buildOnPreview, true);
    assert.deepEqual(image.inputs.exports, [{ cacheonly: {} }]);
    assert.deepEqual(image.inputs.buildArgs, { VERSION: "v2.2.4" });
    assert.equal(image.inputs.dockerfile.inline, readFile("mirrors/gokapi.Dockerfile"));
    assert.deepEqual(ofType(resources, "docker-build:index:Image").map((r) => r.name), ["gokapi-preflight"]);
    const provider = child(resources, "pulumi:providers:docker-build", "docker-build");
    assert.ok(image.provider.startsWith(`${provider.urn}::`), image.provider);
  });

  test("GIVEN preflight off everywhere WHEN run THEN no docker-build provider exists (a default run needs no docker-build plugin)", async () => {
    const { resources } = await fleet({ entries });
    assert.deepEqual(resources.filter((r) => r.type.startsWith("pulumi:providers:")).map((r) => r.type), []);
  });
});

describe("a fleet-wide policy change", () => {
  /** URN -> inputs, for every resource of a run. */
  async function inputsByUrn(p: FleetPolicy, of: TestFleet = FIXTURE_FLEET) {
    const { resources } = await fleet({ policy: p, entries: of.entries(), of });
    return new Map(resources.map((r) => [r.urn, JSON.stringify(r.inputs)]));
  }
  // The files each change rewrites per mirror: the config the pipeline reads,
  // and the README where it names what changed (the gate's severities).
  const changes: Array<[string, (p: FleetPolicy) => FleetPolicy, string[]]> = [
    ["the blocking severities", (p) => ({ ...p, gate: { ...p.gate, severities: ["CRITICAL"] } }), ["mirror-config-yml", "readme-md"]],
    ["the upstream-health thresholds", (p) => ({ ...p, health: { ...p.health, maxDaysSinceCommit: 90 } }), ["mirror-config-yml"]],
  ];
  for (const [what, change, files] of changes) {
    test(`GIVEN ${what} changed WHEN run twice THEN exactly ${files.join(" and ")} change, per mirror`, async () => {
      const a = await inputsByUrn(policy);
      const b = await inputsByUrn(change(policy));
      assert.deepEqual([...b.keys()].sort(), [...a.keys()].sort(), "same resources");
      const changed = [...a.keys()].filter((urn) => a.get(urn) !== b.get(urn)).map((urn) => urn.split("::").pop());
      assert.deepEqual(changed.sort(), ["gokapi", "plik"].flatMap((m) => files.map((f) => `${m}-file-${f}`)).sort());
    });
  }

  test("GIVEN the user's mirrors/ WHEN a policy field changes THEN only generated files change, never a repository, label or setting", async () => {
    const a = await inputsByUrn(policy, USER_FLEET);
    for (const [what, change] of changes) {
      const b = await inputsByUrn(change(policy), USER_FLEET);
      assert.deepEqual([...b.keys()].sort(), [...a.keys()].sort(), `${what}: same resources`);
      for (const urn of [...a.keys()].filter((u) => a.get(u) !== b.get(u))) assert.match(urn, /\$github:index\/repositoryFile:RepositoryFile::/, `${what}: ${urn}`);
    }
  });
});

describe("render == component", () => {
  for (const of of [FIXTURE_FLEET, USER_FLEET]) {
    test(`GIVEN ${of.label} WHEN npm run render's output is compared with the committed file contents THEN they are byte-identical`, async () => {
      const { renderFleet } = await import("../../infra/render");
      const out = fs.mkdtempSync(path.join(os.tmpdir(), "render-"));
      try {
        const ofEntries = of.entries();
        const { resources, result } = await fleet({ entries: ofEntries, of });
        // Render with the commit the stack made of the pipeline, as the README says (pulumi stack output pipeline).
        const pin = await valueOf(result.pipeline.pin);
        renderFleet(out, { entries: ofEntries, policy, settings, readFile: of.readFile, today: of === USER_FLEET ? USER_FLEET_DAY : today, pipelineCommit: pin.commit, pipelineWorkflows: pin.workflows });
        const files = ofType(resources, T.file);
        // Per mirror README, CODEOWNERS, config, .trivyignore.yaml, workflow at least; the pipeline repository's 3 and a shared workflow.
        assert.ok(files.length >= 5 * ofEntries.length + 4, `${files.length} files for ${ofEntries.length} mirrors`);
        for (const f of files) {
          const repo = f.inputs.repository as string;
          const onDisk = fs.readFileSync(path.join(out, repo, f.inputs.file));
          assert.ok(onDisk.equals(Buffer.from(f.inputs.content as string)), `${repo}/${f.inputs.file}`);
        }
        const rendered = fs.readdirSync(out, { recursive: true, withFileTypes: true }).filter((d) => d.isFile()).length;
        assert.equal(rendered, files.length + 1, "every rendered file is committed (plus inventory.json)");
        const inventory = JSON.parse(fs.readFileSync(path.join(out, "inventory.json"), "utf8"));
        assert.deepEqual(inventory.mirrors.map((m: { name: string }) => m.name), ofEntries.map((e) => (e.spec as { name: string }).name));
        if (of === FIXTURE_FLEET) assert.equal(inventory.mirrors[0].waivers[0].daysLeft, 97);
      } finally {
        fs.rmSync(out, { recursive: true, force: true });
      }
    });
  }
});

describe("the pipeline, once per fleet (issue 21)", () => {
  const P = {
    component: "mirror-fleet:index:PipelineRepository",
    access: "github:index/actionsRepositoryAccessLevel:ActionsRepositoryAccessLevel",
  };
  let run: Awaited<ReturnType<typeof fleet>>;
  before(async () => {
    run = await fleet();
  });

  test("GIVEN a fleet WHEN run THEN one pipeline repository, private like the mirrors, kept when dropped, shared with the organisation's repositories", () => {
    assert.deepEqual(ofType(run.resources, P.component).map((r) => r.name), ["pipeline"]);
    const repo = child(run.resources, T.repo, "pipeline-repo");
    assert.deepEqual({ name: repo.inputs.name, visibility: repo.inputs.visibility, autoInit: repo.inputs.autoInit, retain: repo.retainOnDelete }, { name: "mirror-fleet-pipeline", visibility: "private", autoInit: true, retain: true });
    assert.deepEqual(child(run.resources, P.access, "pipeline-actions-access").inputs, { repository: "mirror-fleet-pipeline", accessLevel: "organization" });
    assert.deepEqual(child(run.resources, T.ruleset, "pipeline-ruleset").inputs.rules.nonFastForward, true);
  });

  test("GIVEN a fleet WHEN run THEN the pipeline's files are committed README, bundle, action.yml, which carries the bundle's sha256, then one shared workflow per shape, each naming action.yml's commit", () => {
    const files = ofType(run.resources, T.file).filter((r) => r.name.startsWith("pipeline-"));
    const shapes = run.result.pipeline.sharedWorkflowPaths;
    assert.ok(shapes.length >= 2, `${shapes.length} shapes in the fleet`);
    assert.deepEqual(files.map((f) => f.inputs.file), ["README.md", "pipeline.cjs", "action.yml", ...shapes]);
    const [readme, bundle, action, ...shared] = files;
    assert.ok(bundle.dependencies.includes(readme.urn) && action.dependencies.includes(bundle.urn), "a chain: README, bundle, action.yml");
    const sha = createHash("sha256").update(bundle.inputs.content as string).digest("hex");
    assert.match(action.inputs.content as string, new RegExp(`BUNDLE_SHA256: ${sha}\\n`));
    assert.ok(Buffer.byteLength(bundle.inputs.content as string) > 100_000, "the real bundle");
    const commit = computedOutputs(T.file, action.inputs).commitSha;
    let previous = action;
    for (const w of shared) {
      assert.ok(w.dependencies.includes(previous.urn), `${w.inputs.file} is committed after ${previous.inputs.file}`);
      const uses = [...(w.inputs.content as string).matchAll(/uses: (acme-corp\/mirror-fleet-pipeline@\S+)\n\s+with:\n\s+node-version: "24"\n\s+bundle-sha256: (\S+)\n/g)];
      assert.ok(uses.length >= 9, `${w.inputs.file}: ${uses.length} jobs set up the pipeline`);
      for (const u of uses) assert.deepEqual([u[1], u[2]], [`acme-corp/mirror-fleet-pipeline@${commit}`, sha]);
      previous = w;
    }
  });

  test("GIVEN a fleet WHEN run THEN no mirror carries the bundle or a job, and every workflow calls its shape's shared workflow at the commit that wrote it, after it exists", async () => {
    const action = child(run.resources, T.file, "pipeline-file-action-yml");
    const access = child(run.resources, P.access, "pipeline-actions-access");
    const commit = computedOutputs(T.file, action.inputs).commitSha;
    const sha = createHash("sha256").update(child(run.resources, T.file, "pipeline-file-pipeline-cjs").inputs.content as string).digest("hex");
    const shared = ofType(run.resources, T.file).filter((r) => r.name.startsWith("pipeline-") && r.inputs.file.startsWith(".github/workflows/"));
    const workflows = Object.fromEntries(shared.map((w) => [w.inputs.file.split("/").pop(), computedOutputs(T.file, w.inputs).commitSha]));
    assert.deepEqual(await valueOf(run.result.pipeline.pin), { repository: "acme-corp/mirror-fleet-pipeline", commit, bundleSha256: sha, workflows });
    assert.ok(shared.length > 1, "the fixture fleet has more than one shape of mirror");
    for (const name of ["gokapi", "plik", "photos"]) {
      const files = ofType(run.resources, T.file).filter((r) => r.name.startsWith(`${name}-`));
      assert.equal(files.some((f) => /pipeline\.cjs$/.test(f.inputs.file)), false, `${name} carries a bundle`);
      const wf = child(run.resources, T.file, `${name}-file-github-workflows-mirror-yml`);
      const calls = [...(wf.inputs.content as string).matchAll(/^ {4}uses: acme-corp\/mirror-fleet-pipeline\/\.github\/workflows\/(mirror-[0-9a-f]{12}\.yml)@([0-9a-f]{40})$/gm)];
      assert.equal(calls.length, 1, `${name}: one call of a shared workflow`);
      assert.equal(calls[0][2], workflows[calls[0][1]], `${name} calls ${calls[0][1]} at the commit that wrote it`);
      assert.doesNotMatch(wf.inputs.content as string, /steps:/, `${name}'s workflow holds no job of its own`);
      const file = shared.find((w) => w.inputs.file.endsWith(calls[0][1]))!;
      for (const d of [file.urn, action.urn, access.urn]) assert.ok(wf.dependencies.includes(d), `${name}'s workflow waits for ${d.split("::").pop()}`);
      // Only for its own: another shape's shared workflow is not in its state or its way.
      for (const other of shared.filter((w) => w !== file)) assert.ok(!wf.dependencies.includes(other.urn), `${name}'s workflow waits for ${other.inputs.file}`);
      // Each mirror's generated files stay small: the settings, not the program.
      const bytes = files.reduce((n, f) => n + Buffer.byteLength(f.inputs.content as string), 0);
      assert.ok(bytes < 40 * 1024, `${name}: ${bytes} bytes of generated files`);
      for (const f of files) assert.ok(Buffer.byteLength(f.inputs.content as string) < 20 * 1024, `${name}: ${f.inputs.file} is over 20 KiB`);
    }
  });

  test("GIVEN a change of the pipeline's code WHEN run twice THEN the bundle, action.yml and each shared workflow are re-committed once, and each mirror re-commits its workflow only", async () => {
    const a = await fleet({ bundle: "// mirror-fleet pipeline test bundle 1\n" });
    const b = await fleet({ bundle: "// mirror-fleet pipeline test bundle 2\n" });
    const inputs = (r: typeof a) => new Map(r.resources.map((x) => [x.urn, JSON.stringify(x.inputs)]));
    const [ia, ib] = [inputs(a), inputs(b)];
    assert.deepEqual([...ib.keys()].sort(), [...ia.keys()].sort(), "same resources");
    const changed = [...ia.keys()].filter((urn) => ia.get(urn) !== ib.get(urn)).map((urn) => urn.split("::").pop()).sort();
    const shared = [...ia.keys()].map((urn) => urn.split("::").pop()!).filter((n) => /^pipeline-file-github-workflows-mirror-[0-9a-f]{12}-yml$/.test(n));
    assert.ok(shared.length >= 2, shared.join(", "));
    assert.deepEqual(changed, [
      "gokapi-file-github-workflows-mirror-yml",
      "photos-file-github-workflows-mirror-yml",
      "pipeline-file-action-yml",
      ...shared.sort(),
      "pipeline-file-pipeline-cjs",
      "plik-file-github-workflows-mirror-yml",
    ].sort());
  });

  test("GIVEN public mirrors WHEN run THEN the pipeline repository is public and no access setting is declared (it applies to private repositories only)", async () => {
    const { resources } = await fleet({ settings: { ...settings, visibility: "public", pipelineVisibility: "public" } });
    assert.equal(child(resources, T.repo, "pipeline-repo").inputs.visibility, "public");
    assert.deepEqual(ofType(resources, P.access), []);
  });

  test("GIVEN a mirror named so that its repository is the pipeline's WHEN run THEN it is refused before anything is declared, naming the file", async () => {
    const clash: MirrorEntry = { file: "mirrors/fleet-pipeline.ts", spec: { name: "fleet-pipeline", upstream: { repo: "acme-oss/monorepo" }, override: null } };
    await assert.rejects(
      fleet({ entries: [clash] }),
      (e: Error) => /mirrors\/fleet-pipeline\.ts: name: "fleet-pipeline" makes the repository mirror-fleet-pipeline, the fleet's pipeline repository \(allowed: another name\)/.test(e.message),
    );
  });
});
