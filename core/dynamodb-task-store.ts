/**
 * The DynamoDB implementation of {@link TaskStore}.
 *
 * Layout, all in one table keyed by `RequestID` (string):
 * - the task: key = the UUID; its status, time stamps, the hashes of its link tokens, and the
 *   marker of the last conditional write;
 * - Main's response: in the task's item when it is small (written with the `CREATED` status in
 *   one write), otherwise in an item of its own, key `<uuid>#result`, so that polls read only a
 *   small status item (DynamoDB charges reads by item size, whatever the projection);
 * - an `Idempotency-Key` reservation: key `idempotency#<hash of caller scope and key>`.
 *
 * Conditional writes recognise their own success: each writes a marker unique to the call, and a
 * failed condition is followed by a consistent read that tells a retry of this very write (its
 * marker is there) from a competing writer (it is not).
 *
 * @module
 */
import { randomUUID } from 'node:crypto';
import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClientConfig,
} from '@aws-sdk/client-dynamodb';
import {
  StoreUnavailableError,
  type AbandonOutcome,
  type CallOptions,
  type CompletionOptions,
  type IdempotencyOutcome,
  type IdempotencyReservation,
  type FailureKind,
  type NewTask,
  type RetireOptions,
  type StoredResult,
  type TaskClaim,
  type TaskFailure,
  type TaskStatus,
  type TaskStatusView,
  type TaskStore,
} from './task-store';

const RESULT_SUFFIX = '#result';
const IDEMPOTENCY_PREFIX = 'idempotency#';

/** The attribute names of the table, in one place (docs/architecture.md describes each). */
const ATTRIBUTES = {
  key: 'RequestID',
  status: 'Status',
  createdAt: 'CreatedAt',
  updatedAt: 'UpdatedAt',
  pendingDeadline: 'PendingDeadline',
  deadline: 'Deadline',
  expiresAt: 'ExpiresAt',
  startedAt: 'StartedAt',
  finishedAt: 'FinishedAt',
  claimedBy: 'ClaimedBy',
  errorKind: 'ErrorKind',
  errorMessage: 'ErrorMessage',
  errorType: 'ErrorType',
  resultBytes: 'ResultBytes',
  resultEncoding: 'ResultEncoding',
  tokenHashes: 'TokenHashes',
  keyHash: 'KeyHash',
  writeMarker: 'WriteMarker',
  result: 'Result',
  encoding: 'Encoding',
  taskId: 'TaskID',
  fingerprint: 'Fingerprint',
} as const;

const A = ATTRIBUTES;
/** `Status` and `Result` are reserved words in expressions. */
const NAMES = { '#s': A.status } as const;
const STATUS_NAMES = { '#s': A.status, '#r': A.result } as const;
const STATUS_PROJECTION = [
  '#s', A.createdAt, A.pendingDeadline, A.deadline, A.startedAt, A.expiresAt, A.errorKind, A.errorMessage, A.errorType, A.tokenHashes, A.keyHash, '#r', A.resultEncoding,
].join(', ');

/** Options for {@link DynamoTaskStore}. */
export interface DynamoTaskStoreOptions {
  /** The table's name. */
  tableName: string;
  /** A client to use; one is created from `clientConfig` otherwise. */
  client?: DynamoDBClient;
  /** Settings for a new client (endpoint, region, timeouts). */
  clientConfig?: DynamoDBClientConfig;
}

type Item = Record<string, AttributeValue>;

const num = (n: number): AttributeValue => ({ N: String(n) });
const str = (s: string): AttributeValue => ({ S: s });

function readNumber(item: Item, name: string): number | undefined {
  const value = item[name]?.N;
  return value === undefined ? undefined : Number(value);
}

function readString(item: Item, name: string): string | undefined {
  return item[name]?.S;
}

function encodingOf(value: string | undefined): StoredResult['encoding'] {
  return value === 'gzip' ? 'gzip' : 'identity';
}

