import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { StoreUnavailableError } from '../../src/store/store-errors.js';
import { WalBarrier, keptOpenFlush } from '../../src/store/wal-barrier.js';

/** A flush that records its calls and finishes when the test says so. */
function controlledFlush() {
  const calls: { done: () => void; fail: (e: Error) => void }[] = [];
  const fn = (_path: string) => new Promise<void>((done, fail) => calls.push({ done, fail }));
  return { fn, calls };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('the WAL barrier: commits acknowledged only once flushed, flushes shared', () => {
  it('flushes at once for a caller alone', async () => {
    const f = controlledFlush();
    const wal = new WalBarrier('/x-wal', f.fn);
    let flushed = false;
    const p = wal.sync().then(() => (flushed = true));
    expect(f.calls).toHaveLength(1);
    await tick();
    expect(flushed).toBe(false);
    f.calls[0]!.done();
    await p;
    expect(flushed).toBe(true);
  });

  it('makes callers that arrive during a flush wait for the next one, which they all share', async () => {
    const f = controlledFlush();
    const wal = new WalBarrier('/x-wal', f.fn);
    const first = wal.sync();
    // These may have written after the first flush started: it does not cover them.
    const late = [wal.sync(), wal.sync(), wal.sync()];
    let lateDone = 0;
    late.forEach((p) => void p.then(() => lateDone++));
    f.calls[0]!.done();
    await first;
    await tick();
    expect(lateDone).toBe(0);
    expect(f.calls).toHaveLength(2);
    f.calls[1]!.done();
    await Promise.all(late);
    expect(f.calls).toHaveLength(2);
  });

  it('fails the callers of a flush that failed, and flushes again for the next', async () => {
    const f = controlledFlush();
    const wal = new WalBarrier('/x-wal', f.fn);
    const failed = wal.sync();
    f.calls[0]!.fail(new StoreUnavailableError('disk gone'));
    await expect(failed).rejects.toBeInstanceOf(StoreUnavailableError);
    const next = wal.sync();
    expect(f.calls).toHaveLength(2);
    f.calls[1]!.done();
    await next;
  });

  it('flushes a real file, and reports a missing or unusable one as the store being unavailable (never as flushed)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'siemgate-wal-'));
    writeFileSync(join(dir, 'gw.db-wal'), 'frames');
    const kept = keptOpenFlush();
    await expect(kept(join(dir, 'gw.db-wal'))).resolves.toBeUndefined();
    await expect(kept(join(dir, 'gw.db-wal'))).resolves.toBeUndefined();
    await kept.close();
    await expect(keptOpenFlush()(join(dir, 'absent-wal'))).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(keptOpenFlush()(join(dir, 'gw.db-wal', 'not-a-dir'))).rejects.toBeInstanceOf(StoreUnavailableError);
  });
});
