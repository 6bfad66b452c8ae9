import { runMain } from '@notify/service-kit';
import { SERVICE_NAME } from './config.js';
import { startOrderApi } from './server.js';

await runMain(SERVICE_NAME, () => startOrderApi(process.env));
