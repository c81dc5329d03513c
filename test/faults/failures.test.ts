/**
 * The fault matrix, part 1: one fault per case, each on its own deployment of the kit (so each
 * counts its own Main's runs), all in one local stack running the real zips in worker
 * environments. Each case states the client's answer, that nothing is lost, and how many times
 * Main ran.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvokeCommand } from '@aws-sdk/client-lambda';
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { hashLinkToken, newLinkToken } from '../../core/secrets';
import {
  createCustomMain, deployAll, echoedMarker, faultsEnabled, follow, jsonLogs, kitErrorOf, marker, nextEvent, readRow, runsOf, startFaultStack, urlOf,
  type AsyncAttempt, type Deployment, type EndEvent, type FaultStack, type KitError, type StartEvent,
} from './support';

/** A Main that is not main-example: `?mode=malformed` answers `{"hello":1}`, otherwise it sleeps `?seconds`. */
const CUSTOM_MAIN = `
exports.handler = async (event) => {
  const q = event.queryStringParameters || {};
  if (q.mode === 'malformed') return { hello: 1 };
  await new Promise((resolve) => setTimeout(resolve, Number(q.seconds || 0) * 1000));
  return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ m: q.m }) };
};`;

let fs: FaultStack;
let kit: (name: string) => Deployment;

/** Each case's deployment: name prefix and deploy flags. */
const DEPLOYMENTS: Record<string, string[]> = {
  fthrow: [],
  ftimeout: ['--main-name', 'fx-sleepy-main'],
  fmalformed: ['--main-name', 'fx-malformed-main'],
  flarge: ['--proxy-env', 'SHOW_ERROR_DETAILS=true'],
  fkill: ['--talker-timeout', '10'],
  // The smoke case behind an HTTP API (payload 2.0, 30 s): the same fault as fkill, with the
  // Talker queued (Event), so that its zero-retry setting is what keeps Main to one run.
  fhttpkill: ['--talker-timeout', '10', '--api-type', 'http', '--proxy-env', 'TALKER_INVOCATION_TYPE=Event'],
  fddbreset: ['--wait-seconds', '2'],
  fddbunavail: ['--wait-seconds', '2'],
  fdup: [],
  fdisc: ['--wait-seconds', '2'],
  fdisclast: [],
  ftwo: ['--wait-seconds', '2', '--proxy-env', 'RESULT_GRACE_SECONDS=3'],
};

beforeAll(async () => {
  if (!faultsEnabled) return;
  fs = await startFaultStack();
  await createCustomMain(fs, 'fx-sleepy-main', CUSTOM_MAIN, 3);
  await createCustomMain(fs, 'fx-malformed-main', CUSTOM_MAIN, 30);
  kit = await deployAll(fs, DEPLOYMENTS);
}, 180_000);

afterAll(async () => {
  await fs?.stop();
});

const url = urlOf;

async function kitError(response: Response | string): Promise<KitError['error']> {
  return kitErrorOf(typeof response === 'string' ? response : await response.text());
}

/** The Talker's async attempts for a deployment, collected from now on. */
function talkerAttempts(d: Deployment): AsyncAttempt[] {
  const seen: AsyncAttempt[] = [];
  fs.stack.events.on('async-attempt', (e: AsyncAttempt) => {
    if (e.functionName === d.talker) seen.push(e);
  });
  return seen;
}

/** Every end of a Talker run of a deployment from now on: synchronous invocations and async attempts alike. */
function talkerRuns(d: Deployment): Array<{ ok: boolean; errorType?: string; invocation: 'RequestResponse' | 'Event' }> {
  const seen: Array<{ ok: boolean; errorType?: string; invocation: 'RequestResponse' | 'Event' }> = [];
  fs.stack.events.on('invocation', (e: EndEvent) => {
    if (e.functionName === d.talker) seen.push({ ok: e.ok, ...(e.errorType !== undefined && { errorType: e.errorType }), invocation: 'RequestResponse' });
  });
  fs.stack.events.on('async-attempt', (e: AsyncAttempt) => {
    if (e.functionName === d.talker) seen.push({ ok: e.ok, ...(e.errorType !== undefined && { errorType: e.errorType }), invocation: 'Event' });
  });
  return seen;
}

const STACK_EVENTS = ['invocation-start', 'invocation', 'async-attempt', 'async-discarded'];

