import type { SimModelConfig } from './config.js';
import { KvCache, type KvAllocation } from './kv-cache.js';

export interface Clock {
  /** Milliseconds; only differences matter. */
  now(): number;
}

export type LatencyModel = Pick<
  SimModelConfig,
  | 'ttftOverheadMs'
  | 'prefillMsPerToken'
  | 'decodeMsPerToken'
  | 'decodeSlowdownAtMaxBatch'
  | 'maxNumSeqs'
  | 'kvCacheBlocks'
  | 'kvBlockSizeTokens'
>;

export type FinishReason = 'stop' | 'length';

export interface SequenceTimings {
  promptTokens: number;
  cachedTokens: number;
  completionTokens: number;
  queueMs: number;
  /** From arrival to the first token, as the latency model scheduled it. */
  ttftMs: number;
  /** From arrival to the last token. */
  e2eMs: number;
}

/** Receives a sequence's output; called from inside `Engine.step`. */
export interface SequenceSink {
  tokens(texts: string[]): void;
  finished(reason: FinishReason, timings: SequenceTimings): void;
}

/** Called once per token after the first with its inter-token time, and once per sequence at its end. */
export interface EngineObserver {
  interToken(ms: number): void;
  finished(reason: FinishReason, timings: SequenceTimings): void;
}

export interface SequenceRequest {
  promptTokens: readonly string[];
  outputTokens: number;
  finishReason: FinishReason;
  nextToken: () => string;
  sink: SequenceSink;
}

interface Sequence extends SequenceRequest {
  arrivedAt: number;
  admittedAt: number;
  firstTokenAt: number;
  nextTokenAt: number;
  lastTokenAt: number;
  generated: number;
  kv: KvAllocation | undefined;
  cancelled: boolean;
}

export interface SequenceHandle {
  /** Frees the sequence's batch slot and KV blocks, e.g. when the client went away. */
  cancel(): void;
}

/**
 * Continuous batching without a GPU. Each step, at the clock's time: emit every token that fell
 * due, then admit waiting sequences in arrival order while the batch has a slot and the KV cache
 * has their blocks. Prefill is one stream of work through the engine, as compute for prompts is on
 * a GPU: a sequence's uncached prompt tokens are prefilled at `prefillMsPerToken` each once the
 * prefills admitted before it are done, and its first token is due `ttftOverheadMs` after its own
 * prefill ends (so prompts arriving together wait for each other, and a prefix found in the cache
 * saves the time of every prompt behind it); each later token one inter-token time after the previous,
 * that time growing linearly from `decodeMsPerToken` at a batch of one to
 * `decodeMsPerToken × decodeSlowdownAtMaxBatch` at `maxNumSeqs`. Timings are computed, not
 * measured, so a step may run late without changing them, and tests drive it with a fake clock.
 */
export class Engine {
  readonly kv: KvCache;
  private waiting: Sequence[] = [];
  private waitingHead = 0;
  private readonly running = new Set<Sequence>();
  /** When the prefills admitted so far are done. */
  private prefillDoneAt = 0;

  constructor(
    private readonly model: LatencyModel,
    private readonly clock: Clock,
    private readonly observer?: EngineObserver,
  ) {
    this.kv = new KvCache(model.kvCacheBlocks, model.kvBlockSizeTokens);
  }

  get runningCount(): number {
    return this.running.size;
  }

  get waitingCount(): number {
    return this.waiting.length - this.waitingHead;
  }

  /** Whether a sequence this long could ever be admitted, however empty the cache. */
  fits(promptTokens: number, outputTokens: number): boolean {
    return this.kv.blocksFor(promptTokens + outputTokens) <= this.kv.totalBlocks;
  }

