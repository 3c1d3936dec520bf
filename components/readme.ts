import { header } from "./header";
import type { ResolvedMirror } from "./types";
export function renderReadme(m: ResolvedMirror): string {
  return header("<!--", m.sourceFile) + `# ${m.repo}\n`;
}
