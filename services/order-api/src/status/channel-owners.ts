import { CHANNELS, deliveryEvents, outcomeEvents } from '@notify/contracts';
import type { Channel } from '@notify/contracts';
import { Counter, makeValidator } from '@notify/service-kit';
import type { Registry } from '@notify/service-kit';

// An outcome event changes its channel's state only when the broker user that owns the
// channel published it. The identity is the one the broker verified (the AMQP user-id
// property, or x-published-by on a copy the order API itself republished: see
// publisherIdentity in @notify/messaging); topic permissions already keep a service to
// its own routing keys, and this check also catches an event whose `type` names another
// channel than its routing key, or one published without a user id.

/** The broker user each channel's events must come from. */
export type ChannelOwners = Readonly<Record<Channel, string>>;

const USER_NAME = /^[\w.@-]{1,128}$/;

/** CHANNEL_OWNERS: `email=svc-email,payment=svc-payment,...`; a channel not named keeps the default. */
export function parseChannelOwners(input: string): Partial<Record<Channel, string>> {
  const owners: Partial<Record<Channel, string>> = {};
  for (const part of input.split(',').map((p) => p.trim())) {
    if (part === '') continue;
    const [channel, user, ...rest] = part.split('=').map((s) => s.trim());
    if (!CHANNELS.includes(channel as Channel))
      throw new Error(`"${channel}" is not a channel (${CHANNELS.join(', ')})`);
    if (rest.length > 0 || !user || !USER_NAME.test(user))
      throw new Error(`"${part}" must be <channel>=<broker user>`);
    if (owners[channel as Channel] !== undefined) throw new Error(`${channel} is named twice`);
    owners[channel as Channel] = user;
  }
  return owners;
}

export const channelOwnerList = makeValidator(parseChannelOwners);

/**
 * Every channel's owner: the configured ones, and for the rest `defaultOwner`, the order
 * API's own broker user. One user for everything is the local run (guest); a deployment
 * names each service's user, and a channel it forgets is refused everything, since the
 * order API's user may not publish events at all.
 */
export function resolveChannelOwners(
  configured: Partial<Record<Channel, string>>,
  defaultOwner: string,
): ChannelOwners {
  return Object.fromEntries(CHANNELS.map((c) => [c, configured[c] ?? defaultOwner])) as Record<
    Channel,
    string
  >;
}

const CHANNEL_OF_EVENT: ReadonlyMap<string, Channel> = new Map(
  CHANNELS.flatMap((c) =>
    [...outcomeEvents[c], deliveryEvents[c].retrying, deliveryEvents[c].deadLettered].map(
      (e) => [e.routingKey, c] as const,
    ),
  ),
);

/** The channel an event (by its contract's routing key) reports on. */
export function channelOfEvent(key: string): Channel | undefined {
  return CHANNEL_OF_EVENT.get(key);
}

export type RefusalReason = 'unverified-publisher' | 'not-channel-owner' | 'unknown-channel';

export interface EventRefusal {
  readonly reason: RefusalReason;
  readonly channel: Channel | 'unknown';
  /** What to put in the dead letter's reason header and the log: who sent what, and who may. */
  readonly message: string;
}

/** Why an event may not change its channel's state, or null when its publisher owns the channel. */
export function refusalOf(
  owners: ChannelOwners,
  key: string,
  publishedBy: string | undefined,
): EventRefusal | null {
  const channel = channelOfEvent(key);
  if (!channel)
    return { reason: 'unknown-channel', channel: 'unknown', message: `event ${key} belongs to no channel` };
  const owner = owners[channel];
  if (publishedBy === undefined)
    return {
      reason: 'unverified-publisher',
      channel,
      message: `event ${key} carries no broker-verified publisher; only "${owner}" may report on ${channel}`,
    };
  if (publishedBy !== owner)
    return {
      reason: 'not-channel-owner',
      channel,
      message: `event ${key} was published by broker user "${publishedBy}"; only "${owner}" may report on ${channel}`,
    };
  return null;
}

/** The check the status consumer makes, with its counter. */
export interface EventOwnership {
  readonly owners: ChannelOwners;
  /** Called for every refused event (the metric). */
  refused(refusal: EventRefusal): void;
}

export function eventOwnership(owners: ChannelOwners, registry: Registry): EventOwnership {
  const counter = new Counter({
    name: 'outcome_events_refused_total',
    help: 'Outcome events dead-lettered because their broker-verified publisher does not own the channel',
    labelNames: ['channel', 'reason'] as const,
    registers: [registry],
  });
  return {
    owners,
    refused: (r) => counter.inc({ channel: r.channel, reason: r.reason }),
  };
}
