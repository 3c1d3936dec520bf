/**
 * What a user sees for the mistakes made most often in mirrors/: entries are
 * real files loaded by the real loader (infra/mirrors.ts), so syntax errors,
 * missing exports and preset errors come from tsx itself.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, describe, test } from "node:test";
import { FleetConfigError, resolveFleet, type MirrorEntry } from "../../components/spec";
import type { StackSettings } from "../../components/types";
import { loadMirrorEntries, loadProblems, NO_EXPORT, NOT_AN_ENTRY, PROJECT_ROOT, syntaxError } from "../../infra/mirrors";
import { policy } from "../../infra/policy";

const settings: StackSettings = { owner: "acme-corp", registryNamespace: "acme-corp", visibility: "private", branchProtection: true, attestations: false };
const today = new Date("2026-11-23T12:00:00Z");
const SPEC = JSON.stringify(path.join(PROJECT_ROOT, "components", "spec"));
const PRESETS = JSON.stringify(path.join(PROJECT_ROOT, "components", "presets"));

const root = fs.mkdtempSync(path.join(os.tmpdir(), "entries-test-"));
after(() => fs.rmSync(root, { recursive: true, force: true }));

/** Writes the files into a fresh mirrors/ under `root` and loads them as the program does. */
function load(files: Record<string, string>): MirrorEntry[] {
  const dir = fs.mkdtempSync(path.join(root, "case-"));
  fs.mkdirSync(path.join(dir, "mirrors"));
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, "mirrors", name), text);
  return loadMirrorEntries(path.join(dir, "mirrors"), dir);
}

/** No entry here names an override file: a read is a mistake, not a fall-back to the project's mirrors/. */
const readFile = (rel: string): string => {
  throw new Error(`ENOENT ${rel}`);
};

function failure(entries: MirrorEntry[]): FleetConfigError {
  try {
    resolveFleet(entries, { policy, settings, readFile, today });
  } catch (e) {
    assert.ok(e instanceof FleetConfigError, String(e));
    return e;
  }
  assert.fail("expected a FleetConfigError");
}

const entry = (body: string) => `import { defineMirror } from ${SPEC};\nexport default defineMirror(${body});\n`;

