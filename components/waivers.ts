// PLACEHOLDER owned by issue 6 (waivers as VEX with expiry): replaced by the real renderers.
import type { ResolvedMirror } from "./types";
export function renderTrivyignore(m: ResolvedMirror): string {
  return `# placeholder ${m.name}\n`;
}
export function renderOpenVex(m: ResolvedMirror): string {
  return `{"placeholder":"${m.name}"}\n`;
}
