import * as fs from "node:fs";
import * as path from "node:path";
import type { Severity } from "../../contract";
import { parseFlags, setOutputs, UsageError, type Command, type Io } from "../cli";
import { loadConfigOption, parseSeverities } from "../lib/config";
import { GateAccumulator, gateExitCode, renderGateSummary, type GateResult, type GateScan } from "../lib/gate";
import { readScanRecord, recordReports, ScanRecordError } from "../lib/scan";
import { isDay, readIgnoreFile, readTrivyReport, UnusableInput, type IgnoreEntry } from "../lib/trivy";

const usage = `usage: mirror-pipeline gate --scan-record FILE [flags]
       mirror-pipeline gate --report FILE [--report FILE …] [flags]

Applies the scan policy and the waivers to Trivy JSON reports (SchemaVersion 2)
and decides: pass or block. A blocking finding in any platform of the image or
in the source blocks. The same finding seen by several reports (each platform,
the source) is listed once, with every place it was seen.

Flags:
  --scan-record FILE  scan.json written by \`scan\`: reads every platform's
                      report and the source's (when config gate.scans
                      includes source); a platform without a report, or a
                      source scan that gate.scans wants and that is missing,
                      is unusable input
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

Waivers that matched no finding are listed (unmatchedWaivers): stale or
scoped wrongly. A path-scoped waiver leaves a finding listed with only the
places it still blocks.

Prints {decision, unusable[], blocking[], waived[], expiredWaivers[],
unmatchedWaivers[], counts, scan, decidedAt, …}; decidedAt is when the gate
decided (UTC): a pass admits the digest for the stack's window from then.
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
      "scan-record": { type: "string" },
      waivers: { type: "string" },
      severity: { type: "string" },
      "fixed-only": { type: "boolean" },
      "include-unfixed": { type: "boolean" },
      today: { type: "string" },
      "summary-out": { type: "string" },
      config: { type: "string" },
    });
    const reports = f.report ?? [];
    const recordFlag = f["scan-record"];
    if (reports.length === 0 && recordFlag === undefined) throw new UsageError("--scan-record or --report is required (the scan record, or one or more Trivy JSON reports)");
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

    const waiversFile = f.waivers ?? config?.gate.waivers ?? null;
    let waivers: IgnoreEntry[] = [];
    const waiverProblems: string[] = [];
    if (waiversFile !== null) {
      try {
        waivers = readIgnoreFile(path.resolve(io.cwd, waiversFile), waiversFile);
      } catch (e) {
        if (!(e instanceof UnusableInput)) throw e;
        waiverProblems.push(...e.problems);
      }
    }
    const acc = new GateAccumulator(waivers, policy);
    acc.addUnusable(waiverProblems);

    // One report at a time: only the distinct findings stay in memory.
    const read = (file: string, shown: string, place: string, artifact?: string): void => {
      try {
        acc.add(readTrivyReport(file, shown, artifact), shown, place);
      } catch (e) {
        if (!(e instanceof UnusableInput)) throw e;
        acc.addUnusable(e.problems);
      }
    };
    let scan: GateScan | undefined;
    if (recordFlag !== undefined) {
      const file = path.resolve(io.cwd, recordFlag);
      try {
        const record = readScanRecord(file, recordFlag);
        const wantSource = config?.gate.scans?.includes("source") ?? true;
        const { reports: listed, missing } = recordReports(record, file, recordFlag, wantSource);
        acc.addUnusable(missing);
        for (const r of listed) read(r.file, r.shown, r.place, r.artifact);
        scan = {
          record: recordFlag,
          digest: record.image.digest,
          platforms: record.platforms.map((p) => ({ platform: p.platform, digest: p.digest })),
          source:
            "skipped" in record.source
              ? `not scanned (${record.source.skipped})`
              : !wantSource
                ? `${record.source.report === undefined ? "scan failed" : "scanned"}, not gating (${config?.gate.sourceOffReason ?? "gate.scans excludes source"})`
                : record.source.path,
          trivy: record.trivy.version,
          dbUpdatedAt: record.db.updatedAt,
        };
      } catch (e) {
        if (!(e instanceof ScanRecordError)) throw e;
        acc.addUnusable([e.message]);
      }
    }
    for (const r of reports) read(path.resolve(io.cwd, r), r, r);

    const result = acc.result(waiversFile, scan);
    const summary = renderGateSummary(result);
    if (f["summary-out"]) {
      const out = path.resolve(io.cwd, f["summary-out"]);
      fs.mkdirSync(path.dirname(out), { recursive: true });
      fs.writeFileSync(out, summary);
    }
    for (const u of result.unusable) io.stderr(`gate: unusable input: ${u}\n`);
    for (const w of result.expiredWaivers) io.stderr(`gate: ${w.message}\n`);
    const c = result.counts;
    io.stderr(`gate: ${result.decision}: ${c.blocking} blocking, ${c.waived} waived, ${c.findings} findings (${c.occurrences} occurrences) in ${result.reports.length} report(s)\n`);
    for (const w of result.unmatchedWaivers) io.stderr(`gate: ${w.message}\n`);
    // When the decision was made: a passing result admits its digest for the stack's window from
    // then on (the scan-gate attestation carries it; components/admission.ts).
    writeResult(io, { ...result, decidedAt: new Date().toISOString() });
    setOutputs(io, { decision: result.decision, blocking_count: String(c.blocking) });
    return gateExitCode(result);
  },
};

/**
 * The result as one JSON object, written a finding at a time: with hundreds
 * of thousands of findings one JSON.stringify of the whole would be a single
 * string past V8's limit, and the gate must still leave a usable gate.json.
 */
function writeResult(io: Io, r: GateResult & { readonly decidedAt: string }): void {
  const { blocking, waived, ...rest } = r;
  const head = JSON.stringify(rest, null, 2);
  io.stdout(head.slice(0, -2) + ",\n");
  const list = (name: string, items: readonly unknown[], last: boolean): void => {
    io.stdout(`  "${name}": [`);
    let chunk = "";
    items.forEach((x, i) => {
      chunk += `${i === 0 ? "" : ","}\n    ${JSON.stringify(x)}`;
      if (chunk.length > 1 << 20) {
        io.stdout(chunk);
        chunk = "";
      }
    });
    io.stdout(`${chunk}${items.length ? "\n  " : ""}]${last ? "" : ","}\n`);
  };
  list("blocking", blocking, false);
  list("waived", waived, true);
  io.stdout("}\n");
}