describe("mirrors/: mistakes in entries", () => {
  test("GIVEN an entry that exports nothing WHEN loaded THEN one line says it exports no mirror", () => {
    const e = failure(load({ "empty.ts": "export const name = 'x';\n" }));
    assert.deepEqual(e.problems, ["mirrors/empty.ts: exports no mirror (export default defineMirror(…))"]);
    assert.equal(NO_EXPORT, "exports no mirror (export default defineMirror(…))");
  });

  test("GIVEN files in mirrors/ that are neither an entry nor a file an entry names WHEN loaded THEN each is one line, in file order; a named Dockerfile and a dot file are not", () => {
    const files = {
      "a.ts": entry(`{ name: "a", upstream: { repo: "a/b" }, override: { file: "a.Dockerfile" } }`),
      "a.Dockerfile": "FROM scratch\n",
      "feeds.tsx": entry(`{ name: "feeds", upstream: { repo: "a/c" }, override: null }`),
      "old.Dockerfile": "FROM scratch\n",
      "plik.ts.bak": entry(`{ name: "plik", upstream: { repo: "a/d" }, override: null }`),
      "types.d.ts": "export {};\n",
      ".gitkeep": "",
    };
    const e = failure(load(files));
    assert.deepEqual(
      e.problems.filter((p) => !p.startsWith("mirrors/a.ts: ")),
      ["mirrors/feeds.tsx", "mirrors/old.Dockerfile", "mirrors/plik.ts.bak", "mirrors/types.d.ts"].map((f) => `${f}: ${NOT_AN_ENTRY}`),
    );
    assert.equal(NOT_AN_ENTRY, "not an entry, and no entry names it (allowed in mirrors/: <name>.ts, one mirror each, and the Dockerfile an entry names as override.file)");
  });

  test("GIVEN two entries with one name WHEN loaded THEN one line names both files", () => {
    const e = failure(
      load({
        "a.ts": entry(`{ name: "files", upstream: { repo: "a/b" }, override: null }`),
        "b.ts": entry(`{ name: "files", upstream: { repo: "a/c" }, override: null }`),
      }),
    );
    assert.deepEqual(e.problems, [`mirrors/a.ts and mirrors/b.ts: name: "files" is used by both (allowed: a value unique in the fleet)`]);
  });

  test("GIVEN a TypeScript syntax error WHEN loaded THEN one bullet with the relative path, line and column", () => {
    const e = failure(
      load({
        "broken.ts": `import { defineMirror } from ${SPEC};\nexport default defineMirror({ name: "x" upstream: { repo: "a/b" }, override: null });\n`,
        "good.ts": entry(`{ name: "good", upstream: { repo: "a/b" }, override: null }`),
      }),
    );
    assert.deepEqual(e.problems, [`mirrors/broken.ts: line 2, column 41: syntax error: Expected "}" but found "upstream"`]);
    assert.equal(e.message, `1 problem in mirrors/; nothing was created:\n  - mirrors/broken.ts: line 2, column 41: syntax error: Expected "}" but found "upstream"`);
  });

  test("GIVEN ts-node's report of a syntax error (Pulumi's loader) WHEN read THEN line and column are kept", () => {
    assert.equal(
      syntaxError("⨯ Unable to compile TypeScript:\nmirrors/broken.ts(2,41): error TS1005: ',' expected.\n"),
      "line 2, column 41: syntax error: ',' expected.",
    );
    assert.deepEqual(loadProblems(new Error("Cannot find module 'nope'\nRequire stack:\n- /abs/mirrors/x.ts")), ["could not be loaded: Cannot find module 'nope'"]);
    // With the file at hand, ts-node's report is given in esbuild's words, as tsx's is: one message on every path.
    const dir = fs.mkdtempSync(path.join(root, "tsnode-"));
    const broken = path.join(dir, "broken.ts");
    fs.writeFileSync(broken, `import { defineMirror } from ${SPEC};\nexport default defineMirror({ name: "x" upstream: { repo: "a/b" }, override: null });\n`);
    assert.deepEqual(loadProblems(new Error("⨯ Unable to compile TypeScript:\nmirrors/broken.ts(2,41): error TS1005: ',' expected.\n"), broken), [
      `line 2, column 41: syntax error: Expected "}" but found "upstream"`,
    ]);
  });

  test("GIVEN preset problems WHEN loaded THEN each carries file and field path, and the count equals the bullets", () => {
    const e = failure(
      load({
        "p.ts": `import { defineMirror } from ${SPEC};\nimport { goStaticDistroless } from ${PRESETS};\n` +
          `export default defineMirror({ name: "p", upstream: { repo: "a/b" }, override: { preset: goStaticDistroless({ module: "x", pkg: "./cmd/p", port: 70000 }) } });\n`,
        "q.ts": entry(`{ name: "q", upstream: { repo: "nope" }, override: null }`),
      }),
    );
    assert.deepEqual(e.problems, [
      `mirrors/p.ts: override.preset: goStaticDistroless: module: "x" is not allowed (allowed: a Go module path such as github.com/forceu/gokapi)`,
      `mirrors/p.ts: override.preset: goStaticDistroless: port: 70000 is not allowed (allowed: a TCP port from 1 to 65535)`,
      `mirrors/q.ts: upstream.repo: "nope" is not allowed (allowed: a GitHub 'owner/repo')`,
    ]);
    const lines = e.message.split("\n");
    assert.equal(lines[0], "3 problems in mirrors/; nothing was created:");
    assert.equal(lines.filter((l) => l.startsWith("  - ")).length, 3);
    assert.equal(lines.length, 4);
  });

  test("GIVEN an image in another namespace WHEN previewed THEN it is rejected with the reason", () => {
    const e = failure([{ file: "mirrors/x.ts", spec: { name: "x", upstream: { repo: "a/b" }, image: "ghcr.io/someone-else/x", override: null } }]);
    assert.deepEqual(e.problems, [
      `mirrors/x.ts: image: "ghcr.io/someone-else/x" is not allowed (allowed: an image under ghcr.io/acme-corp/, or a bare '<name>'; ` +
        `the workflow pushes with the mirror repository's own GITHUB_TOKEN, which can only write packages in the fleet's namespace acme-corp)`,
    ]);
  });

  test("GIVEN an image in the fleet's namespace WHEN previewed THEN it is accepted", () => {
    const r = resolveFleet([{ file: "mirrors/x.ts", spec: { name: "x", upstream: { repo: "a/b" }, image: "ghcr.io/acme-corp/tools/x", override: null } }], { policy, settings, readFile, today });
    assert.equal(r.mirrors[0].image, "ghcr.io/acme-corp/tools/x");
  });
});

