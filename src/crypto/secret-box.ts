import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/** Format version byte at the start of every sealed value, so the scheme can change without ambiguity. */
const VERSION_AES_256_GCM = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** AES-256 key length. */
export const SECRET_KEY_BYTES = 32;

/** A sealed value could not be opened: wrong key, wrong row (AAD), or tampering. */
export class SecretBoxError extends Error {
  readonly code = 'SIEMGATE_SECRET_DECRYPT_FAILED';
  constructor(message = 'Stored secret could not be decrypted: is SIEMGATE_SECRET_KEY the key it was written with?') {
    super(message);
    this.name = 'SecretBoxError';
  }
}

/**
 * Authenticated encryption of secrets at rest with AES-256-GCM.
 *
 * Every value gets a fresh 96-bit IV; the output is `base64(version | iv | tag | ciphertext)`.
 * `aad` binds a ciphertext to its row (e.g. the integration id): a sealed secret copied into another
 * row does not open.
 *
 * @example
 * ```ts
 * const box = new SecretBox(Buffer.from(process.env.SIEMGATE_SECRET_KEY!, 'base64'));
 * const sealed = box.seal(JSON.stringify({ token: 'hec-token' }), integrationId);
 * const plain = box.open(sealed, integrationId);
 * ```
 */
export class SecretBox {
  readonly #key: Buffer;

  constructor(key: Buffer) {
    if (key.length !== SECRET_KEY_BYTES) {
      throw new Error(`secret key must be ${SECRET_KEY_BYTES} bytes, got ${key.length}`);
    }
    this.#key = Buffer.from(key);
  }

  /** Encrypts `plaintext`; `aad` must be given again to open it. */
  seal(plaintext: string, aad: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv);
    cipher.setAAD(Buffer.from(aad, 'utf8'));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return Buffer.concat([Buffer.of(VERSION_AES_256_GCM), iv, cipher.getAuthTag(), ciphertext]).toString('base64');
  }

  /** Decrypts a value from {@link SecretBox.seal}; throws {@link SecretBoxError} if it was not sealed with this key and `aad`. */
  open(sealed: string, aad: string): string {
    const raw = Buffer.from(sealed, 'base64');
    if (raw.length < 1 + IV_BYTES + TAG_BYTES || raw[0] !== VERSION_AES_256_GCM) throw new SecretBoxError('Stored secret has an unknown format');
    const iv = raw.subarray(1, 1 + IV_BYTES);
    const tag = raw.subarray(1 + IV_BYTES, 1 + IV_BYTES + TAG_BYTES);
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.#key, iv);
      decipher.setAAD(Buffer.from(aad, 'utf8'));
      decipher.setAuthTag(tag);
      return Buffer.concat([decipher.update(raw.subarray(1 + IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
    } catch {
      throw new SecretBoxError();
    }
  }
}
