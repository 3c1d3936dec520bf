/**
 * The report page in a real browser: Debian's Chromium, headless, with
 * JavaScript switched off, loading the page from a file:// URL. It must
 * render, show one row per mirror in the default (worst-first) order, sort
 * when a column header is clicked, fetch nothing, and leave a screenshot.
 *
 * CHROMIUM_PATH overrides the browser (the fleet workflow on GitHub's
 * Ubuntu runners points it at Google Chrome). A missing browser fails the
 * test: a report nobody looked at is not tested.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import { after, before, describe, test } from "node:test";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { parsePinFile, renderReportHtml, type LiveMirror } from "../../components/report";
import { fixtureInventory, ISSUES, PIN_FILES, TODAY } from "./fixture";

const BROWSER = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

function live(): Record<string, LiveMirror> {
  const out: Record<string, LiveMirror> = {};
  for (const e of fixtureInventory().mirrors) {
    const repo = e.repository.split("/")[1];
    const issues = ISSUES[repo];
    out[e.name] = issues
      ? {
          pin: PIN_FILES[repo] ? parsePinFile(PIN_FILES[repo]) : null,
          issues: issues.filter((i) => !i.pull_request).map((i) => ({ number: i.number, title: i.title, url: "#", labels: i.labels })),
        }
      : { pin: null, issues: [], error: "repository not found" };
  }
  return out;
}

describe("report page in headless Chromium", () => {
  let dir: string;
  let context: BrowserContext | undefined;
  let page: Page;
  const offsite: string[] = [];

  before(async () => {
    assert.ok(
      fs.existsSync(BROWSER),
      `no browser at ${BROWSER}: install Debian's chromium (apt-get install chromium; CI installs it) or set CHROMIUM_PATH`,
    );
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "report-browser-"));
    fs.writeFileSync(path.join(dir, "index.html"), renderReportHtml({ inventory: fixtureInventory(), live: live(), now: TODAY }));
    // A persistent context is how Playwright takes a fresh --user-data-dir of our own.
    context = await chromium.launchPersistentContext(path.join(dir, "profile"), {
      executablePath: BROWSER,
      headless: true,
      args: FLAGS,
      javaScriptEnabled: false,
      viewport: { width: 1400, height: 900 },
      timeout: 60_000,
    });
    context.setDefaultTimeout(15_000);
    page = context.pages()[0] ?? (await context.newPage());
    page.on("request", (r) => {
      if (!r.url().startsWith("file://")) offsite.push(r.url());
    });
    await page.goto(pathToFileURL(path.join(dir, "index.html")).href);
  });

  after(async () => {
    await context?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const visibleNames = () => page.locator("section.view:visible tbody tr").evaluateAll((rows) => rows.map((r) => r.getAttribute("data-name")));

  test("GIVEN the page WHEN it loads THEN the title, the tiles and one visible table are there", async () => {
    assert.equal(await page.title(), "mirror-fleet report: acme-corp");
    assert.equal(await page.locator("section.view:visible").count(), 1);
    assert.equal(await page.locator("section.view:visible").getAttribute("id"), "by-status");
    const tiles = await page.locator("ul.tiles li").allInnerTexts();
    assert.ok(tiles.some((t) => t.replace(/\s+/g, " ") === "1 blocked"), tiles.join(" / "));
  });

  test("GIVEN the default view WHEN read THEN it has one row per mirror, worst first", async () => {
    assert.deepEqual(await visibleNames(), ["transfer-sh", "gokapi", "uptime-kuma", "wikijs", "ghost", "plik"]);
    const blocked = page.locator('section.view:visible tr[data-name="transfer-sh"]');
    assert.match(await blocked.innerText(), /blocked: #7 Blocked: 4 CRITICAL, 16 HIGH in v1\.6\.1/);
  });

  test("GIVEN JavaScript is off WHEN a column header is clicked THEN the rows are sorted by it", async () => {
    await page.locator("section.view:visible thead").getByRole("link", { name: "Mirror" }).click();
    assert.ok(page.url().endsWith("#by-name"), page.url());
    assert.deepEqual(await visibleNames(), ["ghost", "gokapi", "plik", "transfer-sh", "uptime-kuma", "wikijs"]);
    await page.locator("section.view:visible thead").getByRole("link", { name: "Last build" }).click();
    assert.deepEqual(await visibleNames(), ["uptime-kuma", "wikijs", "transfer-sh", "gokapi", "plik", "ghost"]);
    await page.locator("section.view:visible thead").getByRole("link", { name: "Status" }).click();
    assert.deepEqual(await visibleNames(), ["transfer-sh", "gokapi", "uptime-kuma", "wikijs", "ghost", "plik"]);
  });

  test("GIVEN the page WHEN rendered THEN nothing was fetched from outside and a screenshot is written", async () => {
    await page.goto(pathToFileURL(path.join(dir, "index.html")).href);
    const shot = path.join(process.env.REPORT_SCREENSHOT_DIR || dir, "report.png");
    fs.mkdirSync(path.dirname(shot), { recursive: true });
    await page.screenshot({ path: shot, fullPage: true });
    const png = fs.readFileSync(shot);
    assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    assert.ok(png.length > 10_000, `screenshot is only ${png.length} bytes`);
    assert.deepEqual(offsite, []);
  });
});
