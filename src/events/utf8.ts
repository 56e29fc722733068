import { randomBytes } from 'node:crypto';

const strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const lenient = new TextDecoder('utf-8', { ignoreBOM: true });

/** A body is not valid UTF-8. `path` names the event and field holding the first bad bytes when that could be worked out. */
export class InvalidUtf8Error extends Error {
  readonly code = 'SIEMGATE_INVALID_UTF8';
  constructor(
    readonly byteOffset: number,
    readonly path?: string,
  ) {
    super(`${path ?? 'body'}: not valid UTF-8 (first bad byte at offset ${byteOffset}); send UTF-8 text`);
    this.name = 'InvalidUtf8Error';
  }
}

/**
 * Decodes UTF-8, refusing ill-formed input instead of replacing it with U+FFFD. The valid case costs one
 * native decode; only a refusal pays for {@link locateInvalidUtf8}.
 *
 * @param locate given the body with each ill-formed sequence replaced by `marker`, returns the path of the
 *   value holding the marker (e.g. `events[3].name`), or undefined.
 * @throws InvalidUtf8Error
 * @example
 * ```ts
 * const text = decodeUtf8Strict(body, (text, marker) => findMarker(JSON.parse(text), marker));
 * ```
 */
export function decodeUtf8Strict(bytes: Uint8Array, locate?: (text: string, marker: string) => string | undefined): string {
  try {
    return strict.decode(bytes);
  } catch {
    const bad = invalidUtf8Ranges(bytes);
    let path: string | undefined;
    if (locate) {
      const marker = `\u{E000}invalid-utf8-${randomBytes(8).toString('hex')}\u{E000}`;
      const markerBytes = Buffer.from(marker, 'utf8');
      const parts: Uint8Array[] = [];
      let at = 0;
      for (const [start, end] of bad) {
        parts.push(bytes.subarray(at, start), markerBytes);
        at = end;
      }
      parts.push(bytes.subarray(at));
      try {
        path = locate(lenient.decode(Buffer.concat(parts)), marker);
      } catch {
        path = undefined;
      }
    }
    throw new InvalidUtf8Error(bad[0]?.[0] ?? 0, path);
  }
}

/**
 * Byte ranges `[start, end)` of the ill-formed sequences in `bytes`, split the way the WHATWG decoder
 * replaces them (each maximal subpart of a sequence is one range).
 *
 * @example
 * ```ts
 * invalidUtf8Ranges(Buffer.from([0x61, 0xff, 0x62])); // [[1, 2]]
 * ```
 */
export function invalidUtf8Ranges(bytes: Uint8Array): [number, number][] {
  const out: [number, number][] = [];
  const n = bytes.length;
  let i = 0;
  while (i < n) {
    const b = bytes[i]!;
    if (b < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let lower = 0x80;
    let upper = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) need = 1;
    else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      if (b === 0xe0) lower = 0xa0;
      if (b === 0xed) upper = 0x9f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      if (b === 0xf0) lower = 0x90;
      if (b === 0xf4) upper = 0x8f;
    } else {
      out.push([i, i + 1]);
      i++;
      continue;
    }
    let j = i + 1;
    let ok = true;
    for (let k = 0; k < need; k++, j++) {
      const c = bytes[j];
      if (c === undefined || c < lower || c > upper) {
        ok = false;
        break;
      }
      lower = 0x80;
      upper = 0xbf;
    }
    if (!ok) out.push([i, j]);
    i = j;
  }
  return out;
}

/**
 * The path of the first string (value or key) in `value` containing `marker`, below `root`:
 * `events[3].data.note`, or `events[3]` for a key.
 */
export function pathOfMarker(value: unknown, marker: string, root: string): string | undefined {
  const visit = (v: unknown, path: string, depth: number): string | undefined => {
    if (typeof v === 'string') return v.includes(marker) ? path : undefined;
    if (v === null || typeof v !== 'object' || depth > 64) return undefined;
    for (const [k, child] of Array.isArray(v) ? v.entries() : Object.entries(v)) {
      if (typeof k === 'string' && k.includes(marker)) return path;
      const hit = visit(child, Array.isArray(v) && path === root ? `${root}[${k}]` : `${path}.${k}`, depth + 1);
      if (hit) return hit;
    }
    return undefined;
  };
  return visit(value, root, 0);
}
