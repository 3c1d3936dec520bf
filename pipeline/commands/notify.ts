/**
 * `notify`: one line to each chat webhook set in env (MIRROR_SLACK_WEBHOOK,
 * MIRROR_TEAMS_WEBHOOK) when a build passed or was blocked.
 */
import { parseFlags, UsageError, type Command } from "../cli";
import { NOTIFY_STATUSES, sendNotices, WEBHOOK_ENV, type NotifyStatus } from "../lib/notify";
import { checkTagName } from "../lib/tags";

const USAGE = `usage: mirror-pipeline notify --status passed|blocked --link URL --mirror NAME [--tag TAG]

Posts one line to each webhook set in env: MIRROR_SLACK_WEBHOOK (Slack incoming
webhook, {text}) and MIRROR_TEAMS_WEBHOOK (Teams, an Adaptive Card). None set:
nothing is sent. The webhook URLs are never printed.

  --status STATUS   passed | blocked
  --link URL        the workflow run (or the issue) to open
  --mirror NAME     the mirror's name
  --tag TAG         the upstream tag that was built

Prints {sent: [targets], failed: [{target, error}]}. Exit 2 when a delivery failed.
`;

const LINK = /^https?:\/\/[^\s<>|]+$/;

export const command: Command = {
  name: "notify",
  summary: "post one line to the Slack/Teams webhooks set in env",
  usage: USAGE,
  async run(argv, io) {
    const f = parseFlags(argv, {
      status: { type: "string" },
      link: { type: "string" },
      mirror: { type: "string" },
      tag: { type: "string" },
    });
    if (!f.status || !(NOTIFY_STATUSES as readonly string[]).includes(f.status)) {
      throw new UsageError(`--status: ${JSON.stringify(f.status ?? null)} is not allowed (allowed: ${NOTIFY_STATUSES.join(", ")})`);
    }
    if (!f.link || !LINK.test(f.link)) throw new UsageError(`--link: ${JSON.stringify(f.link ?? null)} is not allowed (allowed: an http(s) URL)`);
    if (!f.mirror || !/^[a-z0-9](?:[a-z0-9-]{0,37}[a-z0-9])?$/.test(f.mirror)) {
      throw new UsageError(`--mirror: ${JSON.stringify(f.mirror ?? null)} is not allowed (allowed: a mirror name, lowercase letters, digits and -)`);
    }
    const tag = f.tag !== undefined ? checkTagName(f.tag, "--tag") : undefined;
    const deliveries = await sendNotices(
      { status: f.status as NotifyStatus, link: f.link, mirror: f.mirror, ...(tag ? { tag } : {}) },
      io.env,
      (url, init) => fetch(url, init),
    );
    const sent = deliveries.filter((d) => d.ok).map((d) => d.target);
    const failed = deliveries.filter((d) => !d.ok).map((d) => ({ target: d.target, error: d.error }));
    if (deliveries.length === 0) io.stderr(`notify: no webhook set (${Object.keys(WEBHOOK_ENV).join(", ")}): nothing sent\n`);
    for (const d of failed) io.stderr(`notify: ${d.target}: ${d.error}\n`);
    if (sent.length) io.stderr(`notify: sent to ${sent.join(", ")}\n`);
    io.stdout(JSON.stringify({ sent, failed }) + "\n");
    return failed.length ? 2 : 0;
  },
};
