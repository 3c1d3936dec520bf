/**
 * Validation and resolution of mirror entries: every bad entry fails before
 * any resource exists, and one message lists every problem with its file and
 * field (DESIGN invariant 8).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { FleetConfigError, fromLines, resolveFleet, spreadSchedule, type MirrorEntry } from "../../components/spec";
import type { StackSettings } from "../../components/types";
import { policy } from "../../infra/policy";
import { FIXTURE_FLEET, resolveTestFleet } from "../support/fleets";
import { USER_FLEET, USER_FLEET_DAY } from "../support/user-fleet";

const settings: StackSettings = { owner: "acme-corp", registryNamespace: "acme-corp", visibility: "private", branchProtection: true, attestations: false };
const today = new Date("2026-11-23T12:00:00Z");
const PINNED = "FROM golang:1.26.2-alpine@sha256:f85330846cde1e57ca9ec309382da3b8e6ae3ab943d2739500e08c86393a21b1 AS build\nARG VERSION\nFROM scratch\nCOPY --from=build /x /x\n";
const files: Record<string, string> = { "mirrors/good.Dockerfile": PINNED, "mirrors/tagged.Dockerfile": "FROM alpine:3.19\nARG VERSION\n" };
const readFile = (p: string) => {
  if (!(p in files)) throw new Error("ENOENT");
  return files[p];
};
const good = { name: "good", upstream: { repo: "Forceu/Gokapi" }, override: { file: "good.Dockerfile" } };

function problemsOf(entries: MirrorEntry[]): readonly string[] {
  try {
    resolveFleet(entries, { policy, settings, readFile, today });
  } catch (e) {
    assert.ok(e instanceof FleetConfigError, String(e));
    return e.problems;
  }
  assert.fail("expected a FleetConfigError");
}

describe("resolveFleet: bad entries", () => {
  const cases: Array<[string, Record<string, unknown>, string]> = [
    ["bad owner/repo", { ...good, upstream: { repo: "not a repo" } }, `upstream.repo: "not a repo" is not allowed (allowed: a GitHub 'owner/repo')`],
    ["uppercase image", { ...good, image: "ghcr.io/acme-corp/Gokapi" }, `image: "ghcr.io/acme-corp/Gokapi" is not allowed (allowed: lowercase letters, digits and . _ - separators; GHCR rejects uppercase)`],
    ["image outside the stack's registry", { ...good, image: "docker.io/acme/gokapi" }, `image: "docker.io/acme/gokapi" is not allowed (allowed: a repository of the stack's registry, 'ghcr.io/<namespace>/<name>' or a bare '<name>')`],
    ["image with tag", { ...good, image: "ghcr.io/acme-corp/gokapi:latest" }, `image: "ghcr.io/acme-corp/gokapi:latest" is not allowed (allowed: lowercase letters, digits and . _ - separators; GHCR rejects uppercase)`],
    ["invalid semver range", { ...good, upstream: { repo: "a/b", tags: { range: ">=banana" } } }, `upstream.tags.range: ">=banana" is not allowed (allowed: a semver range such as '>=2.0.0 <3')`],
    ["unknown severity", { ...good, gate: { severities: ["HIGH", "SEVERE"] } }, `gate.severities[1]: "SEVERE" is not allowed (allowed: CRITICAL, HIGH, MEDIUM, LOW, UNKNOWN)`],
    ["missing override file", { ...good, override: { file: "nope.Dockerfile" } }, `override.file: mirrors/nope.Dockerfile does not exist (allowed: a Dockerfile next to mirrors/x.ts)`],
    ["override not pinned", { ...good, override: { file: "tagged.Dockerfile" } }, `override: mirrors/tagged.Dockerfile: FROM alpine:3.19 is not pinned (allowed: image:tag@sha256:<64 hex>; see infra/base-images.ts)`],
    ["override missing", { name: "good", upstream: { repo: "a/b" } }, `override: missing (allowed: { file: "<name>.Dockerfile" } next to the entry, { preset: … } from components/presets.ts, or null to build upstream's Dockerfile)`],
    ["waiver without reason", { ...good, gate: { waivers: [{ id: "CVE-2026-1", expires: "2027-01-01", approvedBy: "alice" }] } }, `gate.waivers[0].reason: undefined is not allowed (allowed: a written reason of at least 10 characters)`],
    ["waiver expired", { ...good, gate: { waivers: [{ id: "CVE-2026-1", reason: "not reachable in our setup", expires: "2026-11-22", approvedBy: "alice" }] } }, `gate.waivers[0].expires: 2026-11-22 is in the past (allowed: today or later; renew the waiver with a new reason or remove it)`],
    ["waiver date not a date", { ...good, gate: { waivers: [{ id: "CVE-2026-1", reason: "not reachable in our setup", expires: "2026-02-30", approvedBy: "alice" }] } }, `gate.waivers[0].expires: "2026-02-30" is not a calendar date (allowed: a date YYYY-MM-DD)`],
    ["affected without action", { ...good, gate: { waivers: [{ id: "CVE-2026-1", reason: "we accept it for now", expires: "2027-01-01", approvedBy: "alice", status: "affected" }] } }, `gate.waivers[0].action: missing (allowed: an action statement; OpenVEX requires one for status affected)`],
    ["unknown key", { ...good, upstream: { repo: "a/b", tag: "v1" } }, `upstream.tag: unknown key (allowed: repo, tags, license)`],
    ["unknown top-level key", { ...good, imge: "x" }, `imge: unknown key (allowed: name, upstream, image, override, build, watch, gate, reviewers, schedule, notify, attestations, preflight)`],
    ["bad name", { ...good, name: "Gokapi!" }, `name: "Gokapi!" is not allowed (allowed: lowercase letters, digits and '-', 1 to 39 characters, not starting or ending with '-')`],
    ["reserved build arg", { ...good, build: { args: { VERSION: "1" } } }, `build.args.VERSION: reserved (allowed: any other name; VERSION is always the upstream tag)`],
    ["bad platform", { ...good, build: { platforms: ["windows/amd64"] } }, `build.platforms[0]: "windows/amd64" is not allowed (allowed: linux/amd64, linux/arm64, linux/arm/v7, linux/arm/v6, linux/386, linux/ppc64le, linux/s390x, linux/riscv64)`],
    ["path traversal in watch", { ...good, watch: ["../etc/passwd"] }, `watch[0]: "../etc/passwd" is not allowed (allowed: a relative path inside the upstream checkout)`],
    ["preflight without override", { ...good, override: null, preflight: true }, `preflight: true needs an override (allowed: false, or set override)`],
    ["unknown notify target", { ...good, notify: ["email"] }, `notify[0]: "email" is not allowed (allowed: slack, teams)`],
  ];
  for (const [what, spec, message] of cases) {
    test(`GIVEN ${what} WHEN resolved THEN it fails naming file and field`, () => {
      assert.deepEqual(problemsOf([{ file: "mirrors/x.ts", spec }]), [`mirrors/x.ts: ${message}`]);
    });
  }

  test("GIVEN several bad entries WHEN resolved THEN one error lists every problem of every file", () => {
    const problems = problemsOf([
      { file: "mirrors/a.ts", spec: { ...good, name: "a", upstream: { repo: "x" }, image: "docker.io/a/a" } },
      { file: "mirrors/b.ts", spec: { ...good, name: "b", gate: { severities: ["SEVERE"] } } },
      { file: "mirrors/c.ts", spec: { ...good, name: "c" } },
    ]);
    assert.deepEqual(problems, [
      `mirrors/a.ts: upstream.repo: "x" is not allowed (allowed: a GitHub 'owner/repo')`,
      `mirrors/a.ts: image: "docker.io/a/a" is not allowed (allowed: a repository of the stack's registry, 'ghcr.io/<namespace>/<name>' or a bare '<name>')`,
      `mirrors/b.ts: gate.severities[0]: "SEVERE" is not allowed (allowed: CRITICAL, HIGH, MEDIUM, LOW, UNKNOWN)`,
    ]);
    const err = (() => { try { resolveFleet([{ file: "mirrors/a.ts", spec: { ...good, upstream: { repo: "x" } } }], { policy, settings, readFile, today }); } catch (e) { return e as Error; } return undefined; })();
    assert.match(err!.message, /^1 problem in mirrors\/; nothing was created:\n  - mirrors\/a.ts: upstream.repo/);
  });

  test("GIVEN two entries with one name WHEN resolved THEN the duplicate names both files", () => {
    assert.deepEqual(problemsOf([
      { file: "mirrors/a.ts", spec: good },
      { file: "mirrors/b.ts", spec: { ...good, image: "other" } },
    ]), [`mirrors/a.ts and mirrors/b.ts: name: "good" is used by both (allowed: a value unique in the fleet)`]);
  });

  test("GIVEN two entries pushing one image WHEN resolved THEN the duplicate image is reported", () => {
    assert.deepEqual(problemsOf([
      { file: "mirrors/a.ts", spec: good },
      { file: "mirrors/b.ts", spec: { ...good, name: "other", image: "good" } },
    ]), [`mirrors/a.ts and mirrors/b.ts: image: "ghcr.io/acme-corp/good" is used by both (allowed: a value unique in the fleet)`]);
  });

  test("GIVEN a file that throws when loaded WHEN resolved THEN its message is reported with the others", () => {
    assert.deepEqual(problemsOf([
      { file: "mirrors/x.ts", spec: undefined, loadError: "goStaticDistroless: module: missing" },
      { file: "mirrors/y.ts", spec: { ...good, name: "y", upstream: { repo: "x" } } },
    ]), [
      `mirrors/x.ts: could not be loaded: goStaticDistroless: module: missing`,
      `mirrors/y.ts: upstream.repo: "x" is not allowed (allowed: a GitHub 'owner/repo')`,
    ]);
  });

  test("GIVEN a file whose default export is not an object WHEN resolved THEN it says so, and what is allowed", () => {
    assert.deepEqual(problemsOf([{ file: "mirrors/x.ts", spec: "gokapi" }]), [
      `mirrors/x.ts: default export: "gokapi" is not allowed (allowed: an object with name, upstream, image, override, build, watch, gate, reviewers, schedule, notify, attestations, preflight)`,
    ]);
  });

  test("GIVEN fields of the wrong kind (a string for an object, an object or a string for a list) WHEN resolved THEN each line names the field, the value and what is allowed", () => {
    const wrong = { ...good, upstream: "miniflux/v2", override: "miniflux.Dockerfile", build: { platforms: "linux/amd64", args: "VERSION=1" }, gate: { waivers: { id: "CVE-2026-1" } }, reviewers: "alice", notify: "slack" };
    assert.deepEqual(problemsOf([{ file: "mirrors/x.ts", spec: wrong }]), [
      `mirrors/x.ts: upstream: "miniflux/v2" is not allowed (allowed: an object with repo, tags, license)`,
      `mirrors/x.ts: override: "miniflux.Dockerfile" is not allowed (allowed: { file: "<name>.Dockerfile" } next to the entry, { preset: … } from components/presets.ts, or null to build upstream's Dockerfile)`,
      `mirrors/x.ts: build.args: "VERSION=1" is not allowed (allowed: an object of build argument names and string values)`,
      `mirrors/x.ts: build.platforms: "linux/amd64" is not allowed (allowed: a list of platforms, e.g. ["linux/amd64"])`,
      `mirrors/x.ts: gate.waivers: {"id":"CVE-2026-1"} is not allowed (allowed: a list of waivers, each { id, reason, expires, … })`,
      `mirrors/x.ts: reviewers: "alice" is not allowed (allowed: a list of GitHub logins or 'org/team')`,
      `mirrors/x.ts: notify: "slack" is not allowed (allowed: a list of slack, teams)`,
    ]);
  });
});

describe("resolveFleet: the worked examples (the fixture fleet)", () => {
  const fleet = resolveTestFleet(FIXTURE_FLEET, { settings, today });
  const gokapi = fleet.mirrors.find((m) => m.name === "gokapi")!;
  const plik = fleet.mirrors.find((m) => m.name === "plik")!;

  test("GIVEN the fixture fleet WHEN resolved THEN gokapi and plik resolve with the policy's defaults", () => {
    assert.deepEqual(fleet.mirrors.map((m) => m.name), ["gokapi", "plik"]);
    assert.equal(gokapi.repo, "mirror-gokapi");
    assert.equal(gokapi.image, "ghcr.io/acme-corp/gokapi");
    assert.deepEqual(gokapi.gate.severities, ["CRITICAL", "HIGH"]);
    assert.equal(gokapi.gate.fixedOnly, true);
    assert.deepEqual(gokapi.upstream.tags, { range: ">=2.0.0", prerelease: false, prefix: "" });
    assert.equal(plik.override, null);
    assert.deepEqual(plik.build.platforms, ["linux/amd64"]);
  });

  test("GIVEN the Gokapi override WHEN resolved THEN both FROM lines are digest-pinned from the base image table", async () => {
    const { BASE_IMAGES } = await import("../../infra/base-images");
    assert.deepEqual(gokapi.override!.basePins, [BASE_IMAGES.goBuilder, BASE_IMAGES.distrolessStaticNonroot]);
    assert.equal(gokapi.override!.source, "mirrors/gokapi.Dockerfile");
    assert.match(gokapi.override!.content, /go mod edit -module github\.com\/forceu\/gokapi\/v2/);
    assert.match(gokapi.override!.content, /EXPOSE 53842/);
    assert.match(gokapi.override!.content, /VOLUME \["\/app\/data", "\/app\/config"\]/);
  });

  test("GIVEN a waiver within the notice period WHEN resolved THEN a warning names it, and no error", () => {
    const r = resolveTestFleet(FIXTURE_FLEET, { settings, today: new Date("2027-02-10T00:00:00Z") });
    assert.deepEqual(r.warnings, ["mirrors/gokapi.ts: gate.waivers[0] (CVE-2026-34986) expires in 18 days, on 2027-02-28"]);
  });

  test("GIVEN preflight switched on fleet-wide WHEN resolved THEN it applies where there is an override to build, and is no error elsewhere", () => {
    const on = { ...policy, deploy: { ...policy.deploy, preflight: true } };
    const r = resolveTestFleet(FIXTURE_FLEET, { policy: on, settings, today });
    assert.deepEqual(r.mirrors.map((m) => [m.name, m.preflight]), [["gokapi", true], ["plik", false]]);
  });
});

describe("resolveFleet: the user's mirrors/ (what holds for any valid fleet)", () => {
  test("GIVEN mirrors/ WHEN resolved THEN every entry resolves, in file order, each built and rescanned inside the policy's window", () => {
    const entries = USER_FLEET.entries();
    const fleet = resolveTestFleet(USER_FLEET, { settings, today: USER_FLEET_DAY });
    assert.deepEqual(fleet.mirrors.map((m) => m.sourceFile), entries.map((e) => e.file));
    const { startHour, hours } = policy.schedule;
    for (const m of fleet.mirrors) {
      const [minute, hour] = m.cron.build.split(" ").map(Number);
      const offset = ((hour - startHour + 24) % 24) * 60 + minute;
      assert.ok(offset < hours * 60, `${m.sourceFile}: build at ${m.cron.build}, outside the ${hours}-hour window from ${startHour}:00`);
      assert.equal(m.cron.rescan, `${minute} ${(hour + 12) % 24} * * *`, m.sourceFile);
    }
  });

  test("GIVEN the same fleet WHEN resolved twice THEN the result is identical (deterministic schedule)", () => {
    const fleet = resolveTestFleet(USER_FLEET, { settings, today: USER_FLEET_DAY });
    assert.deepEqual(resolveTestFleet(USER_FLEET, { settings, today: USER_FLEET_DAY }).mirrors, fleet.mirrors);
  });
});
