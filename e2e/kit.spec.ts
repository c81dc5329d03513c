/**
 * The kit's promise, shown the way a user sees it: a real Chromium follows the chain of 303s
 * (and the self-continuing page) to the slow Main's answer. The long tests run side by side.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { expect, test, type Page, type Request, type Response, type TestInfo } from '@playwright/test';
import { apiType, directUrl, GATEWAY_TIMEOUT_ANSWERS, gatewayTimeoutSkipReason, kitUrl, mainRuns, resultGraceSeconds, type Role } from './support/targets';

const MAIN_SECONDS = 60; // main-example's default DELAY_SECONDS: the suite does not change it
const LONG_CHAIN_SECONDS = Number(process.env.E2E_LONG_CHAIN_SECONDS ?? 30);
const FORM_PAGE = pathToFileURL(path.join(import.meta.dirname, 'form.html')).href;

// Global setup fails the run without a Chromium, and either deploys the kit or is given E2E_BASE_URL.
if (kitUrl('base') === undefined) throw new Error('no deployment to test: global setup deployed nothing and E2E_BASE_URL is not set');

/** Every response the main frame navigated to, redirects included, in order. */
function recordNavigations(page: Page): Response[] {
  const seen: Response[] = [];
  page.on('response', (response) => {
    if (response.request().isNavigationRequest() && response.frame() === page.mainFrame()) seen.push(response);
  });
  return seen;
}

/** The requests that were redirected on the way to this response, first first. */
function redirectsBefore(response: Response): Request[] {
  const chain: Request[] = [];
  for (let r = response.request().redirectedFrom(); r !== null; r = r.redirectedFrom()) chain.unshift(r);
  return chain;
}

async function statusOf(request: Request): Promise<number | undefined> {
  return (await request.response())?.status();
}

/** The value in the row of main-example's HTML answer whose heading is `name`. */
function row(page: Page, name: string) {
  return page.locator(`tr:has(th:text-is("${name}")) td`);
}

/** Checks that the role's Main ran exactly once, and that the run is the one that answered. */
function expectMainRanOnce(role: Role, answeredBy: string, testInfo: TestInfo): void {
  const runs = mainRuns(role);
  if (runs === undefined) {
    testInfo.annotations.push({ type: 'note', description: 'Main\'s runs not counted: this run cannot see the functions\' logs (an existing deployment)' });
    return;
  }
  expect(runs, 'Main ran once, and that run answered').toEqual([answeredBy]);
}

async function screenshot(page: Page, testInfo: TestInfo, name: string): Promise<void> {
  const file = testInfo.outputPath(name);
  const png = await page.screenshot({ path: file, fullPage: true });
  await testInfo.attach(name, { body: png, contentType: 'image/png' }); // for the HTML report
  const where = path.relative(process.cwd(), file);
  testInfo.annotations.push({ type: 'screenshot', description: where }); // listed after the run
  console.log(`screenshot of the final page: ${where}`);
}

