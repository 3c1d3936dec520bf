import * as fs from "node:fs";
import * as path from "node:path";
import type { Severity } from "../../components/types";
import { parseFlags, setOutputs, UsageError, type Command } from "../cli";
import { loadConfigOption, parseSeverities } from "../lib/config";
import { evaluateGate, gateExitCode, renderGateSummary } from "../lib/gate";
import { isDay, readIgnoreFile, readTrivyReport, UnusableInput, type IgnoreEntry, type Occurrence } from "../lib/trivy";

const usage = `usage: mirror-pipeline gate --report FILE [--report FILE …] [flags]

Applies the scan policy and the waivers to Trivy JSON reports (SchemaVersion 2)
and decides: pass or block. The same finding seen by several reports (the
filesystem and the image scan) counts once.

Flags:
  --report FILE       a Trivy JSON report; repeat for several
  --waivers FILE      Trivy's .trivyignore.yaml (id, paths, purls, expired_at,
                      statement); default: config gate.waivers
  --severity LIST     comma-separated severities that block
                      (default: config gate.severities, else CRITICAL,HIGH)
  --fixed-only        only findings with a fix block (Status fixed, or no
                      Status and a FixedVersion); default: config gate.fixedOnly,
                      else off (the stricter choice)
  --include-unfixed   findings without a fix block too (overrides the config)
  --today YYYY-MM-DD  the day waivers are judged against (default: today, UTC)
  --summary-out FILE  write the Markdown summary (issue and PR bodies)
  --config FILE       mirror config (default .mirror/config.yml when present)

Fails closed: a missing, empty or unreadable report, the legacy array format,
an unknown severity or status, or a bad waivers file is unusable input. A
waiver stops applying on its expired_at day; the finding blocks again.

Prints {decision, unusable[], blocking[], waived[], expiredWaivers[], counts, …}.
Step outputs: decision, blocking_count. Exit 0 pass, 1 block, 2 unusable input
(also a block).
`;

export const command: Command = {
  name: "gate",
  summary: "apply the scan policy and waivers to Trivy reports: pass or block",
  usage,
  async run(argv, io) {
    const f = parseFlags(argv, {
      report: { type: "string", multiple: true },
      waivers: { type: "string" },
      severity: { type: "string" },
      "fixed-only": { type: "boolean" },
      "include-unfixed": { type: "boolean" },
      today: { type: "string" },
      "summary-out": { type: "string" },
      config: { type: "string" },
    });
    const reports = f.report ?? [];
    if (reports.length === 0) throw new UsageError("--report is required (one or more Trivy JSON reports)");
    if (f["fixed-only"] && f["include-unfixed"]) throw new UsageError("--fixed-only and --include-unfixed cannot both be given");
    if (f.today !== undefined && !isDay(f.today)) throw new UsageError(`--today ${JSON.stringify(f.today)} is not a date (allowed: YYYY-MM-DD)`);
    let severities: Severity[] | undefined;
    if (f.severity !== undefined) {
      try {
        severities = parseSeverities(f.severity);
      } catch (e) {
        throw new UsageError((e as Error).message);
      }
    }
    const config = loadConfigOption(io.cwd, f.config);
    const policy = {
      severities: severities ?? [...(config?.gate.severities ?? ["CRITICAL", "HIGH"])],
      // Without a config or a flag, the stricter choice: unfixed findings block too.
      fixedOnly: f["fixed-only"] ? true : f["include-unfixed"] ? false : (config?.gate.fixedOnly ?? false),
      today: f.today ?? new Date().toISOString().slice(0, 10),
    };

    const unusable: string[] = [];
    const occurrences: Occurrence[] = [];
    for (const r of reports) {
      try {
        occurrences.push(...readTrivyReport(path.resolve(io.cwd, r), r));
      } catch (e) {
        if (!(e instanceof UnusableInput)) throw e;
        unusable.push(...e.problems);
      }
    }
    const waiversFile = f.waivers ?? config?.gate.waivers ?? null;
    let waivers: IgnoreEntry[] = [];
    if (waiversFile !== null) {
      try {
        waivers = readIgnoreFile(path.resolve(io.cwd, waiversFile), waiversFile);
      } catch (e) {
        if (!(e instanceof UnusableInput)) throw e;
        unusable.push(...e.problems);
      }
    }

    const result = evaluateGate({ occurrences, waivers, policy, unusable, reports, waiversFile });
    const summary = renderGateSummary(result);
    if (f["summary-out"]) {
      const out = path.resolve(io.cwd, f["summary-out"]);
      fs.mkdirSync(path.dirname(out), { recursive: true });
      fs.writeFileSync(out, summary);
    }
    for (const u of result.unusable) io.stderr(`gate: unusable input: ${u}\n`);
    for (const w of result.expiredWaivers) io.stderr(`gate: ${w.message}\n`);
    const c = result.counts;
    io.stderr(`gate: ${result.decision}: ${c.blocking} blocking, ${c.waived} waived, ${c.findings} findings in ${reports.length} report(s)\n`);
    io.stdout(JSON.stringify(result, null, 2) + "\n");
    setOutputs(io, { decision: result.decision, blocking_count: String(c.blocking) });
    return gateExitCode(result);
  },
};
