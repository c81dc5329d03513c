/**
 * The fault matrix, part 3: calls that hang and answers that are lost, through the kit deployed
 * on the local stack from its zips. The faults come from the stack's hooks (local/faults.ts): a
 * DynamoDB endpoint that reads requests and never answers, DynamoDB writes applied whose answers
 * are lost (so the SDK retries them), a hung Lambda Invoke, and an Event invoke accepted whose
 * answer is lost (so it is delivered twice).
 *
 * Every case states three things:
 * - each answer arrives before API Gateway's 29 s cut-off, and is the kit's (never the
 *   gateway's bare 504, which would lose the continuation);
 * - nothing is lost: the client ends with Main's answer (its marker echoed);
 * - Main ran once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  deployAll, echoedMarker, faultsEnabled, jsonLogs, kitErrorOf, marker, nextEvent, runsOf, startFaultStack, urlOf,
  type AsyncAttempt, type Deployment, type EndEvent, type FaultStack, type StartEvent,
} from './support';

/** API Gateway's integration timeout in the local stack, as on AWS. */
const CUTOFF_MS = 29_000;

let fs: FaultStack;
let kit: (name: string) => Deployment;

const DEPLOYMENTS: Record<string, string[]> = {
  hfirst: [],
  hmid: ['--wait-seconds', '2'],
  hlost: ['--wait-seconds', '20'],
  hlostfail: ['--wait-seconds', '20'],
  hlostkill: ['--talker-timeout', '10'],
  hinvoke: [],
  // The queued Talker's duplicate delivery: the Proxy invokes it with Event.
  hdup: ['--proxy-env', 'TALKER_INVOCATION_TYPE=Event'],
  hdupsync: [],
};

beforeAll(async () => {
  if (!faultsEnabled) return;
  fs = await startFaultStack();
  kit = await deployAll(fs, DEPLOYMENTS);
}, 180_000);

afterAll(async () => {
  await fs?.stop();
});

const url = urlOf;
const kitError = kitErrorOf;
const echoed = echoedMarker;

/** One exchange: its answer, its body and how long it took. */
interface Exchange {
  response: Response;
  body: string;
  elapsedMs: number;
}

/**
 * One HTTP exchange, checked: it answered before the cut-off, with an answer of the kit (its
 * `X-Request-Id`, or an error of its own shape) or of Main.
 */
async function exchange(target: string, init: RequestInit = {}): Promise<Exchange> {
  const started = Date.now();
  const response = await fetch(target, { ...init, redirect: 'manual' });
  const body = await response.text();
  const elapsedMs = Date.now() - started;
  expect(elapsedMs, `${init.method ?? 'GET'} ${target} answered after ${elapsedMs} ms`).toBeLessThan(CUTOFF_MS);
  // API Gateway's own 504 is {"message":"Endpoint request timed out"}, without the kit's headers.
  expect(body, `API Gateway's own answer for ${target}`).not.toContain('Endpoint request timed out');
  return { response, body, elapsedMs };
}

/** Follows the kit's 303s (and waits out 503s with a Location) to the final answer, each exchange checked. */
async function settle(first: Exchange, from: string, init: RequestInit = {}): Promise<Exchange> {
  let current = first;
  let at = from;
  for (let hops = 0; hops < 60; hops += 1) {
    const status = current.response.status;
    const location = current.response.headers.get('location');
    if (!(status === 303 || (status === 503 && location))) return current;
    at = new URL(location ?? '', at).toString();
    if (status === 503) await new Promise((resolve) => setTimeout(resolve, 1000));
    current = await exchange(at, init.headers ? { headers: init.headers } : {});
  }
  throw new Error(`no final answer after 60 hops from ${from}`);
}

function lostSoFar(): number {
  return fs.stack.ops.stats().dynamodb.answersLost;
}

