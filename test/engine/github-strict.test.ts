/**
 * The real engine against a GitHub stand-in as strict as GitHub (issue 19):
 * who deploys (a GitHub App with the README's permissions, an organisation
 * member, an owner), what the default-branch ruleset then lets through, the
 * sealed secrets' plaintext, and an organisation like a real one (another
 * default branch renamed in the background, default labels, conditional
 * requests and rate limits, archived repositories, the Actions pull-request
 * policy). One mirror (gokapi) per fleet keeps each `up` short.
 */
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import { SIGNING_ENVIRONMENT } from "../../components/workflow/sign";
import type { Access, Identity } from "../support/github-access";
import { GITHUB_DEFAULT_LABELS, startGitHubStandIn, type GitHubStandIn } from "../support/github-standin";
import { changes, EngineProject, requireBuiltTools, ROOT, type EngineRun } from "./harness";

const OWNER = "acme-corp";
const MIRROR = "gokapi";
const REPO = `${OWNER}/mirror-${MIRROR}`;
const APP_ID = 4242;
const INSTALLATION = 678;
const FILE = ".mirror/config.yml";

/** The permissions README.md's Credentials table gives the deploying identity, as GitHub names them. */
function readmePermissions(): Record<string, Access> {
  const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
  const section = readme.split("## Credentials")[1]?.split("\n## ")[0] ?? "";
  const rows = [...section.matchAll(/^\| ([A-Z][a-z]+): (read and write|read) \|/gm)];
  assert.ok(rows.length >= 5, "README.md's Credentials table was not found");
  return Object.fromEntries(rows.map((m) => [m[1].toLowerCase(), m[2] === "read" ? "read" : "write"])) as Record<string, Access>;
}

function ok(r: EngineRun, what: string, s?: GitHubStandIn): NonNullable<EngineRun["summary"]> {
  const diagnostics = r.stdout.split("\nOutputs:")[0].split("Diagnostics:")[1] ?? r.stdout.slice(-4000);
  // What GitHub refused (403s name the permission wanted), to tell a program's defect from a stand-in's.
  const refused = (s?.requests ?? []).filter((x) => x.status === 401 || x.status === 403 || x.status >= 409).map((x) => `${x.method} ${x.url} (${x.operationId}) ${x.status}`);
  assert.equal(r.code, 0, `${what} failed:\n${diagnostics}\n${r.stderr.slice(-3000)}\nrefused by the stand-in:\n${refused.slice(-20).join("\n")}`);
  assert.ok(r.summary, `${what}: no JSON summary as the last line`);
  return r.summary;
}


/** The resources a run's output marks updated, as "TYPE NAME" (for messages). */
function updated(stdout: string): string[] {
  return [...stdout.matchAll(/~ +(\S+) (\S+) (?:updated|updating)/g)].map((m) => `${m[1]} ${m[2]}`);
}

/** A copy of the project with one mirror, seeded upstreams, and the stack settings given. */
async function fleet(s: GitHubStandIn, env: (p: EngineProject) => Record<string, string>, settings: Record<string, string> = {}): Promise<{ p: EngineProject; env: Record<string, string> }> {
  const p = EngineProject.create("mirror-fleet-strict-");
  for (const f of fs.readdirSync(path.join(p.dir, "mirrors"))) if (f.endsWith(".ts") && f !== `${MIRROR}.ts`) p.remove(`mirrors/${f}`);
  if (!s.hasRepo("Forceu/Gokapi")) {
    s.addRepo("Forceu/Gokapi", { private: false, date: "2026-03-10T00:00:00Z" });
    s.addRelease("Forceu/Gokapi", { tag: "v2.2.4", date: "2026-03-10T00:00:00Z" });
  }
  const e = env(p);
  for (const [k, v] of Object.entries(settings)) await p.setConfig(e, k, v);
  return { p, env: e };
}

/** The engine's environment for a token identity (GITHUB_TOKEN). */
const tokenEnv = (s: GitHubStandIn, token: string) => (p: EngineProject) => p.env(`${s.url}/`, token);

