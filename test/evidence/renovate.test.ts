/**
 * renovate.json: valid for Renovate (its own JSON schema, vendored from the
 * renovate npm package, plus the checks its config validator makes of regex
 * managers), and its custom managers really find every pin in the two tables
 * they exist for, extracting what Renovate needs to bump them. The regexes
 * are run here exactly as Renovate runs them (global flag, whole file).
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";
import Ajv from "ajv";
import { ACTIONS } from "../../components/pins";
import { BASE_IMAGES } from "../../infra/base-images";
import { PROJECT_ROOT } from "../../infra/mirrors";

type Json = Record<string, unknown>;
interface CustomManager {
  customType: string;
  managerFilePatterns: string[];
  matchStrings: string[];
  datasourceTemplate?: string;
  depNameTemplate?: string;
  [k: string]: unknown;
}

const config = JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, "renovate.json"), "utf8")) as Json & { customManagers: CustomManager[]; packageRules: Json[] };
const schema = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "fixtures", "renovate-schema.json"), "utf8"));

// Renovate's schema carries its own annotation keywords; they validate nothing.
const ajv = new Ajv({ allErrors: true, strict: false });
const validateSchema = ajv.compile(schema);

function itemProperties(def: string): Set<string> {
  const items = schema.definitions[def].items;
  return new Set(Object.keys((items.allOf?.[0] ?? items).properties));
}

/** Renovate's `/…/` pattern syntax: a regex between slashes, else a glob (we only use regexes). */
function filePattern(p: string): RegExp {
  assert.match(p, /^\/.*\/$/, `${p}: write managerFilePatterns as /regex/`);
  return new RegExp(p.slice(1, -1));
}

/** What Renovate's regex manager extracts: one dep per match of each matchString over the whole file. */
function extract(m: CustomManager, file: string): Array<Record<string, string | undefined>> {
  const text = fs.readFileSync(path.join(PROJECT_ROOT, file), "utf8");
  return m.matchStrings.flatMap((s) =>
    [...text.matchAll(new RegExp(s, "g"))].map((x) => ({ ...x.groups, datasource: x.groups?.datasource ?? m.datasourceTemplate })),
  );
}

function managerFor(file: string): CustomManager {
  const found = config.customManagers.filter((m) => m.managerFilePatterns.some((p) => filePattern(p).test(file)));
  assert.equal(found.length, 1, `exactly one custom manager for ${file}`);
  return found[0];
}

describe("renovate.json against Renovate's schema", () => {
  test("GIVEN renovate.json WHEN validated against renovate-schema.json THEN valid", () => {
    assert.ok(validateSchema(config), JSON.stringify(validateSchema.errors, null, 2));
  });

  test("GIVEN a broken config WHEN validated THEN the schema rejects it (the validator can fail)", () => {
    const broken = { ...config, pinDigests: "yes", customManagers: [{ ...config.customManagers[0], customType: "regexp" }] };
    assert.equal(validateSchema(broken), false);
    const paths = validateSchema.errors!.map((e) => e.instancePath);
    assert.ok(paths.includes("/pinDigests"), paths.join(", "));
    assert.ok(paths.includes("/customManagers/0/customType"), paths.join(", "));
  });

  // The schema leaves unknown keys open; Renovate's validator does not. A typo
  // such as "pinDigest" would otherwise pass here and be ignored by Renovate.
  test("GIVEN every key in renovate.json WHEN looked up THEN Renovate knows it", () => {
    const top = new Set([...Object.keys(schema.properties), "$schema"]);
    for (const k of Object.keys(config)) assert.ok(top.has(k), `unknown top-level key ${k}`);
    const cm = itemProperties("customManagers");
    for (const m of config.customManagers) for (const k of Object.keys(m)) assert.ok(cm.has(k), `unknown customManagers key ${k}`);
    // A package rule holds match* keys plus any repository option (groupName, labels, …).
    const pr = new Set([...itemProperties("packageRules"), ...top]);
    for (const r of config.packageRules) for (const k of Object.keys(r)) assert.ok(pr.has(k), `unknown packageRules key ${k}`);
  });

  test("GIVEN the action pins WHEN Renovate proposes them THEN digests are pinned, nothing merges itself, and a moved tag needs a human", () => {
    assert.equal(config.pinDigests, true);
    assert.equal(JSON.stringify(config).includes('"automerge":true'), false);
    // github-tags: the datasource of both the pins.ts manager and Renovate's github-actions manager.
    const moved = config.packageRules.find((r) => JSON.stringify(r.matchUpdateTypes) === '["digest"]');
    assert.deepEqual(moved?.matchDatasources, ["github-tags"]);
    assert.equal(moved?.dependencyDashboardApproval, true);
    assert.equal(config.customManagers.find((m) => m.managerFilePatterns.includes("/^components/pins\\.ts$/"))?.datasourceTemplate, "github-tags");
  });
});

