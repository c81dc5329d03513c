/**
 * The DynamoDB implementation of {@link TaskStore}.
 *
 * Layout: one item per task, key `RequestID` = the UUID, holding the status and time stamps;
 * Main's response lives in a second item, key `<uuid>#result`. Polls read only the small status
 * item, so their cost does not grow with the size of the response (DynamoDB charges reads by
 * item size, whatever the projection).
 *
 * @module
 */
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
  type IdempotencyOutcome,
  type IdempotencyReservation,
  type NewTask,
  type ReadOptions,
  type TaskClaim,
  type TaskStore,
} from './task-store';
import type { FailureKind, StoredResult, TaskFailure, TaskStatus, TaskStatusView } from './types';

const RESULT_SUFFIX = '#result';
const IDEMPOTENCY_PREFIX = 'idempotency#';
const STATUS_PROJECTION = '#id, #s, CreatedAt, PendingDeadline, Deadline, ExpiresAt, ErrorKind, ErrorMessage, ErrorType, Fingerprint';
const NAMES = { '#id': 'RequestID', '#s': 'Status' };

/** Options for {@link DynamoTaskStore}. */
export interface DynamoTaskStoreOptions {
  /** The table's name. */
  tableName: string;
  /** A client to use; one is created from `clientConfig` otherwise. */
  client?: DynamoDBClient;
  /** Settings for a new client (endpoint, region, timeouts). */
  clientConfig?: DynamoDBClientConfig;
}

const num = (n: number): AttributeValue => ({ N: String(n) });
const str = (s: string): AttributeValue => ({ S: s });

function readNumber(item: Record<string, AttributeValue>, name: string): number | undefined {
  const value = item[name]?.N;
  return value === undefined ? undefined : Number(value);
}

