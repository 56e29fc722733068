import type { ChildProcess } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { dataOf, firstError } from '../support/api.js';
import { runCliInProcess } from '../support/cli.js';
import { forEachDialect } from '../support/dialects.js';
import { gatewayEnv, gql, runCli, spawnServe, startTestGateway, tempDir, type TestGateway } from '../support/gateway.js';
import { waitFor } from '../support/wait.js';

/**
 * The `siemgate` binary (bin/siemgate.mjs), run as a separate process exactly as an operator runs it where the
 * process matters (the first `keys create`, every `serve` that starts); the other commands run the same `main`
 * in this process ({@link runCliInProcess}).
 */

const SECRET_KEY = Buffer.alloc(32, 9).toString('base64');
const VIEWER_Q = '{ viewer { apiKeyId role organization { id slug } } }';
const TOKEN_LINE = /^sg_[A-Za-z0-9_-]{20,}$/;

const cleanups: (() => unknown)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

/** Environment for a command on a fresh database of its own. */
function freshEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const { dir, cleanup } = tempDir();
  cleanups.push(cleanup);
  return gatewayEnv(dir, { SIEMGATE_SECRET_KEY: SECRET_KEY, SIEMGATE_BOOTSTRAP_TOKEN: '', ...extra });
}

const lines = (text: string) => text.split('\n').map((l) => l.trimEnd()).filter((l) => l !== '');

forEachDialect((dialect) => {
  describe('keys', () => {
    let g: TestGateway;
    beforeAll(async () => {
      // A running gateway on the same database, to prove that what the CLI creates works over the API.
      g = await startTestGateway({ env: await dialect.databaseEnv() });
    });
    afterAll(async () => {
      await g?.stop({ removeDatabase: true });
    });

    let acmeToken: string;

    it('keys create --org acme --role viewer creates the organisation and prints the token as the last stdout line', async () => {
      const { code, stdout, stderr } = await runCli(['keys', 'create', '--org', 'acme', '--role', 'viewer'], g.env);
      expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
      const out = lines(stdout);
      acmeToken = out.at(-1)!;
      expect(acmeToken).toMatch(TOKEN_LINE);
      expect(stdout).toMatch(/organisation acme/i);

      const { viewer } = dataOf(await g.gql(VIEWER_Q, {}, acmeToken));
      expect(viewer).toMatchObject({ role: 'VIEWER', organization: { slug: 'acme' } });
    });

    it('keys list --org acme lists the keys with their ids, roles and prefixes, never a token', async () => {
      const keyId = dataOf(await g.gql(VIEWER_Q, {}, acmeToken)).viewer.apiKeyId;
      const { code, stdout } = await runCliInProcess(['keys', 'list', '--org', 'acme'], g.env);
      expect(code).toBe(0);
      const row = lines(stdout).find((l) => l.includes(keyId));
      expect(row).toBeDefined();
      expect(row).toMatch(/viewer/);
      expect(row).toContain(acmeToken.slice(0, 6));
      expect(row).toMatch(/active/);
      expect(stdout).not.toContain(acmeToken);
    });

    it('keys revoke <id> revokes the key: its token answers 401 from then on', async () => {
      const keyId = dataOf(await g.gql(VIEWER_Q, {}, acmeToken)).viewer.apiKeyId;
      const { code, stdout } = await runCliInProcess(['keys', 'revoke', keyId], g.env);
      expect(code).toBe(0);
      expect(stdout).toContain(keyId);

      const res = await g.gql(VIEWER_Q, {}, acmeToken);
      expect(res.status).toBe(401);
      expect(firstError(res).extensions?.code).toBe('UNAUTHENTICATED');
    });

    it.concurrent.each([
      ['an unknown role', ['keys', 'create', '--org', 'acme', '--role', 'root'], /--role/],
    ])('refuses %s with a non-zero exit and the usage on stderr', async (_label, args, pattern) => {
      const { code, stdout, stderr } = await runCliInProcess(args, g.env);
      expect(code).not.toBe(0);
      expect(stderr).toMatch(/Usage/);
      expect(stderr).toMatch(pattern);
      expect(lines(stdout).filter((l) => TOKEN_LINE.test(l))).toEqual([]);
    });

    it.concurrent.each([
      ['listing an organisation that does not exist', ['keys', 'list', '--org', 'nobody'], /nobody/],
    ])('fails on %s with a non-zero exit and a message naming it', async (_label, args, pattern) => {
      const { code, stderr } = await runCliInProcess(args, g.env);
      expect(code).not.toBe(0);
      expect(stderr).toMatch(pattern);
    });
  });
});

