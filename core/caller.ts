/**
 * Who is calling: the scope of an `Idempotency-Key`, so that two callers never meet, even when
 * they send the same key with the same request.
 *
 * A caller is identified by the first of these that the request has:
 *
 * 1. **A verified subject**, which API Gateway verified and put in the event: a Cognito or JWT
 *    authorizer's `iss` and `sub` claims, an HTTP API IAM authorizer's `userArn` with its Cognito
 *    identity, or the IAM or Cognito identity of a REST API with IAM authorization (`userArn`,
 *    `user`, `caller`, `cognitoIdentityId`, `cognitoIdentityPoolId`,
 *    `cognitoAuthenticationProvider`). Nothing per-request is in it, so a refreshed token, or a
 *    request signed again, is the same caller and joins its task.
 * 2. **An authorizer's other output** (a Lambda authorizer's `principalId` and context, without
 *    `integrationLatency`) **together with the credentials** below: it is verified, but nothing
 *    says it names one caller (AWS's authorizer blueprint answers `principalId: 'user'` for
 *    everyone), so it only narrows the scope; without credentials the request is anonymous.
 * 3. **The credentials the request carries**, byte for byte: `Authorization`,
 *    `Proxy-Authorization`, `X-Api-Key`, `Api-Key`, `X-Amz-Security-Token`, the cookies (the
 *    `Cookie` header or an HTTP API's `cookies`, as a sorted set), API Gateway's API key
 *    (`identity.apiKeyId`) and the client certificate of mutual TLS. Nothing verified these, so
 *    nothing in them is trusted to name a person: a token's claims could be forged by anyone.
 *    A refreshed token, or a SigV4 signature made again, is therefore a new caller here (it
 *    starts a task of its own rather than joining); behind an authorizer it is not.
 *
 * The headers named in `IDEMPOTENCY_CALLER_HEADERS` count in every case. A request with none of
 * these is anonymous, and its key is not honoured: nothing tells two anonymous callers apart.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import type { IncomingRequest } from './events';
import type { ApiGatewayEvent } from './types';

/**
 * How the caller was identified: `verified` by a subject API Gateway verified, `authorizer` by
 * an authorizer's other output together with the credentials, `credentials` by the credentials
 * alone, `anonymous` by nothing (keys are then not honoured).
 */
export type CallerKind = 'verified' | 'authorizer' | 'credentials' | 'anonymous';

/** The caller of a request, as far as idempotency is concerned. */
export interface Caller {
  /** What the identity rests on. */
  kind: CallerKind;
  /** A hash of the identifying values (hex): equal for the same caller, different otherwise. */
  scope: string;
  /** The names of the parts used (never their values), e.g. `authorizer.claims.sub`, for logs. */
  parts: string[];
}

/** Options of {@link identifyCaller}. */
export interface CallerOptions {
  /** More request headers that identify a caller (`IDEMPOTENCY_CALLER_HEADERS`), lower case. */
  extraHeaders?: readonly string[];
}

/** Headers whose values are credentials, when no verified identity is present. */
export const CREDENTIAL_HEADERS = ['authorization', 'proxy-authorization', 'x-api-key', 'api-key', 'x-amz-security-token'] as const;

/** Parts of an authorizer's output that change from one request to the next. */
const VOLATILE_AUTHORIZER_KEYS = new Set(['integrationLatency']);

