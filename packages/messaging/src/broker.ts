import { EventEmitter, once } from 'node:events';
import amqplib from 'amqplib';
import type { ChannelModel, RecoveringChannelModel } from 'amqplib';
import type { Logger } from 'pino';
import { declareTopology, mergeTopology, verifyTopology } from './declare.js';
import type { TopologySpec } from './declare.js';
import { BrokerUnavailableError, errorMessage } from './errors.js';
import { brokerUser } from './identity.js';

export type BrokerState = 'connecting' | 'connected' | 'blocked' | 'disconnected' | 'closed';

export type TopologyMode = 'declare' | 'verify';

export interface BrokerOptions {
  /** amqp:// or amqps:// URL. */
  readonly url: string;
  /** Shown in the management UI and `rabbitmqctl list_connections client_properties`. */
  readonly connectionName: string;
  /** AMQP `appId` stamped on every published message. Defaults to connectionName. */
  readonly appId?: string;
  readonly heartbeatSeconds?: number;
  /** Declared on every (re)connect, before consumers attach. */
  readonly topology?: TopologySpec;
  /**
   * `declare` (default) asserts the topology on every (re)connect; `verify` only checks
   * with passive declares that its exchanges and queues exist (a deployment created them
   * and the broker user may not), and reports what is missing in missingTopology.
   */
  readonly topologyMode?: TopologyMode;
  readonly logger?: Logger;
  readonly reconnect?: { readonly initialDelayMs?: number; readonly maxDelayMs?: number };
}

export interface BrokerEvents {
  state: [BrokerState];
  /** A fresh connection is up and the topology is declared: re-create channels now. */
  connected: [ChannelModel];
}

/**
 * One AMQP connection for a process, kept alive by amqplib's own recovery. Channels
 * do not survive a reconnect, so publishers and consumers listen for `connected` and
 * re-create theirs; the topology is re-declared in amqplib's setup hook before that.
 */
export class Broker extends EventEmitter<BrokerEvents> {
  private stateValue: BrokerState = 'connecting';
  private current: ChannelModel | null = null;
  private readonly log: Logger | undefined;
  private closing = false;
  private topology: TopologySpec;
  /** The topology the current connection's setup declared (or verified). */
  private declared: TopologySpec | null = null;
  private missing: readonly string[] = [];
  /**
   * The broker user this connection authenticates as: every message it publishes says so
   * in its `user-id` property, which the broker verifies.
   */
  readonly user: string;

  private constructor(
    private readonly model: RecoveringChannelModel,
    readonly options: BrokerOptions,
  ) {
    super();
    this.log = options.logger?.child({ component: 'broker' });
    this.topology = options.topology ?? {};
    this.user = brokerUser(options.url);
    this.setMaxListeners(100);
  }

  /**
   * Starts connecting and resolves at once (it does not wait for the broker): the
   * connection comes up in the background and is retried forever. Use
   * `waitUntilConnected()` to wait for it.
   */
  static async connect(options: BrokerOptions): Promise<Broker> {
    const url = withHeartbeat(options.url, options.heartbeatSeconds ?? 10);
    const holder: { broker?: Broker } = {};
    const setup = async (model: ChannelModel) => {
      // Until amqplib hands the model over (after setup), nothing else listens for its
      // errors; a server-side close in this window must not crash the process.
      model.on('error', () => {});
      // Topology added while this runs finds no connection yet (it is handed over after
      // setup), so this setup declares it too: again until nothing was added meanwhile.
      let spec: TopologySpec;
      let missing: readonly string[];
      do {
        spec = holder.broker?.topology ?? options.topology ?? {};
        missing = await applyTopology(model, spec, options.topologyMode);
      } while (holder.broker && holder.broker.topology !== spec);
      if (holder.broker) {
        holder.broker.declared = spec;
        holder.broker.missing = missing;
      }
    };
    // With waitForConnect=false amqplib resolves with the recovering handle before its
    // first attempt (deferred with setImmediate), so listeners attach before any event.
    const model = await amqplib.connect(url, {
      clientProperties: { connection_name: options.connectionName },
      recovery: {
        waitForConnect: false,
        initialDelay: options.reconnect?.initialDelayMs ?? 200,
        maxDelay: options.reconnect?.maxDelayMs ?? 5_000,
        maxRetries: Infinity,
        setup,
      },
    });
    const broker = new Broker(model, options);
    holder.broker = broker;
    broker.attach();
    return broker;
  }

  get state(): BrokerState {
    return this.stateValue;
  }

  /** True when connected and not blocked by a broker resource alarm. */
  isReady(): boolean {
    return this.stateValue === 'connected';
  }

