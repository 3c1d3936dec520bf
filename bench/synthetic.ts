/**
 * A synthetic fleet of any size, in memory: varied names, upstreams and
 * overrides (some mirrors with a Dockerfile file, some with upstream's own
 * Dockerfile, some with waivers, reviewers, build args, extra platforms,
 * tag prefixes and notifications), so that the bench and the scale tests
 * exercise every branch of the program, not one mirror copied N times.
 * Deterministic: mirror i is always the same mirror.
 */
import type { MirrorEntry } from "../components/spec";
import type { StackSettings } from "../components/types";
import { BASE_IMAGES } from "../infra/base-images";

const WORDS = [
  "gokapi", "plik", "uptime", "wiki", "paste", "notes", "drop", "feeds", "photos", "vault",
  "chat", "links", "status", "docs", "board", "forms", "kanban", "metrics", "search", "share",
];
const ORGS = ["Forceu", "root-gg", "louislam", "requarks", "dutchcoders", "go-gitea", "miniflux", "immich-app", "outline", "penpot"];

export const SYNTHETIC_SETTINGS: StackSettings = {
  owner: "acme-corp",
  registryNamespace: "acme-corp",
  visibility: "private",
  branchProtection: true,
  attestations: false,
  deployBypassActorId: 123456,
};

/** The one override Dockerfile the synthetic entries with `override: { file }` point at. */
export const SYNTHETIC_DOCKERFILE = `ARG VERSION
FROM ${BASE_IMAGES.goBuilder} AS build
ARG VERSION
WORKDIR /src
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=\${VERSION}" -o /out/app .
FROM ${BASE_IMAGES.distrolessStaticNonroot}
COPY --from=build /out/app /app
USER nonroot:nonroot
ENTRYPOINT ["/app"]
`;

/** Reads the synthetic fleet's override files (every `mirrors/*.Dockerfile` is the same text). */
export function syntheticReadFile(p: string): string {
  if (/^mirrors\/[a-z0-9-]+\.Dockerfile$/.test(p)) return SYNTHETIC_DOCKERFILE;
  throw new Error(`ENOENT: ${p}`);
}

/** Webhook secrets for the entries that notify (fleetProgram requires one per target). */
export const SYNTHETIC_WEBHOOKS = { slack: "https://hooks.slack.example/services/T/B/X", teams: "https://teams.example/webhook/X" } as const;

export function syntheticEntry(i: number, today = new Date("2026-11-23T00:00:00Z")): MirrorEntry {
  const word = WORDS[i % WORDS.length];
  const name = `${word}-${i}`;
  const expires = new Date(today.getTime() + (20 + (i % 200)) * 86_400_000).toISOString().slice(0, 10);
  const spec: Record<string, unknown> = {
    name,
    upstream: {
      repo: `${ORGS[i % ORGS.length]}/${word}${i}`,
      license: i % 2 ? "MIT" : "AGPL-3.0-only",
      ...(i % 4 === 0 ? { tags: { range: ">=1.0.0", prerelease: false } } : {}),
      ...(i % 13 === 0 ? { tags: { prefix: `${word}-v` } } : {}),
    },
    // Two in five build a hardened override; the rest build upstream's Dockerfile.
    override: i % 5 < 2 ? { file: `${name}.Dockerfile` } : null,
  };
  if (i % 3 === 0) spec.reviewers = ["security-team", `acme-corp/${word}-owners`];
  if (i % 11 === 0) spec.build = { args: { GO_TAGS: "netgo" }, platforms: ["linux/amd64", "linux/arm64"] };
  if (i % 7 === 0) {
    spec.gate = {
      waivers: [
        {
          id: `CVE-2026-${10000 + i}`,
          reason: "Not reachable: the vulnerable parser is never fed untrusted input in this service.",
          expires,
          approvedBy: "security-team",
        },
      ],
    };
  }
  if (i % 17 === 0) spec.gate = { ...(spec.gate as object | undefined), severities: ["CRITICAL"], fixedOnly: false };
  if (i % 19 === 0) spec.notify = ["slack"];
  if (i % 23 === 0) spec.watch = ["Dockerfile", "go.mod"];
  return { file: `mirrors/${name}.ts`, spec };
}

export function syntheticEntries(n: number, today?: Date): MirrorEntry[] {
  return Array.from({ length: n }, (_, i) => syntheticEntry(i, today));
}
