/**
 * Command line entry of the local stack:
 *
 * ```
 * npx tsx local/cli.ts [--port 4566] [--host 127.0.0.1] [--data-dir DIR] [--region us-east-1]
 *                      [--retry-scale 1] [--max-concurrency 1000] [--idle-timeout-ms 600000]
 *                      [--integration-timeout-ms 29000] [--stream-idle-timeout-ms 300000]
 *                      [--lambda-state-delay-ms 200] [--iam on|off]
 * ```
 *
 * Prints `Local AWS stack ready at http://127.0.0.1:4566` when it serves,
 * and stops cleanly on SIGINT/SIGTERM.
 */
import { parseArgs } from 'node:util';
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { startLocalStack } from './server';
import type { LocalStackOptions } from './server';

/**
 * Parses the command line into stack options.
 * @param argv arguments after the script name
 */
export function parseCliOptions(argv: string[]): LocalStackOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      'data-dir': { type: 'string' },
      region: { type: 'string' },
      'retry-scale': { type: 'string' },
      'max-concurrency': { type: 'string' },
      'idle-timeout-ms': { type: 'string' },
      'integration-timeout-ms': { type: 'string' },
      'stream-idle-timeout-ms': { type: 'string' },
      'lambda-state-delay-ms': { type: 'string' },
      iam: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write('Usage: npx tsx local/cli.ts [--port 4566] [--host 127.0.0.1] [--data-dir DIR] [--region us-east-1] '
      + '[--retry-scale 1] [--max-concurrency 1000] [--idle-timeout-ms 600000] [--integration-timeout-ms 29000] [--stream-idle-timeout-ms 300000] [--lambda-state-delay-ms 200] [--iam on|off]\n');
    process.exit(0);
  }
  const num = (name: string, v: string | undefined, min: number): number | undefined => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n) || n < min) throw new Error(`--${name} must be a number >= ${min}, got ${v}`);
    return n;
  };
  const options: LocalStackOptions = {};
  const port = num('port', values.port, 0);
  if (port !== undefined) options.port = port;
  if (values.host) options.host = values.host;
  if (values['data-dir']) options.dataDir = values['data-dir'];
  if (values.region) options.region = values.region;
  const scale = num('retry-scale', values['retry-scale'], 0);
  if (scale !== undefined) options.retryScale = scale;
  const max = num('max-concurrency', values['max-concurrency'], 1);
  if (max !== undefined) options.maxConcurrency = max;
  const idle = num('idle-timeout-ms', values['idle-timeout-ms'], 1000);
  if (idle !== undefined) options.idleTimeoutMs = idle;
  const integration = num('integration-timeout-ms', values['integration-timeout-ms'], 50);
  if (integration !== undefined) options.integrationTimeoutMs = integration;
  const streamIdle = num('stream-idle-timeout-ms', values['stream-idle-timeout-ms'], 1000);
  if (streamIdle !== undefined) options.streamIdleTimeoutMs = streamIdle;
  const stateDelay = num('lambda-state-delay-ms', values['lambda-state-delay-ms'], 0);
  if (stateDelay !== undefined) options.lambdaStateDelayMs = stateDelay;
  if (values.iam !== undefined) {
    if (values.iam !== 'on' && values.iam !== 'off') throw new Error(`--iam must be on or off, got ${values.iam}`);
    options.iam = values.iam === 'on';
  }
  return options;
}

async function main(): Promise<void> {
  let options: LocalStackOptions;
  try {
    options = parseCliOptions(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(2);
  }
  const stack = await startLocalStack(options);
  process.stdout.write(`Local AWS stack ready at ${stack.url} (dynamodb, lambda, apigateway, iam, sts)\n`);
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`Received ${signal}, stopping the local AWS stack...\n`);
    stack.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`Error while stopping: ${String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

const invokedDirectly = process.argv[1] !== undefined && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href;
if (invokedDirectly) {
  main().catch((err: unknown) => {
    process.stderr.write(`The local AWS stack failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
