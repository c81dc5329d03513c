#!/usr/bin/env -S npx tsx
// npm run destroy: removes what deploy created, and only that. See --help.
import { runMain, scriptArgs } from './lib/cli';
import { DESTROY_USAGE, parseDestroyArgs } from './lib/deploy-options';
import { destroyCommands } from './lib/dry-run';

await runMain('destroy', async () => {
  const options = parseDestroyArgs(scriptArgs(import.meta.url));
  if (options.help) {
    console.log(DESTROY_USAGE);
    return;
  }
  if (options.dryRun) {
    console.log(destroyCommands(options).join('\n'));
    return;
  }
  // the AWS SDK is loaded only for a real destroy
  const { runDestroy } = await import('./lib/deploy-run');
  await runDestroy(options);
});
