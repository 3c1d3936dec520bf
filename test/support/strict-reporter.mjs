/**
 * A second test reporter (package.json `test` and `test:engine`, beside
 * `spec`): it makes the run exit 1 on every failure the runner reports,
 * suites included. Node.js 22's runner exits 0 when a `describe` callback
 * throws (its tests are never registered: `fail 0`, and `spec` lists it
 * under "failing tests" only), so a suite whose setup breaks, such as a
 * schema it could not read, would pass CI silently. Prints each failure's
 * name and file on stderr. Plain JavaScript: the runner loads reporters
 * itself, before any test file.
 *
 * @param {AsyncIterable<{ type: string, data: { name: string, file?: string, details: { type?: string } } }>} source
 */
export default async function* strict(source) {
  for await (const event of source) {
    if (event.type !== "test:fail") continue;
    process.exitCode = 1;
    const d = event.data;
    yield `strict-reporter: ${d.details.type === "suite" ? "suite" : "test"} failed: ${d.name}${d.file ? ` (${d.file})` : ""}\n`;
  }
}
