import { describe, expect, it } from 'vitest';
import { StatusHub, SubscriberTooSlowError } from '../../src/delivery/status-hub.js';

describe('StatusHub', () => {
  it('delivers messages in order to every subscriber of a topic, and only that topic', async () => {
    const hub = new StatusHub<number>();
    const a = hub.subscribe('t');
    const b = hub.subscribe('t');
    const other = hub.subscribe('u');
    hub.publish('t', 1);
    hub.publish('t', 2);
    expect([(await a.next()).value, (await a.next()).value]).toEqual([1, 2]);
    expect((await b.next()).value).toBe(1);
    hub.publish('u', 9);
    expect((await other.next()).value).toBe(9);
  });

  it('drops a subscriber that falls behind, without blocking the publisher or the others', async () => {
    const hub = new StatusHub<number>({ maxBuffered: 3 });
    const slow = hub.subscribe('t');
    const fast = hub.subscribe('t');
    const received: number[] = [];
    for (let i = 0; i < 10; i++) {
      hub.publish('t', i);
      received.push((await fast.next()).value as number);
    }
    expect(received).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    await expect(slow.next()).rejects.toBeInstanceOf(SubscriberTooSlowError);
    expect(hub.subscriberCount('t')).toBe(1);
  });

  it('unsubscribes when the iteration ends', async () => {
    const hub = new StatusHub<number>();
    const it = hub.subscribe('t');
    await it.return!();
    expect(hub.subscriberCount('t')).toBe(0);
    expect((await it.next()).done).toBe(true);
  });
});
