export * from './errors.js';
export * from './backoff.js';
export * from './declare.js';
export * from './broker.js';
export * from './publisher.js';
export * from './consumer.js';
export * from './trace.js';
export * from './dead-letters.js';
