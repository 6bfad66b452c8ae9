import type { Pool } from '@notify/service-kit';
import type { OptOutSource, PhoneOptOuts } from '../send-order-whatsapp.js';

/** The `phone_opt_outs` table: numbers that asked this sender to stop. */
export class PgPhoneOptOuts implements PhoneOptOuts {
  constructor(private readonly pool: Pool) {}

  async isOptedOut(phone: string): Promise<boolean> {
    const { rowCount } = await this.pool.query('SELECT 1 FROM phone_opt_outs WHERE phone = $1', [phone]);
    return (rowCount ?? 0) > 0;
  }

  async optOut(phone: string, source: OptOutSource): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      'INSERT INTO phone_opt_outs (phone, source) VALUES ($1, $2) ON CONFLICT (phone) DO NOTHING',
      [phone, source],
    );
    return (rowCount ?? 0) > 0;
  }

  async optIn(phone: string): Promise<boolean> {
    const { rowCount } = await this.pool.query('DELETE FROM phone_opt_outs WHERE phone = $1', [phone]);
    return (rowCount ?? 0) > 0;
  }
}
