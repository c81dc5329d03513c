/**
 * The shared core of the kit: configuration, the task store, continuations, event adapters,
 * the wait loop and the function invoker. Use it to build your own Proxy or Talker.
 *
 * @module core
 */
export * from './types';
export * from './caller';
export * from './config';
export * from './clock';
export * from './continuation';
export * from './dynamodb-task-store';
export * from './events';
export * from './failures';
export * from './idempotency';
export * from './invoker';
export * from './logger';
export * from './memory-task-store';
export * from './prefer';
export * from './responses';
export * from './result-codec';
export * from './secrets';
export * from './task-store';
export * from './wait';
