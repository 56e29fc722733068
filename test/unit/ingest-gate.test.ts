import { describe, expect, it } from 'vitest';
import { AdmissionAbortedError, FairGate, IngestAdmission } from '../../src/http/ingest-admission.js';

const tick = () => new Promise((r) => setImmediate(r));

describe('FairGate', () => {
  it('lets at most `limit` holders in at once, and the others in arrival order', async () => {
    const gate = new FairGate(2);
    let active = 0;
    let peak = 0;
    const order: number[] = [];
    await Promise.all(
      Array.from({ length: 6 }, async (_, i) => {
        const release = await gate.acquire('org');
        order.push(i);
        active++;
        peak = Math.max(peak, active);
        await tick();
        active--;
        release();
        release(); // releasing twice is harmless
      }),
    );
    expect(peak).toBe(2);
    expect(order).toEqual([0, 1, 2, 3, 4, 5]);
    expect(gate.active).toBe(0);
  });

  it('serves organisations in turn: one with many waiters does not make another wait behind all of them', async () => {
    const gate = new FairGate(1);
    const first = await gate.acquire('b');
    const order: string[] = [];
    const waits = [
      ...['b1', 'b2', 'b3', 'b4'].map((n) => gate.acquire('b').then((release) => (order.push(n), release()))),
      gate.acquire('a').then((release) => (order.push('a1'), release())),
    ];
    first();
    await Promise.all(waits);
    expect(order.indexOf('a1')).toBeLessThanOrEqual(1);
  });

  it('drops a waiter whose signal aborts, and gives its turn to the next', async () => {
    const gate = new FairGate(1);
    const held = await gate.acquire('a');
    const abort = new AbortController();
    const aborted = gate.acquire('b', abort.signal);
    const next = gate.acquire('c');
    abort.abort(new Error('gone'));
    await expect(aborted).rejects.toBeInstanceOf(AdmissionAbortedError);
    expect(gate.waiting).toBe(1);
    held();
    (await next)();
    expect(gate.active).toBe(0);
    expect(gate.waiting).toBe(0);
  });
});

describe('IngestAdmission', () => {
  const limits = { maxBodyBytes: 100, maxEvents: 10, commitConcurrency: 1, readsPerOrganization: 2, bufferBytesPerOrganization: 150, bodyTimeoutMs: 1000 };

  it('bounds reads and bytes per organisation without touching another organisation', async () => {
    const admission = new IngestAdmission(limits);
    const b1 = await admission.reserve('b', 100);
    let b2Granted = false;
    const b2 = admission.reserve('b', 100).then((r) => ((b2Granted = true), r));
    await tick();
    expect(b2Granted).toBe(false); // 200 bytes would pass B's 150
    const a1 = await admission.reserve('a', 100); // A is not held up by B
    expect(admission.held('a')).toEqual({ reads: 1, bytes: 100, waiting: 0 });
    b1();
    (await b2)();
    a1();
    expect(admission.held('b')).toEqual({ reads: 0, bytes: 0, waiting: 0 });
    expect(admission.held('a')).toEqual({ reads: 0, bytes: 0, waiting: 0 });
  });

  it('gives back everything when waiters abort', async () => {
    const admission = new IngestAdmission(limits);
    const r1 = await admission.reserve('b', 10);
    const r2 = await admission.reserve('b', 10);
    const aborts = Array.from({ length: 5 }, () => new AbortController());
    const waits = aborts.map((a) => admission.reserve('b', 10, a.signal));
    expect(admission.held('b').waiting).toBe(5);
    aborts.forEach((a) => a.abort(new Error('client went away')));
    for (const w of waits) await expect(w).rejects.toBeInstanceOf(AdmissionAbortedError);
    r1();
    r2();
    r2();
    expect(admission.held('b')).toEqual({ reads: 0, bytes: 0, waiting: 0 });
    (await admission.reserve('b', 10))();
  });

  it('allows at least bodyTimeoutMs, and as much again per MiB', () => {
    const admission = new IngestAdmission(limits);
    expect(admission.bodyDeadlineMs(0)).toBe(1000);
    expect(admission.bodyDeadlineMs(1024 * 1024)).toBe(1000);
    expect(admission.bodyDeadlineMs(5 * 1024 * 1024)).toBe(5000);
  });
});
