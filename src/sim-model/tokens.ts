import { hashString, seededRandom } from '../core/seeded-random.js';

/**
 * The simulator's tokenizer: a token is a run of letters and digits with the whitespace before
 * it, or a single other character with the whitespace before it. Real BPE tokenizers give about
 * 1.3 tokens per English word; this gives one, which is close enough for latency, and it is
 * deterministic, so equal prompt prefixes give equal token prefixes and hit the prefix cache.
 */
const tokenPattern = /\s*[\p{L}\p{N}]+|\s*[^\s\p{L}\p{N}]|\s+$/gu;

export function tokenize(text: string): string[] {
  return text.match(tokenPattern) ?? [];
}

export interface ChatMessage {
  role: string;
  content: string;
}

/**
 * A chat template in the spirit of real ones: each message opens with a role marker token, so a
 * conversation that grows turn by turn keeps its earlier turns as a cacheable prefix.
 */
export function tokenizeChat(messages: readonly ChatMessage[]): string[] {
  const tokens: string[] = [];
  for (const message of messages) {
    tokens.push(`<|${message.role}|>`);
    for (const token of tokenize(message.content)) tokens.push(token);
    tokens.push('<|end|>');
  }
  tokens.push('<|assistant|>');
  return tokens;
}

const vocabulary = (
  'the of and to in is that for it as with was on be by at this from or an are not have which ' +
  'model token cache batch queue server request latency throughput prefill decode block prefix ' +
  'replica gateway route fleet quota node scheduler stream metric sample answer result value'
).split(' ');

/** Generated text: words drawn from a fixed vocabulary, the same for the same prompt and seed. */
export function outputTokenSource(promptTokens: readonly string[], seed: number): () => string {
  const random = seededRandom(hashString(promptTokens.slice(-64).join(''), seed) >>> 0);
  let first = true;
  return () => {
    const word = vocabulary[Math.floor(random() * vocabulary.length)]!;
    const token = first ? word : ` ${word}`;
    first = false;
    return token;
  };
}