// Runs only under vitest.faults.config.ts (npm run test:faults, which sets RUN_FAULT_MATRIX=1).
describe.skipIf(!faultsEnabled).concurrent('hung calls and lost answers', () => {
  it('a table that hangs at the first write: 503 with Retry-After before the cut-off; the same request again, with its key, runs Main once', async () => {
    const d = kit('hfirst');
    const m = marker('hfirst');
    const target = url(d, `orders?seconds=1&m=${m}`);
    const init = { method: 'POST', body: '{"order":1}', headers: { 'Idempotency-Key': `key-${m}`, 'Content-Type': 'application/json', Authorization: `Bearer ${m}` } };
    fs.stack.ops.stopDynamoDb({ mode: 'hang', tables: [d.table] });
    let refused: Exchange;
    try {
      refused = await exchange(target, init);
    } finally {
      fs.stack.ops.startDynamoDb([d.table]);
    }
    expect(refused.response.status).toBe(503);
    expect(refused.response.headers.get('retry-after')).toBe('5');
    expect(kitError(refused.body).code).toBe('SERVICE_UNAVAILABLE');
    const done = await settle(await exchange(target, init), target);
    expect(done.response.status).toBe(200);
    expect(echoed(done.body)).toBe(m);
    expect(runsOf(fs, d.main)).toBe(1);
  });

  it('a table that hangs in the middle of a hop: the next continuation before the cut-off, then the result; Main ran once', async () => {
    const d = kit('hmid');
    const m = marker('hmid');
    const target = url(d, `report?seconds=8&m=${m}`);
    const first = await exchange(target);
    expect(first.response.status).toBe(303);
    const continuation = new URL(first.response.headers.get('location') ?? '', target).toString();
    const proxyStarted = nextEvent<StartEvent>(fs.stack.events, 'invocation-start', (e) => e.functionName === d.proxy);
    const held = nextEvent<{ action: string; target: string }>(fs.stack.events, 'fault', (e) => e.action === 'held' && e.target === d.table);
    fs.stack.ops.stopDynamoDb({ mode: 'hang', tables: [d.table] });
    let during: Exchange;
    try {
      const hop = exchange(continuation);
      await proxyStarted;
      await held;
      during = await hop;
    } finally {
      fs.stack.ops.startDynamoDb([d.table]);
    }
    // The read hung: the Proxy cannot tell how the task is doing, so it gives the next hop.
    expect([303, 503]).toContain(during.response.status);
    expect(during.response.headers.get('location')).toContain('token=');
    const done = await settle(during, continuation);
    expect(done.response.status).toBe(200);
    expect(echoed(done.body)).toBe(m);
    expect(runsOf(fs, d.main)).toBe(1);
  });

  it('every conditional write of a request loses its answer once (task, key, claim, completion, retirement, a joining link): the SDK\'s retries are recognised; Main ran once', async () => {
    const d = kit('hlost');
    const m = marker('hlost');
    const tables = [d.table];
    const faults: Array<[string, string]> = [
      ['PutItem', '"TokenHashes"'], // the task
      ['PutItem', 'idempotency#'], // the key's reservation
      ['UpdateItem', '":pending"'], // the Talker's claim
      ['UpdateItem', '":created"'], // the Talker's completion
      ['UpdateItem', '":expiresAt"'], // the retirement after delivery (a grace period)
      ['UpdateItem', '":hash"'], // the link token of the repeat that joins
    ];
    const before = lostSoFar();
    for (const [operation, match] of faults) fs.stack.ops.dynamoDbFault({ drop: 'after-apply', operations: [operation], count: 1, tables, match });
    const target = url(d, `pay?seconds=2&m=${m}`);
    const init = { method: 'POST', body: '{"amount":5}', headers: { 'Idempotency-Key': `key-${m}`, Authorization: `Bearer ${m}` } };
    const done = await settle(await exchange(target, init), target);
    expect(done.response.status).toBe(200);
    expect(echoed(done.body)).toBe(m);
    // The repeat joins the task (its answer was delivered, and is kept for the grace period).
    const repeat = await settle(await exchange(target, init), target);
    expect(repeat.response.status).toBe(200);
    expect(repeat.body).toBe(done.body);
    expect(fs.stack.ops.stats().dynamodb.faults.filter((f) => f.tables?.includes(d.table))).toEqual([]);
    expect(lostSoFar() - before).toBeGreaterThanOrEqual(faults.length);
    expect(runsOf(fs, d.main)).toBe(1);
    expect(jsonLogs(fs, d.talker).filter((l) => l['message'] === 'talker finished').map((l) => l['outcome'])).toEqual(['CREATED']);
  });

  it('the Talker\'s failure record loses its answer: 502 MAIN_ERROR, not a lost task; Main ran once', async () => {
    const d = kit('hlostfail');
    const m = marker('hlostfail');
    fs.stack.ops.dynamoDbFault({ drop: 'after-apply', operations: ['UpdateItem'], count: 1, tables: [d.table], match: '":failed"' });
    // The Proxy may read the FAILED status before the Talker, retrying its write, has logged.
    const talkerDone = nextEvent<EndEvent>(fs.stack.events, 'invocation', (e) => e.functionName === d.talker);
    const target = url(d, `boom?fail=1&seconds=1&m=${m}`);
    const failed = await settle(await exchange(target), target);
    await talkerDone;
    expect(failed.response.status).toBe(502);
    expect(kitError(failed.body).code).toBe('MAIN_ERROR');
    expect(fs.stack.ops.stats().dynamodb.faults.filter((f) => f.tables?.includes(d.table))).toEqual([]);
    expect(jsonLogs(fs, d.talker).filter((l) => l['message'] === 'talker finished').map((l) => l['outcome'])).toEqual(['FAILED']);
    expect(runsOf(fs, d.main)).toBe(1);
  });

  it('the Proxy\'s LOST verdict loses its answer (the Talker was killed): 504 LOST at the deadline; Main ran once', async () => {
    const d = kit('hlostkill');
    const m = marker('hlostkill');
    const mainStarted = nextEvent<StartEvent>(fs.stack.events, 'invocation-start', (e) => e.functionName === d.main);
    const mainEnded = nextEvent<EndEvent>(fs.stack.events, 'invocation', (e) => e.functionName === d.main);
    const target = url(d, `work?seconds=15&m=${m}`);
    const pending = exchange(target);
    await mainStarted;
    // The next failure record on this table is the Proxy's LOST verdict.
    fs.stack.ops.dynamoDbFault({ drop: 'after-apply', operations: ['UpdateItem'], count: 1, tables: [d.table], match: '":failed"' });
    expect(fs.stack.ops.killEnvironments(d.talker, 'busy')).toBe(1);
    const lost = await settle(await pending, target);
    expect(lost.response.status).toBe(504);
    expect(kitError(lost.body).code).toBe('LOST');
    expect(fs.stack.ops.stats().dynamodb.faults.filter((f) => f.tables?.includes(d.table))).toEqual([]);
    expect(await mainEnded).toMatchObject({ ok: true });
    expect(runsOf(fs, d.main)).toBe(1);
  });

  it('a hung Talker invoke: 503 with Retry-After before the cut-off, the task withdrawn and the key released (their answers lost too); the retry runs Main once', async () => {
    const d = kit('hinvoke');
    const m = marker('hinvoke');
    const target = url(d, `orders?seconds=1&m=${m}`);
    const init = { method: 'POST', body: '{"order":2}', headers: { 'Idempotency-Key': `key-${m}`, Authorization: `Bearer ${m}` } };
    await fetch(`${fs.stack.url}/_local/ops/lambda/${d.talker}/faults`, { method: 'POST', body: JSON.stringify({ hang: true }) });
    // The withdrawal (the task becomes ABANDONED) and the key's release each lose their answer once.
    fs.stack.ops.dynamoDbFault({ drop: 'after-apply', operations: ['UpdateItem'], count: 1, tables: [d.table], match: '":abandoned"' });
    fs.stack.ops.dynamoDbFault({ drop: 'after-apply', operations: ['DeleteItem'], count: 1, tables: [d.table], match: 'idempotency#' });
    let refused: Exchange;
    try {
      refused = await exchange(target, init);
    } finally {
      await fetch(`${fs.stack.url}/_local/ops/lambda/${d.talker}/faults`, { method: 'POST', body: JSON.stringify({ clear: true }) });
    }
    expect(refused.response.status).toBe(503);
    expect(refused.response.headers.get('retry-after')).toBe('5');
    expect(kitError(refused.body).code).toBe('SERVICE_UNAVAILABLE');
    expect(fs.stack.ops.stats().dynamodb.faults.filter((f) => f.tables?.includes(d.table))).toEqual([]);
    expect(runsOf(fs, d.talker)).toBe(0);
    const done = await settle(await exchange(target, init), target);
    expect(done.response.status).toBe(200);
    expect(echoed(done.body)).toBe(m);
    expect(runsOf(fs, d.main)).toBe(1);
  });

  it('an Event invoke of the Talker accepted but unanswered, so delivered twice: the second Talker does nothing; Main ran once', async () => {
    const d = kit('hdup');
    const m = marker('hdup');
    const attempts: AsyncAttempt[] = [];
    fs.stack.events.on('async-attempt', (e: AsyncAttempt) => {
      if (e.functionName === d.talker) attempts.push(e);
    });
    await fetch(`${fs.stack.url}/_local/ops/lambda/${d.talker}/faults`, { method: 'POST', body: JSON.stringify({ drop: 'after-accept', count: 1 }) });
    const target = url(d, `job?seconds=2&m=${m}`);
    const done = await settle(await exchange(target), target);
    expect(done.response.status).toBe(200);
    expect(echoed(done.body)).toBe(m);
    const second = attempts.length >= 2 ? undefined : nextEvent<AsyncAttempt>(fs.stack.events, 'async-attempt', (e) => e.functionName === d.talker);
    await second;
    expect(attempts.map((a) => a.ok)).toEqual([true, true]);
    expect(jsonLogs(fs, d.talker).map((l) => `${l['message']}:${l['outcome']}`).filter((s) => s.startsWith('talker')).sort()).toEqual(['talker finished:CREATED', 'talker skipped:SKIPPED']);
    expect(runsOf(fs, d.main)).toBe(1);
  });

  it('a synchronous invoke of the Talker whose answer is lost: the SDK\'s retry starts a second Talker, which does nothing; the Proxy reads the result from the table; Main ran once', async () => {
    const d = kit('hdupsync');
    const m = marker('hdupsync');
    const ends: EndEvent[] = [];
    fs.stack.events.on('invocation', (e: EndEvent) => {
      if (e.functionName === d.talker) ends.push(e);
    });
    // The first invoke runs the Talker to its end, then its HTTP answer is dropped.
    await fetch(`${fs.stack.url}/_local/ops/lambda/${d.talker}/faults`, { method: 'POST', body: JSON.stringify({ drop: 'after-accept', count: 1 }) });
    const target = url(d, `job?seconds=2&m=${m}`);
    const done = await settle(await exchange(target), target);
    expect(done.response.status).toBe(200);
    expect(echoed(done.body)).toBe(m);
    expect(jsonLogs(fs, d.talker).map((l) => `${l['message']}:${l['outcome']}`).filter((s) => s.startsWith('talker')).sort()).toEqual(['talker finished:CREATED', 'talker skipped:SKIPPED']);
    expect(runsOf(fs, d.talker)).toBe(2);
    expect(runsOf(fs, d.main)).toBe(1);
    // The Proxy's wait after the second Talker's empty answer: the result came from the table.
    const delivered = jsonLogs(fs, d.proxy).filter((l) => l['message'] === 'result delivered');
    expect(delivered.map((l) => l['source'])).toEqual(['table']);
    expect(ends.length).toBe(2);
  });
});
