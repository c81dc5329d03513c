#!/usr/bin/env -S npx tsx
// npm run demo: calls the kit that `npm start` runs, through the client in client/, with a Main
// that takes --seconds, and shows the hops live until Main's answer arrives.
//
//   npm run demo -- [--seconds 40] [--url URL] [--async] [--timeout S] [--state-file PATH]
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { callLongRequest, LongRequestError, type LongRequestProgress } from '../client/index';
import { ExpectedError, parseFlags, runMain, scriptArgs, UsageError } from './lib/cli';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const USAGE = `Usage: npm run demo -- [flags]

Calls the kit that npm start runs (its URL is in .local/deploy-state.json) through the kit's
client, which follows the 303 chain without the browsers' 20-redirect cap, and shows the hops
as they happen. Start the kit first, in another terminal: npm start

  --seconds N         how long Main takes (the main-example's ?seconds=N; default 40)
  --url URL           call this URL instead (seconds=N is added only when --seconds is given)
  --async             ask for Prefer: respond-async (202 Accepted, then polls after Retry-After)
  --timeout S         give up after S seconds (default: no limit)
  --state-file PATH   where npm start wrote its URLs (default .local/deploy-state.json)
  --help              this text`;

const BODY_LIMIT = 2000;

function seconds(raw: string | undefined, flag: string): number | undefined {
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value) || value < 0) throw new UsageError(`--${flag} must be a number of seconds, got ${raw}`);
  return value;
}

/** The URL to call: --url, or the invoke URL npm start wrote, with ?seconds= when asked. */
function target(flags: { seconds?: string; url?: string; 'state-file'?: string }): string {
  const given = seconds(flags.seconds, 'seconds');
  if (flags.url !== undefined) {
    let url;
    try {
      url = new URL(flags.url);
    } catch {
      throw new UsageError(`--url must be an absolute URL, got ${flags.url}`);
    }
    if (given !== undefined) url.searchParams.set('seconds', String(given));
    return url.toString();
  }
  const stateFile = path.resolve(root, flags['state-file'] ?? '.local/deploy-state.json');
  let state;
  try {
    state = JSON.parse(readFileSync(stateFile, 'utf8'));
  } catch {
    throw new ExpectedError('run npm start first (in another terminal)');
  }
  if (typeof state?.invokeUrl !== 'string') throw new ExpectedError(`${path.relative(process.cwd(), stateFile)} has no invokeUrl: run npm start first (in another terminal)`);
  const url = new URL('demo', state.invokeUrl);
  url.searchParams.set('seconds', String(given ?? 40));
  return url.toString();
}

const secs = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

const hopCount = (n: number): string => `${n} hop${n === 1 ? '' : 's'}`;

/**
 * What a progress report says, in words.
 */
function describe(p: LongRequestProgress): string {
  const status = p.status ? String(p.status) : 'no answer';
  if (p.next === 'redirect') return `${status}: Main still running, following (hop ${p.hops + 1})`;
  if (p.next === 'poll') return `${status}: Main still running, polling again in ${secs(p.waitMs ?? 0)} (poll ${p.hops + 1})`;
  if (p.next === 'retry') return `${status}: retrying in ${secs(p.waitMs ?? 0)}`;
  return `${status}: answered`;
}

await runMain('demo', async () => {
  const flags = parseFlags(scriptArgs(import.meta.url), {
    string: ['seconds', 'url', 'timeout', 'state-file'],
    boolean: ['async', 'help'],
    alias: { h: 'help' },
  });
  if (flags.help) {
    console.log(USAGE);
    return;
  }
  const url = target(flags);
  const timeout = seconds(flags.timeout, 'timeout');

  const tty = Boolean(process.stdout.isTTY);
  const started = Date.now();
  let last: LongRequestProgress | undefined;
  const line = () => {
    const what = last ? `${describe(last)}${last.requestId ? ` · RequestID ${last.requestId}` : ''}` : 'sent, waiting for the first answer';
    return `${secs(Date.now() - started)} · ${what}`;
  };
  const draw = () => process.stdout.write(`\r\x1b[2K${line()}`);
  const clear = () => tty && process.stdout.write('\r\x1b[2K');

  console.log(`${flags.async ? 'GET (Prefer: respond-async)' : 'GET'} ${url}`);
  const controller = new AbortController();
  const onSigint = () => controller.abort(new Error('Ctrl-C'));
  process.once('SIGINT', onSigint);
  const ticker = tty ? setInterval(draw, 200) : undefined;
  if (tty) draw();

  let response: Response;
  try {
    response = await callLongRequest(url, { signal: controller.signal }, {
      respondAsync: Boolean(flags.async),
      ...(timeout !== undefined && { timeoutMs: timeout * 1000 }),
      onProgress: (progress) => {
        last = progress;
        if (tty) draw();
        else if (progress.next !== 'done') console.log(`${secs(progress.elapsedMs)} · ${describe(progress)}`);
      },
    });
  } catch (error) {
    if (!(error instanceof LongRequestError)) throw error;
    clear();
    const resume = error.continuationUrl ? `; resume with: npm run demo -- --url '${error.continuationUrl}'` : '';
    if (error.kind === 'network') {
      const hint = flags.url === undefined ? ': is npm start still running?' : '';
      throw new ExpectedError(`cannot reach ${error.url} (${error.cause instanceof Error ? error.cause.message : 'network error'})${hint}${resume}`);
    }
    throw new ExpectedError(`${error.message.replace(/\.$/, '')}${resume}`);
  } finally {
    if (ticker) clearInterval(ticker);
    process.off('SIGINT', onSigint);
  }
  clear();
  console.log(`${response.status} ${response.statusText} after ${secs(Date.now() - started)} and ${hopCount(last?.hops ?? 0)}`);
  const type = response.headers.get('content-type') ?? '';
  let body = await response.text();
  if (/json/i.test(type)) {
    try {
      body = JSON.stringify(JSON.parse(body), null, 2);
    } catch {
      // not JSON after all: show it as it is
    }
  }
  console.log(body.length > BODY_LIMIT ? `${body.slice(0, BODY_LIMIT)}\n… (${body.length - BODY_LIMIT} more characters)` : body);
  if (!response.ok) process.exitCode = 1;
});
