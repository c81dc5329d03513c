/**
 * IAM and STS over the query protocol (form-encoded `Action=...` POSTs,
 * XML answers): roles, inline and attached role policies, customer managed
 * policies, and GetCallerIdentity; and the execution roles' sessions, whose credentials each
 * function gets, with {@link IamService.authorize} evaluating a session's role for a call.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import { AwsError, BodyTooLargeError } from '../errors';
import { ACCOUNT_ID, credentialScope, newRequestId, readBody, send } from '../http';
import { createHash } from 'node:crypto';
import { evaluateIdentityPolicies, evaluateResourcePolicy, statementsOf, type PolicyDecision } from './evaluate';
import { AWS_MANAGED_POLICIES } from './managed-policies';
import {
  deleteConflict, entityAlreadyExists, escapeXml, invalidAction, invalidInput, invalidValue, malformedPolicy, missingAction,
  missingParameter, noSuchEntity, requestTooLarge, sendQueryError, serviceFailure,
} from './errors';

const IAM_NS = 'https://iam.amazonaws.com/doc/2010-05-08/';
const STS_NS = 'https://sts.amazonaws.com/doc/2011-06-15/';

/** Actions answered by STS. */
export const STS_ACTIONS = new Set(['GetCallerIdentity', 'AssumeRole', 'GetSessionToken']);

interface Role {
  RoleName: string;
  RoleId: string;
  Arn: string;
  Path: string;
  CreateDate: string;
  AssumeRolePolicyDocument: string;
  Description?: string;
  MaxSessionDuration: number;
  Tags: { Key: string; Value: string }[];
  inline: Map<string, string>;
  attached: Map<string, string>;
}

interface ManagedPolicy {
  PolicyName: string;
  PolicyId: string;
  Arn: string;
  Path: string;
  DefaultVersionId: string;
  AttachmentCount: number;
  CreateDate: string;
  UpdateDate: string;
  Document: string;
  Description?: string;
}

type XmlValue = string | number | boolean | undefined | XmlValue[] | { [key: string]: XmlValue };

/** Serializes a value: objects become elements, arrays become `<member>` lists. */
function xml(value: XmlValue): string {
  if (value === undefined) return '';
  if (Array.isArray(value)) return value.map((v) => `<member>${xml(v)}</member>`).join('');
  if (typeof value === 'object') {
    return Object.entries(value).filter(([, v]) => v !== undefined).map(([k, v]) => `<${k}>${xml(v)}</${k}>`).join('');
  }
  return escapeXml(String(value));
}

function idOf(prefix: string): string {
  const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let s = prefix;
  const bytes = randomBytes(17);
  for (const b of bytes) s += chars[b % chars.length];
  return s;
}

function checkPolicy(doc: string): void {
  try {
    const v = JSON.parse(doc) as unknown;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not an object');
  } catch {
    throw malformedPolicy();
  }
}

/** The credentials of one execution role's session, as a function's environment gets them. */
export interface SessionCredentials {
  /** `AWS_ACCESS_KEY_ID`. */
  accessKeyId: string;
  /** `AWS_SECRET_ACCESS_KEY`. */
  secretAccessKey: string;
  /** `AWS_SESSION_TOKEN`. */
  sessionToken: string;
}

/** The answer to {@link IamService.authorize}. */
export type Authorization = { allowed: true } | {
  allowed: false;
  /** AWS's words: `User: <arn> is not authorized to perform: <action> on resource: <arn> because ...`. */
  message: string;
};

/** IAM and STS. */
export class IamService {
  private readonly roles = new Map<string, Role>();
  private readonly policies = new Map<string, ManagedPolicy>();
  /** Execution-role sessions by access key id. */
  private readonly sessions = new Map<string, { roleArn: string; sessionName: string }>();
  private readonly unknownManaged = new Set<string>();

  /**
   * @param options `enforce: false` allows every call (`--iam off`); `log` notes an AWS managed
   *   policy the stack does not know
   */
  constructor(private readonly options: { enforce?: boolean; log?: (line: string) => void } = {}) {}

  /** Whether calls are checked against the caller's role. */
  get enforcing(): boolean {
    return this.options.enforce !== false;
  }

