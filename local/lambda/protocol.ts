/**
 * Messages between the stack and a function's execution environment
 * (a worker thread running `worker.ts`).
 */

/** Data a worker starts with. */
export interface WorkerInit {
  /** Directory of the unpacked code (LAMBDA_TASK_ROOT). */
  taskRoot: string;
  /** Handler string, e.g. `index.handler`. */
  handler: string;
}

/** The error payload Lambda returns for a function error. */
export interface FunctionErrorPayload {
  /** Error name, e.g. `Error`, `Sandbox.Timedout`. */
  errorType: string;
  /** Error message. */
  errorMessage: string;
  /** Stack lines. */
  trace?: string[];
}

/** Stack → worker: run one invocation. */
export interface InvokeMessage {
  /** Discriminator. */
  type: 'invoke';
  /** The awsRequestId. */
  requestId: string;
  /** The event as JSON text. */
  payload: string;
  /** Epoch ms when the invocation times out. */
  deadline: number;
  /** Context fields. */
  context: {
    functionName: string;
    functionVersion: string;
    invokedFunctionArn: string;
    memoryLimitInMB: string;
    logGroupName: string;
    logStreamName: string;
    clientContext?: unknown;
    traceId: string;
  };
}

/** Worker → stack messages. */
export type WorkerMessage =
  | { type: 'ready'; streaming: boolean; osThreadId?: number }
  | { type: 'init-error'; error: FunctionErrorPayload }
  | { type: 'log'; text: string }
  | { type: 'content-type'; requestId: string; contentType: string }
  | { type: 'chunk'; requestId: string; data: Uint8Array }
  | { type: 'done'; requestId: string; ok: true; payload: string; heapUsed: number }
  | { type: 'done'; requestId: string; ok: false; error: FunctionErrorPayload; heapUsed: number }
  | { type: 'fatal'; error: FunctionErrorPayload };