test.describe('a browser through the kit', () => {
  test('1. a form POSTs to the API; the browser follows the 303s to Main\'s answer', async ({ page }, testInfo) => {
    test.setTimeout((MAIN_SECONDS + 90) * 1000);
    const api = new URL('orders', kitUrl('form')).href;
    await page.goto(`${FORM_PAGE}?api=${encodeURIComponent(api)}`);
    await expect(page.locator('form')).toHaveAttribute('action', api);

    const navigations = recordNavigations(page);
    const started = Date.now();
    const answered = { timeout: (MAIN_SECONDS + 60) * 1000 };
    const [final] = await Promise.all([
      page.waitForResponse((r) => r.request().isNavigationRequest() && r.url().startsWith(api) && r.status() !== 303, answered),
      // A click waits for the navigation it starts: here, the whole chain.
      page.getByRole('button', { name: 'Send' }).click(answered),
    ]);
    await expect(page.locator('h1')).toContainText('Main example answered');
    const elapsed = Date.now() - started;

    expect(final.status()).toBe(200);
    const hops = redirectsBefore(final);
    expect(hops.length, 'at least two 303 hops').toBeGreaterThanOrEqual(2);
    for (const hop of hops) expect(await statusOf(hop)).toBe(303);
    expect(hops[0]!.method(), 'the form POSTs').toBe('POST');
    expect(hops.slice(1).map((r) => r.method()).concat(final.request().method()), 'the 303s are followed with GETs').toEqual(Array(hops.length).fill('GET'));
    expect(navigations.filter((r) => r.status() === 303)).toHaveLength(hops.length);
    expect(elapsed, 'the answer took Main\'s whole minute').toBeGreaterThanOrEqual(MAIN_SECONDS * 1000);

    // Main's answer, intact: what it says it received, and the whole page.
    const posted = hops[0]!.postDataBuffer();
    expect(posted?.toString('utf8')).toContain('order=42&note=A+slow+report');
    await expect(row(page, 'Method')).toHaveText('POST');
    await expect(row(page, 'Path')).toHaveText('/orders');
    await expect(row(page, 'Body size')).toHaveText(`${posted!.length} bytes`);
    await expect(row(page, 'Waited')).toHaveText(`${MAIN_SECONDS} s`);
    expect(await final.text()).toMatch(/^<!doctype html>[\s\S]*<\/body><\/html>\n$/);

    expectMainRanOnce('form', await row(page, 'Request id').innerText(), testInfo);
    console.log(`form POST: ${hops.length} × 303, then 200 after ${(elapsed / 1000).toFixed(1)} s`);
    await screenshot(page, testInfo, 'final-page.png');
  });

  test('2. the endpoint typed as an address (a GET) completes the same way', async ({ page }, testInfo) => {
    test.setTimeout((MAIN_SECONDS + 90) * 1000);
    const url = new URL('reports?format=full', kitUrl('get')).href;
    const started = Date.now();
    const final = await page.goto(url, { timeout: (MAIN_SECONDS + 60) * 1000 });
    const elapsed = Date.now() - started;

    expect(final?.status()).toBe(200);
    const hops = redirectsBefore(final!);
    expect(hops.length, 'at least two 303 hops').toBeGreaterThanOrEqual(2);
    for (const hop of hops) expect(await statusOf(hop)).toBe(303);
    expect(hops.map((r) => r.method())).toEqual(Array(hops.length).fill('GET'));
    expect(elapsed).toBeGreaterThanOrEqual(MAIN_SECONDS * 1000);

    await expect(page.locator('h1')).toContainText('Main example answered');
    await expect(row(page, 'Method')).toHaveText('GET');
    await expect(row(page, 'Path')).toHaveText('/reports');
    await expect(row(page, 'Query')).toHaveText('format=full');
    await expect(row(page, 'Waited')).toHaveText(`${MAIN_SECONDS} s`);
    expect(await final!.text()).toMatch(/<\/body><\/html>\n$/);

    expectMainRanOnce('get', await row(page, 'Request id').innerText(), testInfo);
    console.log(`typed address: ${hops.length} × 303, then 200 after ${(elapsed / 1000).toFixed(1)} s`);
  });

  test('3. without the kit, the direct route answers 504 after about 29 s (HTTP API: 503 after 30 s)', async ({ page }) => {
    const reason = gatewayTimeoutSkipReason();
    // Skipped only where there is no 29 s cut-off to show, with the reason printed: on LocalStack
    // (E2E_SKIP_GATEWAY_TIMEOUT=1, set by npm run e2e:localstack), which does not enforce API
    // Gateway's integration timeout, or against an existing deployment given without
    // E2E_DIRECT_URL. It runs in npm run e2e and in CI (the kit's own stack enforces the cut-off).
    // Plan: drop the LocalStack case once LocalStack enforces the timeout.
    test.skip(reason !== undefined, reason);
    test.setTimeout(90_000);
    const started = Date.now();
    const response = await page.goto(`${directUrl()}/slow`, { timeout: 60_000 });
    const elapsed = Date.now() - started;
    const expected = GATEWAY_TIMEOUT_ANSWERS[apiType()];
    expect(response?.status()).toBe(expected.status);
    await expect(page.locator('body')).toContainText(expected.message);
    expect(elapsed).toBeGreaterThanOrEqual(expected.afterMs - 500);
    expect(elapsed).toBeLessThan(expected.afterMs + 6_000);
    console.log(`direct route (${apiType()} API): ${expected.status} after ${(elapsed / 1000).toFixed(1)} s`);
  });

  test('4. a Main that throws shows an error page with the RequestID, within one hop', async ({ page }, testInfo) => {
    test.setTimeout(60_000);
    const started = Date.now();
    const response = await page.goto(new URL('reports?fail=1', kitUrl('base')).href, { timeout: 40_000 });
    const elapsed = Date.now() - started;

    expect(response?.status()).toBe(502);
    expect(response!.request().redirectedFrom(), 'no 303 before the error').toBeNull();
    const requestId = (await response!.headerValue('x-request-id')) ?? '';
    expect(requestId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    await expect(page.locator('h1')).toHaveText('Error 502');
    await expect(page.locator('body')).toContainText(`RequestID: ${requestId}`);
    await expect(page.locator('body')).toContainText('MAIN_ERROR');
    console.log(`Main that throws: 502 after ${(elapsed / 1000).toFixed(1)} s, RequestID ${requestId}`);
    await screenshot(page, testInfo, 'error-page.png');
  });

  test('5. a chain longer than the browser\'s 20-redirect cap completes', async ({ page }, testInfo) => {
    const chain = kitUrl('chain')!;
    test.setTimeout((LONG_CHAIN_SECONDS + 90) * 1000);
    // 1 s windows on any deployment: every request of this page, the redirected ones and the
    // self-continuing page's included, asks the Proxy for a short wait (RFC 7240).
    await page.setExtraHTTPHeaders({ Prefer: 'wait=1' });
    const navigations = recordNavigations(page);
    const url = new URL(`chain?seconds=${LONG_CHAIN_SECONDS}`, chain).href;
    const started = Date.now();
    // The first load is the first self-continuing page; it navigates on by itself.
    await page.goto(url, { waitUntil: 'commit', timeout: 60_000 });
    await expect(page.locator('h1')).toContainText('Main example answered', { timeout: (LONG_CHAIN_SECONDS + 60) * 1000 });
    const elapsed = Date.now() - started;

    const statuses = navigations.map((r) => r.status());
    const redirects = statuses.filter((s) => s === 303).length;
    // The Proxy's own pages carry X-Request-Id; Main's answer does not.
    const pages = navigations.filter((r) => r.status() === 200 && r.headers()['x-request-id'] !== undefined).length;
    let run = 0;
    let longestRun = 0;
    for (const s of statuses) {
      run = s === 303 ? run + 1 : 0;
      longestRun = Math.max(longestRun, run);
    }
    console.log(`long chain: ${redirects} × 303 and ${pages} self-continuing page(s) in ${(elapsed / 1000).toFixed(1)} s; longest unbroken run ${longestRun}`);
    expect(redirects, 'more redirects than a browser follows in one chain').toBeGreaterThan(20);
    expect(pages, 'the chain went through the self-continuing page').toBeGreaterThanOrEqual(1);
    expect(longestRun, 'no unbroken run reached the browser\'s cap').toBeLessThan(20);
    expect(statuses.at(-1)).toBe(200);
    expect(navigations[0]?.headers()['preference-applied'], 'the Proxy honoured the short wait').toBe('wait=1');
    await expect(row(page, 'Waited')).toHaveText(`${LONG_CHAIN_SECONDS} s`);
    expectMainRanOnce('chain', await row(page, 'Request id').innerText(), testInfo);
  });

  test('6. a continuation link opened again, without its token, or with its signature altered, answers at once', async ({ page }, testInfo) => {
    test.setTimeout(120_000);
    const base = kitUrl('links')!;
    const grace = resultGraceSeconds();
    // 1 s windows on any deployment (RFC 7240), so a 3 s Main gives at least one 303.
    await page.setExtraHTTPHeaders({ Prefer: 'wait=1' });
    const seconds = 3;
    const final = await page.goto(new URL(`links?seconds=${seconds}`, base).href, { timeout: (seconds + 60) * 1000 });
    expect(final?.status()).toBe(200);
    expect(redirectsBefore(final!).length).toBeGreaterThanOrEqual(1);
    const delivered = await final!.text();
    const link = new URL(final!.url());
    // ?requestID=<id>, or …/<RESULTS_PATH>/<id> on a deployment with a results path
    const requestId = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/.exec(link.href)?.[0];
    expect(requestId, 'the final page is a continuation link').toBeDefined();

    // Opened again after the result was delivered: the result again within the grace, 404 after.
    let started = Date.now();
    const again = await page.goto(link.href, { timeout: 15_000 });
    let elapsed = Date.now() - started;
    if (grace === 0 || again?.status() === 404) {
      expect(again?.status()).toBe(404);
      await expect(page.locator('h1')).toHaveText('Error 404');
      await expect(page.locator('body')).toContainText(`RequestID: ${requestId}`);
    } else {
      expect(again?.status(), 'within RESULT_GRACE_SECONDS the result again').toBe(200);
      expect(await again!.text()).toBe(delivered);
    }
    expect(elapsed, 'answered at once, not after a wait window').toBeLessThan(5_000);
    console.log(`link opened again: ${again?.status()} after ${elapsed} ms`);

    // The RequestID alone (it is in logs and X-Request-Id) never opens the result: 403, at once.
    const bare = new URL(link.href);
    for (const name of [...bare.searchParams.keys()]) if (name !== 'requestID') bare.searchParams.delete(name);
    started = Date.now();
    const withoutToken = await page.goto(bare.href, { timeout: 15_000 });
    elapsed = Date.now() - started;
    expect(withoutToken?.status()).toBe(403);
    await expect(page.locator('body')).toContainText('LINK_TOKEN_MISSING');
    expect(elapsed).toBeLessThan(5_000);
    console.log(`link without its token: 403 after ${elapsed} ms`);

    // The same link with its signature altered: 403, at once.
    const sig = link.searchParams.get('sig');
    if (sig === null) {
      testInfo.annotations.push({ type: 'note', description: 'the deployment does not sign its links (no SIGNING_SECRET): the altered-signature case was not tried' });
      return;
    }
    const forged = new URL(link.href);
    // One character changed, still in the signature's alphabet: well-formed, but wrong.
    forged.searchParams.set('sig', `${sig.startsWith('A') ? 'B' : 'A'}${sig.slice(1)}`);
    started = Date.now();
    const refused = await page.goto(forged.href, { timeout: 15_000 });
    elapsed = Date.now() - started;
    expect(refused?.status()).toBe(403);
    await expect(page.locator('h1')).toHaveText('Error 403');
    await expect(page.locator('body')).toContainText('BAD_SIGNATURE');
    expect(elapsed).toBeLessThan(5_000);
    console.log(`link with an altered signature: 403 after ${elapsed} ms`);
  });
});
