import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { chromium } from 'playwright-core';
import type { Browser } from 'playwright-core';
import { createTestApp } from './support/app';
import type { TestApp } from './support/app';

function chromiumPath(): string | undefined {
  try {
    return execFileSync('which', ['chromium'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

const executable = chromiumPath();
if (!executable && process.env.CI)
  throw new Error('CI needs Debian chromium (apt-get install -y chromium) for the Swagger UI browser test');
// Outside CI, a machine without Debian's chromium skips this one test (and says so in its name).
const describeBrowser = executable ? describe : describe.skip;
const ARTIFACTS = path.join(__dirname, '..', 'test-artifacts');

describeBrowser(
  `Swagger UI in a real browser${executable ? '' : ' (skipped: no chromium on PATH; apt-get install -y chromium)'}`,
  () => {
    let t: TestApp;
    let browser: Browser;
    let base: string;

    beforeAll(async () => {
      t = await createTestApp();
      await t.app.listen(0, '127.0.0.1');
      const address = t.app.getHttpServer().address() as { port: number };
      base = `http://127.0.0.1:${address.port}`;
      browser = await chromium.launch({
        executablePath: executable,
        headless: true,
        args: [
          '--no-sandbox',
          '--disable-gpu',
          '--disable-quic',
          '--no-first-run',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
        ],
      });
    }, 60_000);
    afterAll(async () => {
      await browser?.close();
      await t?.app.close();
    });

    it('authorizes with a key through the Authorize dialog and runs GET /collections with a 200', async () => {
      const page = await browser.newPage({ viewport: { width: 1280, height: 1400 } });
      await page.goto(`${base}/docs`);
      await page.locator('button.authorize').first().click();
      const dialog = page.locator('.modal-ux');
      await dialog
        .locator('input')
        .first()
        .fill(t.admin.replace(/^Bearer /, ''));
      await dialog.locator('button.authorize').click();
      await dialog.locator('button.btn-done').click();
      const operation = page.locator('#operations-collections-CollectionsController_list');
      await operation.locator('.opblock-summary').click();
      await operation.locator('button.try-out__btn').click();
      await operation.locator('button.execute').click();
      const status = operation.locator('.live-responses-table tr.response .response-col_status').first();
      await status.waitFor({ timeout: 15_000 });
      expect((await status.innerText()).trim()).toBe('200');
      const body = await operation.locator('.live-responses-table .microlight').first().innerText();
      expect(JSON.parse(body).map((c: { name: string }) => c.name)).toEqual([
        'users',
        'digitalTwins',
        'components',
        'versions',
        'workflows',
        'executions',
        'steps',
        'outputs',
        'results',
        'logs',
      ]);
      fs.mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: path.join(ARTIFACTS, 'swagger-ui-collections.png'), fullPage: false });
      expect(fs.statSync(path.join(ARTIFACTS, 'swagger-ui-collections.png')).size).toBeGreaterThan(10_000);
    }, 60_000);
  },
);
