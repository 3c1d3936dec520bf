/**
 * Pulumi.yaml and Pulumi.prod.yaml agree with the program: the entry point
 * exists, every config key the program reads is declared with a type and a
 * description, every key the example stack sets is declared, and no secret
 * is committed in clear.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import { parse } from "yaml";
import { PROJECT_ROOT } from "../../infra/mirrors";
import { settingsFromStackFile } from "../../infra/settings";

const project = parse(fs.readFileSync(path.join(PROJECT_ROOT, "Pulumi.yaml"), "utf8"));
const stack = parse(fs.readFileSync(path.join(PROJECT_ROOT, "Pulumi.prod.yaml"), "utf8"));
const declared = project.config as Record<string, { type?: string; description?: string; secret?: boolean }>;

test("GIVEN Pulumi.yaml WHEN read THEN it runs infra/ with TypeScript and disables every default provider", () => {
  assert.equal(project.name, "mirror-fleet");
  assert.deepEqual(project.runtime, { name: "nodejs", options: { typescript: true, packagemanager: "npm" } });
  assert.equal(project.main, "infra/");
  assert.ok(fs.existsSync(path.join(PROJECT_ROOT, "infra/index.ts")));
  assert.deepEqual(declared["pulumi:disable-default-providers"], ["*"]);
});

test("GIVEN the program's config reads WHEN compared THEN each key is declared with a type and a description", () => {
  const sources = ["infra/settings.ts", "infra/index.ts"].map((f) => fs.readFileSync(path.join(PROJECT_ROOT, f), "utf8")).join("\n");
  const read = new Set([...sources.matchAll(/(?:get|require|getSecret|getBoolean|getNumber)\("([A-Za-z]+)"\)/g)].map((m) => m[1]));
  const settingsKeys = [...fs.readFileSync(path.join(PROJECT_ROOT, "infra/settings.ts"), "utf8").matchAll(/(?:str|bool|get)\("([A-Za-z]+)"\)/g)].map((m) => m[1]);
  for (const k of settingsKeys) read.add(k);
  assert.ok(read.size >= 8, [...read].join(", "));
  for (const key of read) {
    const d = declared[`mirror-fleet:${key}`];
    assert.ok(d, `mirror-fleet:${key} is read by the program but not declared in Pulumi.yaml`);
    assert.ok(d.type && d.description, `mirror-fleet:${key} needs a type and a description`);
  }
});

test("GIVEN Pulumi.prod.yaml WHEN read THEN every key is declared, secrets are not in clear, and the settings resolve", () => {
  for (const [key, value] of Object.entries(stack.config as Record<string, unknown>)) {
    assert.ok(declared[key], `${key} is set in Pulumi.prod.yaml but not declared in Pulumi.yaml`);
    if (declared[key].secret) assert.ok(typeof value === "object" && value !== null && "secure" in value, `${key} is a secret and must be set with --secret`);
  }
  assert.deepEqual(settingsFromStackFile(path.join(PROJECT_ROOT, "Pulumi.prod.yaml")), {
    owner: "acme-corp",
    registryNamespace: "acme-corp",
    visibility: "private",
    branchProtection: true,
    attestations: false,
  });
});

test("GIVEN a stack file with a bad value WHEN read THEN the error names the file, the key and what is allowed", () => {
  const dir = fs.mkdtempSync(path.join(require("node:os").tmpdir(), "stack-"));
  try {
    const f = path.join(dir, "Pulumi.bad.yaml");
    fs.writeFileSync(f, "config:\n  mirror-fleet:githubOwner: acme\n  mirror-fleet:visibility: internal\n  mirror-fleet:branchProtection: maybe\n");
    assert.throws(() => settingsFromStackFile(f), {
      message: 'Pulumi.bad.yaml:\n  - mirror-fleet:visibility: "internal" is not allowed (allowed: private, public)\n  - mirror-fleet:branchProtection: "maybe" is not allowed (allowed: true, false)',
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