describe('serve', () => {
  const children: ChildProcess[] = [];
  async function stop(child: ChildProcess) {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  }
  async function serve(env: NodeJS.ProcessEnv) {
    const server = await spawnServe(env);
    children.push(server.child);
    return server;
  }
  afterEach(async () => {
    await Promise.all(children.splice(0).map(stop));
  });

  it.concurrent.each([
    ['PORT', { PORT: 'abc' }],
    ['SIEMGATE_SECRET_KEY', { SIEMGATE_SECRET_KEY: 'short' }],
    ['SIEMGATE_GRAPHIQL', { SIEMGATE_GRAPHIQL: 'maybe' }],
    ['SIEMGATE_EGRESS_ALLOW', { SIEMGATE_EGRESS_ALLOW: '10.0.0.0/99' }],
  ])('refuses to start with a bad %s: non-zero exit, one stderr line naming the setting', async (setting, bad) => {
    const { code, stdout, stderr } = await runCliInProcess(['serve'], freshEnv(bad));
    expect(code).not.toBe(0);
    expect(lines(stderr)).toHaveLength(1);
    expect(stderr).toContain(setting);
    expect(stdout).not.toMatch(/listening/);
  });

  it('on a first start without a bootstrap token, creates organisation default and prints its admin token once: the only human text (stderr); the log is JSON lines only (stdout); a restart prints none', async () => {
    const env = freshEnv({ SIEMGATE_SECRET_KEY: '', SIEMGATE_LOG_LEVEL: 'info' });
    const jsonOnly = (out: string) => {
      const logLines = lines(out);
      for (const line of logLines) expect(() => JSON.parse(line), line).not.toThrow();
      return logLines.map((l) => JSON.parse(l));
    };
    const first = await serve(env);
    // The token block is the only text on stderr; the log (stdout) is JSON and never holds the token.
    const token = await waitFor(() => lines(first.stderr()).find((l) => TOKEN_LINE.test(l)));
    expect(first.stdout()).not.toContain(token);
    const { viewer } = dataOf(await gql(`${first.url}/graphql`, VIEWER_Q, {}, token));
    expect(viewer).toMatchObject({ role: 'ADMIN', organization: { slug: 'default' } });
    // Something the log reports: a client mistake.
    await fetch(`${first.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: '{"query":"{ nope }"}' });

    // With no SIEMGATE_SECRET_KEY, a key file was generated beside the database, readable by the owner only, with a warning.
    const keyFile = env.SIEMGATE_DB!.replace(/\.db$/, '.key');
    expect(existsSync(keyFile)).toBe(true);
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(first.stdout()).toContain('SIEMGATE_SECRET_KEY'); // a JSON warning in the log
    await stop(first.child);
    expect(first.stderr()).toBe(`Created organisation "default" and its first admin API key. This token is shown only once; store it safely:\n${token}\n`);
    const logged = jsonOnly(first.stdout());
    expect(logged.find((l) => l.msg === 'siemgate listening')).toMatchObject({ level: 30, address: '127.0.0.1', url: `${first.url}/graphql` });
    expect(logged.map((l) => l.msg)).toContain('shutting down');
    expect(first.stdout()).not.toContain(token);

    // The second start prints no new token, and the first one still works.
    const second = await serve(env);
    expect(dataOf(await gql(`${second.url}/graphql`, VIEWER_Q, {}, token)).viewer.role).toBe('ADMIN');
    await stop(second.child);
    expect(second.stderr()).toBe('');
    expect(jsonOnly(second.stdout()).map((l) => l.msg)).toContain('siemgate listening');
    expect(second.stdout()).not.toContain(token);
  });

  it('ensures SIEMGATE_BOOTSTRAP_TOKEN as default\'s admin key, never prints it, and does not bring it back once revoked', async () => {
    const bootstrap = 'sg_operator_chosen_bootstrap_token_0001';
    const env = freshEnv({ SIEMGATE_BOOTSTRAP_TOKEN: bootstrap });
    const first = await serve(env);
    const { viewer } = dataOf(await gql(`${first.url}/graphql`, VIEWER_Q, {}, bootstrap));
    expect(viewer).toMatchObject({ role: 'ADMIN', organization: { slug: 'default' } });
    const other = dataOf(await gql(`${first.url}/graphql`, 'mutation { createApiKey(input: { name: "second admin", role: ADMIN }) { token } }', {}, bootstrap)).createApiKey.token;
    // Someone revokes it…
    dataOf(await gql(`${first.url}/graphql`, 'mutation($id: ID!) { revokeApiKey(id: $id) { id } }', { id: viewer.apiKeyId }, other));
    expect((await gql(`${first.url}/graphql`, VIEWER_Q, {}, bootstrap)).status).toBe(401);
    await stop(first.child);
    expect(first.stdout() + first.stderr()).not.toContain(bootstrap);
    expect(lines(first.stderr()).filter((l) => TOKEN_LINE.test(l))).toEqual([]);

    // …and the next start with the setting still in place leaves it revoked, listed as such (`keys create` is the way back).
    const second = await serve(env);
    expect((await gql(`${second.url}/graphql`, VIEWER_Q, {}, bootstrap)).status).toBe(401);
    const keys = dataOf(await gql(`${second.url}/graphql`, '{ apiKeys { id revokedAt } }', {}, other)).apiKeys;
    expect(keys.find((k: { id: string }) => k.id === viewer.apiKeyId)?.revokedAt).toBeTruthy();
    await stop(second.child);
  });
});
