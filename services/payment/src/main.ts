import { runMain } from '@notify/service-kit';
import { startPaymentService } from './service.js';

await runMain('payment', () => startPaymentService(process.env));
