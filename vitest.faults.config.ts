import { defineConfig } from 'vitest/config';

// The fault matrix (`npm run test:faults`): the kit deployed on the local stack from its real
// zips, with faults injected through the stack's test hooks (local/ops.ts). Kept out of
// `npm test`: it takes minutes and, for 200 concurrent requests, about 15 GB of memory.
export default defineConfig({
  test: {
    include: ['test/faults/**/*.test.ts'],
    testTimeout: 240_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // One file after the other: the 200-request case needs both cores for its cold starts.
    fileParallelism: false,
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', RUN_FAULT_MATRIX: '1' },
  },
});
