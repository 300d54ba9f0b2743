#!/usr/bin/env -S node --max-semi-space-size=64
// A scheduling cycle allocates tens of MB that live until it ends; a young generation that holds a
// whole cycle lets them die young instead of being copied and promoted (docs/scheduler.md).
import { main } from '../dist/src/cli/main.js';

main(process.argv);
