/**
 * Invoking other Lambda functions, behind an interface: {@link LambdaInvoker} uses the Lambda
 * API; tests and other hosts can supply their own {@link FunctionInvoker}.
 *
 * @module
 */
import { InvokeCommand, LambdaClient, type LambdaClientConfig } from '@aws-sdk/client-lambda';

/** The answer of a synchronous (`RequestResponse`) invoke. */
export interface SyncInvokeResult {
  /** The function's response payload (JSON text), or Lambda's error payload. */
  payload: Uint8Array;
  /** Set when the function failed: Lambda's `X-Amz-Function-Error` (`Unhandled` or `Handled`). */
  functionError?: string;
}

/**
 * Why an invoke was refused before the function ran.
 *
 * - `throttled`: Lambda answered 429 (concurrency or rate limit).
 * - `too-large`: the request payload exceeds the invoke's limit.
 * - `unavailable`: Lambda could not be reached or answered 5xx.
 * - `aborted`: the caller gave up waiting (its own time ran out).
 * - `rejected`: anything else (function not found, access denied, invalid request).
 * - `function-error`: a synchronous invoke whose function failed (its init failed, it crashed);
 *   never thrown by {@link LambdaInvoker}, which returns the error payload, but by a caller that
 *   counts such an answer as a refusal (the Proxy, of its Talker).
 */
export type InvokeErrorKind = 'throttled' | 'too-large' | 'unavailable' | 'aborted' | 'rejected' | 'function-error';

/** An invoke that Lambda refused or that did not complete. */
export class InvokeError extends Error {
  /** What kind of refusal this is. */
  readonly kind: InvokeErrorKind;

  /**
   * @param kind - the refusal's kind
   * @param message - what happened
   * @param options - the underlying error as `cause`
   */
  constructor(kind: InvokeErrorKind, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'InvokeError';
    this.kind = kind;
  }
}

/** Options of {@link FunctionInvoker.invokeAsync} and {@link FunctionInvoker.invokeSync}. */
export interface InvokeOptions {
  /** Abandons the invoke when it aborts. */
  signal?: AbortSignal;
  /** The longest one attempt may take before it is given up and tried again (the SDK's `requestTimeout` of this call). */
  attemptTimeoutMs?: number;
}

/** Invokes functions by name. Implementations throw {@link InvokeError} on refusal. */
export interface FunctionInvoker {
  /**
   * Queues an asynchronous (`Event`) invoke; resolves once Lambda accepted it. A call that the
   * signal aborts rejects with an `aborted` {@link InvokeError}: whether Lambda accepted the
   * event is then unknown.
   */
  invokeAsync(functionName: string, payload: string, options?: InvokeOptions): Promise<void>;
  /**
   * Runs a synchronous (`RequestResponse`) invoke and returns the function's answer. A call that
   * the signal aborts rejects with an `aborted` {@link InvokeError}; the function, once started,
   * runs on to its end (Lambda does not stop an invocation whose caller has gone).
   */
  invokeSync(functionName: string, payload: string, options?: InvokeOptions): Promise<SyncInvokeResult>;
}

const THROTTLE_NAMES = new Set(['TooManyRequestsException', 'ThrottlingException', 'EC2ThrottledException']);
const TOO_LARGE_NAMES = new Set(['RequestTooLargeException', 'RequestEntityTooLargeException']);

/**
 * Sorts an error thrown by the Lambda client into an {@link InvokeError}.
 *
 * @param error - what the client threw
 * @param signal - the abort signal of the call, if any
 */
export function classifyInvokeError(error: unknown, signal?: AbortSignal): InvokeError {
  if (error instanceof InvokeError) return error;
  const name = error instanceof Error ? error.name : 'Error';
  const message = error instanceof Error ? error.message : String(error);
  const status = (error as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
  if (signal?.aborted || name === 'AbortError') return new InvokeError('aborted', `invoke aborted: ${message}`, { cause: error });
  if (THROTTLE_NAMES.has(name) || status === 429) return new InvokeError('throttled', `${name}: ${message}`, { cause: error });
  if (TOO_LARGE_NAMES.has(name) || status === 413) return new InvokeError('too-large', `${name}: ${message}`, { cause: error });
  if (status === undefined || status >= 500) return new InvokeError('unavailable', `${name}: ${message}`, { cause: error });
  return new InvokeError('rejected', `${name}: ${message}`, { cause: error });
}

/** A {@link FunctionInvoker} on the Lambda API. */
export class LambdaInvoker implements FunctionInvoker {
  private readonly client: LambdaClient;

  /**
   * @param client - a Lambda client, or settings for a new one
   */
  constructor(client: LambdaClient | LambdaClientConfig = {}) {
    this.client = client instanceof LambdaClient ? client : new LambdaClient(client);
  }

  /** {@inheritDoc FunctionInvoker.invokeAsync} */
  async invokeAsync(functionName: string, payload: string, options: InvokeOptions = {}): Promise<void> {
    try {
      await this.client.send(
        new InvokeCommand({ FunctionName: functionName, InvocationType: 'Event', Payload: Buffer.from(payload, 'utf8') }),
        {
          ...(options.signal && { abortSignal: options.signal }),
          ...(options.attemptTimeoutMs !== undefined && { requestTimeout: options.attemptTimeoutMs }),
        },
      );
    } catch (error) {
      throw classifyInvokeError(error, options.signal);
    }
  }

  /** {@inheritDoc FunctionInvoker.invokeSync} */
  async invokeSync(functionName: string, payload: string, options: InvokeOptions = {}): Promise<SyncInvokeResult> {
    try {
      const out = await this.client.send(
        new InvokeCommand({ FunctionName: functionName, InvocationType: 'RequestResponse', Payload: Buffer.from(payload, 'utf8') }),
        {
          ...(options.signal && { abortSignal: options.signal }),
          ...(options.attemptTimeoutMs !== undefined && { requestTimeout: options.attemptTimeoutMs }),
        },
      );
      const result: SyncInvokeResult = { payload: out.Payload ?? new Uint8Array() };
      if (out.FunctionError) result.functionError = out.FunctionError;
      return result;
    } catch (error) {
      throw classifyInvokeError(error, options.signal);
    }
  }
}
