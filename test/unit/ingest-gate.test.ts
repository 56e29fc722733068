import { describe, expect, it } from 'vitest';
import { IngestGate } from '../../src/http/ingest-endpoint.js';

describe('IngestGate', () => {
  it('lets at most `limit` holders in at once, and the others in arrival order', async () => {
    const gate = new IngestGate(2);
    let active = 0;
    let peak = 0;
    const order: number[] = [];
    await Promise.all(
      Array.from({ length: 6 }, async (_, i) => {
        const release = await gate.acquire();
        order.push(i);
        active++;
        peak = Math.max(peak, active);
        await new Promise((r) => setImmediate(r));
        active--;
        release();
        release(); // releasing twice is harmless
      }),
    );
    expect(peak).toBe(2);
    expect(order).toEqual([0, 1, 2, 3, 4, 5]);
  });
});