function readString(item: Record<string, AttributeValue>, name: string): string | undefined {
  return item[name]?.S;
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
  async createTask(task: NewTask): Promise<void> {
    const item: Record<string, AttributeValue> = {
      RequestID: str(task.requestId),
      Status: str('PENDING'),
      CreatedAt: num(task.createdAt),
      UpdatedAt: num(task.createdAt),
      PendingDeadline: num(task.pendingDeadline),
      ExpiresAt: num(task.expiresAt),
    };
    if (task.requestFingerprint !== undefined) item['Fingerprint'] = str(task.requestFingerprint);
    await this.send('create task', () =>
      this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: item,
          ConditionExpression: 'attribute_not_exists(RequestID)',
        }),
      ),
    );
  }

  /** {@inheritDoc TaskStore.readStatus} */
  async readStatus(requestId: string, now: number, options: ReadOptions = {}): Promise<TaskStatusView | undefined> {
    const out = await this.send('read status', () =>
      this.client.send(
        new GetItemCommand({
          TableName: this.tableName,
          Key: { RequestID: str(requestId) },
          ConsistentRead: true,
          ProjectionExpression: STATUS_PROJECTION,
          ExpressionAttributeNames: NAMES,
        }),
        options.signal ? { abortSignal: options.signal } : {},
      ),
    );
    const item = out.Item;
    if (!item) return undefined;
    const expiresAt = readNumber(item, 'ExpiresAt') ?? 0;
    // TTL deletes late (up to days): an expired row must read as absent.
    if (expiresAt * 1000 <= now) return undefined;
    const view: TaskStatusView = {
      requestId,
      status: (readString(item, 'Status') ?? 'PENDING') as TaskStatus,
      createdAt: readNumber(item, 'CreatedAt') ?? 0,
      pendingDeadline: readNumber(item, 'PendingDeadline') ?? 0,
      expiresAt,
    };
    const deadline = readNumber(item, 'Deadline');
    if (deadline !== undefined) view.deadline = deadline;
    const kind = readString(item, 'ErrorKind');
    if (kind !== undefined) {
      view.failure = { kind: kind as FailureKind, message: readString(item, 'ErrorMessage') ?? '' };
      const errorType = readString(item, 'ErrorType');
      if (errorType !== undefined) view.failure.errorType = errorType;
    }
    const fingerprint = readString(item, 'Fingerprint');
    if (fingerprint !== undefined) view.requestFingerprint = fingerprint;
    return view;
  }

  /** {@inheritDoc TaskStore.claimTask} */
  async claimTask(requestId: string, claim: { now: number; deadline: number; claimedBy: string }): Promise<TaskClaim | undefined> {
    let expiresAt: number | undefined;
    const claimed = await this.conditional('claim task', async () => {
      const out = await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { RequestID: str(requestId) },
          UpdateExpression: 'SET #s = :running, Deadline = :deadline, UpdatedAt = :now, StartedAt = :now, ClaimedBy = :by',
          ConditionExpression: '#s = :pending AND PendingDeadline > :now AND ExpiresAt > :nowSeconds',
          ExpressionAttributeNames: { '#s': 'Status' },
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
      );
      expiresAt = out.Attributes ? readNumber(out.Attributes, 'ExpiresAt') : undefined;
    });
    return claimed && expiresAt !== undefined ? { expiresAt } : undefined;
  }

  /** {@inheritDoc TaskStore.completeTask} */
  async completeTask(requestId: string, result: StoredResult, at: { now: number; expiresAt: number }): Promise<boolean> {
    const { now, expiresAt } = at;
    // The result first: a task is never CREATED without its result.
    await this.send('store result', () =>
      this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: {
            RequestID: str(requestId + RESULT_SUFFIX),
            Result: { B: result.body },
            Encoding: str(result.encoding),
            ExpiresAt: num(expiresAt),
          },
        }),
      ),
    );
    const done = await this.conditional('complete task', () =>
      this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { RequestID: str(requestId) },
          UpdateExpression: 'SET #s = :created, UpdatedAt = :now, FinishedAt = :now, ResultBytes = :bytes, ResultEncoding = :enc',
          ConditionExpression: '#s = :running',
          ExpressionAttributeNames: { '#s': 'Status' },
          ExpressionAttributeValues: {
            ':created': str('CREATED'),
            ':running': str('RUNNING'),
            ':now': num(now),
            ':bytes': num(result.body.byteLength),
            ':enc': str(result.encoding),
          },
        }),
      ),
    );
    if (!done) await this.deleteQuietly(requestId + RESULT_SUFFIX);
    return done;
  }

  /** {@inheritDoc TaskStore.failTask} */
  async failTask(
    requestId: string,
    failure: TaskFailure,
    now: number,
    from: ReadonlyArray<'PENDING' | 'RUNNING'>,
  ): Promise<boolean> {
    const values: Record<string, AttributeValue> = {
      ':failed': str('FAILED'),
      ':now': num(now),
      ':kind': str(failure.kind),
      ':message': str(failure.message.slice(0, 2000) || failure.kind),
    };
    const fromClauses = from.map((status, index) => {
      values[`:from${index}`] = str(status);
      return `#s = :from${index}`;
    });
    let condition = `(${fromClauses.join(' OR ')})`;
    if (failure.kind === 'LOST') {
      // Only a task whose deadline really passed may be declared lost.
      condition += ' AND ((#s = :pendingState AND PendingDeadline <= :now) OR (#s = :runningState AND Deadline <= :now))';
      values[':pendingState'] = str('PENDING');
      values[':runningState'] = str('RUNNING');
    }
    let update = 'SET #s = :failed, UpdatedAt = :now, FinishedAt = :now, ErrorKind = :kind, ErrorMessage = :message';
    if (failure.errorType !== undefined) {
      update += ', ErrorType = :errorType';
      values[':errorType'] = str(failure.errorType.slice(0, 200));
    }
    return this.conditional('fail task', () =>
      this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { RequestID: str(requestId) },
          UpdateExpression: update,
          ConditionExpression: condition,
          ExpressionAttributeNames: { '#s': 'Status' },
          ExpressionAttributeValues: values,
        }),
      ),
    );
  }

  /** {@inheritDoc TaskStore.readResult} */
  async readResult(requestId: string): Promise<StoredResult | undefined> {
    const out = await this.send('read result', () =>
      this.client.send(
        new GetItemCommand({
          TableName: this.tableName,
          Key: { RequestID: str(requestId + RESULT_SUFFIX) },
          ConsistentRead: true,
        }),
      ),
    );
    const body = out.Item?.['Result']?.B;
    if (!out.Item || body === undefined) return undefined;
    return { body, encoding: readString(out.Item, 'Encoding') === 'gzip' ? 'gzip' : 'identity' };
  }

  /** {@inheritDoc TaskStore.retireTask} */
  async retireTask(requestId: string, retire: { now: number; graceSeconds: number }): Promise<void> {
    const keys = [requestId, requestId + RESULT_SUFFIX];
    if (retire.graceSeconds <= 0) {
      await Promise.all(keys.map((key) => this.send('delete task', () => this.deleteItem(key))));
      return;
    }
    const expiresAt = Math.floor(retire.now / 1000) + retire.graceSeconds;
    await Promise.all(
      keys.map((key) =>
        // Only ever shortens a row's life, and never re-creates a deleted row.
        this.conditional('retire task', () =>
          this.client.send(
            new UpdateItemCommand({
              TableName: this.tableName,
              Key: { RequestID: str(key) },
              UpdateExpression: 'SET ExpiresAt = :expiresAt',
              ConditionExpression: 'attribute_exists(RequestID) AND ExpiresAt > :expiresAt',
              ExpressionAttributeValues: { ':expiresAt': num(expiresAt) },
            }),
          ),
        ),
      ),
    );
  }

  /** {@inheritDoc TaskStore.reserveIdempotencyKey} */
  async reserveIdempotencyKey(reservation: IdempotencyReservation): Promise<IdempotencyOutcome> {
    const key = IDEMPOTENCY_PREFIX + reservation.keyHash;
    // Two rounds at most: a reservation can lapse or be deleted between the put and the read.
    for (let round = 0; round < 2; round += 1) {
      const reserved = await this.conditional('reserve idempotency key', () =>
        this.client.send(
          new PutItemCommand({
            TableName: this.tableName,
            Item: {
              RequestID: str(key),
              TaskID: str(reservation.requestId),
              Fingerprint: str(reservation.fingerprint),
              CreatedAt: num(reservation.now),
              ExpiresAt: num(reservation.expiresAt),
            },
            // A lapsed reservation (TTL deletes late) may be taken again.
            ConditionExpression: 'attribute_not_exists(RequestID) OR ExpiresAt <= :nowSeconds',
            ExpressionAttributeValues: { ':nowSeconds': num(Math.floor(reservation.now / 1000)) },
          }),
        ),
      );
      if (reserved) return { reserved: true, requestId: reservation.requestId, fingerprint: reservation.fingerprint };
      const out = await this.send('read idempotency key', () =>
        this.client.send(new GetItemCommand({ TableName: this.tableName, Key: { RequestID: str(key) }, ConsistentRead: true })),
      );
      const taskId = out.Item ? readString(out.Item, 'TaskID') : undefined;
      const fingerprint = out.Item ? readString(out.Item, 'Fingerprint') : undefined;
      if (taskId !== undefined && fingerprint !== undefined) return { reserved: false, requestId: taskId, fingerprint };
    }
    throw new StoreUnavailableError('DynamoDB could not settle an idempotency key (it changed twice during the request)');
  }

  private deleteItem(key: string) {
    return this.client.send(new DeleteItemCommand({ TableName: this.tableName, Key: { RequestID: str(key) } }));
  }

  private async deleteQuietly(key: string): Promise<void> {
    try {
      await this.deleteItem(key);
    } catch {
      // TTL removes it later.
    }
  }

  private async conditional(what: string, call: () => Promise<unknown>): Promise<boolean> {
    try {
      await this.send(what, call);
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
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
