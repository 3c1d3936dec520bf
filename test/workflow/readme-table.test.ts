/**
 * The README's job table ("The mirror workflow") says which jobs a mirror's
 * workflow has and the token scopes of each. Both are read here from the
 * rendered workflows of the worked examples and the edge cases (private and
 * public, attestations, signing, notifications, with and without an
 * override): the table must name exactly those jobs, and each row exactly the
 * scopes the job is given in any of them.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import { renderEffectiveWorkflow } from "../../components/workflow";
import { PROJECT_ROOT } from "../../infra/mirrors";
import { edgeMirrors, fixtureMirror, PIPELINE } from "./fixtures";
import { jobs as jobsOf, parseWorkflow } from "./steps";

/** Job id -> the `scope: level` pairs of its row, from the README's table under "## The mirror workflow". */
function readmeTable(): Map<string, Set<string>> {
  const readme = fs.readFileSync(path.join(PROJECT_ROOT, "README.md"), "utf8");
  const start = readme.indexOf("## The mirror workflow");
  const section = readme.slice(start, readme.indexOf("\n## ", start + 1));
  const rows = new Map<string, Set<string>>();
  for (const line of section.split("\n").filter((l) => /^\| `[a-z-]+`/.test(l))) {
    const cells = line.split(" | ");
    const job = /^\| `([a-z-]+)`/.exec(cells[0])![1];
    rows.set(job, new Set([...cells[2].matchAll(/`([a-z-]+): (read|write)`/g)].map((m) => `${m[1]}: ${m[2]}`)));
  }
  return rows;
}

/** Job id -> every `scope: level` it is given in any of the rendered workflows. */
function renderedScopes(): Map<string, Set<string>> {
  const mirrors = [fixtureMirror("gokapi"), fixtureMirror("plik"), fixtureMirror("gokapi", { owner: "acme-corp", registryNamespace: "acme-corp", visibility: "public", branchProtection: true, attestations: true }), ...edgeMirrors().map((e) => e.mirror)];
  const jobs = new Map<string, Set<string>>();
  for (const m of mirrors) {
    for (const [id, job] of Object.entries(jobsOf(parseWorkflow(renderEffectiveWorkflow(m, PIPELINE))))) {
      const scopes = jobs.get(id) ?? new Set<string>();
      for (const [scope, level] of Object.entries((job as { permissions?: Record<string, string> }).permissions ?? {})) scopes.add(`${scope}: ${level}`);
      jobs.set(id, scopes);
    }
  }
  return jobs;
}

test("GIVEN the README's job table and the rendered workflows WHEN compared THEN the same jobs, each with exactly the scopes it is given", () => {
  const table = readmeTable();
  const rendered = renderedScopes();
  assert.ok(rendered.has("notify") && rendered.has("override-review"), "the edge cases reach the optional jobs");
  assert.deepEqual([...table.keys()].sort(), [...rendered.keys()].sort(), "jobs in the README's table vs in the rendered workflows");
  for (const [job, scopes] of rendered) assert.deepEqual([...table.get(job)!].sort(), [...scopes].sort(), `${job}: token scopes in the README vs in the workflow`);
});