  /**
   * The credentials of a session of an execution role (stable for a role and a function), which
   * the stack recognizes as that role's when a call is signed with them.
   * @param roleArn the function's role
   * @param sessionName the session's name: the function's name, as Lambda names it
   */
  credentialsFor(roleArn: string, sessionName: string): SessionCredentials {
    const digest = createHash('sha256').update(`${roleArn}\n${sessionName}`).digest();
    const accessKeyId = `ASIA${[...digest.subarray(0, 16)].map((b) => 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'[b % 32]).join('')}`;
    this.sessions.set(accessKeyId, { roleArn, sessionName });
    return { accessKeyId, secretAccessKey: digest.subarray(16).toString('base64'), sessionToken: `local-session-${accessKeyId}` };
  }

  /**
   * Whether the keys are those of a session of an execution role (whose calls are evaluated).
   * @param accessKeyId the access key the request was signed with, if any
   */
  isSession(accessKeyId: string | undefined): boolean {
    return accessKeyId !== undefined && this.sessions.has(accessKeyId);
  }

  /**
   * Whether the caller may make a call: a session of an execution role is evaluated against
   * that role's inline and attached policies; any other credentials are the account's own
   * (deploy scripts, the CLI, tests) and may do anything, as an administrator may.
   * @param accessKeyId the access key the request was signed with, if any
   * @param action e.g. `dynamodb:GetItem`
   * @param resource the resource's ARN
   */
  authorize(accessKeyId: string | undefined, action: string, resource: string): Authorization {
    if (!this.enforcing || accessKeyId === undefined) return { allowed: true };
    const session = this.sessions.get(accessKeyId);
    if (!session) return { allowed: true };
    const roleName = session.roleArn.slice(session.roleArn.lastIndexOf('/') + 1);
    const decision: PolicyDecision = evaluateIdentityPolicies(this.documentsOf(roleName), action, resource);
    if (decision === 'allowed') return { allowed: true };
    const user = `arn:aws:sts::${ACCOUNT_ID}:assumed-role/${roleName}/${session.sessionName}`;
    const because = decision === 'explicitly-denied'
      ? 'with an explicit deny in an identity-based policy'
      : `because no identity-based policy allows the ${action} action`;
    return { allowed: false, message: `User: ${user} is not authorized to perform: ${action} on resource: ${resource} ${because}` };
  }

  /**
   * Whether a service, assuming a role, may make a call (an API Gateway integration with
   * `credentials`): the role must exist, its trust policy must let the service assume it, and its
   * policies must allow the call. Undefined when it may, else why not.
   * @param roleArn the role the integration names
   * @param service the service principal, e.g. `apigateway.amazonaws.com`
   * @param action e.g. `lambda:InvokeFunction`
   * @param resource the resource's ARN
   * @param sourceArn the ARN the service calls from (its trust policy may test aws:SourceArn)
   */
  refusesAssumedRole(roleArn: string, service: string, action: string, resource: string, sourceArn: string): string | undefined {
    if (!this.enforcing) return undefined;
    const roleName = roleArn.slice(roleArn.lastIndexOf('/') + 1);
    const role = this.roles.get(roleName);
    if (!role || role.Arn !== roleArn) return `the role ${roleArn} does not exist`;
    // A trust policy names no Resource: the role itself is the resource.
    const trust = statementsOf(parsePolicy(role.AssumeRolePolicyDocument)).map((st) => ({ ...st, Resource: st.Resource ?? roleArn }));
    const assumable = evaluateResourcePolicy(trust, { service, action: 'sts:AssumeRole', resource: roleArn, sourceArn, sourceAccount: ACCOUNT_ID });
    if (assumable !== 'allowed') return `${service} may not assume ${roleArn} (its trust policy does not allow sts:AssumeRole for ${service})`;
    const decision = evaluateIdentityPolicies(this.documentsOf(roleName), action, resource);
    if (decision === 'allowed') return undefined;
    return `${roleArn} may not perform ${action} on ${resource} (${decision === 'explicitly-denied' ? 'an explicit deny' : 'no policy allows it'})`;
  }

