/**
 * A fixture fleet for the report: six mirrors in every state the report
 * distinguishes, built through the real resolver and inventory code, plus
 * what GitHub would say about each (image-pin.yml and open issues), and a
 * stand-in GitHub API on 127.0.0.1 serving exactly that.
 */
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { fleetSummary, inventoryEntry, type Inventory } from "../../components/inventory";
import { renderMirrorFiles } from "../../components/render";
import { resolveFleet, type MirrorEntry } from "../../components/spec";
import type { StackSettings } from "../../components/types";
import { policy } from "../../infra/policy";
import { SYNTHETIC_DOCKERFILE } from "../../bench/synthetic";
import { PIPELINE } from "../workflow/fixtures";

export const TODAY = new Date("2026-11-23T00:00:00Z");
export const TOKEN = "ghs_report-fixture-token";
const settings: StackSettings = { owner: "acme-corp", registryNamespace: "acme-corp", visibility: "private", branchProtection: true, attestations: false };

const entries: MirrorEntry[] = [
  {
    file: "mirrors/gokapi.ts",
    spec: {
      name: "gokapi",
      upstream: { repo: "Forceu/Gokapi", license: "AGPL-3.0-only" },
      override: { file: "gokapi.Dockerfile" },
      gate: { waivers: [{ id: "CVE-2026-34986", reason: "go-jose JWE parsing is not reachable in our deployment", expires: "2026-12-10", approvedBy: "security-team" }] },
    },
  },
  { file: "mirrors/transfer-sh.ts", spec: { name: "transfer-sh", upstream: { repo: "dutchcoders/transfer.sh", license: "MIT" }, override: null } },
  { file: "mirrors/plik.ts", spec: { name: "plik", upstream: { repo: "root-gg/plik", license: "MIT" }, override: null } },
  { file: "mirrors/uptime-kuma.ts", spec: { name: "uptime-kuma", upstream: { repo: "louislam/uptime-kuma", license: "MIT" }, override: null } },
  {
    file: "mirrors/wikijs.ts",
    spec: {
      name: "wikijs",
      upstream: { repo: "requarks/wiki", license: "AGPL-3.0-only" },
      override: null,
      gate: { waivers: [{ id: "GHSA-aaaa-bbbb-cccc", reason: "only reachable with the LDAP module, which is disabled", expires: "2027-05-01", approvedBy: "alice" }] },
    },
  },
  { file: "mirrors/ghost.ts", spec: { name: "ghost", upstream: { repo: "TryGhost/Ghost", license: "MIT" }, override: null } },
];

export function fixtureInventory(): Inventory {
  const { mirrors } = resolveFleet(entries, { policy, settings, readFile: () => SYNTHETIC_DOCKERFILE, today: TODAY });
  const list = mirrors.map((m) => inventoryEntry(m, renderMirrorFiles(m, PIPELINE), TODAY));
  return { generatedFor: settings.owner, mirrors: list, summary: fleetSummary(list, policy.waiverNoticeDays) };
}

const D = (c: string) => `sha256:${c.repeat(64)}`;

/** The pin file as the pipeline's `pin` step writes it (pipeline/lib/pin.ts renderPinFile). */
function pinFile(image: string, digest: string, tag: string, builtAt: string, high: number): string {
  return [
    "# WRITTEN by the mirror pipeline (`pin` step of the mirror workflow), never by Pulumi.",
    "schema: 1",
    `image: ${image}`,
    `digest: "${digest}"`,
    `ref: "${image}@${digest}"`,
    `tag: ${tag}`,
    "upstream:",
    "  repo: x/y",
    `  commit: "${"f".repeat(40)}"`,
    "dockerfile_source: upstream",
    "override_sha256: null",
    "override_source: null",
    `built_at: "${builtAt}"`,
    "scan:",
    "  critical: 0",
    `  high: ${high}`,
    "  medium: 2",
    "  low: 5",
    "  unknown: 0",
    "  blocking: 0",
    "waivers_applied: []",
    "attestations: []",
    "run_url: null",
    "",
  ].join("\n");
}

/** image-pin.yml per mirror repository; missing = never built. */
export const PIN_FILES: Readonly<Record<string, string>> = {
  "mirror-gokapi": pinFile("ghcr.io/acme-corp/gokapi", D("a"), "v2.2.4", "2026-11-20T02:13:00Z", 1),
  "mirror-transfer-sh": pinFile("ghcr.io/acme-corp/transfer-sh", D("b"), "v1.6.1", "2026-10-01T01:00:00Z", 0),
  "mirror-plik": pinFile("ghcr.io/acme-corp/plik", D("c"), "1.3.8", "2026-11-22T03:40:00Z", 0),
  "mirror-wikijs": pinFile("ghcr.io/acme-corp/wikijs", D("d"), "v2.5.300", "2026-09-01T04:00:00Z", 0),
};

interface FixtureIssue {
  number: number;
  title: string;
  labels: string[];
  pull_request?: object;
}
export const ISSUES: Readonly<Record<string, FixtureIssue[]>> = {
  "mirror-gokapi": [],
  "mirror-transfer-sh": [
    { number: 7, title: "Blocked: 4 CRITICAL, 16 HIGH in v1.6.1", labels: ["cve", "blocked", "security"] },
    { number: 9, title: "Upstream looks stale: last release 2023-12-04", labels: ["upstream-health"] },
    { number: 10, title: "Unrelated question", labels: ["question"] },
    { number: 11, title: "mirror: pin v1.6.1", labels: ["mirror-build"], pull_request: {} },
  ],
  "mirror-plik": [],
  "mirror-uptime-kuma": [],
  "mirror-wikijs": [{ number: 3, title: "Rescan: CVE-2026-1111 (HIGH) in the pinned digest", labels: ["cve", "rescan", "security"] }],
  // mirror-ghost does not exist: 404 for everything.
};

export interface StandIn {
  readonly url: string;
  readonly requests: string[];
  close(): Promise<void>;
}

/** A GitHub API stand-in on 127.0.0.1 that serves the fixture and rejects a missing or wrong token. */
export async function startGitHubStandIn(): Promise<StandIn> {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    const send = (status: number, body: unknown, type = "application/json") => {
      res.writeHead(status, { "content-type": type });
      res.end(typeof body === "string" ? body : JSON.stringify(body));
    };
    if (req.headers.authorization !== `token ${TOKEN}` && req.headers.authorization !== `bearer ${TOKEN}`) return send(401, { message: "Bad credentials" });
    const u = new URL(req.url ?? "/", "http://127.0.0.1");
    let m = /^\/repos\/acme-corp\/([^/]+)\/issues$/.exec(u.pathname);
    if (m && req.method === "GET") {
      const list = ISSUES[m[1]];
      if (!list || u.searchParams.get("state") !== "open") return send(404, { message: "Not Found" });
      return send(
        200,
        list.map((i) => ({
          number: i.number,
          title: i.title,
          html_url: `https://github.com/acme-corp/${m![1]}/issues/${i.number}`,
          labels: i.labels.map((name) => ({ name })),
          ...(i.pull_request ? { pull_request: i.pull_request } : {}),
        })),
      );
    }
    m = /^\/repos\/acme-corp\/([^/]+)\/contents\/image-pin\.yml$/.exec(u.pathname);
    if (m && req.method === "GET") {
      const text = PIN_FILES[m[1]];
      if (text === undefined || req.headers.accept !== "application/vnd.github.raw+json") return send(404, { message: "Not Found" });
      return send(200, text, "application/vnd.github.raw");
    }
    return send(404, { message: "Not Found" });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
