/**
 * Issue 11 item 7: the audit record names the hash of the file that was
 * built (dockerfiles/Dockerfile.override, generated header included) and
 * calls the fleet repository's file hash the source's. Before, the config,
 * the inventory and the pin PR gave the source's hash next to the built
 * file's path, which an auditor reads as tampering.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";
import { parse } from "yaml";
import { inventoryEntry } from "../../components/inventory";
import { MIRROR_PATHS } from "../../components/mirror-config";
import { renderMirrorFiles } from "../../components/render";
import { fixtureMirror, PIPELINE } from "../workflow/fixtures";

const sha = (s: string | Buffer) => createHash("sha256").update(s).digest("hex");

describe("audit record: the override's hashes", () => {
  const m = fixtureMirror("gokapi");
  const files = renderMirrorFiles(m, PIPELINE);
  const built = files.find((f) => f.path === MIRROR_PATHS.override)!.content;
  const source = fs.readFileSync(path.join(__dirname, "..", "..", m.override!.source));

  test("GIVEN gokapi WHEN rendered THEN config.yml's override.sha256 is the committed Dockerfile.override's and sourceSha256 the fleet file's", () => {
    const config = parse(files.find((f) => f.path === MIRROR_PATHS.config)!.content) as { override: Record<string, string> };
    assert.notEqual(sha(built), sha(source), "the generated header makes the two files differ");
    assert.equal(config.override.path, MIRROR_PATHS.override);
    assert.equal(config.override.sha256, sha(built));
    assert.equal(config.override.source, m.override!.source);
    assert.equal(config.override.sourceSha256, sha(source));
  });

  test("GIVEN gokapi WHEN inventoried THEN the override names both hashes, each with its own file", () => {
    const e = inventoryEntry(m, files, new Date("2026-12-03T00:00:00Z"));
    assert.deepEqual({ ...e.override, basePins: [] }, { path: MIRROR_PATHS.override, sha256: sha(built), source: m.override!.source, sourceSha256: sha(source), basePins: [] });
    assert.equal(e.files[MIRROR_PATHS.override], e.override!.sha256);
  });

  // Red team 2026-12-07: the inventory left out who reviews, what is built, who is told, which scans gate, and each waiver's scope.
  test("GIVEN gokapi WHEN inventoried THEN it names its reviewers, platforms, notify targets, the scans that gate, and each waiver's approval day, scope and justification", () => {
    const e = inventoryEntry(m, files, new Date("2026-12-03T00:00:00Z"));
    assert.deepEqual([e.reviewers, e.platforms, e.notify, e.gate.scans], [m.reviewers, m.build.platforms, m.notify, m.gate.scans]);
    const w = m.gate.waivers[0];
    assert.deepEqual(
      { approvedOn: e.waivers[0].approvedOn, purls: e.waivers[0].purls, justification: e.waivers[0].justification },
      { approvedOn: "2026-11-23", purls: ["pkg:golang/github.com/go-jose/go-jose/v4@v4.1.3"], justification: w.justification },
    );
    assert.ok(e.reviewers.length > 0 && e.platforms.length > 0 && e.gate.scans.length > 0);
  });
});
