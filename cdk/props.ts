// The construct's properties: the deploy script's options, as CDK types.
import type { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type * as apigateway from 'aws-cdk-lib/aws-apigateway';
import type * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { EndpointType, TransferMode } from '../core/config';

/** The kind of API in front of the Proxy: a REST API (payload 1.0) or an HTTP API (payload 2.0). */
export type KitApiType = 'rest' | 'http';

/**
 * A secret the Proxy reads from its environment (`API_KEY`, `SIGNING_SECRET`). The template holds
 * a CloudFormation dynamic reference to it, never its text; CloudFormation resolves it when it
 * writes the function's configuration.
 */
export interface KitSecret {
  /** The Secrets Manager secret. */
  secret: secretsmanager.ISecret;
  /** The JSON field of the secret's value to use; the whole SecretString when left out. */
  jsonField?: string;
}

/** Lambda code per function, to replace what the construct bundles from this repository. */
export interface KitCode {
  /** The Proxy's code (its zip must export `handler`, and `streamHandler` for stream mode). */
  proxy?: lambda.Code;
  /** The Talker's code. */
  talker?: lambda.Code;
  /** main-example's code (used only when no `main` is given). */
  mainExample?: lambda.Code;
}

/** Lambda timeouts per function. */
export interface KitTimeouts {
  /** The Proxy's (default: 6 s more than the longest answer it may take: 35 s buffered). */
  proxy?: Duration;
  /** The Talker's (default 180 s; it must outlast Main). */
  talker?: Duration;
  /** main-example's (default 150 s; only when no `main` is given). */
  mainExample?: Duration;
}

/** Extra environment variables per function. A variable the construct sets itself, or one Lambda reserves, is refused. */
export interface KitEnvironment {
  /** The Proxy's (see PROXY_ENV in core/config.ts: POLL_*, TASK_TTL_SECONDS, ...). */
  proxy?: Record<string, string>;
  /** The Talker's (see TALKER_ENV: MAX_RESULT_BYTES, THROTTLE_RETRIES, ...). */
  talker?: Record<string, string>;
  /** main-example's. */
  mainExample?: Record<string, string>;
}

/** What {@link LongRequestKit} takes. Every member is optional: `new LongRequestKit(this, 'Kit')` deploys the kit with main-example behind a new REST API. */
export interface LongRequestKitProps {
  /** The slow function the kit fronts, unchanged. Left out: the construct deploys main-example. */
  main?: lambda.IFunction;
  /** main-example's `DELAY_SECONDS` (default 60); only without `main`. */
  mainDelaySeconds?: number;
  /** The API to create when neither `restApi` nor `httpApi` is given (default `rest`). */
  apiType?: KitApiType;
  /**
   * An existing REST API to attach to: the kit adds `ANY /` and `ANY /{proxy+}` (and the optional
   * routes) to its root, whose root must have no methods of its own. A RestApi of this app serves
   * the kit at its deployment stage; an imported one (`RestApi.fromRestApiAttributes`) has no
   * deployment CDK keeps current, so the kit deploys it to `stageName` itself.
   */
  restApi?: apigateway.IRestApi;
  /**
   * An existing HTTP API to attach to: the kit adds routes `ANY /` and `ANY /{proxy+}` (and the
   * optional ones) and serves at its `$default` stage, which must auto-deploy. An imported one
   * needs its `apiEndpoint`.
   */
  httpApi?: apigwv2.IHttpApi;
  /** A new REST API's stage, or the one an imported REST API is deployed to (default `dev`). HTTP APIs use `$default`. */
  stageName?: string;
  /** A new REST API's endpoint type (default `REGIONAL`). */
  endpointType?: EndpointType;
  /** How the Proxy's integrations pass its answer on (default `buffered`; `stream` needs a REST API). */
  transferMode?: TransferMode;
  /** The Proxy's integrations' timeout (default 29 s buffered, 15 min stream, 30 s on an HTTP API). */
  integrationTimeout?: Duration;
  /** The Proxy's wait window, `WAIT_SECONDS` (default: 2 s less than the longest answer). */
  waitSeconds?: number;
  /** The key new requests must carry (`API_KEY`), from Secrets Manager. */
  apiKey?: KitSecret;
  /** The secret that signs continuation links (`SIGNING_SECRET`, 32 characters or more), from Secrets Manager. */
  signingSecret?: KitSecret;
  /** The results route: `GET <resultsPath>/{id}` reaches the Proxy (e.g. `/_results`). */
  resultsPath?: string;
  /** `CORS_ALLOW_ORIGIN`: `*` or one origin like `https://app.example.com`. */
  corsOrigin?: string;
  /** A REST API's binary media types (e.g. `image/png`, `*\/*`); none by default. */
  binaryMediaTypes?: string[];
  /** Routes `/direct` and `/direct/{proxy+}` straight to Main, to show the cut-off (default false). */
  directRoute?: boolean;
  /** Memory of each function the construct creates, MB (default 256). */
  memorySize?: number;
  /** Lambda timeouts. */
  timeouts?: KitTimeouts;
  /** Architecture of each function the construct creates (default x86_64). */
  architecture?: lambda.Architecture;
  /** Extra environment variables. */
  environment?: KitEnvironment;
  /** Code to use instead of bundling this repository's functions. */
  code?: KitCode;
  /** What happens to the tasks table when the stack is deleted (default DESTROY: it holds only short-lived tasks). */
  tableRemovalPolicy?: RemovalPolicy;
}
