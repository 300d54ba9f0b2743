import type { FinishReason, SequenceTimings } from './engine.js';

/**
 * OpenAI response bodies for chat and text completions, streamed as server-sent events or
 * whole. Stream chunks are built from a prefix made once per request, because at thousands of
 * tokens a second JSON.stringify of a whole chunk per token is most of the simulator's cost.
 */
export type CompletionKind = 'chat' | 'text';

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details: { cached_tokens: number };
}

export function usageOf(t: SequenceTimings): Usage {
  return {
    prompt_tokens: t.promptTokens,
    completion_tokens: t.completionTokens,
    total_tokens: t.promptTokens + t.completionTokens,
    prompt_tokens_details: { cached_tokens: t.cachedTokens },
  };
}

export class CompletionFormat {
  private readonly head: string;
  private readonly usageField: string;

  constructor(
    private readonly kind: CompletionKind,
    private readonly id: string,
    private readonly model: string,
    private readonly created: number,
    includeUsage: boolean,
  ) {
    const object = kind === 'chat' ? 'chat.completion.chunk' : 'text_completion';
    this.head = `data: {"id":${JSON.stringify(id)},"object":"${object}","created":${created},"model":${JSON.stringify(model)},"choices":[`;
    this.usageField = includeUsage ? ',"usage":null' : '';
  }

  /** The chunk that opens a chat stream by naming the speaker; text streams have none. */
  streamStart(): string {
    if (this.kind === 'text') return '';
    return `${this.head}{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]${this.usageField}}\n\n`;
  }

  /** One event per token, so clients count tokens and inter-token times as with a real server. */
  streamTokens(texts: readonly string[]): string {
    let out = '';
    const [before, after] = this.kind === 'chat' ? ['{"index":0,"delta":{"content":', '},'] : ['{"index":0,"text":', ','];
    for (const text of texts)
      out += `${this.head}${before}${JSON.stringify(text)}${after}"logprobs":null,"finish_reason":null}]${this.usageField}}\n\n`;
    return out;
  }

  streamEnd(reason: FinishReason, usage: Usage | undefined): string {
    const empty = this.kind === 'chat' ? '"delta":{}' : '"text":""';
    let out = `${this.head}{"index":0,${empty},"logprobs":null,"finish_reason":"${reason}"}]${this.usageField}}\n\n`;
    if (usage !== undefined) out += `${this.head}],"usage":${JSON.stringify(usage)}}\n\n`;
    return `${out}data: [DONE]\n\n`;
  }

  whole(text: string, reason: FinishReason, usage: Usage): object {
    const choice =
      this.kind === 'chat'
        ? { index: 0, message: { role: 'assistant', content: text }, logprobs: null, finish_reason: reason }
        : { index: 0, text, logprobs: null, finish_reason: reason };
    return {
      id: this.id,
      object: this.kind === 'chat' ? 'chat.completion' : 'text_completion',
      created: this.created,
      model: this.model,
      choices: [choice],
      usage,
    };
  }
}

export interface OpenAiError {
  error: { message: string; type: string; param: string | null; code: string | null };
}

export function openAiError(message: string, type: string, param: string | null = null, code: string | null = null): OpenAiError {
  return { error: { message, type, param, code } };
}
