export * from './config.js';
export * from './logger.js';
export * from './db.js';
export * from './metrics.js';
export * from './ops-server.js';
export * from './shutdown.js';
export * from './consumer-service.js';
export * from './main-runner.js';
