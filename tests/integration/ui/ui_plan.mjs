// ui_plan.mjs - the merger review page (GET /ui/plans) in a real browser:
// Debian's Chromium driven by playwright-core (no browser download).  Run by
// ../ui_plan.sh, which says what it needs; this file reads:
//   UI_BASE   the daemon's base URL, e.g. http://127.0.0.1:8080
//   UI_KEY    an operator API key;  UI_PLAN  the id of a plan in "review"
//             with at least two rows whose action is "decide"
//   UI_BY     the operator's name the page sends as "by"
//   UI_SHOTS  where the screenshots go;  CHROMIUM  the browser binary
// What the page did is read back from the API with curl, not from the page.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const env = (k, d) => process.env[k] || d;
const BASE = env("UI_BASE").replace(/\/$/, "");
const KEY = env("UI_KEY");
const PLAN = env("UI_PLAN");
const BY = env("UI_BY", "Phạm Quốc Anh");
const SHOTS = env("UI_SHOTS");
const REASON = "Giữ nguyên: cán bộ vẫn công tác tại đơn vị mới theo Quyết định số 45/QĐ-UBND ngày 02/12/2026";

let passed = 0;
let failed = 0;
const ok = (d) => { passed++; console.log("ok   " + d); };
const bad = (d) => { failed++; console.error("FAIL " + d); };
const check = (d, cond, detail) => (cond ? ok(d) : bad(d + (detail !== undefined ? ": " + detail : "")));

// curl with the key in a header file, not on the command line.
const tmp = mkdtempSync(join(tmpdir(), "ui-plan."));
writeFileSync(join(tmp, "auth"), "Authorization: Bearer " + KEY + "\n", { mode: 0o600 });
writeFileSync(join(tmp, "wrongkey"), "Authorization: Bearer not-" + KEY + "\n", { mode: 0o600 });
function curl(method, path, body, key) {
  const args = ["-sS", "-X", method, "-H", "@" + join(tmp, key === undefined ? "auth" : key), "-w", "\n%{http_code}"];
  if (body !== undefined) args.push("-H", "Content-Type: application/json", "--data-binary", JSON.stringify(body));
  const out = execFileSync("curl", [...args, BASE + path], { encoding: "utf8" });
  const i = out.lastIndexOf("\n");
  let json = null;
  try { json = JSON.parse(out.slice(0, i)); } catch (e) { json = out.slice(0, i); }
  return { status: Number(out.slice(i + 1)), json };
}
const plan = () => curl("GET", "/v1/plans/" + PLAN).json;
const rowsOf = (q) => curl("GET", "/v1/plans/" + PLAN + "/rows?" + new URLSearchParams({ offset: 0, limit: 50, ...q })).json;
const finalAction = (r) => (r.override && r.override.action) || r.action;

const browser = await chromium.launch({
  executablePath: env("CHROMIUM", "/usr/bin/chromium"),
  // As tests/gateway/forms/screenshot.sh: no sandbox (root in CI), nothing that calls home.
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--no-first-run", "--disable-sync", "--disable-quic", "--disable-dev-shm-usage", "--hide-scrollbars"],
  timeout: 60000
});
// playwright-core starts Chromium with a fresh --user-data-dir of its own for each launch.
const ctx = await browser.newContext({ viewport: { width: 1280, height: 860 }, deviceScaleFactor: 1, acceptDownloads: true });
ctx.setDefaultTimeout(15000);
const page = await ctx.newPage();
const cspErrors = [];
const pageErrors = [];
let dialogs = 0;
page.on("console", (m) => { if (/Content Security Policy/.test(m.text())) cspErrors.push(m.text()); });
page.on("pageerror", (e) => pageErrors.push(e.message));
page.on("dialog", (d) => { dialogs++; d.dismiss(); });

async function shot(name, opts) {
  if (!SHOTS) return;
  await page.mouse.move(0, 0);
  await page.screenshot({ path: join(SHOTS, name), ...opts });
  console.log("     screenshot " + join(SHOTS, name));
}
async function closeBanner() {
  if (await page.isVisible("#banner")) await page.click("#banner-close");
}
// The rows the page shows now, by number.
const shownNos = () => page.$$eval("#rows-body tr[data-no]", (trs) => trs.map((t) => Number(t.dataset.no)));
async function rowsReload(action) {
  await Promise.all([page.waitForResponse((r) => r.url().includes("/v1/plans/" + PLAN + "/rows?")), action()]);
  await page.waitForFunction(() => !document.querySelector("#rows-body").dataset.loading);
  await page.waitForTimeout(100);
}

