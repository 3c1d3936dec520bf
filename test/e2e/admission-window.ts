/**
 * The e2e's proof that admission follows the nights (DESIGN invariant 13,
 * issue 17 item 5), with the real Kyverno CLI against signed attestations in
 * the run's registry:
 *
 *   1. `reattestAfterPassingRescan`: the build's pass, once older than the
 *      window, is denied; a passing rescan of the pinned digest (the
 *      workflow's `scan --image` and `gate`) and the reattest job's
 *      `sign --rescan` replace it with a fresh pass: admitted again.
 *   2. `deniedOnceWindowPasses`: after a blocking rescan (nothing
 *      re-attested: the reattest job runs only on a pass), the digest is
 *      denied once the window has passed since the last pass.
 *
 * The window is the stack setting admissionWindow, rendered into the policy
 * as in production, set to WINDOW_SECONDS here so that it really passes while
 * the test waits: Kyverno compares the gate's decidedAt with its own clock
 * (time_since), and no clock is moved.
 *
 * The e2e calls both, in that order: the first after the pin is merged and
 * before the vulnerability DB gets the rescan's advisory (the rescan then
 * still passes), the second after the blocking rescan.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { kyvernoPolicy } from "../../components/admission";
import { MIRROR_PATHS } from "../../components/mirror-config";
import type { StackSettings } from "../../components/types";
import { kyvernoApply, type KyvernoResult } from "../support/kyverno";

/** The window the e2e renders into the policy: long enough for one re-attestation and one check, short enough to wait out. */
export const WINDOW_SECONDS = 25;

export interface AdmissionWindowWorld {
  /** Runs a pipeline command as the workflow's step does (the e2e's Pipeline.run: checked against the rendered workflow). */
  readonly pipeline: (args: readonly string[], expect?: readonly number[], stepEnv?: Readonly<Record<string, string>>) => Promise<{ readonly code: number; readonly json: any; readonly stderr: string }>;
  /** The stack's settings, with the fleet's cosignPublicKey. */
  readonly settings: StackSettings;
  /** `<registry host>/<namespace>`: where the fleet's images live in this run. */
  readonly registry: string;
  readonly image: string;
  /** The pinned index digest. */
  readonly digest: string;
  readonly tag: string;
  readonly commit: string;
  readonly platforms: readonly string[];
  /** The signing step's environment: COSIGN_PRIVATE_KEY, COSIGN_PASSWORD, HOME. */
  readonly keyEnv: Readonly<Record<string, string>>;
  /** What `kyverno apply` needs to reach the registry. */
  readonly kyvernoEnv: NodeJS.ProcessEnv;
  /** A folder of the run's for the rescan's output. */
  readonly workDir: string;
  readonly runUrl: string;
}

function policy(w: AdmissionWindowWorld): unknown {
  return kyvernoPolicy({ ...w.settings, admissionWindow: `${WINDOW_SECONDS}s` }, w.registry);
}

async function apply(w: AdmissionWindowWorld): Promise<KyvernoResult & { admitted: boolean; why: string }> {
  const pod = { apiVersion: "v1", kind: "Pod", metadata: { name: "pinned", namespace: "default" }, spec: { containers: [{ name: "app", image: `${w.image}@${w.digest}` }] } };
  const r = await kyvernoApply(policy(w), pod, w.kyvernoEnv);
  const lines = r.text.split("\n").map((l) => l.trim()).filter(Boolean);
  const at = lines.findIndex((l) => / failed:$/.test(l) || /error/i.test(l));
  return { ...r, admitted: r.code === 0 && r.fail === 0 && r.error === 0 && r.pass > 0, why: at >= 0 ? lines.slice(at, at + 3).join(" ").slice(0, 240) : "" };
}

function fail(message: string): never {
  throw new Error(message);
}

/** Waits until `decidedAt` is more than the window (and a margin) ago. */
async function waitPast(decidedAt: string): Promise<number> {
  const until = Date.parse(decidedAt) + WINDOW_SECONDS * 1000 + 3000;
  const wait = Math.max(0, until - Date.now());
  if (wait > (WINDOW_SECONDS + 10) * 1000) fail(`decidedAt ${decidedAt} lies in the future`);
  await new Promise((resolve) => setTimeout(resolve, wait));
  return wait;
}

