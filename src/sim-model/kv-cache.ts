import { hashString } from '../core/seeded-random.js';

interface Block {
  hash: number;
  refs: number;
}

/** The blocks one admitted sequence holds until it ends. */
export interface KvAllocation {
  /** Full prompt blocks, shared through the prefix cache. */
  readonly shared: Block[];
  /** The prompt's last partial block and room for the output: private, never cached. */
  readonly privateBlocks: number;
  /** Prompt tokens found in the cache as an unbroken prefix: they need no prefill. */
  readonly cachedTokens: number;
}

/**
 * A paged KV cache like vLLM's: the prompt is cut into blocks of `blockSize` tokens, each full
 * block keyed by a hash chained through all blocks before it, so a block is reused only when
 * the whole prefix up to it is equal. Blocks nobody references stay cached until space is
 * needed, then go least recently released first. A sequence reserves its prompt and its whole
 * output at admission, so a running sequence never has to be preempted.
 */
export class KvCache {
  private readonly cached = new Map<number, Block>();
  /** Cached blocks with no reference, oldest release first (Map keeps insertion order). */
  private readonly evictable = new Map<number, Block>();
  private emptyBlocks: number;
  queriedTokens = 0;
  hitTokens = 0;

  constructor(
    readonly totalBlocks: number,
    readonly blockSize: number,
  ) {
    this.emptyBlocks = totalBlocks;
  }

  blocksFor(tokens: number): number {
    return Math.ceil(tokens / this.blockSize);
  }

  /** Share of blocks held by running sequences (cached but unreferenced blocks count as free). */
  usage(): number {
    return (this.totalBlocks - this.emptyBlocks - this.evictable.size) / this.totalBlocks;
  }

  /** Reserves blocks for a sequence, or returns undefined when they are not free now. */
  allocate(promptTokens: readonly string[], outputTokens: number): KvAllocation | undefined {
    const fullBlocks = Math.floor(promptTokens.length / this.blockSize);
    const needed = this.blocksFor(promptTokens.length + outputTokens);
    const hashes = this.blockHashes(promptTokens, fullBlocks);
    let prefixBlocks = 0;
    let present = 0;
    let presentUnreferenced = 0;
    for (let i = 0; i < fullBlocks; i++) {
      const block = this.cached.get(hashes[i]!);
      if (block === undefined) continue;
      if (present === i) prefixBlocks++;
      present++;
      if (block.refs === 0) presentUnreferenced++;
    }
    if (needed - present > this.emptyBlocks + this.evictable.size - presentUnreferenced) return undefined;

    // Reference what is present before taking new blocks, so eviction cannot take them.
    const shared = new Array<Block | undefined>(fullBlocks);
    for (let i = 0; i < fullBlocks; i++) {
      const block = this.cached.get(hashes[i]!);
      if (block === undefined) continue;
      if (block.refs === 0) this.evictable.delete(block.hash);
      block.refs++;
      shared[i] = block;
    }
    for (let i = 0; i < fullBlocks; i++) {
      if (shared[i] !== undefined) continue;
      this.takeBlock();
      const block = { hash: hashes[i]!, refs: 1 };
      this.cached.set(block.hash, block);
      shared[i] = block;
    }
    const privateBlocks = needed - fullBlocks;
    for (let i = 0; i < privateBlocks; i++) this.takeBlock();

    const cachedTokens = prefixBlocks * this.blockSize;
    this.queriedTokens += promptTokens.length;
    this.hitTokens += cachedTokens;
    return { shared: shared as Block[], privateBlocks, cachedTokens };
  }

  release(allocation: KvAllocation): void {
    this.emptyBlocks += allocation.privateBlocks;
    // Last block first, so a prompt's tail is evicted before its more widely shared head.
    for (let i = allocation.shared.length - 1; i >= 0; i--) {
      const block = allocation.shared[i]!;
      if (--block.refs === 0) this.evictable.set(block.hash, block);
    }
  }

  private takeBlock(): void {
    if (this.emptyBlocks > 0) {
      this.emptyBlocks--;
      return;
    }
    const oldest = this.evictable.keys().next();
    if (oldest.done) throw new Error('KV cache over-allocated: capacity was checked before taking blocks');
    this.evictable.delete(oldest.value);
    this.cached.delete(oldest.value);
  }

  private blockHashes(tokens: readonly string[], fullBlocks: number): number[] {
    const hashes = new Array<number>(fullBlocks);
    let parent = 0;
    for (let i = 0; i < fullBlocks; i++) {
      let text = '';
      for (let t = i * this.blockSize; t < (i + 1) * this.blockSize; t++) text += tokens[t]! + '\u0000';
      parent = hashString(text, parent);
      hashes[i] = parent;
    }
    return hashes;
  }
}
