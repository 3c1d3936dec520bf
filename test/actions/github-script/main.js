// github-script stand-in (see action.yml). What the real v8 action passes the
// script: actions/github-script README.md ("This action") and
// src/main.ts / src/async-function.ts: github (alias octokit), context
// (@actions/github's Context, from the runner's variables and the event file),
// core, glob, io, exec, require (relative to the working directory),
// __original_require__; the return value is the `result` output, JSON unless
// result-encoding is string.
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const { createRequire } = require("node:module");
const { pathToFileURL } = require("node:url");

const env = process.env;
const input = (name) => (env[`INPUT_${name.replace(/ /g, "_").toUpperCase()}`] || "").trim();
// A file command with a delimiter, as @actions/core writes one: the value may span lines.
const command = (file, name, value) => {
  const delimiter = `ghadelimiter_${require("node:crypto").randomUUID()}`;
  fs.appendFileSync(env[file], `${name}<<${delimiter}\n${value}\n${delimiter}\n`);
};

/** The subset of @actions/core the stand-in gives scripts; anything else fails naming it. */
const core = {
  info: (m) => console.log(m),
  debug: (m) => console.log(`::debug::${m}`),
  notice: (m) => console.log(`::notice::${m}`),
  warning: (m) => console.log(`::warning::${m instanceof Error ? m.message : m}`),
  error: (m) => console.log(`::error::${m instanceof Error ? m.message : m}`),
  setFailed: (m) => {
    process.exitCode = 1;
    console.log(`::error::${m instanceof Error ? m.message : m}`);
  },
  setOutput: (name, value) => command("GITHUB_OUTPUT", name, typeof value === "string" ? value : JSON.stringify(value)),
  exportVariable: (name, value) => command("GITHUB_ENV", name, value),
  getInput: (name) => input(name),
};
const missing = (what) => new Proxy({}, { get: (_, k) => { throw new Error(`github-script stand-in: ${what}.${String(k)} is not implemented`); } });

/** @actions/github's Context (packages/github/src/context.ts), from the runner's variables. */
function context() {
  const payload = env.GITHUB_EVENT_PATH && fs.existsSync(env.GITHUB_EVENT_PATH) ? JSON.parse(fs.readFileSync(env.GITHUB_EVENT_PATH, "utf8")) : {};
  const [owner, repo] = (env.GITHUB_REPOSITORY || "").split("/");
  return {
    payload,
    eventName: env.GITHUB_EVENT_NAME,
    sha: env.GITHUB_SHA,
    ref: env.GITHUB_REF,
    workflow: env.GITHUB_WORKFLOW,
    action: env.GITHUB_ACTION,
    actor: env.GITHUB_ACTOR,
    job: env.GITHUB_JOB,
    runAttempt: Number(env.GITHUB_RUN_ATTEMPT),
    runNumber: Number(env.GITHUB_RUN_NUMBER),
    runId: Number(env.GITHUB_RUN_ID),
    apiUrl: env.GITHUB_API_URL || "https://api.github.com",
    serverUrl: env.GITHUB_SERVER_URL || "https://github.com",
    graphqlUrl: env.GITHUB_GRAPHQL_URL || "https://api.github.com/graphql",
    get repo() {
      if (!owner || !repo) throw new Error("context.repo requires a GITHUB_REPOSITORY environment variable like 'owner/repo'");
      return { owner, repo };
    },
    get issue() {
      return { ...this.repo, number: (payload.issue || payload.pull_request || payload).number };
    },
  };
}

async function main() {
  for (const [name, dflt] of [["debug", "false"], ["previews", ""], ["retries", "0"], ["base-url", ""]]) {
    if (input(name) !== dflt) throw new Error(`github-script stand-in: the input ${name} is not implemented (only its default ${JSON.stringify(dflt)})`);
  }
  const encoding = input("result-encoding") || "json";
  if (encoding !== "json" && encoding !== "string") throw new Error(`"${encoding}" is not a valid result encoding`);
  const token = input("github-token");
  if (!token) throw new Error("Input required and not supplied: github-token");
  // The project's own Octokit packages (package.json), as @actions/github composes them: core + REST methods + pagination.
  const root = createRequire(path.join(env.MIRROR_FLEET_ROOT || "", "package.json"));
  const load = async (name) => import(pathToFileURL(root.resolve(name)).href);
  const { Octokit } = await load("@octokit/core");
  const { restEndpointMethods } = await load("@octokit/plugin-rest-endpoint-methods");
  const { paginateRest } = await load("@octokit/plugin-paginate-rest");
  const GitHub = Octokit.plugin(restEndpointMethods, paginateRest);
  const github = new GitHub({ auth: token, baseUrl: env.GITHUB_API_URL || "https://api.github.com", userAgent: input("user-agent") || "actions/github-script" });
  // The wrapped require of the real action: relative paths and packages from the working directory first.
  const cwdRequire = createRequire(path.join(process.cwd(), "noop.js"));
  const wrappedRequire = (id) => {
    try {
      return cwdRequire(id.startsWith(".") ? path.resolve(process.cwd(), id) : id);
    } catch {
      return require(id);
    }
  };
  const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor;
  const fn = new AsyncFunction("require", "__original_require__", "github", "octokit", "context", "core", "exec", "glob", "io", input("script"));
  const result = await fn(wrappedRequire, require, github, github, context(), core, missing("exec"), missing("glob"), missing("io"));
  let output = result;
  if (encoding === "json") output = JSON.stringify(result);
  else if (output === undefined) output = "";
  core.setOutput("result", output ?? "");
}

main().catch((e) => {
  console.log(`::error::Unhandled error: ${e && e.stack ? e.stack : e}`);
  process.exitCode = 1;
});
