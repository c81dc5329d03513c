/**
 * Stack operations as CloudFormation runs them, after the call that started them has returned:
 * create (resources in dependency order; on a failure, rollback deleting what was created),
 * update (create what is new, update in place or replace what changed, then delete what is gone
 * and what was replaced, in reverse dependency order; on a failure, the update is rolled back)
 * and delete. Every step is a stack event; a stack that settles emits `stack-settled`.
 */
import { randomUUID } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import { AwsError, messageOf } from '../errors';
import { ACCOUNT_ID } from '../http';
import type { SecretsManagerService } from '../secretsmanager/service';
import type { SsmService } from '../ssm/service';
import { TemplateError, noUpdates, stackAlreadyExists, stackNotFound, validationError, insufficientCapabilities } from './errors';
import { NO_VALUE, resolveValue, type Json, type ResolveContext } from './intrinsics';
import { resolveDynamicReferences, secureReferencePath, secureReferenceRefused } from './dynamic-references';
import { RESOURCE_HANDLERS, clientsFor, type Clients, type HandlerContext, type Props, type ResourceState } from './resources';
import {
  checkRules, creationOrder, dependenciesOf, evaluateConditions, missingCapability, orEmpty, parameterValue, parseTemplate,
  resolveParameters, type GivenParameter, type StackParameter, type Template,
} from './template';

/** A resource of a stack, as the stack records it. */
export interface StackResource {
  /** Logical id. */
  logicalId: string;
  /** Type. */
  type: string;
  /** Status (`CREATE_COMPLETE` ...). */
  status: string;
  /** Why, when it failed. */
  reason?: string;
  /** When it last changed. */
  timestamp: Date;
  /** Properties once intrinsics were resolved (dynamic references not: a changed secret is no update, as on AWS). */
  props: Props;
  /** Physical id and attributes, once created. */
  state?: ResourceState;
}

/** One stack event. */
export interface StackEvent {
  /** Id. */
  EventId: string;
  /** Stack id. */
  StackId: string;
  /** Stack name. */
  StackName: string;
  /** Logical id (the stack's name for the stack itself). */
  LogicalResourceId: string;
  /** Physical id, if known. */
  PhysicalResourceId?: string;
  /** Type. */
  ResourceType: string;
  /** When. */
  Timestamp: Date;
  /** Status. */
  ResourceStatus: string;
  /** Why. */
  ResourceStatusReason?: string;
}

/** A stack. */
export interface Stack {
  /** ARN. */
  id: string;
  /** Name. */
  name: string;
  /** Region. */
  region: string;
  /** Status. */
  status: string;
  /** Why it is in that status. */
  reason?: string;
  /** Template body as given. */
  templateBody: string;
  /** Parsed template. */
  template: Template;
  /** Resolved parameters. */
  parameters: StackParameter[];
  /** Acknowledged capabilities. */
  capabilities: string[];
  /** Resources by logical id. */
  resources: Map<string, StackResource>;
  /** Events, oldest first. */
  events: StackEvent[];
  /** Outputs once complete. */
  outputs: Array<{ OutputKey: string; OutputValue: string; Description?: string }>;
  /** Creation time. */
  created: Date;
  /** Last update time. */
  updated?: Date;
  /** Deletion time. */
  deleted?: Date;
  /** Whether rollback is disabled. */
  disableRollback: boolean;
}

/** The payload of the `stack-settled` event. */
export interface StackSettledEvent {
  /** The stack's name. */
  stackName: string;
  /** The stack's id. */
  stackId: string;
  /** Its status now (`CREATE_COMPLETE`, `ROLLBACK_COMPLETE`, `UPDATE_COMPLETE`, `DELETE_COMPLETE` ...). */
  status: string;
}

/** What a CreateStack or UpdateStack call gives. */
export interface StackInput {
  /** Stack name or id. */
  stackName: string;
  /** Template body (undefined with usePreviousTemplate). */
  templateBody?: string;
  /** Keep the stack's template (UpdateStack). */
  usePreviousTemplate?: boolean;
  /** Parameters. */
  parameters: GivenParameter[];
  /** Capabilities. */
  capabilities: string[];
  /** DisableRollback (CreateStack). */
  disableRollback?: boolean;
}

