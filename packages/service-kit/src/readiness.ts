/** A failed check with what is wrong, for the operator reading /readyz. */
export interface ProbeFailure {
  readonly ok: false;
  readonly reason: string;
}

/** True when the check passes; false, or a failure with its reason, when it does not. */
export type ProbeResult = boolean | ProbeFailure;

export type ReadinessProbe = () => ProbeResult | Promise<ProbeResult>;

export interface ReadinessCheck {
  readonly probe: ReadinessProbe;
  /**
   * False for a dependency the service keeps working without (the order API stores
   * orders while the broker is away): its failure reports `degraded`, still ready.
   * Default true.
   */
  readonly required?: boolean;
}

export type ReadinessChecks = Readonly<Record<string, ReadinessProbe | ReadinessCheck>>;

export type ReadinessStatus = 'ready' | 'degraded' | 'not ready';

export interface ReadinessReport {
  readonly status: ReadinessStatus;
  readonly checks: Readonly<Record<string, boolean>>;
  /** Why failed checks failed, for those that said (`database unavailable: ...`). */
  readonly reasons?: Readonly<Record<string, string>>;
}

/**
 * The one readiness rule of every service: not ready when a required check fails,
 * degraded when only checks that are not required fail, ready otherwise. A probe that
 * throws has failed. Probes run one after another so a report never holds more than the
 * health pool's one connection.
 */
export class Readiness {
  private readonly checks = new Map<string, ReadinessCheck>();

  constructor(checks: ReadinessChecks = {}) {
    this.addAll(checks);
  }

  add(name: string, check: ReadinessProbe | ReadinessCheck): this {
    if (this.checks.has(name)) throw new Error(`readiness check "${name}" is registered twice`);
    this.checks.set(name, typeof check === 'function' ? { probe: check } : check);
    return this;
  }

  addAll(checks: ReadinessChecks): this {
    for (const [name, check] of Object.entries(checks)) this.add(name, check);
    return this;
  }

  /** Marks registered checks as reported only (see ReadinessCheck.required). */
  reportOnly(names: readonly string[]): this {
    for (const name of names) {
      const check = this.checks.get(name);
      if (check) this.checks.set(name, { ...check, required: false });
    }
    return this;
  }

  private inFlight: Promise<ReadinessReport> | null = null;

  /**
   * Every check's result. Probes asked while a report is being made share it: a flood of
   * /readyz runs one database ping at a time, not one per request queued on the health
   * connection.
   */
  report(): Promise<ReadinessReport> {
    this.inFlight ??= this.evaluate().finally(() => {
      this.inFlight = null;
    });
    return this.inFlight;
  }

  private async evaluate(): Promise<ReadinessReport> {
    const checks: Record<string, boolean> = {};
    const reasons: Record<string, string> = {};
    let requiredFailed = false;
    let optionalFailed = false;
    for (const [name, check] of this.checks) {
      let result: ProbeResult;
      try {
        result = await check.probe();
      } catch {
        result = false;
      }
      const ok = result === true;
      checks[name] = ok;
      if (typeof result === 'object' && result.reason) reasons[name] = result.reason;
      if (!ok && check.required !== false) requiredFailed = true;
      else if (!ok) optionalFailed = true;
    }
    const status: ReadinessStatus = requiredFailed ? 'not ready' : optionalFailed ? 'degraded' : 'ready';
    return Object.keys(reasons).length ? { status, checks, reasons } : { status, checks };
  }
}
