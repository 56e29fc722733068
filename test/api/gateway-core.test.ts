import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGatewayCore, type GatewayCore } from '../../src/gateway-core.js';
import { createLogger } from '../../src/logger.js';
import { loadSettings } from '../../src/settings.js';
import { ADMIN_TOKEN, tempDir } from '../support/gateway.js';

/**
 * Issue 10, a transport-free core: the gateway built without a server (no port, no socket), answering
 * GraphQL through Yoga's own fetch handler; the Node HTTP and WebSocket adapters only serve it.
 */

const { dir, cleanup } = tempDir();
let core: GatewayCore;
beforeAll(async () => {
  const settings = loadSettings({
    SIEMGATE_DB: join(dir, 'siemgate.db'),
    SIEMGATE_SECRET_KEY: Buffer.alloc(32, 7).toString('base64'),
    SIEMGATE_BOOTSTRAP_TOKEN: ADMIN_TOKEN,
    SIEMGATE_LOG_LEVEL: 'silent',
  });
  core = await createGatewayCore({ settings, logger: createLogger({ level: 'silent' }) });
});
afterAll(async () => {
  await core?.stop();
  await core?.dispose();
  cleanup();
});

describe('the gateway core without a transport', () => {
  it('answers a GraphQL request through yoga.fetch, authenticated by the same key as over HTTP', async () => {
    const response = await core.yoga.fetch('http://gateway/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` },
      body: JSON.stringify({ query: '{ viewer { role } }' }),
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ data: { viewer: { role: 'ADMIN' } } });
  });

  it('refuses a request without a key with 401 UNAUTHENTICATED, as over HTTP', async () => {
    const response = await core.yoga.fetch('http://gateway/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ viewer { role } }' }),
    });
    expect(response.status).toBe(401);
    expect(((await response.json()) as any).errors[0].extensions.code).toBe('UNAUTHENTICATED');
  });
});
