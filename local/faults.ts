/**
 * Fault injection for the local stack's test hooks (`/_local/ops/`): requests
 * that are read but never answered, and answers lost after the work was done.
 *
 * - {@link HeldRequests}: connections kept open without an answer (a hung
 *   endpoint), until they are released; a released connection is closed
 *   without an answer, and its request never runs.
 * - {@link DynamoDbFaults}: the next N matching DynamoDB requests are applied,
 *   then their connections closed without an answer (the answer is lost).
 * - {@link LambdaFaults}: per function, Invoke requests that hang, or the next
 *   N Invoke requests accepted (queued or started) and then their connections
 *   closed without an answer.
 *
 * Neither is part of any AWS API. A client that retries a request whose
 * answer was lost sends it a second time: that is the point of the drop
 * faults, whose tests check that the kit recognises its own earlier success.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** The JSON of a DynamoDB drop fault, as `POST /_local/ops/dynamodb/faults` takes it. */
export interface DynamoDbDropFault {
  /** Always `after-apply`: DynamoDB applies the request, then the answer is lost. */
  drop: 'after-apply';
  /** The operations it applies to, e.g. `["PutItem","UpdateItem","DeleteItem"]`. */
  operations: string[];
  /** How many matching requests lose their answer. */
  count: number;
  /** Only requests naming these tables (default: every table). */
  tables?: string[];
  /** Only requests whose JSON body contains this text, e.g. a key prefix (default: any). */
  match?: string;
}

/** A pending DynamoDB drop fault, as `GET /_local/ops/stats` shows it. */
export interface PendingDynamoDbFault extends DynamoDbDropFault {
  /** Matching requests still to lose their answer. */
  remaining: number;
}

/** A Lambda fault of one function, as `GET /_local/ops/stats` shows it. */
export interface PendingLambdaFault {
  /** Invoke requests hang until the fault is cleared. */
  hang: boolean;
  /** The next Invoke requests to be accepted and then lose their answer. */
  dropAfterAccept: number;
  /** Invoke requests held open now. */
  held: number;
}

/** Emitted on the stack's `events` as `fault` each time a fault acts on a request. */
export interface FaultEvent {
  /** The service whose request it was. */
  service: 'dynamodb' | 'lambda';
  /** `held`: the request hangs; `answer-lost`: it was applied (or accepted) and its answer will be lost. */
  action: 'held' | 'answer-lost';
  /** The table or function the request named. */
  target: string;
  /** The operation (`PutItem`, ...; `Invoke` with its invocation type for Lambda, e.g. `Invoke:Event`). */
  operation: string;
}

/** A malformed fault description: the hook answers 400 with its message. */
export class FaultSpecError extends Error {
  /** @param message what is wrong */
  constructor(message: string) {
    super(message);
    this.name = 'FaultSpecError';
  }
}

/** Connections held open without an answer, grouped by a key (a table, a function). */
export class HeldRequests {
  private readonly held = new Map<string, Set<ServerResponse>>();

  /**
   * Keeps a request open without answering it.
   * @param key the group (table or function name)
   * @param req the request (already read)
   * @param res its response, never written
   */
  hold(key: string, req: IncomingMessage, res: ServerResponse): void {
    const group = this.held.get(key) ?? new Set<ServerResponse>();
    this.held.set(key, group);
    group.add(res);
    // A client that gives up (its own timeout) closes the connection: forget it.
    req.socket.once('close', () => {
      group.delete(res);
      if (group.size === 0 && this.held.get(key) === group) this.held.delete(key);
    });
  }

  /**
   * Closes held connections without an answer.
   * @param keys the groups to release (default: all)
   * @returns how many connections were closed
   */
  release(keys?: readonly string[]): number {
    let closed = 0;
    for (const key of keys ?? [...this.held.keys()]) {
      const group = this.held.get(key);
      if (!group) continue;
      this.held.delete(key);
      for (const res of group) {
        res.socket?.destroy();
        closed += 1;
      }
    }
    return closed;
  }

  /**
   * How many connections are held.
   * @param key one group (default: all)
   */
  count(key?: string): number {
    if (key !== undefined) return this.held.get(key)?.size ?? 0;
    let total = 0;
    for (const group of this.held.values()) total += group.size;
    return total;
  }
}

/**
 * Makes a response lose its answer: whatever the service writes is dropped
 * and the connection is closed when the answer would have been sent.
 * @param res the response of a request that is otherwise handled normally
 */
export function loseAnswer(res: ServerResponse): void {
  const socket = res.socket;
  res.end = ((..._args: unknown[]) => {
    socket?.destroy();
    return res;
  }) as ServerResponse['end'];
}

function isStringList(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string' && item.length > 0);
}

function positiveCount(value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 10_000) {
    throw new FaultSpecError('count must be an integer from 1 to 10000');
  }
  return value;
}

/**
 * Reads the body of `POST /_local/ops/dynamodb/faults`.
 * @param body the parsed JSON
 * @returns the fault to add, or `clear`
 */
