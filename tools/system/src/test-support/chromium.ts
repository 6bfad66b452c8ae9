import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import type { BrowserContext } from 'playwright-core';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export const CHROMIUM_INSTALL_HINT =
  "install Debian's chromium package (apt-get update && apt-get install -y chromium) or set CHROMIUM_PATH";

/** Flags for a quiet, reproducible headless run: no GPU, no sandbox (containers), no calls home. */
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface HeadlessChromium {
  readonly context: BrowserContext;
  close(): Promise<void>;
}

/**
 * Headless Chromium from the system's package with a fresh profile. Fails (it does not
 * skip) when the browser is missing, saying how to install it: the pages are part of what
 * the tests prove.
 */
export async function launchChromium(): Promise<HeadlessChromium> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`Chromium is not installed at ${CHROMIUM_PATH}: ${CHROMIUM_INSTALL_HINT}`);
  }
  const profile = mkdtempSync(join(tmpdir(), 'notify-chromium-'));
  try {
    // A persistent context is how Playwright takes a user data dir of our choosing.
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: FLAGS,
      viewport: { width: 1280, height: 900 },
      timeout: 60_000,
    });
    return {
      context,
      async close() {
        await context.close().catch(() => undefined);
        rmSync(profile, { recursive: true, force: true });
      },
    };
  } catch (err) {
    rmSync(profile, { recursive: true, force: true });
    throw new Error(
      `Chromium at ${CHROMIUM_PATH} did not start (${(err as Error).message}); ${CHROMIUM_INSTALL_HINT}`,
    );
  }
}
