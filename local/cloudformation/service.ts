/**
 * CloudFormation's API over the query protocol (form-encoded `Action=...` POSTs, API version
 * 2010-05-15, XML answers as IAM's): CreateStack, UpdateStack, DeleteStack, DescribeStacks,
 * DescribeStackEvents, DescribeStackResources, DescribeStackResource, ListStackResources,
 * ListStacks and GetTemplate. Stack operations run in {@link CloudFormationEngine}.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AwsError, BodyTooLargeError } from '../errors';
import { newRequestId, readBody, regionOf, send } from '../http';
import { escapeXml, invalidAction, missingAction, sendQueryError } from '../iam/errors';
import type { S3Service } from '../s3/service';
import { CLOUDFORMATION_NS, stackNotFound, validationError } from './errors';
import { CloudFormationEngine, type EngineOptions, type Stack, type StackInput, type StackResource } from './engine';
import type { GivenParameter } from './template';

/** Largest TemplateBody CloudFormation takes in a call (bytes); larger ones go through S3 (TemplateURL). */
const MAX_TEMPLATE_BODY = 51_200;

/** Largest template read from S3 (bytes). */
const MAX_TEMPLATE_URL_BODY = 1_048_576;

type XmlValue = string | number | boolean | Date | undefined | XmlValue[] | { [key: string]: XmlValue };

/** Serializes a value: objects become elements, arrays `<member>` lists, dates ISO 8601. */
function xml(value: XmlValue): string {
  if (value === undefined) return '';
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map((v) => `<member>${xml(v)}</member>`).join('');
  if (typeof value === 'object') {
    return Object.entries(value).filter(([, v]) => v !== undefined).map(([k, v]) => `<${k}>${xml(v)}</${k}>`).join('');
  }
  return escapeXml(String(value));
}

/** The `X.member.N` list of a query. */
function members(params: URLSearchParams, name: string): string[] {
  const out: string[] = [];
  for (let i = 1; params.has(`${name}.member.${i}`); i++) out.push(params.get(`${name}.member.${i}`) ?? '');
  return out;
}

function givenParameters(params: URLSearchParams): GivenParameter[] {
  const out: GivenParameter[] = [];
  for (let i = 1; params.has(`Parameters.member.${i}.ParameterKey`); i++) {
    const value = params.get(`Parameters.member.${i}.ParameterValue`);
    out.push({
      ParameterKey: params.get(`Parameters.member.${i}.ParameterKey`) ?? '',
      ...(value !== null && { ParameterValue: value }),
      ...(params.get(`Parameters.member.${i}.UsePreviousValue`) === 'true' && { UsePreviousValue: true }),
    });
  }
  return out;
}

function renderResource(stack: Stack, r: StackResource): Record<string, XmlValue> {
  return {
    StackName: stack.name, StackId: stack.id, LogicalResourceId: r.logicalId, PhysicalResourceId: r.state?.physicalId,
    ResourceType: r.type, Timestamp: r.timestamp, ResourceStatus: r.status, ResourceStatusReason: r.reason,
    DriftInformation: { StackResourceDriftStatus: 'NOT_CHECKED' },
  };
}

/** CloudFormation. */
export class CloudFormationService {
  /** The stacks and their operations. */
  readonly engine: CloudFormationEngine;

  /**
   * @param options the engine's services, the region for unsigned calls, S3 for TemplateURL, and where faults are written
   */
  constructor(private readonly options: EngineOptions & { defaultRegion: string; s3: S3Service; log: (line: string) => void }) {
    this.engine = new CloudFormationEngine(options);
  }

