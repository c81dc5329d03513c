/**
 * The example Main: a deliberately slow function that waits, then describes the request it
 * received. It knows nothing of the kit: it is an ordinary API Gateway Lambda handler, which is
 * the point (Main is not changed to run behind the Proxy).
 *
 * Everything here is plain functions; time comes in through a {@link MainClock} so that tests
 * drive the wait without waiting.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import type { APIGatewayProxyEvent, APIGatewayProxyEventV2 } from 'aws-lambda';

/** The two API Gateway payload formats Main accepts: REST (1.0) and HTTP API (2.0). */
export type MainEvent = APIGatewayProxyEvent | APIGatewayProxyEventV2;

/** What Main uses of the Lambda context. */
export interface MainContext {
  /** The invocation's request id. */
  awsRequestId: string;
  /** Milliseconds left before Lambda stops the invocation. */
  getRemainingTimeInMillis(): number;
}

/** Time as Main sees it: the real clock in the handler, a fake one in tests. */
export interface MainClock {
  /** The current time in epoch milliseconds. */
  now(): number;
  /** Resolves after `ms` milliseconds. */
  sleep(ms: number): Promise<void>;
}

/** Settings read once at cold start. */
export interface MainSettings {
  /** How long to wait when the request does not say (`DELAY_SECONDS`, default 60). */
  delaySeconds: number;
}

/** A response valid in both payload formats. */
export interface MainResponse {
  /** The HTTP status. */
  statusCode: number;
  /** Response headers (content-type always set). */
  headers: Record<string, string>;
  /** The body, as text. */
  body: string;
  /** Always false: Main's bodies are text. */
  isBase64Encoded: false;
}

/** The facts Main reports about a request. */
export interface RequestDescription {
  /** The HTTP method. */
  method: string;
  /** The request path. */
  path: string;
  /** Query parameters with all their values; values of secret-looking names are redacted. */
  query: Record<string, string[]>;
  /** Size of the decoded body in bytes. */
  bodyBytes: number;
  /** How many distinct header names the request carried (values are never echoed). */
  headerCount: number;
  /** `1.0` (REST API) or `2.0` (HTTP API). */
  payloadVersion: '1.0' | '2.0';
}

/** The knobs a request may turn, validated. */
export interface Knobs {
  /** Seconds to wait (the knob, or the default). */
  waitSeconds: number;
  /** Whether `seconds` came from the request. */
  waitFromRequest: boolean;
  /** Whether the wait was cut to fit the remaining time (only the default is ever cut). */
  waitClamped: boolean;
  /** Throw instead of answering. */
  fail: boolean;
  /** Pad the body to this many bytes, if set. */
  bytes: number | undefined;
  /** How to pad: repeated `x` (compressible) or random letters (not compressible). */
  fill: 'repeat' | 'random';
}

/** Time kept back from the remaining time, so that Main always answers before its timeout. */
export const SAFETY_MARGIN_MS = 1000;

/** Largest `bytes` knob: the 6 MB limit of a synchronous Lambda response. */
export const MAX_PAD_BYTES = 6 * 1024 * 1024;

/** The default wait when `DELAY_SECONDS` is not set. */
export const DEFAULT_DELAY_SECONDS = 60;

/** main-example's environment variables, by what each sets. */
export const MAIN_EXAMPLE_ENV = {
  /** `DELAY_SECONDS`: how long Main waits when the request does not say. */
  delaySeconds: 'DELAY_SECONDS',
} as const;

/** Query parameter names whose values Main never echoes. */
const SECRET_NAME = /key|token|secret|sig|signature|password|passwd|auth|session|credential/i;

/** A request knob that could not be read: answered with 400. */
export class KnobError extends Error {
  /** @param message - what was wrong, naming the knob */
  constructor(message: string) {
    super(message);
    this.name = 'KnobError';
  }
}

/**
 * Reads Main's settings from the environment; an invalid value fails at cold start with a message
 * naming the variable.
 *
 * @param env - the process environment
 * @returns the settings
 */
export function readSettings(env: Record<string, string | undefined>): MainSettings {
  const raw = env[MAIN_EXAMPLE_ENV.delaySeconds];
  if (raw === undefined || raw.trim() === '') return { delaySeconds: DEFAULT_DELAY_SECONDS };
  const value = parseSeconds(raw);
  if (value === undefined) {
    throw new Error(`DELAY_SECONDS must be a number of seconds (0 or more, e.g. 60 or 0.5), got ${JSON.stringify(raw)}`);
  }
  return { delaySeconds: value };
}