/** What the stand-in was sent from `from` on: writes, and the first refused one. */
function writesSince(s: GitHubStandIn, from: number) {
  const writes = s.requests.slice(from).filter((r) => ["POST", "PUT", "PATCH", "DELETE"].includes(r.method));
  return { writes, refused: writes.filter((w) => w.status >= 400) };
}

describe("deployed as a GitHub App with the README's permissions and its id as deployBypassActorId", { concurrency: false }, () => {
  let s: GitHubStandIn;
  let p: EngineProject;
  let env: Record<string, string>;
  const slack = "https://hooks.slack.example/services/T000/B000/strict";
  const cosign = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const cosignPublic = cosign.publicKey.export({ type: "spki", format: "pem" }).toString();
  // What cosign generate-key-pair writes is an encrypted PEM; the program passes it through as a secret.
  const cosignPrivate = cosign.privateKey.export({ type: "pkcs8", format: "pem", cipher: "aes-256-cbc", passphrase: "correct horse" }).toString();

  before(async () => {
    requireBuiltTools();
    const app = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const permissions = readmePermissions();
    const identities: Record<string, Identity> = {
      // The installation the App's JWT is exchanged for (the token itself is the one POST …/access_tokens hands out).
      "ghs_fleet_deploy_installation": { kind: "app", appId: APP_ID, installationId: INSTALLATION, slug: "fleet-deploy", permissions },
    };
    s = await startGitHubStandIn({ identities });
    s.addOrg(OWNER, { canApprovePullRequestReviews: true });
    s.addApp(String(APP_ID), app.publicKey.export({ type: "spki", format: "pem" }).toString());
    const pem = app.privateKey.export({ type: "pkcs1", format: "pem" }).toString();
    ({ p, env } = await fleet(
      s,
      (proj) => {
        const e: Record<string, string> = { ...proj.env(`${s.url}/`, ""), GITHUB_APP_ID: String(APP_ID), GITHUB_APP_INSTALLATION_ID: String(INSTALLATION), GITHUB_APP_PEM_FILE: pem };
        delete e.GITHUB_TOKEN;
        return e;
      },
      { "mirror-fleet:deployBypassActorId": String(APP_ID), "mirror-fleet:cosignPublicKey": cosignPublic },
    ));
    p.write(`mirrors/${MIRROR}.ts`, p.read(`mirrors/${MIRROR}.ts`).replace('  image: "gokapi",', '  image: "gokapi",\n  notify: ["slack"],'));
    await p.setConfig(env, "mirror-fleet:slackWebhookUrl", slack, { secret: true });
    await p.setConfig(env, "mirror-fleet:cosignPrivateKey", cosignPrivate, { secret: true });
    await p.setConfig(env, "mirror-fleet:cosignPassword", "correct horse", { secret: true });
  });

  after(async () => {
    await s?.stop();
    p?.cleanup();
  });

  test("GIVEN empty state WHEN up THEN the App makes everything, with only the README's permissions, and every secret opens to what the stack holds", async () => {
    const summary = ok(await p.run(["up"], env), "up as the App", s);
    assert.ok((summary.changes.create ?? 0) > 15);
    assert.deepEqual(s.rejected, []);
    assert.deepEqual(s.badResponses, []);
    const writers = new Set(s.writes().filter((w) => w.operationId !== "apps/create-installation-access-token").map((w) => w.actor));
    assert.deepEqual([...writers], ["fleet-deploy[bot]"], "every write was the App's");
    assert.equal(s.repo(REPO).createdBy, "fleet-deploy[bot]");
    assert.equal(s.secretValue(REPO, "MIRROR_SLACK_WEBHOOK"), slack);
    // A private repository on Team: the key is a secret of the signing environment (components/signing-key.ts).
    assert.equal(s.secretValue(REPO, "COSIGN_PRIVATE_KEY", SIGNING_ENVIRONMENT), cosignPrivate);
    assert.equal(s.secretValue(REPO, "COSIGN_PASSWORD", SIGNING_ENVIRONMENT), "correct horse");
    assert.deepEqual([...s.repo(REPO).secrets.keys()], ["MIRROR_SLACK_WEBHOOK"], "no repository secret but the webhook");
    const ruleset = [...s.repo(REPO).rulesets.values()][0];
    assert.deepEqual(ruleset.bypass_actors, [{ actor_id: APP_ID, actor_type: "Integration", bypass_mode: "always" }]);
  });

  test("GIVEN a generated file edited in the web UI WHEN up --refresh THEN the App's commit passes the ruleset through its bypass", async () => {
    const original = s.readFile(REPO, "main", FILE)!;
    s.putFile(REPO, "main", FILE, `${original}# edited by hand\n`);
    const from = s.requests.length;
    assert.deepEqual(changes(ok(await p.run(["up", "--refresh"], env), "drift fix")), { update: 1 });
    assert.equal(s.readFile(REPO, "main", FILE), original);
    assert.deepEqual(writesSince(s, from).refused, []);
  });

  test("GIVEN gate.severities changes WHEN up THEN the policy change is committed through the bypass", async () => {
    const policy = p.read("infra/policy.ts");
    p.write("infra/policy.ts", policy.replace('severities: ["CRITICAL", "HIGH"]', 'severities: ["CRITICAL"]'));
    try {
      const before = s.readFile(REPO, "main", FILE)!;
      // The mirror's config and its README (which names the severities).
      const from = s.requests.length;
      const r = await p.run(["up"], env);
      assert.deepEqual(changes(ok(r, "policy change")), { update: 2 }, updated(r.stdout).join("\n"));
      assert.deepEqual(
        writesSince(s, from).writes.filter((w) => w.operationId !== "apps/create-installation-access-token").map((w) => [w.operationId, w.status]),
        [
          ["repos/create-or-update-file-contents", 200],
          ["repos/create-or-update-file-contents", 200],
        ],
      );
      assert.notEqual(s.readFile(REPO, "main", FILE), before);
      assert.equal(s.head(REPO, "main")!.committer?.name, "mirror-fleet");
    } finally {
      p.write("infra/policy.ts", policy);
    }
  });

  test("GIVEN deployBypassActorId is not the deploying App's id WHEN preview and up THEN preview warns (it writes nothing, and CI previews as another App) and up stops before any write, naming the setting and what to set", async () => {
    await p.setConfig(env, "mirror-fleet:deployBypassActorId", "999");
    try {
      const from = s.requests.length;
      const said = /mirror-fleet:deployBypassActorId: 999, but the fleet deploys as the GitHub App 4242 \(GITHUB_APP_ID\): every later commit to a mirror's default branch would be refused by its ruleset/;
      const preview = await p.run(["preview"], env);
      assert.equal(preview.code, 0, `preview stopped:\n${preview.stderr.slice(-2000)}`);
      assert.match(preview.stdout, said);
      assert.match(preview.stdout, /a preview writes nothing; `up` as this identity stops here/);
      const up = await p.run(["up"], env);
      assert.notEqual(up.code, 0, "up went through");
      assert.match(up.stdout + up.stderr, said);
      assert.deepEqual(writesSince(s, from).writes.filter((w) => w.operationId !== "apps/create-installation-access-token"), []);
    } finally {
      await p.setConfig(env, "mirror-fleet:deployBypassActorId", String(APP_ID));
    }
  });

  test("GIVEN the ruleset's bypass moved by hand to another App WHEN up --refresh THEN it stops before any write: GitHub says the deploying App cannot bypass it", async () => {
    const ruleset = [...s.repo(REPO).rulesets.values()][0];
    const was = ruleset.bypass_actors;
    ruleset.bypass_actors = [{ actor_id: 999, actor_type: "Integration", bypass_mode: "always" }];
    try {
      const original = s.readFile(REPO, "main", FILE)!;
      s.putFile(REPO, "main", FILE, `${original}# edited again\n`);
      const from = s.requests.length;
      const r = await p.run(["up", "--refresh"], env);
      assert.notEqual(r.code, 0, "the drift fix went ahead");
      assert.match(r.stdout + r.stderr, /acme-corp\/mirror-gokapi: the deploying identity cannot bypass the ruleset "mirror-fleet: default branch" \(its bypass: Integration 999\)/);
      assert.deepEqual(writesSince(s, from).writes.filter((w) => w.operationId !== "apps/create-installation-access-token"), [], "a write reached GitHub");
      assert.equal(s.readFile(REPO, "main", FILE), `${original}# edited again\n`);
    } finally {
      ruleset.bypass_actors = was;
    }
  });
});

