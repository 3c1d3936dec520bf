/**
 * Issue 12, item 15: the build job (upstream's build, a third-party scanner)
 * and the rescan job shared the `trivy-db-*` Actions cache with a prefix
 * restore key, so one poisoned save fed every later scan, the rescan's too.
 * Splitting keys or saving from one job only would not close it: on a
 * schedule or push run every job's runtime token may write the cache
 * (GitHub issues read-only cache tokens only for untrusted triggers), so any
 * process in the build job can save any key, tomorrow's included, whatever
 * action the workflow names. The fix: a scan never reads its DB from the
 * Actions cache, and no job that runs upstream code or a scanner saves one.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { renderEffectiveWorkflow } from "../../components/workflow";
import { allMirrors } from "../workflow/all-mirrors";
import { jobs, parseWorkflow, type Obj } from "../workflow/steps";
import { PIPELINE } from "../workflow/fixtures";

const CACHE = /^actions\/cache(?:\/restore|\/save)?@/;

/** A step that restores or saves the Actions cache: actions/cache (restore + post-save), its restore/save halves, or a setup action's `cache:` input. */
function touchesCache(s: Obj): boolean {
  const uses = String(s.uses ?? "");
  return CACHE.test(uses) || (/^actions\/setup-[a-z]+@/.test(uses) && ((s.with ?? {}) as Obj).cache !== undefined);
}

/** A job that runs Trivy (any scan) or fetches and builds upstream's tree. */
function runsUntrusted(j: Obj): boolean {
  return (j.steps as Obj[]).some((s) => {
    const run = String(s.run ?? "");
    return /(^|\s)trivy\s|pipeline\.cjs scan\b/m.test(run) || /docker buildx build|git (?:-C \S+ )?(?:clone|fetch)\b[^\n]*UPSTREAM_URL/.test(run);
  });
}

describe("adversarial (issue 12 #15): no scan reads a cache that a job running upstream code could have saved", () => {
  for (const { label, mirror } of allMirrors()) {
    const doc = parseWorkflow(renderEffectiveWorkflow(mirror, PIPELINE));
    const all = Object.entries(jobs(doc));

    test(`GIVEN ${label} WHEN the jobs are read THEN the detector finds the build and the rescan as jobs running a scanner (it is live)`, () => {
      const untrusted = all.filter(([, j]) => runsUntrusted(j)).map(([id]) => id);
      for (const id of ["build", "rescan"]) assert.ok(untrusted.includes(id), `${id} not detected; found ${untrusted.join(", ")}`);
    });

    test(`GIVEN ${label} WHEN a job runs upstream code or a scanner THEN it neither restores nor saves the Actions cache`, () => {
      for (const [id, j] of all.filter(([, j]) => runsUntrusted(j))) {
        const cached = (j.steps as Obj[]).filter(touchesCache).map((s) => String(s.name));
        assert.deepEqual(cached, [], `jobs.${id} uses the Actions cache`);
      }
    });

    test(`GIVEN ${label} WHEN any cache is restored THEN never by a prefix fallback (restore-keys)`, () => {
      for (const [id, j] of all) {
        for (const s of j.steps as Obj[]) assert.equal(((s.with ?? {}) as Obj)["restore-keys"], undefined, `jobs.${id} step "${String(s.name)}" restores by prefix`);
      }
    });
  }
});
