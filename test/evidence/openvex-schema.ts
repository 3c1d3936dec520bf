/**
 * The OpenVEX JSON schema (vendored, see test/fixtures/README.md) as an Ajv
 * validator. The schema uses a format "iri" that no Ajv plugin knows: an IRI
 * is a URI that may also hold non-ASCII characters, so it is checked as the
 * URI it percent-encodes to. strictRequired is off only because the schema
 * lists `required` inside anyOf branches, which is valid JSON Schema.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import Ajv2020 from "ajv/dist/2020";
import addFormats from "ajv-formats";
import { fullFormats } from "ajv-formats/dist/formats";

export const OPENVEX_SCHEMA_PATH = path.join(__dirname, "..", "fixtures", "openvex_json_schema.json");

export function openVexValidator() {
  const ajv = new Ajv2020({ allErrors: true, strict: true, strictRequired: false });
  addFormats(ajv);
  const uri = fullFormats.uri as (s: string) => boolean;
  ajv.addFormat("iri", (s: string) => uri(s.replace(/[^\x00-\x7F]/gu, (c) => encodeURIComponent(c))));
  return ajv.compile(JSON.parse(fs.readFileSync(OPENVEX_SCHEMA_PATH, "utf8")));
}
