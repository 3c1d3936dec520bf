/**
 * Stack settings from Pulumi config (Pulumi.<stack>.yaml), checked once with
 * errors that name the key and what is allowed. `settingsFrom` is pure so
 * that `npm run render` reads the same stack file without the Pulumi engine.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";
import { DEFAULT_ADMISSION_WINDOW } from "../components/admission";
import { PIPELINE_REPOSITORY_NAME } from "../components/pipeline-action";
import { REGISTRY_PATTERN, registryOf } from "../components/registry";
import { githubApi } from "./github-api";
import { GITHUB_PLANS, type GithubPlan, type NotifyTarget, type StackSettings } from "../components/types";

const NS = "mirror-fleet";

/** The organisation setting the pin job needs, as GitHub's settings page names it. */
export const ORG_PR_SETTING = "Allow GitHub Actions to create and approve pull requests";

/** Every key the fleet reads under `mirror-fleet:` (settings, secrets, adoption); any other is a typo. */
export const STACK_KEYS = [
  "githubOwner", "registryNamespace", "registry", "visibility", "pipelineVisibility", "githubPlan", "branchProtection", "attestations",
  "actionsCanCreatePullRequests", "deployBypassActorId", "cosignPublicKey", "cosignPrivateKey", "cosignPassword", "admissionWindow",
  "admissionAllowedImages", "adoptRepositories", "githubToken", "slackWebhookUrl", "teamsWebhookUrl",
] as const;

/**
 * Builds StackSettings from plain config values (`key` without the
 * `mirror-fleet:` namespace). `env`: where MIRROR_FLEET_GITHUB_API says the
 * GitHub is, whose registry is the default of `registry` and whose web
 * address is `serverUrl`. `present`: every config key of the stack (with its
 * namespace); one of ours the fleet does not read is refused, since its value
 * would be ignored without a word (`mirror-fleet:admisionWindow`, or a policy
 * field, which lives in infra/policy.ts).
 */
