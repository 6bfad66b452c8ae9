import { byUuid, withTransaction } from '@notify/service-kit';
import type { Pool } from '@notify/service-kit';
import type { Shipment, ShipmentRejection, ShipmentRepository } from '../create-shipment.js';
import type { RejectionCode } from '../choose-carrier.js';

// Tables live in the service's schema; the pool's search_path points there.

interface ShipmentRow {
  id: string;
  order_id: string;
  carrier_id: string;
  carrier_name: string;
  service_level: string;
  zone: string;
  destination_country: string;
  total_weight_grams: number;
  tracking_number: string;
  estimated_delivery: string;
  created_at: Date;
}

// A `date` column is read as text: pg would turn it into a Date at local midnight.
const COLUMNS = `id, order_id, carrier_id, carrier_name, service_level, zone, destination_country,
  total_weight_grams, tracking_number, estimated_delivery::text AS estimated_delivery, created_at`;

function toShipment(r: ShipmentRow): Shipment {
  return {
    id: r.id,
    orderId: r.order_id,
    carrierId: r.carrier_id,
    carrierName: r.carrier_name,
    serviceLevel: r.service_level,
    zone: r.zone,
    destinationCountry: r.destination_country,
    totalWeightGrams: r.total_weight_grams,
    trackingNumber: r.tracking_number,
    estimatedDelivery: r.estimated_delivery,
    createdAt: r.created_at,
  };
}

export class PgShipmentRepository implements ShipmentRepository {
  constructor(private readonly pool: Pool) {}

  async findByOrderId(orderId: string): Promise<Shipment | undefined> {
    const { rows } = await this.pool.query<ShipmentRow>(
      `SELECT ${COLUMNS} FROM shipments WHERE order_id = $1`,
      [orderId],
    );
    return rows[0] && toShipment(rows[0]);
  }

  async findByOrderIds(orderIds: readonly string[]): Promise<ReadonlyMap<string, Shipment>> {
    const { rows } = await this.pool.query<ShipmentRow>(
      `SELECT ${COLUMNS} FROM shipments WHERE order_id = ANY($1::uuid[])`,
      [orderIds],
    );
    return byUuid(rows.map(toShipment), (x) => x.orderId, orderIds);
  }

  async nextTrackingSerials(count: number): Promise<readonly bigint[]> {
    const { rows } = await this.pool.query<{ serial: string }>(
      `SELECT nextval('tracking_serial')::text AS serial FROM generate_series(1, $1)`,
      [count],
    );
    return rows.map((r) => BigInt(r.serial));
  }

  async createAll(
    items: readonly { shipment: Shipment; inbox: { messageId: string } }[],
  ): Promise<readonly { shipment: Shipment; created: boolean }[]> {
    if (items.length === 0) return [];
    return withTransaction(this.pool, async (client) => {
      const col = <T>(f: (s: Shipment) => T) => items.map((i) => f(i.shipment));
      // ON CONFLICT DO NOTHING also skips a second row of one order within this statement.
      const inserted = await client.query<ShipmentRow>(
        `INSERT INTO shipments (id, order_id, carrier_id, carrier_name, service_level, zone, destination_country,
           total_weight_grams, tracking_number, estimated_delivery, created_at)
         SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
           $8::int[], $9::text[], $10::date[], $11::timestamptz[])
         ON CONFLICT (order_id) DO NOTHING
         RETURNING ${COLUMNS}`,
        [
          col((s) => s.id),
          col((s) => s.orderId),
          col((s) => s.carrierId),
          col((s) => s.carrierName),
          col((s) => s.serviceLevel),
          col((s) => s.zone),
          col((s) => s.destinationCountry),
          col((s) => s.totalWeightGrams),
          col((s) => s.trackingNumber),
          col((s) => s.estimatedDelivery),
          col((s) => s.createdAt),
        ],
      );
      const createdIds = new Set(inserted.rows.map((r) => r.id));
      const lost = items.filter((i) => !createdIds.has(i.shipment.id)).map((i) => i.shipment.orderId);
      // Orders another delivery shipped first keep that shipment.
      const winners =
        lost.length === 0
          ? new Map<string, Shipment>()
          : byUuid(
              (
                await client.query<ShipmentRow>(
                  `SELECT ${COLUMNS} FROM shipments WHERE order_id = ANY($1::uuid[])`,
                  [lost],
                )
              ).rows.map(toShipment),
              (x) => x.orderId,
              lost,
            );
      const mine = items.filter((i) => createdIds.has(i.shipment.id));
      if (mine.length > 0) {
        await client.query(
          `INSERT INTO inbox (message_id, order_id)
           SELECT * FROM unnest($1::text[], $2::uuid[])
           ON CONFLICT (message_id) DO NOTHING`,
          [mine.map((i) => i.inbox.messageId), mine.map((i) => i.shipment.orderId)],
        );
      }
      const createdRows = new Map(inserted.rows.map((r) => [r.id, toShipment(r)]));
      return items.map((i) => {
        const mineStored = createdRows.get(i.shipment.id);
        return mineStored
          ? { shipment: mineStored, created: true }
          : { shipment: winners.get(i.shipment.orderId)!, created: false };
      });
    });
  }

