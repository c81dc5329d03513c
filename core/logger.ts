/**
 * Structured logs: one JSON line per event, with the RequestID, through Powertools for AWS
 * Lambda's Logger (chosen because it is the maintained, Lambda-aware structured logger).
 *
 * @module
 */
import { Logger } from '@aws-lambda-powertools/logger';

/** The logging the handlers need; Powertools' Logger satisfies it, tests can capture it. */
export interface KitLogger {
  /** Logs a normal event. */
  info(message: string, extra?: Record<string, unknown>): void;
  /** Logs something unexpected that was handled. */
  warn(message: string, extra?: Record<string, unknown>): void;
  /** Logs a failure. */
  error(message: string, extra?: Record<string, unknown>): void;
}

/**
 * Creates the JSON logger of a function.
 *
 * @param serviceName - `proxy`, `talker`, ...; `POWERTOOLS_SERVICE_NAME` overrides it
 */
export function createLogger(serviceName: string): KitLogger {
  const logger = new Logger({ serviceName: process.env['POWERTOOLS_SERVICE_NAME'] ?? serviceName });
  return {
    info: (message, extra) => logger.info(message, extra ?? {}),
    warn: (message, extra) => logger.warn(message, extra ?? {}),
    error: (message, extra) => logger.error(message, extra ?? {}),
  };
}

/** A logger that drops everything (for tests that do not look at logs). */
export const silentLogger: KitLogger = { info: () => {}, warn: () => {}, error: () => {} };
