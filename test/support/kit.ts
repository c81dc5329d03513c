/**
 * The whole kit wired in one process: the real Proxy and Talker handlers, a real DynamoDB API
 * (dynalite), and Lambda invocations in-process. Tests register their own Main functions.
 */
import { EventEmitter } from 'node:events';
import type { APIGatewayProxyEvent, APIGatewayProxyEventV2 } from 'aws-lambda';
import { loadProxyConfig, loadTalkerConfig, type Environment, type ProxyConfig } from '../../core/config';
import { DynamoTaskStore } from '../../core/dynamodb-task-store';
import { MemoryTaskStore } from '../../core/memory-task-store';
import type { TaskStore } from '../../core/task-store';
import { silentLogger, type KitLogger } from '../../core/logger';
import { createProxy, createProxyHandler, type ProxyHandler } from '../../proxy/proxy';
import { createTalker, createTalkerHandler, type TalkerOutcome } from '../../talker/talker';
import { startDynamo, testCredentials, type TestDynamo } from './dynalite';
import { httpApiEvent, restEvent, type RequestSpec } from './events';
import { InProcessLambda, type AnyHandler } from './in-process-lambda';

export const TABLE = 'tasks';
export const TALKER = 'kit-talker';
export const MAIN = 'kit-main';

export interface KitOptions {
  proxyEnv?: Environment;
  talkerEnv?: Environment;
  proxyTimeoutMs?: number;
  talkerTimeoutMs?: number;
  mainTimeoutMs?: number;
  logger?: KitLogger;
  /** Use the in-memory store instead of dynalite (for fast fuzzing). */
  memoryStore?: boolean;
  /**
   * `production`: build the handlers as in Lambda (`createProxyHandler`, `createTalkerHandler`),
   * so that they make their own DynamoDB clients with their own settings and timeouts, found
   * through `AWS_ENDPOINT_URL_DYNAMODB`. Only the invoker stays in-process. One production kit
   * at a time per test file (the endpoint is an environment variable).
   */
  wiring?: 'test' | 'production';
  /** A DynamoDB endpoint with the table to use (e.g. the local stack's) instead of a dynalite of its own. */
  dynamoEndpoint?: string;
  /** Wraps the Proxy's store (test wiring only), e.g. to make a race happen. */
  wrapProxyStore?: (store: TaskStore) => TaskStore;
  /** Wraps the Talker's store (test wiring only). */
  wrapTalkerStore?: (store: TaskStore) => TaskStore;
}

export interface ProxyAnswer {
  statusCode: number;
  headers: Record<string, string>;
  multiValueHeaders?: Record<string, string[]>;
  cookies?: string[];
  body: string;
  isBase64Encoded?: boolean;
}

export class Kit {
  readonly lambda = new InProcessLambda();
  readonly talkerOutcomes: TalkerOutcome[] = [];
  /** Emits `talker` with each Talker outcome. */
  readonly events = new EventEmitter();
  proxy!: ProxyHandler;
  proxyConfig!: ProxyConfig;
  store!: TaskStore;
  dynamo?: TestDynamo;
  private options: KitOptions = {};

