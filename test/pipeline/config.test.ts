import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { mirrorConfig } from "../../components/mirror-config";
import { renderConfig } from "../../components/render";
import type { StackSettings } from "../../components/types";
import { ConfigError, loadConfigOption, loadMirrorConfig, parseSeverities } from "../../pipeline/lib/config";
import { configYaml, tmpDir } from "../fixtures/pipeline/harness";
import { propertyMirrors } from "../support/user-fleet";

const settings: StackSettings = { owner: "acme", registryNamespace: "acme", visibility: "private", branchProtection: false, attestations: false };

function write(text: string): string {
  const f = path.join(tmpDir(), "config.yml");
  fs.writeFileSync(f, text);
  return f;
}

describe("config: the pipeline reads what deploy time renders", () => {
  for (const { label, mirror: m } of propertyMirrors(settings, new Date("2026-11-23T00:00:00Z"))) {
    it(`GIVEN the rendered .mirror/config.yml of ${label} WHEN loaded THEN exactly mirrorConfig(m)`, () => {
      assert.deepEqual(loadMirrorConfig(write(renderConfig(m)), ".mirror/config.yml"), JSON.parse(JSON.stringify(mirrorConfig(m))));
    });
  }
});

describe("config: problems are all reported, naming the file and the field", () => {
  const good = configYaml({ range: "*", prerelease: false, prefix: "" });
  const cases: Array<{ name: string; text: string; problems: string[] }> = [
    { name: "a newer schema", text: good.replace("schema: 1", "schema: 2"), problems: ["schema: 2 is not supported (allowed: 1; this pipeline bundle is older or newer than the config)"] },
    {
      name: "an unknown severity and a non-boolean",
      text: good.replace("    - HIGH", "    - SEVERE").replace("fixedOnly: true", "fixedOnly: yes"),
      problems: ['gate.severities[1]: "SEVERE" is not allowed (allowed: CRITICAL, HIGH, MEDIUM, LOW, UNKNOWN)', 'gate.fixedOnly: "yes" is not allowed (allowed: true or false)'],
    },
    { name: "an unknown key", text: good + "extra: 1\n", problems: ["extra: unknown key (allowed: schema, name, repository, upstream, image, override, build, watch, gate, health, attestations, reviewers, overrideReview)"] },
    { name: "a missing key", text: good.replace("attestations: false\n", ""), problems: ["attestations: missing is not allowed (allowed: true or false)"] },
    { name: "no override key", text: good.replace("override: null\n", ""), problems: ["override: missing (allowed: null or a mapping)"] },
    { name: "a watch path leaving the checkout", text: good.replace("  - Dockerfile\n", "  - ../x\n"), problems: ['watch[0]: "../x" is not allowed (allowed: a relative path inside the upstream checkout)'] },
  ];
  for (const c of cases) {
    it(`GIVEN ${c.name} WHEN loaded THEN ConfigError listing it`, () => {
      assert.throws(() => loadMirrorConfig(write(c.text), "cfg.yml"), (e: unknown) => {
        assert.ok(e instanceof ConfigError);
        assert.deepEqual(e.problems, c.problems);
        assert.ok(e.message.startsWith("cfg.yml: "));
        return true;
      });
    });
  }

  it("GIVEN YAML the reader refuses WHEN loaded THEN the file and line", () => {
    assert.throws(() => loadMirrorConfig(write("a: &x 1\n"), "cfg.yml"), { message: "cfg.yml: not readable YAML: cfg.yml:1: anchors, aliases and tags are not supported" });
  });

  it("GIVEN --config naming a missing file THEN an error; without --config and no default file THEN no config", () => {
    const cwd = tmpDir();
    assert.throws(() => loadConfigOption(cwd, "nope.yml"), { message: "nope.yml: cannot be read (ENOENT)" });
    assert.equal(loadConfigOption(cwd, undefined), undefined);
  });

  const severities: Array<[string, string[] | string]> = [
    ["CRITICAL,HIGH", ["CRITICAL", "HIGH"]],
    ["critical, high ,HIGH", ["CRITICAL", "HIGH"]],
    ["UNKNOWN", ["UNKNOWN"]],
    ["HIGH,SEVERE", '--severity: "SEVERE" is not a severity (allowed: a comma-separated list of CRITICAL, HIGH, MEDIUM, LOW, UNKNOWN)'],
    [",", "--severity: empty (allowed: a comma-separated list of CRITICAL, HIGH, MEDIUM, LOW, UNKNOWN)"],
  ];
  for (const [input, want] of severities) {
    it(`GIVEN --severity ${JSON.stringify(input)} THEN ${JSON.stringify(want)}`, () => {
      if (typeof want === "string") assert.throws(() => parseSeverities(input), { message: want });
      else assert.deepEqual(parseSeverities(input), want);
    });
  }
});
