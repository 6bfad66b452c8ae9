export { runCli } from './cli-process.js';
export type { RunningCli } from './cli-process.js';
