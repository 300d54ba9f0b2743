import { describe, expect, it } from 'vitest';
import { catalogGpuPrices, type CatalogPrices } from './catalog.js';

// A SkyPilot vms.csv (schema v5) in miniature: the on-demand price is the same in every zone of a
// region, the spot price is not; GpuInfo is quoted and holds commas.
const header = 'InstanceType,vCPUs,MemoryGiB,AcceleratorName,AcceleratorCount,GpuInfo,Region,AvailabilityZone,Price,SpotPrice';
const gpuInfo = '"{\'Gpus\': [{\'Name\': \'H100\', \'Count\': 8}], \'TotalGpuMemoryInMiB\': 655360}"';
const catalog = [
  header,
  `p5.48xlarge,192,2048,H100,8,${gpuInfo},us-east-1,use1-az1,98.32,30.00`,
  `p5.48xlarge,192,2048,H100,8,${gpuInfo},us-east-1,use1-az2,98.32,24.00`,
  `p5.48xlarge,192,2048,H100,8,${gpuInfo},us-west-2,usw2-az1,110.00,`,
  'g5.xlarge,4,16,A10G,1,,us-east-1,use1-az1,1.006,0.40',
  'g5.xlarge,4,16,A10G,1,,us-west-2,usw2-az1,1.006,0.45',
  'm5.large,2,8,,,,us-east-1,use1-az1,0.096,0.04',
].join('\n');

const prices = (read: CatalogPrices) => {
  if ('issues' in read) throw new Error(`unexpected issues: ${JSON.stringify(read.issues)}`);
  return Object.fromEntries(read.prices);
};
const issues = (read: CatalogPrices) => ('issues' in read ? read.issues : []);

describe('catalogGpuPrices', () => {
  it('prices a GPU-hour as Price ÷ AcceleratorCount, in one region, skipping machines without GPUs', () => {
    // p5: 98.32 / 8 = 12.29; g5: 1.006 / 1
    expect(prices(catalogGpuPrices(catalog, { region: 'us-east-1', spot: false }))).toEqual({ 'p5.48xlarge': 12.29, 'g5.xlarge': 1.006 });
  });

  it('takes the cheapest zone for spot, and skips zones without a spot price', () => {
    // us-east-1: min(30, 24) / 8 = 3; us-west-2 has no spot price for p5
    expect(prices(catalogGpuPrices(catalog, { instanceType: 'p5.48xlarge', region: 'us-east-1', spot: true }))).toEqual({ 'p5.48xlarge': 3 });
    expect(prices(catalogGpuPrices(catalog, { instanceType: 'p5.48xlarge', spot: true }))).toEqual({ 'p5.48xlarge': 3 });
  });

  it('reads columns by name, whatever their order', () => {
    const shuffled = ['Price,Region,AcceleratorCount,InstanceType', '"24.5",eu-west-1,2,"a2,odd"'].join('\n');
    expect(prices(catalogGpuPrices(shuffled, { spot: false }))).toEqual({ 'a2,odd': 12.25 });
  });

  it('needs a region when regions differ in price, and not when they agree', () => {
    const read = issues(catalogGpuPrices(catalog, { spot: false }));
    expect(read).toEqual([{ path: 'region', message: expect.stringContaining('p5.48xlarge: 12.29 in us-east-1, 13.75 in us-west-2') }]);
    expect(prices(catalogGpuPrices(catalog, { instanceType: 'g5.xlarge', spot: false }))).toEqual({ 'g5.xlarge': 1.006 });
  });

  it('names an instance type or region that is not there', () => {
    expect(issues(catalogGpuPrices(catalog, { instanceType: 'p4d.24xlarge', spot: false }))).toEqual([{ path: 'instanceType', message: 'p4d.24xlarge is not in the catalog' }]);
    expect(issues(catalogGpuPrices(catalog, { instanceType: 'm5.large', region: 'us-east-1', spot: false }))).toEqual([
      { path: 'instanceType', message: 'm5.large has no GPUs or no Price in the catalog in region us-east-1' },
    ]);
    expect(issues(catalogGpuPrices(catalog, { region: 'mars-1', spot: false }))).toEqual([{ path: 'region', message: 'no rows for region mars-1 in the catalog' }]);
  });

  it('names bad rows by line, checking numbers only in the rows it reads', () => {
    const bad = [
      header,
      '',
      'p5.48xlarge,192,2048,H100,8,,us-east-1,use1-az1,n/a,',
      'p5.48xlarge,192,2048,H100,eight,,us-east-1,use1-az2,98.32,',
      'p5.48xlarge,192,2048,H100,8,,us-east-1,use1-az3,-1,',
      'p5.48xlarge,192,"2048,H100,8,,us-east-1,use1-az4,98.32,',
      'p5.48xlarge,192,2048,H100,8,us-east-1,use1-az5,98.32,',
      'p5.48xlarge,192,2048,H100,8,,eu-west-1,euw1-az1,oops,',
    ].join('\n');
    expect(issues(catalogGpuPrices(bad, { region: 'us-east-1', spot: false }))).toEqual([
      { path: 'catalog', message: 'line 3: Price is not a number: "n/a"' },
      { path: 'catalog', message: 'line 4: AcceleratorCount is not a number of GPUs: "eight"' },
      { path: 'catalog', message: 'line 5: Price must not be negative' },
      { path: 'catalog', message: 'line 6: unterminated quoted field' },
      { path: 'catalog', message: 'line 7: expected 10 fields, got 9' },
    ]);
  });

  it('names missing columns and an empty file', () => {
    expect(issues(catalogGpuPrices('InstanceType,Region,AcceleratorCount,Price\n', { spot: true }))).toEqual([{ path: 'catalog', message: 'line 1: missing column(s) SpotPrice' }]);
    expect(issues(catalogGpuPrices('\n', { spot: false }))).toEqual([{ path: 'catalog', message: 'empty file, expected a header line' }]);
  });
});
