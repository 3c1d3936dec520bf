/**
 * Stack settings from Pulumi config (Pulumi.<stack>.yaml), checked once with
 * errors that name the key and what is allowed. `settingsFrom` is pure so
 * that `npm run render` reads the same stack file without the Pulumi engine.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";
import type { NotifyTarget, StackSettings } from "../components/types";

const NS = "mirror-fleet";

/** Builds StackSettings from plain config values (`key` without the `mirror-fleet:` namespace). */
export function settingsFrom(get: (key: string) => unknown, where: string): StackSettings {
  const problems: string[] = [];
  const str = (key: string): string | undefined => {
    const v = get(key);
    if (v === undefined) return undefined;
    if (typeof v !== "string") problems.push(`${NS}:${key}: ${JSON.stringify(v)} is not allowed (allowed: a string)`);
    return typeof v === "string" ? v : undefined;
  };
  const bool = (key: string): boolean | undefined => {
    const v = get(key);
    if (v === undefined) return undefined;
    if (v === true || v === "true") return true;
    if (v === false || v === "false") return false;
    problems.push(`${NS}:${key}: ${JSON.stringify(v)} is not allowed (allowed: true, false)`);
    return undefined;
  };
  const owner = str("githubOwner");
  if (owner === undefined) problems.push(`${NS}:githubOwner: missing (allowed: the GitHub organisation that owns the mirrors; pulumi config set ${NS}:githubOwner acme-corp)`);
  else if (!/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$/.test(owner)) problems.push(`${NS}:githubOwner: ${JSON.stringify(owner)} is not allowed (allowed: a GitHub login)`);
  const namespace = str("registryNamespace") ?? owner?.toLowerCase() ?? "";
  if (owner !== undefined && !/^[a-z0-9]+(?:[._-][a-z0-9]+)*$/.test(namespace)) {
    problems.push(`${NS}:registryNamespace: ${JSON.stringify(namespace)} is not allowed (allowed: a lowercase GHCR namespace)`);
  }
  const visibility = str("visibility") ?? "private";
  if (visibility !== "private" && visibility !== "public") {
    problems.push(`${NS}:visibility: ${JSON.stringify(visibility)} is not allowed (allowed: private, public)`);
  }
  const rawBypass = get("deployBypassActorId");
  const bypass = rawBypass === undefined ? undefined : Number(rawBypass);
  if (bypass !== undefined && (!Number.isInteger(bypass) || bypass <= 0)) {
    problems.push(`${NS}:deployBypassActorId: ${JSON.stringify(rawBypass)} is not allowed (allowed: the numeric id of the deploying GitHub App)`);
  }
  const branchProtection = bool("branchProtection") ?? true;
  const attestations = bool("attestations") ?? visibility === "public";
  if (problems.length) throw new Error(`${where}:\n  - ${problems.join("\n  - ")}`);
  return {
    owner: owner!,
    registryNamespace: namespace,
    visibility: visibility as StackSettings["visibility"],
    branchProtection,
    attestations,
    ...(bypass !== undefined ? { deployBypassActorId: bypass } : {}),
  };
}

/** Plain (non-secret) values of a stack file, for `npm run render`. */
export function settingsFromStackFile(file: string): StackSettings {
  const doc = (parse(fs.readFileSync(file, "utf8")) ?? {}) as { config?: Record<string, unknown> };
  const config = doc.config ?? {};
  return settingsFrom((key) => {
    const v = config[`${NS}:${key}`];
    return v !== null && typeof v === "object" && "secure" in (v as object) ? undefined : v;
  }, path.basename(file));
}

export interface StackConfig {
  readonly settings: StackSettings;
  /** Webhook URLs (secrets) per notification target, when set. */
  readonly webhooks: Partial<Record<NotifyTarget, pulumi.Output<string>>>;
  /** Token for the GitHub provider when set in config; else the provider reads GITHUB_TOKEN or an App. */
  readonly githubToken?: pulumi.Output<string>;
}

export function readStackConfig(config = new pulumi.Config(NS)): StackConfig {
  const settings = settingsFrom((key) => config.get(key), `Pulumi.${pulumi.getStack()}.yaml`);
  const webhooks: StackConfig["webhooks"] = {};
  const slack = config.getSecret("slackWebhookUrl");
  const teams = config.getSecret("teamsWebhookUrl");
  if (slack) webhooks.slack = slack;
  if (teams) webhooks.teams = teams;
  return { settings, webhooks, githubToken: config.getSecret("githubToken") };
}
