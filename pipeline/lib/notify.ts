/**
 * One line to each configured chat webhook when a build passes or is blocked.
 * The webhook URLs are secrets (anyone holding one can post to the channel):
 * they come from env only and never appear in any message, even on failure.
 */

export const NOTIFY_STATUSES = ["passed", "blocked"] as const;
export type NotifyStatus = (typeof NOTIFY_STATUSES)[number];

export interface Notice {
  readonly status: NotifyStatus;
  readonly mirror: string;
  readonly link: string;
  readonly tag?: string;
}

/** Env variable -> target name. */
export const WEBHOOK_ENV = { MIRROR_SLACK_WEBHOOK: "slack", MIRROR_TEAMS_WEBHOOK: "teams" } as const;
export type NotifyTarget = (typeof WEBHOOK_ENV)[keyof typeof WEBHOOK_ENV];

export function noticeText(n: Notice): string {
  const what = n.tag ? `build of ${n.tag}` : "build";
  return n.status === "passed" ? `mirror ${n.mirror}: ${what} passed` : `mirror ${n.mirror}: ${what} BLOCKED`;
}

/** Slack incoming webhook: `{text}` in mrkdwn, where `&`, `<` and `>` must be escaped. */
export function slackPayload(n: Notice): { text: string } {
  const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  const icon = n.status === "passed" ? ":white_check_mark:" : ":no_entry:";
  return { text: `${icon} ${esc(noticeText(n))}: <${esc(n.link)}|details>` };
}

/** Teams (Workflows or incoming webhook): a message carrying one Adaptive Card with a text block and a link. */
export function teamsPayload(n: Notice): unknown {
  return {
    type: "message",
    attachments: [
      {
        contentType: "application/vnd.microsoft.card.adaptive",
        contentUrl: null,
        content: {
          $schema: "http://adaptivecards.io/schemas/adaptive-card.json",
          type: "AdaptiveCard",
          version: "1.4",
          body: [{ type: "TextBlock", text: noticeText(n), wrap: true, weight: "Bolder", color: n.status === "passed" ? "Good" : "Attention" }],
          actions: [{ type: "Action.OpenUrl", title: "Details", url: n.link }],
        },
      },
    ],
  };
}

export interface Delivery {
  readonly target: NotifyTarget;
  readonly ok: boolean;
  /** Why it failed, without the URL. */
  readonly error?: string;
}

export type Fetch = (url: string, init: { method: string; headers: Record<string, string>; body: string; signal: AbortSignal }) => Promise<{ ok: boolean; status: number; text(): Promise<string> }>;

/** Posts to every webhook set in env; none set is a no-op. */
export async function sendNotices(n: Notice, env: Readonly<Record<string, string | undefined>>, fetchImpl: Fetch, timeoutMs = 10_000): Promise<Delivery[]> {
  const out: Delivery[] = [];
  for (const [name, target] of Object.entries(WEBHOOK_ENV) as [keyof typeof WEBHOOK_ENV, NotifyTarget][]) {
    const hook = env[name];
    if (!hook) continue;
    if (!/^https?:\/\/\S+$/.test(hook)) {
      out.push({ target, ok: false, error: `${name} is not an http(s) URL` });
      continue;
    }
    const payload = target === "slack" ? slackPayload(n) : teamsPayload(n);
    try {
      const res = await fetchImpl(hook, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(payload),
        signal: AbortSignal.timeout(timeoutMs),
      });
      // Read the answer so the connection is released (its text is not shown: it may echo the request).
      await res.text().catch(() => "");
      out.push(res.ok ? { target, ok: true } : { target, ok: false, error: `HTTP ${res.status}` });
    } catch (e) {
      // fetch errors can quote the URL: keep only the kind of failure.
      const cause = (e as { cause?: { code?: string } }).cause?.code ?? (e as Error).name;
      out.push({ target, ok: false, error: `request failed (${cause})` });
    }
  }
  return out;
}