try {
  // ---- the page as served
  const res = await page.goto(BASE + "/ui/plans");
  const h = res.headers();
  check("GET /ui/plans is 200 text/html", res.status() === 200 && /^text\/html; charset=utf-8$/i.test(h["content-type"] || ""), h["content-type"]);
  check("it has a hash-only Content-Security-Policy", /script-src 'self' 'sha256-/.test(h["content-security-policy"] || "") &&
        !/unsafe-inline/.test(h["content-security-policy"]), h["content-security-policy"]);
  check("nosniff and no-store", h["x-content-type-options"] === "nosniff" && /no-store/.test(h["cache-control"] || ""));
  await page.waitForSelector("#login:not(.hidden)");
  ok("the page asks for the key (its script ran under the policy)");

  // ---- a wrong key: the server's message is shown, the key is forgotten
  await page.fill("#login-key", "not-" + KEY);
  await page.fill("#login-by", BY);
  await page.click("#login-go");
  await page.waitForSelector("#banner.error");
  const bannerText = await page.textContent("#banner");
  check("a wrong key shows the 401 in Vietnamese", bannerText.includes("Khóa API không được chấp nhận"), bannerText);
  const msg401 = curl("GET", "/v1/plans", undefined, "wrongkey");
  check("... and the server's own message", typeof msg401.json === "object" && bannerText.includes(msg401.json.message), bannerText);
  check("... and asks again", await page.isVisible("#login") && (await page.evaluate(() => sessionStorage.getItem("simpki.key"))) === null);

  // ---- the right key: the list of plans
  await page.fill("#login-key", KEY);
  await page.fill("#login-by", BY);
  await page.click("#login-go");
  await page.waitForSelector(`#list-body a[href="?id=${PLAN}"]`);
  const apiPlans = curl("GET", "/v1/plans").json.plans;
  const listed = await page.$$eval("#list-body tr", (trs) => trs.length);
  check("the list shows every plan of GET /v1/plans", listed === apiPlans.length, listed + " != " + apiPlans.length);
  check("the key is in sessionStorage only", (await page.evaluate(() => [sessionStorage.getItem("simpki.key"), localStorage.length])).join() === KEY + ",0");
  await closeBanner();
  const listBox = await page.locator("#list .card").boundingBox();
  await shot("plan-list.png", { clip: { x: 0, y: 0, width: 1280, height: Math.min(860, Math.ceil(listBox.y + listBox.height + 24)) } });

  // ---- one plan
  await rowsReload(() => page.click(`#list-body a[href="?id=${PLAN}"]`));
  const p0 = plan();
  check("the header shows the plan's name", (await page.textContent("#plan-name")) === p0.name);
  check("... and its version", (await page.textContent("#plan-version")) === String(p0.version));
  check("... and its state", (await page.textContent("#plan-meta")).includes("Chờ duyệt"));
  const all = rowsOf({});
  check("the first page of rows is the API's", JSON.stringify(await shownNos()) === JSON.stringify(all.rows.map((r) => r.no)));
  // Markup in the data stays text.
  const marked = all.rows.filter((r) => /[<>&]/.test(r.holder || ""));
  for (const r of marked) {
    const text = await page.textContent(`#rows-body tr[data-no="${r.no}"] td:nth-child(2) b`);
    check(`row ${r.no}'s holder with markup is shown as text`, text === r.holder, text);
  }
  check("no element came from the data", (await page.$$("#rows-body img, #rows-body script")).length === 0);
  const why = await page.textContent("#rows-body tr[data-no] td:nth-child(6)");
  const rule0 = p0.summary.rules.find((r) => r.id === all.rows[0].rule);
  check("a row explains its rule in Vietnamese (summary.rules[].vi)", !!rule0 && why.includes(rule0.vi), why);

  // ---- filter by a unit that has a decision to make, then by action
  const unitsJ = curl("GET", "/v1/plans/" + PLAN + "/units").json;
  const units = Array.isArray(unitsJ) ? unitsJ : unitsJ.units;
  const unit = (units.find((u) => u.by_action && u.by_action.decide > 0) || units[0]).unit;
  await rowsReload(() => page.selectOption("#f-unit", unit));
  const byUnit = rowsOf({ unit });
  const shownUnit = await shownNos();
  check(`filtered by unit: the API's ${byUnit.matched} rows`, JSON.stringify(shownUnit) === JSON.stringify(byUnit.rows.map((r) => r.no)),
        JSON.stringify(shownUnit));
  const unitCells = await page.$$eval("#rows-body tr[data-no] td:nth-child(3) div:first-child", (d) => d.map((x) => x.textContent));
  check("... each of that unit", unitCells.length > 0 && unitCells.every((t) => t === unit), JSON.stringify(unitCells));
  check("... the URL keeps the filter", new URL(page.url()).searchParams.get("unit") === unit);

  await rowsReload(() => page.selectOption("#f-action", "decide"));
  const byBoth = rowsOf({ unit, action: "decide" });
  const shownBoth = await shownNos();
  check(`filtered by unit and action "decide": the API's ${byBoth.matched} rows`, byBoth.matched > 0 &&
        JSON.stringify(shownBoth) === JSON.stringify(byBoth.rows.map((r) => r.no)), JSON.stringify(shownBoth));
  const badges = await page.$$eval("#rows-body tr[data-no] td.act .badge", (b) => b.map((x) => x.textContent));
  check("... each shown as \"Cần quyết định\"", badges.length > 0 && badges.every((t) => t === "Cần quyết định"), JSON.stringify(badges));

  // ---- approving with decisions pending: 409 DECISIONS_PENDING, with the count
  const pending = rowsOf({ action: "decide" }).matched;
  await page.click("#approve");
  await page.click("#ap-go");
  await page.waitForSelector("#ap-err:not(.hidden)");
  const apErr = await page.textContent("#ap-err");
  check(`approve refused: "còn ${pending} dòng cần quyết định"`, apErr.includes("còn " + pending + " dòng cần quyết định"), apErr);
  check("... with the server's message and code", apErr.includes("DECISIONS_PENDING"), apErr);
  check("... and the plan is still in review", plan().state === "review");
  await page.click("#ap-cancel");

  // ---- someone else changes the plan meanwhile: 409 VERSION_CONFLICT
  const target = byBoth.rows[0];
  const other = rowsOf({ action: "decide", limit: 1000 }).rows.find((r) => r.no !== target.no);
  let v = plan().version;
  const o = curl("POST", `/v1/plans/${PLAN}/rows/${other.no}`, { action: "keep", reason: "ui_plan: người vận hành khác", by: "Kiểm thử", version: v });
  check("another operator's override (curl) moves the version", o.status === 200 && o.json.version === v + 1, o.status);
  await page.click(`#rows-body tr[data-no="${target.no}"] td:last-child button`);
  await page.waitForSelector("#ov[open]");
  await page.check('input[name=ov-action][value="keep"]');
  await page.fill("#ov-reason", "   ");
  await page.click("#ov-save");
  check("an empty reason is refused before anything is sent", (await page.textContent("#ov-err")).includes("Hãy ghi lý do"));
  await page.fill("#ov-reason", REASON);
  await page.click("#ov-save");
  await page.waitForFunction(() => document.querySelector("#ov-err").textContent.includes("VERSION_CONFLICT"));
  const conflict = await page.textContent("#ov-err");
  check("the stale version is told to reload", conflict.includes("Hãy tải lại phương án"), conflict);
  const stored = rowsOf({ unit, limit: 1000 }).rows.find((r) => r.no === target.no);
  check("... and nothing was stored", !stored.override);
  await rowsReload(() => page.click("#ov-err button"));
  check("after reloading the page has the new version", (await page.textContent("#plan-version")) === String(v + 1));

  // ---- the override itself
  await page.click(`#rows-body tr[data-no="${target.no}"] td:last-child button`);
  await page.waitForSelector("#ov[open]");
  await page.check('input[name=ov-action][value="keep"]');
  await page.fill("#ov-reason", REASON);
  await shot("plan-override.png");
  v = plan().version;
  await rowsReload(() => page.click("#ov-save"));
  await page.waitForSelector("#banner.info");
  const after = rowsOf({ unit, limit: 1000 }).rows.find((r) => r.no === target.no);
  const ov = after.override || {};
  check(`row ${target.no} stored with the override (curl)`, ov.action === "keep" && ov.reason === REASON && ov.by === BY,
        JSON.stringify(ov));
  check("... at the next version", plan().version === v + 1 && (await page.textContent("#plan-version")) === String(v + 1));
  check("... and it left the \"decide\" filter", !(await shownNos()).includes(target.no));
  await rowsReload(() => page.selectOption("#f-action", ""));
  const cell = await page.textContent(`#rows-body tr[data-no="${target.no}"] td.act`);
  check("the row shows the override, its reason and who", cell.includes("Giữ nguyên") && cell.includes("Đã điều chỉnh") &&
        cell.includes(REASON) && cell.includes(BY), cell);
  await closeBanner();
  await shot("plan-review-filtered.png", { fullPage: true });

  // ---- the rest decided through the API, then approve in the page
  for (const r of rowsOf({ action: "decide", limit: 1000 }).rows) {
    const a = curl("POST", `/v1/plans/${PLAN}/rows/${r.no}`, { action: "keep", reason: "ui_plan: giữ nguyên", by: "Kiểm thử", version: plan().version });
    if (a.status !== 200) bad(`override of row ${r.no} through the API: ${a.status}`);
  }
  await rowsReload(() => page.click("#reload"));
  await page.click("#approve");
  await page.waitForSelector("#ap[open]");
  await page.click("#ap-go");
  await page.waitForSelector("#banner.info");
  const approved = plan();
  check("the plan is approved (curl)", ["approved", "running", "finished"].includes(approved.state) &&
        approved.approved && approved.approved.by === BY, approved.state);
  check("... the page says so", /Đã phê duyệt|Đang thực hiện|Hoàn tất/.test(await page.textContent("#plan-meta")));
  check("... and offers no more overrides", await page.isDisabled("#rows-body tr[data-no] td:last-child button") &&
        await page.isDisabled("#approve"));
  check("... and shows the progress", await page.isVisible("#progress"));
  // Let a poll or two bring progress (the page polls every 5 s while approved or running).
  await page.waitForFunction(() => /Hoàn tất: [1-9]/.test(document.querySelector("#progress-legend").textContent), null,
                             { timeout: 16000 }).catch(() => {});
  await closeBanner();
  await page.evaluate(() => window.scrollTo(0, 0));
  await shot("plan-approved.png");

  // ---- the unit's printable bundle, opened with the key as a blob
  const [pop] = await Promise.all([ctx.waitForEvent("page"), page.click("#bundle")]);
  await pop.waitForFunction(() => document.documentElement.dataset.styled === "1");
  const bundle = await pop.evaluate(() => ({ url: location.protocol, text: document.body.innerText,
    sheets: document.adoptedStyleSheets.reduce((n, s) => n + s.cssRules.length, 0) }));
  check("the bundle opens as a blob with its own styles applied", bundle.url === "blob:" && bundle.sheets > 0, JSON.stringify(bundle).slice(0, 200));
  check("... it is the unit's", bundle.text.includes(unit));
  await pop.close();

  // ---- a CSV export, fetched with the key
  const [dl] = await Promise.all([page.waitForEvent("download"), page.click("#exp-report")]);
  const csv = readFileSync(await dl.path(), "utf8");
  check("the report downloads as CSV", csv.length > 0 && dl.suggestedFilename().endsWith(".csv"), dl.suggestedFilename());

  check("no Content-Security-Policy violation in the page", cspErrors.length === 0, cspErrors.join(" | "));
  check("no script error", pageErrors.length === 0, pageErrors.join(" | "));
  check("no alert ran (nothing from the data executed)", dialogs === 0);
} catch (e) {
  bad("unexpected: " + (e && e.stack ? e.stack : e));
  if (SHOTS) await page.screenshot({ path: join(SHOTS, "failure.png"), fullPage: true }).catch(() => {});
} finally {
  await browser.close();
  rmSync(tmp, { recursive: true, force: true });
}
console.log(`ui_plan: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
