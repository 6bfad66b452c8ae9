import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import type { ConsoleApi } from '../api/client.js';
import type { DeadLetterList, DeadLetterSummary, ReplayResult } from '../api/types.js';
import { formatTime } from '../format.js';
import { usePolling } from '../hooks.js';
import { confirmText, replayBody, replaySummary, selectable, toggle } from '../state/dead-letters.js';

const REFRESH_MS = 5_000;

interface Pending {
  readonly service: string;
  readonly choice: readonly string[] | 'all';
  readonly count: number;
}

/** Per service: its dead letters with reason and attempts; replay chosen ones or all, after a confirmation. */
export function DeadLettersView(props: { api: ConsoleApi }) {
  const { api } = props;
  const [summaries, setSummaries] = useState<readonly DeadLetterSummary[] | null>(null);
  const [lists, setLists] = useState<Readonly<Record<string, DeadLetterList>>>({});
  const [selection, setSelection] = useState<Readonly<Record<string, ReadonlySet<string>>>>({});
  const [pending, setPending] = useState<Pending | null>(null);
  const [results, setResults] = useState<Readonly<Record<string, string>>>({});
  const [error, setError] = useState<string | null>(null);
  const counts = useRef(new Map<string, number>());

  const loadList = useCallback(
    async (service: string) => {
      const list = await api.get<DeadLetterList>(`/dead-letters/${encodeURIComponent(service)}?limit=100`);
      setLists((l) => ({ ...l, [service]: list }));
    },
    [api],
  );

  const refresh = usePolling(
    async () => {
      try {
        const overview = await api.get<{ total: number; services: DeadLetterSummary[] }>('/dead-letters');
        setSummaries(overview.services);
        setError(null);
        // Letters are read again only for services whose count changed.
        for (const s of overview.services) {
          if (counts.current.get(s.service) === s.count) continue;
          counts.current.set(s.service, s.count);
          if (s.count > 0) await loadList(s.service);
          else setLists((l) => ({ ...l, [s.service]: { ...s, messages: [] } }));
        }
      } catch (err) {
        setError(String((err as Error).message ?? err));
      }
    },
    REFRESH_MS,
    [api, loadList],
  );

  const replay = async (p: Pending) => {
    setPending(null);
    try {
      const result = await api.post<ReplayResult>(
        `/dead-letters/${encodeURIComponent(p.service)}/replay`,
        replayBody(p.choice),
      );
      setResults((r) => ({ ...r, [p.service]: replaySummary(result) }));
      setSelection((s) => ({ ...s, [p.service]: new Set() }));
    } catch (err) {
      setResults((r) => ({
        ...r,
        [p.service]: `The replay failed: ${String((err as Error).message ?? err)}`,
      }));
    }
    counts.current.delete(p.service);
    refresh();
  };

  return (
    <section aria-labelledby="dl-heading">
      <div class="section-head">
        <h2 id="dl-heading">Dead letters</h2>
        <button
          type="button"
          class="quiet"
          onClick={() => {
            counts.current.clear();
            refresh();
          }}
        >
          Refresh
        </button>
      </div>
      {error ? (
        <p class="error" role="alert">
          Could not read the dead letters: {error}
        </p>
      ) : null}
      {!summaries && !error ? <p role="status">Loading…</p> : null}
      {summaries?.map((s) => {
        const list = lists[s.service];
        const letters = list?.messages ?? [];
        const ids = selectable(letters);
        const chosen = [...(selection[s.service] ?? new Set<string>())].filter((id) => ids.includes(id));
        return (
          <section
            key={s.service}
            class="dl-service"
            aria-labelledby={`dl-${s.service}`}
            data-service={s.service}
          >
            <h3 id={`dl-${s.service}`}>
              {s.service}{' '}
              <span class="count">{s.count === 1 ? '1 dead letter' : `${s.count} dead letters`}</span>
            </h3>
            <p role="status" class="result">
              {results[s.service] ?? ''}
            </p>
            {s.count > 0 ? (
              <>
                {s.reasons.length ? (
                  <p class="help">Reasons: {s.reasons.map((r) => `${r.reason} (${r.count})`).join(', ')}</p>
                ) : null}
                <div class="table-scroll">
                  <table class="dl-table">
                    <caption class="visually-hidden">Dead letters of {s.service}</caption>
                    <thead>
                      <tr>
                        <th scope="col">Choose</th>
                        <th scope="col">Reason</th>
                        <th scope="col">Attempts</th>
                        <th scope="col">Dead-lettered</th>
                        <th scope="col">Order</th>
                        <th scope="col">Message id</th>
                      </tr>
                    </thead>
                    <tbody>
                      {letters.map((l, i) => {
                        const id = l.messageId;
                        const box = `dl-${s.service}-${i}`;
                        return (
                          <tr key={id ?? i} data-message-id={id ?? undefined}>
                            <td data-label="Choose">
                              {id ? (
                                <>
                                  <input
                                    id={box}
                                    type="checkbox"
                                    checked={chosen.includes(id)}
                                    onChange={() =>
                                      setSelection((sel) => ({
                                        ...sel,
                                        [s.service]: toggle(sel[s.service] ?? new Set(), id, ids),
                                      }))
                                    }
                                  />
                                  <label for={box} class="visually-hidden">
                                    Choose letter {id}
                                  </label>
                                </>
                              ) : null}
                            </td>
                            <td data-label="Reason">
                              <strong>{l.reason}</strong>
                              {l.detail ? <span class="note">{l.detail}</span> : null}
                            </td>
                            <td data-label="Attempts" class="num">
                              {l.attempts ?? '—'}
                              {l.replays ? <span class="note">replayed {l.replays}×</span> : null}
                            </td>
                            <td data-label="Dead-lettered">{formatTime(l.deadLetteredAt)}</td>
                            <td data-label="Order" class="mono small">
                              {l.orderId ?? '—'}
                            </td>
                            <td data-label="Message id" class="mono small">
                              {id ?? '—'}
                            </td>
                          </tr>
                        );
                      })}
                    </tbody>
                  </table>
                </div>
                {list && list.count > letters.length ? (
                  <p class="help">
                    Showing the first {letters.length} of {list.count}; replaying all includes the rest.
                  </p>
                ) : null}
                <div class="actions">
                  <button
                    type="button"
                    disabled={chosen.length === 0}
                    onClick={() => setPending({ service: s.service, choice: chosen, count: s.count })}
                  >
                    Replay chosen ({chosen.length})
                  </button>
                  <button
                    type="button"
                    class="quiet"
                    onClick={() => setPending({ service: s.service, choice: 'all', count: s.count })}
                  >
                    Replay all
                  </button>
                </div>
              </>
            ) : null}
          </section>
        );
      })}
      {pending ? (
        <ConfirmDialog
          text={confirmText(pending.service, pending.choice, pending.count)}
          onConfirm={() => void replay(pending)}
          onCancel={() => setPending(null)}
        />
      ) : null}
    </section>
  );
}

function ConfirmDialog(props: { text: string; onConfirm: () => void; onCancel: () => void }) {
  const dialog = useRef<HTMLDialogElement>(null);
  const opener = useRef<Element | null>(null);
  useEffect(() => {
    opener.current = document.activeElement;
    dialog.current?.showModal();
    return () => (opener.current as HTMLElement | null)?.focus?.();
  }, []);
  return (
    <dialog
      ref={dialog}
      aria-labelledby="confirm-heading"
      aria-describedby="confirm-text"
      onCancel={(e) => {
        e.preventDefault();
        props.onCancel();
      }}
    >
      <h2 id="confirm-heading">Replay dead letters</h2>
      <p id="confirm-text">{props.text}</p>
      <div class="actions">
        <button type="button" onClick={props.onConfirm}>
          Replay
        </button>
        <button type="button" class="quiet" onClick={props.onCancel}>
          Cancel
        </button>
      </div>
    </dialog>
  );
}
