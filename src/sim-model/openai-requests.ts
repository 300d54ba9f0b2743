import { z } from 'zod';

/**
 * The request fields the simulator reads. Other OpenAI fields (temperature, top_p, …) are
 * accepted and ignored, as a server whose sampling does not change its latency would.
 */
const outputLimits = {
  model: z.string().min(1),
  max_tokens: z.number().int().min(1).nullish(),
  max_completion_tokens: z.number().int().min(1).nullish(),
  stream: z.boolean().nullish(),
  stream_options: z.object({ include_usage: z.boolean().nullish() }).nullish(),
};

const contentPart = z.object({ type: z.string(), text: z.string().optional() });

export const chatCompletionRequest = z.object({
  ...outputLimits,
  messages: z
    .array(
      z.object({
        role: z.string().min(1),
        content: z.union([z.string(), z.array(contentPart)]).nullish(),
      }),
    )
    .min(1),
});

export const completionRequest = z.object({
  ...outputLimits,
  prompt: z.union([z.string(), z.array(z.string()).length(1, 'only one prompt per request is supported')]),
});

export const embeddingRequest = z.object({
  model: z.string().min(1),
  input: z.union([z.string(), z.array(z.string()).min(1)]),
});

export type ChatCompletionRequest = z.infer<typeof chatCompletionRequest>;
export type CompletionRequest = z.infer<typeof completionRequest>;

/** Text of a message's content, whether a string or a list of parts (non-text parts count as nothing). */
export function messageText(content: ChatCompletionRequest['messages'][number]['content']): string {
  if (content === null || content === undefined) return '';
  if (typeof content === 'string') return content;
  return content.map((part) => part.text ?? '').join('');
}
