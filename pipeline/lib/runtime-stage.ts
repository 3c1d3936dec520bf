/**
 * Pipeline time: a runtime-stage override (components/presets.ts
 * `rebaseRuntime`, marked with RUNTIME_STAGE_MARKER from contract/) appended
 * to upstream's own Dockerfile from the checkout of the tag, as one
 * Dockerfile to build.
 */
import { isRuntimeStageOverride, RUNTIME_STAGE_MARKER } from "../../contract";

/** Names declared by `FROM … AS <name>` lines, lowercased (Dockerfile stage names are case-insensitive). */
export function stageNames(dockerfile: string): string[] {
  const names: string[] = [];
  for (const line of dockerfile.split("\n")) {
    const m = /^\s*FROM\s+(?:--\S+\s+)*\S+\s+AS\s+(\S+)\s*$/i.exec(line);
    if (m) names.push(m[1].toLowerCase());
  }
  return names;
}

/**
 * Upstream's Dockerfile plus the runtime stage. Fails closed, naming the file,
 * when the stage the override copies from is missing upstream (upstream
 * renamed it: the override needs a review) or a stage name collides.
 */
export function appendRuntimeStage(upstream: string, override: string, upstreamPath = "Dockerfile"): string {
  if (!isRuntimeStageOverride(override)) {
    throw new Error(`override: not a runtime stage (allowed: the output of rebaseRuntime(), which starts with "${RUNTIME_STAGE_MARKER}")`);
  }
  const have = new Set(stageNames(upstream));
  const own = new Set(stageNames(override));
  const problems: string[] = [];
  for (const n of own) if (have.has(n)) problems.push(`${upstreamPath}: stage "${n}" is also defined by the override (allowed: stage names the override does not use)`);
  for (const m of override.matchAll(/--from=(\S+)/g)) {
    const n = m[1].toLowerCase();
    if (!own.has(n) && !have.has(n)) {
      problems.push(`${upstreamPath}: has no stage "${m[1]}" to copy from (stages: ${[...have].join(", ") || "none"}); upstream changed its Dockerfile, review the override`);
    }
  }
  if (problems.length) throw new Error([...new Set(problems)].join("\n"));
  const head = upstream.endsWith("\n") ? upstream : `${upstream}\n`;
  return `${head}\n${override}`;
}