  /** The policy documents of a role: inline, customer managed and the AWS managed ones the stack knows. */
  private documentsOf(roleName: string): unknown[] {
    const role = this.roles.get(roleName);
    if (!role) return [];
    const docs: unknown[] = [];
    for (const text of role.inline.values()) docs.push(parsePolicy(text));
    for (const arn of role.attached.keys()) {
      const customer = this.policies.get(arn);
      if (customer) {
        docs.push(parsePolicy(customer.Document));
        continue;
      }
      const name = arn.slice(arn.lastIndexOf('/') + 1);
      const known = AWS_MANAGED_POLICIES[name];
      if (known) docs.push(known);
      else if (!this.unknownManaged.has(arn)) {
        this.unknownManaged.add(arn);
        this.options.log?.(`[iam] ${arn} is an AWS managed policy the local stack does not know: it grants ${roleName} nothing here`);
      }
    }
    return docs;
  }

  /**
   * Answers one query-protocol request for IAM or STS.
   * @param req the request
   * @param res the response
   * @param service `iam` or `sts` (from the credential scope), or undefined to decide by action
   */
  async handle(req: IncomingMessage, res: ServerResponse, service: string | undefined): Promise<void> {
    let isSts = service === 'sts';
    try {
      let body: Buffer;
      try {
        body = await readBody(req, 1024 * 1024);
      } catch (err) {
        if (err instanceof BodyTooLargeError) throw requestTooLarge();
        throw err;
      }
      const params = new URLSearchParams(new URL(req.url ?? '/', 'http://localhost').search);
      for (const [k, v] of new URLSearchParams(body.toString('utf8'))) params.append(k, v);
      const action = params.get('Action') ?? '';
      if (service === undefined) isSts = STS_ACTIONS.has(action);
      if (!action) throw missingAction();
      const result = isSts ? this.sts(action, params, credentialScope(req)?.accessKeyId) : this.iam(action, params);
      const ns = isSts ? STS_NS : IAM_NS;
      const inner = result === undefined ? '' : `<${action}Result>${xml(result)}</${action}Result>`;
      send(res, 200, { 'Content-Type': 'text/xml', 'x-amzn-RequestId': newRequestId() },
        `<${action}Response xmlns="${ns}">${inner}<ResponseMetadata><RequestId>${newRequestId()}</RequestId></ResponseMetadata></${action}Response>`);
    } catch (err) {
      sendQueryError(res, err instanceof AwsError ? err : serviceFailure(), isSts ? STS_NS : IAM_NS);
    }
  }

  private sts(action: string, params: URLSearchParams, accessKeyId: string | undefined): XmlValue {
    if (action === 'GetCallerIdentity') {
      // A function's session is its role's: AWS answers the assumed-role ARN and ROLEID:SESSION.
      const session = accessKeyId === undefined ? undefined : this.sessions.get(accessKeyId);
      const role = session && this.roles.get(session.roleArn.slice(session.roleArn.lastIndexOf('/') + 1));
      if (session && role) {
        return { UserId: `${role.RoleId}:${session.sessionName}`, Account: ACCOUNT_ID, Arn: `arn:aws:sts::${ACCOUNT_ID}:assumed-role/${role.RoleName}/${session.sessionName}` };
      }
      return { UserId: 'AKIAIOSFODNN7EXAMPLE', Account: ACCOUNT_ID, Arn: `arn:aws:iam::${ACCOUNT_ID}:root` };
    }
    if (action === 'AssumeRole') {
      const arn = params.get('RoleArn');
      const session = params.get('RoleSessionName');
      if (!arn) throw missingParameter('roleArn');
      if (!session) throw missingParameter('roleSessionName');
      const expiration = new Date(Date.now() + Number(params.get('DurationSeconds') ?? 3600) * 1000).toISOString();
      return {
        Credentials: { AccessKeyId: idOf('ASIA').slice(0, 20), SecretAccessKey: randomBytes(30).toString('base64'), SessionToken: randomBytes(60).toString('base64'), Expiration: expiration },
        AssumedRoleUser: { AssumedRoleId: `${idOf('AROA').slice(0, 21)}:${session}`, Arn: arn.replace(':iam::', ':sts::').replace(':role/', ':assumed-role/') + `/${session}` },
      };
    }
    throw invalidAction(action, '2011-06-15');
  }

  private role(name: string | null): Role {
    if (!name) throw missingParameter('roleName');
    const role = this.roles.get(name);
    if (!role) throw noSuchEntity(`The role with name ${name} cannot be found.`);
    return role;
  }

