/**
 * The e2e's proof that admission follows the nights (DESIGN invariant 13,
 * issue 17 item 5), with the real Kyverno CLI against the attestations the
 * nights left in the run's registry:
 *
 *   1. after a blocking rescan (the workflow's `reattest` job runs only on a
 *      pass, so nothing is re-attested), the pinned digest is denied once the
 *      window has passed since its last pass;
 *   2. after a passing rescan (the `reattest` job replaced the scan-gate
 *      attestation with a fresh pass), it is admitted again,
 *   3. and denied once the window passes with no newer pass.
 *
 * The window is the stack setting admissionWindow, rendered into the policy
 * as in production, set to WINDOW_SECONDS here so that it really passes while
 * the e2e waits: Kyverno compares the gate's decidedAt with its own clock
 * (time_since), and no clock is moved. A night's end bounds its decidedAt
 * from above, so waiting from the end waits at least the window.
 */
import { kyvernoPolicy } from "../../components/admission";
import type { StackSettings } from "../../components/types";
import { kyvernoApply, type KyvernoResult } from "../support/kyverno";

/** The window the e2e renders into the policy: long enough for one night's end and one check, short enough to wait out. */
export const WINDOW_SECONDS = 40;

export interface AdmissionWindowWorld {
  /** The stack's settings, with the fleet's cosignPublicKey and the run's registry. */
  readonly settings: StackSettings;
  /** The pinned image, `<registry>/<namespace>/<name>@sha256:…`. */
  readonly pinned: string;
  /** What `kyverno apply` needs to reach the registry (HOME, TMPDIR, SSL_CERT_FILE). */
  readonly kyvernoEnv: NodeJS.ProcessEnv;
}

export async function applyWindowPolicy(w: AdmissionWindowWorld): Promise<KyvernoResult & { admitted: boolean; why: string }> {
  const policy = kyvernoPolicy({ ...w.settings, admissionWindow: `${WINDOW_SECONDS}s` });
  const pod = { apiVersion: "v1", kind: "Pod", metadata: { name: "pinned", namespace: "default" }, spec: { containers: [{ name: "app", image: w.pinned }] } };
  const r = await kyvernoApply(policy, pod, w.kyvernoEnv);
  const lines = r.text.split("\n").map((l) => l.trim()).filter(Boolean);
  const at = lines.findIndex((l) => / failed:$/.test(l) || /error/i.test(l));
  return { ...r, admitted: r.code === 0 && r.fail === 0 && r.error === 0 && r.pass > 0, why: at >= 0 ? lines.slice(at, at + 3).join(" ").slice(0, 240) : "" };
}

/** Waits until more than the window (and a margin) has passed since `since` (ms); returns how long it waited. */
export async function waitPastWindow(since: number): Promise<number> {
  const wait = Math.max(0, since + WINDOW_SECONDS * 1000 + 3000 - Date.now());
  await new Promise((resolve) => setTimeout(resolve, wait));
  return wait;
}
