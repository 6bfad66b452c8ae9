import { runMain } from '@notify/service-kit';
import { startWhatsappService } from './service.js';

await runMain('whatsapp', () => startWhatsappService(process.env));
