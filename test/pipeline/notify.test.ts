/**
 * `notify` against webhook receivers on 127.0.0.1: one message per webhook set
 * in env, the right payload per target, and the secret URLs in no output.
 */
import assert from "node:assert/strict";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { main } from "../../pipeline/main";
import { captureIo } from "../support/github-standin";

interface Received {
  readonly path: string;
  readonly contentType: string | undefined;
  readonly body: unknown;
}

/** A webhook receiver answering `status`; records what it got. */
async function receiver(status = 200): Promise<{ url: string; got: Received[]; close(): Promise<void> }> {
  const got: Received[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      got.push({ path: req.url ?? "", contentType: req.headers["content-type"], body: JSON.parse(Buffer.concat(chunks).toString("utf8")) });
      res.writeHead(status, { "content-type": "text/plain" }).end(status === 200 ? "ok" : "no_service");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    got,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function notify(env: Record<string, string>, args: string[]) {
  const io = captureIo(env, "/");
  const code = await main(["notify", ...args], io);
  return { code, out: io.out.join(""), err: io.err.join("") };
}

const ARGS = ["--status", "blocked", "--link", "https://github.com/acme/mirror-gokapi/actions/runs/7", "--mirror", "gokapi", "--tag", "v2.2.4"];

test("GIVEN Slack and Teams webhooks in env WHEN `notify` runs THEN each gets one message in its format, and no URL is printed", async () => {
  const hooks = await receiver();
  try {
    const slack = `${hooks.url}/services/T000/B000/slack-secret-part`;
    const teams = `${hooks.url}/workflows/teams-secret-part`;
    const r = await notify({ MIRROR_SLACK_WEBHOOK: slack, MIRROR_TEAMS_WEBHOOK: teams }, ARGS);
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(JSON.parse(r.out), { sent: ["slack", "teams"], failed: [] });
    assert.equal(r.err, "notify: sent to slack, teams\n");
    assert.deepEqual(hooks.got, [
      {
        path: "/services/T000/B000/slack-secret-part",
        contentType: "application/json",
        body: { text: ":no_entry: mirror gokapi: build of v2.2.4 BLOCKED: <https://github.com/acme/mirror-gokapi/actions/runs/7|details>" },
      },
      {
        path: "/workflows/teams-secret-part",
        contentType: "application/json",
        body: {
          type: "message",
          attachments: [
            {
              contentType: "application/vnd.microsoft.card.adaptive",
              contentUrl: null,
              content: {
                $schema: "http://adaptivecards.io/schemas/adaptive-card.json",
                type: "AdaptiveCard",
                version: "1.4",
                body: [{ type: "TextBlock", text: "mirror gokapi: build of v2.2.4 BLOCKED", wrap: true, weight: "Bolder", color: "Attention" }],
                actions: [{ type: "Action.OpenUrl", title: "Details", url: "https://github.com/acme/mirror-gokapi/actions/runs/7" }],
              },
            },
          ],
        },
      },
    ]);
    assert.equal((r.out + r.err).includes("secret-part"), false);
  } finally {
    await hooks.close();
  }
});

test("GIVEN no webhook in env WHEN `notify` runs THEN nothing is sent and it exits 0", async () => {
  const r = await notify({}, ["--status", "passed", "--link", "https://example.com/run/1", "--mirror", "gokapi"]);
  assert.equal(r.code, 0);
  assert.deepEqual(JSON.parse(r.out), { sent: [], failed: [] });
  assert.equal(r.err, "notify: no webhook set (MIRROR_SLACK_WEBHOOK, MIRROR_TEAMS_WEBHOOK): nothing sent\n");
});

test("GIVEN failing webhooks WHEN `notify` runs THEN exit 2 with the kind of failure and still no URL", async () => {
  const failing = await receiver(404);
  const closed = await receiver();
  await closed.close(); // its port now refuses connections
  try {
    const env = { MIRROR_SLACK_WEBHOOK: `${failing.url}/services/slack-secret-part`, MIRROR_TEAMS_WEBHOOK: `${closed.url}/teams-secret-part` };
    const r = await notify(env, ARGS);
    assert.equal(r.code, 2);
    assert.deepEqual(JSON.parse(r.out), {
      sent: [],
      failed: [
        { target: "slack", error: "HTTP 404" },
        { target: "teams", error: "request failed (ECONNREFUSED)" },
      ],
    });
    assert.equal(r.err, "notify: slack: HTTP 404\nnotify: teams: request failed (ECONNREFUSED)\n");
    assert.equal((r.out + r.err).includes("secret-part"), false);
    assert.equal(failing.got.length, 1);
  } finally {
    await failing.close();
  }
});

test("GIVEN bad flags WHEN `notify` runs THEN exit 2 naming the flag", async () => {
  const cases: Array<{ args: string[]; message: string }> = [
    { args: ["--status", "ok", "--link", "https://x.example/1", "--mirror", "gokapi"], message: 'notify: --status: "ok" is not allowed (allowed: passed, blocked)' },
    { args: ["--status", "passed", "--link", "javascript:alert(1)", "--mirror", "gokapi"], message: 'notify: --link: "javascript:alert(1)" is not allowed (allowed: an http(s) URL)' },
    { args: ["--status", "passed", "--link", "https://x.example/1", "--mirror", "Go Kapi"], message: 'notify: --mirror: "Go Kapi" is not allowed' },
    { args: ["--status", "passed", "--link", "https://x.example/1", "--mirror", "gokapi", "--tag", "v1|x"], message: 'notify: --tag "v1|x" is not allowed' },
  ];
  for (const c of cases) {
    const r = await notify({ MIRROR_SLACK_WEBHOOK: "http://127.0.0.1:9/never-called" }, c.args);
    assert.equal(r.code, 2, c.args.join(" "));
    assert.ok(r.err.startsWith(c.message), `got: ${r.err.split("\n")[0]}`);
  }
});
