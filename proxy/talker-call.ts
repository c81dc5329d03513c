/**
 * Handing a new request's task to its Talker.
 *
 * A request that waits invokes the Talker synchronously (`RequestResponse`) and waits for its
 * answer until the window ends: when Main ends inside the window, its response comes back in
 * the Talker's answer, and the request needs no status read and no result read. The Talker
 * still claims the task (so Main runs once) and stores the result before it answers (so a
 * Proxy that left finds it in the table). Everything else comes back to the table:
 *
 * - the window ends first: the Talker runs on (Lambda does not stop an invocation whose caller
 *   has gone), and a status read gives the continuation its progress (or finds the outcome
 *   recorded at the last moment); after a wait of {@link MIN_WAIT_FOR_CLAIM_MS} or more, a task
 *   still `PENDING` means that no Talker started (a hung Lambda API: a cold start takes seconds,
 *   and Lambda's init phase is limited to 10 s), and the invoke counts as failed, so that the
 *   caller withdraws the task and answers "nothing ran" instead of waiting for
 *   `PENDING_TIMEOUT_SECONDS`; after a shorter wait the Talker may still be starting;
 * - Lambda throttles the synchronous invoke: the Talker is queued (`Event`) instead, which
 *   Lambda accepts and retries itself;
 * - the Talker answers without Main's response (Main failed, the task was claimed already, or
 *   the response was too large to return): the table holds the outcome;
 * - the Talker itself failed (a function error: its init failed, it crashed): a `function-error`
 *   {@link InvokeError}, and the caller withdraws the task, which succeeds only when the Talker
 *   never claimed it (then nothing ran, and the client may send the request again).
 *
 * A `Prefer: respond-async` request, a window too short to be worth waiting on, and
 * `TALKER_INVOCATION_TYPE=Event` queue the Talker and leave the rest to the table.
 *
 * @module
 */
import { InvokeError, type SyncInvokeResult } from '../core/invoker';
import { StoreUnavailableError } from '../core/task-store';
import type { TalkerPayload } from '../core/types';
import type { WaitWindow } from './deadline';
import type { ProxyCall, ProxyRuntime } from './runtime';

/** The shortest window worth a synchronous invoke, in ms: a shorter one (`Prefer: wait=0`) queues the Talker. */
export const MIN_SYNC_WINDOW_MS = 250;

/**
 * How long a synchronous invoke must have been waited on before a task that no Talker claimed
 * counts as never started, in ms: longer than a cold start with Lambda's 10 s init limit.
 */
export const MIN_WAIT_FOR_CLAIM_MS = 15_000;

/** Main's response, returned by the Talker inside the window. */
export interface TalkerResponded {
  /** Always `response`. */
  kind: 'response';
  /** Main's response as Main returned it (JSON text). */
  text: string;
  /** The Talker stored it in the task's own row: retiring the task is one write. */
  resultInline: boolean;
}

/**
 * The Talker was queued, answered without Main's response, or still runs at the window's end:
 * the table holds (or will hold) the outcome.
 */
export interface TalkerOutcomeInTable {
  /** Always `in-table`. */
  kind: 'in-table';
}

/** How handing the task to the Talker ended. */
export type Dispatch = TalkerResponded | TalkerOutcomeInTable;

/** What a Talker's answer says, as far as the Proxy reads it. */
interface TalkerAnswer {
  outcome?: unknown;
  requestId?: unknown;
  response?: unknown;
  resultInline?: unknown;
}

/**
 * Reads the Talker's answer: Main's response when the Talker returned it for this task,
 * otherwise the table has the outcome.
 *
 * @param answer - Lambda's answer to the synchronous invoke
 * @param requestId - the task the Talker was given
 */
