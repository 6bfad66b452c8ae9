export * from './services.js';
export * from './service-process.js';
export * from './stack.js';
export * from './preflight.js';
export * from './log-output.js';
