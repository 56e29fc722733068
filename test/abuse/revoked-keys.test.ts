import Database from 'better-sqlite3';
import { CloseCode } from 'graphql-ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { dataOf, firstError } from '../support/api.js';
import {
  STATUS_SUBSCRIPTION, connectWs, createSplunkIntegration, startHecSink, untilStatusSubscribed, waitFor, type HecSink, type WsClient,
} from '../support/delivery.js';
import { ADMIN_TOKEN, runCli, startTestGateway, type TestGateway } from '../support/gateway.js';

/**
 * Issue 8, item 1: a revoked API key stops working on transports it already has open. Its graphql-ws
 * connections close with 4403 and run no further operation, its subscriptions and server-sent-event
 * streams end — whether it was revoked through the API in this process or through the CLI in another.
 * Item 10: a revoked bootstrap key stays revoked across restarts.
 */

const CREATE_KEY = 'mutation CreateKey($input: CreateApiKeyInput!) { createApiKey(input: $input) { apiKey { id } token } }';
const REVOKE_KEY = 'mutation Revoke($id: ID!) { revokeApiKey(id: $id) { id revokedAt } }';
const API_KEYS = '{ apiKeys { id name role revokedAt } }';
/** What each key-revocation wait allows: the guarantee is one second; the margin is for a loaded test machine. */
const REVOCATION_BOUND_MS = 5_000;

let g: TestGateway;
let sink: HecSink;
let integration: any;

beforeAll(async () => {
  [g, sink] = await Promise.all([startTestGateway(), startHecSink()]);
  integration = await createSplunkIntegration(g, sink, { name: 'Watched', enabled: false });
});
afterAll(async () => {
  await Promise.all([g?.stop({ removeDatabase: true }), sink?.close()]);
});

const clients: WsClient[] = [];
const sockets: WebSocket[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.dispose()));
  for (const s of sockets.splice(0)) s.terminate();
});

async function newAdminKey(name: string): Promise<{ id: string; token: string }> {
  const { createApiKey } = dataOf(await g.gql(CREATE_KEY, { input: { name, role: 'ADMIN' } }));
  return { id: createApiKey.apiKey.id, token: createApiKey.token };
}

async function keyNames(): Promise<string[]> {
  return dataOf(await g.gql(API_KEYS)).apiKeys.map((k: { name: string }) => k.name);
}

/**
 * A graphql-transport-ws connection spoken frame by frame, so a test can send an operation at an exact
 * moment (a client library would reconnect or queue). Resolves once the server acknowledged it.
 */
async function rawConnection(token: string): Promise<{
  send(message: unknown): void;
  messages: any[];
  closed: Promise<{ code: number; reason: string }>;
}> {
  const socket = new WebSocket(`${g.url.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws');
  sockets.push(socket);
  const messages: any[] = [];
  const closed = new Promise<{ code: number; reason: string }>((resolve) => socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  socket.on('message', (data) => messages.push(JSON.parse(data.toString())));
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } })));
    socket.on('message', () => messages.some((m) => m.type === 'connection_ack') && resolve());
    socket.once('close', (code) => reject(new Error(`closed ${code} before connection_ack`)));
  });
  return { send: (message) => socket.readyState === WebSocket.OPEN && socket.send(JSON.stringify(message)), messages, closed };
}

/** A GraphQL subscription over server-sent events (Yoga's GraphQL-over-SSE, distinct connections mode). */
async function sseSubscribe(token: string, query: string, variables: Record<string, unknown> = {}) {
  const abort = new AbortController();
  const response = await fetch(`${g.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
    signal: abort.signal,
  });
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/text\/event-stream/);
  const stream = { events: [] as { event: string; data: any }[], ended: false };
  void (async () => {
    const decoder = new TextDecoder();
    let buffer = '';
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let event = 'message';
        let data = '';
        for (const line of block.split('\n')) {
          if (line.startsWith('event:')) event = line.slice(6).trim();
          else if (line.startsWith('data:')) data += line.slice(5).trim();
        }
        if (block.split('\n').every((l) => l.startsWith(':'))) continue;
        stream.events.push({ event, data: data ? JSON.parse(data) : undefined });
      }
    }
  })()
    .catch(() => undefined)
    .finally(() => (stream.ended = true));
  return { stream, close: () => abort.abort() };
}

