// The CDK construct of the kit: `import { LongRequestKit } from './cdk'`.
export { LongRequestKit, KIT_MANAGED_POLICIES, KIT_TABLE, type KitRoles } from './long-request-kit';
export type { KitApiType, KitCode, KitEnvironment, KitSecret, KitTimeouts, LongRequestKitProps } from './props';
export { kitSettings, type KitSettings, type KitTimeoutSeconds } from './settings';
export { KitPropsError } from './errors';
export { kitFunctionCode, KIT_ROOT, type KitFunctionFolder } from './bundling';