/** Resolves when `check` holds, looking again each time the stack logs a line or an invocation starts or ends. */
async function until(check: () => boolean, what: string, timeoutMs = 60_000): Promise<void> {
  if (check()) return;
  await new Promise<void>((resolve, reject) => {
    const look = () => {
      if (!check()) return;
      stop();
      resolve();
    };
    // Counters such as refused DynamoDB calls change without an event: look once a second too.
    const safetyNet = setInterval(look, 1000);
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`timed out waiting for ${what}`));
    }, timeoutMs);
    function stop() {
      clearInterval(safetyNet);
      clearTimeout(timer);
      fs.lineEvents.off('line', look);
      for (const name of STACK_EVENTS) fs.stack.events.off(name, look);
    }
    fs.lineEvents.on('line', look);
    for (const name of STACK_EVENTS) fs.stack.events.on(name, look);
  });
}

// Runs only under vitest.faults.config.ts (npm run test:faults, which sets RUN_FAULT_MATRIX=1):
// a guard in case the default config ever includes this folder. CI runs npm run test:faults.
describe.skipIf(!faultsEnabled).concurrent('fault matrix on the local stack', () => {
  it('Main throws: 502 MAIN_ERROR with the RequestID at once; a polling client asking again gets the same answer; Main ran once per request', async () => {
    const d = kit('fthrow');
    const runs = talkerRuns(d);
    const r = await follow(url(d, `boom?fail=1&seconds=1&m=${marker('throw')}`));
    expect(r.statuses).toEqual([502]);
    const error = await kitError(r.body);
    expect(error.code).toBe('MAIN_ERROR');
    expect(r.response.headers.get('x-request-id')).toBe(error.requestId);
    // Nothing lost: the task row holds the outcome until its grace ends.
    const row = await readRow(fs, d.table, error.requestId ?? '');
    expect(row?.['Status']?.S).toBe('FAILED');
    expect(row?.['ErrorKind']?.S).toBe('MAIN_ERROR');
    // A client that polls (respond-async) and asks again after the failure gets the same answer.
    const accepted = await fetch(url(d, `boom?fail=1&seconds=1&m=${marker('throw-async')}`), { redirect: 'manual', headers: { Prefer: 'respond-async' } });
    expect(accepted.status).toBe(202);
    await accepted.arrayBuffer();
    const poll = new URL(accepted.headers.get('location') ?? '', url(d, '')).toString();
    const failed = await fetch(poll, { redirect: 'manual', headers: { Prefer: 'wait=20' } });
    expect(failed.status).toBe(502);
    await failed.arrayBuffer();
    const again = await fetch(poll, { redirect: 'manual' });
    expect(again.status).toBe(502);
    expect((await kitError(again)).code).toBe('MAIN_ERROR');
    expect(runsOf(fs, d.main)).toBe(2);
    // The Talker did not throw, so Lambda did not retry the queued one (a retry would run Main
    // again); the first request's Talker was invoked synchronously, which Lambda never retries.
    await until(() => runs.length >= 2, 'both Talkers to end');
    expect(runs).toEqual([{ ok: true, invocation: 'RequestResponse' }, { ok: true, invocation: 'Event' }]);
    expect(runsOf(fs, d.talker)).toBe(2);
  });

  it('Main times out: 504 MAIN_TIMEOUT soon after Main\'s own timeout (3 s); Main ran once', async () => {
    const d = kit('ftimeout');
    const mainEnded = nextEvent<EndEvent>(fs.stack.events, 'invocation', (e) => e.functionName === d.main);
    const r = await follow(url(d, `slow?seconds=10&m=${marker('timeout')}`));
    expect(r.statuses).toEqual([504]);
    expect((await kitError(r.body)).code).toBe('MAIN_TIMEOUT');
    // Answered in the first window (no 303), not after Main's 10 s.
    expect(r.elapsedMs).toBeGreaterThanOrEqual(3000);
    expect(r.elapsedMs).toBeLessThan(25_000);
    expect(await mainEnded).toMatchObject({ ok: false, timedOut: true, errorType: 'Sandbox.Timedout' });
    expect(runsOf(fs, d.main)).toBe(1);
  });

  it('Main answers {"hello":1}: 502 MALFORMED_RESPONSE, not a broken response; Main ran once', async () => {
    const d = kit('fmalformed');
    const r = await follow(url(d, 'odd?mode=malformed'));
    expect(r.statuses).toEqual([502]);
    const error = await kitError(r.body);
    expect(error.code).toBe('MALFORMED_RESPONSE');
    expect((await readRow(fs, d.table, error.requestId ?? ''))?.['ErrorKind']?.S).toBe('MALFORMED_RESPONSE');
    expect(runsOf(fs, d.main)).toBe(1);
  });

  it('Main answers more than a task row holds (600 kB, incompressible): 502 RESULT_TOO_LARGE naming the size; Main ran once', async () => {
    const d = kit('flarge');
    const r = await follow(url(d, `big?seconds=0&bytes=600000&fill=random&m=${marker('large')}`));
    expect(r.statuses).toEqual([502]);
    const error = await kitError(r.body);
    expect(error.code).toBe('RESULT_TOO_LARGE');
    // SHOW_ERROR_DETAILS is on for this deployment: the message names the sizes.
    const sizes = /Main's response is (\d+) bytes \((\d+) compressed\); a task row holds at most 380000/.exec(error.message);
    expect(sizes, error.message).not.toBeNull();
    expect(Number(sizes?.[1])).toBeGreaterThanOrEqual(600_000);
    expect(Number(sizes?.[2])).toBeGreaterThan(380_000);
    expect(runsOf(fs, d.main)).toBe(1);
  });

  it.each([
    ['behind a REST API', 'fkill'],
    ['behind an HTTP API', 'fhttpkill'],
  ] as const)('the Talker\'s process is killed while Main runs (%s): 504 LOST at the task\'s Deadline, not an endless chain; Main ran once', async (_label, name) => {
    const d = kit(name);
    const mainStarted = nextEvent<StartEvent>(fs.stack.events, 'invocation-start', (e) => e.functionName === d.main);
    const mainEnded = nextEvent<EndEvent>(fs.stack.events, 'invocation', (e) => e.functionName === d.main);
    const queued = name === 'fhttpkill';
    const discarded = queued ? nextEvent<{ functionName: string; attempts: number; reason: string }>(fs.stack.events, 'async-discarded', (e) => e.functionName === d.talker) : undefined;
    // A synchronous Talker's Proxy hears of the kill at once, and waits for the task's Deadline.
    const talkerEnded = queued ? undefined : nextEvent<EndEvent>(fs.stack.events, 'invocation', (e) => e.functionName === d.talker);
    const client = follow(url(d, `work?seconds=15&m=${marker(name)}`));
    await mainStarted;
    expect(fs.stack.ops.killEnvironments(d.talker, 'busy')).toBe(1);
    const r = await client;
    // Deadline = the Talker's start + its timeout (10 s) + 1 s: within the first 25 s window.
    expect(r.statuses).toEqual([504]);
    const error = await kitError(r.body);
    expect(error.code).toBe('LOST');
    expect(r.response.headers.has('apigw-requestid')).toBe(d.state.apiType === 'http');
    expect(r.elapsedMs).toBeGreaterThanOrEqual(10_000);
    expect(r.elapsedMs).toBeLessThan(25_000);
    if (discarded) {
      // The killed queued Talker is not retried (the deploy sets MaximumRetryAttempts 0 on it).
      expect(await discarded).toMatchObject({ attempts: 1, reason: 'RetriesExhausted' });
    } else {
      // The synchronous one ends with Lambda's error for a killed runtime, and nobody retries it.
      expect(await talkerEnded).toMatchObject({ ok: false, errorType: 'Runtime.ExitError' });
    }
    expect(runsOf(fs, d.talker)).toBe(1);
    // Main runs to its end, once; nobody records its answer, and the task stays failed.
    expect(await mainEnded).toMatchObject({ ok: true });
    expect(runsOf(fs, d.main)).toBe(1);
    expect((await readRow(fs, d.table, error.requestId ?? ''))?.['ErrorKind']?.S).toBe('LOST');
  });

  it.each([
    ['connection errors', 'fddbreset', 'reset'],
    ['503 answers', 'fddbunavail', 'unavailable'],
  ] as const)('DynamoDB stopped mid-chain (%s) and started again: 503 with Retry-After meanwhile, then the result; Main ran once', async (_label, name, mode) => {
    const d = kit(name);
    const m = marker(name);
    const runs = talkerRuns(d);
    const mainEnded = nextEvent<EndEvent>(fs.stack.events, 'invocation', (e) => e.functionName === d.main);
    const first = await fetch(url(d, `job?seconds=6&m=${m}`), { redirect: 'manual' });
    expect(first.status).toBe(303);
    await first.arrayBuffer();
    const continuation = new URL(first.headers.get('location') ?? '', url(d, '')).toString();

    fs.stack.ops.stopDynamoDb({ mode, tables: [d.table] });
    let retryAt: string | undefined;
    try {
      const during = await fetch(continuation, { redirect: 'manual' });
      expect(during.status).toBe(503);
      expect(during.headers.get('retry-after')).toBe('5');
      expect((await kitError(during)).code).toBe('SERVICE_UNAVAILABLE');
      retryAt = new URL(during.headers.get('location') ?? '', continuation).toString();
      // Main answers while the table is down; the Talker keeps its answer and retries the write.
      expect(await mainEnded).toMatchObject({ ok: true });
      const refusedAtMainEnd = fs.stack.ops.stats().dynamodb.refused;
      await until(() => fs.stack.ops.stats().dynamodb.refused > refusedAtMainEnd, 'a refused write of the Talker');
      const still = await fetch(retryAt ?? continuation, { redirect: 'manual' });
      expect(still.status).toBe(503);
      await still.arrayBuffer();
      expect(runs).toEqual([]);
    } finally {
      fs.stack.ops.startDynamoDb([d.table]);
    }
    await until(() => runs.length > 0, 'the Talker to finish');
    expect(runs[0]).toMatchObject({ ok: true });
    expect(jsonLogs(fs, d.talker).filter((l) => l['message'] === 'talker finished').map((l) => l['outcome'])).toEqual(['CREATED']);
    const r = await follow(retryAt ?? continuation, {}, 5);
    expect(r.response.status).toBe(200);
    expect(echoedMarker(r.body)).toBe(m);
    expect(runsOf(fs, d.main)).toBe(1);
    expect(jsonLogs(fs, d.talker).filter((l) => l['message'] === 'talker finished').map((l) => l['outcome'])).toEqual(['CREATED']);
  });

  it('the same async event delivered twice (at once): Main runs once, the second Talker does nothing, the result is served', async () => {
    const d = kit('fdup');
    const m = marker('dup');
    const requestId = randomUUID();
    const token = newLinkToken();
    const now = Date.now();
    // The task row as the Proxy writes it, and the Talker's payload {requestId, event}.
    await fs.dynamodb.send(new PutItemCommand({
      TableName: d.table,
      Item: {
        RequestID: { S: requestId }, Status: { S: 'PENDING' }, CreatedAt: { N: String(now) }, UpdatedAt: { N: String(now) },
        PendingDeadline: { N: String(now + 300_000) }, ExpiresAt: { N: String(Math.floor(now / 1000) + 3600) },
        TokenHashes: { SS: [hashLinkToken(token)] },
      },
    }));
    const event = {
      resource: '/{proxy+}', path: '/dup', httpMethod: 'GET',
      headers: { Accept: 'application/json' }, multiValueHeaders: { Accept: ['application/json'] },
      queryStringParameters: { seconds: '2', m }, multiValueQueryStringParameters: { seconds: ['2'], m: [m] },
      pathParameters: { proxy: 'dup' }, stageVariables: null, body: null, isBase64Encoded: false,
      requestContext: {
        resourcePath: '/{proxy+}', httpMethod: 'GET', path: '/dev/dup', stage: 'dev', requestId: randomUUID(),
        requestTimeEpoch: now, accountId: '000000000000', apiId: d.state.apiId, protocol: 'HTTP/1.1', identity: { sourceIp: '127.0.0.1' },
      },
    };
    const payload = JSON.stringify({ requestId, event });
    const link = `?requestID=${requestId}&token=${token}`;
    const attempts = talkerAttempts(d);
    await Promise.all([1, 2].map(() => fs.lambda.send(new InvokeCommand({ FunctionName: d.talker, InvocationType: 'Event', Payload: payload }))));
    await until(() => attempts.length === 2, 'both deliveries');
    expect(attempts.map((a) => a.ok)).toEqual([true, true]);
    const outcomes = jsonLogs(fs, d.talker).filter((l) => l['requestId'] === requestId).map((l) => `${l['message']}:${l['outcome']}`).sort();
    expect(outcomes).toEqual(['talker finished:CREATED', 'talker skipped:SKIPPED']);
    expect(runsOf(fs, d.main)).toBe(1);
    const r = await follow(url(d, link));
    expect(r.response.status).toBe(200);
    expect(echoedMarker(r.body)).toBe(m);
  });

  it('the client hangs up in the middle of a hop and opens the continuation URL later: it gets the result; Main ran once', async () => {
    const d = kit('fdisc');
    const m = marker('disc');
    // Main runs 12 s, the window is 2 s: the abandoned hop surely ends with a 303 into the void.
    const first = await fetch(url(d, `job?seconds=12&m=${m}`), { redirect: 'manual' });
    expect(first.status).toBe(303);
    await first.arrayBuffer();
    const continuation = new URL(first.headers.get('location') ?? '', url(d, '')).toString();
    const proxyEnds: EndEvent[] = [];
    fs.stack.events.on('invocation', (e: EndEvent) => {
      if (e.functionName === d.proxy) proxyEnds.push(e);
    });
    const proxyStarted = nextEvent<StartEvent>(fs.stack.events, 'invocation-start', (e) => e.functionName === d.proxy);
    const hangUp = new AbortController();
    const abandoned = fetch(continuation, { redirect: 'manual', signal: hangUp.signal }).catch((e: Error) => e);
    const hop = await proxyStarted;
    hangUp.abort();
    expect(await abandoned).toMatchObject({ name: 'AbortError' });
    // The Proxy finishes that hop for nobody (a 303 into the void) ...
    await until(() => proxyEnds.some((e) => e.requestId === hop.requestId), 'the abandoned hop to end');
    // ... and later the client comes back with the URL it had.
    const r = await follow(continuation);
    expect(r.response.status).toBe(200);
    expect(echoedMarker(r.body)).toBe(m);
    expect(r.statuses[0]).toBe(303);
    expect(runsOf(fs, d.main)).toBe(1);
  });

  it('the client hangs up in the hop that delivers the result: the result stays readable for RESULT_GRACE_SECONDS; Main ran once', async () => {
    const d = kit('fdisclast');
    const m = marker('disclast');
    // A 1 s first window (Prefer: wait=1), then a continuation with the full 25 s window, in which
    // Main (4 s) surely ends.
    const first = await fetch(url(d, `job?seconds=4&m=${m}`), { redirect: 'manual', headers: { Prefer: 'wait=1' } });
    expect(first.status).toBe(303);
    await first.arrayBuffer();
    const continuation = new URL(first.headers.get('location') ?? '', url(d, '')).toString();
    const proxyStarted = nextEvent<StartEvent>(fs.stack.events, 'invocation-start', (e) => e.functionName === d.proxy);
    const hangUp = new AbortController();
    const abandoned = fetch(continuation, { redirect: 'manual', signal: hangUp.signal }).catch((e: Error) => e);
    await proxyStarted;
    hangUp.abort();
    await abandoned;
    // The Proxy delivers the result to nobody and retires the task (kept for the grace period).
    await until(() => jsonLogs(fs, d.proxy).some((l) => l['message'] === 'result delivered'), 'the delivery to nobody');
    const r = await follow(continuation);
    expect(r.statuses).toEqual([200]);
    expect(echoedMarker(r.body)).toBe(m);
    expect(runsOf(fs, d.main)).toBe(1);
  });

  it('two clients poll the same task: both get the result; after RESULT_GRACE_SECONDS (3 s) it is 404; Main ran once', async () => {
    const d = kit('ftwo');
    const m = marker('two');
    const first = await fetch(url(d, `job?seconds=4&m=${m}`), { redirect: 'manual' });
    expect(first.status).toBe(303);
    await first.arrayBuffer();
    const continuation = new URL(first.headers.get('location') ?? '', url(d, '')).toString();
    let deliveredAt = Infinity;
    const poll = () => follow(continuation).then((r) => {
      deliveredAt = Math.min(deliveredAt, Date.now());
      return r;
    });
    const [a, b] = await Promise.all([poll(), poll()]);
    for (const r of [a, b]) {
      expect(r.response.status).toBe(200);
      expect(echoedMarker(r.body)).toBe(m);
    }
    // The very same response (Main ran once: the same awsRequestId).
    expect(a.body).toBe(b.body);
    // Documented: a delivered result stays readable RESULT_GRACE_SECONDS for a retried GET, then 404.
    const seen: number[] = [];
    for (;;) {
      const again = await fetch(continuation, { redirect: 'manual' });
      const text = await again.text();
      seen.push(again.status);
      if (again.status === 404) {
        expect((await kitError(text)).code).toBe('NOT_FOUND');
        break;
      }
      expect(again.status).toBe(200);
      expect(text).toBe(a.body);
      expect(Date.now() - deliveredAt).toBeLessThan(6000);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const goneAfter = Date.now() - deliveredAt;
    // ExpiresAt has whole seconds: the row goes between 2 and 3 s after it was retired.
    expect(goneAfter).toBeGreaterThanOrEqual(1500);
    expect(seen.slice(0, -1).every((s) => s === 200)).toBe(true);
    expect(runsOf(fs, d.main)).toBe(1);
    expect(jsonLogs(fs, d.proxy).filter((l) => l['message'] === 'result delivered').length).toBeGreaterThanOrEqual(2);
  });
});
