/**
 * Red team, issue 17 item 5: a passing scan-gate attestation was admitted
 * forever; after a rescan blocked on a new CVE, or a waiver expired, the
 * cluster still admitted the digest. The rendered policies now admit a `pass`
 * only when its gate decided within the stack's window (admissionWindow,
 * default 48h) and not in the future; the nightly rescan re-attests a digest
 * that still passes, a blocking one leaves the last pass to age out.
 *
 * Here the scan-gate conditions, exactly as the fleet's ClusterPolicy renders
 * them, run in the real Kyverno CLI without a registry: as the preconditions
 * of a rule over a ConfigMap that carries a predicate's `decision` and
 * `gate.decidedAt` in the same context names the attestation gives them
 * (`kyverno apply` then reports the rule failing exactly when the conditions
 * hold: admitted). The e2e proves the same against signed attestations in a
 * registry (test/e2e/admission-window.ts).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { kyvernoPolicy, sigstorePolicy } from "../../components/admission";
import type { StackSettings } from "../../components/types";
import { settingsFrom } from "../../infra/settings";
import { SCAN_GATE_PREDICATE_TYPE } from "../../pipeline/lib/sign";
import { kyvernoApply } from "../support/kyverno";
import { FLEET_PUBLIC_KEY } from "../workflow/fixtures";

const SETTINGS: StackSettings = { owner: "acme-corp", registryNamespace: "acme-corp", visibility: "private", branchProtection: true, attestations: false, cosignPublicKey: FLEET_PUBLIC_KEY };

/** The scan-gate attestation's conditions in the rendered policy. */
function scanGateConditions(settings: StackSettings): unknown {
  const rules = (kyvernoPolicy(settings).spec as { rules: Array<{ verifyImages?: Array<{ attestations: Array<{ type: string; conditions?: unknown }> }> }> }).rules;
  const att = rules.flatMap((r) => r.verifyImages ?? []).flatMap((v) => v.attestations).find((a) => a.type === SCAN_GATE_PREDICATE_TYPE);
  assert.ok(att?.conditions, "the policy sets no conditions on the scan-gate attestation");
  return att.conditions;
}

/** A policy whose one rule fails (denies) exactly when the conditions hold for the ConfigMap's predicate. */
function probe(settings: StackSettings) {
  return {
    apiVersion: "kyverno.io/v1",
    kind: "ClusterPolicy",
    metadata: { name: "scan-gate-conditions" },
    spec: {
      background: false,
      rules: [
        {
          name: "holds",
          match: { any: [{ resources: { kinds: ["ConfigMap"] } }] },
          context: [
            { name: "decision", variable: { jmesPath: "request.object.data.decision" } },
            { name: "gate", variable: { value: { decidedAt: "{{ request.object.data.decidedAt }}" } } },
          ],
          // A rule's preconditions are one any/all block; the attestation's conditions are a list of them (one here).
          preconditions: onlyBlock(scanGateConditions(settings)),
          validate: { failureAction: "Enforce", message: "the scan-gate conditions hold: admitted", deny: {} },
        },
      ],
    },
  };
}

function onlyBlock(conditions: unknown): unknown {
  assert.ok(Array.isArray(conditions) && conditions.length === 1, `expected one any/all block, got ${JSON.stringify(conditions)}`);
  return conditions[0];
}

const ago = (hours: number) => new Date(Date.now() - hours * 3600_000).toISOString();

async function admitted(settings: StackSettings, decision: string, decidedAt: string): Promise<boolean> {
  const r = await kyvernoApply(probe(settings), { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "predicate", namespace: "default" }, data: { decision, decidedAt } });
  assert.equal(r.pass, 0, r.text.slice(-600));
  return r.fail === 1;
}

describe("adversarial (issue 17 #5): a pass admits only within the stack's window", () => {
  test("GIVEN the default window (48h) THEN a pass decided 1h or 47h ago is admitted; 49h ago, a block, or a date in the future is not", async () => {
    const settings = settingsFrom((k) => ({ githubOwner: "acme-corp", actionsCanCreatePullRequests: true, cosignPublicKey: FLEET_PUBLIC_KEY })[k as "githubOwner"], "Pulumi.test.yaml");
    assert.equal(settings.admissionWindow, "48h");
    assert.equal(await admitted(settings, "pass", ago(1)), true);
    assert.equal(await admitted(settings, "pass", ago(47)), true);
    assert.equal(await admitted(settings, "pass", ago(49)), false, "a pass older than the window is admitted");
    assert.equal(await admitted(settings, "block", ago(1)), false);
    assert.equal(await admitted(settings, "pass", ago(-1)), false, "a decision dated an hour ahead is admitted");
  });

  test("GIVEN a stack window of 6h THEN a pass decided 7h ago is denied", async () => {
    assert.equal(await admitted({ ...SETTINGS, admissionWindow: "6h" }, "pass", ago(5)), true);
    assert.equal(await admitted({ ...SETTINGS, admissionWindow: "6h" }, "pass", ago(7)), false);
  });

  test("GIVEN a bad window in the stack THEN the settings name the key and what is allowed", () => {
    assert.throws(
      () => settingsFrom((k) => ({ githubOwner: "acme-corp", actionsCanCreatePullRequests: true, admissionWindow: "2d" })[k as "githubOwner"], "Pulumi.prod.yaml"),
      { message: 'Pulumi.prod.yaml:\n  - mirror-fleet:admissionWindow: "2d" is not allowed (allowed: a whole number of hours, minutes or seconds, e.g. 48h; longer than the time between two nightly rescans, or a clean image is denied in between)' },
    );
  });

  test("GIVEN the Sigstore policy THEN its scan-gate attestation policy checks the same window (Rego, time.now_ns)", () => {
    const text = JSON.stringify(sigstorePolicy({ ...SETTINGS, admissionWindow: "6h" }));
    assert.match(text, /age <= 21600 \* 1000000000/);
    assert.match(text, /input\.predicate\.decision == \\"pass\\"/);
  });
});
