/**
 * The fleet program under Pulumi mocks: what every mirror declares, what it
 * must not declare, the order of commits, the policy-change property, and
 * render == component.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { before, describe, test } from "node:test";
import { runUnderMocks, child, ofType, type RecordedResource } from "../support/pulumi-mocks";
import type { FleetPolicy, StackSettings } from "../../components/types";
import type { MirrorEntry } from "../../components/spec";

// Import the program only after the mocks are in place (runUnderMocks sets them per run).
type ProgramModule = typeof import("../../infra/program");
let program: ProgramModule;
let entries: MirrorEntry[];
let readFile: (p: string) => string;
let policy: FleetPolicy;

const settings: StackSettings = { owner: "acme-corp", registryNamespace: "acme-corp", visibility: "private", branchProtection: true, attestations: false };
const today = new Date("2026-11-23T00:00:00Z");
const T = {
  repo: "github:index/repository:Repository",
  file: "github:index/repositoryFile:RepositoryFile",
  label: "github:index/issueLabel:IssueLabel",
  ruleset: "github:index/repositoryRuleset:RepositoryRuleset",
  actions: "github:index/actionsRepositoryPermissions:ActionsRepositoryPermissions",
  secret: "github:index/actionsSecret:ActionsSecret",
  component: "mirror-fleet:index:MirroredImage",
};

/** A third mirror, shaped differently again: notifies Slack, prefixed monorepo tags. */
const third: MirrorEntry = {
  file: "mirrors/photos.ts",
  spec: { name: "photos", upstream: { repo: "acme-oss/monorepo", tags: { prefix: "photos-v", range: "^1" } }, override: null, notify: ["slack"] },
};

/** Every invoke the program may make: the fleet's upstream-health run. Anything else throws. */
const invokes: string[] = [];
function call(args: { token: string; inputs: any }) {
  invokes.push(`${args.token} ${args.inputs.command}`);
  if (args.token === "command:local:run" && String(args.inputs.command).startsWith("node --import tsx infra/upstream-health.ts ")) {
    return { stdout: JSON.stringify({ "Forceu/Gokapi": { healthy: true, checkedAt: "2026-11-23" } }), stderr: "" };
  }
  return undefined;
}

async function fleet(over: { policy?: FleetPolicy; settings?: StackSettings; entries?: MirrorEntry[] } = {}) {
  return runUnderMocks(() =>
    program.fleetProgram({
      entries: over.entries ?? [...entries, third],
      policy: over.policy ?? policy,
      settings: over.settings ?? settings,
      readFile,
      today,
      webhooks: { slack: "https://hooks.slack.example/T000/B000/XXXX" },
    }),
    { call },
  );
}

before(async () => {
  program = await import("../../infra/program");
  const mirrors = await import("../../infra/mirrors");
  entries = mirrors.loadMirrorEntries();
  readFile = mirrors.readProjectFile;
  policy = (await import("../../infra/policy")).policy;
});

