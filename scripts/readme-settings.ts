// Rewrites the rows of README.md's "## Settings" table from SETTINGS (src/settings.ts), the one source of
// every setting's name, default and description: `node --import tsx scripts/readme-settings.ts`.
// test/cli/operability.test.ts fails when the two disagree.
import { readFileSync, writeFileSync } from 'node:fs';
import { settingsMarkdownRows } from '../src/settings.js';

const path = new URL('../README.md', import.meta.url);
const readme = readFileSync(path, 'utf8');
const start = readme.indexOf('\n## Settings');
const end = readme.indexOf('\n## ', start + 1);
const section = readme.slice(start, end).split('\n');
const first = section.findIndex((l) => l.startsWith('| `'));
let last = first;
while (last + 1 < section.length && section[last + 1]!.startsWith('| `')) last++;
section.splice(first, last - first + 1, ...settingsMarkdownRows());
writeFileSync(path, readme.slice(0, start) + section.join('\n') + readme.slice(end));
