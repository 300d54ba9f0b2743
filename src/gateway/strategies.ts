/**
 * Replica selection. A request first gets a version (smooth weighted round-robin over the
 * versions' weights, so a 90/10 split is exact over every 10 picks), then a replica of that
 * version by the strategy. Strategies are pure functions of the candidates and the load counts,
 * so they are tested without HTTP.
 */
export type StrategyName = 'random' | 'round-robin' | 'least-outstanding' | 'prefix-affinity';
export const strategyNames: readonly StrategyName[] = ['random', 'round-robin', 'least-outstanding', 'prefix-affinity'];

export interface Candidate {
  id: string;
}

export interface PickContext {
  /** Requests in flight to a replica (through this gateway). */
  outstanding(id: string): number;
  /** Groups round-robin counters (model/version). */
  group: string;
  /** For prefix affinity: the key hashed from the start of the prompt; absent → least outstanding. */
  prefixKey?: string | undefined;
}

export interface Strategy {
  readonly name: StrategyName;
  pick<R extends Candidate>(candidates: readonly R[], ctx: PickContext): R | undefined;
}

export interface StrategyOptions {
  /** Prefix affinity's load valve: leave the affine replica when its outstanding > least + bound. */
  loadBound?: number;
  /** Random's source of numbers in [0, 1); tests pass a fixed one. */
  random?: () => number;
}

export function createStrategy(name: StrategyName, options: StrategyOptions = {}): Strategy {
  switch (name) {
    case 'random':
      return new RandomPick(options.random ?? Math.random);
    case 'round-robin':
      return new RoundRobin();
    case 'least-outstanding':
      return new LeastOutstanding();
    case 'prefix-affinity':
      return new PrefixAffinity(options.loadBound ?? 4);
  }
}

/** Any replica, each as likely: the reference that routing studies (llm-d's among them) compare against. */
class RandomPick implements Strategy {
  readonly name = 'random' as const;

  constructor(private readonly random: () => number) {}

  pick<R extends Candidate>(candidates: readonly R[]): R | undefined {
    return candidates[Math.floor(this.random() * candidates.length)];
  }
}

class RoundRobin implements Strategy {
  readonly name = 'round-robin' as const;
  private readonly counters = new Map<string, number>();

  pick<R extends Candidate>(candidates: readonly R[], ctx: PickContext): R | undefined {
    if (candidates.length === 0) return undefined;
    const n = this.counters.get(ctx.group) ?? 0;
    this.counters.set(ctx.group, (n + 1) % 1_000_000_007);
    return candidates[n % candidates.length];
  }
}

/** Fewest requests in flight; ties broken by a rotating start so equal replicas share the load. */
class LeastOutstanding implements Strategy {
  readonly name = 'least-outstanding' as const;
  private rotation = 0;

  pick<R extends Candidate>(candidates: readonly R[], ctx: PickContext): R | undefined {
    this.rotation = (this.rotation + 1) % 1_000_000_007;
    return leastLoaded(candidates, ctx, this.rotation);
  }
}

function leastLoaded<R extends Candidate>(candidates: readonly R[], ctx: PickContext, rotation: number): R | undefined {
  const n = candidates.length;
  let best: R | undefined;
  let bestLoad = Infinity;
  for (let i = 0; i < n; i++) {
    const c = candidates[(i + rotation) % n]!;
    const load = ctx.outstanding(c.id);
    if (load < bestLoad) {
      best = c;
      bestLoad = load;
    }
  }
  return best;
}

/**
 * Prefix affinity with a load valve: rendezvous hashing ranks the replicas for the prompt's prefix
 * key (adding or removing a replica moves only the keys that belonged to it), and the request goes
 * to the first replica in that ranking whose outstanding does not exceed the least-loaded one's by
 * more than `loadBound` (consistent hashing with bounded loads). A hot prefix therefore spills to
 * the same second replica each time, whose cache then holds it too, instead of to whichever replica
 * is least loaded at that moment.
 */
class PrefixAffinity implements Strategy {
  readonly name = 'prefix-affinity' as const;
  private rotation = 0;

  constructor(private readonly loadBound: number) {}

  pick<R extends Candidate>(candidates: readonly R[], ctx: PickContext): R | undefined {
    this.rotation = (this.rotation + 1) % 1_000_000_007;
    const least = leastLoaded(candidates, ctx, this.rotation);
    if (ctx.prefixKey === undefined || least === undefined) return least;
    const bound = ctx.outstanding(least.id) + this.loadBound;
    return rendezvous(candidates, ctx.prefixKey, (c) => ctx.outstanding(c.id) <= bound) ?? least;
  }
}

/**
 * Highest-random-weight hashing: of the candidates `accept` takes, the one whose hash with the key
 * is largest, i.e. the first taken in the key's ranking. One pass, on every request's path.
 */
export function rendezvous<R extends Candidate>(candidates: readonly R[], key: string, accept: (c: R) => boolean = () => true): R | undefined {
  const keyHash = fnv1a(key, 0x811c9dc5);
  let best: R | undefined;
  let bestScore = -1;
  for (const c of candidates) {
    if (!accept(c)) continue;
    const score = mix(fnv1a(c.id, keyHash));
    if (score > bestScore) {
      best = c;
      bestScore = score;
    }
  }
  return best;
}

export function fnv1a(text: string, seed: number): number {
  let h = seed >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** A final avalanche (murmur3's fmix32) so that nearby ids give unrelated scores. */
function mix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Smooth weighted round-robin (nginx's): deterministic, spreads a version's share evenly. */
export class VersionPicker {
  private readonly current = new Map<string, Map<string, number>>();

  pick<V extends { version: string; weight: number }>(model: string, versions: readonly V[], usable: (v: V) => boolean = () => true): V | undefined {
    let state = this.current.get(model);
    if (state === undefined) this.current.set(model, (state = new Map()));
    let total = 0;
    let best: V | undefined;
    let bestCurrent = -Infinity;
    for (const v of versions) {
      if (v.weight <= 0 || !usable(v)) continue;
      const c = (state.get(v.version) ?? 0) + v.weight;
      state.set(v.version, c);
      total += v.weight;
      if (c > bestCurrent) {
        best = v;
        bestCurrent = c;
      }
    }
    if (best !== undefined) state.set(best.version, bestCurrent - total);
    return best;
  }
}

/**
 * The affinity key of a request body: the first `chars` characters of its prompt, with chat
 * messages rendered in a role-marked template (so two conversations sharing a system prompt
 * share a key). Texts shorter than `chars` are keyed whole.
 */
export function promptPrefix(body: unknown, chars: number): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const b = body as { messages?: unknown; prompt?: unknown; input?: unknown };
  if (Array.isArray(b.messages)) {
    let text = '';
    for (const m of b.messages as { role?: unknown; content?: unknown }[]) {
      const content = typeof m?.content === 'string' ? m.content : Array.isArray(m?.content) ? m.content.map((p: { text?: unknown }) => (typeof p?.text === 'string' ? p.text : '')).join('') : '';
      text += `<|${String(m?.role)}|>${content}<|end|>`;
      if (text.length >= chars) break;
    }
    return text.slice(0, chars);
  }
  const p = b.prompt ?? b.input;
  if (typeof p === 'string') return p.slice(0, chars);
  if (Array.isArray(p) && typeof p[0] === 'string') return p[0].slice(0, chars);
  return undefined;
}
