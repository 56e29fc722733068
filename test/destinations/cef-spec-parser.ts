/**
 * A CEF parser written for the tests from the ArcSight CEF implementation standard, independent of the formatter:
 *
 * - `CEF:Version|Device Vendor|Device Product|Device Version|Device Event Class ID|Name|Severity|Extension`
 * - header fields: `\|` is a literal pipe, `\\` a literal backslash; an unescaped `|` ends a field. Nothing else may
 *   follow a backslash there.
 * - extension: `key=value` pairs separated by spaces; keys are alphanumeric; in values `\=` is `=`, `\\` is `\`,
 *   `\n` / `\r` are LF / CR. Unescaped `=` only ever follows a key, so the key of each value is the alphanumeric run
 *   before an unescaped `=`, preceded by the start of the extension or a space; the value runs up to the space before
 *   the next key.
 *
 * It throws on anything the standard does not allow (unknown escapes, a raw CR/LF anywhere, missing fields).
 */

export interface ParsedCef {
  version: string;
  deviceVendor: string;
  deviceProduct: string;
  deviceVersion: string;
  signatureId: string;
  name: string;
  severity: string;
  /** In order of appearance. */
  extension: [string, string][];
}

const HEADER_FIELDS = 7;

export function parseCefLine(line: string): ParsedCef {
  if (/[\r\n]/.test(line)) throw new Error('a CEF line must not contain a raw CR or LF');
  if (!line.startsWith('CEF:')) throw new Error(`not a CEF line: ${line.slice(0, 20)}`);
  const header: string[] = [];
  let current = '';
  let i = 0;
  while (header.length < HEADER_FIELDS) {
    if (i >= line.length) throw new Error(`CEF header has only ${header.length} fields`);
    const ch = line[i]!;
    if (ch === '\\') {
      const next = line[i + 1];
      if (next !== '\\' && next !== '|') throw new Error(`invalid header escape \\${next ?? '<end>'} at ${i}`);
      current += next;
      i += 2;
    } else if (ch === '|') {
      header.push(current);
      current = '';
      i += 1;
    } else {
      current += ch;
      i += 1;
    }
  }
  const ext = line.slice(i);
  const [version, deviceVendor, deviceProduct, deviceVersion, signatureId, name, severity] = header as [
    string, string, string, string, string, string, string,
  ];
  return {
    version: version.slice('CEF:'.length),
    deviceVendor,
    deviceProduct,
    deviceVersion,
    signatureId,
    name,
    severity,
    extension: parseExtension(ext),
  };
}

function parseExtension(ext: string): [string, string][] {
  if (ext === '') return [];
  // Positions of unescaped '='.
  const equals: number[] = [];
  for (let i = 0; i < ext.length; i++) {
    if (ext[i] === '\\') {
      i++; // skip the escaped character
      continue;
    }
    if (ext[i] === '=') equals.push(i);
  }
  if (equals.length === 0) throw new Error('extension without key=value');
  const keys: { key: string; start: number; eq: number }[] = equals.map((eq) => {
    let start = eq;
    while (start > 0 && /[A-Za-z0-9]/.test(ext[start - 1]!)) start--;
    if (start === eq) throw new Error(`unescaped '=' without a key at ${eq}`);
    if (start > 0 && ext[start - 1] !== ' ') throw new Error(`key at ${start} not preceded by a space`);
    return { key: ext.slice(start, eq), start, eq };
  });
  if (keys[0]!.start !== 0) throw new Error('extension does not start with a key');
  return keys.map((k, idx) => {
    const end = idx + 1 < keys.length ? keys[idx + 1]!.start - 1 : ext.length;
    return [k.key, unescapeValue(ext.slice(k.eq + 1, end))];
  });
}

function unescapeValue(raw: string): string {
  let out = '';
  for (let i = 0; i < raw.length; i++) {
    const ch = raw[i]!;
    if (ch !== '\\') {
      out += ch;
      continue;
    }
    const next = raw[i + 1];
    i++;
    if (next === '\\') out += '\\';
    else if (next === '=') out += '=';
    else if (next === 'n') out += '\n';
    else if (next === 'r') out += '\r';
    else throw new Error(`invalid extension escape \\${next ?? '<end>'}`);
  }
  return out;
}

/** The extension as a map; throws on a repeated key. */
export function extensionMap(parsed: ParsedCef): Map<string, string> {
  const map = new Map<string, string>();
  for (const [k, v] of parsed.extension) {
    if (map.has(k)) throw new Error(`duplicate extension key ${k}`);
    map.set(k, v);
  }
  return map;
}