function sendOptions(options: CallOptions): { abortSignal?: AbortSignal; requestTimeout?: number } {
  return {
    ...(options.signal && { abortSignal: options.signal }),
    ...(options.attemptTimeoutMs !== undefined && { requestTimeout: options.attemptTimeoutMs }),
  };
}

/**
 * A {@link TaskStore} on a DynamoDB table whose key is `RequestID` (string).
 *
 * @example
 * ```ts
 * const store = new DynamoTaskStore({ tableName: 'long-request-kit-tasks' });
 * const status = await store.readStatus(requestId, Date.now());
 * ```
 */
export class DynamoTaskStore implements TaskStore {
  private readonly client: DynamoDBClient;
  private readonly tableName: string;

  /** @param options - the table and the client */
  constructor(options: DynamoTaskStoreOptions) {
    this.tableName = options.tableName;
    this.client = options.client ?? new DynamoDBClient(options.clientConfig ?? {});
  }

  /** {@inheritDoc TaskStore.createTask} */
  async createTask(task: NewTask, options: CallOptions = {}): Promise<void> {
    const item: Item = {
      [A.key]: str(task.requestId),
      [A.status]: str('PENDING'),
      [A.createdAt]: num(task.createdAt),
      [A.updatedAt]: num(task.createdAt),
      [A.pendingDeadline]: num(task.pendingDeadline),
      [A.expiresAt]: num(task.expiresAt),
      [A.tokenHashes]: { SS: [task.tokenHash] },
    };
    if (task.idempotencyKeyHash !== undefined) item[A.keyHash] = str(task.idempotencyKeyHash);
    const created = await this.conditionalWrite(
      'create task',
      task.requestId,
      () => new PutItemCommand({ TableName: this.tableName, Item: item, ConditionExpression: `attribute_not_exists(${A.key})` }),
      // A RequestID is a random UUID: a row with it and this token hash is this very write, retried.
      (existing) => existing?.[A.tokenHashes]?.SS?.includes(task.tokenHash) === true,
      options,
    );
    if (!created) throw new Error(`A task with RequestID ${task.requestId} exists already`);
  }

  /** {@inheritDoc TaskStore.readStatus} */
  async readStatus(requestId: string, now: number, options: CallOptions = {}): Promise<TaskStatusView | undefined> {
    const out = await this.send('read status', () =>
      this.client.send(
        new GetItemCommand({
          TableName: this.tableName,
          Key: { [A.key]: str(requestId) },
          ConsistentRead: true,
          ProjectionExpression: STATUS_PROJECTION,
          ExpressionAttributeNames: STATUS_NAMES,
        }),
        sendOptions(options),
      ),
    );
    const item = out.Item;
    if (!item) return undefined;
    const expiresAt = readNumber(item, A.expiresAt) ?? 0;
    // TTL deletes late (up to days): an expired row must read as absent.
    if (expiresAt * 1000 <= now) return undefined;
    const view: TaskStatusView = {
      requestId,
      status: (readString(item, A.status) ?? 'PENDING') as TaskStatus,
      createdAt: readNumber(item, A.createdAt) ?? 0,
      pendingDeadline: readNumber(item, A.pendingDeadline) ?? 0,
      expiresAt,
      tokenHashes: item[A.tokenHashes]?.SS ?? [],
    };
    const deadline = readNumber(item, A.deadline);
    if (deadline !== undefined) view.deadline = deadline;
    const startedAt = readNumber(item, A.startedAt);
    if (startedAt !== undefined) view.startedAt = startedAt;
    const kind = readString(item, A.errorKind);
    if (kind !== undefined) {
      view.failure = { kind: kind as FailureKind, message: readString(item, A.errorMessage) ?? '' };
      const errorType = readString(item, A.errorType);
      if (errorType !== undefined) view.failure.errorType = errorType;
    }
    const keyHash = readString(item, A.keyHash);
    if (keyHash !== undefined) view.idempotencyKeyHash = keyHash;
    const inline = item[A.result]?.B;
    if (inline !== undefined && view.status === 'CREATED') view.result = { body: inline, encoding: encodingOf(readString(item, A.resultEncoding)) };
    return view;
  }

