import { runMain } from '@notify/service-kit';
import { startFraudService } from './service.js';

await runMain('fraud', () => startFraudService(process.env));