describe("custom managers, as Renovate's config validator checks them", () => {
  for (const m of config.customManagers) {
    test(`GIVEN the manager for ${m.managerFilePatterns.join(", ")} WHEN checked THEN it names datasource, depName and a version or digest`, () => {
      assert.equal(m.customType, "regex");
      // lib/config/validation-helpers/utils.ts validateRegexManagerFields
      const has = (field: string) => m[`${field}Template`] !== undefined || m.matchStrings.some((s) => s.includes(`(?<${field}>`));
      assert.ok(has("datasource"), "Regex Managers must contain datasourceTemplate configuration or regex group named datasource");
      assert.ok(has("currentValue") || has("currentDigest"), "Regex Managers must contain currentValue or currentDigest");
      assert.ok(has("depName") || has("packageName"), "Regex Managers must contain depName or packageName regex groups or templates");
      // Renovate runs matchStrings with RE2 where it can: no lookaround, no backreferences.
      for (const s of m.matchStrings) assert.doesNotMatch(s, /\(\?<?[=!]|\\[1-9]|\\k</, `${s}: not RE2-compatible`);
    });
  }
});

describe("infra/base-images.ts: every base image is found and parsed", () => {
  const file = "infra/base-images.ts";
  const deps = extract(managerFor(file), file);
  const expected = Object.values(BASE_IMAGES).map((ref) => {
    const m = /^(?<image>[^:@]+)(?::(?<tag>[^@]+))?@(?<digest>sha256:[0-9a-f]{64})$/.exec(ref)!;
    return { depName: m.groups!.image, currentValue: m.groups!.tag, currentDigest: m.groups!.digest, datasource: "docker" };
  });

  test("GIVEN the table WHEN extracted THEN one dependency per entry, with image, tag and digest", () => {
    assert.deepEqual(
      deps.map((d) => ({ depName: d.depName, currentValue: d.currentValue, currentDigest: d.currentDigest, datasource: d.datasource })),
      expected,
    );
    assert.deepEqual(expected.map((e) => e.depName), ["golang", "gcr.io/distroless/static"]);
  });

  test("GIVEN each `// renovate:` comment WHEN read THEN it is followed by its entry (no comment left unmatched)", () => {
    const comments = fs.readFileSync(path.join(PROJECT_ROOT, file), "utf8").match(/\/\/ renovate:/g) ?? [];
    assert.equal(comments.length, deps.length);
  });

  test("GIVEN an entry without a digest WHEN extracted THEN it is not matched, so the comment count above catches it", () => {
    const m = managerFor(file);
    const unpinned = '  // renovate: datasource=docker depName=golang\n  goBuilder: "golang:1.26.2-alpine",\n';
    assert.equal([...unpinned.matchAll(new RegExp(m.matchStrings[0], "g"))].length, 0);
  });
});

describe("components/pins.ts: every pinned action is found and parsed", () => {
  const file = "components/pins.ts";
  const deps = extract(managerFor(file), file);

  test("GIVEN the table WHEN extracted THEN one dependency per action: owner/repo, tag and commit SHA, from GitHub tags", () => {
    assert.deepEqual(
      deps.map((d) => ({ depName: d.depName, currentValue: d.currentValue, currentDigest: d.currentDigest, datasource: d.datasource })),
      Object.values(ACTIONS).map((a) => ({
        depName: a.uses.split("/").slice(0, 2).join("/"),
        currentValue: a.version,
        currentDigest: a.sha,
        datasource: "github-tags",
      })),
    );
  });

  test("GIVEN each `// renovate:` comment WHEN read THEN it is followed by its entry", () => {
    const comments = fs.readFileSync(path.join(PROJECT_ROOT, file), "utf8").match(/\/\/ renovate:/g) ?? [];
    assert.equal(comments.length, Object.keys(ACTIONS).length);
    assert.equal(deps.length, Object.keys(ACTIONS).length);
  });

  test("GIVEN a short SHA WHEN extracted THEN it is not matched", () => {
    const m = managerFor(file);
    const short = '  // renovate: action=actions/checkout\n  checkout: { uses: "actions/checkout", sha: "3d3c42e", version: "v7.0.1" },\n';
    assert.equal([...short.matchAll(new RegExp(m.matchStrings[0], "g"))].length, 0);
  });
});