  submit(request: SequenceRequest): SequenceHandle {
    if (!this.fits(request.promptTokens.length, request.outputTokens))
      throw new RangeError('sequence needs more KV cache blocks than the cache has');
    const sequence: Sequence = {
      ...request,
      arrivedAt: this.clock.now(),
      admittedAt: 0,
      firstTokenAt: 0,
      nextTokenAt: 0,
      lastTokenAt: 0,
      generated: 0,
      kv: undefined,
      cancelled: false,
    };
    this.waiting.push(sequence);
    return { cancel: () => this.cancel(sequence) };
  }

  /** Advances to the clock's time; returns when the next token falls due, if anything is running. */
  step(): number | undefined {
    const now = this.clock.now();
    const interToken = this.interTokenMs();
    for (const sequence of this.running) if (sequence.nextTokenAt <= now) this.emit(sequence, now, interToken);
    // After emitting, so the slots and blocks of sequences that just ended go to those waiting.
    this.admit(now);
    let nextDue = Infinity;
    for (const sequence of this.running) if (sequence.nextTokenAt < nextDue) nextDue = sequence.nextTokenAt;
    return nextDue === Infinity ? undefined : nextDue;
  }

  private admit(now: number): void {
    while (this.waitingHead < this.waiting.length && this.running.size < this.model.maxNumSeqs) {
      const sequence = this.waiting[this.waitingHead]!;
      if (!sequence.cancelled) {
        const kv = this.kv.allocate(sequence.promptTokens, sequence.outputTokens);
        // First come, first served: a sequence that does not fit holds back those behind it.
        if (kv === undefined) break;
        sequence.kv = kv;
        sequence.admittedAt = now;
        this.prefillDoneAt = Math.max(now, this.prefillDoneAt) + (sequence.promptTokens.length - kv.cachedTokens) * this.model.prefillMsPerToken;
        sequence.firstTokenAt = this.prefillDoneAt + this.model.ttftOverheadMs;
        sequence.nextTokenAt = sequence.firstTokenAt;
        this.running.add(sequence);
      }
      this.waitingHead++;
    }
    if (this.waitingHead > 1024 && this.waitingHead * 2 > this.waiting.length) {
      this.waiting = this.waiting.slice(this.waitingHead);
      this.waitingHead = 0;
    }
  }

  private interTokenMs(): number {
    const { decodeMsPerToken, decodeSlowdownAtMaxBatch, maxNumSeqs } = this.model;
    if (maxNumSeqs === 1) return decodeMsPerToken;
    const load = (Math.max(this.running.size, 1) - 1) / (maxNumSeqs - 1);
    return decodeMsPerToken * (1 + (decodeSlowdownAtMaxBatch - 1) * load);
  }

  private emit(sequence: Sequence, now: number, interToken: number): void {
    const texts: string[] = [];
    while (sequence.nextTokenAt <= now && sequence.generated < sequence.outputTokens) {
      texts.push(sequence.nextToken());
      if (sequence.generated > 0) this.observer?.interToken(sequence.nextTokenAt - sequence.lastTokenAt);
      sequence.lastTokenAt = sequence.nextTokenAt;
      sequence.generated++;
      sequence.nextTokenAt += interToken;
    }
    sequence.sink.tokens(texts);
    if (sequence.generated < sequence.outputTokens) return;
    this.running.delete(sequence);
    this.kv.release(sequence.kv!);
    const timings: SequenceTimings = {
      promptTokens: sequence.promptTokens.length,
      cachedTokens: sequence.kv!.cachedTokens,
      completionTokens: sequence.generated,
      queueMs: sequence.admittedAt - sequence.arrivedAt,
      ttftMs: sequence.firstTokenAt - sequence.arrivedAt,
      e2eMs: sequence.lastTokenAt - sequence.arrivedAt,
    };
    this.observer?.finished(sequence.finishReason, timings);
    sequence.sink.finished(sequence.finishReason, timings);
  }

  private cancel(sequence: Sequence): void {
    if (sequence.cancelled || (sequence.kv !== undefined && !this.running.has(sequence))) return;
    sequence.cancelled = true;
    if (this.running.delete(sequence)) this.kv.release(sequence.kv!);
  }
}