function parseSeconds(raw: string): number | undefined {
  const text = raw.trim();
  if (!/^\d+(\.\d+)?$/.test(text)) return undefined;
  const value = Number(text);
  return Number.isFinite(value) ? value : undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Tells the payload format of an event.
 *
 * @param event - an API Gateway event of either format
 * @returns `2.0` for HTTP API payloads, `1.0` for REST
 */
export function payloadVersionOf(event: MainEvent): '1.0' | '2.0' {
  const e = event as unknown as Record<string, unknown>;
  if (e.version === '2.0') return '2.0';
  const rc = e.requestContext;
  if (isObject(rc) && isObject(rc.http) && typeof e.httpMethod !== 'string') return '2.0';
  return '1.0';
}

/** Adds the string values of `source` (single or multi-value map) to `target`. */
function merge(target: Map<string, string[]>, source: unknown, lowerCase: boolean, splitCommas: boolean): void {
  if (!isObject(source)) return;
  for (const [name, value] of Object.entries(source)) {
    const key = lowerCase ? name.toLowerCase() : name;
    const values = Array.isArray(value) ? value : [value];
    const list = target.get(key) ?? [];
    for (const v of values) {
      if (typeof v !== 'string') continue;
      for (const part of splitCommas ? v.split(',') : [v]) if (!list.includes(part)) list.push(part);
    }
    target.set(key, list);
  }
}

/** Query parameters of an event, each name with all its values. */
function queryOf(event: MainEvent, version: '1.0' | '2.0'): Map<string, string[]> {
  const e = event as unknown as Record<string, unknown>;
  const query = new Map<string, string[]>();
  if (version === '1.0') {
    merge(query, e.multiValueQueryStringParameters, false, false);
    merge(query, e.queryStringParameters, false, false);
  } else {
    // HTTP API joins repeated parameters with commas
    merge(query, e.queryStringParameters, false, true);
  }
  return query;
}

/** Request headers, names in lower case, each with all its values. */
function headersOf(event: MainEvent): Map<string, string[]> {
  const e = event as unknown as Record<string, unknown>;
  const headers = new Map<string, string[]>();
  merge(headers, e.multiValueHeaders, true, false);
  merge(headers, e.headers, true, false);
  return headers;
}

function bodyBytesOf(event: MainEvent): number {
  const e = event as unknown as Record<string, unknown>;
  if (typeof e.body !== 'string') return 0;
  return e.isBase64Encoded === true ? Buffer.from(e.body, 'base64').length : Buffer.byteLength(e.body, 'utf8');
}

/**
 * Describes a request of either payload format, without any header value and with the values of
 * secret-looking query parameters (`api-key`, `token`, `sig`, ...) redacted.
 *
 * @param event - an API Gateway event
 * @returns the facts Main reports
 */
export function describeRequest(event: MainEvent): RequestDescription {
  const version = payloadVersionOf(event);
  const e = event as unknown as Record<string, unknown>;
  const rc = isObject(e.requestContext) ? e.requestContext : {};
  const http = isObject(rc.http) ? rc.http : {};
  const method = version === '2.0' ? http.method : e.httpMethod;
  const path = version === '2.0' ? (e.rawPath ?? http.path) : e.path;
  const query: Record<string, string[]> = {};
  for (const [name, values] of queryOf(event, version)) {
    query[name] = SECRET_NAME.test(name) ? values.map(() => '[redacted]') : values;
  }
  return {
    method: typeof method === 'string' ? method : 'UNKNOWN',
    path: typeof path === 'string' ? path : '/',
    query,
    bodyBytes: bodyBytesOf(event),
    headerCount: headersOf(event).size,
    payloadVersion: version,
  };
}

function single(query: Map<string, string[]>, name: string): string | undefined {
  const values = query.get(name);
  if (values === undefined || values.length === 0) return undefined;
  if (values.length > 1) throw new KnobError(`${name} was given ${values.length} times; give it once`);
  return values[0];
}

/**
 * Reads and checks the knobs of a request against the time Main has left.
 *
 * @param event - an API Gateway event
 * @param settings - Main's settings (the default wait)
 * @param budgetMs - how long Main may still wait, in milliseconds
 * @returns the knobs
 * @throws KnobError when a knob is malformed or asks for more than Main can do
 */
export function readKnobs(event: MainEvent, settings: MainSettings, budgetMs: number): Knobs {
  const query = queryOf(event, payloadVersionOf(event));
  const budgetSeconds = Math.max(0, budgetMs) / 1000;

  const secondsRaw = single(query, 'seconds');
  let waitSeconds = settings.delaySeconds;
  let waitClamped = false;
  if (secondsRaw !== undefined) {
    const value = parseSeconds(secondsRaw);
    if (value === undefined) throw new KnobError(`seconds must be a number of seconds, 0 or more (e.g. 2 or 0.3), got ${JSON.stringify(secondsRaw)}`);
    if (value > budgetSeconds) {
      throw new KnobError(`seconds=${secondsRaw} is more than this function can wait: ${budgetSeconds.toFixed(1)} s left before its timeout`);
    }
    waitSeconds = value;
  } else if (waitSeconds > budgetSeconds) {
    waitSeconds = budgetSeconds;
    waitClamped = true;
  }

  const failRaw = single(query, 'fail');
  let fail = false;
  if (failRaw !== undefined) {
    if (failRaw === '1' || failRaw === 'true') fail = true;
    else if (failRaw === '0' || failRaw === 'false') fail = false;
    else throw new KnobError(`fail must be 1 or 0 (true or false), got ${JSON.stringify(failRaw)}`);
  }

  const bytesRaw = single(query, 'bytes');
  let bytes: number | undefined;
  if (bytesRaw !== undefined) {
    if (!/^\d+$/.test(bytesRaw)) throw new KnobError(`bytes must be a whole number of bytes, got ${JSON.stringify(bytesRaw)}`);
    bytes = Number(bytesRaw);
    if (bytes > MAX_PAD_BYTES) throw new KnobError(`bytes=${bytesRaw} is over the ${MAX_PAD_BYTES}-byte limit of a Lambda response`);
  }

  const fillRaw = single(query, 'fill');
  if (fillRaw !== undefined && fillRaw !== 'repeat' && fillRaw !== 'random') {
    throw new KnobError(`fill must be repeat or random, got ${JSON.stringify(fillRaw)}`);
  }
  const fill = fillRaw ?? 'repeat';

  return { waitSeconds, waitFromRequest: secondsRaw !== undefined, waitClamped, fail, bytes, fill };
}

/**
 * Whether the caller prefers HTML: its Accept header names `text/html` (or XHTML) with a
 * non-zero quality.
 *
 * @param event - an API Gateway event
 * @returns true when an HTML page should be answered
 */
export function acceptsHtml(event: MainEvent): boolean {
  const accept = headersOf(event).get('accept') ?? [];
  for (const range of accept.join(',').split(',')) {
    const [type, ...params] = range.split(';').map((s) => s.trim().toLowerCase());
    if (type !== 'text/html' && type !== 'application/xhtml+xml') continue;
    const q = params.find((p) => p.startsWith('q='));
    if (q === undefined || Number(q.slice(2)) > 0) return true;
  }
  return false;
}

/**
 * Escapes text for HTML element content and attribute values.
 *
 * @param text - any text
 * @returns the text with `& < > " '` escaped
 */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Letters for random padding: no character that JSON or HTML would escape. */
const PAD_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

function padding(length: number, fill: 'repeat' | 'random'): string {
  if (length <= 0) return '';
  if (fill === 'repeat') return 'x'.repeat(length);
  const random = randomBytes(length);
  let out = '';
  for (let i = 0; i < length; i += 1) out += PAD_ALPHABET[random[i]! % PAD_ALPHABET.length];
  return out;
}

/**
 * Renders a body, padded so that it is exactly `bytes` bytes long when that is more than its
 * natural size (it is never cut).
 *
 * @param render - renders the body; given an empty string it must render the body without padding
 * @param bytes - the target size in bytes, if any
 * @param fill - how to pad
 * @returns the body
 */
export function padTo(render: (pad: string) => string, bytes: number | undefined, fill: 'repeat' | 'random'): string {
  const bare = render('');
  if (bytes === undefined) return bare;
  // the size of the padded body without its padding characters
  const frame = Buffer.byteLength(render('x'), 'utf8') - 1;
  const missing = bytes - frame;
  return missing > 0 ? render(padding(missing, fill)) : bare;
}

/** Everything Main reports, as one object. */
export interface Report extends RequestDescription {
  /** The invocation's request id. */
  awsRequestId: string;
  /** When Main started, ISO 8601. */
  startedAt: string;
  /** How long it waited, in seconds (as asked or defaulted). */
  waitedSeconds: number;
  /** Whether the default wait was cut to fit the remaining time. */
  waitClamped: boolean;
  /** How long it ran, in milliseconds. */
  ranMs: number;
}

function jsonResponse(statusCode: number, body: string): MainResponse {
  return {
    statusCode,
    headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' },
    body,
    isBase64Encoded: false,
  };
}

/**
 * Renders the report as JSON, with a `padding` field when `bytes` asks for one.
 *
 * @param report - the facts
 * @param knobs - the request's knobs (bytes, fill)
 * @returns the JSON text
 */
export function renderJson(report: Report, knobs: Pick<Knobs, 'bytes' | 'fill'>): string {
  return padTo((pad) => JSON.stringify(pad === '' ? report : { ...report, padding: pad }), knobs.bytes, knobs.fill);
}

/**
 * Renders the report as an HTML page; every value is escaped.
 *
 * @param report - the facts
 * @param knobs - the request's knobs (bytes, fill)
 * @returns the HTML text
 */
export function renderHtml(report: Report, knobs: Pick<Knobs, 'bytes' | 'fill'>): string {
  const queryText = Object.entries(report.query)
    .map(([name, values]) => values.map((v) => `${name}=${v}`).join('&'))
    .join('&');
  const rows: Array<[string, string]> = [
    ['Method', report.method],
    ['Path', report.path],
    ['Query', queryText === '' ? '(none)' : queryText],
    ['Body size', `${report.bodyBytes} bytes`],
    ['Headers', `${report.headerCount} (values not shown)`],
    ['Payload format', report.payloadVersion === '2.0' ? '2.0 (HTTP API)' : '1.0 (REST API)'],
    ['Waited', `${report.waitedSeconds} s${report.waitClamped ? ' (cut to fit the timeout)' : ''}`],
    ['Ran', `${report.ranMs} ms`],
    ['Started at', report.startedAt],
    ['Request id', report.awsRequestId],
  ];
  const table = rows.map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`).join('\n');
  return padTo(
    (pad) =>
      `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>Main example: done</title></head>\n` +
      `<body><h1>Main example answered after ${escapeHtml(String(report.ranMs))} ms</h1>\n<table>\n${table}\n</table>\n` +
      (pad === '' ? '' : `<!-- ${pad} -->\n`) +
      `</body></html>\n`,
    knobs.bytes,
    knobs.fill,
  );
}

/**
 * Handles one request: reads the knobs, waits, then answers 200 with the description (JSON, or
 * HTML when the caller accepts it). A malformed knob answers 400 at once; `fail=1` throws after
 * the wait (so `?fail=1&seconds=40` fails late; with no `seconds` it fails at once).
 *
 * @param event - an API Gateway event of either format
 * @param context - the Lambda context (request id, remaining time)
 * @param clock - the clock to wait on
 * @param settings - Main's settings
 * @returns the response
 */
export async function handleRequest(
  event: MainEvent,
  context: MainContext,
  clock: MainClock,
  settings: MainSettings,
): Promise<MainResponse> {
  const started = clock.now();
  const budgetMs = context.getRemainingTimeInMillis() - SAFETY_MARGIN_MS;
  let knobs: Knobs;
  try {
    knobs = readKnobs(event, settings, budgetMs);
  } catch (err) {
    if (err instanceof KnobError) return jsonResponse(400, JSON.stringify({ message: err.message }));
    throw err;
  }

  const waitSeconds = knobs.fail && !knobs.waitFromRequest ? 0 : knobs.waitSeconds;
  if (waitSeconds > 0) await clock.sleep(Math.round(waitSeconds * 1000));
  if (knobs.fail) throw new Error('main-example failed because the request asked it to (fail=1)');

  const report: Report = {
    ...describeRequest(event),
    awsRequestId: context.awsRequestId,
    startedAt: new Date(started).toISOString(),
    waitedSeconds: waitSeconds,
    waitClamped: knobs.waitClamped,
    ranMs: Math.max(0, Math.round(clock.now() - started)),
  };
  if (acceptsHtml(event)) {
    return {
      statusCode: 200,
      headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' },
      body: renderHtml(report, knobs),
      isBase64Encoded: false,
    };
  }
  return jsonResponse(200, renderJson(report, knobs));
}

/**
 * Makes the Lambda handler: settings are read once (cold start), the clock is injected.
 *
 * @param clock - the clock to wait on
 * @param env - the environment to read settings from
 * @returns a handler for `index.handler`
 */
export function createHandler(
  clock: MainClock,
  env: Record<string, string | undefined>,
): (event: MainEvent, context: MainContext) => Promise<MainResponse> {
  const settings = readSettings(env);
  return (event, context) => handleRequest(event, context, clock, settings);
}
