#!/usr/bin/env -S npx tsx
// npm run deploy: the tasks table, the roles, Proxy, Talker and Main, and a REST or HTTP API in front,
// on AWS or on LocalStack / the local stack (--endpoint). See --help.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runMain, scriptArgs } from './lib/cli';
import { DEPLOY_USAGE, parseDeployArgs } from './lib/deploy-options';
import { deployCommands } from './lib/dry-run';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

await runMain('deploy', async () => {
  const options = parseDeployArgs(scriptArgs(import.meta.url));
  if (options.help) {
    console.log(DEPLOY_USAGE);
    return;
  }
  if (options.dryRun) {
    console.log(deployCommands(options).join('\n'));
    return;
  }
  // the AWS SDK is loaded only for a real deploy
  const { runDeploy } = await import('./lib/deploy-run');
  await runDeploy(options, { root });
});
