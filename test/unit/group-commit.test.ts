import { describe, expect, it } from 'vitest';
import { GroupCommit } from '../../src/store/group-commit.js';

/** A commit that holds until released, recording the jobs of each commit. */
function recorder() {
  const commits: number[][] = [];
  let release: () => void = () => undefined;
  const group = new GroupCommit<number, string>(async (_key, jobs) => {
    commits.push(jobs);
    await new Promise<void>((resolve) => (release = resolve));
    if (jobs.includes(13)) throw new Error('the disk is full');
    return jobs.map((j) => (j < 0 ? new Error(`job ${j} refused`) : `done ${j}`));
  });
  return { group, commits, release: () => release() };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('group commit', () => {
  it('commits a job that arrives alone at once, and the jobs that arrive meanwhile together in the next commit', async () => {
    const { group, commits, release } = recorder();
    const first = group.submit('org-a', 1);
    await tick();
    expect(commits).toEqual([[1]]);
    const later = [group.submit('org-a', 2), group.submit('org-a', 3), group.submit('org-a', 4)];
    await tick();
    expect(commits).toEqual([[1]]);
    release();
    expect(await first).toBe('done 1');
    await tick();
    expect(commits).toEqual([[1], [2, 3, 4]]);
    release();
    expect(await Promise.all(later)).toEqual(['done 2', 'done 3', 'done 4']);
  });

  it('keeps organisations apart: each key commits on its own', async () => {
    const { group, commits, release } = recorder();
    const a = group.submit('org-a', 1);
    const b = group.submit('org-b', 2);
    await tick();
    expect(commits).toEqual([[1], [2]]);
    release();
    await tick();
    void a;
    void b;
  });

  it('fails only the job its commit refused, and every job of a commit that failed as a whole', async () => {
    const { group, release } = recorder();
    const blocker = group.submit('org-a', 0);
    await tick();
    const refused = group.submit('org-a', -1);
    const fine = group.submit('org-a', 5);
    release();
    await blocker;
    await tick();
    release();
    await expect(refused).rejects.toThrow('job -1 refused');
    expect(await fine).toBe('done 5');

    const holder = group.submit('org-a', 8);
    await tick();
    const doomed = [group.submit('org-a', 13), group.submit('org-a', 6)];
    release();
    expect(await holder).toBe('done 8');
    await tick();
    release();
    for (const d of doomed) await expect(d).rejects.toThrow('the disk is full');
    // And the next commit goes on.
    const after = group.submit('org-a', 7);
    await tick();
    release();
    expect(await after).toBe('done 7');
  });
});
