/**
 * The fleet: every entry in mirrors/ -> one MirroredImage, plus the
 * inventory. Validation of the whole fleet runs first, so that a bad entry
 * stops the program before any resource is declared (DESIGN invariant 8).
 */
import type * as github from "@pulumi/github";
import * as pulumi from "@pulumi/pulumi";
import { fleetSummary, type Inventory } from "../components/inventory";
import { MirroredImage } from "../components/mirrored-image";
import { resolveFleet, type MirrorEntry } from "../components/spec";
import type { FleetPolicy, NotifyTarget, StackSettings } from "../components/types";

export interface FleetInputs {
  readonly entries: readonly MirrorEntry[];
  readonly policy: FleetPolicy;
  readonly settings: StackSettings;
  readonly readFile: (path: string) => string;
  readonly today?: Date;
  readonly webhooks?: Partial<Record<NotifyTarget, pulumi.Input<string>>>;
  /** The explicit GitHub provider; default providers are disabled in Pulumi.yaml. */
  readonly provider?: github.Provider;
}

export interface Fleet {
  readonly mirrors: readonly MirroredImage[];
  readonly inventory: Inventory;
  readonly warnings: readonly string[];
}

export function fleetProgram(inputs: FleetInputs): Fleet {
  const today = inputs.today ?? new Date();
  const { mirrors: resolved, warnings } = resolveFleet(inputs.entries, {
    policy: inputs.policy,
    settings: inputs.settings,
    readFile: inputs.readFile,
    today,
  });
  // Notification targets need their stack secret: checked for the whole
  // fleet before the first component is declared.
  const missing = resolved.flatMap((m) =>
    m.notify.filter((t) => inputs.webhooks?.[t] === undefined).map((t) => `${m.sourceFile}: notify: ${t} needs the stack secret mirror-fleet:${t}WebhookUrl (pulumi config set --secret mirror-fleet:${t}WebhookUrl …)`),
  );
  if (missing.length) throw new Error(`${missing.length} problem(s); nothing was created:\n  - ${missing.join("\n  - ")}`);

  const opts: pulumi.ComponentResourceOptions = inputs.provider ? { providers: { github: inputs.provider } } : {};
  const mirrors = resolved.map(
    (m) =>
      new MirroredImage(
        m.name,
        {
          mirror: m,
          labels: inputs.policy.labels,
          webhooks: inputs.webhooks,
          deployBypassActorId: inputs.settings.deployBypassActorId,
          today,
        },
        opts,
      ),
  );
  const entries = mirrors.map((m) => m.inventory);
  return {
    mirrors,
    warnings,
    inventory: {
      generatedFor: inputs.settings.owner,
      mirrors: entries,
      summary: fleetSummary(entries, inputs.policy.waiverNoticeDays),
    },
  };
}
