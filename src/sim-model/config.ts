import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { z } from 'zod';
import { formatPath } from '../core/zod-issues.js';

/**
 * Every parameter of the simulated model server, with the defaults documented in
 * docs/sim-model.md. The defaults stand for an 8B model on one H100: about 10 ms per output
 * token alone, twice that at a full batch, and 10,000 prompt tokens per second of prefill.
 */
const faultsSchema = z
  .object({
    /** Share of inference requests answered with `errorStatus` instead of a completion. */
    errorRate: z.number().min(0).max(1).default(0),
    errorStatus: z.number().int().min(400).max(599).default(500),
    /** `/health` (and every route) answers 503 for this long after start, like a loading model. */
    startupDelayMs: z.number().int().min(0).default(0),
    /** The inference request after this many crashes the server: it drops every connection and stops listening. */
    crashAfterRequests: z.number().int().min(1).optional(),
    /** The server stops answering this long after start. */
    crashAfterMs: z.number().int().min(1).optional(),
  })
  .strict();

export const simModelConfigSchema = z
  .object({
    model: z.string().min(1).default('gpufleet-sim-8b'),
    /** Seeds generated text, embeddings and fault draws, so two runs answer alike. */
    seed: z.number().int().min(0).default(0),
    ttftOverheadMs: z.number().min(0).default(15),
    prefillMsPerToken: z.number().min(0).default(0.1),
    decodeMsPerToken: z.number().min(0).default(10),
    /** Inter-token time at a full batch relative to a batch of one; linear in between. */
    decodeSlowdownAtMaxBatch: z.number().min(1).default(2),
    /** vLLM's max_num_seqs: sequences decoded together; the rest wait. */
    maxNumSeqs: z.number().int().min(1).default(256),
    kvCacheBlocks: z.number().int().min(1).default(8192),
    kvBlockSizeTokens: z.number().int().min(1).default(16),
    maxModelLen: z.number().int().min(1).default(8192),
    /** Output length when a request names no max_tokens; such requests end with finish_reason "stop". */
    defaultMaxTokens: z.number().int().min(1).default(128),
    embeddingDimension: z.number().int().min(1).max(8192).default(384),
    /** Shortest pause between engine steps: tokens falling due inside it go out together. */
    stepIntervalMs: z.number().min(0).default(1),
    faults: faultsSchema.default({ errorRate: 0, errorStatus: 500, startupDelayMs: 0 }),
  })
  .strict()
  .refine((c) => c.kvCacheBlocks * c.kvBlockSizeTokens >= c.maxModelLen, {
    message: 'kvCacheBlocks × kvBlockSizeTokens must hold at least maxModelLen tokens',
    path: ['kvCacheBlocks'],
  });

export type SimModelConfig = z.infer<typeof simModelConfigSchema>;
export type SimModelConfigInput = z.input<typeof simModelConfigSchema>;

export class SimModelConfigError extends Error {
  override name = 'SimModelConfigError';
}

export function parseSimModelConfig(value: unknown, source = 'configuration'): SimModelConfig {
  const result = simModelConfigSchema.safeParse(value);
  if (result.success) return result.data;
  const lines = result.error.issues.map((i) => `${formatPath(i.path)}: ${i.message}`);
  throw new SimModelConfigError(`invalid ${source}: ${lines.join('; ')}`);
}

/** Reads a YAML file of parameters; `overrides` (from flags) win over the file. */
export async function loadSimModelConfig(file: string | undefined, overrides: SimModelConfigInput): Promise<SimModelConfig> {
  let fromFile: Record<string, unknown> = {};
  if (file !== undefined) {
    const parsed: unknown = parse(await readFile(file, 'utf8'));
    if (parsed !== null && (typeof parsed !== 'object' || Array.isArray(parsed)))
      throw new SimModelConfigError(`${file}: expected a mapping of parameters`);
    fromFile = (parsed ?? {}) as Record<string, unknown>;
  }
  const fileFaults = (fromFile.faults ?? {}) as Record<string, unknown>;
  return parseSimModelConfig(
    { ...fromFile, ...defined(overrides), faults: { ...fileFaults, ...defined(overrides.faults ?? {}) } },
    file ?? 'configuration',
  );
}

/** Flags left unset arrive as undefined and must not hide the file's value. */
function defined(values: object): Record<string, unknown> {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined));
}
