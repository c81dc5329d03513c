/**
 * Which Chromium the suite drives. Playwright's own browser download does not work on the
 * machines that build this kit, so Debian's `chromium` is the default; `CHROMIUM_PATH` names
 * another one; with neither, Playwright's own Chromium (`npx playwright install chromium`) is used.
 */
import { existsSync } from 'node:fs';
import { chromium } from '@playwright/test';

/** Debian's package `chromium` installs this launcher. */
export const DEBIAN_CHROMIUM = '/usr/bin/chromium';

/**
 * Headless Chromium as a CI machine needs it. Without the background-networking flags Chromium
 * opens connections of its own (component updates, sync, QUIC probes) that are refused here.
 */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** The browser chosen, or why there is none. */
export interface ChromiumChoice {
  /** Passed to `launchOptions.executablePath`; undefined means Playwright's own Chromium. */
  executablePath?: string;
  /** For people: which Chromium, from where. */
  description: string;
  /** Set when no usable Chromium was found: what to do about it. */
  missing?: string;
}

const HOW_TO_GET_ONE =
  'install Debian\'s chromium (apt-get install chromium), set CHROMIUM_PATH to a Chromium binary, ' +
  'or run `npx playwright install chromium` where Playwright\'s download works';

/**
 * Picks the Chromium: `CHROMIUM_PATH` if set, else `/usr/bin/chromium` if present, else
 * Playwright's own (if it is installed).
 *
 * @param env - the environment to read `CHROMIUM_PATH` from
 */
export function chooseChromium(env: NodeJS.ProcessEnv = process.env): ChromiumChoice {
  const configured = env.CHROMIUM_PATH?.trim();
  if (configured) {
    if (existsSync(configured)) return { executablePath: configured, description: `CHROMIUM_PATH=${configured}` };
    return { description: 'none', missing: `CHROMIUM_PATH is set to ${configured}, which does not exist` };
  }
  if (existsSync(DEBIAN_CHROMIUM)) return { executablePath: DEBIAN_CHROMIUM, description: `Debian's chromium (${DEBIAN_CHROMIUM})` };
  let own: string;
  try {
    own = chromium.executablePath();
  } catch {
    own = '';
  }
  if (own && existsSync(own)) return { description: `Playwright's own Chromium (${own})` };
  return { description: 'none', missing: `no Chromium found: ${HOW_TO_GET_ONE}` };
}
