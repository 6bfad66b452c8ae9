import { runMain } from '@notify/service-kit';
import { startLogisticService } from './service.js';

await runMain('logistic', () => startLogisticService(process.env));
