/**
 * Red team, issue 17 item 8: a pax extended header with a negative `size`
 * made the tar reader step backwards and walk the same headers forever
 * (`publish --print-digest`, `scan --archive`). The archives here are written
 * byte by byte (POSIX ustar headers, pax `x` records), so each field is
 * exactly what an attacker would put there; each command runs in its own
 * process with a time limit, so a loop fails the test instead of hanging it.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";
import { PROJECT_ROOT } from "../../infra/mirrors";
import { tmpDir } from "../fixtures/pipeline/harness";

/** One 512-byte ustar header; `size` is written as given (octal text), so it can be anything. */
function header(name: string, type: string, sizeField: string): Buffer {
  const b = Buffer.alloc(512);
  b.write(name, 0, 100, "utf8");
  b.write("0000644\0", 100);
  b.write("0000000\0", 108);
  b.write("0000000\0", 116);
  b.write(sizeField.padEnd(11, "\0").slice(0, 11) + "\0", 124, "latin1");
  b.write("00000000000\0", 136);
  b.write(type, 156);
  b.write("ustar\0", 257);
  b.write("00", 263);
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (const x of b) sum += x;
  b.write(sum.toString(8).padStart(6, "0") + "\0 ", 148, "latin1");
  return b;
}

const pad = (data: Buffer) => Buffer.concat([data, Buffer.alloc((512 - (data.length % 512)) % 512)]);

/** A pax record: `<len> <key>=<value>\n`, its length counting itself. */
function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let len = body.length + 1;
  while (String(len).length + body.length !== len) len = String(len).length + body.length;
  return `${len}${body}`;
}

function archive(entries: Array<{ name: string; pax?: Record<string, string>; data: string; sizeField?: string }>): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    if (e.pax) {
      const records = Buffer.from(Object.entries(e.pax).map(([k, v]) => paxRecord(k, v)).join(""));
      parts.push(header(`PaxHeaders/${e.name}`, "x", records.length.toString(8)), pad(records));
    }
    const data = Buffer.from(e.data);
    parts.push(header(e.name, "0", e.sizeField ?? data.length.toString(8)), pad(data));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

function printDigest(file: string) {
  return spawnSync(process.execPath, ["--import", "tsx", path.join(PROJECT_ROOT, "pipeline", "main.ts"), "publish", "--archive", file, "--print-digest"], {
    cwd: PROJECT_ROOT,
    encoding: "utf8",
    timeout: 30_000,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "" },
  });
}

describe("adversarial (issue 17 #8): a tar entry's size cannot move the reader backwards", () => {
  const cases: Array<[string, Parameters<typeof archive>[0], RegExp]> = [
    ["a pax size of -1024", [{ name: "oci-layout", data: '{"imageLayoutVersion":"1.0.0"}' }, { name: "index.json", pax: { size: "-1024" }, data: "{}" }], /the pax size "-1024" at byte 2048 is not a size \(allowed: a whole number of bytes, 0 or more\)/],
    ["a pax size that is not a number", [{ name: "index.json", pax: { size: "1e3" }, data: "{}" }], /the pax size "1e3" at byte 1024 is not a size/],
    ["a header size that is not octal", [{ name: "index.json", data: "{}", sizeField: "-0001000" }], /the header's size field at byte 0 is not a size/],
    ["a size past the end of the archive", [{ name: "index.json", pax: { size: "99999999" }, data: "{}" }], /is 99999999 bytes, past the end of the archive/],
  ];
  for (const [what, entries, message] of cases) {
    test(`GIVEN an archive with ${what} WHEN publish --print-digest reads it THEN it stops with an error naming the entry, not a loop`, () => {
      const file = path.join(tmpDir(), "image.tar");
      fs.writeFileSync(file, archive(entries));
      const r = printDigest(file);
      assert.notEqual(r.signal, "SIGTERM", `publish --print-digest did not finish within 30 s (a loop): ${r.stderr.slice(-300)}`);
      assert.equal(r.status, 2, `exit ${r.status}: ${r.stderr}`);
      assert.match(r.stderr, message);
    });
  }
});
