/**
 * Shared by the pipeline's adversarial tests (pipeline-*.test.ts): a mirror
 * checkout with its config, files written into it, and pipeline commands run
 * in-process against the GitHub stand-in (every request checked against
 * GitHub's OpenAPI description by withCheckedStandIn).
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { MirrorConfig } from "../../components/mirror-config";
import { toYaml } from "../../components/yaml";
import { runPipelineCommand, withCheckedStandIn, type CommandRun, type GitHubStandIn } from "../support/github-standin";

export const REPO = "acme/mirror-gokapi";
export const digest = (s: string) => `sha256:${createHash("sha256").update(s).digest("hex")}`;
export const commit = (s: string) => createHash("sha1").update(s).digest("hex");

/** A comment as a reader sees it: without the hidden id that lets a lost create be found. */
export const withoutWriteId = (body: string) => body.replace(/\n+<!-- mirror-fleet:write [0-9a-f-]{36} -->\n$/, "");

export const CONFIG: MirrorConfig = {
  schema: 1,
  name: "gokapi",
  repository: REPO,
  upstream: { repo: "Forceu/Gokapi", url: "https://github.com/Forceu/Gokapi", license: "AGPL-3.0", tags: { range: "*", prerelease: false, prefix: "" } },
  image: "ghcr.io/acme/gokapi",
  override: { path: "dockerfiles/Dockerfile.override", source: "mirrors/gokapi.Dockerfile", sha256: "e".repeat(64), basePins: [] },
  build: { args: {}, platforms: ["linux/amd64"], dockerfile: "Dockerfile", context: "." },
  watch: ["Dockerfile"],
  gate: { severities: ["CRITICAL", "HIGH"], fixedOnly: true, waivers: ".trivyignore.yaml" },
  health: { maxDaysSinceCommit: 180, maxDaysSinceRelease: 365 },
  attestations: false,
  reviewers: [],
} as unknown as MirrorConfig;

/** A finding as the gate reports it. */
export function finding(id: string, pkg: string, installed = "1.0.0", fixed = "1.0.1") {
  return { id, severity: "HIGH", package: pkg, installed, fixed, target: "app", purl: null };
}

export function gateJson(blocking: ReadonlyArray<ReturnType<typeof finding>>) {
  return {
    decision: blocking.length ? "block" : "pass",
    unusable: [],
    blocking,
    waived: [],
    expiredWaivers: [],
    counts: { findings: blocking.length, bySeverity: { CRITICAL: 0, HIGH: blocking.length, MEDIUM: 0, LOW: 0, UNKNOWN: 0 }, blocking: blocking.length },
  };
}

export const PASS = gateJson([]);

export class World {
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), "adversarial-"));
  private n = 0;
  constructor(readonly s: GitHubStandIn) {
    fs.mkdirSync(path.join(this.dir, ".mirror"));
    fs.writeFileSync(path.join(this.dir, ".mirror/config.yml"), `# generated\n${toYaml(CONFIG)}`);
  }

  file(name: string, content: unknown): string {
    const p = path.join(this.dir, `${this.n++}-${name}`);
    fs.writeFileSync(p, typeof content === "string" ? content : JSON.stringify(content));
    return p;
  }

  run(args: readonly string[], env: Record<string, string> = {}): Promise<CommandRun> {
    return runPipelineCommand(this.s, REPO, this.dir, args, env);
  }

  /** `pin` of a passing build of `tag` with digest(build), built at `builtAt`. */
  pin(tag: string, build: string, builtAt = "2026-03-11T02:14:00Z", extra: string[] = []): Promise<CommandRun> {
    return this.run([
      "pin", "--digest", digest(build), "--tag", tag, "--commit", commit(tag), "--gate-json", this.file("gate.json", PASS),
      "--run-url", "https://github.com/acme/mirror-gokapi/actions/runs/42", "--built-at", builtAt, ...extra,
    ]);
  }
}

export async function withWorld(f: (w: World) => Promise<void>): Promise<void> {
  await withCheckedStandIn(REPO, async (s) => {
    // Who approves override reviews in these tests: the policy's default role (pipeline/lib/approval.ts).
    for (const login of ["alice", "bob"]) s.setRole(REPO, login, "write");
    const w = new World(s);
    try {
      await f(w);
    } finally {
      fs.rmSync(w.dir, { recursive: true, force: true });
    }
  });
}
