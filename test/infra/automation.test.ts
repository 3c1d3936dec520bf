/**
 * The Automation API driver (npm run preview / up). The Pulumi CLI cannot be
 * downloaded on this machine, so what is tested is what runs before and
 * around it: options, backend selection, the pinned version, error paths.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import { describe, test } from "node:test";
import type { EngineEvent } from "@pulumi/pulumi/automation";
import { AutomationError, engineErrors, lostMirrors, warningsOf, parseOptions, PULUMI_CLI_VERSION, run, type AutomationDeps, type AutomationOptions } from "../../infra/automation";

const root = "/work/fleet";

describe("parseOptions", () => {
  test("GIVEN no backend in the environment WHEN parsed THEN the local file backend inside the project is used", () => {
    assert.deepEqual(parseOptions(["preview"], {}, root), {
      command: "preview",
      stack: "prod",
      refresh: false,
      allowMirrorDeletes: false,
      backendUrl: "file:///work/fleet/.pulumi-state",
      cliRoot: `/work/fleet/.pulumi-cli/${PULUMI_CLI_VERSION}`,
    });
  });
  test("GIVEN PULUMI_BACKEND_URL WHEN parsed THEN that backend is used", () => {
    assert.equal(parseOptions(["up", "--stack", "staging", "--refresh"], { PULUMI_BACKEND_URL: "s3://acme-pulumi-state" }, root).backendUrl, "s3://acme-pulumi-state");
  });
  const bad: Array<[string[], RegExp]> = [
    [[], /expected "preview" or "up", got ""/],
    [["destroy"], /expected "preview" or "up", got "destroy"/],
    [["up", "extra"], /expected "preview" or "up", got "up extra"/],
    [["up", "--force"], /Unknown option '--force'/],
    [["up", "--stack", "../x"], /--stack: "\.\.\/x" is not a stack name/],
    [["preview", "--allow-mirror-deletes"], /--allow-mirror-deletes: only for up/],
  ];
  for (const [argv, message] of bad) {
    test(`GIVEN ${JSON.stringify(argv)} WHEN parsed THEN a usage error says what is wrong`, () => {
      assert.throws(() => parseOptions(argv, {}, root), (e: Error) => e instanceof AutomationError && message.test(e.message));
    });
  }
});

/** An engine event announcing a step on a resource. */
const step = (op: string, type: string, name: string): EngineEvent =>
  ({ sequence: 1, timestamp: 0, resourcePreEvent: { metadata: { op, type, urn: `urn:pulumi:prod::mirror-fleet::${type}::${name}`, provider: "", old: undefined, new: undefined } } }) as unknown as EngineEvent;

