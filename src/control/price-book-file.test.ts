import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { emptyPriceBook, loadPriceBook } from './price-book-file.js';

const write = (text: string) => {
  const file = join(mkdtempSync(join(tmpdir(), 'gpufleet-prices-')), 'prices.yaml');
  writeFileSync(file, text);
  return file;
};

describe('loadPriceBook', () => {
  it('reads models and node overrides, with times as dates or ms', async () => {
    const file = write(['models:', '  H100-80GB:', '    - { from: 2026-01-01, pricePerGpuHour: 2.5 }', '    - { from: 1769904000000, pricePerGpuHour: 2.2 }', 'nodes:', '  gpu-7:', '    - { from: "2026-01-15T00:00:00Z", pricePerGpuHour: 1.8 }'].join('\n'));
    expect(await loadPriceBook(file)).toEqual({
      models: { 'H100-80GB': [{ from: Date.parse('2026-01-01'), pricePerGpuHour: 2.5 }, { from: 1769904000000, pricePerGpuHour: 2.2 }] },
      nodes: { 'gpu-7': [{ from: Date.parse('2026-01-15T00:00:00Z'), pricePerGpuHour: 1.8 }] },
    });
  });

  it('names the file and the bad field', async () => {
    const file = write('models:\n  H100-80GB:\n    - { from: 2026-01-01, pricePerGpuHour: -1 }\n');
    await expect(loadPriceBook(file)).rejects.toThrow(/prices\.yaml: .*models\.H100-80GB\[0\]\.pricePerGpuHour: must not be negative/);
    await expect(loadPriceBook(write('models:\n  H100-80GB:\n    - { from: someday, pricePerGpuHour: 1 }\n'))).rejects.toThrow(/models\.H100-80GB\[0\]\.from/);
  });

  it('without a file, prices nothing', async () => {
    expect(await loadPriceBook(undefined)).toEqual(emptyPriceBook);
  });
});