/** Renames the integration until `seen()` is true: proves a status stream is live on the server. */
async function pokeUntil(seen: () => boolean): Promise<void> {
  let n = 0;
  await waitFor(
    async () => {
      if (seen()) return true;
      n += 1;
      dataOf(await g.gql('mutation Poke($id: ID!, $name: String!) { updateSiemIntegration(id: $id, input: { name: $name }) { id } }', { id: integration.id, name: `poke ${n}` }));
      return false;
    },
    { timeoutMs: 15_000, intervalMs: 150, message: 'stream never became live' },
  );
}

describe('revoked through the API (revokeApiKey, another key of the same organisation)', () => {
  it('closes the key\'s WebSocket with 4403 and ends its running subscription', async () => {
    const key = await newAdminKey('ws-revoked-by-api');
    const client = connectWs(g.url, { token: key.token });
    clients.push(client);
    const status = client.subscribe(STATUS_SUBSCRIPTION, { id: integration.id }, 'siemIntegrationStatus');
    await untilStatusSubscribed(g, status, integration.id);

    dataOf(await g.gql(REVOKE_KEY, { id: key.id }));

    await waitFor(() => client.closes.find((c) => c.code === CloseCode.Forbidden), { timeoutMs: REVOCATION_BOUND_MS, message: 'socket not closed with 4403' });
    await waitFor(() => status.completed || status.error !== undefined, { timeoutMs: REVOCATION_BOUND_MS, message: 'subscription did not end' });
  });

  it('runs no operation the key sends after its revocation on the socket it had open (createApiKey creates nothing)', async () => {
    const key = await newAdminKey('ws-op-after-revocation');
    const conn = await rawConnection(key.token);
    // The connection works before the revocation.
    conn.send({ id: 'before', type: 'subscribe', payload: { query: '{ viewer { role } }' } });
    await waitFor(() => conn.messages.find((m) => m.id === 'before' && m.type === 'next'));

    dataOf(await g.gql(REVOKE_KEY, { id: key.id }));
    conn.send({ id: 'after', type: 'subscribe', payload: { query: 'mutation { createApiKey(input: { name: "made-by-revoked-key", role: ADMIN }) { token } }' } });

    const { code } = await waitFor(() => Promise.race([conn.closed, new Promise<undefined>((r) => setTimeout(r, 50))]), { timeoutMs: REVOCATION_BOUND_MS });
    expect(code).toBe(CloseCode.Forbidden);
    expect(conn.messages.filter((m) => m.id === 'after' && m.type === 'next')).toEqual([]);
    expect(await keyNames()).not.toContain('made-by-revoked-key');
  });

  it('refuses an operation at once when another process revoked the key (no in-process notice), then closes the socket', async () => {
    const key = await newAdminKey('ws-revoked-behind-the-back');
    const conn = await rawConnection(key.token);
    // Another process writes the revocation to the shared SQLite file; this gateway is not told.
    const db = new Database(g.env.SIEMGATE_DB!);
    try {
      db.prepare('UPDATE api_keys SET revoked_at = ? WHERE id = ?').run(new Date().toISOString(), key.id);
    } finally {
      db.close();
    }
    conn.send({ id: 'after', type: 'subscribe', payload: { query: 'mutation { createApiKey(input: { name: "made-after-foreign-revocation", role: ADMIN }) { token } }' } });

    const { code } = await waitFor(() => Promise.race([conn.closed, new Promise<undefined>((r) => setTimeout(r, 50))]), { timeoutMs: REVOCATION_BOUND_MS });
    expect(code).toBe(CloseCode.Forbidden);
    expect(conn.messages.filter((m) => m.id === 'after' && m.type === 'next')).toEqual([]);
    expect(await keyNames()).not.toContain('made-after-foreign-revocation');
  });

  it('ends the key\'s server-sent-event subscription', async () => {
    const key = await newAdminKey('sse-revoked-by-api');
    const { stream, close } = await sseSubscribe(key.token, STATUS_SUBSCRIPTION, { id: integration.id });
    try {
      await pokeUntil(() => stream.events.some((e) => e.event === 'next'));
      dataOf(await g.gql(REVOKE_KEY, { id: key.id }));
      await waitFor(() => stream.ended, { timeoutMs: REVOCATION_BOUND_MS, message: 'SSE stream did not end' });
      // And it stays ended: later changes reach nobody on that key.
      const seen = stream.events.length;
      dataOf(await g.gql('mutation($id: ID!) { updateSiemIntegration(id: $id, input: { name: "after revocation" }) { id } }', { id: integration.id }));
      expect(stream.events.slice(seen).filter((e) => e.event === 'next')).toEqual([]);
    } finally {
      close();
    }
  });

  it('leaves other keys\' connections open', async () => {
    const keep = await newAdminKey('kept');
    const gone = await newAdminKey('gone');
    const kept = await rawConnection(keep.token);
    const revoked = await rawConnection(gone.token);
    dataOf(await g.gql(REVOKE_KEY, { id: gone.id }));
    expect((await revoked.closed).code).toBe(CloseCode.Forbidden);
    kept.send({ id: 'still', type: 'subscribe', payload: { query: '{ viewer { role } }' } });
    const answer = await waitFor(() => kept.messages.find((m) => m.id === 'still' && m.type === 'next'));
    expect(answer.payload.data.viewer.role).toBe('ADMIN');
  });
});

