// PLACEHOLDER owned by issue 4 ("The generated mirror workflow"): replaced by the typed workflow model.
import type { ResolvedMirror } from "./types";
export function renderWorkflow(m: ResolvedMirror): string {
  return `# placeholder workflow for ${m.name}\n`;
}