/** Step 1 (see the header). `buildDecidedAt`: the build gate's decidedAt, which the build's attestation carries. */
export async function reattestAfterPassingRescan(w: AdmissionWindowWorld, buildDecidedAt: string): Promise<{ decidedAt: string; lines: string[] }> {
  const lines: string[] = [`policy window: ${WINDOW_SECONDS}s (stack setting admissionWindow)`];
  const waited = await waitPast(buildDecidedAt);
  const aged = await apply(w);
  if (aged.admitted) fail(`the build's pass (decided ${buildDecidedAt}) is older than ${WINDOW_SECONDS}s and still admitted:\n    ${aged.text.slice(-600)}`);
  lines.push(`the build's pass (decided ${buildDecidedAt}), ${WINDOW_SECONDS}s later (waited ${(waited / 1000).toFixed(0)}s): denied (exit ${aged.code}) ${aged.why}`);

  const dir = path.join(w.workDir, "rescan-pass");
  const scan = await w.pipeline(["scan", "--config", MIRROR_PATHS.config, "--platforms", w.platforms.join(","), "--image", w.image, "--digest", w.digest, "--out", dir, "--tls-verify", "false"]);
  if (scan.json?.kind !== "rescan" || scan.json?.image?.digest !== w.digest) fail(`the passing rescan recorded ${scan.json?.kind} of ${scan.json?.image?.digest}`);
  const g = await w.pipeline(["gate", "--config", MIRROR_PATHS.config, "--scan-record", path.join(dir, "scan.json"), "--summary-out", path.join(dir, "gate-summary.md")]);
  if (g.json?.decision !== "pass") fail(`the rescan before the new advisory did not pass: ${JSON.stringify(g.json?.blocking ?? g.json?.unusable).slice(0, 300)}`);
  const gateFile = path.join(dir, "gate.json");
  fs.writeFileSync(gateFile, JSON.stringify(g.json));
  const s = await w.pipeline(
    ["sign", "--rescan", "--config", MIRROR_PATHS.config, "--image", w.image, "--digest", w.digest, "--tag", w.tag, "--commit", w.commit,
      "--scan-record", path.join(dir, "scan.json"), "--gate-json", gateFile, "--public-key", MIRROR_PATHS.publicKey, "--run-url", w.runUrl, "--tls-verify", "false"],
    [0],
    w.keyEnv,
  );
  if (s.json?.signed?.length !== 0 || s.json?.predicate?.scan !== "rescan") fail(`sign --rescan signed ${JSON.stringify(s.json?.signed)} / predicate ${s.json?.predicate?.scan}`);
  const decidedAt = g.json.decidedAt as string;
  lines.push(`passing rescan (gate decided ${decidedAt}); sign --rescan: ${s.json.attested.length} scan-gate attestation(s) replaced, nothing signed anew`);

  const fresh = await apply(w);
  if (!fresh.admitted) fail(`after the re-attestation the pinned digest is not admitted (exit ${fresh.code}):\n    ${fresh.text.slice(-800)}`);
  lines.push(`re-attested pass: admitted (exit 0, pass ${fresh.pass}, fail 0)`);
  return { decidedAt, lines };
}

/** Step 2 (see the header): no pass since `decidedAt`; once the window has passed, the digest is denied. */
export async function deniedOnceWindowPasses(w: AdmissionWindowWorld, decidedAt: string): Promise<string[]> {
  const waited = await waitPast(decidedAt);
  const r = await apply(w);
  if (r.admitted) fail(`the last pass was decided at ${decidedAt}, more than ${WINDOW_SECONDS}s ago, and the digest is still admitted:\n    ${r.text.slice(-600)}`);
  return [`no pass since ${decidedAt} (the rescan blocked: nothing re-attested); ${WINDOW_SECONDS}s later (waited ${(waited / 1000).toFixed(0)}s): denied (exit ${r.code}, fail/error ${r.fail + r.error}) ${r.why}`];
}