describe('revoked through the CLI (siemgate keys revoke, another process on the same database)', () => {
  it('closes the WebSocket with 4403, ends its subscription and its SSE stream', async () => {
    const key = await newAdminKey('revoked-by-cli');
    const client = connectWs(g.url, { token: key.token });
    clients.push(client);
    const status = client.subscribe(STATUS_SUBSCRIPTION, { id: integration.id }, 'siemIntegrationStatus');
    await untilStatusSubscribed(g, status, integration.id);
    const { stream, close } = await sseSubscribe(key.token, STATUS_SUBSCRIPTION, { id: integration.id });
    try {
      await pokeUntil(() => stream.events.some((e) => e.event === 'next'));

      const { code, stderr } = await runCli(['keys', 'revoke', key.id], g.env);
      expect({ code, stderr }).toEqual({ code: 0, stderr: '' });

      await waitFor(() => client.closes.find((c) => c.code === CloseCode.Forbidden), { timeoutMs: REVOCATION_BOUND_MS, message: 'socket not closed with 4403' });
      await waitFor(() => status.completed || status.error !== undefined, { timeoutMs: REVOCATION_BOUND_MS, message: 'subscription did not end' });
      await waitFor(() => stream.ended, { timeoutMs: REVOCATION_BOUND_MS, message: 'SSE stream did not end' });
    } finally {
      close();
    }
  });
});

describe('a revoked bootstrap key', () => {
  it('stays revoked after a restart with the same SIEMGATE_BOOTSTRAP_TOKEN, and keeps its row in apiKeys', async () => {
    const first = await startTestGateway();
    const other = dataOf(await first.gql(CREATE_KEY, { input: { name: 'second admin', role: 'ADMIN' } })).createApiKey.token;
    const bootstrapId = dataOf(await first.gql('{ viewer { apiKeyId } }')).viewer.apiKeyId;
    dataOf(await first.gql(REVOKE_KEY, { id: bootstrapId }, other));
    await first.stop();

    const second = await startTestGateway({ dir: first.dir });
    try {
      const refused = await second.gql('{ viewer { role } }', {}, ADMIN_TOKEN);
      expect(refused.status).toBe(401);
      expect(firstError(refused).extensions?.code).toBe('UNAUTHENTICATED');
      const keys = dataOf(await second.gql(API_KEYS, {}, other)).apiKeys;
      const bootstrapKeys = keys.filter((k: { name: string }) => k.name === 'bootstrap');
      expect(bootstrapKeys).toHaveLength(1);
      expect(bootstrapKeys[0]).toMatchObject({ id: bootstrapId, role: 'ADMIN' });
      expect(bootstrapKeys[0].revokedAt).not.toBeNull();
    } finally {
      await second.stop({ removeDatabase: true });
    }
  });
});
