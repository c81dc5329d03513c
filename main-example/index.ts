/**
 * Lambda entry of the example Main (`index.handler`): wires the real clock and the environment
 * into the logic in main.ts.
 *
 * @module
 */
import { setTimeout as delay } from 'node:timers/promises';
import { createHandler } from './main.js';

/** The Lambda handler: waits `DELAY_SECONDS` (or `?seconds=N`), then describes the request. */
export const handler = createHandler(
  {
    now: () => Date.now(),
    sleep: async (ms) => {
      await delay(ms);
    },
  },
  process.env,
);
