import { parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { roleScopes } from '../../src/auth/api-token.js';
import { allows, forbiddenFields } from '../../src/plugins/use-document-authorization.js';
import { buildSchema } from '../../src/schema/index.js';

describe('whole-document authorisation', () => {
  it('evaluates scope maps like scope-auth: any listed scope, $all, $any; run-time requirements are left to execution', () => {
    const viewer = roleScopes('viewer');
    expect(allows(undefined, viewer)).toBe(true);
    expect(allows({ reader: true }, viewer)).toBe(true);
    expect(allows({ admin: true }, viewer)).toBe(false);
    expect(allows({ admin: true, reader: true }, viewer)).toBe(true);
    expect(allows({ $all: { admin: true, reader: true } }, viewer)).toBe(false);
    expect(allows({ $all: { admin: true, reader: true } }, roleScopes('admin'))).toBe(true);
    expect(allows({ $any: { ingest: true, admin: true } }, viewer)).toBe(false);
    expect(allows(() => true, viewer)).toBe(true);
  });

  it('reads the requirements the schema declares, in every operation and fragment of the document', () => {
    const document = parse(`
      query Q { viewer { role } ...Admin }
      fragment Admin on Query { apiKeys { id } }
      mutation M($events: [SecurityEventInput!]!) { ingestEvents(events: $events) { accepted } }
    `);
    const fieldsRefused = (role: 'admin' | 'viewer' | 'ingest') =>
      forbiddenFields(buildSchema(), document, { role, scopes: roleScopes(role) }).map((e) => e.message.match(/\w+\.\w+/)![0]);
    expect(fieldsRefused('admin')).toEqual([]);
    expect(fieldsRefused('viewer')).toEqual(['Query.apiKeys', 'Mutation.ingestEvents']);
    expect(fieldsRefused('ingest')).toEqual(['Query.apiKeys']);
  });
});
