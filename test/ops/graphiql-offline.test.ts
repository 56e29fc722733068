import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startTestGateway, type TestGateway } from '../support/gateway.js';

/**
 * Issue 11, GraphiQL served by the gateway itself: the page references nothing outside the gateway
 * (scripts, styles, editor workers and favicon are inline or data:/blob: URLs), and in a real headless
 * Chromium with every request to another origin aborted ("network off") the editor renders and runs
 * `{ viewer { role } }` with an Authorization header typed into its Headers editor.
 */

const CHROMIUM = '/usr/bin/chromium';
const HAVE_CHROMIUM = existsSync(CHROMIUM);

let g: TestGateway;
beforeAll(async () => {
  g = await startTestGateway();
});
afterAll(async () => {
  await g?.stop({ removeDatabase: true });
});

async function graphiqlPage(): Promise<string> {
  const response = await fetch(`${g.url}/graphql`, { headers: { accept: 'text/html' } });
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/text\/html/);
  return response.text();
}

describe('the GraphiQL page', () => {
  it('loads nothing from another host: no external src/href, CSS url() or @import, inline favicon, worker code inline', async () => {
    const html = await graphiqlPage();
    const origin = new URL(g.url).origin;
    const external = (ref: string) => /^(?:https?:|wss?:)?\/\//i.test(ref.trim()) && !ref.trim().startsWith(origin);
    // Every resource reference of the page and of the JS/CSS inlined in it.
    const refs = [
      ...[...html.matchAll(/<(?:script|link|img|iframe|source|video|audio)\b[^>]*?\b(?:src|href)\s*=\s*["']([^"']*)["']/gi)].map((m) => m[1]!),
      ...[...html.matchAll(/url\(\s*["']?([^"')]+)["']?\s*\)/gi)].map((m) => m[1]!),
      ...[...html.matchAll(/@import\s+(?:url\()?\s*["']([^"']+)["']/gi)].map((m) => m[1]!),
      ...[...html.matchAll(/importScripts\(\s*["'`]([^"'`]+)["'`]/g)].map((m) => m[1]!),
    ];
    expect(refs.filter(external)).toEqual([]);
    expect(html).not.toMatch(/<script[^>]+src=/i);
    expect(html).not.toMatch(/<link[^>]+rel=["']stylesheet["'][^>]+href=["'](?:https?:)?\/\//i);
    expect(html).not.toMatch(/unpkg\.com|jsdelivr\.net|cdnjs|esm\.sh/i);
    const favicon = /<link rel="icon" href="([^"]{0,40})/.exec(html)?.[1];
    expect(favicon).toMatch(/^data:image\//);
    expect(html).toContain('prepareBlob('); // Monaco's workers come from blobs built in the page
    expect(html).not.toContain('Loading __TITLE__');
    expect(html).toContain('<title>siemgate</title>');
  });
});

describe.skipIf(!HAVE_CHROMIUM && !process.env.CI)(`GraphiQL in headless Chromium with the network off (${HAVE_CHROMIUM ? CHROMIUM : `skipped: ${CHROMIUM} is not installed; \`apt-get install chromium\` to run it`})`, () => {
  it('renders the editor and runs { viewer { role } } with the Authorization header set, requesting nothing from another origin', async () => {
    // Under CI a missing browser is a failure, never a silent skip (.ci/run installs it).
    expect(existsSync(CHROMIUM), `${CHROMIUM} is missing: CI must install Debian's chromium (.ci/run)`).toBe(true);
    const { chromium } = await import('playwright-core');
    const profile = mkdtempSync(join(tmpdir(), 'siemgate-chromium-'));
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    const origin = new URL(g.url).origin;
    const foreign: string[] = [];
    const pageErrors: string[] = [];
    try {
      await context.route('**/*', (route) => {
        const url = route.request().url();
        if (new URL(url).origin === origin) return route.continue();
        foreign.push(url);
        return route.abort('internetdisconnected');
      });
      const page = context.pages()[0] ?? (await context.newPage());
      page.on('request', (request) => {
        const url = request.url();
        if (!/^(data|blob|about):/.test(url) && new URL(url).origin !== origin && !foreign.includes(url)) foreign.push(url);
      });
      page.on('pageerror', (error) => pageErrors.push(error.message));
      await page.goto(`${g.url}/graphql`);
      await page.waitForSelector('.graphiql-query-editor .monaco-editor', { timeout: 60_000 });

      await page.getByText('Headers', { exact: true }).click();
      await page.locator('.monaco-editor[data-uri$="headers.json"]').click();
      await page.keyboard.press('Control+A');
      await page.keyboard.press('Delete');
      await page.keyboard.type(`{"Authorization": "Bearer ${ADMIN_TOKEN}"}`);
      // The editor renders typed text a little later (and closes brackets and quotes itself): wait for the whole token.
      await expect.poll(() => page.locator('.monaco-editor[data-uri$="headers.json"] .view-lines').innerText(), { timeout: 15_000 }).toContain(ADMIN_TOKEN);

      await page.locator('.graphiql-query-editor .monaco-editor').first().click();
      await page.keyboard.press('Control+A');
      await page.keyboard.press('Delete');
      await page.keyboard.type('{ viewer { role } }');
      await page.locator('.graphiql-execute-button').click();
      await page.waitForFunction(() => /"role":\s*"ADMIN"/.test(document.querySelector('.graphiql-response')?.textContent ?? ''), undefined, { timeout: 30_000 });
      expect(await page.locator('.graphiql-response').innerText()).toMatch(/"viewer":\s*\{\s*"role":\s*"ADMIN"/);
      expect(foreign).toEqual([]);
      expect(pageErrors).toEqual([]);
    } finally {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    }
  }, 180_000);
});
