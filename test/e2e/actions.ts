/**
 * The one table of stand-ins: each third-party action the rendered workflows
 * use, at the pinned SHA (components/pins.ts, read from each action's own
 * repository), mapped to a small local action under
 * test/actions/ that does what the pinned version documents for the inputs
 * our workflows pass. act maps them with `--local-repository
 * owner/repo@sha=DIR`, so the workflow file runs unchanged. test/actions/README.md
 * says what each one does and where it differs from the real action.
 *
 * A `uses:` the table lacks is looked up in the GitHub stand-in (an action
 * repository the stack manages, e.g. the fleet's pipeline repository once it
 * is one): its tree at exactly the referenced commit is exported to a folder.
 * Anything else fails the run before act starts, naming the reference.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { ACTIONS, type ActionKey } from "../../components/pins";
import type { GitHubStandIn } from "../support/github-standin";
import { fail } from "./harness";

const ACTIONS_DIR = path.resolve(__dirname, "..", "actions");

export const STAND_INS: Partial<Record<ActionKey, { readonly dir: string; readonly does: string }>> = {
  checkout: { dir: "checkout", does: "git fetch of the run's commit from GITHUB_SERVER_URL (the GitHub stand-in), clean, no stored credentials" },
  setupNode: { dir: "setup-node", does: "the Node.js matching node-version from the tools cache, on PATH; cache: npm through the cache stand-in's folder" },
  cache: { dir: "cache", does: "an entry per exact key and paths in a folder: restored in the main step, saved in the post step when missed" },
  githubScript: { dir: "github-script", does: "the script as an async function with github (Octokit: REST methods, pagination, at GITHUB_API_URL), context, core, require" },
  uploadArtifact: { dir: "upload-artifact", does: "the files into a folder per run and name (folder contents at the root, hidden files left out, if-no-files-found, overwrite)" },
  downloadArtifact: { dir: "download-artifact", does: "the named artifact of this run into path; a missing one fails" },
  uploadSarif: { dir: "codeql-action", does: "validates the SARIF against the 2.1.0 schema and records it per category" },
  cosignInstaller: { dir: "cosign-installer", does: "exactly the cosign-release asked for, built from its Go module, on PATH" },
  setupBuildx: { dir: "setup-buildx-action", does: "a buildx builder with the remote driver on the e2e's buildkitd, selected (the real default driver needs a Docker daemon)" },
};

/** `owner/repo[/path]@ref` of every `uses:` in a workflow file. */
export function usesOf(workflowText: string): string[] {
  return [...new Set([...workflowText.matchAll(/^\s*(?:-\s+)?uses:\s*([^\s#]+)/gm)].map((m) => m[1]))];
}

/** A `uses:` of a reusable workflow: `owner/repo/.github/workflows/<file>@ref`. */
const REUSABLE = /^([^/@]+\/[^/@]+)\/(\.github\/workflows\/[^/@]+\.ya?ml)@([0-9a-f]{40})$/;

/**
 * `--local-repository` arguments for every action a workflow uses, and every
 * action those use in turn: a composite action's own `uses:` (such as the
 * pipeline action's setup-node), and a called reusable workflow's (a
 * mirror's caller names its shared workflow in the pipeline repository, whose
 * jobs name the pipeline action at another commit). act 0.2.89 looks both up
 * by `owner/repo@ref` in the same map (pkg/runner/reusable_workflow.go,
 * newActionCacheReusableWorkflowExecutor; any --local-repository turns that
 * cache on, cmd/root.go), so one mapping per repository and commit serves
 * both. `exportDir` receives the trees exported from the stand-in.
 */
export function localRepositories(workflowText: string, gh: GitHubStandIn, exportDir: string): string[] {
  return [...new Set(mapped(workflowText, gh, exportDir, new Set()))];
}

function mapped(workflowText: string, gh: GitHubStandIn, exportDir: string, seen: Set<string>): string[] {
  const out: string[] = [];
  for (const ref of usesOf(workflowText)) {
    if (seen.has(ref)) continue;
    seen.add(ref);
    if (ref.startsWith("./")) continue;
    const m = /^([^/@]+)\/([^/@]+)(?:\/([^@]*))?@([0-9a-f]{40})$/.exec(ref);
    if (!m) fail(`the workflow uses ${ref}, not pinned to a full commit SHA: the e2e maps only pinned references`);
    const [, owner, repo, sub, sha] = m;
    const key = (Object.keys(ACTIONS) as ActionKey[]).find((k) => ACTIONS[k].uses.split("/").slice(0, 2).join("/") === `${owner}/${repo}` && ACTIONS[k].sha === sha);
    const standIn = key ? STAND_INS[key] : undefined;
    if (standIn) {
      out.push(`${owner}/${repo}@${sha}=${path.join(ACTIONS_DIR, standIn.dir)}`);
      continue;
    }
    const fullName = `${owner}/${repo}`;
    if (gh.repoNames().includes(fullName) && gh.repo(fullName).commits.has(sha)) {
      const dir = path.join(exportDir, `${owner}-${repo}-${sha}`);
      if (!fs.existsSync(dir)) gh.exportCommit(fullName, sha, dir);
      out.push(`${fullName}@${sha}=${dir}`);
      // What it uses in turn: the called workflow's jobs, or the action's steps.
      const called = REUSABLE.exec(ref)?.[2];
      const file = called ? path.join(dir, called) : ["action.yml", "action.yaml"].map((f) => path.join(dir, sub ?? "", f)).find((f) => fs.existsSync(f));
      if (called && !fs.existsSync(file!)) fail(`the workflow calls ${ref}: ${fullName} has no ${called} at ${sha}`);
      if (file) out.push(...mapped(fs.readFileSync(file, "utf8"), gh, exportDir, seen));
      continue;
    }
    fail(`the workflow uses ${ref}: no stand-in in test/e2e/actions.ts${key ? ` for ${key}` : ""}, and the GitHub stand-in has no ${fullName} at ${sha}`);
  }
  return out;
}

/** The reusable workflow a caller's job calls (`owner/repo/.github/workflows/<file>@sha`), or undefined. */
export function calledWorkflow(callerText: string): { repository: string; path: string; commit: string } | undefined {
  const refs = usesOf(callerText).flatMap((ref) => {
    const m = REUSABLE.exec(ref);
    return m ? [{ repository: m[1], path: m[2], commit: m[3] }] : [];
  });
  if (refs.length > 1) fail(`the workflow calls ${refs.length} reusable workflows; the e2e runs one`);
  return refs[0];
}
