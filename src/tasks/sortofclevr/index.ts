// The Sort-of-CLEVR demo task: scenes, their rendering, questions, splits and accuracy through the runtime.
export { Rng } from '../../rng.js';
export * from './scene';
export * from './render';
export * from './questions';
export * from './splits';
export * from './evaluate';
