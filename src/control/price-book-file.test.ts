import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { emptyPriceBook, loadPriceBook } from './price-book-file.js';

/** Writes the price book (and any other files, such as catalogs, by path) into a fresh directory. */
const write = (text: string, files: Record<string, string> = {}) => {
  const dir = mkdtempSync(join(tmpdir(), 'gpufleet-prices-'));
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  const file = join(dir, 'prices.yaml');
  writeFileSync(file, text);
  return file;
};

describe('loadPriceBook', () => {
  it('reads models and node overrides, with times as dates or ms', async () => {
    const file = write(['models:', '  H100-80GB:', '    - { from: 2026-01-01, pricePerGpuHour: 2.5 }', '    - { from: 1769904000000, pricePerGpuHour: 2.2 }', 'nodes:', '  gpu-7:', '    - { from: "2026-01-15T00:00:00Z", pricePerGpuHour: 1.8 }'].join('\n'));
    expect(await loadPriceBook(file)).toEqual({
      models: { 'H100-80GB': [{ from: Date.parse('2026-01-01'), pricePerGpuHour: 2.5 }, { from: 1769904000000, pricePerGpuHour: 2.2 }] },
      pools: {},
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

  describe('pools', () => {
    const catalog = [
      'InstanceType,AcceleratorName,AcceleratorCount,vCPUs,MemoryGiB,GpuInfo,Region,AvailabilityZone,Price,SpotPrice',
      'p5.48xlarge,H100,8,192,2048,"{\'Name\': \'H100\', \'Count\': 8}",us-east-1,use1-az1,98.32,24.00',
      'p5.48xlarge,H100,8,192,2048,"{\'Name\': \'H100\', \'Count\': 8}",us-west-2,usw2-az1,110.00,28.00',
      'g6.xlarge,L4,1,4,16,,us-east-1,use1-az1,0.805,0.32',
    ].join('\n');

    it('reads a schedule per pool, and a catalog relative to the price book, from a date', async () => {
      const file = write(
        [
          'pools:',
          '  on-prem:',
          '    - { from: 2026-01-01, pricePerGpuHour: 1.1 }',
          '  aws-h100:',
          '    catalog: ./catalogs/aws-vms.csv',
          '    instanceType: p5.48xlarge',
          '    region: us-east-1',
          '    from: 2026-02-01',
          '  aws-spot:',
          '    catalog: catalogs/aws-vms.csv',
          '    region: us-east-1',
          '    spot: true',
        ].join('\n'),
        { 'catalogs/aws-vms.csv': catalog },
      );
      expect((await loadPriceBook(file)).pools).toEqual({
        'on-prem': [{ from: Date.parse('2026-01-01'), pricePerGpuHour: 1.1 }],
        // 98.32 / 8 GPUs
        'aws-h100': [{ from: Date.parse('2026-02-01'), pricePerGpuHour: 12.29 }],
        // no instance type: one schedule per type, for each node's instance-type label to pick; 24 / 8, 0.32 / 1
        'aws-spot': { instanceTypes: { 'p5.48xlarge': [{ from: 0, pricePerGpuHour: 3 }], 'g6.xlarge': [{ from: 0, pricePerGpuHour: 0.32 }] } },
      });
    });

    it('names the pool field and the catalog line of a bad catalog', async () => {
      const pool = (lines: string[]) => ['pools:', '  aws-h100:', ...lines.map((l) => `    ${l}`)].join('\n');
      const badRow = `${catalog}\np5.48xlarge,H100,8,192,2048,,us-east-1,use1-az2,about 98,24.00`;
      await expect(loadPriceBook(write(pool(['catalog: vms.csv', 'region: us-east-1']), { 'vms.csv': badRow }))).rejects.toThrow(
        /prices\.yaml: invalid priceBook: priceBook\.pools\.aws-h100\.catalog: line 5: Price is not a number: "about 98"/,
      );
      await expect(loadPriceBook(write(pool(['catalog: vms.csv', 'instanceType: p4d.24xlarge', 'region: us-east-1']), { 'vms.csv': catalog }))).rejects.toThrow(
        /priceBook\.pools\.aws-h100\.instanceType: p4d\.24xlarge is not in the catalog in region us-east-1/,
      );
      await expect(loadPriceBook(write(pool(['catalog: vms.csv', 'instanceType: p5.48xlarge']), { 'vms.csv': catalog }))).rejects.toThrow(
        /priceBook\.pools\.aws-h100\.region: prices per GPU-hour differ across regions, name one: p5\.48xlarge: 12\.29 in us-east-1, 13\.75 in us-west-2/,
      );
      await expect(loadPriceBook(write(pool(['catalog: missing.csv'])))).rejects.toThrow(/priceBook\.pools\.aws-h100\.catalog: cannot read missing\.csv: .*ENOENT/);
      await expect(loadPriceBook(write(pool(['catalog: vms.csv', 'spot: yes please']), { 'vms.csv': catalog }))).rejects.toThrow(/priceBook\.pools\.aws-h100\.spot: /);
      await expect(loadPriceBook(write(pool(['catalog: vms.csv', 'zone: use1-az1']), { 'vms.csv': catalog }))).rejects.toThrow(/priceBook\.pools\.aws-h100\.zone: unknown field/);
    });
  });
});
