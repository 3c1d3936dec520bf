import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { describe, it } from "node:test";
import { COMMANDS } from "../../pipeline/main";
import { run } from "../fixtures/pipeline/harness";

const ROOT = path.resolve(__dirname, "../..");
const usageOf = (name: string) => COMMANDS.find((c) => c.name === name)!.usage;

describe("cli: the pipeline run from source", () => {
  it("GIVEN the fleet repo WHEN npm run --silent pipeline -- gate --help THEN the gate's usage on stdout, exit 0", () => {
    const r = spawnSync("npm", ["run", "--silent", "pipeline", "--", "gate", "--help"], { cwd: ROOT, encoding: "utf8", timeout: 120_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, usageOf("gate"));
  });

  for (const c of COMMANDS) {
    it(`GIVEN ${c.name} --help THEN its usage, exit 0`, async () => {
      const r = await run([c.name, "--help"]);
      assert.equal(r.code, 0);
      assert.equal(r.stdout, c.usage);
      assert.ok(c.usage.includes(c.name), "the usage names the command");
    });
  }

  for (const name of ["resolve", "review", "gate"]) {
    it(`GIVEN ${name} with an unknown flag THEN exit 2, the error and the usage on stderr, nothing on stdout`, async () => {
      const r = await run([name, "--no-such-flag"]);
      assert.equal(r.code, 2);
      assert.equal(r.stdout, "");
      assert.match(r.stderr, new RegExp(`^${name}: Unknown option '--no-such-flag'.*\\n\\n`));
      assert.ok(r.stderr.endsWith(usageOf(name)));
    });
  }

  it("GIVEN an unknown command THEN exit 2 and the command list", async () => {
    const r = await run(["deploy"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^unknown command "deploy"\n\nusage: mirror-pipeline <command> \[flags\]/);
  });

  it("GIVEN no command THEN the command list on stderr and exit 2", async () => {
    const r = await run([]);
    assert.equal(r.code, 2);
    assert.equal(r.stdout, "");
    assert.match(r.stderr, /^usage: mirror-pipeline <command> \[flags\]\n/);
  });
});