  async nextTrackingSerial(): Promise<bigint> {
    const { rows } = await this.pool.query<{ serial: string }>(
      `SELECT nextval('tracking_serial')::text AS serial`,
    );
    return BigInt(rows[0]!.serial);
  }

  async create(
    shipment: Shipment,
    inbox: { messageId: string },
  ): Promise<{ shipment: Shipment; created: boolean }> {
    return withTransaction(this.pool, async (client) => {
      const inserted = await client.query<ShipmentRow>(
        `INSERT INTO shipments (id, order_id, carrier_id, carrier_name, service_level, zone, destination_country,
           total_weight_grams, tracking_number, estimated_delivery, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
         ON CONFLICT (order_id) DO NOTHING
         RETURNING ${COLUMNS}`,
        [
          shipment.id,
          shipment.orderId,
          shipment.carrierId,
          shipment.carrierName,
          shipment.serviceLevel,
          shipment.zone,
          shipment.destinationCountry,
          shipment.totalWeightGrams,
          shipment.trackingNumber,
          shipment.estimatedDelivery,
          shipment.createdAt,
        ],
      );
      const row = inserted.rows[0];
      if (!row) {
        // Another delivery of this order committed first; its shipment is the one.
        const { rows } = await client.query<ShipmentRow>(
          `SELECT ${COLUMNS} FROM shipments WHERE order_id = $1`,
          [shipment.orderId],
        );
        return { shipment: toShipment(rows[0]!), created: false };
      }
      await client.query(
        `INSERT INTO inbox (message_id, order_id) VALUES ($1, $2) ON CONFLICT (message_id) DO NOTHING`,
        [inbox.messageId, shipment.orderId],
      );
      return { shipment: toShipment(row), created: true };
    });
  }

  async recordRejection(r: ShipmentRejection): Promise<ShipmentRejection> {
    const { rows } = await this.pool.query<{ code: string; reason: string; first_rejected_at: Date }>(
      `INSERT INTO shipment_rejections (order_id, code, reason, first_rejected_at, last_rejected_at)
       VALUES ($1, $2, $3, $4, $4)
       ON CONFLICT (order_id) DO UPDATE
         SET code = EXCLUDED.code, reason = EXCLUDED.reason, last_rejected_at = EXCLUDED.last_rejected_at,
             times = shipment_rejections.times + 1
       RETURNING code, reason, first_rejected_at`,
      [r.orderId, r.code, r.reason, r.rejectedAt],
    );
    const row = rows[0]!;
    return {
      orderId: r.orderId,
      code: row.code as RejectionCode,
      reason: row.reason,
      rejectedAt: row.first_rejected_at,
    };
  }
}