/** Statuses in which a stack accepts an update. */
const UPDATABLE: ReadonlySet<string> = new Set(['CREATE_COMPLETE', 'UPDATE_COMPLETE', 'UPDATE_ROLLBACK_COMPLETE']);

const STACK_NAME = /^[a-zA-Z][-a-zA-Z0-9]{0,127}$/;

/** What the engine needs of the stack. */
export interface EngineOptions {
  /** The stack's base URL, for the SDK clients. */
  endpoint: () => string;
  /** The stack's events. */
  events: EventEmitter;
  /** SSM, for parameters and references. */
  ssm: SsmService;
  /** Secrets Manager, for secrets and references. */
  secrets: SecretsManagerService;
  /** Where a fault of the engine itself is written. */
  log: (line: string) => void;
}

/** The stacks and their operations. */
export class CloudFormationEngine {
  /** Live stacks by name. */
  private readonly stacks = new Map<string, Stack>();
  /** Every stack by id, deleted ones too. */
  private readonly byId = new Map<string, Stack>();
  private readonly clients = new Map<string, Clients>();
  private readonly running = new Set<Promise<void>>();
  /** The values each stack's dynamic references read from Secrets Manager: masked in every event and reason. */
  private readonly secretValues = new WeakMap<Stack, Set<string>>();

  /** @param options the stack's services */
  constructor(private readonly options: EngineOptions) {}

  /**
   * A stack by name (live only) or id (deleted too).
   * @param nameOrId name or ARN
   */
  find(nameOrId: string): Stack {
    const stack = this.stacks.get(nameOrId) ?? this.byId.get(nameOrId);
    if (!stack) throw stackNotFound(nameOrId);
    return stack;
  }

  /** Live stacks, oldest first. */
  list(): Stack[] {
    return [...this.stacks.values()];
  }

  /** Every stack, deleted ones too (ListStacks keeps a deleted stack's summary for 90 days on AWS), oldest first. */
  listAll(): Stack[] {
    return [...this.byId.values()];
  }

  /** Resolves once no operation is running (for stop()). */
  async idle(): Promise<void> {
    while (this.running.size) await Promise.allSettled([...this.running]);
  }

  /**
   * CreateStack: checks the template, parameters, rules and capabilities, then creates the
   * stack's resources after returning.
   * @param input the call's fields
   * @param region the region it was signed for
   * @returns the stack's id
   */
  create(input: StackInput, region: string): string {
    if (!STACK_NAME.test(input.stackName)) {
      throw validationError(`1 validation error detected: Value '${input.stackName}' at 'stackName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z][-a-zA-Z0-9]*|arn:[-a-zA-Z0-9:/._+]*`);
    }
    if (this.stacks.has(input.stackName)) throw stackAlreadyExists(input.stackName);
    if (input.templateBody === undefined) throw validationError('Either Template URL or Template Body must be specified.');
    const template = parseTemplate(input.templateBody);
    const id = `arn:aws:cloudformation:${region}:${ACCOUNT_ID}:stack/${input.stackName}/${randomUUID()}`;
    const parameters = this.prepare(template, input, [], region, input.stackName, id);
    const stack: Stack = {
      id, name: input.stackName, region, status: 'CREATE_IN_PROGRESS', templateBody: input.templateBody, template, parameters,
      capabilities: input.capabilities, resources: new Map(), events: [], outputs: [], created: new Date(),
      disableRollback: input.disableRollback === true,
    };
    this.stacks.set(stack.name, stack);
    this.byId.set(stack.id, stack);
    this.stackEvent(stack, 'CREATE_IN_PROGRESS', 'User Initiated');
    this.run(stack, 'CREATE_FAILED', () => this.runCreate(stack));
    return id;
  }