  get appId(): string {
    return this.options.appId ?? this.options.connectionName;
  }

  /** The live connection, or null while disconnected. */
  connection(): ChannelModel | null {
    return this.current;
  }

  /**
   * What of the topology was missing when last verified (topologyMode `verify`), as
   * `exchange <name>` / `queue <name>`; always empty when declaring.
   */
  get missingTopology(): readonly string[] {
    return this.missing;
  }

  /** Verifies the whole topology again now (when connected, in `verify` mode) and returns what is missing. */
  async verifyTopology(): Promise<readonly string[]> {
    const conn = this.current;
    if (this.options.topologyMode !== 'verify' || !conn) return this.missing;
    this.missing = await verifyTopology(conn, this.topology);
    return this.missing;
  }

  /**
   * Adds to the topology declared (or verified) on every reconnect, and declares (or
   * verifies) it now if connected.
   */
  async addTopology(spec: TopologySpec): Promise<void> {
    this.topology = mergeTopology(this.topology, spec);
    if (this.options.topologyMode === 'verify') {
      await this.verifyTopology();
      return;
    }
    const conn = this.current;
    if (conn) await applyTopology(conn, spec, 'declare');
  }

  async waitUntilConnected(timeoutMs = 30_000): Promise<ChannelModel> {
    if (this.current && this.stateValue !== 'closed') return this.current;
    if (this.stateValue === 'closed') throw new BrokerUnavailableError('broker connection is closed');
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(), timeoutMs);
    try {
      const [model] = await once(this, 'connected', { signal: ac.signal });
      return model as ChannelModel;
    } catch {
      throw new BrokerUnavailableError(
        `broker not reachable within ${timeoutMs} ms (${redactUrl(this.options.url)})`,
      );
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    await this.model.close().catch(() => {});
    this.current = null;
    this.setState('closed');
  }

  private setState(next: BrokerState) {
    if (this.stateValue === next) return;
    this.stateValue = next;
    this.emit('state', next);
  }

  private attach() {
    const m = this.model;
    m.on('connect', (model: ChannelModel) => {
      const announce = () => {
        this.current = model;
        this.setState('connected');
        this.log?.info({ url: redactUrl(this.options.url) }, 'broker connected');
        this.emit('connected', model);
      };
      // Added between the end of setup and this event: declared before anyone attaches.
      if (this.declared === this.topology) return announce();
      const spec = this.topology;
      void applyTopology(model, spec, this.options.topologyMode)
        .then((missing) => {
          this.missing = missing;
        })
        .catch((err: unknown) =>
          this.log?.warn({ err: errorMessage(err) }, 'declaring added topology failed'),
        )
        .finally(() => {
          this.declared = spec;
          announce();
        });
    });
    m.on('disconnect', (err: Error) => {
      this.current = null;
      if (this.closing) return;
      this.setState('disconnected');
      this.log?.warn({ err: errorMessage(err) }, 'broker connection lost; reconnecting');
    });
    m.on('connect-failed', (err: Error) => {
      if (this.stateValue !== 'connecting') this.setState('disconnected');
      this.log?.warn(
        { err: errorMessage(err), url: redactUrl(this.options.url) },
        'broker connection attempt failed',
      );
    });
    m.on('blocked', (reason: string) => {
      this.setState('blocked');
      this.log?.warn({ reason }, 'broker blocked publishing (resource alarm)');
    });
    m.on('unblocked', () => {
      if (this.current) this.setState('connected');
      this.log?.info('broker unblocked');
    });
    m.on('error', (err: Error) => this.log?.warn({ err: errorMessage(err) }, 'broker connection error'));
    m.on('handler-error', (err: Error, event: string) =>
      this.log?.error({ err: errorMessage(err), event }, 'listener of a broker event threw'),
    );
  }
}

/**
 * Declares the topology on a channel of its own, or in `verify` mode only checks it;
 * returns what is missing (nothing, when declaring).
 */
async function applyTopology(
  model: ChannelModel,
  spec: TopologySpec,
  mode: TopologyMode | undefined,
): Promise<readonly string[]> {
  if (mode === 'verify') return verifyTopology(model, spec);
  const ch = await model.createChannel();
  ch.on('error', () => {});
  try {
    await declareTopology(ch, spec);
  } finally {
    await ch.close().catch(() => {});
  }
  return [];
}

function withHeartbeat(url: string, seconds: number): string {
  try {
    const u = new URL(url);
    if (!u.searchParams.has('heartbeat')) u.searchParams.set('heartbeat', String(seconds));
    return u.toString();
  } catch {
    return url;
  }
}

/** The URL without its password, for logs and error messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(invalid URL)';
  }
}
