/**
 * The fleet: every entry in mirrors/ -> one MirroredImage, plus the
 * inventory. Validation of the whole fleet runs first, so that a bad entry
 * stops the program before any resource is declared (DESIGN invariant 8).
 */
import * as command from "@pulumi/command";
import type * as dockerbuild from "@pulumi/docker-build";
import type * as github from "@pulumi/github";
import * as pulumi from "@pulumi/pulumi";
import { commandLine } from "../components/shell";
import type { HealthByRepo } from "./upstream-health";
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
  /** Explicit providers; default providers are disabled in Pulumi.yaml. */
  readonly providers?: { readonly github?: github.Provider; readonly command?: command.Provider; readonly dockerBuild?: dockerbuild.Provider };
  /** Token for the post-deploy workflow dispatch; unset: GITHUB_TOKEN where pulumi runs. */
  readonly dispatchToken?: pulumi.Input<string>;
}

export interface Fleet {
  readonly mirrors: readonly MirroredImage[];
  readonly inventory: Inventory;
  readonly warnings: readonly string[];
  /** Upstream health by `owner/repo`, read at this preview/up (policy.deploy.healthCheck). */
  readonly health?: pulumi.Output<HealthByRepo>;
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

  const p = inputs.providers ?? {};
  const providers = [p.github, p.command, p.dockerBuild].filter((x): x is NonNullable<typeof x> => x !== undefined);
  const opts: pulumi.ComponentResourceOptions = providers.length ? { providers } : {};
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
          ...(inputs.policy.deploy.dispatchOnChange ? { dispatch: { token: inputs.dispatchToken } } : {}),
        },
        opts,
      ),
  );
  const entries = mirrors.map((m) => m.inventory);
  // One run for the whole fleet, as an invoke: it reads, creates nothing and
  // shows no diff; the inventory says "unavailable" rather than failing.
  const health = inputs.policy.deploy.healthCheck
    ? command.local
        .runOutput(
          {
            command: commandLine([
              "node", "--import", "tsx", "infra/upstream-health.ts",
              "--max-days-since-commit", String(inputs.policy.health.maxDaysSinceCommit),
              "--max-days-since-release", String(inputs.policy.health.maxDaysSinceRelease),
              ...[...new Set(resolved.map((m) => m.upstream.fullName))],
            ]),
          },
          p.command ? { provider: p.command } : {},
        )
        .apply((r) => JSON.parse(r.stdout ?? "{}") as HealthByRepo)
    : undefined;
  return {
    mirrors,
    warnings,
    health,
    inventory: {
      generatedFor: inputs.settings.owner,
      mirrors: entries,
      summary: fleetSummary(entries, inputs.policy.waiverNoticeDays),
    },
  };
}
