/**
 * Time, behind an interface so that tests can drive waits without real delays.
 *
 * @module
 */
import { setTimeout as delay } from 'node:timers/promises';

/** A source of the current time and of delays. */
export interface Clock {
  /** The current time in epoch milliseconds. */
  now(): number;
  /** Resolves after `ms` milliseconds. */
  sleep(ms: number): Promise<void>;
}

/** The real clock: `Date.now()` and timers. */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: async (ms) => {
    await delay(ms);
  },
};