/** The parts of a REST API's `requestContext.identity` that API Gateway verified (IAM or Cognito). */
const VERIFIED_IDENTITY_KEYS = ['userArn', 'user', 'caller', 'cognitoIdentityId', 'cognitoIdentityPoolId', 'cognitoAuthenticationProvider'] as const;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A value as stable text: objects with sorted keys. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (isObject(value)) {
    return `{${Object.keys(value).sort().map((key) => `${JSON.stringify(key)}:${canonical(value[key])}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

type Parts = Array<[name: string, value: string]>;

/** A token's subject: its issuer and `sub` claims, when it has a `sub`. */
function subjectOfClaims(prefix: string, claims: unknown, out: Parts): boolean {
  if (!isObject(claims)) return false;
  const sub = claims['sub'];
  if (typeof sub !== 'string' || sub === '') return false;
  out.push([`${prefix}.iss`, String(claims['iss'] ?? '')], [`${prefix}.sub`, sub]);
  return true;
}

/**
 * The verified subject of a request: a token's `iss` and `sub` (a Cognito or JWT authorizer),
 * an IAM principal (`userArn`), or a Cognito identity. Each names one principal by definition.
 */
function subjectParts(context: Record<string, unknown>): Parts {
  const out: Parts = [];
  const authorizer = isObject(context['authorizer']) ? context['authorizer'] : {};
  subjectOfClaims('authorizer.claims', authorizer['claims'], out);
  subjectOfClaims('authorizer.jwt.claims', isObject(authorizer['jwt']) ? authorizer['jwt']['claims'] : undefined, out);
  // An HTTP API's IAM authorizer: the principal, not the (rotating) access key; and the Cognito
  // identity, since every user of an identity pool assumes the same role (one userArn).
  const iam = authorizer['iam'];
  if (isObject(iam) && typeof iam['userArn'] === 'string' && iam['userArn'] !== '') {
    out.push(['authorizer.iam.userArn', iam['userArn']]);
    const cognito = iam['cognitoIdentity'];
    if (isObject(cognito)) {
      for (const key of ['identityId', 'identityPoolId']) {
        const value = cognito[key];
        if (typeof value === 'string' && value !== '') out.push([`authorizer.iam.cognitoIdentity.${key}`, value]);
      }
    }
  }
  const identity = context['identity'];
  if (isObject(identity)) {
    for (const key of VERIFIED_IDENTITY_KEYS) {
      const value = identity[key];
      if (typeof value === 'string' && value !== '') out.push([`identity.${key}`, value]);
    }
  }
  return out;
}

/**
 * The rest of an authorizer's output (a Lambda authorizer's `principalId` and context, claims
 * without a subject): verified, but not known to name one caller (AWS's authorizer blueprint
 * returns the same `principalId` for everyone), so it counts only together with the credentials.
 */
function authorizerContextParts(context: Record<string, unknown>): Parts {
  const out: Parts = [];
  const authorizer = context['authorizer'];
  if (!isObject(authorizer)) return out;
  for (const key of Object.keys(authorizer).sort()) {
    const value = authorizer[key];
    if (VOLATILE_AUTHORIZER_KEYS.has(key) || value === undefined || value === null) continue;
    out.push([`authorizer.${key}`, canonical(value)]);
  }
  return out;
}

function cookieSet(event: Record<string, unknown>, request: IncomingRequest): string[] {
  const raw = [...(request.headers.get('cookie') ?? [])];
  const cookies = event['cookies'];
  if (Array.isArray(cookies)) for (const cookie of cookies) if (typeof cookie === 'string') raw.push(cookie);
  const set = new Set<string>();
  for (const value of raw) {
    for (const pair of value.split(';')) {
      const trimmed = pair.trim();
      if (trimmed !== '') set.add(trimmed);
    }
  }
  return [...set].sort();
}

function credentialParts(event: Record<string, unknown>, context: Record<string, unknown>, request: IncomingRequest): Parts {
  const out: Parts = [];
  for (const name of CREDENTIAL_HEADERS) {
    const values = request.headers.get(name);
    if (values && values.length > 0) out.push([`header.${name}`, canonical(values)]);
  }
  const cookies = cookieSet(event, request);
  if (cookies.length > 0) out.push(['cookies', canonical(cookies)]);
  const identity = isObject(context['identity']) ? context['identity'] : {};
  for (const key of ['apiKeyId', 'apiKey']) {
    const value = identity[key];
    if (typeof value === 'string' && value !== '') out.push([`identity.${key}`, value]);
  }
  // Mutual TLS: REST puts the certificate in identity, HTTP APIs in authentication.
  const authentication = isObject(context['authentication']) ? context['authentication'] : {};
  const cert = isObject(identity['clientCert']) ? identity['clientCert'] : isObject(authentication['clientCert']) ? authentication['clientCert'] : undefined;
  if (cert) out.push(['clientCert', canonical([cert['issuerDN'], cert['serialNumber'], cert['subjectDN']])]);
  return out;
}

/**
 * Identifies the caller of a request (see the module's description for exactly what counts).
 *
 * @param event - the event as API Gateway sent it
 * @param request - the same event, read
 * @param options - extra identifying headers
 * @example
 * ```ts
 * const caller = identifyCaller(event, readRequest(event));
 * caller.kind; // 'verified' behind an authorizer
 * ```
 */
export function identifyCaller(event: ApiGatewayEvent, request: IncomingRequest, options: CallerOptions = {}): Caller {
  const raw = (isObject(event) ? event : {}) as Record<string, unknown>;
  const context = isObject(raw['requestContext']) ? raw['requestContext'] : {};
  const subject = subjectParts(context);
  let kind: CallerKind;
  let parts: Parts;
  if (subject.length > 0) {
    kind = 'verified';
    parts = subject;
  } else {
    const authorizer = authorizerContextParts(context);
    kind = authorizer.length > 0 ? 'authorizer' : 'credentials';
    parts = credentialParts(raw, context, request);
  }
  for (const name of options.extraHeaders ?? []) {
    const values = request.headers.get(name.toLowerCase());
    if (values && values.length > 0) parts.push([`header.${name.toLowerCase()}`, canonical(values)]);
  }
  // An authorizer's output alone (no credential the kit can see) may be the same for every
  // caller: such a request is as anonymous as one without anything.
  const finalKind: CallerKind = parts.length === 0 ? 'anonymous' : kind;
  if (kind === 'authorizer') parts = [...authorizerContextParts(context), ...parts];
  const scope = createHash('sha256').update(canonical([finalKind, parts])).digest('hex');
  return { kind: finalKind, scope, parts: parts.map(([name]) => name) };
}
