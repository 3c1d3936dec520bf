/**
 * What `resolve` says about input it does not use: skipped tag lines are
 * counted and named, monorepo tags get the prefix they share, a missing pin
 * file is named.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { resolveTag, sharedPrefixes, skippedTagLines, type UpstreamTag } from "../../pipeline/lib/tags";
import { run, tmpDir } from "../fixtures/pipeline/harness";

const PATTERN = "^[A-Za-z0-9][A-Za-z0-9._+/-]{0,127}$";

describe("resolve --tags-file: skipped lines", () => {
  it("GIVEN lines whose tag is not allowed WHEN resolve THEN it counts and names each, quoted, and builds from the rest", async () => {
    const cwd = tmpDir();
    fs.writeFileSync(path.join(cwd, "tags.txt"), "# upstream tags\nv1.3.0 2026-01-01\nv1.4.0;rm -rf /\n\n$(touch /tmp/pwned)\nv1.3.1\n");
    const r = await run(["resolve", "--tags-file", "tags.txt"], { cwd });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json.tag, "v1.3.1");
    assert.equal(
      r.stderr.split("\n")[0],
      `resolve: skipped 2 of 4 lines of tags.txt whose tag name is not allowed (allowed: ${PATTERN}): line 3 "v1.4.0;rm -rf /", line 5 "$(touch /tmp/pwned)"`,
    );
    assert.equal(fs.existsSync("/tmp/pwned"), false);
  });

  it("GIVEN a clean tags file WHEN resolve THEN nothing is said about skipped lines", async () => {
    const cwd = tmpDir();
    fs.writeFileSync(path.join(cwd, "tags.txt"), "v1.0.0\n");
    const r = await run(["resolve", "--tags-file", "tags.txt"], { cwd });
    assert.doesNotMatch(r.stderr, /skipped/);
  });

  it("GIVEN skippedTagLines WHEN a line has a good tag and a date THEN it is not skipped", () => {
    assert.deepEqual(skippedTagLines("v1 2026-01-01 10:00\n  |x\n#c\n"), [{ line: 2, text: "|x" }]);
  });
});

describe("resolve: monorepo tags without a prefix", () => {
  const tags: UpstreamTag[] = ["photos-v1.0.0", "photos-v1.2.0", "photos-v1.3.0-rc.1", "api-v3.1.0", "api-v3.2.0", "docs-2026.1", "latest"].map((name) => ({ name }));

  it("GIVEN tags that all carry a prefix WHEN no policy prefix THEN the error suggests the prefixes they share, most used first", () => {
    assert.throws(
      () => resolveTag(tags, { range: "*", prerelease: false, prefix: "" }, { lastTag: null }),
      {
        message:
          `no upstream tag matches the tag policy (range "*", prereleases excluded, prefix none); 7 tags seen, the last listed: photos-v1.3.0-rc.1, api-v3.1.0, api-v3.2.0, docs-2026.1, latest; ` +
          `the tags carry a prefix: set upstream.tags.prefix (or --prefix) to "photos-v" (3 tags) or "api-v" (2 tags) or "docs-" (1 tag)`,
      },
    );
  });

  it("GIVEN the suggested prefix WHEN resolved THEN it finds the newest of that component", () => {
    assert.equal(resolveTag(tags, { range: "*", prerelease: false, prefix: "photos-v" }, { lastTag: null }).tag, "photos-v1.2.0");
  });

  it("GIVEN a digit inside the component name WHEN prefixes are found THEN the whole name is the prefix", () => {
    assert.deepEqual(sharedPrefixes([{ name: "app2-v1.0.0" }, { name: "app2-v1.1.0" }, { name: "v9.0.0" }]), [{ prefix: "app2-v", count: 2 }]);
  });

  it("GIVEN a policy with a prefix that matches nothing WHEN resolved THEN no prefix is suggested", () => {
    assert.throws(() => resolveTag(tags, { range: "*", prerelease: false, prefix: "web-v" }, { lastTag: null }), (e: Error) => !/carry a prefix/.test(e.message));
  });
});

describe("resolve --pin", () => {
  it("GIVEN a --pin file that does not exist WHEN resolve THEN it says so, and builds as nothing pinned", async () => {
    const cwd = tmpDir();
    fs.writeFileSync(path.join(cwd, "tags.txt"), "v1.0.0\n");
    const r = await run(["resolve", "--tags-file", "tags.txt", "--pin", "pins/image-pin.yml"], { cwd });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json.reason, "nothing is pinned yet: building the newest allowed tag v1.0.0");
    assert.match(r.stderr, new RegExp(`^resolve: pins/image-pin\\.yml does not exist in ${cwd.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: nothing is pinned yet \\(right for a mirror's first build; otherwise check --pin\\)$`, "m"));
  });
});
