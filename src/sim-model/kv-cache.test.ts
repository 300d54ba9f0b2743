import { describe, expect, it } from 'vitest';
import { KvCache } from './kv-cache.js';

const tokens = (...parts: string[]): string[] => parts.flatMap((p) => p.split(''));

describe('KvCache', () => {
  it('reuses only an unbroken prefix of full blocks', () => {
    const kv = new KvCache(16, 2);
    const first = kv.allocate(tokens('aabbcc'), 0)!;
    kv.release(first);
    expect(kv.allocate(tokens('aabbcc'), 0)!.cachedTokens).toBe(6);
    expect(kv.allocate(tokens('aabbxx'), 0)!.cachedTokens).toBe(4);
    // Same third block after a different first one: the chained hash differs, so no hit.
    expect(kv.allocate(tokens('zzbbcc'), 0)!.cachedTokens).toBe(0);
  });

  it('evicts the least recently released unreferenced blocks when it runs out', () => {
    const kv = new KvCache(4, 2);
    kv.release(kv.allocate(tokens('aabb'), 0)!);
    kv.release(kv.allocate(tokens('ccdd'), 0)!);
    // Needs 2 blocks: takes aa/bb (released first), keeps cc/dd.
    kv.release(kv.allocate(tokens('eeff'), 0)!);
    expect(kv.allocate(tokens('ccdd'), 0)!.cachedTokens).toBe(4);
    expect(kv.allocate(tokens('aabb'), 0)!.cachedTokens).toBe(0);
  });

  it('refuses a sequence whose blocks are not free, and counts referenced blocks as used', () => {
    const kv = new KvCache(4, 2);
    const held = kv.allocate(tokens('aa'), 5)!;
    expect(kv.usage()).toBe(1);
    expect(kv.allocate(tokens('bb'), 0)).toBeUndefined();
    kv.release(held);
    expect(kv.usage()).toBe(0);
    expect(kv.allocate(tokens('bb'), 0)).toBeDefined();
  });
});
