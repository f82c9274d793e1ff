// The memvp command run from the sources (npm scripts use it: no build needed); bin/memvp.js runs the built one.
import { main } from '../src/cli/main.js';

// Exit explicitly: the GPU device would otherwise keep Node alive.
process.exit(await main(process.argv.slice(2)));
