// Registers every operator implementation (importing a family's file registers its ops).
import './elementwise.js';
import './reduce.js';
import './shape.js';
import './movement.js';
import './conv.js';
import './nn.js';
import './fused.js';
import './unary-math.js';
import './loss.js';
import './elementwise-extra.js';
import './indexing.js';
import './pool.js';
import './rearrange.js';
