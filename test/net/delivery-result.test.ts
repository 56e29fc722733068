import { describe, expect, it } from 'vitest';
import { classifyAnswer, type HttpAnswer } from '../../src/destinations/shared/http-destination.js';
import { classifyHecAnswer } from '../../src/destinations/shared/hec.js';
import { isPayloadRejection, type DeliveryResult } from '../../src/net/delivery-result.js';

const answer = (status: number, body = '', headers: Record<string, string> = {}): HttpAnswer => ({ status, headers, body, latencyMs: 5 });

/**
 * What a refused request means is decided once, in net/delivery-result.ts: the classifiers call every refusal
 * `rejected`, and isPayloadRejection alone tells a bad payload (dead-lettered after splitting) from a wrong
 * address (kept queued until an admin fixes the integration).
 */
describe('isPayloadRejection', () => {
  it.each([
    [400, true],
    [413, true],
    [422, true],
    [404, false],
    [405, false],
    [407, false],
    [408, false],
    [409, false],
    [410, false],
    [301, false],
    [302, false],
    [308, false],
  ] as const)('an HTTP %i answer is a payload rejection: %s', (status, payload) => {
    const result = classifyAnswer(answer(status), 2);
    expect(result.kind).toBe('rejected');
    expect(isPayloadRejection(result)).toBe(payload);
  });

  it('counts a HEC "invalid data" code as a payload rejection, even on HTTP 200', () => {
    const result = classifyHecAnswer(answer(200, JSON.stringify({ text: 'Invalid data format', code: 6 })), 2);
    expect(result).toMatchObject({ kind: 'rejected', status: 200 });
    expect(isPayloadRejection(result)).toBe(true);
  });

  it('counts a refusal without an HTTP status (an event too large to send) as a payload rejection', () => {
    const result: DeliveryResult = { kind: 'rejected', ok: false, message: 'event e1 is too large', latencyMs: 1, recordCount: 1 };
    expect(isPayloadRejection(result)).toBe(true);
  });

  it.each([200, 401, 403, 429, 500, 503])('an HTTP %i answer is no payload rejection', (status) => {
    expect(isPayloadRejection(classifyAnswer(answer(status), 2))).toBe(false);
  });

  it('never counts a network failure or a timeout', () => {
    for (const kind of ['network', 'timeout'] as const) {
      expect(isPayloadRejection({ kind, ok: false, message: 'x', latencyMs: 1, recordCount: 1 })).toBe(false);
    }
  });
});
