export * from './rng';
export * from './scene';
export * from './render';
export * from './questions';
export * from './splits';