  /**
   * UpdateStack: checks as CreateStack does and that something changes, then updates after
   * returning.
   * @param input the call's fields
   * @returns the stack's id
   */
  update(input: StackInput): string {
    const stack = this.find(input.stackName);
    if (stack.deleted) throw stackNotFound(input.stackName);
    if (!UPDATABLE.has(stack.status)) throw validationError(`Stack:${stack.id} is in ${stack.status} state and can not be updated.`);
    const body = input.usePreviousTemplate ? stack.templateBody : input.templateBody;
    if (body === undefined) throw validationError('Either Template URL or Template Body must be specified.');
    const template = parseTemplate(body);
    const parameters = this.prepare(template, input, stack.parameters, stack.region, stack.name, stack.id);
    if (body === stack.templateBody && JSON.stringify(parameters) === JSON.stringify(stack.parameters)) throw noUpdates();
    const previous = { template: stack.template, templateBody: stack.templateBody, parameters: stack.parameters };
    const plan = this.plan(stack, template, parameters);
    if (plan === undefined) throw noUpdates();
    stack.template = template;
    stack.templateBody = body;
    stack.parameters = parameters;
    stack.capabilities = input.capabilities;
    stack.updated = new Date();
    this.setStatus(stack, 'UPDATE_IN_PROGRESS', 'User Initiated');
    this.run(stack, 'UPDATE_ROLLBACK_FAILED', () => this.runUpdate(stack, previous));
    return stack.id;
  }

  /**
   * DeleteStack: deletes after returning; a stack that is not there is no error, as on AWS.
   * @param nameOrId name or id
   */
  delete(nameOrId: string): void {
    const stack = this.stacks.get(nameOrId) ?? this.byId.get(nameOrId);
    if (!stack || stack.deleted || stack.status === 'DELETE_IN_PROGRESS') return;
    if (stack.status.endsWith('_IN_PROGRESS')) throw validationError(`Stack [${stack.name}] cannot be deleted while in status ${stack.status}`);
    this.setStatus(stack, 'DELETE_IN_PROGRESS', 'User Initiated');
    this.run(stack, 'DELETE_FAILED', () => this.runDelete(stack));
  }

  /** Runs an operation after the call; a fault of the engine itself ends it in `failed`, so that no stack stays in progress. */
  private run(stack: Stack, failed: string, operation: () => Promise<void>): void {
    const p = operation().catch((err: unknown) => {
      try {
        this.options.log(`[cloudformation] ${stack.name}: ${this.mask(stack, err instanceof Error ? String(err.stack) : String(err))}`);
        this.setStatus(stack, failed, `Internal failure of the local stack: ${messageOf(err)}`);
        this.settled(stack);
      } catch {
        // Nothing is left to report to: the operation must not end as an unhandled rejection.
      }
    }).finally(() => this.running.delete(p));
    this.running.add(p);
  }

  /** Parameters, rules and capabilities, as the call is refused for them. */
  private prepare(template: Template, input: StackInput, previous: StackParameter[], region: string, name: string, id: string): StackParameter[] {
    const parameters = resolveParameters(template, input.parameters, previous, (n) => this.readSsm(region, n));
    const ctx = this.baseContext(template, parameters, region, name, id);
    // A cycle is refused at the call, before any resource is touched, as on AWS.
    creationOrder(template, evaluateConditions(template, ctx));
    refuseSecureReferences(template);
    checkRules(template, { ...ctx, condition: () => false });
    const capability = missingCapability(template, input.capabilities);
    if (capability) throw insufficientCapabilities(capability);
    return parameters;
  }

  private baseContext(template: Template, parameters: StackParameter[], region: string, name: string, id: string): Omit<ResolveContext, 'condition'> {
    const refs: Record<string, Json> = {
      'AWS::Region': region, 'AWS::AccountId': ACCOUNT_ID, 'AWS::Partition': 'aws', 'AWS::URLSuffix': 'amazonaws.com',
      'AWS::StackName': name, 'AWS::StackId': id, 'AWS::NotificationARNs': [],
    };
    for (const p of parameters) refs[p.ParameterKey] = parameterValue(template, p);
    return {
      refs, mappings: template.Mappings, region,
      resourceRef: () => undefined,
      attribute: (logicalId) => {
        throw new TemplateError(`Template format error: Unresolved resource dependencies [${logicalId}] in the Resources block of the template`);
      },
    };
  }