export function settingsFrom(get: (key: string) => unknown, where: string, env: Readonly<Record<string, string | undefined>> = process.env, present: readonly string[] = []): StackSettings {
  const problems: string[] = [];
  for (const full of present) {
    const key = full.startsWith(`${NS}:`) ? full.slice(NS.length + 1) : undefined;
    if (key !== undefined && !(STACK_KEYS as readonly string[]).includes(key)) {
      problems.push(`${full}: unknown key (allowed: ${STACK_KEYS.join(", ")}; the fleet policy is infra/policy.ts)`);
    }
  }
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
  const api = githubApi(env);
  const registry = str("registry") ?? registryOf(api.providerBaseUrl);
  if (!REGISTRY_PATTERN.test(registry)) {
    problems.push(`${NS}:registry: ${JSON.stringify(registry)} is not allowed (allowed: a registry host, optionally with a port, such as ghcr.io or containers.ghe.example.com)`);
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
  const plan = str("githubPlan") ?? "team";
  if (!(GITHUB_PLANS as readonly string[]).includes(plan)) problems.push(`${NS}:githubPlan: ${JSON.stringify(plan)} is not allowed (allowed: ${GITHUB_PLANS.join(", ")}; Pro counts as team)`);
  // What the plan allows private repositories decides the defaults; an
  // explicit setting wins where GitHub can do it, and is an error where not.
  const isPrivate = visibility === "private";
  const branchProtection = bool("branchProtection") ?? !(isPrivate && plan === "free");
  if (branchProtection && isPrivate && plan === "free") {
    problems.push(`${NS}:branchProtection: true is not allowed with ${NS}:githubPlan free and private repositories (allowed: false; GitHub Free cannot protect branches of private repositories)`);
  }
  // The pipeline repository (components/pipeline-repository.ts) is private
  // like the mirrors unless set: private mirrors run its action through its
  // Actions access setting, which GitHub documents for organisations' private
  // repositories and refuses on Free; public mirrors can use no private
  // repository's action. Publishing it is a choice this setting makes, never a default.
  const setPipelineVisibility = str("pipelineVisibility");
  const pipelineVisibility = setPipelineVisibility ?? visibility;
  const pipelineRepo = `${owner ?? "<githubOwner>"}/${PIPELINE_REPOSITORY_NAME}`;
  if (setPipelineVisibility === undefined && visibility !== "private" && visibility !== "public") {
    // Follows visibility, whose error is already listed.
  } else if (pipelineVisibility !== "private" && pipelineVisibility !== "public") {
    problems.push(`${NS}:pipelineVisibility: ${JSON.stringify(pipelineVisibility)} is not allowed (allowed: private, public)`);
  } else if (pipelineVisibility === "private" && visibility === "public") {
    problems.push(`${NS}:pipelineVisibility: private is not allowed with public mirrors (allowed: public; GitHub lets no public repository use an action of a private one)`);
  } else if (pipelineVisibility === "private" && isPrivate && plan === "free") {
    problems.push(
      `${NS}:pipelineVisibility: private is not allowed with ${NS}:githubPlan free and private mirrors (allowed: public, which publishes ${pipelineRepo}: ` +
        `the fleet's pipeline as built from this repository's pipeline/, no secrets; or githubPlan team or enterprise: GitHub Free cannot share a private repository's actions ` +
        `with the organisation's other private repositories, and every mirror's workflow runs the pipeline from there)`,
    );
  }
  const attestations = bool("attestations") ?? (!isPrivate || plan === "enterprise");
  if (attestations && isPrivate && plan !== "enterprise") {
    problems.push(`${NS}:attestations: true is not allowed with ${NS}:githubPlan ${plan} and private repositories (allowed: false, or githubPlan enterprise; artifact attestations of private repositories need GitHub Enterprise Cloud)`);
  }
  // Organisations forbid this by default, and the repository setting then
  // answers 409 in the middle of an up: say so before anything is created.
  const canCreatePRs = bool("actionsCanCreatePullRequests") ?? false;
  if (!canCreatePRs) {
    problems.push(
      `${NS}:actionsCanCreatePullRequests: ${canCreatePRs} is not allowed (allowed: true, once an owner of ${owner ?? "the organisation"} has turned on "${ORG_PR_SETTING}" in the organisation's Settings > Actions > General; the pin job opens its pull request with the job token)`,
    );
  }
  // The fleet's cosign public key, plain (it is committed as cosign.pub in
  // every mirror); its private half and password are stack secrets.
  const cosignPublicKey = str("cosignPublicKey");
  if (cosignPublicKey !== undefined && !/^-----BEGIN PUBLIC KEY-----\n[A-Za-z0-9+/=\n]+-----END PUBLIC KEY-----\n?$/.test(cosignPublicKey.trim() + "\n")) {
    problems.push(`${NS}:cosignPublicKey: not a PEM public key (allowed: the contents of the cosign.pub that cosign generate-key-pair wrote; pulumi config set ${NS}:cosignPublicKey < cosign.pub)`);
  }
  // How long a passing scan-gate result admits its digest (components/admission.ts).
  const admissionWindow = str("admissionWindow") ?? DEFAULT_ADMISSION_WINDOW;
  if (!/^[1-9][0-9]{0,5}(h|m|s)$/.test(admissionWindow)) {
    problems.push(
      `${NS}:admissionWindow: ${JSON.stringify(admissionWindow)} is not allowed (allowed: a whole number of hours, minutes or seconds, e.g. 48h; ` +
        `longer than the time between two nightly rescans, or a clean image is denied in between)`,
    );
  }
  const admissionAllowedImages = imagePatterns(get("admissionAllowedImages"), problems, `${registry}/${namespace}/`);
  // Structured values come as JSON text from pulumi.Config.get, as a list from the stack file.
  const rawAdopt = get("adoptRepositories");
  let adopt: unknown = rawAdopt;
  if (typeof rawAdopt === "string") {
    try {
      adopt = JSON.parse(rawAdopt);
    } catch {
      adopt = rawAdopt;
    }
  }
  const adoptRepositories = adopt === undefined ? undefined : Array.isArray(adopt) && adopt.every((r) => typeof r === "string" && /^[A-Za-z0-9._-]{1,100}$/.test(r)) ? (adopt as string[]) : null;
  if (adoptRepositories === null) {
    problems.push(`${NS}:adoptRepositories: ${JSON.stringify(rawAdopt)} is not allowed (allowed: a list of mirror repository names such as [mirror-plik], each checked by a person; README, "Removing a mirror")`);
  }
  if (problems.length) throw new Error(`${where}:\n  - ${problems.join("\n  - ")}`);
  return {
    owner: owner!,
    registryNamespace: namespace,
    registry,
    ...(api.serverUrl !== undefined ? { serverUrl: api.serverUrl } : {}),
    visibility: visibility as StackSettings["visibility"],
    pipelineVisibility: pipelineVisibility as StackSettings["visibility"],
    branchProtection,
    attestations,
    githubPlan: plan as GithubPlan,
    ...(bypass !== undefined ? { deployBypassActorId: bypass } : {}),
    ...(cosignPublicKey !== undefined ? { cosignPublicKey: cosignPublicKey.trim() + "\n" } : {}),
    admissionWindow,
    ...(admissionAllowedImages.length ? { admissionAllowedImages } : {}),
    ...(adoptRepositories ? { adoptRepositories } : {}),
  };
}

/**
 * `admissionAllowedImages`: a list (in the stack file) or its JSON (what
 * `pulumi config` hands over for a list), of image patterns spelled as a pod
 * names them, a registry host first: `registry.k8s.io/*`.
 * `fleet`: `<registry>/<namespace>/`, whose images are admitted only signed and
 * attested. A pattern that could match one of them (its text before the first
 * wildcard and `fleet` start alike: `ghcr.io/*`, `ghcr.io/acme*`,
 * `ghcr.io/acme/plik`) would admit it unsigned, by tag: refused.
 */
function imagePatterns(v: unknown, problems: string[], fleet: string): string[] {
  if (v === undefined) return [];
  let list: unknown = v;
  if (typeof v === "string") {
    try {
      list = JSON.parse(v);
    } catch {
      list = undefined;
    }
  }
  const pattern = /^[a-z0-9.-]+(:[0-9]+)?\/[a-z0-9._/*?@:-]*$/;
  if (!Array.isArray(list) || list.some((x) => typeof x !== "string" || !pattern.test(x))) {
    problems.push(`${NS}:admissionAllowedImages: ${JSON.stringify(v).slice(0, 120)} is not allowed (allowed: a list of image patterns, a lowercase registry host first, e.g. ["registry.k8s.io/*"])`);
    return [];
  }
  for (const p of list as string[]) {
    const literal = p.split(/[*?]/)[0];
    if (literal.startsWith(fleet) || fleet.startsWith(literal)) {
      problems.push(`${NS}:admissionAllowedImages: ${JSON.stringify(p)} would admit images of ${fleet} unsigned (allowed: patterns outside the fleet's namespace, whose images are admitted by their signature)`);
    }
  }
  return list as string[];
}

/** Plain (non-secret) values of a stack file, for `npm run render`. */
export function settingsFromStackFile(file: string): StackSettings {
  const doc = (parse(fs.readFileSync(file, "utf8")) ?? {}) as { config?: Record<string, unknown> };
  const config = doc.config ?? {};
  return settingsFrom(
    (key) => {
      const v = config[`${NS}:${key}`];
      return v !== null && typeof v === "object" && "secure" in (v as object) ? undefined : v;
    },
    path.basename(file),
    process.env,
    Object.keys(config),
  );
}

export interface StackConfig {
  readonly settings: StackSettings;
  /** Webhook URLs (secrets) per notification target, when set. */
  readonly webhooks: Partial<Record<NotifyTarget, pulumi.Output<string>>>;
  /** Token for the GitHub provider when set in config; else the provider reads GITHUB_TOKEN or an App. */
  readonly githubToken?: pulumi.Output<string>;
  /** The fleet's cosign private key and its password (secrets), set with cosignPublicKey or not at all. */
  readonly cosign?: { readonly privateKey: pulumi.Output<string>; readonly password: pulumi.Output<string> };
}

export function readStackConfig(config = new pulumi.Config(NS)): StackConfig {
  const settings = settingsFrom((key) => config.get(key), `Pulumi.${pulumi.getStack()}.yaml`, process.env, Object.keys(pulumi.runtime.allConfig()));
  const webhooks: StackConfig["webhooks"] = {};
  const slack = config.getSecret("slackWebhookUrl");
  const teams = config.getSecret("teamsWebhookUrl");
  if (slack) webhooks.slack = slack;
  if (teams) webhooks.teams = teams;
  const privateKey = config.getSecret("cosignPrivateKey");
  const password = config.getSecret("cosignPassword");
  checkCosignKeys(settings.cosignPublicKey !== undefined, privateKey !== undefined, password !== undefined, `Pulumi.${pulumi.getStack()}.yaml`);
  return { settings, webhooks, githubToken: config.getSecret("githubToken"), ...(privateKey && password ? { cosign: { privateKey, password } } : {}) };
}

/**
 * The fleet key is all three settings or none: a public key without its
 * private half would fail every publish job; a private key without the public
 * one could not be verified by anyone.
 */
export function checkCosignKeys(publicKey: boolean, privateKey: boolean, password: boolean, where: string): void {
  if (publicKey === privateKey && privateKey === password) return;
  const set = (on: boolean, key: string) => (on ? `${NS}:${key} is set` : `${NS}:${key} is not`);
  throw new Error(
    `${where}:\n  - ${NS}:cosignPublicKey, ${NS}:cosignPrivateKey and ${NS}:cosignPassword go together (${[set(publicKey, "cosignPublicKey"), set(privateKey, "cosignPrivateKey"), set(password, "cosignPassword")].join(", ")}; allowed: all three from one cosign generate-key-pair, or none: nothing is signed)`,
  );
}
