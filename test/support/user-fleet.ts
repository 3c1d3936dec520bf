/**
 * USER_FLEET: whatever the user keeps in the project's `mirrors/`. Tests over
 * it assert only what holds for every valid fleet (each entry resolves,
 * renders, passes the linters and schemas), so a pull request that adds a
 * valid entry keeps `npm test` green. Every test that reads `mirrors/` does so
 * through this module: test/fleet/user-fleet.test.ts finds them by it, and runs
 * them on a copy of the project with two more entries.
 */
import type { ResolvedMirror, StackSettings } from "../../components/types";
import { PROJECT_ROOT } from "../../infra/mirrors";
import { FIXTURE_FLEET, fleetAt, resolveTestFleet } from "./fleets";

export const USER_FLEET = fleetAt(PROJECT_ROOT, "mirrors/");

/**
 * The day the user's fleet is judged on: today, as `pulumi preview` judges it.
 * A fixed day would refuse a waiver the user approved after it; a waiver past
 * its date fails here as it fails the preview.
 */
export const USER_FLEET_DAY = new Date();

/**
 * Every mirror a property test checks: the fixture fleet's (resolved on
 * `fixtureDay`), then each of the user's that is not a fixture unchanged, so
 * the shipped examples are checked once and a user's new entry is checked too.
 */
export function propertyMirrors(settings: StackSettings, fixtureDay: Date): Array<{ label: string; mirror: ResolvedMirror }> {
  const fixtures = resolveTestFleet(FIXTURE_FLEET, { settings, today: fixtureDay }).mirrors;
  const seen = new Set(fixtures.map((m) => JSON.stringify(m)));
  const user = resolveTestFleet(USER_FLEET, { settings, today: USER_FLEET_DAY }).mirrors.filter((m) => !seen.has(JSON.stringify(m)));
  return [...fixtures.map((m) => ({ label: `fixture ${m.sourceFile}`, mirror: m })), ...user.map((m) => ({ label: m.sourceFile, mirror: m }))];
}
