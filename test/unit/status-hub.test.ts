import { describe, expect, it } from 'vitest';
import { mapMessages, StatusHub, SubscriberTooSlowError } from '../../src/delivery/status-hub.js';

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

  it('visits only the subscribers of the message\'s key and those of every key, however many other keys have', () => {
    const hub = new StatusHub<{ integrationId: string; n: number }>({ keyOf: (m) => m.integrationId });
    const calls = new Map<string, number>();
    const count = (who: string) => () => calls.set(who, (calls.get(who) ?? 0) + 1);
    for (let i = 0; i < 5_000; i++) hub.listen('status:org-a', count(`other-${i}`), { key: `integration-${i}` });
    const stopTarget = hub.listen('status:org-a', count('target'), { key: 'integration-x' });
    hub.listen('status:org-a', count('whole-org'));
    hub.listen('status:org-b', count('other-org'));

    hub.publish('status:org-a', { integrationId: 'integration-x', n: 1 });
    expect(Object.fromEntries(calls)).toEqual({ target: 1, 'whole-org': 1 });

    calls.clear();
    stopTarget();
    hub.publish('status:org-a', { integrationId: 'integration-x', n: 2 });
    expect(Object.fromEntries(calls)).toEqual({ 'whole-org': 1 });
    expect(hub.subscriberCount('status:org-a', 'integration-x')).toBe(0);
    expect(hub.subscriberCount('status:org-a')).toBe(5_001);
  });

  it('delivers keyed messages to keyed iterators and to iterators of every key', async () => {
    const hub = new StatusHub<{ integrationId: string; n: number }>({ keyOf: (m) => m.integrationId });
    const one = hub.subscribe('t', { key: 'a' });
    const all = hub.subscribe('t');
    hub.publish('t', { integrationId: 'b', n: 1 });
    hub.publish('t', { integrationId: 'a', n: 2 });
    expect((await one.next()).value).toEqual({ integrationId: 'a', n: 2 });
    expect([(await all.next()).value.n, (await all.next()).value.n]).toEqual([1, 2]);
  });

  it('subscribes before reading the snapshot, then yields the snapshot and the messages published during the read, in that order', async () => {
    const hub = new StatusHub<string>();
    const it = await hub.subscribeWithSnapshot('t', {}, async () => {
      expect(hub.subscriberCount('t')).toBe(1); // already subscribed while the state is read
      hub.publish('t', 'change during the read');
      await new Promise((resolve) => setTimeout(resolve, 5));
      return ['snapshot a', 'snapshot b'];
    });
    hub.publish('t', 'change after');
    const seen: string[] = [];
    for (let i = 0; i < 4; i++) seen.push((await it.next()).value as string);
    expect(seen).toEqual(['snapshot a', 'snapshot b', 'change during the read', 'change after']);
  });

  it('a snapshot larger than the buffer does not count against it', async () => {
    const hub = new StatusHub<number>({ maxBuffered: 2 });
    const it = await hub.subscribeWithSnapshot('t', {}, () => [1, 2, 3, 4, 5]);
    hub.publish('t', 6);
    const seen: number[] = [];
    for (let i = 0; i < 6; i++) seen.push((await it.next()).value as number);
    expect(seen).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('a failing snapshot read unsubscribes and throws', async () => {
    const hub = new StatusHub<number>();
    await expect(hub.subscribeWithSnapshot('t', { key: 'k' }, async () => Promise.reject(new Error('read failed')))).rejects.toThrow('read failed');
    expect(hub.size).toBe(0);
  });

  it('return() while a next() waits unsubscribes at once, also through mapMessages', async () => {
    const hub = new StatusHub<number>();
    const mapped = mapMessages(await hub.subscribeWithSnapshot('t', {}, () => [1]), (n) => (n % 2 ? `odd ${n}` : undefined));
    expect((await mapped.next()).value).toBe('odd 1');
    const waiting = mapped.next(); // nothing published: waits
    expect(hub.size).toBe(1);
    await mapped.return!();
    expect(hub.size).toBe(0);
    expect(await waiting).toEqual({ value: undefined, done: true });
  });
});
