/**
 * YAML for generated files: no line folding (a folded `run:` script diffs as
 * noise), keys in the order the model writes them, and every pinned `uses:`
 * followed by its version comment from the pin table.
 */
import { stringify } from "yaml";
import { ACTIONS } from "./pins";

const VERSION_BY_REF = new Map(Object.values(ACTIONS).map((a) => [`${a.uses}@${a.sha}`, a.version]));

export function toYaml(value: unknown): string {
  const text = stringify(value, { lineWidth: 0, minContentWidth: 0, indent: 2, aliasDuplicateObjects: false });
  return text.replace(/^(\s*(?:- )?uses: )(\S+)$/gm, (line, prefix: string, ref: string) => {
    const version = VERSION_BY_REF.get(ref);
    return version ? `${prefix}${ref} # ${version}` : line;
  });
}
