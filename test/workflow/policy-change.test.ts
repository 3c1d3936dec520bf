/**
 * What a change pushed by `pulumi up` triggers in a mirror (issue 18 item 11).
 * A fleet policy change reaches every mirror in the same minute, so a push
 * never rebuilds the pinned tag: it builds only a tag that is not pinned yet.
 * A changed gate or waiver is re-judged by the nightly rescan; a changed
 * override rebuilds the pinned tag at the mirror's own nightly minute, found
 * by comparing the committed override with the sha256 the pin recorded.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";
import { MIRROR_PATHS, renderOverride } from "../../components/mirror-config";
import { renderEffectiveWorkflow } from "../../components/workflow";
import { evaluate } from "../../components/workflow/analyze";
import { renderPinFile } from "../../pipeline/lib/pin";
import { fixtureMirror, PIPELINE } from "./fixtures";
import { job, parseWorkflow, runStep, step, steps, tempDir, type Obj } from "./steps";

type Event = { name: string; schedule?: string; force?: boolean; recipeChanged?: string };

/** `resolve`'s FORCE for an event, evaluated over the rendered expression as GitHub would. */
function force(name: "gokapi" | "plik", e: Event): unknown {
  const env = step(parseWorkflow(renderEffectiveWorkflow(fixtureMirror(name), PIPELINE)), "resolve", "resolve").env as Record<string, string>;
  return evaluate(env.FORCE, {
    lookup: (p) => {
      const k = p.join(".");
      if (k === "github.event_name") return e.name;
      if (k === "github.event.schedule") return e.schedule ?? null;
      if (k === "inputs.force") return e.force ?? null;
      if (k === "steps.recipe.outputs.changed") return e.recipeChanged ?? null;
      return null;
    },
    call: () => true,
  });
}

describe("resolve never rebuilds the pinned tag on a push", () => {
  const cron = fixtureMirror("gokapi").cron.build;
  const cases: Array<[string, "gokapi" | "plik", Event, boolean]> = [
    ["a push of a changed config (a policy change)", "gokapi", { name: "push" }, false],
    ["a push to a mirror without override", "plik", { name: "push" }, false],
    ["a dispatch with force", "gokapi", { name: "workflow_dispatch", force: true }, true],
    ["a dispatch without force", "plik", { name: "workflow_dispatch", force: false }, false],
    ["the nightly build after the override changed", "gokapi", { name: "schedule", schedule: cron, recipeChanged: "true" }, true],
    ["the nightly build, override as pinned", "gokapi", { name: "schedule", schedule: cron, recipeChanged: "false" }, false],
  ];
  for (const [what, name, e, want] of cases) {
    test(`GIVEN ${what} WHEN resolve runs THEN force is ${want}`, () => {
      assert.equal(Boolean(force(name, e)), want);
    });
  }

  test("GIVEN the rendered workflows WHEN read THEN the override check runs only at night, before resolve, and only where there is an override", () => {
    const gokapi = parseWorkflow(renderEffectiveWorkflow(fixtureMirror("gokapi"), PIPELINE));
    const recipe = step(gokapi, "resolve", "recipe");
    assert.equal(recipe.if, "${{ github.event_name == 'schedule' }}");
    const ids = steps(gokapi, "resolve").map((s) => s.id);
    assert.ok(ids.indexOf("recipe") < ids.indexOf("resolve"), ids.join(", "));
    assert.equal(steps(parseWorkflow(renderEffectiveWorkflow(fixtureMirror("plik"), PIPELINE)), "resolve").some((s) => s.id === "recipe"), false);
    // Runs on a push (a new mirror's first build), but its force never looks at the event.
    assert.match(String(job(gokapi, "resolve").if), /github\.event_name == 'push'/);
    assert.doesNotMatch(String((step(gokapi, "resolve", "resolve").env as Obj).FORCE), /event_name/);
  });
});

describe("the nightly override check, run by bash over a mirror checkout", () => {
  const m = fixtureMirror("gokapi");
  const committed = renderOverride(m)!;
  const sha = (t: string) => createHash("sha256").update(t).digest("hex");

  function checkout(pinnedOverride: string | null | undefined): string {
    const dir = tempDir("mirror-recipe-");
    fs.mkdirSync(path.join(dir, "dockerfiles"));
    fs.writeFileSync(path.join(dir, MIRROR_PATHS.override), committed);
    if (pinnedOverride !== undefined) {
      fs.writeFileSync(
        path.join(dir, MIRROR_PATHS.pin),
        renderPinFile({
          image: m.image,
          digest: `sha256:${"d".repeat(64)}`,
          tag: "v2.2.4",
          upstream: { repo: m.upstream.fullName, commit: "a".repeat(40) },
          override: pinnedOverride === null ? null : { path: MIRROR_PATHS.override, sha256: sha(pinnedOverride), source: m.override!.source, sourceSha256: m.override!.sha256 },
          builtAt: "2026-11-20T02:13:00Z",
          scan: null,
          waiversApplied: [],
          attestations: [],
          runUrl: `https://github.com/${m.owner}/${m.repo}/actions/runs/1`,
        }),
      );
    }
    return dir;
  }

  const cases: Array<[string, string | null | undefined, string]> = [
    ["the pin was built from the committed override", committed, "false"],
    ["the override changed since (a base image moved)", committed.replace("nonroot@sha256:", "nonroot@sha256:0"), "true"],
    ["the pin records no override", null, "true"],
    ["nothing is pinned yet (resolve builds anyway)", undefined, "false"],
  ];
  for (const [what, pinned, changed] of cases) {
    test(`GIVEN ${what} WHEN the step runs THEN changed=${changed}`, () => {
      const step0 = step(parseWorkflow(renderEffectiveWorkflow(m, PIPELINE)), "resolve", "recipe") as Obj;
      const r = runStep(step0, checkout(pinned), {});
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.outputs.changed, changed);
      assert.equal(/::notice::/.test(r.stdout), changed === "true", r.stdout);
    });
  }
});
