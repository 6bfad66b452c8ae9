import { useRef, useState } from 'preact/hooks';
import type { ConsoleApi } from '../api/client.js';
import type { Figure, ServiceStatus, SystemStatus } from '../api/types.js';
import { formatFigure, formatTime } from '../format.js';
import { usePolling } from '../hooks.js';
import { readinessChanges, SOURCE_TITLES } from '../state/system.js';

const REFRESH_MS = 2_000;

function FigureCell(props: { figure: Figure; kind?: 'count' | 'rate'; label: string }) {
  const { figure } = props;
  return (
    <td data-label={props.label} class="num">
      {formatFigure(figure, props.kind)}
      {figure.value === null && figure.note ? <span class="note">{figure.note}</span> : null}
    </td>
  );
}

function Readiness(props: { s: ServiceStatus }) {
  const r = props.s.readiness;
  const failing = Object.entries(r.checks)
    .filter(([, ok]) => !ok)
    .map(([name]) => name);
  return (
    <td data-label="Ready">
      <span class={`ready ready-${r.status.replace(' ', '-')}`}>{r.status}</span>
      {failing.length ? <span class="note">failing: {failing.join(', ')}</span> : null}
      {r.note ? <span class="note">{r.note}</span> : null}
    </td>
  );
}

/** Per service: readiness, queue depth, consumers, rates, retries and dead letters, refreshed every few seconds. */
export function SystemView(props: { api: ConsoleApi }) {
  const [status, setStatus] = useState<SystemStatus | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [announcement, setAnnouncement] = useState('');
  const previous = useRef<SystemStatus | null>(null);

  usePolling(
    async () => {
      try {
        const s = await props.api.get<SystemStatus>('/console/api/system');
        const changes = readinessChanges(previous.current, s);
        if (changes) setAnnouncement(changes);
        previous.current = s;
        setStatus(s);
        setError(null);
      } catch (err) {
        setError(String((err as Error).message ?? err));
      }
    },
    REFRESH_MS,
    [props.api],
  );

  return (
    <section aria-labelledby="system-heading">
      <div class="section-head">
        <h2 id="system-heading">System</h2>
        <p class="help">
          {status ? `Sampled ${formatTime(status.sampledAt)}; refreshed every 2 s` : 'Loading…'}
        </p>
      </div>
      <p class="visually-hidden" aria-live="polite">
        {announcement}
      </p>
      {error ? (
        <p class="error" role="alert">
          Could not read the system figures: {error}
        </p>
      ) : null}
      {status ? (
        <>
          <ul class="sources" aria-label="Where the figures come from">
            {(Object.keys(SOURCE_TITLES) as (keyof typeof SOURCE_TITLES)[]).map((k) => {
              const src = status.sources[k];
              return (
                <li key={k} class={src.available ? 'source-ok' : 'source-missing'} data-source={k}>
                  <strong>{SOURCE_TITLES[k]}</strong>: {src.available ? 'available' : 'not available'}
                  {src.note ? <span class="note">{src.note}</span> : null}
                </li>
              );
            })}
          </ul>
          <div class="table-scroll">
            <table class="system-table">
              <caption class="visually-hidden">Figures per service</caption>
              <thead>
                <tr>
                  <th scope="col">Service</th>
                  <th scope="col">Ready</th>
                  <th scope="col">Queue depth</th>
                  <th scope="col">Consumers</th>
                  <th scope="col">Messages/s</th>
                  <th scope="col">Retries in flight</th>
                  <th scope="col">Dead letters</th>
                  <th scope="col">Broker in/s</th>
                  <th scope="col">Broker acks/s</th>
                </tr>
              </thead>
              <tbody>
                {status.services.map((s) => (
                  <tr key={s.service} data-service={s.service}>
                    <th scope="row">
                      {s.service}
                      <span class="note mono">{s.queue}</span>
                    </th>
                    <Readiness s={s} />
                    <FigureCell figure={s.depth} label="Queue depth" />
                    <FigureCell figure={s.consumers} label="Consumers" />
                    <FigureCell figure={s.messagesPerSecond} kind="rate" label="Messages/s" />
                    <FigureCell figure={s.retrying} label="Retries in flight" />
                    <FigureCell figure={s.deadLetters} label="Dead letters" />
                    <FigureCell figure={s.brokerRates.publish} kind="rate" label="Broker in/s" />
                    <FigureCell figure={s.brokerRates.ack} kind="rate" label="Broker acks/s" />
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <p class="help">
            Depths and consumers: passive queue declares over AMQP. Readiness and messages/s: each service's
            /readyz and its messages_processed_total counter between two samples. Dead letters: the letters
            the order API parked in its database (GET /dead-letters). Broker rates: the management API.
          </p>
        </>
      ) : null}
    </section>
  );
}
