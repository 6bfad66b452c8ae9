import { runMain } from '@notify/service-kit';
import { startEmailService } from './service.js';

await runMain('email', () => startEmailService(process.env));
