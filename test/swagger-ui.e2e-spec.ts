import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Browser } from 'playwright-core';
import { COLLECTION_NAMES } from '@odtp/schema';
import { createTestApp } from './support/app';
import { ARTIFACTS, describeBrowser, launchChromium, NEEDS_CHROMIUM } from './support/browser';
import type { TestApp } from './support/app';

describeBrowser(`Swagger UI in a real browser${NEEDS_CHROMIUM}`, () => {
  let t: TestApp;
  let browser: Browser;
  let base: string;

  beforeAll(async () => {
    t = await createTestApp();
    await t.app.listen(0, '127.0.0.1');
    const address = t.app.getHttpServer().address() as { port: number };
    base = `http://127.0.0.1:${address.port}`;
    browser = await launchChromium();
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
    // the ten collections, as GET /collections lists them (test/collections-api checks the list itself)
    expect(JSON.parse(body).map((c: { name: string }) => c.name)).toEqual([...COLLECTION_NAMES]);
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, 'swagger-ui-collections.png'), fullPage: false });
    expect(fs.statSync(path.join(ARTIFACTS, 'swagger-ui-collections.png')).size).toBeGreaterThan(10_000);
  }, 60_000);
});