  /** {@inheritDoc TaskStore.claimTask} */
  async claimTask(requestId: string, claim: { now: number; deadline: number; claimedBy: string }, options: CallOptions = {}): Promise<TaskClaim | undefined> {
    let expiresAt: number | undefined;
    const claimed = await this.conditionalWrite(
      'claim task',
      requestId,
      () => new UpdateItemCommand({
        TableName: this.tableName,
        Key: { [A.key]: str(requestId) },
        UpdateExpression: `SET #s = :running, ${A.deadline} = :deadline, ${A.updatedAt} = :now, ${A.startedAt} = :now, ${A.claimedBy} = :by`,
        ConditionExpression: `#s = :pending AND ${A.pendingDeadline} > :now AND ${A.expiresAt} > :nowSeconds`,
        ExpressionAttributeNames: NAMES,
        ExpressionAttributeValues: {
          ':running': str('RUNNING'),
          ':pending': str('PENDING'),
          ':deadline': num(claim.deadline),
          ':now': num(claim.now),
          ':nowSeconds': num(Math.floor(claim.now / 1000)),
          ':by': str(claim.claimedBy),
        },
        ReturnValues: 'ALL_NEW',
      }),
      (existing) => {
        // A retry of this claim, applied the first time: the task is RUNNING under this claim.
        const mine = existing !== undefined && readString(existing, A.status) === 'RUNNING' && readString(existing, A.claimedBy) === claim.claimedBy;
        if (mine) expiresAt = readNumber(existing, A.expiresAt);
        return mine;
      },
      options,
      (attributes) => {
        expiresAt = attributes ? readNumber(attributes, A.expiresAt) : undefined;
      },
    );
    return claimed && expiresAt !== undefined ? { expiresAt } : undefined;
  }

  /** {@inheritDoc TaskStore.completeTask} */
  async completeTask(requestId: string, result: StoredResult, at: CompletionOptions, options: CallOptions = {}): Promise<boolean> {
    const { now, claimedBy } = at;
    // A result apart is written first: a task is never CREATED without its result. Writing it
    // twice is harmless.
    if (!at.inline) await this.storeResultApart(requestId, result, at.expiresAt, options);
    // The claim is the marker: a completion retried for the same claim (by the SDK, or by the
    // Talker's own retries) recognises itself.
    const marker = claimedBy;
    const values: Record<string, AttributeValue> = {
      ':created': str('CREATED'),
      ':running': str('RUNNING'),
      ':by': str(claimedBy),
      ':now': num(now),
      ':bytes': num(result.body.byteLength),
      ':enc': str(result.encoding),
      ':marker': str(marker),
    };
    let update = `SET #s = :created, ${A.updatedAt} = :now, ${A.finishedAt} = :now, ${A.resultBytes} = :bytes, ${A.resultEncoding} = :enc, ${A.writeMarker} = :marker`;
    if (at.inline) {
      update += ', #r = :result';
      values[':result'] = { B: result.body };
    }
    let rowExists = true;
    const completed = await this.conditionalWrite(
      'complete task',
      requestId,
      () => new UpdateItemCommand({
        TableName: this.tableName,
        Key: { [A.key]: str(requestId) },
        UpdateExpression: update,
        ConditionExpression: `#s = :running AND ${A.claimedBy} = :by`,
        ExpressionAttributeNames: at.inline ? STATUS_NAMES : NAMES,
        ExpressionAttributeValues: values,
      }),
      (existing) => {
        rowExists = existing !== undefined;
        return readString(existing ?? {}, A.status) === 'CREATED' && readString(existing ?? {}, A.writeMarker) === marker;
      },
      options,
    );
    // Refused (the task was declared lost meanwhile): the result is kept all the same, apart, as
    // one stored apart first is. The kit never deletes an undelivered response. A row that is
    // gone (delivered and deleted, or expired) has no reader left: nothing is stored for it.
    if (!completed && at.inline && rowExists) await this.storeResultApart(requestId, result, at.expiresAt, options);
    return completed;
  }

