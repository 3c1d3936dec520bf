// The stand-in's check of one SARIF file: JSON, valid SARIF 2.1.0 (the
// schema's draft-04 `id` read as `$id`), then recorded by category.
const fs = require("node:fs");
const path = require("node:path");
const root = process.env.MIRROR_FLEET_ROOT;
const Ajv = require(path.join(root, "node_modules", "ajv")).default;
const addFormats = require(path.join(root, "node_modules", "ajv-formats")).default;
const file = path.resolve(process.env.GITHUB_WORKSPACE, process.env.SARIF_FILE);
const category = process.env.CATEGORY;
const fail = (msg) => {
  process.stdout.write(`::error::upload-sarif stand-in: ${msg}\n`);
  process.exit(1);
};
if (!fs.existsSync(file)) fail(`Path does not exist: ${process.env.SARIF_FILE}`);
let doc;
try {
  doc = JSON.parse(fs.readFileSync(file, "utf8"));
} catch (e) {
  fail(`${process.env.SARIF_FILE} is not JSON: ${e.message}`);
}
const { id, $schema, ...schema } = JSON.parse(fs.readFileSync(path.join(root, "test", "testdata", "schemas", "sarif-schema-2.1.0.json"), "utf8"));
const ajv = new Ajv({ strict: false, allErrors: true });
addFormats(ajv);
const validate = ajv.compile({ ...schema, $id: String(id) });
if (!validate(doc)) fail(`${process.env.SARIF_FILE} is not valid SARIF 2.1.0: ${validate.errors.slice(0, 3).map((e) => `${e.instancePath} ${e.message}`).join("; ")}`);
if (doc.version !== "2.1.0") fail(`${process.env.SARIF_FILE}: version ${doc.version}, code scanning takes 2.1.0`);
const dir = path.join(process.env.MIRROR_FLEET_SARIF, process.env.GITHUB_RUN_ID);
fs.mkdirSync(dir, { recursive: true });
const name = `${category || "default"}.sarif`;
fs.writeFileSync(path.join(dir, name), fs.readFileSync(file));
const results = doc.runs.reduce((n, r) => n + (r.results ?? []).length, 0);
fs.appendFileSync(process.env.GITHUB_OUTPUT, `sarif-id=${process.env.GITHUB_RUN_ID}-${category}\n`);
process.stdout.write(`upload-sarif (stand-in): ${process.env.SARIF_FILE}: valid SARIF 2.1.0, ${results} result(s), category ${category}\n`);
