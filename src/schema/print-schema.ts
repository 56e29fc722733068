import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { lexicographicSortSchema, printSchema } from 'graphql';
import { buildSchema } from './index.js';

/**
 * The schema as SDL, sorted, as checked in at `schema.graphql`.
 *
 * @example
 * ```ts
 * writeFileSync('schema.graphql', printSchemaSdl());
 * ```
 */
export function printSchemaSdl(): string {
  return `${printSchema(lexicographicSortSchema(buildSchema()))}\n`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const target = fileURLToPath(new URL('../../schema.graphql', import.meta.url));
  writeFileSync(target, printSchemaSdl());
  console.log(`wrote ${target}`);
}