describe("run", () => {
  const opts: AutomationOptions = parseOptions(["up"], {}, root);
  function deps(over: Partial<AutomationDeps> = {}, planned: EngineEvent[] = []) {
    const calls: string[] = [];
    let out = "";
    const d: AutomationDeps = {
      env: { PULUMI_CONFIG_PASSPHRASE: "x" },
      out: (t) => void (out += t),
      pulumiCommand: async (r) => {
        calls.push(`cli ${r}`);
        return {} as never;
      },
      selectStack: async (o) => {
        calls.push(`stack ${o.stack} ${o.backendUrl}`);
        return {
          preview: async (p: { onOutput?: (s: string) => void; onEvent?: (e: EngineEvent) => void }) =>
            (p.onOutput?.("previewing\n"), planned.forEach((e) => p.onEvent?.(e)), calls.push("preview"), { changeSummary: { same: 3, update: 1 } }) as never,
          up: async (p: { onOutput?: (s: string) => void }) =>
            (p.onOutput?.("updating\n"), calls.push("up"), { summary: { resourceChanges: { create: 2 } } }) as never,
          outputs: async () => ({ inventory: { value: [{ name: "gokapi" }], secret: false }, summary: { value: { count: 1 }, secret: false } }),
        };
      },
      mirrorNames: () => ["gokapi", "plik"],
      ...over,
    };
    return { d, calls, out: () => out };
  }

  test("GIVEN up WHEN run THEN the stack is updated, progress streamed and the inventory printed", async () => {
    const { d, calls, out } = deps();
    assert.equal(await run(opts, d), 0);
    assert.deepEqual(calls, [`cli ${opts.cliRoot}`, "stack prod file:///work/fleet/.pulumi-state", "preview", "up"]);
    assert.match(out(), /updating\n/);
    assert.match(out(), /inventory:\n\[\n  \{\n    "name": "gokapi"/);
    assert.equal(out().split("\n").at(-2), '{"command":"up","stack":"prod","changes":{"create":2},"outputs":["inventory","summary"]}');
  });

  test("GIVEN a plan that deletes mirrors still in mirrors/ WHEN up THEN nothing is applied and the error names them and the flag", async () => {
    const planned = [step("delete", "mirror-fleet:index:MirroredImage", "plik"), step("delete", "mirror-fleet:index:MirroredImage", "gokapi"), step("delete", "github:index/repository:Repository", "plik-repo")];
    const { d, calls } = deps({}, planned);
    await assert.rejects(run(opts, d), (e: Error) =>
      e instanceof AutomationError &&
      e.message === "the plan deletes 2 mirrors gokapi, plik although their entries are still in mirrors/: the program declared less than mirrors/ holds (did it run, in this folder?). Nothing was changed. To remove a mirror, delete its file in mirrors/; to apply this plan anyway, run: npm run up -- --allow-mirror-deletes",
    );
    assert.ok(!calls.includes("up"));
    const flagged = deps({}, planned);
    assert.equal(await run({ ...opts, allowMirrorDeletes: true }, flagged.d), 0);
    assert.ok(flagged.calls.includes("up"));
  });

  test("GIVEN the provider refused a request on a spent rate limit WHEN the run goes on THEN it says at once that the run may sit until the reset, once", async () => {
    const refused = (urn: string) =>
      ({
        sequence: 1,
        timestamp: 0,
        diagnosticEvent: { severity: "error", color: "never", message: `refreshing ${urn}: 1 error occurred:\n\t* GET http://127.0.0.1:1/api/v3/repos/acme-corp/mirror-gokapi: 403 API rate limit of 25 still exceeded until 2026-12-07 15:41:55 +0000 UTC, not making remote request. [rate reset in 29s]` },
      }) as unknown as EngineEvent;
    const { d, out } = deps({}, [refused("a"), refused("b")]);
    assert.equal(await run(parseOptions(["preview"], {}, root), d), 0);
    const said = out().split("\n").filter((l) => l.includes("sit until"));
    assert.deepEqual(said, [
      "mirror-fleet: GitHub's rate limit for the deploying identity is spent until 2026-12-07 15:41:55 +0000 UTC. The provider refuses the requests left, and waits for that reset on those it had already sent: this run may sit until then before it ends. Ctrl-C ends it at once; what was applied stays in the state.",
    ]);
    assert.ok(out().indexOf("sit until") < out().indexOf('{"command":"preview"'), "said after the run ended");
    assert.doesNotMatch(deps().out(), /sit until/);
  });

  test("GIVEN the engine's plan events WHEN read THEN only deleted MirroredImage components whose entries remain count", () => {
    const events = [step("delete", "mirror-fleet:index:MirroredImage", "uptime"), step("delete", "mirror-fleet:index:MirroredImage", "plik"), step("update", "mirror-fleet:index:MirroredImage", "gokapi"), step("delete", "github:index/issueLabel:IssueLabel", "gokapi")];
    assert.deepEqual(lostMirrors(events, ["gokapi", "plik"]), ["plik"]);
    assert.deepEqual(lostMirrors(events, []), []);
  });

  test("GIVEN the engine failed on the program's own refusal WHEN reported THEN only its error diagnostics are kept, once each", () => {
    // The diagnostics of a real `npm run preview` with a bad entry (pulumi 3.276.0): the program's error twice, then the engine's.
    const message = "1 problem in mirrors/; nothing was created:\n  - mirrors/bad.ts: image: \"docker.io/bad/bad\" is not allowed (allowed: a GHCR repository, 'ghcr.io/<namespace>/<name>' or a bare '<name>')";
    const diag = (severity: string, m: string) => ({ sequence: 1, timestamp: 0, diagnosticEvent: { severity, message: `${m}\n`, color: "never", prefix: `${severity}: ` } }) as unknown as EngineEvent;
    const events = [diag("warning", "using pulumi-resource-github from $PATH"), diag("error", message), diag("error", message), diag("error", "preview failed")];
    const e = engineErrors(Object.assign(new Error("Command failed with exit code 1: pulumi preview …"), { commandResult: { stderr: "…" } }), events);
    assert.ok(e instanceof AutomationError);
    assert.equal(e.message, message);
    const other = new Error("not from the engine");
    assert.equal(engineErrors(other, events), other);
  });

  test("GIVEN the provider stopped on a spent rate limit WHEN reported THEN the message says when to run again", () => {
    // The diagnostic of a real `npm run preview -- --refresh` (provider built from terraform-provider-github v6.13.0, go-github v88) against the stand-in.
    const message =
      "refreshing urn:pulumi:prod::mirror-fleet::mirror-fleet:index:MirroredImage$github:index/repositoryRuleset:RepositoryRuleset::gokapi-ruleset: 1 error occurred:\n" +
      "\t* GET http://127.0.0.1:36561/api/v3/repos/acme-corp/mirror-gokapi/rulesets/1032?includes_parents=false: 403 API rate limit of 25 still exceeded until 2026-12-06 23:03:41 +0000 UTC, not making remote request. [rate reset in 5s]";
    const diag = { sequence: 1, timestamp: 0, diagnosticEvent: { severity: "error", message, color: "never", prefix: "error: " } } as unknown as EngineEvent;
    const e = engineErrors(Object.assign(new Error("Command failed"), { commandResult: { stderr: "…" } }), [diag]);
    assert.match(e.message, /^refreshing urn:/);
    assert.match(e.message, /rate limit for the deploying identity \(25 requests an hour\) is spent, and the provider refused the requests left rather than wait: run the same command again after 2026-12-06 23:03:41 \+0000 UTC\./);
    const other = engineErrors(Object.assign(new Error("Command failed"), { commandResult: { stderr: "…" } }), [{ ...diag, diagnosticEvent: { ...diag.diagnosticEvent!, message: "403 Resource not accessible by integration" } } as EngineEvent]);
    assert.doesNotMatch(other.message, /rate limit/);
  });

  test("GIVEN the engine's diagnostics WHEN the run ends THEN each warning is printed once, the plugin-path one explained", () => {
    const diag = (severity: string, message: string, ephemeral = false) => ({ sequence: 1, timestamp: 0, diagnosticEvent: { severity, message: `${message}\n`, color: "never", ephemeral } }) as unknown as EngineEvent;
    const waiver = "mirrors/gokapi.ts: gate.waivers[0] (CVE-2026-34986) expires in 10 days, on 2026-12-16";
    assert.deepEqual(warningsOf([diag("warning", waiver), diag("warning", waiver), diag("info", "x"), diag("warning", "transient", true), diag("warning", "using pulumi-resource-github from $PATH at /t/bin/pulumi-resource-github")]), [
      waiver,
      "using pulumi-resource-github from $PATH at /t/bin/pulumi-resource-github (the provider `npm run engine:build` built; the engine names any plugin that is not in its own plugin cache)",
    ]);
  });

  test("GIVEN preview WHEN run THEN the last line is the engine's change summary as JSON", async () => {
    const { d, out } = deps();
    assert.equal(await run({ ...opts, command: "preview" }, d), 0);
    assert.equal(out().split("\n").at(-2), '{"command":"preview","stack":"prod","changes":{"same":3,"update":1}}');
  });

  test("GIVEN a tools cache WHEN the engine environment is made THEN its bin/ comes first on PATH, the update check is off and the state is written with zstd", () => {
    const { engineEnv } = require("../../infra/automation") as typeof import("../../infra/automation");
    assert.deepEqual(engineEnv(opts, { MIRROR_FLEET_TOOLS: "/t", PATH: "/usr/bin" }), {
      PULUMI_BACKEND_URL: "file:///work/fleet/.pulumi-state",
      PULUMI_SKIP_UPDATE_CHECK: "true",
      PULUMI_DIY_BACKEND_ZSTD: "true",
      PATH: "/t/bin:/usr/bin",
    });
  });

  test("GIVEN the user chose how the state is written (gzip, or zstd off) WHEN the engine environment is made THEN it adds no compression setting (Pulumi refuses gzip and zstd together)", () => {
    const { engineEnv, STATE_COMPRESSION_VARS } = require("../../infra/automation") as typeof import("../../infra/automation");
    for (const k of STATE_COMPRESSION_VARS) {
      for (const v of ["true", "false"]) assert.equal(engineEnv(opts, { PATH: "/usr/bin", [k]: v }).PULUMI_DIY_BACKEND_ZSTD, undefined, `${k}=${v}`);
    }
  });

  test("GIVEN no passphrase on the local backend WHEN run THEN it stops before touching the CLI, saying what to set", async () => {
    const { d, calls } = deps({ env: {} });
    await assert.rejects(run(opts, d), /PULUMI_CONFIG_PASSPHRASE is not set: the file backend encrypts this stack's secrets/);
    assert.deepEqual(calls, []);
  });

  test("GIVEN Pulumi Cloud as backend WHEN run without a passphrase THEN it proceeds (the service holds the secrets key)", async () => {
    const { d } = deps({ env: {} });
    assert.equal(await run({ ...opts, backendUrl: "https://api.pulumi.com" }, d), 0);
  });

  test("GIVEN no CLI on PATH WHEN run THEN the pinned version is installed into the project", async () => {
    const { pinnedPulumi } = await import("../../infra/automation");
    const seen: string[] = [];
    const cli = {
      get: async (o: { version?: { version: string }; root?: string }) => {
        seen.push(`get ${o.version?.version} ${o.root}`);
        throw new Error("not found");
      },
      install: async (o: { version?: { version: string }; root?: string }) => {
        seen.push(`install ${o.version?.version} ${o.root}`);
        return { command: "pulumi" } as never;
      },
    };
    await pinnedPulumi("/nonexistent/cli", cli as never, "/nonexistent/tools/pulumi");
    assert.deepEqual(seen, [`get ${PULUMI_CLI_VERSION} undefined`, `install ${PULUMI_CLI_VERSION} /nonexistent/cli`]);
  });

  test("GIVEN a newer CLI of the same major on PATH (a runner image's) WHEN run THEN the pinned version is installed into the project instead; the pinned one on PATH is used", async () => {
    const { pinnedPulumi } = await import("../../infra/automation");
    const semver = await import("semver");
    const seen: string[] = [];
    const cli = (onPath: string) => ({
      get: async (o: { version?: { version: string }; root?: string }) => {
        seen.push(`get ${o.version?.version} ${o.root}`);
        return { command: "pulumi", version: new semver.SemVer(onPath) } as never;
      },
      install: async (o: { version?: { version: string }; root?: string }) => {
        seen.push(`install ${o.version?.version} ${o.root}`);
        return { command: "pulumi" } as never;
      },
    });
    const newer = new semver.SemVer(PULUMI_CLI_VERSION).inc("minor").version;
    await pinnedPulumi("/nonexistent/cli", cli(newer) as never, "/nonexistent/tools/pulumi");
    assert.deepEqual(seen, [`get ${PULUMI_CLI_VERSION} undefined`, `install ${PULUMI_CLI_VERSION} /nonexistent/cli`]);
    seen.length = 0;
    await pinnedPulumi("/nonexistent/cli", cli(PULUMI_CLI_VERSION) as never, "/nonexistent/tools/pulumi");
    assert.deepEqual(seen, [`get ${PULUMI_CLI_VERSION} undefined`]);
  });

  test("GIVEN the CLI cannot be found or installed WHEN run THEN the error names the version and the way out", async () => {
    const { pinnedPulumi } = await import("../../infra/automation");
    const cli = {
      get: async () => { throw new Error("not found"); },
      install: async () => { throw new Error("getaddrinfo ENOTFOUND get.pulumi.com"); },
    };
    await assert.rejects(pinnedPulumi("/nonexistent/cli", cli as never, "/nonexistent/tools/pulumi"), (e: Error) =>
      e instanceof AutomationError &&
      e.message === `the Pulumi CLI ${PULUMI_CLI_VERSION} is not on PATH and could not be installed into /nonexistent/cli: getaddrinfo ENOTFOUND get.pulumi.com\nInstall it yourself (https://www.pulumi.com/docs/install/) and run again.`,
    );
  });

  test("GIVEN the SDK in package-lock WHEN compared THEN the pinned CLI version is the SDK's (they move together)", () => {
    const sdk = JSON.parse(fs.readFileSync(require.resolve("@pulumi/pulumi/package.json"), "utf8")).version;
    assert.equal(PULUMI_CLI_VERSION, sdk);
  });
});