describe("deployed with an organisation member's token, and then an owner's (OrganizationAdmin bypass by default)", { concurrency: false }, () => {
  const OWNER_TOKEN = "ghp_owner_ada_strict_01";
  const MEMBER_TOKEN = "ghp_member_bob_strict_1";
  let s: GitHubStandIn;
  let p: EngineProject;
  let env: Record<string, string>;

  before(async () => {
    requireBuiltTools();
    s = await startGitHubStandIn({ identities: { [MEMBER_TOKEN]: { kind: "member", login: "bob", role: "write" }, [OWNER_TOKEN]: { kind: "owner", login: "ada" } } });
    s.addOrg(OWNER, { canApprovePullRequestReviews: true });
    ({ p, env } = await fleet(s, tokenEnv(s, MEMBER_TOKEN)));
  });

  after(async () => {
    await s?.stop();
    p?.cleanup();
  });

  test("GIVEN empty state WHEN a member runs up THEN everything is created (the member created the repository, so administers it)", async () => {
    ok(await p.run(["up"], env), "up as a member");
    assert.equal(s.repo(REPO).createdBy, "bob");
    assert.deepEqual([...s.repo(REPO).rulesets.values()][0].bypass_actors, [{ actor_id: null, actor_type: "OrganizationAdmin", bypass_mode: "always" }]);
  });

  test("GIVEN drift WHEN the member runs up THEN it stops before any write: a member is not an organisation admin, so GitHub says the ruleset cannot be bypassed", async () => {
    const original = s.readFile(REPO, "main", FILE)!;
    s.putFile(REPO, "main", FILE, `${original}# edited by hand\n`);
    const from = s.requests.length;
    const r = await p.run(["up", "--refresh"], env);
    assert.notEqual(r.code, 0);
    assert.match(r.stdout + r.stderr, /acme-corp\/mirror-gokapi: the deploying identity cannot bypass the ruleset "mirror-fleet: default branch" \(its bypass: OrganizationAdmin\), so every drift fix and policy change would be refused/);
    assert.deepEqual(writesSince(s, from).writes, [], "a write reached GitHub");
  });

  test("GIVEN the same drift WHEN an organisation owner runs up THEN the OrganizationAdmin bypass lets the fix through", async () => {
    const owner = { ...env, GITHUB_TOKEN: OWNER_TOKEN };
    const from = s.requests.length;
    const r = await p.run(["up", "--refresh"], owner);
    // The provider resource updates too: its token (from GITHUB_TOKEN) is another identity's.
    assert.deepEqual(changes(ok(r, "drift fix as an owner")), { update: 2 }, updated(r.stdout).join("\n"));
    assert.deepEqual([...new Set(updated(r.stdout))].sort(), ["github:index:RepositoryFile gokapi-file-mirror-config-yml", "pulumi:providers:github github"]);
    assert.doesNotMatch(s.readFile(REPO, "main", FILE)!, /edited by hand/);
    assert.deepEqual(
      [...new Set(writesSince(s, from).writes.map((w) => w.actor))],
      ["ada"],
    );
  });
});