describe("MirroredImage under mocks", () => {
  let resources: readonly RecordedResource[];
  before(async () => {
    resources = (await fleet()).resources;
  });

  test("GIVEN a fleet of three WHEN run THEN every URN is unique and each mirror is one component", () => {
    assert.equal(new Set(resources.map((r) => r.urn)).size, resources.length);
    assert.deepEqual(ofType(resources, T.component).map((r) => r.name).sort(), ["gokapi", "photos", "plik"]);
  });

  test("GIVEN gokapi WHEN run THEN its repository is private, protected, kept on delete, auto-initialised", () => {
    const repo = child(resources, T.repo, "gokapi-repo");
    assert.equal(repo.protect, true);
    assert.equal(repo.retainOnDelete, true);
    assert.match(repo.parent, /MirroredImage::gokapi$/);
    assert.deepEqual(
      { name: repo.inputs.name, visibility: repo.inputs.visibility, autoInit: repo.inputs.autoInit, hasIssues: repo.inputs.hasIssues, deleteBranchOnMerge: repo.inputs.deleteBranchOnMerge, vulnerabilityAlerts: repo.inputs.vulnerabilityAlerts, archiveOnDestroy: repo.inputs.archiveOnDestroy },
      { name: "mirror-gokapi", visibility: "private", autoInit: true, hasIssues: true, deleteBranchOnMerge: true, vulnerabilityAlerts: true, archiveOnDestroy: true },
    );
  });

  test("GIVEN gokapi WHEN run THEN the seven labels exist and survive deletion", () => {
    const labels = ofType(resources, T.label).filter((r) => r.name.startsWith("gokapi-"));
    assert.deepEqual(labels.map((l) => l.inputs.name).sort(), ["blocked", "cve", "mirror-build", "override-review", "rescan", "security", "upstream-health"]);
    for (const l of labels) assert.equal(l.retainOnDelete, true, l.name);
  });

  test("GIVEN gokapi WHEN run THEN its files are committed one after another, the workflow last", () => {
    const files = ofType(resources, T.file).filter((r) => r.name.startsWith("gokapi-"));
    assert.deepEqual(files.map((f) => f.inputs.file).sort(), [
      ".github/CODEOWNERS", ".github/workflows/mirror.yml", ".mirror/config.yml", ".mirror/pipeline.cjs", ".mirror/waivers.openvex.json", ".trivyignore.yaml", "README.md", "dockerfiles/Dockerfile.override",
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
    for (const f of files) {
      assert.equal(f.inputs.branch, "main");
      assert.equal(f.inputs.overwriteOnCreate, true);
    }
  });

  test("GIVEN the pinned action table WHEN run THEN Actions are limited to it with SHA pinning required", () => {
    const a = child(resources, T.actions, "gokapi-actions");
    assert.equal(a.inputs.allowedActions, "selected");
    assert.equal(a.inputs.shaPinningRequired, true);
    assert.equal(a.inputs.allowedActionsConfig.githubOwnedAllowed, false);
    for (const p of a.inputs.allowedActionsConfig.patternsAlloweds) assert.match(p, /^[a-z0-9-]+\/[a-z0-9-]+@[0-9a-f]{40}$/);
  });

  test("GIVEN protection on WHEN run THEN the default branch needs a reviewed pull request, with a bypass for the deployer", () => {
    const r = child(resources, T.ruleset, "gokapi-ruleset");
    assert.deepEqual(r.inputs.conditions.refName.includes, ["~DEFAULT_BRANCH"]);
    assert.equal(r.inputs.rules.pullRequest.requiredApprovingReviewCount, 1);
    assert.deepEqual(r.inputs.bypassActors, [{ actorId: 1, actorType: "OrganizationAdmin", bypassMode: "always" }]);
  });

  test("GIVEN notify slack only on photos WHEN run THEN only photos gets the webhook secret, from the stack secret", () => {
    const secrets = ofType(resources, T.secret);
    assert.deepEqual(secrets.map((s) => s.name), ["photos-secret-slack"]);
    assert.equal(secrets[0].inputs.secretName, "MIRROR_SLACK_WEBHOOK");
    assert.equal(secrets[0].inputs.plaintextValue, "https://hooks.slack.example/T000/B000/XXXX");
  });

  test("GIVEN the default policy WHEN run THEN each mirror's workflow is dispatched once, after its files, re-run only on a new workflow", () => {
    const d = child(resources, "command:local:Command", "gokapi-dispatch");
    assert.equal(d.inputs.create, "node --import tsx infra/dispatch.ts");
    assert.deepEqual(d.inputs.environment, { REPO: "acme-corp/mirror-gokapi", WORKFLOW: "mirror.yml", REF: "main" });
    const workflow = child(resources, T.file, "gokapi-file-github-workflows-mirror-yml");
    assert.ok(d.dependencies.includes(workflow.urn), "dispatch waits for the workflow commit");
    assert.equal(d.inputs.triggers[1], createHash("sha256").update(workflow.inputs.content).digest("hex"));
    assert.equal(d.inputs.delete, undefined, "no delete command: removing a mirror dispatches nothing");
  });

  test("GIVEN the default policy WHEN run THEN upstream health is read once for the whole fleet, and preflight is off", () => {
    const health = invokes.filter((i) => i.includes("upstream-health"));
    assert.ok(health.length >= 1);
    assert.match(health[0], / --max-days-since-commit 365 --max-days-since-release 365 Forceu\/Gokapi root-gg\/plik acme-oss\/monorepo$/);
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
    }, { call });
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

describe("preflight", () => {
  test("GIVEN preflight on for gokapi WHEN previewed THEN its override is built at the newest allowed tag, cache only, no push", async () => {
    const withPreflight = entries.map((e) => (e.file === "mirrors/gokapi.ts" ? { ...e, spec: { ...(e.spec as object), preflight: true } } : e));
    const seen: string[] = [];
    const { resources } = await runUnderMocks(
      () => program.fleetProgram({ entries: withPreflight, policy, settings, readFile, today }),
      {
        call: (args) => {
          const cmd = String(args.inputs.command);
          seen.push(cmd);
          if (cmd.startsWith("node --import tsx pipeline/main.ts resolve ")) return { stdout: JSON.stringify({ tag: "v2.2.4", build: true }), stderr: "" };
          return call(args);
        },
      },
    );
    assert.ok(seen.includes("node --import tsx pipeline/main.ts resolve --upstream Forceu/Gokapi --range '>=2.0.0' --pin .no-pin-at-deploy-time/image-pin.yml"), seen.join("\n"));
    const image = child(resources, "docker-build:index:Image", "gokapi-preflight");
    assert.deepEqual(image.inputs.context, { location: "https://github.com/Forceu/Gokapi.git#v2.2.4" });
    assert.equal(image.inputs.push, false);
    assert.equal(image.inputs.buildOnPreview, true);
    assert.deepEqual(image.inputs.exports, [{ cacheonly: {} }]);
    assert.deepEqual(image.inputs.buildArgs, { VERSION: "v2.2.4" });
    assert.equal(image.inputs.dockerfile.inline, readFile("mirrors/gokapi.Dockerfile"));
    assert.deepEqual(ofType(resources, "docker-build:index:Image").map((r) => r.name), ["gokapi-preflight"]);
  });
});

describe("a fleet-wide policy change", () => {
  /** URN -> inputs, for every resource of a run. */
  async function inputsByUrn(p: FleetPolicy) {
    const { resources } = await fleet({ policy: p, entries });
    return new Map(resources.map((r) => [r.urn, JSON.stringify(r.inputs)]));
  }
  const changes: Array<[string, (p: FleetPolicy) => FleetPolicy]> = [
    ["the blocking severities", (p) => ({ ...p, gate: { ...p.gate, severities: ["CRITICAL"] } })],
    ["the upstream-health thresholds", (p) => ({ ...p, health: { ...p.health, maxDaysSinceCommit: 90 } })],
  ];
  for (const [what, change] of changes) {
    test(`GIVEN ${what} changed WHEN run twice THEN exactly one file per mirror changes, the config`, async () => {
      const a = await inputsByUrn(policy);
      const b = await inputsByUrn(change(policy));
      assert.deepEqual([...b.keys()].sort(), [...a.keys()].sort(), "same resources");
      const changed = [...a.keys()].filter((urn) => a.get(urn) !== b.get(urn)).map((urn) => urn.split("::").pop());
      assert.deepEqual(changed.sort(), ["gokapi-file-mirror-config-yml", "plik-file-mirror-config-yml"]);
    });
  }
});

describe("render == component", () => {
  test("GIVEN npm run render's output WHEN compared with the committed file contents THEN they are byte-identical", async () => {
    const { renderFleet } = await import("../../infra/render");
    const out = fs.mkdtempSync(path.join(os.tmpdir(), "render-"));
    try {
      renderFleet(out, { entries, policy, settings, readFile, today });
      const { resources } = await fleet({ entries });
      const files = ofType(resources, T.file);
      assert.ok(files.length > 10);
      for (const f of files) {
        const repo = f.inputs.repository as string;
        const onDisk = fs.readFileSync(path.join(out, repo, f.inputs.file));
        assert.ok(onDisk.equals(Buffer.from(f.inputs.content as string)), `${repo}/${f.inputs.file}`);
      }
      const rendered = fs.readdirSync(out, { recursive: true, withFileTypes: true }).filter((d) => d.isFile()).length;
      assert.equal(rendered, files.length + 1, "every rendered file is committed (plus inventory.json)");
      const inventory = JSON.parse(fs.readFileSync(path.join(out, "inventory.json"), "utf8"));
      assert.deepEqual(inventory.mirrors.map((m: { name: string }) => m.name), ["gokapi", "plik"]);
      assert.equal(inventory.mirrors[0].waivers[0].daysLeft, 97);
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });
});