export function parseDynamoDbFault(body: unknown): DynamoDbDropFault | 'clear' {
  const spec = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  if (spec['clear'] === true) return 'clear';
  if (spec['drop'] !== 'after-apply') {
    throw new FaultSpecError('expected {"drop":"after-apply","operations":["PutItem",...],"count":N,"tables"?:[...]} or {"clear":true}');
  }
  if (!isStringList(spec['operations']) || spec['operations'].length === 0) {
    throw new FaultSpecError('operations must be a non-empty list of DynamoDB operation names, e.g. ["PutItem","UpdateItem"]');
  }
  if (spec['tables'] !== undefined && !isStringList(spec['tables'])) throw new FaultSpecError('tables must be a list of table names');
  if (spec['match'] !== undefined && (typeof spec['match'] !== 'string' || spec['match'] === '')) throw new FaultSpecError('match must be a non-empty string');
  return {
    drop: 'after-apply',
    operations: spec['operations'],
    count: positiveCount(spec['count']),
    ...(spec['tables'] !== undefined && { tables: spec['tables'] as string[] }),
    ...(spec['match'] !== undefined && { match: spec['match'] as string }),
  };
}

/** The drop faults of the DynamoDB endpoint. */
export class DynamoDbFaults {
  private faults: PendingDynamoDbFault[] = [];
  private lost = 0;

  /**
   * Adds a fault; faults are matched in the order they were added.
   * @param fault the fault
   */
  add(fault: DynamoDbDropFault): void {
    this.faults.push({ ...fault, remaining: fault.count });
  }

  /** Removes every pending fault. */
  clear(): void {
    this.faults = [];
  }

  /**
   * Whether this request must lose its answer (and counts it against the fault).
   * @param operation the DynamoDB operation, e.g. `PutItem`
   * @param table the table it names (`*` when none)
   * @param body the request's JSON body
   */
  take(operation: string, table: string, body: string): boolean {
    const fault = this.faults.find((f) => f.operations.includes(operation) && (!f.tables || f.tables.includes(table)) && (f.match === undefined || body.includes(f.match)));
    if (!fault) return false;
    fault.remaining -= 1;
    if (fault.remaining <= 0) this.faults = this.faults.filter((f) => f !== fault);
    this.lost += 1;
    return true;
  }

  /** The faults still pending. */
  pending(): PendingDynamoDbFault[] {
    return this.faults.map((f) => ({ ...f, operations: [...f.operations], ...(f.tables && { tables: [...f.tables] }) }));
  }

  /** Answers lost so far. */
  get answersLost(): number {
    return this.lost;
  }
}

/** `{"hang":true}`: Invoke requests hang until cleared. */
export interface LambdaHangFault {
  /** Always true. */
  hang: true;
}

/** `{"drop":"after-accept","count":N}`: the next N Invoke requests are accepted, then lose their answer. */
export interface LambdaDropFault {
  /** Always `after-accept`. */
  drop: 'after-accept';
  /** How many Invoke requests. */
  count: number;
}

/** A Lambda fault as `POST /_local/ops/lambda/{name}/faults` takes it, or `clear`. */
export type LambdaFaultSpec = LambdaHangFault | LambdaDropFault | 'clear';

/**
 * Reads the body of `POST /_local/ops/lambda/{name}/faults`.
 * @param body the parsed JSON
 */
export function parseLambdaFault(body: unknown): LambdaFaultSpec {
  const spec = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  if (spec['clear'] === true) return 'clear';
  if (spec['hang'] === true) return { hang: true };
  if (spec['drop'] === 'after-accept') return { drop: 'after-accept', count: positiveCount(spec['count']) };
  throw new FaultSpecError('expected {"hang":true}, {"drop":"after-accept","count":N} or {"clear":true}');
}

/** What an Invoke request must do under the faults of its function. */
export type LambdaFaultAction = 'hang' | 'drop-after-accept' | undefined;

/** The faults of the Lambda Invoke API, by function name. */
export class LambdaFaults {
  private readonly hanging = new Set<string>();
  private readonly drops = new Map<string, number>();
  /** Invoke requests held open by a hang. */
  readonly held = new HeldRequests();

  /**
   * Sets or clears a function's faults. Clearing closes the held requests without an answer.
   * @param functionName the function
   * @param spec the fault
   */
  apply(functionName: string, spec: LambdaFaultSpec): void {
    if (spec === 'clear') {
      this.hanging.delete(functionName);
      this.drops.delete(functionName);
      this.held.release([functionName]);
    } else if ('hang' in spec) {
      this.hanging.add(functionName);
    } else {
      this.drops.set(functionName, (this.drops.get(functionName) ?? 0) + spec.count);
    }
  }

  /**
   * What this Invoke request must do (and counts it against a drop fault).
   * @param functionName the function invoked
   */
  take(functionName: string): LambdaFaultAction {
    if (this.hanging.has(functionName)) return 'hang';
    const drops = this.drops.get(functionName) ?? 0;
    if (drops <= 0) return undefined;
    if (drops === 1) this.drops.delete(functionName);
    else this.drops.set(functionName, drops - 1);
    return 'drop-after-accept';
  }

  /** The faults in force, by function. */
  pending(): Record<string, PendingLambdaFault> {
    const names = new Set([...this.hanging, ...this.drops.keys()]);
    const out: Record<string, PendingLambdaFault> = {};
    for (const name of names) {
      out[name] = { hang: this.hanging.has(name), dropAfterAccept: this.drops.get(name) ?? 0, held: this.held.count(name) };
    }
    return out;
  }

  /** Closes every held request (the stack is stopping). */
  stop(): void {
    this.held.release();
  }
}