  /** The full resolve context of a stack whose resources are `resources`. */
  private context(stack: Stack, template: Template, parameters: StackParameter[], resources: Map<string, StackResource>): ResolveContext {
    const base = this.baseContext(template, parameters, stack.region, stack.name, stack.id);
    const conditions = evaluateConditions(template, base);
    return {
      ...base,
      condition: (name) => {
        if (!Object.hasOwn(conditions, name)) throw new TemplateError(`Template format error: Unresolved dependencies [${name}]. Cannot reference resources in the Conditions block of the template`);
        return conditions[name] ?? false;
      },
      resourceRef: (logicalId) => {
        const r = resources.get(logicalId);
        if (!r?.state) return undefined;
        return r.state.attributes.Ref ?? r.state.physicalId;
      },
      attribute: (logicalId, attribute) => {
        const r = resources.get(logicalId);
        if (!r?.state) throw new TemplateError(`Template format error: Unresolved resource dependencies [${logicalId}] in the Resources block of the template`);
        const value = r.state.attributes[attribute];
        if (value === undefined) throw new TemplateError(`Template error: resource ${logicalId} does not support attribute type ${attribute} in Fn::GetAtt`);
        return value;
      },
    };
  }

  private handlerContext(stack: Stack, logicalId: string): HandlerContext {
    let clients = this.clients.get(stack.region);
    if (!clients) {
      clients = clientsFor(this.options.endpoint(), stack.region);
      this.clients.set(stack.region, clients);
    }
    return { region: stack.region, stackName: stack.name, logicalId, clients, secrets: this.options.secrets, ssm: this.options.ssm, events: this.options.events };
  }

  /** Whether an update changes anything (a resource added, removed or changed, or an output). */
  private plan(stack: Stack, template: Template, parameters: StackParameter[]): true | undefined {
    const conditions = evaluateConditions(template, this.baseContext(template, parameters, stack.region, stack.name, stack.id));
    const order = creationOrder(template, conditions);
    if (order.length !== stack.resources.size || order.some((id) => !stack.resources.has(id))) return true;
    for (const id of order) {
      const before = stack.resources.get(id);
      const resource = template.Resources[id];
      if (!before || !resource || before.type !== resource.Type) return true;
      try {
        const props = orEmpty(resolveValue((resource.Properties ?? {}) as Json, this.context(stack, template, parameters, stack.resources)));
        if (JSON.stringify(props) !== JSON.stringify(before.props)) return true;
      } catch {
        return true;
      }
    }
    return JSON.stringify(template.Outputs) !== JSON.stringify(stack.template.Outputs) ? true : undefined;
  }

  private async runCreate(stack: Stack): Promise<void> {
    const failed = await this.apply(stack, stack.template, stack.parameters, 'CREATE', []);
    if (!failed) {
      this.finishOutputs(stack, 'CREATE_COMPLETE');
      return;
    }
    if (stack.disableRollback) {
      this.setStatus(stack, 'CREATE_FAILED', `The following resource(s) failed to create: [${failed}]. `);
      this.settled(stack);
      return;
    }
    this.setStatus(stack, 'ROLLBACK_IN_PROGRESS', `The following resource(s) failed to create: [${failed}]. Rollback requested by user.`);
    const ok = await this.deleteResources(stack, [...stack.resources.keys()].reverse(), true);
    this.setStatus(stack, ok ? 'ROLLBACK_COMPLETE' : 'ROLLBACK_FAILED');
    this.settled(stack);
  }

