import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SecretBox, SecretBoxError } from '../../src/crypto/secret-box.js';

describe('SecretBox (AES-256-GCM at rest)', () => {
  const box = new SecretBox(randomBytes(32));

  it('opens what it sealed, for any text', () => {
    fc.assert(fc.property(fc.string({ unit: 'grapheme', maxLength: 300 }), fc.uuid(), (plain, aad) => {
      expect(box.open(box.seal(plain, aad), aad)).toBe(plain);
    }));
  });

  it('never writes the plaintext, and uses a fresh IV each time', () => {
    const a = box.seal('hec-token-visible', 'row-1');
    const b = box.seal('hec-token-visible', 'row-1');
    expect(a).not.toBe(b);
    expect(Buffer.from(a, 'base64').includes(Buffer.from('hec-token-visible'))).toBe(false);
  });

  it('refuses another row (AAD), another key, and any tampering', () => {
    const sealed = box.seal('secret', 'row-1');
    expect(() => box.open(sealed, 'row-2')).toThrow(SecretBoxError);
    expect(() => new SecretBox(randomBytes(32)).open(sealed, 'row-1')).toThrow(SecretBoxError);
    const raw = Buffer.from(sealed, 'base64');
    raw[raw.length - 1]! ^= 1;
    expect(() => box.open(raw.toString('base64'), 'row-1')).toThrow(SecretBoxError);
  });

  it('accepts only 32-byte keys', () => {
    expect(() => new SecretBox(randomBytes(16))).toThrow(/32 bytes/);
  });
});