  /** {@inheritDoc TaskStore.failTask} */
  async failTask(
    requestId: string,
    failure: TaskFailure,
    now: number,
    from: ReadonlyArray<'PENDING' | 'RUNNING'>,
    options: CallOptions & { claimedBy?: string } = {},
  ): Promise<boolean> {
    // A Talker's record is marked with its claim (stable over its retries); the Proxy's LOST
    // verdict with a marker of its own.
    const marker = options.claimedBy ?? randomUUID();
    const values: Record<string, AttributeValue> = {
      ':failed': str('FAILED'),
      ':now': num(now),
      ':kind': str(failure.kind),
      ':message': str(failure.message.slice(0, 2000) || failure.kind),
      ':marker': str(marker),
    };
    const fromClauses = from.map((status, index) => {
      values[`:from${index}`] = str(status);
      return `#s = :from${index}`;
    });
    let condition = `(${fromClauses.join(' OR ')})`;
    if (failure.kind === 'LOST') {
      // Only a task whose deadline really passed may be declared lost.
      condition += ` AND ((#s = :pendingState AND ${A.pendingDeadline} <= :now) OR (#s = :runningState AND ${A.deadline} <= :now))`;
      values[':pendingState'] = str('PENDING');
      values[':runningState'] = str('RUNNING');
    }
    if (options.claimedBy !== undefined) {
      condition += ` AND ${A.claimedBy} = :by`;
      values[':by'] = str(options.claimedBy);
    }
    let update = `SET #s = :failed, ${A.updatedAt} = :now, ${A.finishedAt} = :now, ${A.errorKind} = :kind, ${A.errorMessage} = :message, ${A.writeMarker} = :marker`;
    if (failure.errorType !== undefined) {
      update += `, ${A.errorType} = :errorType`;
      values[':errorType'] = str(failure.errorType.slice(0, 200));
    }
    return this.conditionalWrite(
      'fail task',
      requestId,
      () => new UpdateItemCommand({
        TableName: this.tableName,
        Key: { [A.key]: str(requestId) },
        UpdateExpression: update,
        ConditionExpression: condition,
        ExpressionAttributeNames: NAMES,
        ExpressionAttributeValues: values,
      }),
      (existing) => readString(existing ?? {}, A.status) === 'FAILED' && readString(existing ?? {}, A.writeMarker) === marker,
      options,
    );
  }

  /** {@inheritDoc TaskStore.readResult} */
  async readResult(requestId: string, options: CallOptions = {}): Promise<StoredResult | undefined> {
    const out = await this.send('read result', () =>
      this.client.send(
        new GetItemCommand({ TableName: this.tableName, Key: { [A.key]: str(requestId + RESULT_SUFFIX) }, ConsistentRead: true }),
        sendOptions(options),
      ),
    );
    const body = out.Item?.[A.result]?.B;
    if (!out.Item || body === undefined) return undefined;
    return { body, encoding: encodingOf(readString(out.Item, A.encoding)) };
  }