  private renderRole(r: Role): XmlValue {
    return {
      Path: r.Path, RoleName: r.RoleName, RoleId: r.RoleId, Arn: r.Arn, CreateDate: r.CreateDate,
      AssumeRolePolicyDocument: encodeURIComponent(r.AssumeRolePolicyDocument),
      Description: r.Description, MaxSessionDuration: r.MaxSessionDuration,
      Tags: r.Tags.length ? r.Tags : undefined,
    };
  }

  private renderPolicy(p: ManagedPolicy): XmlValue {
    const { Document: _doc, ...rest } = p;
    return { ...rest, IsAttachable: true, PermissionsBoundaryUsageCount: 0 };
  }

  private tags(params: URLSearchParams): { Key: string; Value: string }[] {
    const out: { Key: string; Value: string }[] = [];
    for (let i = 1; params.has(`Tags.member.${i}.Key`); i++) {
      out.push({ Key: params.get(`Tags.member.${i}.Key`) ?? '', Value: params.get(`Tags.member.${i}.Value`) ?? '' });
    }
    return out;
  }

  private iam(action: string, p: URLSearchParams): XmlValue {
    const now = new Date().toISOString();
    switch (action) {
      case 'CreateRole': {
        const name = p.get('RoleName');
        const doc = p.get('AssumeRolePolicyDocument');
        if (!name) throw missingParameter('roleName');
        if (!doc) throw missingParameter('assumeRolePolicyDocument');
        if (!/^[\w+=,.@-]{1,64}$/.test(name)) {
          throw invalidValue(name, 'roleName', '[\\w+=,.@-]+');
        }
        checkPolicy(doc);
        if (this.roles.has(name)) throw entityAlreadyExists(`Role with name ${name} already exists.`);
        const path = p.get('Path') ?? '/';
        const role: Role = {
          RoleName: name, RoleId: idOf('AROA'), Arn: `arn:aws:iam::${ACCOUNT_ID}:role${path}${name}`, Path: path,
          CreateDate: now, AssumeRolePolicyDocument: doc, MaxSessionDuration: Number(p.get('MaxSessionDuration') ?? 3600),
          Tags: this.tags(p), inline: new Map(), attached: new Map(),
          ...(p.get('Description') !== null ? { Description: p.get('Description') ?? '' } : {}),
        };
        this.roles.set(name, role);
        return { Role: this.renderRole(role) };
      }
      case 'GetRole': {
        const role = this.role(p.get('RoleName'));
        return { Role: { ...(this.renderRole(role) as Record<string, XmlValue>), RoleLastUsed: {} } };
      }
      case 'ListRoles':
        return { IsTruncated: false, Roles: [...this.roles.values()].map((r) => this.renderRole(r)) };
      case 'DeleteRole': {
        const role = this.role(p.get('RoleName'));
        if (role.inline.size) throw deleteConflict('Cannot delete entity, must delete policies first.');
        if (role.attached.size) throw deleteConflict('Cannot delete entity, must detach all policies first.');
        this.roles.delete(role.RoleName);
        return undefined;
      }
      case 'UpdateRole': {
        const role = this.role(p.get('RoleName'));
        if (p.has('Description')) role.Description = p.get('Description') ?? '';
        if (p.has('MaxSessionDuration')) role.MaxSessionDuration = Number(p.get('MaxSessionDuration'));
        return {};
      }
      case 'UpdateAssumeRolePolicy': {
        const role = this.role(p.get('RoleName'));
        const doc = p.get('PolicyDocument');
        if (!doc) throw missingParameter('policyDocument');
        checkPolicy(doc);
        role.AssumeRolePolicyDocument = doc;
        return undefined;
      }
      case 'TagRole': {
        const role = this.role(p.get('RoleName'));
        for (const t of this.tags(p)) {
          role.Tags = role.Tags.filter((x) => x.Key !== t.Key);
          role.Tags.push(t);
        }
        return undefined;
      }
      case 'ListRoleTags':
        return { IsTruncated: false, Tags: this.role(p.get('RoleName')).Tags };
      case 'PutRolePolicy': {
        const role = this.role(p.get('RoleName'));
        const name = p.get('PolicyName');
        const doc = p.get('PolicyDocument');
        if (!name) throw missingParameter('policyName');
        if (!doc) throw missingParameter('policyDocument');
        checkPolicy(doc);
        role.inline.set(name, doc);
        return undefined;
      }
      case 'GetRolePolicy': {
        const role = this.role(p.get('RoleName'));
        const name = p.get('PolicyName') ?? '';
        const doc = role.inline.get(name);
        if (doc === undefined) throw noSuchEntity(`The role policy with name ${name} cannot be found.`);
        return { RoleName: role.RoleName, PolicyName: name, PolicyDocument: encodeURIComponent(doc) };
      }
      case 'DeleteRolePolicy': {
        const role = this.role(p.get('RoleName'));
        const name = p.get('PolicyName') ?? '';
        if (!role.inline.delete(name)) throw noSuchEntity(`The role policy with name ${name} cannot be found.`);
        return undefined;
      }
      case 'ListRolePolicies':
        return { IsTruncated: false, PolicyNames: [...this.role(p.get('RoleName')).inline.keys()] };
      case 'AttachRolePolicy': {
        const role = this.role(p.get('RoleName'));
        const arn = p.get('PolicyArn');
        if (!arn) throw missingParameter('policyArn');
        const m = /^arn:aws[a-zA-Z-]*:iam::(aws|\d{12}):policy\/(.*\/)?([\w+=,.@-]+)$/.exec(arn);
        if (!m) throw invalidInput(`ARN ${arn} is not valid.`);
        if (m[1] === ACCOUNT_ID) {
          const policy = this.policies.get(arn);
          if (!policy) throw noSuchEntity(`Policy ${arn} does not exist or is not attachable.`);
          if (!role.attached.has(arn)) policy.AttachmentCount++;
        }
        role.attached.set(arn, m[3] ?? arn);
        return undefined;
      }
      case 'DetachRolePolicy': {
        const role = this.role(p.get('RoleName'));
        const arn = p.get('PolicyArn') ?? '';
        if (!role.attached.delete(arn)) throw noSuchEntity(`Policy ${arn} was not found.`);
        const policy = this.policies.get(arn);
        if (policy) policy.AttachmentCount = Math.max(0, policy.AttachmentCount - 1);
        return undefined;
      }
      case 'ListAttachedRolePolicies': {
        const role = this.role(p.get('RoleName'));
        return { IsTruncated: false, AttachedPolicies: [...role.attached].map(([PolicyArn, PolicyName]) => ({ PolicyName, PolicyArn })) };
      }
      case 'CreatePolicy': {
        const name = p.get('PolicyName');
        const doc = p.get('PolicyDocument');
        if (!name) throw missingParameter('policyName');
        if (!doc) throw missingParameter('policyDocument');
        checkPolicy(doc);
        const path = p.get('Path') ?? '/';
        const arn = `arn:aws:iam::${ACCOUNT_ID}:policy${path}${name}`;
        if (this.policies.has(arn)) throw entityAlreadyExists(`A policy called ${name} already exists. Duplicate names are not allowed.`);
        const policy: ManagedPolicy = {
          PolicyName: name, PolicyId: idOf('ANPA'), Arn: arn, Path: path, DefaultVersionId: 'v1', AttachmentCount: 0,
          CreateDate: now, UpdateDate: now, Document: doc,
          ...(p.get('Description') !== null ? { Description: p.get('Description') ?? '' } : {}),
        };
        this.policies.set(arn, policy);
        return { Policy: this.renderPolicy(policy) };
      }
      case 'GetPolicy': {
        const arn = p.get('PolicyArn') ?? '';
        const policy = this.policies.get(arn);
        if (!policy) throw noSuchEntity(`Policy ${arn} was not found.`);
        return { Policy: this.renderPolicy(policy) };
      }
      case 'DeletePolicy': {
        const arn = p.get('PolicyArn') ?? '';
        const policy = this.policies.get(arn);
        if (!policy) throw noSuchEntity(`Policy ${arn} was not found.`);
        if (policy.AttachmentCount > 0) throw deleteConflict('Cannot delete a policy attached to entities.');
        this.policies.delete(arn);
        return undefined;
      }
      default:
        throw invalidAction(action, '2010-05-08');
    }
  }
}

function parsePolicy(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    try {
      return JSON.parse(decodeURIComponent(text)) as unknown;
    } catch {
      return {};
    }
  }
}