  /**
   * Answers one CloudFormation request.
   * @param req the request
   * @param res the response
   */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      let body: Buffer;
      try {
        body = await readBody(req, 2 * MAX_TEMPLATE_URL_BODY);
      } catch (err) {
        if (err instanceof BodyTooLargeError) throw validationError(`Template may not exceed ${MAX_TEMPLATE_BODY} bytes in size.`);
        throw err;
      }
      const params = new URLSearchParams(new URL(req.url ?? '/', 'http://localhost').search);
      for (const [k, v] of new URLSearchParams(body.toString('utf8'))) params.append(k, v);
      const action = params.get('Action') ?? '';
      if (!action) throw missingAction();
      const result = this.dispatch(action, params, regionOf(req, this.options.defaultRegion));
      const inner = result === undefined ? '' : `<${action}Result>${xml(result)}</${action}Result>`;
      send(res, 200, { 'Content-Type': 'text/xml', 'x-amzn-RequestId': newRequestId() },
        `<${action}Response xmlns="${CLOUDFORMATION_NS}">${inner}<ResponseMetadata><RequestId>${newRequestId()}</RequestId></ResponseMetadata></${action}Response>`);
    } catch (err) {
      sendQueryError(res, err instanceof AwsError ? err : new AwsError(500, 'InternalFailure', 'An internal error occurred in the local stack.'), CLOUDFORMATION_NS);
      if (!(err instanceof AwsError)) this.options.log(`[local-stack] CloudFormation fault: ${err instanceof Error ? err.stack : String(err)}`);
    }
  }

  /** Resolves once no stack operation is running. */
  idle(): Promise<void> {
    return this.engine.idle();
  }

  private input(params: URLSearchParams): StackInput {
    const stackName = params.get('StackName');
    if (!stackName) throw validationError("1 validation error detected: Value null at 'stackName' failed to satisfy constraint: Member must not be null");
    let templateBody = params.get('TemplateBody') ?? undefined;
    if (templateBody !== undefined && Buffer.byteLength(templateBody) > MAX_TEMPLATE_BODY) {
      throw validationError(`1 validation error detected: Value '${templateBody.slice(0, 32)}...' at 'templateBody' failed to satisfy constraint: Member must have length less than or equal to ${MAX_TEMPLATE_BODY}`);
    }
    const url = params.get('TemplateURL');
    if (templateBody === undefined && url) templateBody = this.templateFromS3(url);
    return {
      stackName, parameters: givenParameters(params), capabilities: members(params, 'Capabilities'),
      ...(templateBody !== undefined && { templateBody }),
      ...(params.get('UsePreviousTemplate') === 'true' && { usePreviousTemplate: true }),
      ...(params.get('DisableRollback') === 'true' && { disableRollback: true }),
    };
  }

  /** A TemplateURL's object from the stack's own S3 (path-style or virtual-hosted URL). */
  private templateFromS3(url: string): string {
    let bucket: string;
    let key: string;
    try {
      const u = new URL(url);
      const hosted = /^([^.]+)\.s3[.-]/.exec(u.hostname);
      const path = u.pathname.split('/').slice(1).map(decodeURIComponent);
      [bucket, key] = hosted ? [hosted[1] ?? '', path.join('/')] : [path[0] ?? '', path.slice(1).join('/')];
    } catch {
      throw validationError('TemplateURL must be a supported URL.');
    }
    try {
      const object = this.options.s3.getObject(bucket, key);
      if (object.body.length > MAX_TEMPLATE_URL_BODY) throw validationError(`Template may not exceed ${MAX_TEMPLATE_URL_BODY} bytes in size.`);
      return object.body.toString('utf8');
    } catch (err) {
      if (err instanceof AwsError && err.code.startsWith('NoSuch')) throw validationError(`S3 error: Access Denied or ${err.message} (${url})`);
      throw err;
    }
  }

  private dispatch(action: string, p: URLSearchParams, region: string): XmlValue {
    switch (action) {
      case 'CreateStack':
        return { StackId: this.engine.create(this.input(p), region) };
      case 'UpdateStack':
        return { StackId: this.engine.update(this.input(p)) };
      case 'DeleteStack':
        this.engine.delete(p.get('StackName') ?? '');
        return undefined;
      case 'DescribeStacks': {
        const name = p.get('StackName');
        const stacks = name ? [this.live(name, true)] : this.engine.list();
        return { Stacks: stacks.map((s) => this.renderStack(s)) };
      }
      case 'ListStacks': {
        const filter = members(p, 'StackStatusFilter');
        // Deleted stacks too, as AWS lists them (DELETE_COMPLETE, with their DeletionTime).
        const summaries = this.engine.listAll().filter((s) => filter.length === 0 || filter.includes(s.status)).map((s) => ({
          StackId: s.id, StackName: s.name, CreationTime: s.created, LastUpdatedTime: s.updated, DeletionTime: s.deleted, StackStatus: s.status,
          StackStatusReason: s.reason, TemplateDescription: s.template.Description, DriftInformation: { StackDriftStatus: 'NOT_CHECKED' },
        }));
        return { StackSummaries: summaries };
      }
      case 'DescribeStackEvents': {
        const stack = this.live(p.get('StackName') ?? '', true);
        return { StackEvents: [...stack.events].reverse().map((e) => ({ ...e })) };
      }
      case 'DescribeStackResources': {
        const stack = this.live(p.get('StackName') ?? '', true);
        const logical = p.get('LogicalResourceId');
        return { StackResources: [...stack.resources.values()].filter((r) => !logical || r.logicalId === logical).map((r) => renderResource(stack, r)) };
      }
      case 'DescribeStackResource': {
        const stack = this.live(p.get('StackName') ?? '', true);
        const id = p.get('LogicalResourceId') ?? '';
        const r = stack.resources.get(id);
        if (!r) throw validationError(`Resource ${id} does not exist for stack ${stack.name}`);
        return { StackResourceDetail: { ...renderResource(stack, r), LastUpdatedTimestamp: r.timestamp, Timestamp: undefined } };
      }
      case 'ListStackResources': {
        const stack = this.live(p.get('StackName') ?? '', true);
        return {
          StackResourceSummaries: [...stack.resources.values()].map((r) => ({
            LogicalResourceId: r.logicalId, PhysicalResourceId: r.state?.physicalId, ResourceType: r.type, LastUpdatedTimestamp: r.timestamp,
            ResourceStatus: r.status, ResourceStatusReason: r.reason, DriftInformation: { StackResourceDriftStatus: 'NOT_CHECKED' },
          })),
        };
      }
      case 'GetTemplate': {
        const stack = this.live(p.get('StackName') ?? '', true);
        return { TemplateBody: stack.templateBody, StagesAvailable: ['Original', 'Processed'] };
      }
      default:
        throw invalidAction(action, '2010-05-15');
    }
  }

  /** A stack by name (live only, as AWS answers a deleted stack's name) or by id (deleted ones too). */
  private live(nameOrId: string, allowDeletedById: boolean): Stack {
    const stack = this.engine.find(nameOrId);
    if (stack.deleted && (!allowDeletedById || !nameOrId.startsWith('arn:'))) throw stackNotFound(nameOrId);
    return stack;
  }

  private renderStack(s: Stack): Record<string, XmlValue> {
    return {
      StackId: s.id, StackName: s.name, Description: s.template.Description,
      Parameters: s.parameters.length ? s.parameters.map((p) => ({
        ParameterKey: p.ParameterKey, ParameterValue: p.NoEcho ? '****' : p.ParameterValue, ResolvedValue: p.NoEcho ? undefined : p.ResolvedValue,
      })) : undefined,
      CreationTime: s.created, LastUpdatedTime: s.updated, DeletionTime: s.deleted, StackStatus: s.status, StackStatusReason: s.reason,
      DisableRollback: s.disableRollback, NotificationARNs: [], Capabilities: s.capabilities.length ? s.capabilities : undefined,
      Outputs: s.outputs.length ? s.outputs.map((o) => ({ OutputKey: o.OutputKey, OutputValue: o.OutputValue, Description: o.Description })) : undefined,
      Tags: [], EnableTerminationProtection: false, DriftInformation: { StackDriftStatus: 'NOT_CHECKED' },
    };
  }
}
