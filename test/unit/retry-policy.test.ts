import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_RETRY_AFTER_MS, retryDelayMs } from '../../src/delivery/retry-policy.js';

const policy = { retryCount: 3, baseMs: 1000, maxMs: 300_000 };

describe('retry policy', () => {
  it('quick retries use full jitter over an exponential step', () => {
    expect(retryDelayMs(1, undefined, policy, () => 0.999)).toBeLessThanOrEqual(1000);
    expect(retryDelayMs(3, undefined, policy, () => 0.999)).toBeLessThanOrEqual(4000);
    expect(retryDelayMs(2, undefined, policy, () => 0)).toBe(0);
  });

  it('after the quick retries, waits grow to at most 5 minutes and never collapse to zero', () => {
    fc.assert(fc.property(fc.integer({ min: 4, max: 10_000 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (failures, r) => {
      const d = retryDelayMs(failures, undefined, policy, () => r);
      expect(d).toBeGreaterThanOrEqual(Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(failures, 30)) / 2 - 1);
      expect(d).toBeLessThanOrEqual(policy.maxMs);
    }));
  });

  it('honours Retry-After as a floor, up to an hour', () => {
    expect(retryDelayMs(1, 7000, policy, () => 0)).toBe(7000);
    expect(retryDelayMs(1, 10 * MAX_RETRY_AFTER_MS, policy, () => 0)).toBe(MAX_RETRY_AFTER_MS);
  });
});
