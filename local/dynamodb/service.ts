/**
 * DynamoDB for the local stack: dynalite, in memory or on disk, called in
 * process; the time-to-live calls that dynalite lacks are answered here.
 */
import type { IncomingMessage, ServerResponse, Server } from 'node:http';
import type { EventEmitter } from 'node:events';
import { Readable } from 'node:stream';
import { createRequire } from 'node:module';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { AnswersInFlight, credentialScope, readBody, regionOf, send } from '../http';
import { BodyTooLargeError } from '../errors';
import { DynamoDbFaults, HeldRequests, loseAnswer, type DynamoDbDropFault, type FaultEvent, type PendingDynamoDbFault } from '../faults';
import { DYNAMODB_CONTENT_TYPE, sendDynamoDbError, sendDynamoDbJson } from './errors';

const require = createRequire(import.meta.url);

type DynaliteFactory = (options: Record<string, unknown>) => Server;
type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;

/** Options of the DynamoDB service. */
export interface DynamoDbOptions {
  /** Directory for a persistent store; in memory when absent. */
  dataDir?: string;
  /** Receives `fault` ({@link FaultEvent}) when a test hook holds a request or loses an answer. */
  events?: EventEmitter;
  /** Region of a request whose signature names none (default us-east-1). */
  defaultRegion?: string;
  /**
   * Checks a call against the caller's role: its access key, the action (`dynamodb:GetItem`),
   * the resource's ARN tail (`table/NAME`, `table/NAME/index/INDEX`, or `*`) and the region the
   * request was signed for (the ARN is `arn:aws:dynamodb:REGION:ACCOUNT:TAIL`); returns
   * AccessDeniedException's message when it is refused.
   */
  authorize?: (accessKeyId: string | undefined, action: string, resource: string, region: string) => string | undefined;
}

/**
 * Test/ops hook: how a stopped DynamoDB endpoint answers. `reset` closes the
 * connection without an answer (what a client of a stopped endpoint sees:
 * a connection error); `unavailable` answers HTTP 503 `ServiceUnavailable`;
 * `hang` reads each request and never answers it (a hung endpoint): the
 * request is not applied, and its connection stays open until the client
 * gives up or the endpoint is started again (which closes it).
 */
export type DynamoDbOutageMode = 'reset' | 'unavailable' | 'hang';

/** Test/ops hook: a stop of the DynamoDB endpoint (the data is kept). */
export interface DynamoDbOutage {
  /** How requests are refused (default `reset`). */
  mode?: DynamoDbOutageMode;
  /** Refuse only requests naming these tables (default: every request). */
  tables?: string[];
}

/** Test/ops hook: DynamoDB requests counted since the stack started. */
export interface DynamoDbStats {
  /** Requests by table, then by operation (`GetItem`, `PutItem`, ...); `*` for calls naming no single table. */
  operations: Record<string, Record<string, number>>;
  /** Requests refused by the current or past outages (held ones included). */
  refused: number;
  /** The outages in force: mode by table, `*` for every table. */
  outages: Record<string, DynamoDbOutageMode>;
  /** Requests held open now by a `hang` outage. */
  held: number;
  /** Drop faults still pending (`POST /_local/ops/dynamodb/faults`). */
  faults: PendingDynamoDbFault[];
  /** Requests applied whose answer a drop fault lost, so far. */
  answersLost: number;
}

/** The DynamoDB service of the stack. */
export interface DynamoDbService {
  /** Answers one DynamoDB JSON-1.0 request. */
  handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
  /** Test/ops hook: stops answering (connection errors or 503) until {@link DynamoDbService.start}; the data is kept. */
  stop(outage?: DynamoDbOutage): void;
  /**
   * Test/ops hook: answers again after {@link DynamoDbService.stop}.
   * @param tables the tables to answer for again (default: all, ending every outage)
   */
  start(tables?: string[]): void;
  /**
   * Test/ops hook: the next `count` requests of these operations (and tables) are applied,
   * then their connections closed without an answer.
   * @param fault the fault
   */
  addFault(fault: DynamoDbDropFault): void;
  /** Test/ops hook: removes every pending drop fault. */
  clearFaults(): void;
  /** Test/ops hook: request counts, the outage in force and the pending faults. */
  stats(): DynamoDbStats;
  /** Closes the store, once the requests dynalite is working on are answered. */
  close(): Promise<void>;
}

interface TtlRecord {
  enabled: boolean;
  attributeName: string;
}

const MAX_BODY = 16 * 1024 * 1024;

/**
 * Starts dynalite (tables are ACTIVE at once) and returns the service.
 * @param options where to keep the data
 */
