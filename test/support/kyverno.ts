/**
 * The Kyverno CLI, built by `npm run engine:build -- kyverno`: `kyverno apply`
 * of one policy on one resource, read from its result line
 * (`pass: N, fail: N, warn: N, error: N, skip: N`). Used by the admission
 * tests and by the e2e's admission-window proof (test/e2e/admission-window.ts).
 */
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { toYaml } from "../../components/yaml";
import { toolPath } from "./tools";

export interface KyvernoResult {
  readonly code: number;
  readonly pass: number;
  readonly fail: number;
  readonly error: number;
  readonly skip: number;
  /** The CLI's output, for messages. */
  readonly text: string;
}

/** `kyverno apply POLICY --resource RESOURCE`; `env` for a verifyImages rule (HOME with registry trust, TMPDIR). */
export function kyvernoApply(policy: unknown, resource: unknown, env: NodeJS.ProcessEnv = { PATH: process.env.PATH }): Promise<KyvernoResult> {
  const kyverno = toolPath("kyverno");
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kyverno-apply-"));
  fs.writeFileSync(path.join(dir, "policy.yaml"), toYaml(policy));
  fs.writeFileSync(path.join(dir, "resource.yaml"), toYaml(resource));
  return new Promise((resolve, reject) => {
    execFile(kyverno, ["apply", path.join(dir, "policy.yaml"), "--resource", path.join(dir, "resource.yaml"), "--remove-color"], { env, timeout: 120_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      fs.rmSync(dir, { recursive: true, force: true });
      const text = `${stdout}${stderr}`;
      const m = /pass: (\d+), fail: (\d+), warn: (\d+), error: (\d+), skip: (\d+)/.exec(stdout);
      if (!m) return reject(new Error(`kyverno apply printed no result line (${err?.message ?? "exit 0"}):\n${text.slice(-1500)}`));
      const code = err ? (typeof (err as { code?: unknown }).code === "number" ? ((err as { code: number }).code) : 1) : 0;
      resolve({ code, pass: Number(m[1]), fail: Number(m[2]), error: Number(m[4]), skip: Number(m[5]), text });
    });
  });
}
