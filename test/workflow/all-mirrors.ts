/**
 * Every mirror the workflow tests render: the fixture fleet, each entry of the
 * user's mirrors/ that differs from it (of which only what holds for any
 * mirror is asserted), then the edge cases. Apart from fixtures.ts so that a
 * test that needs only a worked example does not read the user's mirrors/.
 */
import { edgeMirrors, SETTINGS, TODAY, type EdgeCase } from "./fixtures";
import { propertyMirrors } from "../support/user-fleet";

export function allMirrors(): EdgeCase[] {
  return [...propertyMirrors(SETTINGS, TODAY), ...edgeMirrors()];
}