export async function startDynamoDb(options: DynamoDbOptions = {}): Promise<DynamoDbService> {
  const dynalite = require('dynalite') as DynaliteFactory;
  const dbDir = options.dataDir ? join(options.dataDir, 'dynamodb') : undefined;
  if (dbDir) mkdirSync(dbDir, { recursive: true });
  const server = dynalite({
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
    ...(dbDir ? { path: dbDir } : {}),
  });
  // Listening (loopback, any port) only so that dynalite's close() closes its store.
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const internalUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  const listener = server.listeners('request')[0] as RequestListener;
  // what dynalite has been handed and not answered: close() waits for it
  const inFlight = new AnswersInFlight();

  const ttlFile = options.dataDir ? join(options.dataDir, 'dynamodb-ttl.json') : undefined;
  const ttl = new Map<string, TtlRecord>(
    ttlFile && existsSync(ttlFile) ? Object.entries(JSON.parse(readFileSync(ttlFile, 'utf8')) as Record<string, TtlRecord>) : [],
  );
  const saveTtl = (): void => {
    if (ttlFile) writeFileSync(ttlFile, JSON.stringify(Object.fromEntries(ttl)));
  };

  /** Asks dynalite whether a table exists; answers the error itself when not. */
  async function tableExists(name: string, req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    const answer = await fetch(internalUrl, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/x-amz-json-1.0',
        'X-Amz-Target': 'DynamoDB_20120810.DescribeTable',
        Authorization: req.headers.authorization ?? 'AWS4-HMAC-SHA256 Credential=test/20200101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0',
        'X-Amz-Date': '20200101T000000Z',
      },
      body: JSON.stringify({ TableName: name }),
    });
    if (answer.ok) return true;
    send(res, answer.status, { 'Content-Type': DYNAMODB_CONTENT_TYPE }, Buffer.from(await answer.arrayBuffer()));
    return false;
  }

  async function ttlCall(op: string, body: Buffer, req: IncomingMessage, res: ServerResponse): Promise<void> {
    let data: { TableName?: unknown; TimeToLiveSpecification?: { Enabled?: unknown; AttributeName?: unknown } };
    try {
      data = JSON.parse(body.toString('utf8')) as typeof data;
    } catch {
      sendDynamoDbError(res, 'SERIALIZATION');
      return;
    }
    const table = data?.TableName;
    if (typeof table !== 'string' || table.length < 3) {
      sendDynamoDbError(res, 'VALIDATION', "1 validation error detected: Value null at 'tableName' failed to satisfy constraint: Member must not be null");
      return;
    }
    if (op === 'UpdateTimeToLive') {
      const spec = data.TimeToLiveSpecification;
      if (!spec || typeof spec.Enabled !== 'boolean' || typeof spec.AttributeName !== 'string' || !spec.AttributeName) {
        sendDynamoDbError(res, 'VALIDATION', "1 validation error detected: Value null at 'timeToLiveSpecification' failed to satisfy constraint: Member must not be null");
        return;
      }
      if (!(await tableExists(table, req, res))) return;
      const current = ttl.get(table);
      if (spec.Enabled && current?.enabled) {
        sendDynamoDbError(res, 'VALIDATION', 'TimeToLive is already enabled');
        return;
      }
      if (!spec.Enabled && !current?.enabled) {
        sendDynamoDbError(res, 'VALIDATION', 'TimeToLive is already disabled');
        return;
      }
      ttl.set(table, { enabled: spec.Enabled, attributeName: spec.AttributeName });
      saveTtl();
      sendDynamoDbJson(res, 200, { TimeToLiveSpecification: { Enabled: spec.Enabled, AttributeName: spec.AttributeName } });
      return;
    }
    if (!(await tableExists(table, req, res))) return;
    const record = ttl.get(table);
    sendDynamoDbJson(res, 200, {
      TimeToLiveDescription: record?.enabled
        ? { TimeToLiveStatus: 'ENABLED', AttributeName: record.attributeName }
        : { TimeToLiveStatus: 'DISABLED' },
    });
  }

  const operations = new Map<string, Map<string, number>>();
  let refused = 0;
  // Outages by table ('*': every table); several tests may each stop their own table.
  const outages = new Map<string, DynamoDbOutageMode>();
  const held = new HeldRequests();
  const faults = new DynamoDbFaults();

  /** The table a request names (`*` for batch calls or an unreadable body). */
  /** Every table a request names: TableName, and the tables of batch and transaction requests. */
  /**
   * The IAM checks a request needs, each an action and the resource's ARN tail (`table/T`,
   * `table/T/index/I`, or `*` for calls on no table), as AWS's Service Authorization Reference
   * lists them for DynamoDB: a Query or Scan of an index is checked on the index; a transaction
   * is checked item by item with the item's own action (there is no TransactWriteItems action);
   * a batch is checked on each table; ListTables and the like on `*`. A body that does not
   * parse is checked on `*`, so that a function session cannot pass unchecked.
   */
  function checksOf(op: string, body: Buffer): Array<{ action: string; resource: string }> {
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
    } catch {
      return [{ action: `dynamodb:${op}`, resource: '*' }];
    }
    const checks = new Map<string, { action: string; resource: string }>();
    const add = (action: string, resource: string): void => {
      checks.set(`${action} ${resource}`, { action: `dynamodb:${action}`, resource });
    };
    const table = typeof parsed['TableName'] === 'string' ? parsed['TableName'] : undefined;
    const index = typeof parsed['IndexName'] === 'string' ? parsed['IndexName'] : undefined;
    if (table !== undefined) add(op, index !== undefined && (op === 'Query' || op === 'Scan') ? `table/${table}/index/${index}` : `table/${table}`);
    if (typeof parsed['RequestItems'] === 'object' && parsed['RequestItems'] !== null) for (const name of Object.keys(parsed['RequestItems'])) add(op, `table/${name}`);
    const itemActions: Record<string, string> = { Put: 'PutItem', Update: 'UpdateItem', Delete: 'DeleteItem', ConditionCheck: 'ConditionCheckItem', Get: 'GetItem' };
    for (const item of Array.isArray(parsed['TransactItems']) ? parsed['TransactItems'] : []) {
      for (const [kind, part] of Object.entries((item ?? {}) as Record<string, { TableName?: unknown }>)) {
        const action = itemActions[kind];
        if (action !== undefined && typeof part?.TableName === 'string') add(action, `table/${part.TableName}`);
      }
    }
    if (checks.size === 0) add(op, '*');
    return [...checks.values()];
  }

  function tableOf(body: Buffer): string {
    try {
      const name = (JSON.parse(body.toString('utf8')) as { TableName?: unknown }).TableName;
      return typeof name === 'string' ? name : '*';
    } catch {
      return '*';
    }
  }

  return {
    stop(options = {}) {
      const mode = options.mode ?? 'reset';
      for (const table of options.tables?.length ? options.tables : ['*']) outages.set(table, mode);
    },
    start(tables) {
      if (!tables?.length) {
        outages.clear();
        held.release();
      } else {
        for (const table of tables) outages.delete(table);
        held.release(tables);
      }
    },
    addFault(fault) {
      faults.add(fault);
    },
    clearFaults() {
      faults.clear();
    },
    stats() {
      const ops: Record<string, Record<string, number>> = {};
      for (const [table, byOp] of operations) ops[table] = Object.fromEntries(byOp);
      return { operations: ops, refused, outages: Object.fromEntries(outages), held: held.count(), faults: faults.pending(), answersLost: faults.answersLost };
    },
    async handle(req, res) {
      let body: Buffer;
      try {
        body = await readBody(req, MAX_BODY);
      } catch (err) {
        if (err instanceof BodyTooLargeError) {
          sendDynamoDbError(res, 'REQUEST_TOO_LARGE');
          return;
        }
        throw err;
      }
      const op = String(req.headers['x-amz-target'] ?? '').split('.')[1] ?? '';
      const table = tableOf(body);
      if (options.authorize) {
        const accessKeyId = credentialScope(req)?.accessKeyId;
        // A table lives in the region its endpoint serves, which a SigV4 request names in its
        // credential scope: a client for eu-west-1 reads eu-west-1's tables.
        const region = regionOf(req, options.defaultRegion ?? 'us-east-1');
        for (const check of checksOf(op, body)) {
          const denied = options.authorize(accessKeyId, check.action, check.resource, region);
          if (denied !== undefined) {
            sendDynamoDbError(res, 'ACCESS_DENIED', denied);
            return;
          }
        }
      }
      const refusal = outages.get(table) ?? outages.get('*');
      if (refusal) {
        refused++;
        if (refusal === 'hang') {
          held.hold(table, req, res);
          const event: FaultEvent = { service: 'dynamodb', action: 'held', target: table, operation: op };
          options.events?.emit('fault', event);
        }
        else if (refusal === 'reset') req.socket.destroy();
        else sendDynamoDbError(res, 'SERVICE_UNAVAILABLE', 'The local DynamoDB endpoint is stopped (test hook).');
        return;
      }
      const byOp = operations.get(table) ?? new Map<string, number>();
      operations.set(table, byOp);
      byOp.set(op, (byOp.get(op) ?? 0) + 1);
      // Applied as usual; only the answer is lost.
      if (faults.take(op, table, body.toString('utf8'))) {
        loseAnswer(res);
        const event: FaultEvent = { service: 'dynamodb', action: 'answer-lost', target: table, operation: op };
        options.events?.emit('fault', event);
      }
      if (op === 'UpdateTimeToLive' || op === 'DescribeTimeToLive') {
        await ttlCall(op, body, req, res);
        return;
      }
      if (op === 'DeleteTable') {
        res.once('finish', () => {
          if (res.statusCode === 200) {
            try {
              const name = (JSON.parse(body.toString('utf8')) as { TableName?: string }).TableName;
              if (name && ttl.delete(name)) saveTtl();
            } catch {
              // the table name was already validated by dynalite
            }
          }
        });
      }
      // dynalite reads a whole, never-failing stream: the client's own
      // stream could emit 'error', which dynalite rethrows.
      const fake = Readable.from(body.length ? [body] : []) as unknown as IncomingMessage;
      Object.assign(fake, { headers: req.headers, method: req.method, url: req.url });
      inFlight.track(res);
      listener(fake, res);
    },
    async close() {
      held.release();
      await inFlight.idle();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