  static async start(options: KitOptions = {}): Promise<Kit> {
    const kit = new Kit();
    kit.options = options;
    if (options.memoryStore) {
      kit.store = new MemoryTaskStore();
    } else {
      let endpoint = options.dynamoEndpoint;
      if (endpoint === undefined) {
        kit.dynamo = await startDynamo();
        await kit.dynamo.createTable(TABLE);
        endpoint = kit.dynamo.endpoint;
      }
      kit.endpoint = endpoint;
      kit.store = new DynamoTaskStore({
        tableName: TABLE,
        clientConfig: { endpoint, region: 'us-east-1', credentials: testCredentials, maxAttempts: 1 },
      });
      if (options.wiring === 'production') {
        process.env['AWS_ENDPOINT_URL_DYNAMODB'] = endpoint;
        process.env['AWS_REGION'] = 'us-east-1';
        process.env['AWS_ACCESS_KEY_ID'] = testCredentials.accessKeyId;
        process.env['AWS_SECRET_ACCESS_KEY'] = testCredentials.secretAccessKey;
      }
    }
    kit.configure(options.proxyEnv ?? {});
    const talkerDeps = {
      config: loadTalkerConfig({ DYNAMODB_TABLE_NAME: TABLE, MAIN_LAMBDA_NAME: MAIN, ...options.talkerEnv }),
      invoker: kit.lambda,
      logger: options.logger ?? silentLogger,
    };
    const talkerStore = options.wrapTalkerStore ? options.wrapTalkerStore(kit.store) : kit.store;
    const talker = options.wiring === 'production' ? createTalkerHandler(talkerDeps) : createTalker({ ...talkerDeps, store: talkerStore });
    kit.lambda.register(
      TALKER,
      async (payload, context) => {
        const outcome = await talker(payload, context);
        kit.talkerOutcomes.push(outcome);
        kit.events.emit('talker', outcome);
        return outcome;
      },
      options.talkerTimeoutMs ?? 180_000,
    );
    return kit;
  }

  /** The DynamoDB endpoint the kit uses (unset with the memory store). */
  endpoint?: string;

  /** (Re)builds the Proxy with another environment. */
  configure(proxyEnv: Environment): void {
    this.proxyConfig = loadProxyConfig({ DYNAMODB_TABLE_NAME: TABLE, LAMBDA_TALKER_NAME: TALKER, ...proxyEnv });
    const deps = { config: this.proxyConfig, invoker: this.lambda, logger: this.options.logger ?? silentLogger };
    if (this.options.wiring === 'production') {
      this.proxy = createProxyHandler(deps);
      return;
    }
    const store = this.options.wrapProxyStore ? this.options.wrapProxyStore(this.store) : this.store;
    this.proxy = createProxy({ ...deps, store });
  }

  main(handler: AnyHandler, timeoutMs = this.options.mainTimeoutMs ?? 150_000): this {
    this.lambda.register(MAIN, handler, timeoutMs);
    return this;
  }

  mainCalls(): number {
    return this.lambda.countCalls(MAIN);
  }

  /** One call of the Proxy, as API Gateway would make it. */
  async call(event: APIGatewayProxyEvent | APIGatewayProxyEventV2, remainingMs = this.options.proxyTimeoutMs ?? 35_000): Promise<ProxyAnswer> {
    const started = Date.now();
    const result = await this.proxy(event, {
      getRemainingTimeInMillis: () => Math.max(0, remainingMs - (Date.now() - started)),
      awsRequestId: 'proxy-invocation',
    });
    return result as ProxyAnswer;
  }

  /** Calls the Proxy like a client would, following 303s (as GETs) until a final answer. */
  async follow(spec: RequestSpec & { format?: '1.0' | '2.0'; maxHops?: number }): Promise<{ answer: ProxyAnswer; hops: string[] }> {
    const build = spec.format === '2.0' ? httpApiEvent : restEvent;
    let answer = await this.call(build(spec));
    const hops: string[] = [];
    let url = spec.url;
    while (answer.statusCode === 303 && hops.length < (spec.maxHops ?? 100)) {
      const location = answer.headers['Location'] as string;
      url = new URL(location, url).toString();
      hops.push(url);
      const next: RequestSpec = { url, method: 'GET' };
      if (spec.prefix !== undefined) next.prefix = spec.prefix;
      if (spec.headers?.['Accept']) next.headers = { Accept: spec.headers['Accept'] };
      answer = await this.call(build(next));
    }
    return { answer, hops };
  }

  async stop(): Promise<void> {
    await this.lambda.idle();
    await this.dynamo?.stop();
  }
}

export const BASE = 'https://abc123.execute-api.us-east-1.amazonaws.com';