  /** {@inheritDoc TaskStore.retireTask} */
  async retireTask(requestId: string, retire: RetireOptions, options: CallOptions = {}): Promise<void> {
    // An inline result goes with its task's row; one apart needs a write of its own.
    const keys = retire.delivered && !retire.resultInline ? [requestId, requestId + RESULT_SUFFIX] : [requestId];
    if (retire.graceSeconds <= 0) {
      await Promise.all(keys.map((key) => this.send('delete task', () => this.client.send(new DeleteItemCommand({ TableName: this.tableName, Key: { [A.key]: str(key) } }), sendOptions(options)))));
      return;
    }
    const expiresAt = Math.floor(retire.now / 1000) + retire.graceSeconds;
    await Promise.all(
      keys.map((key) =>
        // Only ever shortens a row's life, and never re-creates a deleted row (a retried write finds it done).
        this.ignoringCondition('retire task', () =>
          this.client.send(
            new UpdateItemCommand({
              TableName: this.tableName,
              Key: { [A.key]: str(key) },
              UpdateExpression: `SET ${A.expiresAt} = :expiresAt`,
              ConditionExpression: `attribute_exists(${A.key}) AND ${A.expiresAt} > :expiresAt`,
              ExpressionAttributeValues: { ':expiresAt': num(expiresAt) },
            }),
            sendOptions(options),
          ),
        ),
      ),
    );
  }

  /** {@inheritDoc TaskStore.abandonTask} */
  async abandonTask(requestId: string, now: number, options: CallOptions = {}): Promise<AbandonOutcome> {
    const marker = randomUUID();
    const abandoned = await this.conditionalWrite(
      'abandon task',
      requestId,
      () => new UpdateItemCommand({
        TableName: this.tableName,
        Key: { [A.key]: str(requestId) },
        UpdateExpression: `SET #s = :abandoned, ${A.updatedAt} = :now, ${A.finishedAt} = :now, ${A.writeMarker} = :marker`,
        ConditionExpression: '#s = :pending',
        ExpressionAttributeNames: NAMES,
        ExpressionAttributeValues: { ':pending': str('PENDING'), ':abandoned': str('ABANDONED'), ':now': num(now), ':marker': str(marker) },
      }),
      // A tombstone, not a delete: a row that is gone may have been delivered and retired.
      (existing) => readString(existing ?? {}, A.status) === 'ABANDONED' && readString(existing ?? {}, A.writeMarker) === marker,
      options,
    );
    return abandoned ? 'abandoned' : 'started';
  }

