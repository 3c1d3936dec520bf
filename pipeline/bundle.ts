// PLACEHOLDER owned by issue 3 ("The pipeline engine"): replaced by the esbuild bundle of pipeline/main.ts.
export function pipelineBundle(): string {
  return "// placeholder pipeline bundle\n";
}