export function readTalkerAnswer(answer: SyncInvokeResult, requestId: string): Dispatch {
  if (answer.functionError !== undefined) return { kind: 'in-table' };
  let parsed: TalkerAnswer;
  try {
    parsed = JSON.parse(Buffer.from(answer.payload).toString('utf8')) as TalkerAnswer;
  } catch {
    return { kind: 'in-table' };
  }
  // Only the answer for this very task: one caller never receives another's result.
  if (parsed?.outcome === 'CREATED' && parsed.requestId === requestId && typeof parsed.response === 'string') {
    // A Talker that does not say (an older one) stored it apart.
    return { kind: 'response', text: parsed.response, resultInline: parsed.resultInline === true };
  }
  return { kind: 'in-table' };
}

/**
 * The window closed on a synchronous invoke: a Talker that claimed the task runs on; one that has
 * not claimed it in the whole window never started.
 */
async function windowClosed(rt: ProxyRuntime, call: ProxyCall, requestId: string, waitedMs: number): Promise<Dispatch> {
  // A shorter wait proves nothing: the Talker may be starting. The wait that follows reads.
  if (waitedMs < MIN_WAIT_FOR_CLAIM_MS) return { kind: 'in-table' };
  let view;
  try {
    view = await rt.store.readStatus(requestId, rt.clock.now(), call.deadline.storeCall());
  } catch (error) {
    // The wait that follows reads again, and answers with the continuation if the table fails.
    if (error instanceof StoreUnavailableError) return { kind: 'in-table' };
    throw error;
  }
  if (view?.status === 'PENDING') throw new InvokeError('aborted', `no Talker claimed the task in ${Math.round(waitedMs / 1000)} s of waiting`);
  return { kind: 'in-table' };
}

/**
 * Hands the task to the Talker: waits for its answer inside the window, or queues it.
 *
 * @param rt - the runtime
 * @param call - the call
 * @param payload - the task and the original event
 * @param window - the wait window; none for a request that does not wait (`respond-async`)
 * @throws {@link InvokeError} when Lambda refused the Talker, the invoke failed, or the Talker
 *   itself failed: whether the Talker has the task is then for the table to say
 */
export async function dispatchTalker(rt: ProxyRuntime, call: ProxyCall, payload: TalkerPayload, window: WaitWindow | undefined): Promise<Dispatch> {
  const { config, invoker, clock, logger } = rt;
  const name = config.talkerFunctionName;
  const queue = async (): Promise<Dispatch> => {
    await invoker.invokeAsync(name, JSON.stringify(payload), call.deadline.dispatchCall());
    return { kind: 'in-table' };
  };
  const left = window === undefined ? 0 : window.until - clock.now();
  if (window === undefined || config.talkerInvocationType === 'Event' || left < MIN_SYNC_WINDOW_MS) return queue();

  const signal = call.deadline.signal(window.until);
  const waitStarted = clock.now();
  let answer: SyncInvokeResult;
  try {
    // The window's end stops the wait, not the SDK's attempt timeout: a longer attempt never
    // retries a Talker that is running.
    answer = await invoker.invokeSync(name, JSON.stringify({ ...payload, returnResult: true } satisfies TalkerPayload), {
      signal,
      attemptTimeoutMs: left + config.safetyMarginMs,
    });
  } catch (error) {
    if (!(error instanceof InvokeError)) throw error;
    if (error.kind === 'aborted' && signal.aborted) return windowClosed(rt, call, payload.requestId, clock.now() - waitStarted);
    if (error.kind === 'throttled') {
      // Lambda did not run it: an Event invoke is accepted under the same throttle, and Lambda
      // retries it itself.
      logger.info('talker throttled: queued instead', { requestId: payload.requestId, error: error.message });
      return queue();
    }
    throw error;
  }
  if (answer.functionError !== undefined) {
    throw new InvokeError('function-error', `the Talker failed (${answer.functionError}): ${Buffer.from(answer.payload).toString('utf8').slice(0, 300)}`);
  }
  const read = readTalkerAnswer(answer, payload.requestId);
  if (read.kind === 'in-table') logger.info('the Talker answered without Main\'s response: reading the table', { requestId: payload.requestId });
  return read;
}