  private async runUpdate(stack: Stack, previous: { template: Template; templateBody: string; parameters: StackParameter[] }): Promise<void> {
    const snapshot = new Map([...stack.resources].map(([id, r]) => [id, { ...r }]));
    const replaced: StackResource[] = [];
    const removed: StackResource[] = [];
    const failed = await this.apply(stack, stack.template, stack.parameters, 'UPDATE', replaced, removed);
    if (!failed) {
      this.setStatus(stack, 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS');
      await this.cleanup(stack, previous.template, snapshot, replaced, removed);
      this.finishOutputs(stack, 'UPDATE_COMPLETE');
      return;
    }
    this.setStatus(stack, 'UPDATE_ROLLBACK_IN_PROGRESS', `The following resource(s) failed to update: [${failed}]. `);
    // Back to the previous template: changed resources get their old properties again; new ones
    // (and the new halves of replacements) are deleted.
    const current = stack.resources;
    const failedTemplate = stack.template;
    stack.template = previous.template;
    stack.templateBody = previous.templateBody;
    stack.parameters = previous.parameters;
    const created = [...current.keys()].filter((id) => !snapshot.has(id));
    const newer: StackResource[] = [];
    const notReverted: string[] = [];
    for (const id of [...snapshot.keys()]) {
      const before = snapshot.get(id) as StackResource;
      const now = current.get(id);
      if (!now || now.state?.physicalId !== before.state?.physicalId) {
        current.set(id, before);
        if (now?.state && now.state.physicalId !== before.state?.physicalId) newer.push(now);
        continue;
      }
      if (JSON.stringify(now.props) !== JSON.stringify(before.props)) {
        this.resourceEvent(stack, now, 'UPDATE_IN_PROGRESS');
        try {
          const props = await this.dynamicProps(stack, before.props, now.type);
          const handler = RESOURCE_HANDLERS[now.type];
          await handler?.update?.(props, { props: await this.dynamicProps(stack, now.props, now.type), state: now.state as ResourceState }, this.handlerContext(stack, id));
          current.set(id, { ...before, status: 'UPDATE_COMPLETE', timestamp: new Date() });
          this.resourceEvent(stack, current.get(id) as StackResource, 'UPDATE_COMPLETE');
        } catch (err) {
          // The resource keeps what the failed update gave it; the stack cannot say it rolled back.
          const reason = this.reasonOf(stack, err);
          current.set(id, { ...now, status: 'UPDATE_FAILED', reason, timestamp: new Date() });
          this.resourceEvent(stack, now, 'UPDATE_FAILED', reason);
          notReverted.push(id);
        }
      }
    }
    if (notReverted.length) {
      // AWS stops here: the stack waits in UPDATE_ROLLBACK_FAILED for ContinueUpdateRollback or a deletion.
      this.setStatus(stack, 'UPDATE_ROLLBACK_FAILED', `The following resource(s) failed to update: [${notReverted.join(', ')}]. `);
      this.settled(stack);
      return;
    }
    this.setStatus(stack, 'UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS');
    for (const id of created.reverse()) {
      const r = current.get(id);
      // Created by the update being rolled back: RetainExceptOnCreate lets it go.
      if (r) await this.deleteOne(stack, r, { retain: retains(failedTemplate.Resources[id]?.DeletionPolicy, true) });
      current.delete(id);
    }
    for (const r of newer) await this.deleteOne(stack, r, { retain: false, record: false });
    this.setStatus(stack, 'UPDATE_ROLLBACK_COMPLETE');
    this.settled(stack);
  }

  private async runDelete(stack: Stack): Promise<void> {
    const order = this.deletionOrder(stack.template, [...stack.resources.keys()]);
    const ok = await this.deleteResources(stack, order, false);
    if (!ok) {
      const failed = [...stack.resources.values()].filter((r) => r.status === 'DELETE_FAILED').map((r) => r.logicalId);
      this.setStatus(stack, 'DELETE_FAILED', `The following resource(s) failed to delete: [${failed.join(', ')}]. `);
      this.settled(stack);
      return;
    }
    this.setStatus(stack, 'DELETE_COMPLETE');
    stack.deleted = new Date();
    this.stacks.delete(stack.name);
    this.settled(stack);
  }

  /**
   * Creates or updates every resource of the template in dependency order; returns the logical
   * id that failed, if one did.
   */
  private async apply(
    stack: Stack, template: Template, parameters: StackParameter[], verb: 'CREATE' | 'UPDATE', replaced: StackResource[], removed: StackResource[] = [],
  ): Promise<string | undefined> {
    const ctx = this.context(stack, template, parameters, stack.resources);
    let order: string[];
    try {
      order = creationOrder(template, evaluateConditions(template, this.baseContext(template, parameters, stack.region, stack.name, stack.id)));
    } catch (err) {
      stack.reason = this.reasonOf(stack, err);
      return stack.name;
    }
    for (const id of order) {
      const resource = template.Resources[id];
      if (!resource) continue;
      const existing = stack.resources.get(id);
      const record: StackResource = { logicalId: id, type: resource.Type, status: `CREATE_IN_PROGRESS`, timestamp: new Date(), props: {} };
      try {
        record.props = orEmpty(resolveValue((resource.Properties ?? {}) as Json, ctx));
      } catch (err) {
        stack.resources.set(id, record);
        this.resourceEvent(stack, record, 'CREATE_FAILED', this.reasonOf(stack, err));
        if (!existing) stack.resources.delete(id);
        return id;
      }
      const handler = RESOURCE_HANDLERS[resource.Type];
      if (existing && existing.state && existing.type === resource.Type) {
        if (JSON.stringify(existing.props) === JSON.stringify(record.props)) continue;
        this.resourceEvent(stack, { ...existing, props: record.props }, 'UPDATE_IN_PROGRESS');
        try {
          const props = await this.dynamicProps(stack, record.props, resource.Type);
          const state = await handler?.update?.(props, { props: await this.dynamicProps(stack, existing.props, existing.type), state: existing.state }, this.handlerContext(stack, id));
          if (state) {
            stack.resources.set(id, { ...existing, props: record.props, state, status: 'UPDATE_COMPLETE', timestamp: new Date() });
            this.resourceEvent(stack, stack.resources.get(id) as StackResource, 'UPDATE_COMPLETE');
            continue;
          }
          // Replacement: a new resource now, the old one deleted during cleanup.
          this.resourceEvent(stack, existing, 'UPDATE_IN_PROGRESS', 'Requested update requires the creation of a new physical resource; hence creating one.');
          const created = await handler?.create(props, this.handlerContext(stack, id));
          if (!created) throw new Error(`Resource type ${resource.Type} is not supported by the local stack`);
          replaced.push(existing);
          stack.resources.set(id, { ...existing, props: record.props, state: created, status: 'UPDATE_COMPLETE', timestamp: new Date() });
          this.resourceEvent(stack, stack.resources.get(id) as StackResource, 'UPDATE_COMPLETE');
        } catch (err) {
          this.resourceEvent(stack, existing, 'UPDATE_FAILED', this.reasonOf(stack, err));
          return id;
        }
        continue;
      }
      if (existing?.state) replaced.push(existing);
      stack.resources.set(id, record);
      this.resourceEvent(stack, record, 'CREATE_IN_PROGRESS');
      try {
        if (!handler) throw new Error(`Resource type ${resource.Type} is not supported by the local stack`);
        const props = await this.dynamicProps(stack, record.props, resource.Type);
        this.resourceEvent(stack, record, 'CREATE_IN_PROGRESS', 'Resource creation Initiated');
        record.state = await handler.create(props, this.handlerContext(stack, id));
        record.status = 'CREATE_COMPLETE';
        record.timestamp = new Date();
        this.resourceEvent(stack, record, 'CREATE_COMPLETE');
      } catch (err) {
        record.status = 'CREATE_FAILED';
        record.reason = this.reasonOf(stack, err);
        this.resourceEvent(stack, record, 'CREATE_FAILED', record.reason);
        if (verb === 'UPDATE' && existing) stack.resources.set(id, existing);
        return id;
      }
    }
    if (verb === 'UPDATE') {
      // Resources the new template no longer has are deleted during cleanup.
      const keep = new Set(order);
      for (const [id, r] of stack.resources) {
        if (!keep.has(id)) {
          stack.resources.delete(id);
          removed.push(r);
        }
      }
    }
    return undefined;
  }

  /**
   * After an update: the replaced and removed resources go, in reverse dependency order. A
   * removed resource follows the previous template's DeletionPolicy (the new one no longer has
   * it); the old half of a replacement follows UpdateReplacePolicy, not DeletionPolicy (AWS's
   * DeletionPolicy attribute page: it "doesn't apply to resources whose physical instance is
   * replaced during stack update operations").
   */
  private async cleanup(stack: Stack, previous: Template, before: Map<string, StackResource>, replaced: StackResource[], removed: StackResource[]): Promise<void> {
    const order = this.deletionOrder(previous, [...before.keys()]);
    const gone = [...replaced.map((r) => ({ r, replaced: true })), ...removed.map((r) => ({ r, replaced: false }))];
    gone.sort((a, b) => order.indexOf(a.r.logicalId) - order.indexOf(b.r.logicalId));
    for (const { r, replaced: wasReplaced } of gone) {
      const retain = wasReplaced
        ? retains(stack.template.Resources[r.logicalId]?.UpdateReplacePolicy, false)
        : retains(previous.Resources[r.logicalId]?.DeletionPolicy, false);
      await this.deleteOne(stack, r, { retain, record: false });
    }
  }

  /** Logical ids in an order in which each goes before what it depends on. */
  private deletionOrder(template: Template, ids: string[]): string[] {
    const deps = dependenciesOf(template);
    const out: string[] = [];
    const seen = new Set<string>();
    const present = new Set(ids);
    const visit = (id: string): void => {
      if (seen.has(id)) return;
      seen.add(id);
      for (const dep of deps.get(id) ?? []) if (present.has(dep)) visit(dep);
      out.push(id);
    };
    for (const id of ids) visit(id);
    return out.reverse();
  }

  /** A stack deletion, or the rollback of its creation: each resource as its DeletionPolicy says. */
  private async deleteResources(stack: Stack, order: string[], rollingBackCreation: boolean): Promise<boolean> {
    let ok = true;
    for (const id of order) {
      const r = stack.resources.get(id);
      if (!r) continue;
      const retain = retains(stack.template.Resources[id]?.DeletionPolicy, rollingBackCreation);
      if (await this.deleteOne(stack, r, { retain })) stack.resources.delete(id);
      else ok = false;
    }
    return ok;
  }

  /**
   * Deletes one resource (nothing to do for one never created), or keeps it as DELETE_SKIPPED
   * when its policy retains it; returns whether it is gone from the stack. The delete gets the
   * properties as recorded: dynamic references are read for a create or update only.
   */
  private async deleteOne(stack: Stack, r: StackResource, options: { retain: boolean; record?: boolean }): Promise<boolean> {
    const record = options.record ?? true;
    if (!r.state || r.status === 'CREATE_FAILED') {
      if (r.status === 'CREATE_FAILED') this.resourceEvent(stack, r, 'DELETE_COMPLETE');
      return true;
    }
    const retain = options.retain;
    this.resourceEvent(stack, r, 'DELETE_IN_PROGRESS');
    try {
      if (!retain) await RESOURCE_HANDLERS[r.type]?.delete(r.state, r.props, this.handlerContext(stack, r.logicalId));
      if (record) r.status = retain ? 'DELETE_SKIPPED' : 'DELETE_COMPLETE';
      this.resourceEvent(stack, r, retain ? 'DELETE_SKIPPED' : 'DELETE_COMPLETE');
      return true;
    } catch (err) {
      if (record) r.status = 'DELETE_FAILED';
      this.resourceEvent(stack, r, 'DELETE_FAILED', this.reasonOf(stack, err));
      return false;
    }
  }

  /**
   * Properties with their `{{resolve:...}}` references read (at deploy time, as on AWS; never
   * for a deletion). An `ssm-secure` reference that intrinsics built is refused here.
   */
  private async dynamicProps(stack: Stack, props: Props, type: string): Promise<Props> {
    const path = secureReferencePath(props, `${type}/Properties`);
    if (path) throw secureReferenceRefused(path);
    let secrets = this.secretValues.get(stack);
    if (!secrets) this.secretValues.set(stack, (secrets = new Set()));
    const read: string[] = [];
    try {
      return resolveDynamicReferences(props, {
        ssm: (name) => this.readSsm(stack.region, name),
        secret: (id, version) => this.options.secrets.secretString(stack.region, id, version),
      }, read) as Props;
    } finally {
      for (const value of read) secrets.add(value);
    }
  }

  private finishOutputs(stack: Stack, status: string): void {
    try {
      const ctx = this.context(stack, stack.template, stack.parameters, stack.resources);
      stack.outputs = [];
      for (const [key, output] of Object.entries(stack.template.Outputs)) {
        if (output.Condition !== undefined && !ctx.condition(output.Condition)) continue;
        const value = resolveValue(output.Value, ctx);
        if (value === NO_VALUE) continue;
        stack.outputs.push({
          OutputKey: key, OutputValue: Array.isArray(value) ? value.join(',') : typeof value === 'string' ? value : JSON.stringify(value),
          ...(output.Description !== undefined && { Description: output.Description }),
        });
      }
    } catch (err) {
      stack.reason = this.reasonOf(stack, err);
    }
    this.setStatus(stack, status);
    this.settled(stack);
  }

  private setStatus(stack: Stack, status: string, reason?: string): void {
    stack.status = status;
    if (reason === undefined) delete stack.reason;
    else stack.reason = this.mask(stack, reason);
    this.stackEvent(stack, status, reason);
  }

  private stackEvent(stack: Stack, status: string, reason?: string): void {
    if (reason !== undefined) reason = this.mask(stack, reason);
    stack.events.push({
      EventId: randomUUID(), StackId: stack.id, StackName: stack.name, LogicalResourceId: stack.name, PhysicalResourceId: stack.id,
      ResourceType: 'AWS::CloudFormation::Stack', Timestamp: new Date(), ResourceStatus: status, ...(reason !== undefined && { ResourceStatusReason: reason }),
    });
  }

  private resourceEvent(stack: Stack, r: StackResource, status: string, reason?: string): void {
    if (reason !== undefined) reason = this.mask(stack, reason);
    stack.events.push({
      EventId: `${r.logicalId}-${randomUUID()}`, StackId: stack.id, StackName: stack.name, LogicalResourceId: r.logicalId,
      ...(r.state && { PhysicalResourceId: r.state.physicalId }), ResourceType: r.type, Timestamp: new Date(), ResourceStatus: status,
      ...(reason !== undefined && { ResourceStatusReason: reason }),
    });
  }

  private settled(stack: Stack): void {
    const event: StackSettledEvent = { stackName: stack.name, stackId: stack.id, status: stack.status };
    try {
      this.options.events.emit('stack-settled', event);
    } catch (err) {
      // A listener's fault is not the stack's: its status stays what the operation made it.
      this.options.log(`[cloudformation] a stack-settled listener of ${stack.name} failed: ${this.mask(stack, messageOf(err))}`);
    }
  }

  /**
   * An SSM parameter's value for a parameter type or an `ssm` reference. A SecureString is
   * refused: CloudFormation never hands its plaintext out (AWS's words for an SSM-typed
   * parameter, as aws-cdk#15135 reports them; ssm-secure is the reference for secure strings).
   */
  private readSsm(region: string, name: string): string | undefined {
    if (this.options.ssm.typeOf(region, name) === 'SecureString') {
      throw validationError(`Parameters [${name}] referenced by template have types not supported by CloudFormation.`);
    }
    return this.options.ssm.valueOf(region, name);
  }

  /** A failure's reason as the stack reports and keeps it: {@link reasonOf}, masked. */
  private reasonOf(stack: Stack, err: unknown): string {
    return this.mask(stack, reasonOf(err));
  }

  /** Text with every secret value the stack's references read replaced, as written and as JSON escapes it. */
  private mask(stack: Stack, text: string): string {
    let out = text;
    for (const secret of this.secretValues.get(stack) ?? []) {
      if (secret === '') continue;
      out = out.split(secret).join('****');
      const escaped = JSON.stringify(secret).slice(1, -1);
      if (escaped !== secret) out = out.split(escaped).join('****');
    }
    return out;
  }
}

/** Refuses, at the call, an `ssm-secure` reference written in a resource's properties. */
function refuseSecureReferences(template: Template): void {
  for (const resource of Object.values(template.Resources)) {
    const path = secureReferencePath(resource.Properties ?? {}, `${resource.Type}/Properties`);
    if (path) throw secureReferenceRefused(path);
  }
}

/** Whether a deletion policy keeps the resource; `RetainExceptOnCreate` does not when the operation that created it rolls back. */
function retains(policy: string | undefined, rollingBackItsCreation: boolean): boolean {
  return policy === 'Retain' || (policy === 'RetainExceptOnCreate' && !rollingBackItsCreation);
}

/** A resource failure as CloudFormation reports it: the service's message in its handler's words. */
function reasonOf(err: unknown): string {
  if (err instanceof TemplateError) return err.message;
  if (err instanceof AwsError) return err.message;
  const e = err as { name?: string; message?: string; $metadata?: { httpStatusCode?: number; requestId?: string } };
  if (e.$metadata) {
    return `Resource handler returned message: "${e.message ?? ''}" (RequestToken: ${randomUUID()}, HandlerErrorCode: ${handlerErrorCode(e.name ?? '', e.$metadata.httpStatusCode ?? 400)})`;
  }
  return messageOf(err);
}

/** The handler error code CloudFormation gives a service error. */
function handlerErrorCode(name: string, status: number): string {
  if (/NotFound|NoSuch/.test(name)) return 'NotFound';
  if (/AlreadyExists|Conflict/.test(name)) return 'AlreadyExists';
  if (/AccessDenied/.test(name)) return 'AccessDenied';
  if (status >= 500) return 'ServiceInternalError';
  return 'InvalidRequest';
}
