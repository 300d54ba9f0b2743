export type { AllocationInterval, FleetHistory, InventoryInterval, NodePool, UsageSample, Window } from './types.js';
export { clip, splitAt, hoursOf, MS_PER_HOUR, type Span } from './intervals.js';
export { costOver, parsePriceBook, priceAt, priceBookSchema, type PriceBook, type PricePoint, type PricedGpu, type PricedSpan } from './prices.js';
export { catalogGpuPrices, type CatalogPrices, type CatalogSelection } from './catalog.js';
export { costReport, type CostReport, type UnheldRow, type UsageRow, type WorkloadRow } from './cost.js';
export { defaultWasteOptions, wasteReport, type IdleStretch, type WasteEntry, type WasteOptions } from './waste.js';