  /** {@inheritDoc TaskStore.addTaskToken} */
  async addTaskToken(requestId: string, tokenHash: string, now: number, options: CallOptions = {}): Promise<boolean> {
    // Adding to a set is idempotent: a retried write meets its own success as success.
    return this.ignoringCondition('add a link token', () =>
      this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { [A.key]: str(requestId) },
          UpdateExpression: `ADD ${A.tokenHashes} :hash SET ${A.updatedAt} = :now`,
          ConditionExpression: `attribute_exists(${A.key}) AND ${A.expiresAt} > :nowSeconds`,
          ExpressionAttributeValues: { ':hash': { SS: [tokenHash] }, ':now': num(now), ':nowSeconds': num(Math.floor(now / 1000)) },
        }),
        sendOptions(options),
      ),
    );
  }

  /** {@inheritDoc TaskStore.reserveIdempotencyKey} */
  async reserveIdempotencyKey(reservation: IdempotencyReservation, options: CallOptions & { replacing?: string } = {}): Promise<IdempotencyOutcome> {
    const key = IDEMPOTENCY_PREFIX + reservation.keyHash;
    const mine: IdempotencyOutcome = { reserved: true, requestId: reservation.requestId, fingerprint: reservation.fingerprint };
    // Two rounds at most: a reservation can lapse or be deleted between the put and the read.
    for (let round = 0; round < 2; round += 1) {
      let holder: Item | undefined;
      const reserved = await this.conditionalWrite(
        'reserve idempotency key',
        key,
        () => new PutItemCommand({
          TableName: this.tableName,
          Item: {
            [A.key]: str(key),
            [A.taskId]: str(reservation.requestId),
            [A.fingerprint]: str(reservation.fingerprint),
            [A.createdAt]: num(reservation.now),
            [A.expiresAt]: num(reservation.expiresAt),
          },
          // A lapsed reservation (TTL deletes late) may be taken again; one whose task ended
          // without running Main may be taken over, if it still points at that task.
          ...(options.replacing === undefined
            ? {
                ConditionExpression: `attribute_not_exists(${A.key}) OR ${A.expiresAt} <= :nowSeconds`,
                ExpressionAttributeValues: { ':nowSeconds': num(Math.floor(reservation.now / 1000)) },
              }
            : {
                ConditionExpression: `attribute_not_exists(${A.key}) OR ${A.expiresAt} <= :nowSeconds OR ${A.taskId} = :stale`,
                ExpressionAttributeValues: { ':nowSeconds': num(Math.floor(reservation.now / 1000)), ':stale': str(options.replacing) },
              }),
        }),
        (existing) => {
          holder = existing;
          // A retry of this reservation, applied the first time: the key points at this task.
          return existing !== undefined && readString(existing, A.taskId) === reservation.requestId;
        },
        options,
      );
      if (reserved) return mine;
      const taskId = holder ? readString(holder, A.taskId) : undefined;
      const fingerprint = holder ? readString(holder, A.fingerprint) : undefined;
      if (taskId !== undefined && fingerprint !== undefined) return { reserved: false, requestId: taskId, fingerprint };
    }
    throw new StoreUnavailableError('DynamoDB could not settle an idempotency key (it changed twice during the request)');
  }

  /** {@inheritDoc TaskStore.releaseIdempotencyKey} */
  async releaseIdempotencyKey(keyHash: string, requestId: string, options: CallOptions = {}): Promise<void> {
    await this.ignoringCondition('release idempotency key', () =>
      this.client.send(
        new DeleteItemCommand({
          TableName: this.tableName,
          Key: { [A.key]: str(IDEMPOTENCY_PREFIX + keyHash) },
          ConditionExpression: `${A.taskId} = :task`,
          ExpressionAttributeValues: { ':task': str(requestId) },
        }),
        sendOptions(options),
      ),
    );
  }

  /**
   * A conditional write that recognises its own earlier success: when the condition fails, the
   * item is read back (consistently) and `recognise` tells whether it holds this call's write.
   */
  private async conditionalWrite<C>(
    what: string,
    key: string,
    command: () => C,
    recognise: (existing: Item | undefined) => boolean,
    options: CallOptions,
    onSuccess?: (attributes: Item | undefined) => void,
  ): Promise<boolean> {
    try {
      const out = (await this.send(what, () => this.client.send(command() as never, sendOptions(options)))) as { Attributes?: Item };
      onSuccess?.(out.Attributes);
      return true;
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
    const out = await this.send(`read back after "${what}"`, () =>
      this.client.send(new GetItemCommand({ TableName: this.tableName, Key: { [A.key]: str(key) }, ConsistentRead: true }), sendOptions(options)),
    );
    return recognise(out.Item);
  }

  /** A conditional write whose failed condition means "nothing to do": `false`, no error. */
  private async ignoringCondition(what: string, call: () => Promise<unknown>): Promise<boolean> {
    try {
      await this.send(what, call);
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  /** Writes a result in an item of its own, key `<RequestID>#result`; it expires with its task. */
  private async storeResultApart(requestId: string, result: StoredResult, expiresAt: number, options: CallOptions): Promise<void> {
    await this.send('store result', () =>
      this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: { [A.key]: str(requestId + RESULT_SUFFIX), [A.result]: { B: result.body }, [A.encoding]: str(result.encoding), [A.expiresAt]: num(expiresAt) },
        }),
        sendOptions(options),
      ),
    );
  }

  private async send<T>(what: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) throw error;
      const name = error instanceof Error ? error.name : 'Error';
      throw new StoreUnavailableError(`DynamoDB could not ${what} (${name})`, { cause: error });
    }
  }
}