describe("mirrors/: reviewers", () => {
  const spec = { name: "x", upstream: { repo: "a/b" }, override: null };
  test("GIVEN no reviewers in the entry or the policy WHEN previewed THEN a warning says what that means", () => {
    const r = resolveFleet([{ file: "mirrors/x.ts", spec }], { policy: { ...policy, reviewers: [], reviewTeam: undefined }, settings, readFile, today });
    assert.deepEqual(r.mirrors[0].reviewers, []);
    assert.deepEqual(r.warnings, [
      "mirrors/x.ts: reviewers: none (in the entry or infra/policy.ts), so CODEOWNERS names nobody and a pull request that pins a new digest " +
        "needs no code-owner review; set reviewers in the entry, or policy.reviewTeam for the whole fleet",
    ]);
  });

  test("GIVEN the policy's review team WHEN an entry sets no reviewers THEN the team of the stack's organisation owns it, without a warning", () => {
    const r = resolveFleet([{ file: "mirrors/x.ts", spec }, { file: "mirrors/y.ts", spec: { ...spec, name: "y", upstream: { repo: "a/y" }, reviewers: ["alice"] } }], { policy, settings, readFile, today });
    assert.deepEqual(r.mirrors.map((m) => m.reviewers), [["acme-corp/mirror-reviewers"], ["alice"]]);
    assert.deepEqual(r.warnings, []);
  });

  test("GIVEN a review team that is not a slug WHEN previewed THEN the policy field is named", () => {
    const e = (() => {
      try {
        resolveFleet([{ file: "mirrors/x.ts", spec }], { policy: { ...policy, reviewTeam: "acme-corp/ops" }, settings, readFile, today });
      } catch (e) {
        return e as FleetConfigError;
      }
      assert.fail("expected a FleetConfigError");
    })();
    assert.deepEqual(e.problems, [`infra/policy.ts: reviewTeam: "acme-corp/ops" is not allowed (allowed: the slug of a team in acme-corp, e.g. 'mirror-reviewers')`]);
  });

  // Red team 2026-12-07: render, preview and up load the policy without type-checking it, and
  // hours: 0 committed `cron: NaN NaN * * *` to every mirror; severities: [] turned every gate off.
  test("GIVEN policy values the types refuse or allow but make no sense WHEN previewed THEN each field is named with what is allowed, all at once", () => {
    const bad = {
      ...policy,
      repoPrefix: "mirror/",
      gate: { severities: [], fixedOnly: "yes" },
      schedule: { startHour: 25, hours: 0 },
      platforms: ["linux/arm65"],
      notify: ["email"],
      artifactRetentionDays: 0,
      trivy: { version: "latest" },
    } as unknown as typeof policy;
    const e = (() => {
      try {
        resolveFleet([{ file: "mirrors/x.ts", spec }], { policy: bad, settings, readFile, today });
      } catch (e) {
        return e as FleetConfigError;
      }
      assert.fail("expected a FleetConfigError");
    })();
    assert.deepEqual(e.problems, [
      `infra/policy.ts: repoPrefix: "mirror/" is not allowed (allowed: letters, digits, '.', '_' and '-', up to 60 characters; '' for none)`,
      "infra/policy.ts: gate.severities: empty (allowed: one or more of CRITICAL, HIGH, MEDIUM, LOW, UNKNOWN)",
      'infra/policy.ts: gate.fixedOnly: "yes" is not allowed (allowed: true or false)',
      "infra/policy.ts: schedule.startHour: 25 is not allowed (allowed: a whole number from 0 to 23)",
      "infra/policy.ts: schedule.hours: 0 is not allowed (allowed: a whole number from 1 to 24)",
      'infra/policy.ts: notify[0]: "email" is not allowed (allowed: slack, teams)',
      'infra/policy.ts: platforms[0]: "linux/arm65" is not allowed (allowed: linux/amd64, linux/arm64, linux/arm/v7, linux/arm/v6, linux/386, linux/ppc64le, linux/s390x, linux/riscv64)',
      "infra/policy.ts: artifactRetentionDays: 0 is not allowed (allowed: a whole number from 1 to 400)",
      'infra/policy.ts: trivy.version: "latest" is not allowed (allowed: a Trivy release, e.g. 0.74.0)',
    ]);
  });

  test("GIVEN two entries of one upstream WHEN resolved THEN both are kept, with a warning naming both files", () => {
    const r = resolveFleet([{ file: "mirrors/x.ts", spec }, { file: "mirrors/y.ts", spec: { ...spec, name: "y" } }], { policy, settings, readFile, today });
    assert.deepEqual(r.mirrors.map((m) => m.name), ["x", "y"]);
    assert.deepEqual(r.warnings.filter((w) => w.includes("upstream.repo")), [
      `mirrors/x.ts and mirrors/y.ts: upstream.repo: ${r.mirrors[0].upstream.fullName} is mirrored by both; each builds the tags its range allows, so overlapping ranges build the same release twice`,
    ]);
  });

  test("GIVEN the shipped policy WHEN checked THEN it has no problem", async () => {
    const { policyProblems } = await import("../../components/spec");
    assert.deepEqual(policyProblems(policy), []);
  });
});
