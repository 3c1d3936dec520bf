/**
 * Issue 12, item 16 (error output): a failed GitHub API call was printed
 * verbatim. Octokit's message appends the response's `errors` list, and
 * GitHub's validation errors can echo what was sent (an issue body carrying
 * upstream text, a field value), a proxy's error page can quote the request:
 * all of it landed in the public job log. Now a command prints the status,
 * method and path and GitHub's short message, only when it is plain text.
 * The real command runs against a local server that answers with such echoes.
 */
import assert from "node:assert/strict";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import type { Io } from "../../pipeline/cli";
import { describeError } from "../../pipeline/errors";
import { main } from "../../pipeline/main";

const SECRET = "ghs_EchoedTokenAbcdefghijklmnopqrstuv0123";
const ECHOED_BODY = "upstream text @acme-corp/admins ![x](https://evil.example/p.png)\n::add-mask::x";

/** What the server answers, by test: status, content type, body. */
let answer: { status: number; type: string; body: string } = { status: 500, type: "text/plain", body: "" };
let server: http.Server;
let base = "";

before(async () => {
  server = http.createServer((req, res) => {
    req.resume();
    res.writeHead(answer.status, { "content-type": answer.type });
    res.end(answer.body);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => server.close());

async function runIssue(): Promise<{ code: number; stderr: string }> {
  const err: string[] = [];
  const io: Io = {
    env: { GITHUB_TOKEN: "t0ken", GITHUB_API_URL: base, MIRROR_GITHUB_THROTTLE: "off" },
    cwd: process.cwd(),
    stdout: () => undefined,
    stderr: (t) => err.push(t),
  };
  const code = await main(["issue", "--kind", "cve", "--state", "resolved", "--tag", "v1.0.0", "--repo", "acme-corp/gokapi"], io);
  return { code, stderr: err.join("") };
}

const json = (o: unknown) => JSON.stringify(o);
const cases: Array<[string, typeof answer, RegExp]> = [
  [
    "a 422 whose errors echo the request body and a token",
    { status: 422, type: "application/json", body: json({ message: "Validation Failed", errors: [{ resource: "Issue", field: "body", code: "custom", value: ECHOED_BODY, message: SECRET }], documentation_url: "https://docs.github.com/rest" }) },
    /^issue: GitHub API GET \/[\w/.-]+ answered 422: Validation Failed\n$/,
  ],
  [
    "a proxy's 404 page that quotes the request headers",
    { status: 404, type: "text/html", body: `<html><body>GET /repos?x=1 Authorization: token ${SECRET}<br>${ECHOED_BODY}</body></html>` },
    /^issue: GitHub API GET \/[\w/.-]+ answered 404 \(its message is not shown\)\n$/,
  ],
  [
    "a message that itself carries a token",
    { status: 403, type: "application/json", body: json({ message: `Bad credentials for ${SECRET}` }) },
    /^issue: GitHub API GET \/[\w/.-]+ answered 403 \(its message is not shown\)\n$/,
  ],
  [
    "a message with a line break and a workflow command",
    { status: 400, type: "application/json", body: json({ message: "Problems parsing JSON\n::add-mask::x" }) },
    /^issue: GitHub API GET \/[\w/.-]+ answered 400 \(its message is not shown\)\n$/,
  ],
];

describe("adversarial (issue 12 #16): GitHub API errors are printed as status and a short message, never verbatim", () => {
  for (const [what, given, expected] of cases) {
    test(`GIVEN ${what} WHEN a command fails on it THEN stderr names the status and path and holds nothing echoed`, async () => {
      answer = given;
      const r = await runIssue();
      assert.equal(r.code, 2);
      assert.match(r.stderr, expected);
      for (const leak of [SECRET, "@acme-corp/admins", "evil.example", "::add-mask::", "documentation_url", "docs.github.com"]) {
        assert.ok(!r.stderr.includes(leak), `stderr holds ${JSON.stringify(leak)}: ${r.stderr}`);
      }
    });
  }

  test("GIVEN a request that got no answer WHEN described THEN only the kind of failure is shown, not the URL's query", () => {
    const cause = Object.assign(new TypeError("fetch failed"), { cause: Object.assign(new Error(`connect ECONNREFUSED ${SECRET}`), { code: "ECONNREFUSED" }) });
    // The shape of Octokit's RequestError for a request with no response.
    const e = Object.assign(new Error(`fetch failed ${SECRET}`, { cause }), { name: "HttpError", status: 500, request: { method: "POST", url: `https://api.github.com/repos/o/r/issues?access=${SECRET}`, headers: {} } });
    assert.equal(describeError(e), "GitHub API POST /repos/o/r/issues got no answer (ECONNREFUSED)");
  });

  test("GIVEN an error that is not an API error WHEN described THEN its message is shown as it is (our own messages name file and field)", () => {
    assert.equal(describeError(new Error("--gate-json audit/gate.json: not JSON")), "--gate-json audit/gate.json: not JSON");
  });
});