describe("an organisation like a real one", { concurrency: false }, () => {
  test(
    "GIVEN an organisation whose repositories start on master and whose renames take 5 s to be seen WHEN up THEN the fleet converges on main",
    async () => {
      requireBuiltTools();
      const s = await startGitHubStandIn();
      const { p, env } = await fleet(s, tokenEnv(s, s.token));
      try {
        s.addOrg(OWNER, { canApprovePullRequestReviews: true, defaultBranch: "master", renameDelayMs: 5000 });
        ok(await p.run(["up"], env), "up in an organisation on master");
        assert.equal(s.repo(REPO).defaultBranch, "main");
        assert.ok(s.readFile(REPO, "main", FILE));
      } finally {
        await s.stop();
        p.cleanup();
      }
    },
  );

  test("GIVEN an organisation whose default labels include `Security` WHEN up THEN the first up passes and leaves the organisation's labels as they are: the fleet declares no label (the pipeline makes its own)", async () => {
    requireBuiltTools();
    const s = await startGitHubStandIn();
    const { p, env } = await fleet(s, tokenEnv(s, s.token));
    try {
      const security = { name: "Security", color: "ff0000", description: "Organisation default" };
      s.addOrg(OWNER, { canApprovePullRequestReviews: true, defaultLabels: [...GITHUB_DEFAULT_LABELS, security] });
      ok(await p.run(["up"], env), "the first up");
      assert.deepEqual(s.writes().filter((r) => r.url.includes("/labels")), [], "a label written");
      assert.deepEqual(
        [...s.repo(REPO).labels.values()].map((l) => [l.name, l.color, l.description]).sort(),
        [...GITHUB_DEFAULT_LABELS, security].map((l) => [l.name, l.color, l.description]).sort(),
      );
      const after = await p.run(["preview", "--refresh"], env);
      assert.deepEqual(changes(ok(after, "preview after the up")), {}, after.stdout.slice(-3000));
    } finally {
      await s.stop();
      p.cleanup();
    }
  });

  describe("conditional requests, rate limits, the Actions pull-request policy and archived repositories", { concurrency: false }, () => {
    let s: GitHubStandIn;
    let p: EngineProject;
    let env: Record<string, string>;

    before(async () => {
      requireBuiltTools();
      s = await startGitHubStandIn();
      // GitHub's default: Actions may not create or approve pull requests.
      s.addOrg(OWNER);
      ({ p, env } = await fleet(s, tokenEnv(s, s.token)));
    });

    after(async () => {
      await s?.stop();
      p?.cleanup();
    });

    test("GIVEN the organisation keeps Actions from creating pull requests WHEN up THEN it stops before any write naming the setting (GitHub would answer 409 half-way); once an owner allows it, up converges", async () => {
      const from = s.requests.length;
      const r = await p.run(["up"], env);
      assert.notEqual(r.code, 0);
      assert.match(r.stdout + r.stderr, /mirror-fleet:actionsCanCreatePullRequests: true, but acme-corp has "Allow GitHub Actions to create and approve pull requests" turned off/);
      assert.deepEqual(writesSince(s, from).writes, [], "written before the organisation's policy was checked");
      // The backstop, had the program not read the policy: GitHub's 409 on the repository setting.
      s.addRepo(`${OWNER}/probe`);
      const refused = await fetch(`${s.url}/repos/${OWNER}/probe/actions/permissions/workflow`, {
        method: "PUT",
        headers: { authorization: `token ${s.token}`, "content-type": "application/json" },
        body: JSON.stringify({ can_approve_pull_request_reviews: true }),
      });
      assert.equal(refused.status, 409);
      s.deleteRepo(`${OWNER}/probe`);
      const allow = await fetch(`${s.url}/orgs/${OWNER}/actions/permissions/workflow`, {
        method: "PUT",
        headers: { authorization: `token ${s.token}`, "content-type": "application/json" },
        body: JSON.stringify({ can_approve_pull_request_reviews: true }),
      });
      assert.equal(allow.status, 204);
      ok(await p.run(["up"], env), "up once the organisation allows it");
      assert.deepEqual(s.repo(REPO).actions.workflow, { default_workflow_permissions: "read", can_approve_pull_request_reviews: true });
    });

    test("GIVEN the fleet is up WHEN preview --refresh THEN the provider's conditional reads are answered 304 and nothing changes; a setting changed meanwhile still shows", async () => {
      // The first refresh reads what the up's commits changed since the provider last read it.
      assert.deepEqual(changes(ok(await p.run(["preview", "--refresh"], env), "first preview --refresh")), {});
      const from = s.requests.length;
      assert.deepEqual(changes(ok(await p.run(["preview", "--refresh"], env), "preview --refresh")), {});
      const conditional = s.requests.slice(from).filter((r) => r.ifNoneMatch !== undefined);
      assert.ok(conditional.length > 0, "the provider sent no conditional request");
      const notModified = conditional.filter((r) => r.notModified);
      assert.ok(notModified.length > 0, `no conditional request was answered 304: ${conditional.map((r) => `${r.operationId} ${r.status}`).join(", ")}`);
      s.editRepo(REPO, { allow_squash_merge: true });
      const drift = await p.run(["preview", "--refresh"], env);
      assert.deepEqual(changes(ok(drift, "preview after a settings edit")), { update: 1 });
      ok(await p.run(["up", "--refresh"], env), "restore");
    });

    // What the released provider does when a run spends the limit itself.
    // It sends one request at a time: its transport holds a lock around
    // each (parallelRequests off, transport.go). Once an answer says 0
    // remaining, go-github refuses every request started later before the
    // reset, without sending it (checkRateLimitBeforeDo, google/go-github
    // v88). A request already waiting for the lock was checked before that
    // answer: it is sent, meets GitHub's 403, and the transport sleeps until
    // the reset holding the lock, and the engine waits for it. So which of
    // the two a run meets first depends on how many reads the engine runs at
    // once: one at a time, the next request is always refused (the first
    // test); with the default parallelism it is a race (the second). A clean
    // clone's CI once saw a preview go through the spent limit that way.
    const spentAdvice = /rate limit for the deploying identity \(25 requests an hour\) is spent, and the provider refused the requests left rather than wait: run the same command again after /;

    test("GIVEN a rate limit smaller than a refresh WHEN preview --refresh reads one resource at a time THEN the run stops at the first request after an answer said 0 remaining, naming when to run again; after the reset it finishes", async () => {
      s.setRateLimit(25, 60_000);
      try {
        const from = s.requests.length;
        const spent = await p.run(["preview", "--refresh"], { ...env, PULUMI_PARALLEL: "1" });
        assert.notEqual(spent.code, 0, "preview went through a spent rate limit");
        assert.match(spent.stderr, /API rate limit of 25 still exceeded until [^,]+, not making remote request/);
        assert.match(spent.stderr, spentAdvice);
        assert.deepEqual(s.requests.slice(from).filter((r) => r.rateLimited), [], "a request was sent after an answer said 0 remaining");
      } finally {
        s.setRateLimit(5000, 3_600_000); // the reset
      }
      assert.deepEqual(changes(ok(await p.run(["preview", "--refresh"], env), "preview after the reset")), {});
    });

    test("GIVEN the same limit WHEN preview --refresh with the engine's default parallelism THEN a read already waiting meets GitHub's 403 and waits for the reset; the run then finishes, or stops naming when to run again", async () => {
      const windowMs = 15_000;
      s.setRateLimit(25, windowMs);
      try {
        const from = s.requests.length;
        const started = Date.now();
        const r = await p.run(["preview", "--refresh"], env);
        const sent = s.requests.slice(from);
        const limited = sent.filter((x) => x.rateLimited);
        assert.ok(limited.length > 0 || r.code !== 0, "preview went through a spent rate limit without meeting it");
        for (const l of limited) {
          const again = sent.slice(sent.indexOf(l) + 1).find((x) => x.method === l.method && x.url === l.url);
          assert.ok(again && again.status < 400, `${l.method} ${l.url}: the transport did not send it again after the reset`);
        }
        if (limited.length) assert.ok(Date.now() - started >= windowMs, "the run did not wait for the reset");
        if (r.code === 0) assert.deepEqual(changes(ok(r, "preview that waited for the reset")), {});
        else {
          assert.match(r.stderr, spentAdvice);
          assert.match(r.stdout, /^mirror-fleet: GitHub's rate limit for the deploying identity is spent until [^.]+\. .* this run may sit until then before it ends\./m);
        }
      } finally {
        s.setRateLimit(5000, 3_600_000);
      }
    });

    test("GIVEN the provider asleep until GitHub's reset (a spent limit, 10 minutes away) WHEN Ctrl-C THEN npm run up ends within seconds, nothing is left running, and the next up goes on from the state", async () => {
      // The provider's transport sleeps until the reset on GitHub's 403, holding its lock
      // (transport.go RoundTrip; `sleep` returns on a cancelled context). A file's read is the
      // provider's alone: the program reads no file of a repository the state holds.
      const reset = Math.ceil(Date.now() / 1000) + 600;
      s.injectFault({
        operationId: "repos/get-content",
        status: 403,
        when: "before",
        headers: { "x-ratelimit-limit": "5000", "x-ratelimit-remaining": "0", "x-ratelimit-used": "5000", "x-ratelimit-reset": String(reset), "x-ratelimit-resource": "core" },
        body: { message: "API rate limit exceeded for installation ID 1.", documentation_url: "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api", status: "403" },
      });
      const served = s.servedFaults.length;
      let asleepAt = 0;
      const r = await p.interrupt(["up", "--refresh"], env, () => {
        if (s.servedFaults.length === served) return false;
        asleepAt ||= Date.now();
        return Date.now() - asleepAt > 2000;
      });
      assert.equal(s.servedFaults.length, served + 1, "the provider never met the 403");
      assert.notEqual(r.code, 0);
      assert.ok(r.interrupted, `not interrupted: ${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}`);
      assert.ok(r.interrupted.endedMs < 10_000, `npm run up ended ${r.interrupted.endedMs} ms after Ctrl-C`);
      assert.ok(r.interrupted.groupGoneMs < 30_000, `the CLI or the provider was still running ${r.interrupted.groupGoneMs} ms after Ctrl-C`);
      // No lock left, nothing lost: the next up runs and finds nothing to change.
      assert.deepEqual(changes(ok(await p.run(["up"], env), "up after Ctrl-C")), {});
    });

    test("GIVEN a mirror's repository archived in GitHub WHEN up --refresh THEN the provider unarchives it first (PATCH archived=false, the one write an archived repository takes) and then fixes the drift", async () => {
      const original = s.readFile(REPO, "main", FILE)!;
      s.putFile(REPO, "main", FILE, `${original}# edited by hand\n`);
      s.archiveRepo(REPO);
      // Archived, it refuses every other write: the pipeline's, say.
      const issue = await fetch(`${s.url}/repos/${REPO}/issues`, { method: "POST", headers: { authorization: `token ${s.token}` }, body: JSON.stringify({ title: "t" }) });
      assert.equal(issue.status, 403);
      assert.equal(((await issue.json()) as { message: string }).message, "Repository was archived so is read-only.");
      const from = s.requests.length;
      const r = await p.run(["up", "--refresh"], env);
      assert.deepEqual(changes(ok(r, "up of an archived mirror")), { update: 2 }, updated(r.stdout).join("\n"));
      const { writes, refused } = writesSince(s, from);
      assert.deepEqual(refused, []);
      assert.deepEqual(
        writes.map((w) => [w.operationId, (w.body as { archived?: boolean } | undefined)?.archived]),
        [
          ["repos/update", false],
          ["repos/create-or-update-file-contents", undefined],
        ],
      );
      assert.equal(s.repo(REPO).archived, false);
      assert.equal(s.readFile(REPO, "main", FILE), original);
    });
  });
});
