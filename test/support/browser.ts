import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { chromium } from 'playwright-core';
import type { Browser } from 'playwright-core';

/**
 * The browser of the browser tests, driven by playwright-core (no browser download): CHROMIUM_PATH when set (CI
 * runners with Google Chrome), else Debian's chromium on PATH (apt-get install -y chromium).
 */
export function chromiumPath(): string | undefined {
  if (process.env.CHROMIUM_PATH) return process.env.CHROMIUM_PATH;
  try {
    return execFileSync('which', ['chromium'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

export const CHROMIUM = chromiumPath();
if (!CHROMIUM && process.env.CI)
  throw new Error('CI needs Debian chromium (apt-get install -y chromium) for the browser tests');

/** Outside CI, a machine without Debian's chromium skips the browser tests (and says so in their names). */
export function describeBrowser(name: string, fn: () => void): void {
  (CHROMIUM ? describe : describe.skip)(name, fn);
}
export const NEEDS_CHROMIUM = CHROMIUM ? '' : ' [needs chromium on PATH: apt-get install -y chromium]';
export const ARTIFACTS = path.join(__dirname, '..', '..', 'test-artifacts');

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
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
}
