#!/usr/bin/env node
// The built CLI (npm install builds dist/ through the "prepare" script).
import { main } from '../dist/node/cli.js';

// Exit explicitly: the GPU device would otherwise keep Node alive.
process.exit(await main(process.argv.slice(2)));
