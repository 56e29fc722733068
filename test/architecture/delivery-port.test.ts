import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/**
 * The delivery engine reaches the store through `DeliveryPort` (`Store.delivery()`), never through the
 * database handle or the secret box: no module of src/delivery imports kysely, the `Store` class, or the
 * store's database plumbing. Tenancy in the data layer is then a type, not a convention.
 */

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const DELIVERY = join(ROOT, 'src/delivery');

/** Modules that hand out the database or the secret box. */
const FORBIDDEN = ['kysely', 'src/store/store.ts', 'src/store/database.ts', 'src/store/tables.ts', 'src/store/sqlite-database.ts', 'src/store/run-transaction.ts', 'src/crypto/secret-box.ts'];

function importsOf(file: string): string[] {
  const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
  return importedFiles.map(({ fileName }) =>
    fileName.startsWith('.') ? relative(ROOT, resolve(dirname(file), fileName)).replace(/\\/g, '/').replace(/\.js$/, '.ts') : fileName,
  );
}

describe('the delivery engine and the store', () => {
  const files = readdirSync(DELIVERY).filter((f) => f.endsWith('.ts')).map((f) => join(DELIVERY, f));

  it('finds the delivery modules', () => {
    expect(files.map((f) => relative(ROOT, f))).toContain(join('src', 'delivery', 'delivery-engine.ts'));
  });

  it('src/delivery imports neither kysely, nor Store, nor the database plumbing (only DeliveryPort and its types)', () => {
    const offending = files.flatMap((file) =>
      importsOf(file).filter((i) => FORBIDDEN.includes(i)).map((i) => `${relative(ROOT, file)} → ${i}`),
    );
    expect(offending).toEqual([]);
  });
});
